"""Training: datasets and splits, clip augmentations, the feature cache, the head's training loop, calibration.

    from vidtype.train import train
    model = train("DATA", "runs/m1", "run.yaml", overrides=["optim.epochs=20"])

See runner.py for what the output directory holds, features.py for the cache and its views.
"""

from .config import TrainConfig, load_config
from .features import CLEAN, View, eval_views, extract_features, training_views
from .runner import train

__all__ = ["train", "TrainConfig", "load_config", "extract_features", "View", "CLEAN", "eval_views",
           "training_views"]
