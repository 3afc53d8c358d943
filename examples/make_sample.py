"""Render examples/sample.mp4: a 6-second screen recording of a terminal scrolling real text (flat content).

Generated, not recorded, so it can ship with the package under the project's licence:
    python examples/make_sample.py examples/sample.mp4
"""

import sys
from pathlib import Path

import av
import cv2
import numpy as np

SOURCE = Path(__file__).resolve().parent.parent / "vidtype" / "model.py"  # any real text will do


def render(path: str, seconds: float = 6.0, fps: int = 25, size=(854, 480)) -> None:
    w, h = size
    lines = SOURCE.read_text().splitlines()
    line_h, visible = 22, (h - 40) // 22
    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "28", "preset": "veryslow"}
        for i in range(int(seconds * fps)):
            img = np.full((h, w, 3), (30, 30, 36), np.uint8)
            cv2.rectangle(img, (0, 0), (w, 28), (60, 60, 70), -1)
            cv2.putText(img, "user@host: ~/vidtype", (10, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (220, 220, 220), 1, cv2.LINE_AA)
            first = i // 3  # scroll one line every 3 frames
            for k, text in enumerate(lines[first:first + visible]):
                y = 50 + k * line_h
                colour = (120, 200, 120) if text.lstrip().startswith(("def ", "class ")) else (210, 210, 210)
                cv2.putText(img, text[:90], (12, y), cv2.FONT_HERSHEY_PLAIN, 1.1, colour, 1, cv2.LINE_AA)
            if i % fps < fps // 2:  # blinking cursor
                cv2.rectangle(img, (12, h - 18), (22, h - 4), (220, 220, 220), -1)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


if __name__ == "__main__":
    render(sys.argv[1] if len(sys.argv) > 1 else "examples/sample.mp4")
