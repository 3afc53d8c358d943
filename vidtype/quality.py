"""Frame quality: reject black and blurred frames, and sharpen with an unsharp mask (OpenCV).

Blur is judged *relative to the video's own frames*: a frame is blurred when its sharpness is far below the median
of the other frames. One absolute threshold would reject every frame of a softly shot or smoothly animated video,
and none of a noisy one.

Sharpness is the variance of the Laplacian at full resolution divided by the same at half resolution: the share of
the picture's detail that lives in its finest scale. Blur removes that scale first; a dark or low-contrast frame, or
a frame with few edges (a sparse slide after a dense one), keeps the ratio, where the plain variance of the
Laplacian would call it blurred.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DARK_LUMA = 24            # a pixel with luma (0-255) below this is dark
# A frame is black when nearly all its pixels are dark and its mean luma is low. A small logo may remain; sparse
# content on black (a terminal, Asteroids) keeps more than 0.5 % of its pixels lit and is not black.
BLACK_DARK_SHARE = 0.995
BLACK_MEAN_LUMA = 40.0
BLUR_FRACTION = 0.25      # blurred: sharpness below this fraction of the median sharpness of the video's frames
MIN_REFERENCE = 1e-3      # below this median sharpness the frames are flat: nothing to compare blur against
NOISE_FLOOR = 2.0         # Laplacian variance of 8-bit rounding noise: smooth frames do not divide by ~0


@dataclass
class FrameQuality:
    """Measurements of one frame and the verdict: reason is "black", "blurred" or None (good)."""

    luma_mean: float
    dark_share: float
    sharpness: float
    reason: str | None


def measure(image: np.ndarray) -> tuple[float, float, float]:
    """(mean luma, share of dark pixels, sharpness) of an RGB uint8 image (sharpness: see the module docstring)."""
    gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    fine = float(cv2.Laplacian(gray, cv2.CV_32F).var())
    coarse = float(cv2.Laplacian(cv2.pyrDown(gray), cv2.CV_32F).var()) if min(gray.shape) >= 2 else 0.0
    sharpness = fine / (coarse + NOISE_FLOOR)
    return float(gray.mean()), float((gray < DARK_LUMA).mean()), sharpness


def assess(images: list[np.ndarray]) -> list[FrameQuality]:
    """Judge frames of one video (same size): black frames, then blurred ones relative to the rest."""
    measured = [measure(img) for img in images]
    black = [dark >= BLACK_DARK_SHARE and luma < BLACK_MEAN_LUMA for luma, dark, _ in measured]
    lit = [s for (_, _, s), b in zip(measured, black) if not b]
    reference = float(np.median(lit)) if lit else 0.0
    out = []
    for (luma, dark, sharpness), is_black in zip(measured, black):
        if is_black:
            reason = "black"
        elif reference >= MIN_REFERENCE and sharpness < BLUR_FRACTION * reference:
            reason = "blurred"
        else:
            reason = None
        out.append(FrameQuality(luma, dark, sharpness, reason))
    return out


def sharpen(image: np.ndarray, amount: float = 1.0, sigma: float = 1.0) -> np.ndarray:
    """Unsharp mask: image + amount * (image - gaussian_blur(image, sigma)), saturated to uint8."""
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    return cv2.addWeighted(image, 1.0 + amount, blurred, -amount, 0)
