"""Small YouTube-8M files in the real formats, written independently of vidtype.yt8m (for its tests).

    write_vocabulary(tmp / "vocabulary.csv")
    write_tfrecord(tmp / "train00.tfrecord", [frame_record("ab12", [2, 1], rgb, audio), ...])

The TFRecord writer and the protobuf encoder are hand-written here from the format descriptions (a bitwise
CRC-32C, not vidtype's table), so the reader is checked against a second implementation.
"""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import numpy as np

# ---- TFRecord framing --------------------------------------------------------------------------------------------


def crc32c_bitwise(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def masked(data: bytes) -> int:
    crc = crc32c_bitwise(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """One record as it lies on disk."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked(length)) + data + struct.pack("<I", masked(data))


def write_tfrecord(path: Path, records: list[bytes]) -> Path:
    Path(path).write_bytes(b"".join(frame(r) for r in records))
    return Path(path)


# ---- protobuf wire format ----------------------------------------------------------------------------------------


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64: two's complement, 10 bytes
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def bytes_feature(values: list[bytes]) -> bytes:
    return field(1, b"".join(field(1, v) for v in values))


def int64_feature(values: list[int], packed: bool = True) -> bytes:
    if packed:
        body = field(1, b"".join(varint(v) for v in values))
    else:
        body = b"".join(varint(1 << 3 | 0) + varint(v) for v in values)
    return field(3, body)


def float_feature(values) -> bytes:
    return field(2, field(1, np.asarray(values, "<f4").tobytes()))


def features(named: dict[str, bytes]) -> bytes:
    """A Features message (map<string, Feature>): one entry per name."""
    return b"".join(field(1, field(1, k.encode()) + field(2, v)) for k, v in named.items())


def feature_lists(named: dict[str, list[bytes]]) -> bytes:
    return b"".join(field(1, field(1, k.encode()) + field(2, b"".join(field(1, f) for f in fl)))
                    for k, fl in named.items())


def frame_record(vid: str, labels: list[int], rgb: np.ndarray, audio: np.ndarray | None, packed: bool = True) -> bytes:
    """A frame-level SequenceExample: context id, labels; feature lists rgb and audio (one bytes entry per second)."""
    ctx = features({"id": bytes_feature([vid.encode()]), "labels": int64_feature(labels, packed)})
    lists = {"rgb": [bytes_feature([row.tobytes()]) for row in rgb]}
    if audio is not None:
        lists["audio"] = [bytes_feature([row.tobytes()]) for row in audio]
    return field(1, ctx) + field(2, feature_lists(lists))


def video_record(vid: str, labels: list[int], mean_rgb=None) -> bytes:
    """A video-level Example: id, labels, mean_rgb, mean_audio."""
    rgb = np.zeros(1024) if mean_rgb is None else mean_rgb
    return field(1, features({"id": bytes_feature([vid.encode()]), "labels": int64_feature(labels),
                              "mean_rgb": float_feature(rgb), "mean_audio": float_feature(np.zeros(128))}))


# ---- vocabulary and synthetic videos -----------------------------------------------------------------------------

# Index, Name, Vertical1, Vertical2, WikiDescription
VOCAB = [
    (0, "Game", "Games", "", "A game is a structured form of play."),
    (1, "Video game", "Games", "", "A video game is an electronic game, played on a screen."),
    (2, "Minecraft", "Games", "", "Minecraft is a sandbox video game developed by Mojang."),
    (3, "Animation", "Arts & Entertainment", "", "Animation is a method in which pictures are manipulated."),
    (4, "Cartoon", "Arts & Entertainment", "", "A cartoon is a type of illustration, sometimes animated."),
    (5, "Naruto", "Arts & Entertainment", "Books & Literature",
     "Naruto is a Japanese manga series, adapted into an anime television series, by Masashi Kishimoto."),
    (6, "Nature", "Science", "", "Nature, in the broadest sense, is the natural, physical, or material world."),
    (7, "Dog", "Pets & Animals", "", "The domestic dog is a member of the genus Canis."),
    (8, "Slide show", "Computers & Electronics", "", "A slide show is a presentation of a series of images."),
    (9, "Video lesson", "Jobs & Education", "", "A video lesson is a video that presents educational material."),
    (10, "Car", "Autos & Vehicles", "", "A car is a wheeled motor vehicle used for transportation."),
    (11, "Chess", "Games", "", "Chess is a two-player strategy board game, played on a checkered board."),
    (12, "Music", "Arts & Entertainment", "", "Music is an art form whose medium is sound."),
    (13, "Pokémon", "Games", "Arts & Entertainment", "Pokémon is a media franchise: video games, anime, cards."),
    (14, "Starfall Saga", "Arts & Entertainment", "",
     "Starfall Saga is a 2016 action role-playing video game developed by an independent studio."),
    (15, "Personal computer", "Computers & Electronics", "", "A personal computer is a multi-purpose computer."),
]
CLASS_LABELS = {"gaming": [[0, 1], [2, 0, 1], [14], [1, 12]], "animation": [[3], [4, 3], [5], [3, 12]],
                "natural": [[6], [7], [6, 10], [7, 12]], "flat": [[8], [9], [15, 9], [8, 12]]}


def write_vocabulary(path: Path, rows=VOCAB) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Index", "TrainVideoCount", "KnowledgeGraphId", "Name", "WikiUrl", "Vertical1", "Vertical2",
                    "Vertical3", "WikiDescription"])
        for index, name, v1, v2, desc in rows:
            w.writerow([index, 1000 - index, f"/m/0test{index}", name, f"https://en.wikipedia.org/wiki/{index}",
                        v1, v2 or "(Unknown)", "", desc])
    return Path(path)


def synthetic_videos(per_class: int, seconds=(12, 40), seed: int = 0) -> list[tuple]:
    """(id, class, labels, rgb (n,1024) uint8, audio (n,128) uint8) with class-dependent feature means."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 1, (4, 1152))
    out = []
    for c, (cls, label_sets) in enumerate(CLASS_LABELS.items()):
        for k in range(per_class):
            n = int(rng.integers(*seconds))
            x = 0.3 * means[c] + rng.normal(0, 1, (n, 1152))  # in dequantised units (range [-2, 2])
            q = np.clip(np.round((x + 2) * 255 / 4), 0, 255).astype(np.uint8)
            vid = f"{cls[:2]}{k:02d}"
            out.append((vid, cls, label_sets[k % len(label_sets)], q[:, :1024], q[:, 1024:]))
    return out
