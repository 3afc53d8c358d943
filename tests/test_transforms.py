import numpy as np
import pytest
import torch

from vidtype.transforms import IMAGENET_MEAN, IMAGENET_STD, preprocess, shrink, tta_views

MEAN = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
STD = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def unnormalise(x: torch.Tensor) -> torch.Tensor:
    """Back to 0..255."""
    return (x * STD + MEAN) * 255


def bands(h: int, w: int, colours, axis: int = 1) -> np.ndarray:
    """An image split into equal bands of the given RGB colours along `axis` (1: left to right, 0: top down)."""
    img = np.zeros((h, w, 3), np.uint8)
    n = len(colours)
    length = img.shape[axis]
    for i, c in enumerate(colours):
        sl = slice(i * length // n, (i + 1) * length // n)
        if axis == 1:
            img[:, sl] = c
        else:
            img[sl, :] = c
    return img


RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def test_shape_dtype_layout():
    x = preprocess([np.zeros((360, 640, 3), np.uint8)] * 3, 224)
    assert x.shape == (3, 3, 224, 224)
    assert x.dtype == torch.float32 and x.device.type == "cpu"
    assert x.is_contiguous(memory_format=torch.channels_last)


def test_mid_grey_maps_to_half_minus_mean_over_std():
    x = preprocess([np.full((100, 150, 3), 128, np.uint8)], 64)
    expected = (128 / 255 - MEAN) / STD
    torch.testing.assert_close(x, expected.expand_as(x), atol=1e-5, rtol=0)
    torch.testing.assert_close(x, ((0.5 - MEAN) / STD).expand_as(x), atol=0.01, rtol=0)  # 128/255 ~ 0.5


def test_centre_crop_keeps_the_centre():
    # 224 x 448 already has its shorter side at 224: the centre crop is the middle half (green).
    img = bands(224, 448, [RED, GREEN, GREEN, BLUE])
    x = unnormalise(preprocess([img], 224))[0]
    torch.testing.assert_close(x[:, :, 0], torch.tensor([0.0, 255, 0]).view(3, 1).expand(3, 224), atol=0.5, rtol=0)
    assert (x[1] > 254).all() and (x[0] < 1).all() and (x[2] < 1).all()


def test_shorter_side_resized_then_cropped():
    # 400 x 800 -> 224 x 448 -> centre 224 x 224; left/right quarters are cut away
    img = bands(400, 800, [RED, GREEN, GREEN, BLUE])
    x = unnormalise(preprocess([img], 224))[0][:, :, 2:-2]  # the outer columns blend in the filtered band edges
    assert (x[1] > 250).all() and (x[0] < 5).all() and (x[2] < 5).all()


def test_resize_is_antialiased():
    checker = (np.indices((896, 896)).sum(0) % 2 * 255).astype(np.uint8)  # 1-pixel checkerboard
    x = unnormalise(preprocess([np.repeat(checker[..., None], 3, 2)], 224))
    assert (x - 127.5).abs().max() < 2  # averaged to grey, not aliased to black/white


def test_tta_views_flip_and_side_crops():
    img = bands(224, 448, [RED, GREEN, GREEN, BLUE])
    centre, flipped, start, end = tta_views([img], 224)
    torch.testing.assert_close(flipped, centre.flip(3))
    assert all(v.shape == (1, 3, 224, 224) and v.is_contiguous(memory_format=torch.channels_last)
               for v in (centre, flipped, start, end))
    start, end = unnormalise(start)[0], unnormalise(end)[0]
    assert (start[0, :, :112] > 254).all() and (start[1, :, 112:] > 254).all()  # left end: red then green
    assert (end[1, :, :112] > 254).all() and (end[2, :, 112:] > 254).all()  # right end: green then blue


def test_tta_side_crops_follow_the_long_side_of_portrait_images():
    img = bands(448, 224, [RED, GREEN, GREEN, BLUE], axis=0)
    centre, flipped, top, bottom = (unnormalise(v)[0] for v in tta_views([img], 224))
    assert (centre[1] > 254).all()
    assert (top[0, :112] > 254).all() and (bottom[2, 112:] > 254).all()


def test_flipped_view_of_asymmetric_image():
    img = np.zeros((50, 50, 3), np.uint8)
    img[:, :10] = 255
    centre, flipped, _, _ = tta_views([img], 50)
    assert centre[0, 0, 0, 0] > 2 and flipped[0, 0, 0, -1] > 2 and flipped[0, 0, 0, 0] < 0


def test_different_sizes_stack_in_order():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, s, dtype=np.uint8) for s in [(480, 640, 3), (300, 200, 3), (64, 64, 3),
                                                                 (480, 640, 3)]]
    x = preprocess(images, 64)
    assert x.shape == (4, 3, 64, 64)
    for i, img in enumerate(images):
        torch.testing.assert_close(x[i], preprocess([img], 64)[0])
    views = tta_views(images, 64)
    torch.testing.assert_close(views[0], x)


def test_non_contiguous_input_and_empty_list():
    img = np.random.default_rng(1).integers(0, 256, (80, 120, 3), dtype=np.uint8)
    torch.testing.assert_close(preprocess([img[:, ::-1]], 32), preprocess([img[:, ::-1].copy()], 32))
    assert preprocess([], 32).shape == (0, 3, 32, 32)


@pytest.mark.parametrize("bad", [np.zeros((10, 10, 3), np.float32), np.zeros((10, 10), np.uint8),
                                 np.zeros((10, 10, 4), np.uint8), np.zeros((0, 10, 3), np.uint8)])
def test_rejects_bad_images(bad):
    with pytest.raises(ValueError, match="image 0"):
        preprocess([bad], 32)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
def test_cuda_matches_cpu():
    images = [np.random.default_rng(2).integers(0, 256, (360, 640, 3), dtype=np.uint8)]
    x = preprocess(images, 224, device="cuda")
    assert x.device.type == "cuda"
    diff = (x.cpu() - preprocess(images, 224)).abs()  # CPU resizes uint8, CUDA float rounded: <= 1 grey level
    assert diff.max() < 1.01 / (255 * min(IMAGENET_STD)) and diff.mean() < 0.005
    assert all(v.device.type == "cuda" for v in tta_views(images, 224, device="cuda"))


def test_shrunk_images_preprocess_to_the_same_tensors():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (288, 512, 3), dtype=np.uint8) for _ in range(3)] + \
             [rng.integers(0, 256, (512, 300, 3), dtype=np.uint8), rng.integers(0, 256, (100, 160, 3), dtype=np.uint8)]
    small = shrink(images, 224)
    assert [im.shape for im in small] == [(224, 398, 3)] * 3 + [(382, 224, 3), (100, 160, 3)]
    assert small[-1] is images[-1]  # already below the input size: left alone (preprocess upsamples it)
    assert all(im.dtype == np.uint8 and im.flags.c_contiguous for im in small)
    assert torch.equal(preprocess(small, 224), preprocess(images, 224))
    for a, b in zip(tta_views(small, 224), tta_views(images, 224)):
        assert torch.equal(a, b)
