"""TFRecord files without TensorFlow: record framing and its CRC32C checksums.

Each record on disk is

    uint64 length | uint32 masked_crc32c(length bytes) | data[length] | uint32 masked_crc32c(data)

all little-endian. `read_records(path)` yields `(offset, data)` and checks both checksums; `read_record_at(f,
offset)` reads one record again later (training reads the records it chose by their offsets). The CRC uses
`google_crc32c` or `crc32c` when one of them is installed, else a table-driven pure-Python fallback (correct,
about 100x slower: `pip install google-crc32c` before reading the full dataset).
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import RecordError

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8


def _table() -> list[int]:
    poly, table = 0x82F63B78, []  # Castagnoli polynomial, reflected
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _table()


def crc32c_py(data: bytes, crc: int = 0) -> int:
    """CRC-32C (Castagnoli) of `data`, pure Python."""
    crc ^= 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _fast_crc32c():
    try:
        import google_crc32c

        if google_crc32c.implementation == "c":
            return lambda data: google_crc32c.value(bytes(data))
    except (ImportError, AttributeError):
        pass
    try:
        import crc32c as _crc32c

        return lambda data: _crc32c.crc32c(data)
    except ImportError:
        return None


_FAST = _fast_crc32c()
_HINTED = False


def crc32c(data: bytes) -> int:
    """CRC-32C of `data` (a C implementation when installed, else `crc32c_py`)."""
    return _FAST(data) if _FAST is not None else crc32c_py(data)


def masked_crc(data: bytes) -> int:
    """The TFRecord checksum: CRC-32C rotated right by 15 bits plus a constant (mod 2^32)."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def _read_one(f: BinaryIO, offset: int, verify: bool, name: str) -> bytes | None:
    """The record starting at `offset` (f positioned there), or None at a clean end of file."""
    header = f.read(_HEADER.size)
    if not header:
        return None
    if len(header) < _HEADER.size:
        raise RecordError(f"{name}: truncated record header at byte {offset}")
    length, length_crc = _HEADER.unpack(header)
    if verify and masked_crc(header[:8]) != length_crc:
        raise RecordError(f"{name}: bad length checksum at byte {offset} (corrupt file or not a TFRecord file)")
    data = f.read(length)
    footer = f.read(_FOOTER.size)
    if len(data) < length or len(footer) < _FOOTER.size:
        raise RecordError(f"{name}: truncated record at byte {offset} ({length} bytes announced)")
    if verify and masked_crc(data) != _FOOTER.unpack(footer)[0]:
        raise RecordError(f"{name}: bad data checksum in the record at byte {offset}")
    return data


def read_records(path: str | Path, *, verify: bool = True) -> Iterator[tuple[int, bytes]]:
    """Yield `(offset, data)` for every record of a TFRecord file, checking the checksums unless told not to."""
    global _HINTED
    if verify and _FAST is None and not _HINTED and os.path.getsize(path) > 50 << 20:
        _HINTED = True
        log.warning("checking TFRecord CRCs in pure Python (~10 MB/s): pip install google-crc32c to speed it up")
    with open(path, "rb") as f:
        offset = 0
        while (data := _read_one(f, offset, verify, str(path))) is not None:
            yield offset, data
            offset += _HEADER.size + len(data) + _FOOTER.size


def read_record_at(f: BinaryIO, offset: int, *, verify: bool = True) -> bytes:
    """The record at byte `offset` of the open (binary) TFRecord file `f`."""
    f.seek(offset)
    data = _read_one(f, offset, verify, getattr(f, "name", "TFRecord"))
    if data is None:
        raise RecordError(f"{getattr(f, 'name', 'TFRecord')}: no record at byte {offset} (end of file)")
    return data
