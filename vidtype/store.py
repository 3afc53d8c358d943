"""Model directories: what a trained vidtype model is on disk, and loading/saving it.

    MODEL_DIR/
      model.json              name, version, classes, frames, temperature, threshold, members, trust, extra
      m0/config.json          {"backbone": "efficientnet_lite0", "head": {TemporalConfig fields}}
      m0/weights.safetensors  the head's weights
      trust.safetensors       fitted out-of-distribution statistics (optional)

Only JSON and safetensors are read: loading a model never unpickles anything.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .errors import ModelNotFoundError
from .model import TemporalConfig, TemporalHead

CLASSES = ("animation", "gaming", "natural", "flat")
DEFAULT_MODEL_DIR = Path(__file__).parent / "models" / "default"


@dataclass
class Member:
    """One ensemble member: a backbone name and the temporal head trained on its features."""

    backbone: str
    config: TemporalConfig
    head: TemporalHead


@dataclass
class Model:
    """A trained model: one or more members whose probabilities are averaged, plus calibration and trust."""

    name: str
    version: str
    members: list[Member]
    classes: tuple[str, ...] = CLASSES
    frames: int = 16
    temperature: float = 1.0
    threshold: float = 0.0  # trust below this -> label "unknown"
    trust: dict[str, torch.Tensor] | None = None  # fitted OOD statistics (see trust.py)
    extra: dict = field(default_factory=dict)  # free-form facts (training data, metrics) kept in model.json
    path: Path | None = None

    @property
    def backbones(self) -> list[str]:
        return sorted({m.backbone for m in self.members})

    def describe(self) -> dict:
        """Name, version, classes and threshold: what a client needs to know about the model."""
        return {
            "name": self.name,
            "version": self.version,
            "classes": list(self.classes),
            "threshold": self.threshold,
            "backbones": [m.backbone for m in self.members],
        }


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; model files are meant to be read by anyone
    os.replace(tmp, path)


def save_model(model: Model, path: str | Path) -> Path:
    """Write `model` as a model directory (JSON + safetensors) and return its path."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    member_dirs = []
    for i, m in enumerate(model.members):
        d = path / f"m{i}"
        d.mkdir(exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in m.head.state_dict().items()}
        save_file(state, str(d / "weights.safetensors"))
        _atomic_write_text(d / "config.json", json.dumps({"backbone": m.backbone, "head": m.config.to_dict()}, indent=2))
        member_dirs.append(d.name)
    if model.trust:
        save_file({k: v.detach().cpu().contiguous() for k, v in model.trust.items()}, str(path / "trust.safetensors"))
    meta = {
        "name": model.name,
        "version": model.version,
        "classes": list(model.classes),
        "frames": model.frames,
        "temperature": model.temperature,
        "threshold": model.threshold,
        "members": member_dirs,
        "extra": model.extra,
    }
    _atomic_write_text(path / "model.json", json.dumps(meta, indent=2))
    return path


def load_model(path: str | Path | None = None, device: str | torch.device = "cpu") -> Model:
    """Load a model directory; `None` loads the default model shipped inside the package."""
    path = Path(path) if path is not None else DEFAULT_MODEL_DIR
    meta_file = path / "model.json"
    if not meta_file.is_file():
        if path == DEFAULT_MODEL_DIR:
            raise ModelNotFoundError(
                "this installation ships no default model; train one with "
                "`vidtype train DATA --out MODEL_DIR` and pass `--model MODEL_DIR`"
            )
        raise ModelNotFoundError(f"no vidtype model at {path} (expected {meta_file})")
    meta = json.loads(meta_file.read_text())
    members = []
    for name in meta["members"]:
        cfg = json.loads((path / name / "config.json").read_text())
        config = TemporalConfig.from_dict(cfg["head"])
        head = TemporalHead(config)
        head.load_state_dict(load_file(str(path / name / "weights.safetensors")))
        head.to(device).eval()
        members.append(Member(backbone=cfg["backbone"], config=config, head=head))
    trust_file = path / "trust.safetensors"
    trust = load_file(str(trust_file)) if trust_file.is_file() else None
    return Model(
        name=meta["name"],
        version=meta["version"],
        members=members,
        classes=tuple(meta.get("classes", CLASSES)),
        frames=int(meta.get("frames", 16)),
        temperature=float(meta.get("temperature", 1.0)),
        threshold=float(meta.get("threshold", 0.0)),
        trust=trust,
        extra=meta.get("extra", {}),
        path=path,
    )
