"""The run config: one dataclass describing a training run, loaded from YAML/TOML/JSON plus CLI overrides.

    cfg = load_config("run.yaml", overrides=["optim.lr=3e-4", "members=3"])
    cfg.optim.lr, cfg.features.views, cfg.to_dict()

A config file holds any subset of the sections below; what it leaves out keeps its default. Unknown keys are
an error (a typo must not silently train with the default). Example (YAML):

    backbones: [efficientnet_lite0]
    members: 2
    features: {views: 6, jitter: 0.5}
    optim: {epochs: 40, lr: 0.001}
    head: {hidden: 128, dropout: 0.3}
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from ..errors import VidtypeError


class ConfigError(VidtypeError):
    """A config file or override is malformed or names an unknown setting."""

    code = "config_error"


@dataclass
class DataConfig:
    val_fraction: float = 0.15  # share of each class (counted in videos, whole groups) held out for validation
    test_fraction: float = 0.15  # ... and for the test split
    split_seed: int = 0


@dataclass
class AugmentConfig:
    """Probabilities (0..1) of each augmentation in a training view; all are applied to whole clips."""

    flip: float = 0.5
    crop: float = 0.5  # random crop keeping 60..100% of each side
    color: float = 0.6  # brightness / contrast / saturation / hue
    gif: float = 0.2  # palette reduction + dithering (GIF-style)
    jpeg: float = 0.3  # JPEG at low quality
    reencode: float = 0.15  # H.264 at a low bitrate through PyAV
    resize: float = 0.3  # downscale then upscale (lost detail)
    letterbox: float = 0.15  # black bars, as when a clip is fitted into another aspect ratio
    overlay: float = 0.3  # subtitles, logo, HUD boxes


@dataclass
class FeatureConfig:
    frames: int = 16  # frames per view (the model's `frames`)
    views: int = 4  # views per training video: the clean one + (views - 1) augmented ones
    jitter: float = 0.5  # temporal jitter of augmented views (see sample_frames)
    sharpen: bool = False
    runtime: str = "auto"  # backbone runtime: auto | torch | onnx (see backbones.create)
    cache_dir: str | None = None  # default: $VIDTYPE_CACHE/features, else ~/.cache/vidtype/features
    dtype: str = "float16"  # stored feature precision: float16 or float32
    batch_size: int = 64  # images per backbone batch
    workers: int = 2  # threads decoding/augmenting ahead of the encoder
    timeout_s: float = 120.0  # per-video decode limit


@dataclass
class OptimConfig:
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    class_weighting: bool = True  # weight the loss by inverse class frequency
    patience: int = 8  # early stopping: epochs without a better validation macro-F1
    grad_clip: float = 1.0  # max gradient norm (0: off)
    amp: bool = True  # mixed precision (CUDA only)
    compile: bool = False  # torch.compile the head (CUDA only; the head is small, so off by default)
    deterministic: bool = True


@dataclass
class TrainConfig:
    name: str = "vidtype"
    version: str = "0.1.0"
    backbones: list[str] = field(default_factory=lambda: ["efficientnet_lite0"])
    members: int = 1  # members per backbone (different seeds)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    calibrate: bool = True  # fit a temperature on the validation split
    trust: bool = True  # fit the out-of-distribution statistics of trust.py (train + validation embeddings)
    trust_keep: float = 0.95  # threshold keeping this share of validation videos labelled (0: no "unknown")
    trust_ood: int = 0  # generated out-of-distribution clips (corpus/ood.py) choosing the score weights; 0: equal
    trust_folds: int = 0  # K > 1: threshold and trust CDF from K-fold out-of-fold scores of train + val (K extra fits)
    trust_reference: str = ""  # "COLUMN=VALUE": only those videos' out-of-fold scores set the threshold
    head: dict[str, Any] = field(default_factory=dict)  # TemporalConfig fields (hidden, heads, dropout, ...)
    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def cache_dir(self) -> Path:
        """The feature cache directory this run uses."""
        if self.features.cache_dir:
            return Path(self.features.cache_dir).expanduser()
        return default_cache_dir()


def default_cache_dir() -> Path:
    """The feature cache when none is configured: $VIDTYPE_CACHE/features, else ~/.cache/vidtype/features."""
    return Path(os.environ.get("VIDTYPE_CACHE") or "~/.cache/vidtype").expanduser() / "features"


# Settings that change where or how fast a run happens, never its result: ignored when a checkpoint is resumed.
RUNTIME_KEYS = ("device", "features.cache_dir", "features.batch_size", "features.workers", "features.runtime")


def from_dict(d: dict, cls: type = TrainConfig, prefix: str = "") -> Any:
    """Build a (nested) config dataclass from a plain dict, checking names and types."""
    if not isinstance(d, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {type(d).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(prefix + k for k in unknown)}; known: {', '.join(sorted(names))}")
    kwargs = {}
    for key, value in d.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = from_dict(value, hint, prefix + key + ".")
        else:
            kwargs[key] = _coerce(value, hint, prefix + key)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, name: str) -> Any:
    """Check/convert one value against its annotation (bool, int, float, str, list[str], dict, optional)."""
    text = str(hint)
    if value is None and ("None" in text or "Optional" in text):
        return None
    try:
        if hint is bool:
            if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0", "on", "off"):
                return value.lower() in ("true", "yes", "1", "on")
            if isinstance(value, bool):
                return value
            raise ValueError
        if hint is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if hint is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if text.startswith("list"):
            items = [value] if isinstance(value, str) else list(value)
            return [str(v) for v in items]
        if text.startswith("dict"):
            if not isinstance(value, dict):
                raise ValueError
            return dict(value)
        if isinstance(value, (dict, list)):
            raise ValueError
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: {value!r} is not a valid {text.replace('typing.', '')}") from None


def read_file(path: str | Path) -> dict:
    """Read a YAML (.yaml/.yml), TOML (.toml) or JSON (.json) config file into a dict."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no config file at {path}")
    text = path.read_text()
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            return json.loads(text)
        if suffix in (".yaml", ".yml"):
            return _yaml().safe_load(text) or {}
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: {e}") from None
    except Exception as e:  # yaml.YAMLError, without importing yaml at module level
        if type(e).__module__.startswith("yaml"):
            raise ConfigError(f"{path}: {e}") from None
        raise
    raise ConfigError(f"{path}: unknown config format {suffix!r} (use .yaml, .toml or .json)")


def _yaml():
    try:
        import yaml
    except ImportError:
        raise ConfigError("YAML configs need PyYAML: pip install 'vidtype[train]' (or use a .toml config)") from None
    return yaml


def parse_override(text: str) -> tuple[list[str], Any]:
    """`optim.lr=3e-4` -> (["optim", "lr"], 0.0003). Values are read as YAML scalars/lists when possible."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not KEY=VALUE (e.g. optim.lr=3e-4)")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        try:
            value = _yaml().safe_load(raw) if raw.strip() else raw
        except Exception:
            value = raw
    return key.strip().split("."), value


def apply_overrides(d: dict, overrides: list[str] | dict | None) -> dict:
    """Return a copy of the dict `d` with dotted overrides (["a.b=1"] or {"a.b": 1}) applied."""
    d = json.loads(json.dumps(d))
    pairs = overrides.items() if isinstance(overrides, dict) else [parse_override(o) for o in overrides or []]
    for key, value in pairs:
        path = key.split(".") if isinstance(key, str) else key
        node = d
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {'.'.join(path)}: {part} is not a section")
        node[path[-1]] = value
    return d


def load_config(path: str | Path | None = None, overrides: list[str] | dict | None = None) -> TrainConfig:
    """The resolved config: defaults, then the file at `path` (if any), then `overrides`."""
    base = read_file(path) if path else {}
    return from_dict(apply_overrides(base, overrides))


def config_hash(cfg: TrainConfig) -> str:
    """A short hash of everything in `cfg` that affects results (not device or cache location)."""
    import hashlib

    d = cfg.to_dict()
    for key in RUNTIME_KEYS:
        *parents, leaf = key.split(".")
        node = d
        for p in parents:
            node = node[p]
        node.pop(leaf, None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def dump(cfg: TrainConfig, path: str | Path) -> Path:
    """Write the resolved config as YAML (or JSON when PyYAML is missing); return the written path."""
    path = Path(path)
    try:
        import yaml

        text = yaml.safe_dump(cfg.to_dict(), sort_keys=False)
    except ImportError:
        path, text = path.with_suffix(".json"), json.dumps(cfg.to_dict(), indent=2)
    path.write_text(text)
    return path
