"""ms per frame of every backbone, torch vs ONNX Runtime on the CPU (batch 16, 2 threads by default; best of
the calls made in --seconds, after warm-up).

    python benchmarks/backbones.py [--batch 16] [--threads 2] [--seconds 3] [names...]

resnet18 runs on random weights when $VIDTYPE_RESNET18_WEIGHTS is not set (speed does not depend on the values).
Backbones whose weight packages are missing are listed as such.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidtype import backbones  # noqa: E402
from vidtype.backbones import resnet18  # noqa: E402
from vidtype.errors import WeightsNotFoundError  # noqa: E402


def ms_per_frame(encoder, x: torch.Tensor, seconds: float) -> float:
    """Fastest of the timed calls (after 2 warm-up calls) of one batch, per frame: the least disturbed by other
    processes on a shared machine (as timeit advises)."""
    for _ in range(2):
        encoder(x)
    times, start = [], time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        encoder(x)
        times.append(time.perf_counter() - t)
    return min(times) / len(x) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", default=backbones.available())
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0, help="time spent per backbone and runtime")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    print(f"batch {args.batch}, {args.threads} threads, torch {torch.__version__}", end="")
    try:
        import onnxruntime

        print(f", onnxruntime {onnxruntime.__version__}")
    except ImportError:
        print(", onnxruntime not installed")
    print(f"{'backbone':<20}{'input':>7}{'dim':>6}{'torch ms/frame':>16}{'onnx ms/frame':>15}{'speed-up':>10}"
          f"{'max|diff|/scale':>17}")
    for name in args.names:
        info = backbones.info(name)
        weights, note = None, ""
        if name == "resnet18" and not os.environ.get(resnet18.ENV):
            weights, note = resnet18.ResNet18().state_dict(), "  (random weights: timing only)"
        x = torch.randn(args.batch, 3, info.input_size, info.input_size).contiguous(memory_format=torch.channels_last)
        try:
            enc_torch = backbones.create(name, weights=weights, runtime="torch")
            enc_onnx = backbones.create(name, weights=weights, runtime="onnx", threads=args.threads)
        except WeightsNotFoundError as e:
            print(f"{name:<20}  weights missing: {str(e)[:80]}")
            continue
        t_torch = ms_per_frame(enc_torch, x, args.seconds)
        t_onnx = ms_per_frame(enc_onnx, x, args.seconds)
        a, b = enc_torch(x), enc_onnx(x)
        diff = float((a - b).abs().max() / a.abs().max())
        print(f"{name:<20}{info.input_size:>7}{info.feature_dim:>6}{t_torch:>16.2f}{t_onnx:>15.2f}"
              f"{t_torch / t_onnx:>9.1f}x{diff:>17.1e}{note}")


if __name__ == "__main__":
    main()
