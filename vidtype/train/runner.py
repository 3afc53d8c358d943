"""`train(DATA, OUT)`: dataset -> split -> feature cache -> one head per member -> calibration -> model directory.

Everything a run needs to be understood later lies beside the weights in OUT:

    OUT/model.json, OUT/m{i}/...        the model (see store.py), loadable by `vidtype predict --model OUT`
    OUT/split.csv                       path,label,group,split of every video used
    OUT/train_config.yaml               the resolved config (defaults + file + overrides)
    OUT/history.csv                     per member and epoch: losses, validation accuracy / macro-F1, lr
    OUT/version.json                    package version, git commit, torch/python versions
    OUT/checkpoints/m{i}.safetensors    resumable training state of each member

Rerunning the same command after an interruption continues: cached features are not recomputed, finished
members are not retrained, and an unfinished member resumes from its last epoch.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import platform
import subprocess
from pathlib import Path

import torch

from ..model import TemporalConfig
from ..store import CLASSES, Member, Model, save_model
from .calibrate import ensemble_probs, fit_temperature
from .config import ConfigError, TrainConfig, apply_overrides, config_hash, dump, from_dict, load_config
from .datasets import Item, apply_split, load_dataset, split_items, summary, write_split
from .features import CLEAN, extract_features, training_views
from .loop import EpochHook, FeatureSet, barrier, dist_info, fit, init_distributed, predict_outputs

log = logging.getLogger(__name__)


def resolve_config(config: TrainConfig | str | Path | dict | None = None, overrides=None) -> TrainConfig:
    """A TrainConfig from a config object, a file path, a dict or None (defaults), plus dotted overrides."""
    if isinstance(config, TrainConfig):
        return from_dict(apply_overrides(config.to_dict(), overrides)) if overrides else config
    if isinstance(config, dict):
        return from_dict(apply_overrides(config, overrides))
    return load_config(config, overrides)


def resolve_device(name: str) -> torch.device:
    """"auto" -> this rank's GPU (LOCAL_RANK) when CUDA is available, else the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return torch.device("cpu")
    return torch.device(name)


def code_version() -> dict:
    """Package version, git commit (with a dirty flag) when the package sits in a git checkout, and runtimes."""
    from .. import __version__

    info = {"vidtype": __version__, "torch": torch.__version__, "python": platform.python_version()}
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                   capture_output=True, text=True, timeout=5)
            info["git_dirty"] = bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def head_config(cfg: TrainConfig, feature_dim: int, n_classes: int) -> TemporalConfig:
    """TemporalConfig from the run's `head` section, the backbone's feature size and the class count."""
    known = set(TemporalConfig.__dataclass_fields__) - {"feature_dim", "n_classes"}
    unknown = set(cfg.head) - known
    if unknown:
        raise ConfigError(f"unknown head setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    return TemporalConfig(**cfg.head, feature_dim=feature_dim, n_classes=n_classes)


def member_plan(cfg: TrainConfig) -> list[tuple[str, int]]:
    """(backbone, seed) of every member: `members` seeds for each backbone, in order."""
    return [(b, cfg.seed + k + 1000 * i) for i, b in enumerate(cfg.backbones) for k in range(cfg.members)]


def prepare_split(items: list[Item], cfg: TrainConfig, out: Path) -> list[Item]:
    """Reuse OUT/split.csv when resuming (videos it does not list are left out), else split and write it."""
    split_file = out / "split.csv"
    if split_file.is_file():
        items = apply_split(items, split_file)
        dropped = [it for it in items if it.split is None]
        if dropped:
            log.warning("%d videos are not in the existing %s and are left out", len(dropped), split_file)
        return [it for it in items if it.split is not None]
    split_items(items, cfg.data.val_fraction, cfg.data.test_fraction, cfg.data.split_seed)
    if dist_info()[0] == 0:
        write_split(items, split_file)
    return items


def cache_features(items: list[Item], backbone, views, cfg: TrainConfig, device, progress: bool,
                   source=None) -> list:
    """Fill the cache (each rank its share under torchrun), then load every item's features; with a feature
    `source`, take them from it instead."""
    if source is not None:
        return source.features(items, views, cfg)
    rank, world = dist_info()
    f = cfg.features
    kw = dict(frames=f.frames, sharpen=f.sharpen, augment=cfg.augment, device=device, runtime=f.runtime,
              batch_size=f.batch_size,
              workers=f.workers, timeout_s=f.timeout_s, dtype=f.dtype)
    if world > 1:
        extract_features(items[rank::world], backbone, views, cfg.cache_dir(), load=False, progress=progress, **kw)
        barrier()
    return extract_features(items, backbone, views, cfg.cache_dir(), progress=progress and world == 1, **kw)


def train(data: str | Path, out: str | Path, config: TrainConfig | str | Path | dict | None = None, overrides=None, *,
          on_epoch_end: EpochHook | None = None, progress: bool = True) -> Model:
    """Train (or resume training) a model on the dataset `data` and write it to the directory `out`.

    `config`: a TrainConfig, a YAML/TOML/JSON file, a dict or None; `overrides`: ["optim.lr=3e-4", ...].
    Backbones are names in the `vidtype.backbones` registry (`backbones.register` adds your own).
    `on_epoch_end(epoch, row)`: called after every epoch's checkpoint; raising in it interrupts training.
    `data` may also be a *feature source* (e.g. `vidtype.yt8m.Yt8mFeatures`): an object with `backbone` (the
    members' backbone name), `items(classes, cfg) -> list[Item]` and `features(items, views, cfg) ->
    list[VideoFeatures]`, which then replaces the dataset and the feature cache.
    """
    cfg = resolve_config(config, overrides)
    source = data if all(hasattr(data, a) for a in ("backbone", "items", "features")) else None
    if source is not None and cfg.backbones != [source.backbone]:
        cfg = resolve_config(cfg, {"backbones": [source.backbone]})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rank, _ = dist_info()
    device = resolve_device(cfg.device)
    init_distributed(device)
    classes = CLASSES
    items = prepare_split(source.items(classes, cfg) if source else load_dataset(data, classes), cfg, out)
    if rank == 0:
        dump(cfg, out / "train_config.yaml")
        (out / "version.json").write_text(json.dumps(code_version(), indent=2))
    train_items = [it for it in items if it.split == "train"]
    val_items = [it for it in items if it.split == "val"]
    if not train_items:
        raise ConfigError("the split left no training videos")
    log.info("split: %s", summary(items))

    # features: every training view of the training videos, the clean view of the validation videos
    videos = {}
    for name in cfg.backbones:
        tr = cache_features(train_items, name, training_views(cfg.features.views, cfg.features.jitter), cfg,
                            device, progress, source)
        va = cache_features(val_items, name, [CLEAN], cfg, device, progress, source) if val_items else []
        videos[name] = (tr, va)
    ok_train = _usable(train_items, [videos[b][0] for b in cfg.backbones])
    ok_val = _usable(val_items, [videos[b][1] for b in cfg.backbones])
    sets = {name: (_feature_set(tr, train_items, ok_train, classes),
                   _feature_set(va, val_items, ok_val, classes) if any(ok_val) else None)
            for name, (tr, va) in videos.items()}  # in memory once per backbone, shared by its members
    del videos

    run_id = config_hash(cfg)
    members, fits, train_out, val_out = [], [], [], []
    for i, (name, seed) in enumerate(member_plan(cfg)):
        train_set, val_set = sets[name]
        hc = head_config(cfg, train_set.features.shape[-1], len(classes))
        result = fit(train_set, val_set, hc, cfg.optim, seed=seed, device=device,
                     checkpoint=out / "checkpoints" / f"m{i}.safetensors", run_id=f"{run_id}-m{i}-{name}-{seed}",
                     on_epoch_end=on_epoch_end, progress=progress, desc=f"m{i} {name}")
        members.append(Member(name, hc, result.head))
        fits.append(result)
        # outputs on the clean view (index 0), for calibration and the trust statistics
        train_out.append(predict_outputs(result.head, train_set.features[:, :1], train_set.mask[:, :1], "cpu"))
        if val_set is not None:
            val_out.append(predict_outputs(result.head, val_set.features, val_set.mask, "cpu"))

    temperature, calibration, trust, threshold, trust_facts = 1.0, {}, None, 0.0, {}
    if val_out:
        logits = torch.stack([lg for lg, _ in val_out])  # (M, N, 1, C)
        if cfg.calibrate:
            temperature = fit_temperature(logits, val_set.labels)
        calibration = _calibration_summary(logits, val_set.labels, temperature, classes)
        if cfg.trust:
            usable = [it for it, good in zip(train_items, ok_train) if good] + \
                     [it for it, good in zip(val_items, ok_val) if good]
            trust, threshold, trust_facts = _fit_trust(members, sets, train_out, val_out, temperature, cfg, device,
                                                       progress, source, usable)
    facts = _training_facts(cfg, data, items, fits, calibration) | {"trust": trust_facts}
    model = Model(cfg.name, cfg.version, members, classes=classes, frames=cfg.features.frames,
                  temperature=temperature, threshold=threshold, trust=trust, extra={"training": facts})
    if rank == 0:
        save_model(model, out)
        _write_history(out / "history.csv", fits, member_plan(cfg))
    barrier()
    model.path = out
    return model


def _usable(items: list[Item], per_backbone: list[list]) -> list[bool]:
    """Items whose features exist for every backbone (a video that failed to decode is left out)."""
    ok = [all(videos[i].error is None for videos in per_backbone) for i in range(len(items))]
    for it, good in zip(items, ok):
        if not good:
            log.warning("left out of training: %s", it.rel)
    return ok


def _feature_set(videos: list, items: list[Item], ok: list[bool], classes) -> FeatureSet:
    keep = [i for i, good in enumerate(ok) if good]
    return FeatureSet.from_videos([videos[i] for i in keep], [classes.index(items[i].label) for i in keep])


def _fit_trust(members, sets, train_out, val_out, temperature: float, cfg: TrainConfig, device, progress: bool,
               source=None, items: list[Item] = ()):
    """Fit trust.py's statistics (see trustfit.py) on the clean views of the training and validation videos,
    with `cfg.trust_ood` generated clips choosing the score weights and, with `cfg.trust_folds`, the threshold
    set on out-of-fold scores of `items` (the usable training and validation videos)."""
    from ..trust import pool_features
    from .trustfit import cached_clean_view, fit_model_trust, generated_ood, reference_scores

    def part(outputs, index: int) -> dict:
        fs = sets[members[0].backbone][index]  # every backbone's set holds the same videos and labels
        return {"outputs": outputs, "labels": fs.labels,
                "features": [pool_features(sets[m.backbone][index].features[:, 0], sets[m.backbone][index].mask[:, 0])
                             for m in members]}

    ood = None
    if cfg.trust_ood > 0 and source is not None:
        log.warning("trust_ood ignored: generated clips cannot be encoded for a feature source")
    elif cfg.trust_ood > 0:
        if dist_info()[0] == 0:  # one rank writes the clips, then every rank finds them
            generated_ood(cfg.cache_dir(), cfg.trust_ood, cfg.seed)
        barrier()
        paths = generated_ood(cfg.cache_dir(), cfg.trust_ood, cfg.seed)
        ood = cached_clean_view(members, {b: cache_features(paths, b, [CLEAN], cfg, device, progress)
                                          for b in cfg.backbones})
    reference = None
    if cfg.trust_folds > 1 and items:
        reference = reference_scores(cfg, list(items), device, progress, source)
    return fit_model_trust(members, part(train_out, 0), part(val_out, 1), temperature, cfg.trust_keep,
                           len(CLASSES), ood, reference)



def _calibration_summary(logits: torch.Tensor, labels: torch.Tensor, temperature: float, classes) -> dict:
    from ..evaluate.metrics import classification_metrics

    before = classification_metrics(labels.numpy(), ensemble_probs(logits, 1.0).numpy(), classes)
    after = classification_metrics(labels.numpy(), ensemble_probs(logits, temperature).numpy(), classes)
    return {"method": "temperature scaling: LBFGS on the NLL of the ensemble's averaged probabilities "
                      "(mean over members of softmax(logits / T)), one T shared by all members, validation split",
            "temperature": temperature, "val_n": int(len(labels)),
            "val_nll_before": before["nll"], "val_nll_after": after["nll"],
            "val_ece_before": before["ece"], "val_ece_after": after["ece"],
            "val_accuracy": after["accuracy"], "val_macro_f1": after["macro_f1"]}


def _training_facts(cfg: TrainConfig, data, items, fits, calibration) -> dict:
    from .features import _sampling_defaults

    return {
        "data": str(data), "counts": summary(items), "config_hash": config_hash(cfg),
        "files": {"config": "train_config.yaml", "split": "split.csv", "history": "history.csv",
                  "version": "version.json"},
        "sampling": {"frames": cfg.features.frames, "sharpen": cfg.features.sharpen, **_sampling_defaults()},
        "views": cfg.features.views,
        "members": [{"backbone": b, "seed": s, "best_epoch": f.best_epoch, "epochs_run": len(f.history),
                     "best_val_macro_f1": f.best_f1} for (b, s), f in zip(member_plan(cfg), fits)],
        "calibration": calibration,
        "code": code_version(),
    }


def _write_history(path: Path, fits, plan) -> None:
    cols = ["member", "backbone", "seed", "epoch", "train_loss", "val_loss", "val_acc", "val_macro_f1", "lr", "seconds"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for i, (result, (b, s)) in enumerate(zip(fits, plan)):
            for row in result.history:
                w.writerow({"member": i, "backbone": b, "seed": s, **row})
