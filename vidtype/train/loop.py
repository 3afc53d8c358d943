"""Training one temporal head on cached features: the loop, its checkpoints, and batched inference.

    data = FeatureSet.from_videos(video_features, labels)
    result = fit(data, val_data, TemporalConfig(feature_dim=1280), OptimConfig(), seed=0,
                 checkpoint="runs/x/checkpoints/m0.safetensors")
    result.head, result.history

The loop: AdamW (no decay on biases and norms), linear warm-up then cosine decay per step, label smoothing,
inverse-frequency class weights, gradient clipping, early stopping on validation macro-F1 (the best epoch's
weights are returned). Each epoch draws one view of each training video at random. On CUDA: mixed precision
(bfloat16 when supported, else float16 with a GradScaler) and optionally torch.compile. Under torchrun
(WORLD_SIZE > 1) every rank takes its DistributedSampler-style share of each epoch and the head is wrapped in
DDP; rank 0 writes checkpoints.

Checkpoints are one safetensors file written atomically after every epoch: weights, best weights, optimizer
tensors and RNG states as tensors, everything else as JSON in the file's metadata. Calling `fit` again with the
same arguments resumes after the last finished epoch, bit-for-bit as if it had not been interrupted.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import VidtypeError
from ..evaluate.metrics import macro_f1
from ..model import TemporalConfig, TemporalHead
from .config import OptimConfig
from .progress import progress_bar


class CheckpointError(VidtypeError):
    """A checkpoint exists but belongs to a different run."""

    code = "checkpoint_mismatch"


@dataclass
class FeatureSet:
    """Cached features of labelled videos, in memory: (N, V, T, D) features, (N, V, T) mask, (N,) labels."""

    features: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor
    paths: list[str] = field(default_factory=list)

    @classmethod
    def from_videos(cls, videos: list, labels: list[int]) -> "FeatureSet":
        """Stack VideoFeatures (failed videos, with `.error`, are dropped) with their class indices."""
        keep = [(v, y) for v, y in zip(videos, labels) if v.error is None]
        if not keep:
            raise VidtypeError("no video has usable features (all failed to decode?)")
        return cls(torch.stack([v.features for v, _ in keep]), torch.stack([v.mask for v, _ in keep]),
                   torch.tensor([y for _, y in keep], dtype=torch.long), [v.path for v, _ in keep])

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class FitResult:
    head: TemporalHead  # best epoch's weights, eval mode, on the CPU
    history: list[dict]
    best_epoch: int
    best_f1: float


EpochHook = Callable[[int, dict], None]  # (epoch, history row); raise to interrupt after that epoch's checkpoint


# ---- distributed helpers --------------------------------------------------------------------------------------

def dist_info() -> tuple[int, int]:
    """(rank, world size) under torchrun, (0, 1) otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def init_distributed(device: torch.device) -> None:
    """Initialise the default process group under torchrun (no-op when WORLD_SIZE is 1 or already done)."""
    rank, world = dist_info()
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")


def barrier() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()


# ---- the loop --------------------------------------------------------------------------------------------------

def class_weights(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights N / (C_present * count_c); 0 for classes without training videos."""
    counts = torch.bincount(labels, minlength=n_classes).float()
    present = (counts > 0).sum()
    return torch.where(counts > 0, counts.sum() / (present * counts.clamp_min(1)), torch.zeros_like(counts))


def lr_lambda(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """Linear warm-up to 1, then cosine decay to 0 at `total_steps`."""
    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return f


def _param_groups(head: nn.Module, weight_decay: float) -> list[dict]:
    decay = [p for n, p in head.named_parameters() if p.ndim >= 2 and "query" not in n]
    no_decay = [p for n, p in head.named_parameters() if not (p.ndim >= 2 and "query" not in n)]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def fit(train: FeatureSet, val: FeatureSet | None, head_config: TemporalConfig, optim: OptimConfig, *, seed: int = 0,
        device: str | torch.device = "cpu", checkpoint: str | Path | None = None, run_id: str = "",
        on_epoch_end: EpochHook | None = None, progress: bool = True, desc: str = "train") -> FitResult:
    """Train a TemporalHead on `train`, early-stopping on `val` macro-F1; resume from `checkpoint` if present.

    `run_id` (e.g. a config hash) is stored in the checkpoint; a checkpoint with another run_id is refused.
    """
    device = torch.device(device)
    rank, world = dist_info()
    init_distributed(device)
    if optim.deterministic:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)  # epoch order and view choice
    head = TemporalHead(head_config).to(device)
    opt = torch.optim.AdamW(_param_groups(head, optim.weight_decay), lr=optim.lr)
    steps_per_epoch = math.ceil(math.ceil(len(train) / world) / optim.batch_size)
    total = optim.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(total, max(1, int(optim.warmup_epochs * steps_per_epoch))))
    cuda = device.type == "cuda"
    amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda and optim.amp else None
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    weights = class_weights(train.labels, head_config.n_classes) if optim.class_weighting else None
    loss_fn = nn.CrossEntropyLoss(weight=None if weights is None else weights.to(device),
                                  label_smoothing=optim.label_smoothing)

    state = {"epoch": 0, "best_f1": -1.0, "best_epoch": 0, "bad_epochs": 0, "history": [], "done": False}
    best = {k: v.detach().clone() for k, v in head.state_dict().items()}
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None and ckpt.is_file():
        state, best = load_checkpoint(ckpt, head, opt, sched, scaler, gen, run_id, device)

    model: nn.Module = head
    if world > 1:
        model = nn.parallel.DistributedDataParallel(head, device_ids=[device.index] if cuda else None)
    if optim.compile and cuda:
        model = torch.compile(model)

    bar = progress_bar(optim.epochs, desc, "epoch", progress and rank == 0, initial=state["epoch"])
    while not state["done"] and state["epoch"] < optim.epochs:
        epoch = state["epoch"] + 1
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(len(train), generator=gen)
        view = torch.randint(train.features.shape[1], (len(train),), generator=gen)
        order = _shard(order, rank, world)
        total_loss, seen = 0.0, 0
        for s in range(0, len(order), optim.batch_size):
            idx = order[s:s + optim.batch_size]
            x = train.features[idx, view[idx]].to(device, torch.float32, non_blocking=True)
            m = train.mask[idx, view[idx]].to(device)
            y = train.labels[idx].to(device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                loss = loss_fn(model(x, m)["logits"].float(), y)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
            else:
                loss.backward()
            if optim.grad_clip > 0:
                nn.utils.clip_grad_norm_(head.parameters(), optim.grad_clip)
            if scaler is not None:
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            sched.step()
            total_loss += float(loss.detach()) * len(idx)
            seen += len(idx)
        row = {"epoch": epoch, "train_loss": total_loss / max(seen, 1), "lr": sched.get_last_lr()[0]}
        row.update(validate(head, val, device))
        row["seconds"] = round(time.perf_counter() - t0, 3)
        state["epoch"] = epoch
        state["history"].append(row)
        score = row.get("val_macro_f1", 0.0)
        if val is None or score > state["best_f1"]:  # without validation: keep the latest epoch
            state["best_f1"], state["best_epoch"], state["bad_epochs"] = score, epoch, 0
            best = {k: v.detach().clone() for k, v in head.state_dict().items()}
        else:
            state["bad_epochs"] += 1
        if (val is not None and state["bad_epochs"] >= optim.patience) or epoch >= optim.epochs:
            state["done"] = True
        if ckpt is not None and rank == 0:
            save_checkpoint(ckpt, head, best, opt, sched, scaler, gen, state, run_id)
        barrier()
        bar.update(1)
        bar.set_postfix({k: round(v, 4) for k, v in row.items() if k in ("train_loss", "val_macro_f1", "val_acc")})
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)
    bar.close()
    head.load_state_dict(best)
    return FitResult(head.cpu().eval(), state["history"], state["best_epoch"], state["best_f1"])


def _shard(order: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """DistributedSampler's split: pad to a multiple of `world` by wrapping, then every world-th index."""
    if world == 1:
        return order
    n = math.ceil(len(order) / world) * world
    padded = torch.cat([order, order[: n - len(order)]])
    return padded[rank::world]


@torch.no_grad()
def validate(head: TemporalHead, val: FeatureSet | None, device: torch.device) -> dict:
    """Validation loss (unweighted cross-entropy), accuracy and macro-F1 on the first (clean) view."""
    if val is None or len(val) == 0:
        return {}
    logits = predict_logits(head, val.features[:, :1], val.mask[:, :1], device)[:, 0]
    y = val.labels
    pred = logits.argmax(1)
    return {"val_loss": float(F.cross_entropy(logits, y)), "val_acc": float((pred == y).float().mean()),
            "val_macro_f1": macro_f1(y.numpy(), pred.numpy(), head.config.n_classes)}


@torch.no_grad()
def predict_outputs(head: TemporalHead, features: torch.Tensor, mask: torch.Tensor, device=None,
                    batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, V, T, D) features + (N, V, T) mask -> logits (N, V, C) and embeddings (N, V, E), float32 on the CPU."""
    device = torch.device(device or next(head.parameters()).device)
    was_training = head.training
    head.eval()
    N, V, T, D = features.shape
    flat, fmask = features.reshape(N * V, T, D), mask.reshape(N * V, T)
    logits, embeddings = [], []
    for s in range(0, N * V, batch_size):
        out = head(flat[s:s + batch_size].to(device, torch.float32), fmask[s:s + batch_size].to(device))
        logits.append(out["logits"].float().cpu())
        embeddings.append(out["embedding"].float().cpu())
    head.train(was_training)
    if not logits:
        return torch.zeros(N, V, head.config.n_classes), torch.zeros(N, V, 0)
    return torch.cat(logits).reshape(N, V, -1), torch.cat(embeddings).reshape(N, V, -1)


def predict_logits(head: TemporalHead, features: torch.Tensor, mask: torch.Tensor, device=None,
                   batch_size: int = 256) -> torch.Tensor:
    """(N, V, T, D) features + (N, V, T) mask -> (N, V, C) float32 logits on the CPU (head in eval mode)."""
    return predict_outputs(head, features, mask, device, batch_size)[0]


# ---- checkpoints ------------------------------------------------------------------------------------------------

def save_checkpoint(path: Path, head: nn.Module, best: dict, opt, sched, scaler, gen: torch.Generator,
                    state: dict, run_id: str) -> None:
    """Write the whole training state to one safetensors file (tensors) with JSON metadata, atomically."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in head.state_dict().items()}
    tensors.update({f"best.{k}": v.detach().cpu().contiguous() for k, v in best.items()})
    osd = opt.state_dict()
    for pid, pstate in osd["state"].items():
        for k, v in pstate.items():
            tensors[f"opt.{pid}.{k}"] = v.detach().cpu().contiguous() if torch.is_tensor(v) else torch.tensor(v)
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["rng.gen"] = gen.get_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    sched_state = {k: v for k, v in sched.state_dict().items() if k != "lr_lambdas"}
    meta = {"run_id": run_id, "state": state, "sched": sched_state, "opt_groups": osd["param_groups"],
            "scaler": scaler.state_dict() if scaler is not None else None}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".safetensors")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"checkpoint": json.dumps(meta)})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, head: nn.Module, opt, sched, scaler, gen: torch.Generator, run_id: str,
                    device: torch.device) -> tuple[dict, dict]:
    """Restore everything `save_checkpoint` wrote; returns (loop state, best weights)."""
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads((f.metadata() or {})["checkpoint"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if meta.get("run_id") != run_id:
        raise CheckpointError(f"{path} was written by a different training run (config changed?); "
                              "delete it to start over, or train into a new output directory")
    head.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
    opt_state: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, pid, name = k.split(".", 2)
            opt_state.setdefault(int(pid), {})[name] = v.to(device) if name != "step" else v
    opt.load_state_dict({"state": opt_state, "param_groups": meta["opt_groups"]})
    sched.load_state_dict(meta["sched"] | {"lr_lambdas": [None] * len(opt.param_groups)})
    if scaler is not None and meta.get("scaler"):
        scaler.load_state_dict(meta["scaler"])
    torch.set_rng_state(tensors["rng.torch"])
    gen.set_state(tensors["rng.gen"])
    cuda_states = [tensors[f"rng.cuda.{i}"] for i in range(torch.cuda.device_count()) if f"rng.cuda.{i}" in tensors]
    if cuda_states and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda_states)
    return meta["state"], best
