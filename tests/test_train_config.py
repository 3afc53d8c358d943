import json

import pytest

from vidtype.train.config import ConfigError, TrainConfig, config_hash, dump, load_config


def test_defaults_without_a_file():
    cfg = load_config()
    assert cfg == TrainConfig()
    assert cfg.optim.epochs == 30 and cfg.backbones == ["efficientnet_lite0"]


def test_yaml_file_then_overrides(tmp_path):
    f = tmp_path / "run.yaml"
    f.write_text("members: 2\nbackbones: [mobilenetv2]\noptim:\n  lr: 0.01\n  epochs: 5\nhead: {hidden: 64}\n")
    cfg = load_config(f, ["optim.lr=3e-4", "features.views=6", "augment.gif=0.5", "optim.amp=false"])
    assert cfg.members == 2 and cfg.backbones == ["mobilenetv2"]
    assert cfg.optim.lr == 3e-4 and cfg.optim.epochs == 5 and cfg.optim.amp is False
    assert cfg.features.views == 6 and cfg.augment.gif == 0.5
    assert cfg.head == {"hidden": 64}


def test_toml_and_json_files(tmp_path):
    t = tmp_path / "run.toml"
    t.write_text('name = "x"\n[optim]\nbatch_size = 8\n[data]\nsplit_seed = 3\n')
    cfg = load_config(t)
    assert (cfg.name, cfg.optim.batch_size, cfg.data.split_seed) == ("x", 8, 3)
    j = tmp_path / "run.json"
    j.write_text(json.dumps({"seed": 4}))
    assert load_config(j).seed == 4


def test_unknown_keys_and_bad_values_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="optim.lrr"):
        load_config(None, ["optim.lrr=1"])
    with pytest.raises(ConfigError, match="optim.epochs"):
        load_config(None, ["optim.epochs=many"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_config(None, ["optim.epochs"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim: [1, 2\n")
    with pytest.raises(ConfigError):
        load_config(bad)


def test_dump_round_trips_and_hash_ignores_runtime_settings(tmp_path):
    cfg = load_config(None, ["members=3", "optim.lr=0.002"])
    path = dump(cfg, tmp_path / "train_config.yaml")
    assert load_config(path) == cfg
    moved = load_config(path, ["device=cuda", "features.cache_dir=/elsewhere", "features.workers=8"])
    assert config_hash(moved) == config_hash(cfg)
    assert config_hash(load_config(path, ["optim.lr=0.1"])) != config_hash(cfg)
