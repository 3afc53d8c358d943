"""vidtype: tell what kind of video a file is (animation, gaming, natural, flat) and how much to trust it.

    import vidtype
    pred = vidtype.classify("clip.mp4")
    pred.label, pred.probabilities, pred.trust
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import VidtypeError
from .store import CLASSES, Model, load_model

if TYPE_CHECKING:
    from .pipeline import Classifier, Prediction

__version__ = "0.1.0"
__all__ = ["classify", "load_model", "classifier", "Classifier", "Prediction", "Model", "VidtypeError", "CLASSES"]


def __getattr__(name: str):
    # The pipeline pulls in PyAV, OpenCV and the backbones: import it only when it is used.
    if name in ("Classifier", "Prediction"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'vidtype' has no attribute {name!r}")


@lru_cache(maxsize=4)
def _cached_classifier(model_dir: str | None, device: str | None, runtime: str) -> "Classifier":
    from .pipeline import Classifier

    return Classifier(load_model(model_dir), device=device, runtime=runtime)


def classifier(model: str | Path | Model | None = None, device: str | None = None, runtime: str = "auto") -> "Classifier":
    """A ready `Classifier` for a model directory (None: the shipped default), cached between calls."""
    if isinstance(model, Model):
        from .pipeline import Classifier

        return Classifier(model, device=device, runtime=runtime)
    return _cached_classifier(str(model) if model is not None else None, device, runtime)


def classify(path: str | Path, model: str | Path | Model | None = None, *, frames: int | None = None,
             tta: bool = False, sharpen: bool = False, device: str | None = None) -> "Prediction":
    """Classify one video file with `model` (a directory, a loaded Model, or None for the default)."""
    return classifier(model, device).classify(path, frames=frames, tta=tta, sharpen=sharpen)
