"""ResNet18 in plain PyTorch, loading a torchvision-format state dict: (N,3,224,224) ImageNet mean/std -> (N,512).

No installable package ships ImageNet ResNet18 weights without torchvision (which downloads them at run time), so
the weights file is given explicitly: `create("resnet18", weights="resnet18.safetensors")` or the environment
variable VIDTYPE_RESNET18_WEIGHTS. `.safetensors` and `.pth` (read with weights_only=True) are accepted, with
torchvision's key names (`conv1.weight`, `layer1.0.conv1.weight`, ..., `fc.weight`; `fc` optional).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import WeightsNotFoundError
from .weights import WeightsArg, as_state_dict, load_strict

ENV = "VIDTYPE_RESNET18_WEIGHTS"
MISSING = (
    "resnet18 needs ImageNet weights given as a file: no installable package ships them (torchvision downloads "
    "them at run time, and vidtype does not depend on torchvision). Get torchvision's resnet18-f37072fd.pth "
    "(or a .safetensors with the same keys: conv1.weight, layer1.0.conv1.weight, ..., fc.weight) and pass it as "
    f"backbones.create('resnet18', weights='/path/to/resnet18.pth') or set {ENV}=/path/to/resnet18.pth. "
    "vidtype never falls back to random weights."
)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual; a 1x1 strided projection when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """ResNet18; `forward` returns the 512-d global average pool, `classify` the fc logits when present."""

    def __init__(self, num_classes: int | None = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512))
        self.fc = nn.Linear(512, num_classes) if num_classes else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return x.mean((2, 3))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self(x))


def pretrained(name: str = "resnet18", weights: WeightsArg = None) -> ResNet18:
    """ResNet18 from `weights` (path or state dict), else $VIDTYPE_RESNET18_WEIGHTS; WeightsNotFoundError if neither."""
    if weights is None:
        weights = os.environ.get(ENV) or None
    if weights is None:
        raise WeightsNotFoundError(MISSING)
    if not isinstance(weights, Mapping) and not os.path.isfile(os.path.expanduser(os.fspath(weights))):
        raise WeightsNotFoundError(f"resnet18 weights file not found: {weights}. {MISSING}")
    sd = as_state_dict(weights)
    num_classes = sd["fc.weight"].shape[0] if "fc.weight" in sd else None
    return load_strict(ResNet18(num_classes), sd, name)
