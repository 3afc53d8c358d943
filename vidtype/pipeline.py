"""video -> Prediction: the one place where decoding, quality, transforms, backbones, head and trust meet.

    clf = Classifier(load_model())
    pred = clf.classify("clip.mp4")          # Prediction(label="animation", confidence=0.97, ...)

The CLI, the Python API, the server and batch all go through `Classifier`.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from . import backbones
from .errors import UnknownBackboneError, VidtypeError
from .sampling import FrameSample, sample_frames
from .store import Model
from .transforms import preprocess, tta_views
from .trust import decide, trust_score

TTA_JITTER = 0.5  # the temporal TTA view shifts the candidate grid by half a step


@dataclass
class FrameRecord:
    """One sampled frame as reported: its time, its attention weight, or why it was rejected."""

    time_s: float
    attention: float | None = None
    rejected: str | None = None


@dataclass
class Prediction:
    """The answer for one video, and the evidence behind it."""

    path: str
    label: str  # one of the model's classes, or "unknown" when trust < threshold
    confidence: float  # probability of the predicted class
    probabilities: dict[str, float]
    trust: float  # 0..1
    frames: list[FrameRecord]
    timings_ms: dict[str, float]
    model: dict
    video: dict = field(default_factory=dict)  # probe facts: duration, size, fps, codec, rotation

    def to_dict(self) -> dict:
        return asdict(self)


def error_record(path: str, exc: BaseException) -> dict:
    """The JSON object reported for a file that could not be classified."""
    code = exc.code if isinstance(exc, VidtypeError) else "internal_error"
    return {"path": str(path), "error": str(exc) or type(exc).__name__, "error_code": code}


@contextlib.contextmanager
def _one_torch_thread(device: torch.device):
    """Run the (tiny) head on one CPU thread: on a busy CPU, torch's thread hand-offs cost more than the LSTM."""
    if device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def sample_views(path: str | Path, frames: int, *, tta: bool = False, sharpen: bool = False,
                 timeout_s: float = 60.0) -> list[FrameSample]:
    """The samples `classify` encodes: the video's frames and, with TTA, a second, temporally jittered sample."""
    samples = [sample_frames(path, frames, sharpen=sharpen, timeout_s=timeout_s)]
    if tta:
        samples.append(sample_frames(path, frames, seed=1, jitter=TTA_JITTER, sharpen=sharpen, timeout_s=timeout_s))
    return samples


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Classifier:
    """A loaded model with one encoder per backbone, ready to classify videos on one device."""

    def __init__(self, model: Model, device: str | torch.device | None = None, runtime: str = "auto"):
        self.model = model
        self.device = torch.device(device) if device is not None else default_device()
        if "yt8m" in model.backbones:
            raise UnknownBackboneError(
                "this model was trained on YouTube-8M feature records, not video frames: "
                "classify records with `vidtype yt8m predict RECORDS --model DIR`")
        for m in model.members:
            m.head.to(self.device).eval()
        self.encoders = {name: backbones.create(name, device=self.device, runtime=runtime) for name in model.backbones}

    def sample(self, path: str | Path, frames: int | None = None, *, seed: int | None = None, jitter: float = 0.0,
               sharpen: bool = False, timeout_s: float = 60.0) -> FrameSample:
        """Decode and choose the frames of one video (the first stage of `classify`)."""
        return sample_frames(path, frames or self.model.frames, seed=seed, jitter=jitter, sharpen=sharpen,
                             timeout_s=timeout_s)

    @torch.inference_mode()
    def features(self, samples: list[FrameSample], tta: bool = False) -> dict[str, list[torch.Tensor]]:
        """Per backbone, a list of (T, D) feature tensors: one per sample and spatial view."""
        out = {}
        for name, encoder in self.encoders.items():
            size = encoder.info.input_size
            views = []
            for s in samples:
                images = [f.image for f in s.frames]
                batches = tta_views(images, size, self.device) if tta else [preprocess(images, size, self.device)]
                views.extend(encoder(b) for b in batches)
            out[name] = views
        return out

    @torch.inference_mode()
    def head(self, feats: dict[str, list[torch.Tensor]]) -> dict:
        """Run every member on every view.

        Returns the mean calibrated `probabilities` (C,), mean `logits` (C,), one mean `embedding` per member,
        the `attention` of the first view (the untouched frames), averaged over members, and per member the
        `features` its backbone saw, averaged over frames and views (D,) (for trust.py's feature score).
        """
        with _one_torch_thread(self.device):
            return self._head(feats)

    def _head(self, feats: dict[str, list[torch.Tensor]]) -> dict:
        probs, logits, embeddings, attention, features = [], [], [], [], []
        for m in self.model.members:
            x = torch.stack(feats[m.backbone]).to(self.device)  # (views, T, D)
            out = m.head(x)
            probs.append(torch.softmax(out["logits"] / self.model.temperature, dim=-1).mean(0))
            logits.append(out["logits"].mean(0))
            embeddings.append(out["embedding"].mean(0).cpu())
            attention.append(out["attention"][0])
            features.append(x.float().mean(dim=(0, 1)).cpu())
        return {"probabilities": torch.stack(probs).mean(0).cpu(), "logits": torch.stack(logits).mean(0).cpu(),
                "embeddings": embeddings, "attention": torch.stack(attention).mean(0).cpu(), "features": features}

    def classify(self, path: str | Path, frames: int | None = None, tta: bool = False, sharpen: bool = False,
                 timeout_s: float = 60.0) -> Prediction:
        """Classify one video file. Raises a `VidtypeError` subclass for input that cannot be classified."""
        t0 = time.perf_counter()
        samples = sample_views(path, frames or self.model.frames, tta=tta, sharpen=sharpen, timeout_s=timeout_s)
        return self.classify_samples(str(path), samples, tta=tta, decode_s=time.perf_counter() - t0)

    def classify_samples(self, path: str, samples: list[FrameSample], tta: bool = False,
                         decode_s: float = 0.0) -> Prediction:
        """Classify frames already decoded: the first sample is reported, further ones are TTA views.

        Timelines and live streams use this with frames they decoded themselves.
        """
        t1 = time.perf_counter()
        feats = self.features(samples, tta=tta)
        t2 = time.perf_counter()
        out = self.head(feats)
        t3 = time.perf_counter()
        return self.prediction(path, samples[0], out, {"decode": decode_s, "features": t2 - t1, "head": t3 - t2})

    def prediction(self, path: str, sample: FrameSample, out: dict, seconds: dict) -> Prediction:
        """Assemble the reported Prediction from a sample, the output of `head`, and stage times in seconds."""
        classes, probs, attention = self.model.classes, out["probabilities"], out["attention"]
        best = int(probs.argmax())
        trust = trust_score(probs, out["logits"], out["embeddings"], self.model.trust, out.get("features"))
        records = [FrameRecord(round(f.time_s, 3), round(float(a), 4)) for f, a in zip(sample.frames, attention)]
        records += [FrameRecord(round(r.time_s, 3), None, r.reason) for r in sample.rejected]
        records.sort(key=lambda r: r.time_s)
        timings = {k: round(v * 1000, 1) for k, v in seconds.items()}
        timings["total"] = round(sum(seconds.values()) * 1000, 1)
        info = sample.info
        return Prediction(
            path=path,
            label=decide(classes[best], trust, self.model.threshold),
            confidence=round(float(probs[best]), 4),
            probabilities={c: round(float(p), 4) for c, p in zip(classes, probs)},
            trust=round(trust, 4),
            frames=records,
            timings_ms=timings,
            model={"name": self.model.name, "version": self.model.version},
            video={"duration_s": round(info.duration_s, 3), "width": info.width, "height": info.height,
                   "fps": info.fps, "codec": info.codec, "rotation": info.rotation},
        )
