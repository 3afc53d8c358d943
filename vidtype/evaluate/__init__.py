"""Evaluation: metrics (metrics.py), the report files (report.py) and plots (plots.py) for a trained model.

    from vidtype.evaluate import evaluate
    metrics = evaluate("DATA", "runs/m1", split="test", group_by=["source_format"], out="runs/m1/eval")

This module imports nothing heavy itself (the training loop imports `evaluate.metrics`); see runner.py.
"""

from __future__ import annotations


def evaluate(data, model, **kwargs) -> dict:
    """Evaluate a model on a labelled dataset; see `vidtype.evaluate.runner.evaluate` for the arguments."""
    from .runner import evaluate as run

    return run(data, model, **kwargs)


__all__ = ["evaluate"]
