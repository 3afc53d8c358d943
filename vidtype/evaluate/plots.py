"""PNG plots of an evaluation: confusion matrix, reliability diagram, per-class F1 (matplotlib, no display).

Each function takes the plain numbers of metrics.json and writes one PNG; figures are built with
`matplotlib.figure.Figure` (not pyplot), so nothing global is touched and no display is needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _figure(w: float, h: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=110, layout="constrained")


def confusion_matrix_png(cm, classes, path: str | Path, title: str = "Confusion matrix") -> Path:
    """Row-normalised colours (recall per true class) with the raw counts written in each cell."""
    cm = np.asarray(cm, dtype=float)
    rows = cm.sum(1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig = _figure(2.0 + 1.1 * len(classes), 1.2 + 1.0 * len(classes))
    ax = fig.add_subplot()
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{int(cm[i, j])}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=9,
                    color="white" if share[i, j] > 0.55 else "black")
    fig.colorbar(im, ax=ax, shrink=0.8, label="share of the true class")
    fig.savefig(path, bbox_inches="tight")
    return Path(path)


def reliability_png(reliability: dict, path: str | Path, ece: float | None = None, title: str = "Reliability") -> Path:
    """Accuracy against confidence per bin (bars) with the diagonal of perfect calibration; counts below."""
    edges = np.asarray(reliability["edges"])
    centres, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    count = np.asarray(reliability["count"])
    acc, conf = np.asarray(reliability["accuracy"]), np.asarray(reliability["confidence"])
    fig = _figure(5, 5.6)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    has = count > 0
    top.bar(centres[has], acc[has], width=width[has] * 0.95, color="#4c72b0", edgecolor="white", label="accuracy")
    top.bar(centres[has], np.abs(conf[has] - acc[has]), bottom=np.minimum(acc[has], conf[has]),
            width=width[has] * 0.95, color="#d62728", alpha=0.3, hatch="//", edgecolor="#d62728",
            label="gap to mean confidence")
    top.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.legend(loc="upper left", fontsize=8)
    top.set_title(title + (f"  (ECE {ece:.3f})" if ece is not None else ""))
    bottom.bar(centres, count, width=width * 0.95, color="#8c8c8c")
    bottom.set_xlim(0, 1)
    bottom.set_xlabel("confidence (probability of the predicted class)")
    bottom.set_ylabel("videos")
    fig.savefig(path, bbox_inches="tight")
    return Path(path)


def per_class_f1_png(per_class: dict, path: str | Path, compare: dict[str, dict] | None = None,
                     title: str = "Per-class precision, recall and F1") -> Path:
    """Grouped bars of precision / recall / F1 per class; `compare` adds F1 markers of other runs (members)."""
    classes = list(per_class)
    x = np.arange(len(classes))
    fig = _figure(1.8 + 1.4 * len(classes), 4.2)
    ax = fig.add_subplot()
    for k, (key, colour) in enumerate([("precision", "#9ecae1"), ("recall", "#4292c6"), ("f1", "#08519c")]):
        vals = [per_class[c][key] for c in classes]
        bars = ax.bar(x + (k - 1) * 0.27, vals, width=0.26, color=colour, label=key)
        if key == "f1":
            ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=2)
    for name, pc in (compare or {}).items():
        ax.scatter(x + 0.27, [pc[c]["f1"] for c in classes], marker="_", s=260, linewidths=2, label=f"F1 {name}",
                   zorder=3)
    ax.set_xticks(x, classes)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("score")
    ax.set_title(title)
    ax.legend(fontsize=8, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.06) if compare else (0.5, 0.0))
    fig.savefig(path, bbox_inches="tight")
    return Path(path)


def ood_scores_png(histograms: dict[str, dict], path: str | Path, summary: dict | None = None,
                   title: str = "Scores of in-distribution and out-of-distribution videos") -> Path:
    """One panel per score: the share of in-distribution and of OOD videos per bin (from metrics.json's
    histograms: shared `edges`, `id` and `ood` counts, `threshold`), the threshold fitted on validation dashed."""
    names = list(histograms)
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig = _figure(4.0 * cols, 2.9 * rows + 0.4)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, name in zip(axes, names):
        h = histograms[name]
        edges = np.asarray(h["edges"])
        for key, colour, label in (("id", "#4c72b0", "in-distribution"), ("ood", "#d62728", "out-of-distribution")):
            counts = np.asarray(h[key], float)
            share = counts / max(counts.sum(), 1)
            ax.stairs(share, edges, fill=True, alpha=0.35, color=colour, label=f"{label} ({int(counts.sum())})")
            ax.stairs(share, edges, color=colour)
        if h.get("threshold") is not None and edges[0] <= h["threshold"] <= edges[-1]:
            ax.axvline(h["threshold"], color="black", linestyle="--", linewidth=1, label="threshold")
        s = (summary or {}).get(name, {})
        extra = f"  AUROC {s['auroc']:.3f}, FPR95 {s['fpr95']:.0%}" if "auroc" in s else ""
        ax.set_title(("trust (combined)" if name == "trust" else name) + extra, fontsize=9)
        ax.set_ylabel("share of videos", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(title + "  (higher = more in-distribution; outer bins hold the outliers)", fontsize=10)
    fig.savefig(path, bbox_inches="tight")
    return Path(path)
