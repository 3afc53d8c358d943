"""Classification metrics from labels and probabilities, in plain numpy (easy to check by hand).

    m = classification_metrics(y_true, probs, classes)
    m["accuracy"], m["macro_f1"], m["per_class"]["gaming"]["recall"], m["confusion_matrix"], m["ece"]

Conventions: `confusion_matrix[i][j]` counts videos of true class i predicted as class j. Precision, recall or F1
of a class with no support and no prediction is 0 (it is still counted in the macro average, as scikit-learn
does with zero_division=0); a class absent from both the labels and the predictions is left out of the macro
average.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """(C, C) int counts: rows are true classes, columns predicted classes."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def per_class(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class from a confusion matrix."""
    tp = np.diag(cm).astype(float)
    predicted, support = cm.sum(0).astype(float), cm.sum(1).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(int)}


def macro_f1(y_true, y_pred, n_classes: int) -> float:
    """Mean F1 over the classes that occur in the labels or the predictions."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    present = (cm.sum(0) + cm.sum(1)) > 0
    return float(per_class(cm)["f1"][present].mean()) if present.any() else 0.0


def reliability(confidence, correct, n_bins: int = 10) -> dict[str, list]:
    """Equal-width confidence bins: count, mean confidence and accuracy of each (for ECE and the diagram)."""
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    conf = np.bincount(idx, weights=confidence, minlength=n_bins)
    acc = np.bincount(idx, weights=correct, minlength=n_bins)
    nz = count > 0
    return {"edges": edges.tolist(), "count": count.tolist(),
            "confidence": np.where(nz, conf / np.maximum(count, 1), 0.0).tolist(),
            "accuracy": np.where(nz, acc / np.maximum(count, 1), 0.0).tolist()}


def expected_calibration_error(confidence, correct, n_bins: int = 10) -> float:
    """ECE: the count-weighted mean |accuracy - confidence| over equal-width confidence bins."""
    r = reliability(confidence, correct, n_bins)
    n = max(sum(r["count"]), 1)
    return float(sum(c * abs(a - p) for c, a, p in zip(r["count"], r["accuracy"], r["confidence"])) / n)


def classification_metrics(y_true, probs, classes, n_bins: int = 10) -> dict:
    """Everything the report shows for one set of predictions (probs: (N, C) rows summing to 1)."""
    y_true = np.asarray(y_true, int)
    probs = np.asarray(probs, float).reshape(len(y_true), len(classes))
    y_pred = probs.argmax(1) if len(y_true) else np.zeros(0, int)
    cm = confusion_matrix(y_true, y_pred, len(classes))
    pc = per_class(cm)
    present = (cm.sum(0) + cm.sum(1)) > 0
    confidence = probs.max(1) if len(y_true) else np.zeros(0)
    correct = y_pred == y_true
    eps = 1e-12
    nll = float(-np.log(np.clip(probs[np.arange(len(y_true)), y_true], eps, 1.0)).mean()) if len(y_true) else 0.0
    return {
        "n": int(len(y_true)),
        "accuracy": float(correct.mean()) if len(y_true) else 0.0,
        "macro_f1": float(pc["f1"][present].mean()) if present.any() else 0.0,
        "per_class": {c: {"precision": float(pc["precision"][i]), "recall": float(pc["recall"][i]),
                          "f1": float(pc["f1"][i]), "support": int(pc["support"][i])} for i, c in enumerate(classes)},
        "confusion_matrix": cm.tolist(),
        "ece": expected_calibration_error(confidence, correct, n_bins),
        "nll": nll,
        "mean_confidence": float(confidence.mean()) if len(y_true) else 0.0,
        "reliability": reliability(confidence, correct, n_bins),
    }
