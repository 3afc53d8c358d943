"""Frames (HxWx3 uint8 RGB numpy) -> backbone input: (N,3,S,S) float32, ImageNet mean/std, channels-last.

Resize the shorter side to S (bilinear, antialiased), then crop S x S. All tensor work (resize, crop,
uint8 -> float, normalisation) runs on `device`, so a GPU does it when there is one; only uint8 pixels cross the
bus. Images of the same size are resized together in one call; images of different sizes are resized one group
at a time and stacked in input order.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _check(images: list[np.ndarray]) -> None:
    for i, im in enumerate(images):
        if not isinstance(im, np.ndarray) or im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != 3:
            desc = f"{im.dtype} array of shape {im.shape}" if isinstance(im, np.ndarray) else type(im).__name__
            raise ValueError(f"image {i}: expected an HxWx3 uint8 RGB array, got {desc}")
        if min(im.shape[:2]) < 1:
            raise ValueError(f"image {i} is empty: shape {im.shape}")


def _resized_groups(images: list[np.ndarray], size: int, device: torch.device):
    """Yield (indices, (n,3,H',W') 0..255 tensor with min(H',W') == size) per group of equal-sized images.

    On the CPU the resize runs on uint8 channels-last (torch's fast antialiased kernel, ~10x the float one);
    on CUDA, where that kernel takes floats only, on float rounded back to whole grey levels, so both give
    integer pixel values like a decoded frame.
    """
    groups: dict[tuple[int, int], list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault(im.shape[:2], []).append(i)
    for (h, w), idx in groups.items():
        if device.type == "cpu":
            pixels = torch.from_numpy(np.stack([images[i] for i in idx]))
        else:  # uint8 to the device one image at a time (no host-side copy of the batch), stacked there
            pixels = torch.stack([torch.from_numpy(np.ascontiguousarray(images[i])).to(device) for i in idx])
        x = pixels.permute(0, 3, 1, 2)  # (n,3,H,W) view, channels-last in memory
        scale = size / min(h, w)
        out_h, out_w = max(size, round(h * scale)), max(size, round(w * scale))
        if (out_h, out_w) != (h, w):
            if device.type == "cpu":
                x = F.interpolate(x, size=(out_h, out_w), mode="bilinear", antialias=True, align_corners=False)
            else:
                x = F.interpolate(x.float(), size=(out_h, out_w), mode="bilinear", antialias=True,
                                  align_corners=False).round_()
        yield idx, x


def _crop(x: torch.Tensor, size: int, where: float) -> torch.Tensor:
    """S x S crop; `where` in [0,1] places it along each axis (0 start, 0.5 centre, 1 end)."""
    h, w = x.shape[-2:]
    top, left = round((h - size) * where), round((w - size) * where)
    return x[..., top:top + size, left:left + size]


def _normalise(x: torch.Tensor) -> torch.Tensor:
    """0..255 (uint8 or float) -> float32 ImageNet mean/std, channels-last."""
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1) * 255
    inv_std = 1 / (torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1) * 255)
    x = x.to(torch.float32, memory_format=torch.channels_last, copy=True)
    return x.sub_(mean).mul_(inv_std)


def _views(images: list[np.ndarray], size: int, device, wheres: list[float]) -> list[torch.Tensor]:
    _check(images)
    device = torch.device(device)
    if not images:
        return [torch.empty((0, 3, size, size), device=device).contiguous(memory_format=torch.channels_last)
                for _ in wheres]
    order, parts = [], [[] for _ in wheres]
    for idx, x in _resized_groups(images, size, device):
        order += idx
        for part, where in zip(parts, wheres):
            part.append(_normalise(_crop(x, size, where)))
    views = [torch.cat(part) if len(part) > 1 else part[0] for part in parts]
    if order != sorted(order):  # groups of sizes interleaved: back to the input order
        inverse = torch.argsort(torch.tensor(order)).to(device)
        views = [v.index_select(0, inverse).contiguous(memory_format=torch.channels_last) for v in views]
    return views


def shrink(images: list[np.ndarray], size: int) -> list[np.ndarray]:
    """The images with their shorter side resized down to `size`, exactly as `preprocess` resizes them first
    (uint8, on the CPU), so that preprocessing the result gives the same tensor. Images already that small are
    returned as they are. Batch decoders ship these instead of full frames: a fraction of the bytes and of the
    inference process's work."""
    _check(images)
    out = list(images)
    large = [i for i, im in enumerate(images) if min(im.shape[:2]) > size]
    for idx, x in _resized_groups([images[i] for i in large], size, torch.device("cpu")):
        pixels = x.permute(0, 2, 3, 1).contiguous().numpy()
        for j, k in enumerate(idx):
            out[large[k]] = pixels[j]
    return out


def preprocess(images: list[np.ndarray], size: int, device: str | torch.device = "cpu") -> torch.Tensor:
    """HxWx3 uint8 RGB images -> (N,3,size,size) float32 ImageNet-normalised, channels-last, on `device`.

    Each image's shorter side is resized to `size` (antialiased bilinear), then the centre is cropped.
    """
    return _views(images, size, device, [0.5])[0]


def tta_views(images: list[np.ndarray], size: int, device: str | torch.device = "cpu") -> list[torch.Tensor]:
    """Four spatial views, each like `preprocess`: [centre, centre flipped left-right, crop at the start of the
    long side (top or left), crop at its end (bottom or right)]. For square images the side crops equal the centre.
    """
    centre, start, end = _views(images, size, device, [0.5, 0.0, 1.0])
    return [centre, centre.flip(3).contiguous(memory_format=torch.channels_last), start, end]
