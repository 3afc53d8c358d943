"""Test helpers for the batch tests (conftest's `batch_model_dir` and `batch_videos`): a tiny fast model and a
small collection of videos with one bad file.

    make_tiny_model(tmp / "m")          # the tiny_test backbone (registered here) + a random temporal head
    make_collection(tmp / "videos")     # 8 synthetic clips of 4 kinds, a 320x240 .mkv, bad.mp4, notes.txt
"""

from __future__ import annotations

from pathlib import Path

import torch

from videos import make_random_bytes, make_video
from vidtype.model import TemporalConfig, TemporalHead
from vidtype.store import Member, Model, save_model
from vidtype.train.synthetic import make_dataset, register_tiny_backbone


def make_tiny_model(path: Path, frames: int = 8) -> Path:
    """A model on the tiny random CNN backbone (46 features): fast, for tests of batching and bookkeeping."""
    name = register_tiny_backbone()
    torch.manual_seed(0)
    cfg = TemporalConfig(feature_dim=46, hidden=16, heads=2)
    return save_model(Model("tiny", "0", [Member(name, cfg, TemporalHead(cfg))], frames=frames), path)


def make_collection(root: Path) -> Path:
    """A folder of videos to batch: valid clips in sub-folders, one of another size and container, one broken
    file, and a file that is not a video by its extension (ignored)."""
    make_dataset(root, per_class=2)
    (root / "other").mkdir()
    make_video(root / "other" / "wide.mkv", seconds=1.5, size=(320, 240))
    make_random_bytes(root / "other" / "bad.mp4")
    (root / "other" / "notes.txt").write_text("not a video")
    return root
