"""Writing an evaluation: metrics.json, report.md, predictions.csv, misclassified.csv and the PNG plots.

Everything is rendered from the metrics dict (and the per-video predictions), so a report can be re-made from
metrics.json alone: `write_markdown(json.load(open("metrics.json")), "report.md")`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from . import plots

PLOTS = {"confusion": "confusion_matrix.png", "reliability": "reliability.png", "f1": "per_class_f1.png",
         "ood": "ood_scores.png"}


def write_report(metrics: dict, predictions: list[dict], out: str | Path,
                 ood_predictions: list[dict] | None = None) -> dict[str, Path]:
    """Write all report files into the directory `out`; returns {what: path}.

    With an "ood" block in `metrics`: also ood_scores.png and (given `ood_predictions`) ood_predictions.csv.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    head = headline(metrics)
    classes = metrics["classes"]
    files = {"metrics": out / "metrics.json", "report": out / "report.md",
             "predictions": out / "predictions.csv", "misclassified": out / "misclassified.csv"}
    files["metrics"].write_text(json.dumps(metrics, indent=2))
    write_predictions(predictions, classes, files["predictions"])
    write_predictions([p for p in predictions if p["predicted"] != p["label"]], classes, files["misclassified"],
                      sort_by_confidence=True)
    files["confusion"] = plots.confusion_matrix_png(head["confusion_matrix"], classes, out / PLOTS["confusion"],
                                                    f"Confusion matrix ({metrics['headline']})")
    files["reliability"] = plots.reliability_png(head["reliability"], out / PLOTS["reliability"], head["ece"],
                                                 f"Reliability ({metrics['headline']})")
    members = metrics["results"]["members"]
    key = metrics["headline"].split("/")[1]
    compare = {f"m{m['index']} {m['backbone']}": m[key]["per_class"] for m in members} if len(members) > 1 else None
    files["f1"] = plots.per_class_f1_png(head["per_class"], out / PLOTS["f1"], compare)
    ood = metrics.get("ood") or {}
    if ood.get("views"):
        block = ood["views"][ood["headline"]]
        files["ood"] = plots.ood_scores_png(block["histograms"], out / PLOTS["ood"], block["scores"],
                                            f"Trust scores: evaluated videos vs OOD ({ood['headline']})")
    if ood_predictions is not None:
        files["ood_predictions"] = write_ood_predictions(ood_predictions, out / "ood_predictions.csv")
    write_markdown(metrics, files["report"], predictions)
    return files


def headline(metrics: dict) -> dict:
    """The metrics block named by metrics["headline"] ("ensemble/tta" or "ensemble/no_tta")."""
    who, key = metrics["headline"].split("/")
    return metrics["results"][who][key]


def write_predictions(predictions: list[dict], classes, path: Path, sort_by_confidence: bool = False) -> Path:
    """One row per video: path, label, predicted, confidence, p_<class>..., then any group columns."""
    rows = sorted(predictions, key=lambda p: -p["confidence"]) if sort_by_confidence else predictions
    extra = sorted({k for p in predictions for k in p.get("groups", {})})
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "predicted", "confidence", "trust", *[f"p_{c}" for c in classes], *extra])
        for p in rows:
            w.writerow([p["path"], p["label"], p["predicted"], f"{p['confidence']:.4f}",
                        f"{p['trust']:.4f}" if "trust" in p else "",
                        *[f"{p['probabilities'][c]:.4f}" for c in classes], *[p.get("groups", {}).get(k, "") for k in extra]])
    return path


def write_ood_predictions(records: list[dict], path: Path) -> Path:
    """One row per OOD video, lowest trust first: path, kind, predicted class, reported label, trust, raw scores."""
    names = sorted({k for r in records for k in r["scores"]})
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "kind", "predicted", "label", "confidence", "trust", *names])
        for r in sorted(records, key=lambda r: r["trust"]):
            w.writerow([r["path"], r["kind"], r["predicted"], r["label"], f"{r['confidence']:.4f}", f"{r['trust']:.4f}",
                        *[f"{r['scores'][n]:.4f}" if n in r["scores"] else "" for n in names]])
    return path


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def write_markdown(metrics: dict, path: str | Path, predictions: list[dict] | None = None, top: int = 15) -> Path:
    """The human-readable report: headline numbers, plots, comparisons, per-class and per-group tables."""
    classes = metrics["classes"]
    head = headline(metrics)
    m, d = metrics["model"], metrics["data"]
    L = [f"# Evaluation of {m['name']} {m['version']}", "",
         f"- data: `{d['source']}`" + (f", split **{d['split']}**" if d.get("split") else ""),
         f"- videos evaluated: **{head['n']}**" + (f" ({len(d['failed'])} could not be decoded, listed below)"
                                                   if d["failed"] else ""),
         f"- model: `{m.get('path')}` — members: {', '.join(m['members'])}; temperature {m['temperature']:.3f}; "
         f"{m['frames']} frames per video",
         f"- headline: **{metrics['headline']}** (features read from the cache; see *How this was measured*)", "",
         "## Summary", ""]
    L += _table(["accuracy", "macro-F1", "ECE", "NLL", "mean confidence"],
                [[_pct(head["accuracy"]), f"{head['macro_f1']:.3f}", f"{head['ece']:.3f}", f"{head['nll']:.3f}",
                  _pct(head["mean_confidence"])]])
    L += [f"![confusion matrix]({PLOTS['confusion']}) ![per-class F1]({PLOTS['f1']})", "",
          f"![reliability diagram]({PLOTS['reliability']})", "", "## Ensemble, members, test-time augmentation", ""]
    rows = []
    for who, block in [("ensemble", metrics["results"]["ensemble"])] + [
            (f"m{x['index']} {x['backbone']}", x) for x in metrics["results"]["members"]]:
        for key in ("no_tta", "tta"):
            if key in block:
                r = block[key]
                rows.append([who, "TTA" if key == "tta" else "no TTA", _pct(r["accuracy"]), f"{r['macro_f1']:.3f}",
                             f"{r['ece']:.3f}"])
    L += _table(["model", "views", "accuracy", "macro-F1", "ECE"], rows)
    L += ["## Per class", ""]
    L += _table(["class", "precision", "recall", "F1", "support"],
                [[c, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"]]
                 for c, v in head["per_class"].items()])
    L += ["## Confusion matrix (rows: true, columns: predicted)", ""]
    L += _table(["true \\ predicted", *classes], [[c, *row] for c, row in zip(classes, head["confusion_matrix"])])
    for column, groups in metrics.get("groups", {}).items():
        L += [f"## By {column}", ""]
        L += _table([column, "videos", "accuracy", "macro-F1", "ECE", *[f"F1 {c}" for c in classes]],
                    [[g, r["n"], _pct(r["accuracy"]), f"{r['macro_f1']:.3f}", f"{r['ece']:.3f}",
                      *[f"{r['per_class'][c]['f1']:.2f}" if r["per_class"][c]["support"] else "–" for c in classes]]
                     for g, r in sorted(groups.items())])
    tr = metrics.get("trust")
    if tr:
        fmt = lambda x: "–" if x is None else _pct(x)  # noqa: E731
        L += ["## Trust", ""]
        L += _table(["threshold", "coverage (labelled)", "accuracy of labelled", "accuracy of unknown",
                     "AUROC right vs wrong", "mean trust"],
                    [[f"{tr['threshold']:.3f}", fmt(tr["coverage"]), fmt(tr["accuracy_kept"]),
                      fmt(tr["accuracy_rejected"]), "–" if tr["auroc_correct"] is None else f"{tr['auroc_correct']:.3f}",
                      f"{tr['mean_trust']:.3f}"]])
    L += _ood_markdown(metrics.get("ood"))
    tp = metrics.get("throughput") or {}
    if tp.get("runs"):
        L += ["## Throughput (`vidtype.classify`, decoding included)", ""]
        L += _table(["views", "videos", "videos/s", "frames/s", "ms/video: decode", "features", "head"],
                    [["TTA" if k == "tta" else "no TTA", r["videos"], f"{r['videos_per_s']:.2f}",
                      f"{r['frames_per_s']:.1f}", f"{r['ms_per_video']['decode']:.0f}",
                      f"{r['ms_per_video']['features']:.0f}", f"{r['ms_per_video']['head']:.1f}"]
                     for k, r in tp["runs"].items()])
        L += [f"Device: {tp.get('device')}, {tp.get('note', '')}", ""]
    if predictions is not None:
        wrong = sorted([p for p in predictions if p["predicted"] != p["label"]], key=lambda p: -p["confidence"])
        L += [f"## Misclassified ({len(wrong)}; most confident first — all in misclassified.csv)", ""]
        L += _table(["video", "true", "predicted", "confidence"],
                    [[f"`{p['path']}`", p["label"], p["predicted"], _pct(p["confidence"])] for p in wrong[:top]])
    if d["failed"]:
        L += ["## Videos that could not be decoded", ""]
        L += _table(["video", "error"], [[f"`{f['path']}`", f["error"]] for f in d["failed"]])
    L += ["## How this was measured", "", metrics.get("method", ""), ""]
    Path(path).write_text("\n".join(L))
    return Path(path)


def _ood_markdown(ood: dict | None) -> list[str]:
    """The "Out-of-distribution" section: per score and combined, kinds, macro-F1 with `unknown`."""
    if not ood:
        return []
    L = ["## Out-of-distribution", "",
         f"- OOD videos: `{ood['source']}` — **{ood['n_evaluated']}** evaluated"
         + (f" ({len(ood['failed'])} could not be decoded: " + ", ".join(f"`{f['path']}`" for f in ood["failed"]) + ")"
            if ood["failed"] else "")]
    if not ood.get("views"):
        return L + [""]
    b = ood["views"][ood["headline"]]
    fmt = lambda x: "–" if x is None else _pct(x)  # noqa: E731
    L += [f"- views: **{ood['headline']}** (trust is fitted on the clean view, as `vidtype predict` runs); threshold "
          f"{b['threshold']:.3f}: **{_pct(b['id_abstained'])}** of the {b['id_n']} evaluated videos abstained "
          f"(`unknown`), **{_pct(b['ood_detected'])}** of the {b['ood_n']} OOD videos detected",
          f"- macro-F1 of the evaluated videos: {b['id_macro_f1']:.3f} -> **{b['id_macro_f1_with_unknown']:.3f}** "
          f"with `unknown` counted as a miss ({100 * (b['id_macro_f1_with_unknown'] - b['id_macro_f1']):+.1f} points); "
          f"{b['id_macro_f1_kept']:.3f} on the videos kept", ""]
    rows = []
    for name, r in b["scores"].items():
        label = "**trust (combined)**" if name == "trust" else name
        weight = "" if r.get("weight") is None else f"{r['weight']:.2f}"
        rows.append([label, weight, f"{r['auroc']:.3f}", _pct(r["fpr95"]), fmt(r.get("id_abstained")),
                     fmt(r.get("ood_labelled"))])
    L += _table(["score", "weight", "AUROC", "FPR at 95% TPR", "evaluated videos abstained",
                 "OOD videos still labelled"], rows)
    L += ["AUROC and FPR: evaluated videos vs OOD videos; FPR at 95% TPR uses the threshold that keeps 95% of the "
          "evaluated videos (for trust, both rank the combined score: trust itself, a validation CDF, ties at 0). "
          "The last two columns use the threshold fitted on validation videos (the model's for trust; the same kept "
          "share for each single score).", "", f"![OOD score distributions]({PLOTS['ood']})", ""]
    L += _table(["OOD kind", "videos", "detected", "mean trust"],
                [[k, r["n"], _pct(r["detected"]), f"{r['mean_trust']:.3f}"] for k, r in b["by_kind"].items()])
    for key, other in ood["views"].items():
        if key != ood["headline"]:
            t = other["scores"]["trust"]
            L += [f"With {key}: trust AUROC {t['auroc']:.3f}, FPR at 95% TPR {_pct(t['fpr95'])}, "
                  f"{_pct(other['id_abstained'])} of evaluated videos abstained, {_pct(other['ood_detected'])} of OOD "
                  "videos detected (the reference and threshold were fitted on clean views).", ""]
    return L
