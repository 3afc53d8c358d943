"""A small protobuf wire-format reader for tf.train.Example and tf.train.SequenceExample.

The messages involved (tensorflow/core/example/{example,feature}.proto):

    Example          { Features features = 1; }
    SequenceExample  { Features context = 1; FeatureLists feature_lists = 2; }
    Features         { map<string, Feature> feature = 1; }
    FeatureLists     { map<string, FeatureList> feature_list = 1; }
    FeatureList      { repeated Feature feature = 1; }
    Feature          { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
    BytesList        { repeated bytes value = 1; }
    FloatList        { repeated float value = 1 [packed = true]; }
    Int64List        { repeated int64 value = 1 [packed = true]; }

A map entry is a message { key = 1; value = 2; }. Both top-level messages keep their features in field 1, so
`parse_example` reads either one. Values come back as `list[bytes]`, `list[int]` or float32 numpy arrays.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .errors import RecordError

Value = list  # list[bytes] | list[int]; float lists are np.ndarray


@dataclass
class ParsedExample:
    """The features of one record: `context` (Example.features or SequenceExample.context) and, for a
    SequenceExample, `feature_lists` ({name: one value per step})."""

    context: dict[str, Value | np.ndarray] = field(default_factory=dict)
    feature_lists: dict[str, list] = field(default_factory=dict)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise RecordError("malformed protobuf: truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise RecordError("malformed protobuf: varint longer than 10 bytes")


def _fields(buf: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, int | tuple[int, int]]]:
    """(field number, wire type, value) for each field in buf[start:end]; a length-delimited value is given
    as its (start, end) span, a varint as its int, a fixed32/fixed64 as its span."""
    end = len(buf) if end is None else end
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, wire, value
            continue
        if wire == 2:
            n, pos = _varint(buf, pos)
            span = (pos, pos + n)
        elif wire == 5:
            span = (pos, pos + 4)
        elif wire == 1:
            span = (pos, pos + 8)
        else:
            raise RecordError(f"malformed protobuf: unsupported wire type {wire}")
        if span[1] > end:
            raise RecordError("malformed protobuf: field runs past the end of its message")
        yield number, wire, span
        pos = span[1]
    if pos != end:
        raise RecordError("malformed protobuf: message runs past its length")


def _spans(buf: bytes, start: int, end: int, number: int) -> Iterator[tuple[int, int]]:
    """The (start, end) spans of the length-delimited fields numbered `number` in buf[start:end]."""
    for n, wire, value in _fields(buf, start, end):
        if n == number and wire == 2:
            yield value


def _int64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def parse_feature(buf: bytes, start: int, end: int) -> Value | np.ndarray:
    """One tf.train.Feature: list[bytes], float32 array or list[int] (an empty Feature: [])."""
    for number, wire, span in _fields(buf, start, end):
        if wire != 2:
            continue
        s, e = span
        if number == 1:
            return [buf[a:b] for a, b in _spans(buf, s, e, 1)]
        if number == 2:
            parts = []
            for n, w, v in _fields(buf, s, e):
                if n == 1 and w in (2, 5):  # packed (wire 2) or one fixed32 (wire 5): raw little-endian floats
                    if (v[1] - v[0]) % 4:
                        raise RecordError("malformed protobuf: a packed float list is not a multiple of 4 bytes")
                    parts.append(np.frombuffer(buf[v[0]:v[1]], dtype="<f4"))
            return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
        if number == 3:
            out = []
            for n, w, v in _fields(buf, s, e):
                if n != 1:
                    continue
                if w == 0:
                    out.append(_int64(v))
                elif w == 2:
                    pos, stop = v
                    while pos < stop:
                        x, pos = _varint(buf, pos)
                        out.append(_int64(x))
            return out
    return []


def _map_entries(buf: bytes, start: int, end: int) -> Iterator[tuple[str, tuple[int, int]]]:
    """(key, value span) of each entry of a map<string, message> kept in field 1 of buf[start:end]."""
    for span in _spans(buf, start, end, 1):
        key, value = "", (span[0], span[0])
        for n, w, v in _fields(buf, *span):
            if n == 1 and w == 2:
                key = buf[v[0]:v[1]].decode("utf-8", "replace")
            elif n == 2 and w == 2:
                value = v
        yield key, value


def parse_example(buf: bytes, *, feature_lists: bool | set[str] = True) -> ParsedExample:
    """Parse a serialised Example or SequenceExample.

    `feature_lists`: True reads every feature list, False none (the context alone is much cheaper), a set of
    names only those.
    """
    out = ParsedExample()
    for number, wire, span in _fields(buf):
        if wire != 2:
            continue
        if number == 1:
            for key, (a, b) in _map_entries(buf, *span):
                out.context[key] = parse_feature(buf, a, b)
        elif number == 2 and feature_lists:
            for key, (a, b) in _map_entries(buf, *span):
                if feature_lists is True or key in feature_lists:
                    out.feature_lists[key] = [parse_feature(buf, fa, fb) for fa, fb in _spans(buf, a, b, 1)]
    return out
