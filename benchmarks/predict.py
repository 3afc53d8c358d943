"""How fast is `vidtype predict` on a long file, against a naive pipeline and against its own lower bound?

    python benchmarks/predict.py [--minutes 10] [--cache ~/.cache/vidtype/bench] [--runtime auto]

Builds (once, cached) a 720p H.264 clip with GOP 250 and prints, in seconds:
  vidtype      Classifier.classify() end to end (model loaded beforehand), median of 3 runs
  naive        OpenCV decodes every frame, keeps every k-th (16 frames), then the same backbone + head
  lower bound  decoding only the 16 frames vidtype chose (seeking) + the backbone forward of those frames
Targets (issue 2): vidtype >= 10x faster than naive; vidtype <= 1.5x the lower bound.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from vidtype import classifier
from vidtype.decode import decode_at
from vidtype.model import TemporalConfig, TemporalHead
from vidtype.store import Member, Model
from vidtype.transforms import preprocess


def build_clip(path: Path, minutes: float, fps: int = 25, size=(1280, 720), gop: int = 250) -> Path:
    """A long 720p clip of moving shapes over a textured background (cheap to encode, not trivial to decode)."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mp4")
    rng = np.random.default_rng(0)
    w, h = size
    background = cv2.resize(rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8), (w, h))
    n = int(minutes * 60 * fps)
    with av.open(str(tmp), "w") as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"preset": "ultrafast", "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "crf": "30"}
        for i in range(n):
            img = np.roll(background, i * 4, axis=1)
            x = int((i * 7) % (w - 120))
            cv2.rectangle(img, (x, 200), (x + 120, 320), (255, 200 - (i // 250) % 200, 40), -1)
            out.mux(s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
            if i % 1500 == 0:
                print(f"  encoding {i}/{n}", file=sys.stderr)
        out.mux(s.encode())
    tmp.rename(path)
    return path


def naive(path: Path, k_frames: int, clf) -> float:
    """Decode every frame with OpenCV, keep every k-th, then run the backbone and head on the kept frames."""
    t0 = time.perf_counter()
    cap = cv2.VideoCapture(str(path))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    step = max(total // k_frames, 1)
    kept, i = [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i % step == 0 and len(kept) < k_frames:
            kept.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        i += 1
    encoder = next(iter(clf.encoders.values()))
    feats = encoder(preprocess(kept, encoder.info.input_size, clf.device))
    clf.model.members[0].head(feats[None])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "vidtype" / "bench")
    ap.add_argument("--runtime", default="auto", choices=["auto", "torch", "onnx"])
    ap.add_argument("--model", help="model directory (default: a head with random weights; speed is the same)")
    args = ap.parse_args()

    clip = build_clip(args.cache / f"long-{args.minutes:g}min-720p-gop250.mp4", args.minutes)
    if args.model:
        clf = classifier(args.model, runtime=args.runtime)
    else:
        cfg = TemporalConfig(feature_dim=1280)
        clf = classifier(Model("bench", "0", [Member("efficientnet_lite0", cfg, TemporalHead(cfg).eval())]),
                         runtime=args.runtime)
    clf.classify(clip)  # warm-up: ONNX export/session, caches
    runs = [clf.classify(clip) for _ in range(3)]
    ours = statistics.median(r.timings_ms["total"] for r in runs) / 1000
    pred = runs[0]
    times = [f.time_s for f in pred.frames if f.rejected is None]

    t0 = time.perf_counter()
    frames = decode_at(clip, times)
    t_decode = time.perf_counter() - t0
    encoder = next(iter(clf.encoders.values()))
    batch = preprocess([f.image for f in frames], encoder.info.input_size, clf.device)
    t0 = time.perf_counter()
    with torch.inference_mode():
        encoder(batch)
    t_backbone = time.perf_counter() - t0
    bound = t_decode + t_backbone

    t_naive = naive(clip, len(times), clf)

    print(f"clip: {clip.name} ({args.minutes:g} min, 720p, GOP 250); {len(times)} frames; runtime {encoder.runtime}")
    print(f"{'pipeline':<34} {'seconds':>8}")
    print(f"{'vidtype classify (median of 3)':<34} {ours:>8.2f}   stages ms: {pred.timings_ms}")
    print(f"{'naive OpenCV every-k-th':<34} {t_naive:>8.2f}")
    print(f"{'decode sampled frames only':<34} {t_decode:>8.2f}")
    print(f"{'backbone forward only':<34} {t_backbone:>8.2f}")
    print(f"speed-up vs naive: {t_naive / ours:.1f}x (target >= 10x)")
    print(f"vidtype / (decode sampled + backbone): {ours / bound:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
