import json

import pytest
import torch

from vidtype.errors import ModelNotFoundError
from vidtype.model import TemporalConfig, TemporalHead
from vidtype.store import Member, Model, load_model, save_model


def test_save_and_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    members = [Member("efficientnet_lite0", c, TemporalHead(c)) for c in
               (TemporalConfig(feature_dim=16, hidden=8), TemporalConfig(feature_dim=16, hidden=16, heads=2))]
    model = Model("test", "1.2", members, temperature=1.7, threshold=0.3,
                  trust={"mean": torch.arange(4.0)}, extra={"note": "x"})
    save_model(model, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["m0", "m1", "model.json", "trust.safetensors"]
    loaded = load_model(tmp_path / "m")
    assert (loaded.name, loaded.version, loaded.temperature, loaded.threshold) == ("test", "1.2", 1.7, 0.3)
    assert loaded.extra == {"note": "x"}
    torch.testing.assert_close(loaded.trust["mean"], torch.arange(4.0))
    x = torch.randn(2, 5, 16)
    for a, b in zip(members, loaded.members):
        a.head.eval()
        assert a.config == b.config
        torch.testing.assert_close(a.head(x)["logits"], b.head(x)["logits"])


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no vidtype model"):
        load_model(tmp_path)


def test_model_json_is_plain_json(tmp_path):
    c = TemporalConfig(feature_dim=8, hidden=4, heads=2)
    save_model(Model("t", "0", [Member("mobilenetv2", c, TemporalHead(c))]), tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["members"] == ["m0"] and meta["classes"] == ["animation", "gaming", "natural", "flat"]
    assert json.loads((tmp_path / "m0" / "config.json").read_text())["backbone"] == "mobilenetv2"
