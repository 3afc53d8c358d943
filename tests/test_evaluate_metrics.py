"""Evaluation numbers against a hand-computed confusion matrix, and the report files."""

import json

import numpy as np
import pytest

from vidtype.evaluate import metrics as M
from vidtype.evaluate.report import write_report

CLASSES = ("animation", "gaming", "natural", "flat")
#            true:   a  a  a  a  g  g  g  n  n  f
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 3])
Y_PRED = np.array([0, 0, 0, 1, 1, 1, 2, 2, 0, 3])
CONF = np.array([0.9, 0.8, 0.7, 0.6, 0.95, 0.85, 0.55, 0.65, 0.75, 0.99])


def probs_for(y_pred, conf):
    p = np.tile(((1 - conf) / 3)[:, None], (1, 4))
    p[np.arange(len(y_pred)), y_pred] = conf
    return p


def test_against_a_hand_computed_confusion_matrix():
    m = M.classification_metrics(Y_TRUE, probs_for(Y_PRED, CONF), CLASSES)
    assert m["confusion_matrix"] == [[3, 1, 0, 0], [0, 2, 1, 0], [1, 0, 1, 0], [0, 0, 0, 1]]
    assert m["accuracy"] == pytest.approx(7 / 10)
    # animation: P = 3/4, R = 3/4; gaming: P = 2/3, R = 2/3; natural: P = 1/2, R = 1/2; flat: 1, 1
    pc = m["per_class"]
    assert (pc["animation"]["precision"], pc["animation"]["recall"]) == (pytest.approx(0.75), pytest.approx(0.75))
    assert pc["gaming"]["f1"] == pytest.approx(2 / 3) and pc["natural"]["f1"] == pytest.approx(0.5)
    assert pc["flat"]["f1"] == 1.0 and pc["animation"]["support"] == 4
    assert m["macro_f1"] == pytest.approx((0.75 + 2 / 3 + 0.5 + 1.0) / 4)
    # ECE with 10 bins: bins (0.5,0.6]: 0.55 wrong, 0.6 wrong; (0.6,0.7]: 0.65 ok, 0.7 ok; (0.7,0.8]: 0.75 wrong,
    # 0.8 ok; (0.8,0.9]: 0.85 ok, 0.9 ok; (0.9,1]: 0.95 ok, 0.99 ok
    gaps = [2 * abs(0 - 0.575), 2 * abs(1 - 0.675), 2 * abs(0.5 - 0.775), 2 * abs(1 - 0.875), 2 * abs(1 - 0.97)]
    assert m["ece"] == pytest.approx(sum(gaps) / 10)
    assert m["nll"] == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.7, 0.4 / 3, 0.95, 0.85, 0.45 / 3, 0.65, 0.25 / 3, 0.99])))


def test_matches_scikit_learn():
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    m = M.classification_metrics(y, probs_for(p, np.full(200, 0.7)), CLASSES)
    assert m["confusion_matrix"] == confusion_matrix(y, p, labels=range(4)).tolist()
    assert m["accuracy"] == pytest.approx(accuracy_score(y, p))
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    prec, rec, f1, _ = precision_recall_fscore_support(y, p, labels=range(4), zero_division=0)
    assert [m["per_class"][c]["recall"] for c in CLASSES] == pytest.approx(rec.tolist())


def test_absent_classes_and_empty_input():
    m = M.classification_metrics([0, 0, 1], probs_for(np.array([0, 0, 1]), np.full(3, 0.9)), CLASSES)
    assert m["macro_f1"] == 1.0  # natural and flat neither occur nor are predicted
    empty = M.classification_metrics([], np.zeros((0, 4)), CLASSES)
    assert empty["n"] == 0 and empty["accuracy"] == 0.0


def fake_metrics():
    block = M.classification_metrics(Y_TRUE, probs_for(Y_PRED, CONF), CLASSES)
    return {"classes": list(CLASSES), "headline": "ensemble/tta",
            "model": {"name": "t", "version": "1", "path": "/m", "members": ["a", "b"], "temperature": 1.3, "frames": 16},
            "data": {"source": "/d", "split": "test", "n_videos": 11, "n_evaluated": 10,
                     "failed": [{"path": "bad.mp4", "error": "not_a_video: empty file"}]},
            "results": {"ensemble": {"no_tta": block, "tta": block},
                        "members": [{"index": 0, "backbone": "a", "no_tta": block, "tta": block},
                                    {"index": 1, "backbone": "b", "no_tta": block, "tta": block}]},
            "groups": {"source_format": {"gif": block, "video": block}},
            "throughput": {"device": "cpu", "runs": {"no_tta": {"videos": 2, "seconds": 1.0, "videos_per_s": 2.0,
                                                                "frames_per_s": 32.0,
                                                                "ms_per_video": {"decode": 300, "features": 190,
                                                                                 "head": 2}}}},
            "trust": {"threshold": 0.1, "coverage": 0.9, "accuracy_kept": 0.75, "accuracy_rejected": 0.0,
                      "auroc_correct": 0.8, "mean_trust": 0.5},
            "method": "hand-made"}


def test_report_files(tmp_path):
    preds = [{"path": f"v{i}.mp4", "label": CLASSES[t], "predicted": CLASSES[p], "confidence": float(c),
              "probabilities": dict(zip(CLASSES, probs_for(np.array([p]), np.array([c]))[0].tolist())),
              "groups": {"source_format": "gif" if i % 2 else "video"}}
             for i, (t, p, c) in enumerate(zip(Y_TRUE, Y_PRED, CONF))]
    files = write_report(fake_metrics(), preds, tmp_path)
    assert json.loads(files["metrics"].read_text())["results"]["ensemble"]["tta"]["accuracy"] == pytest.approx(0.7)
    for key in ("confusion", "reliability", "f1"):
        data = files[key].read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, key
        import cv2

        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and min(img.shape[:2]) > 200
    wrong = files["misclassified"].read_text().splitlines()
    assert wrong[0].startswith("path,label,predicted,confidence,trust,p_animation")
    assert len(wrong) == 1 + 3 and wrong[1].startswith("v8.mp4,natural,animation,0.7500,")  # most confident first
    assert len(files["predictions"].read_text().splitlines()) == 11
    md = files["report"].read_text()
    assert "| 70.0% | 0.729 |" in md and "## By source_format" in md and "bad.mp4" in md
    assert "![confusion matrix](confusion_matrix.png)" in md and "## Trust" in md


def test_auroc_and_trust_metrics():
    from vidtype.evaluate.runner import auroc, trust_metrics

    assert auroc(np.array([0.9, 0.8, 0.1]), np.array([True, True, False])) == 1.0
    assert auroc(np.array([0.5, 0.5]), np.array([True, False])) == 0.5
    assert auroc(np.array([0.5]), np.array([True])) is None
    m = trust_metrics(np.array([0.9, 0.8, 0.2, 0.05]), np.array([True, False, True, False]), threshold=0.1)
    assert m["coverage"] == 0.75 and m["accuracy_kept"] == pytest.approx(2 / 3) and m["accuracy_rejected"] == 0.0
