"""Loading the model once per worker, in the background, so that /healthz answers while it loads."""

from __future__ import annotations

import logging
import threading

from ..errors import VidtypeError

log = logging.getLogger(__name__)


class ModelLoader:
    """Loads a `Classifier` in a thread; `get()` waits for it, `ready`/`error` tell /readyz where it stands."""

    def __init__(self, model=None, device=None, runtime: str = "auto", torch_threads: int | None = None):
        self._args = (model, device, runtime, torch_threads)
        self._done = threading.Event()
        self._classifier = None
        self.error: str | None = None
        threading.Thread(target=self._load, name="vidtype-model-loader", daemon=True).start()

    def _load(self) -> None:
        model, device, runtime, torch_threads = self._args
        try:
            if torch_threads:
                import torch

                torch.set_num_threads(int(torch_threads))
            from .. import classifier

            self._classifier = classifier(model, device=device, runtime=runtime)
            log.info("model %s loaded", self._classifier.model.describe())
        except VidtypeError as e:  # reported by /readyz and by every request that needs the model
            log.error("the model cannot be loaded: %s", e)
            self.error = str(e)
        except Exception as e:
            log.exception("loading the model failed")
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._classifier is not None

    def get(self, timeout: float | None = None):
        """The classifier, or None when it failed to load or is not loaded within `timeout` seconds."""
        self._done.wait(timeout)
        return self._classifier
