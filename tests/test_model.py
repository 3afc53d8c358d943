import pytest
import torch

from vidtype.model import TemporalConfig, TemporalHead


def make_head(**kw):
    torch.manual_seed(0)
    return TemporalHead(TemporalConfig(feature_dim=32, hidden=16, heads=4, **kw)).eval()


def test_shapes_and_attention_sums_to_one():
    head = make_head()
    out = head(torch.randn(3, 7, 32))
    assert out["logits"].shape == (3, 4)
    assert out["attention"].shape == (3, 7)
    assert out["embedding"].shape == (3, 32)
    torch.testing.assert_close(out["attention"].sum(1), torch.ones(3))


def test_padding_is_ignored():
    head = make_head()
    x = torch.randn(1, 5, 32)
    padded = torch.cat([x, torch.randn(1, 3, 32) * 100], dim=1)
    mask = torch.tensor([[True] * 5 + [False] * 3])
    a, b = head(x), head(padded, mask)
    torch.testing.assert_close(a["logits"], b["logits"], atol=1e-5, rtol=1e-5)
    assert torch.all(b["attention"][0, 5:] == 0)


def test_attention_follows_the_informative_frame():
    """Trained to spot one marked frame among noise, the head should attend to it."""
    torch.manual_seed(0)
    head = TemporalHead(TemporalConfig(feature_dim=8, hidden=8, heads=2, dropout=0.0))
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(200):
        x = torch.randn(32, 6, 8) * 0.1
        y = torch.randint(0, 4, (32,))
        pos = torch.randint(0, 6, (32,))
        x[torch.arange(32), pos, :4] = torch.nn.functional.one_hot(y, 4).float() * 3
        loss = torch.nn.functional.cross_entropy(head(x)["logits"], y)
        opt.zero_grad(); loss.backward(); opt.step()
    head.eval()
    x = torch.randn(64, 6, 8) * 0.1
    y = torch.randint(0, 4, (64,))
    pos = torch.randint(0, 6, (64,))
    x[torch.arange(64), pos, :4] = torch.nn.functional.one_hot(y, 4).float() * 3
    out = head(x)
    assert (out["logits"].argmax(1) == y).float().mean() > 0.9
    assert (out["attention"].argmax(1) == pos).float().mean() > 0.5


def test_batch_input_norm_ignores_padding_and_round_trips(tmp_path):
    from vidtype.store import Member, Model, load_model, save_model

    torch.manual_seed(0)
    head = TemporalHead(TemporalConfig(feature_dim=32, hidden=16, heads=4, dropout=0.0, input_norm="batch"))
    x = torch.randn(4, 5, 32) * 3 + 2
    padded = torch.cat([x, torch.randn(4, 3, 32) * 100], dim=1)
    mask = torch.tensor([[True] * 5 + [False] * 3] * 4)
    head.train()
    torch.testing.assert_close(head(x)["logits"], head(padded, mask)["logits"], atol=1e-5, rtol=1e-5)
    head.eval()  # running statistics now; a single video classifies alone
    a, b = head(x), head(padded, mask)
    torch.testing.assert_close(a["logits"], b["logits"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(head(x[:1])["logits"], a["logits"][:1], atol=1e-5, rtol=1e-5)
    save_model(Model("t", "0", [Member("efficientnet_lite0", head.config, head)], frames=5), tmp_path / "m")
    loaded = load_model(tmp_path / "m").members[0].head
    assert loaded.config.input_norm == "batch"
    torch.testing.assert_close(loaded(x)["logits"], a["logits"])
    with pytest.raises(ValueError):
        TemporalHead(TemporalConfig(feature_dim=8, hidden=8, heads=2, input_norm="group"))
