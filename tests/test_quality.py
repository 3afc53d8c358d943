"""vidtype.quality: black and blur judgement, unsharp mask."""

import cv2
import numpy as np

from videos import content_frame, draw_stamp
from vidtype.quality import assess, measure, sharpen


def sharp(i=0):
    return content_frame("shapes", i, 10, 320, 240)


def blurred(i=0, sigma=5):
    return cv2.GaussianBlur(sharp(i), (0, 0), sigma)


def laplacian_var(image):
    return cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()


def test_measure():
    luma, dark, sharpness = measure(sharp())
    assert 50 < luma < 200 and 0 <= dark < 0.5 and sharpness > 0.5
    luma, dark, sharpness = measure(np.zeros((240, 320, 3), np.uint8))
    assert (luma, dark, sharpness) == (0.0, 1.0, 0.0)


def test_black_frames():
    black = np.zeros((240, 320, 3), np.uint8)
    logo = black.copy()
    logo[100:110, 150:170] = 255  # a small bright logo on black is still a black frame
    night = (sharp().astype(np.float32) * 0.35).astype(np.uint8)  # dark, but a picture
    verdicts = [q.reason for q in assess([sharp(0), black, logo, night, sharp(1)])]
    assert verdicts == [None, "black", "black", None, None]


def test_blur_is_relative_to_the_video():
    images = [sharp(i) for i in range(6)] + [blurred(6)]
    quality = assess(images)
    assert [q.reason for q in quality] == [None] * 6 + ["blurred"]
    assert quality[-1].sharpness < quality[0].sharpness / 10


def test_uniformly_soft_video_keeps_its_frames():
    soft = [blurred(i, sigma=3) for i in range(6)]
    assert [q.reason for q in assess(soft)] == [None] * 6
    gradient = [content_frame("gradient", i, 6, 320, 240) for i in range(6)]
    assert [q.reason for q in assess(gradient)] == [None] * 6


def test_black_frames_do_not_drag_the_blur_reference_down():
    images = [np.zeros((240, 320, 3), np.uint8)] * 5 + [sharp(0), blurred(1)]
    assert [q.reason for q in assess(images)] == ["black"] * 5 + [None, "blurred"]


def test_single_and_empty():
    assert assess([]) == []
    assert assess([blurred()])[0].reason is None


def test_sharpen_raises_laplacian_variance():
    image = blurred(0, sigma=1.5)
    draw_stamp(image, 5)
    out = sharpen(image)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert laplacian_var(out) > 1.3 * laplacian_var(image)
    assert laplacian_var(sharpen(image, amount=2.0)) > laplacian_var(out)
    assert np.array_equal(sharpen(image, amount=0.0), image)
