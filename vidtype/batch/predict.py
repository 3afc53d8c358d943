"""Decoded videos -> result records, with the backbone seeing full batches: the half of a batch engine that runs
the model (the local engine's main process, the Ray engine's actors).

    d = decode_video("a.mp4", DecodeOptions(frames=16))       # in a worker: sample_views (+ download, + shrink)
    records = BatchPredictor(clf).predict([d1, d2, d3, d4])   # frames of all four in one backbone batch

`predict` concatenates the preprocessed frames (and TTA views) of several videos, runs each backbone once on
them (the Encoder splits at its `max_batch`), splits the features back per video and runs the head per video:
the same numbers as `Classifier.classify_samples` on each video alone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

import torch

from ..errors import VidtypeError
from ..pipeline import Classifier, error_record, sample_views
from ..sampling import FrameSample
from ..transforms import preprocess, shrink, tta_views
from .inputs import DownloadLimits, local_copy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecodeOptions:
    """How each video is sampled (the `predict` options) and how URLs are fetched."""

    frames: int = 16
    tta: bool = False
    sharpen: bool = False
    timeout_s: float = 60.0
    limits: DownloadLimits = field(default_factory=DownloadLimits)
    shrink_to: int | None = None  # decoders resize frames' shorter side to this (the backbone's input size)


def for_backbones(opts: DecodeOptions, names) -> DecodeOptions:
    """`opts` with `shrink_to` set for the backbones `names`: their largest input size, so no backbone's input
    is upsampled (with one input size, the features equal those of full frames exactly)."""
    from .. import backbones

    return replace(opts, shrink_to=max(backbones.info(n).input_size for n in names))


@dataclass
class Decoded:
    """One input after the CPU stage: its samples (two with TTA) or the error record that replaces them."""

    path: str
    samples: list[FrameSample] | None
    decode_s: float
    error: dict | None = None

    @property
    def n_frames(self) -> int:
        return sum(len(s.frames) for s in self.samples or [])


def decode_video(item: str, opts: DecodeOptions) -> Decoded:
    """Fetch (URLs) and sample one video the way `Classifier.classify` does; failures become an error record."""
    t0 = time.perf_counter()
    try:
        with local_copy(item, opts.limits) as path:
            samples = sample_views(path, opts.frames, tta=opts.tta, sharpen=opts.sharpen, timeout_s=opts.timeout_s)
        if opts.shrink_to:
            for s in samples:
                images = shrink([f.image for f in s.frames], opts.shrink_to)
                s.frames = [replace(f, image=im) for f, im in zip(s.frames, images)]
        return Decoded(item, samples, time.perf_counter() - t0)
    except Exception as e:  # one bad file must not stop a batch: it becomes its row's error
        if not isinstance(e, VidtypeError):
            log.exception("unexpected error decoding %s", item)
        return Decoded(item, None, time.perf_counter() - t0, error_record(item, e))


class BatchPredictor:
    """Runs a `Classifier`'s backbones on the frames of several videos at once, then its head per video."""

    def __init__(self, clf: Classifier, tta: bool = False):
        self.clf, self.tta = clf, tta
        self.seconds = {"features": 0.0, "head": 0.0}  # totals, for throughput reports

    def predict(self, batch: list[Decoded]) -> list[dict]:
        """One record per input (`Prediction.to_dict()` or an error record), in the order given."""
        ok = [d for d in batch if d.error is None]
        try:
            results = self._predict(ok)
        except Exception as e:
            if len(ok) > 1:  # find the culprit: each video on its own
                results = [self.predict([d])[0] for d in ok]
            else:
                if not isinstance(e, VidtypeError):
                    log.exception("unexpected error classifying %s", ok[0].path)
                results = [error_record(ok[0].path, e)]
        it = iter(results)
        return [d.error if d.error is not None else next(it) for d in batch]

    @torch.inference_mode()
    def _predict(self, ok: list[Decoded]) -> list[dict]:
        if not ok:
            return []
        clf = self.clf
        t0 = time.perf_counter()
        feats = {name: self._encode(enc, ok) for name, enc in clf.encoders.items()}
        features_s = time.perf_counter() - t0
        total_frames = sum(d.n_frames for d in ok) or 1
        records = []
        for i, d in enumerate(ok):
            t1 = time.perf_counter()
            out = clf.head({name: per_video[i] for name, per_video in feats.items()})
            head_s = time.perf_counter() - t1
            self.seconds["head"] += head_s
            seconds = {"decode": d.decode_s, "features": features_s * d.n_frames / total_frames, "head": head_s}
            records.append(clf.prediction(d.path, d.samples[0], out, seconds).to_dict())
        self.seconds["features"] += features_s
        return records

    def _encode(self, encoder, ok: list[Decoded]) -> list[list[torch.Tensor]]:
        """Per video, its (T, D) feature tensors in `Classifier.features` order (sample, then spatial view)."""
        size, device = encoder.info.input_size, self.clf.device
        tensors, owner = [], []
        for i, d in enumerate(ok):
            for s in d.samples:
                images = [f.image for f in s.frames]
                views = tta_views(images, size, device) if self.tta else [preprocess(images, size, device)]
                tensors += views
                owner += [i] * len(views)
        features = encoder(torch.cat(tensors)).split([len(t) for t in tensors])
        per_video = [[] for _ in ok]
        for i, f in zip(owner, features):
            per_video[i].append(f)
        return per_video
