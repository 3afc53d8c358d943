"""YouTube-8M records without TensorFlow: TFRecord framing and CRCs, the protobuf parser, dequantisation."""

import numpy as np
import pytest

from vidtype.train.features import CLEAN, View
from vidtype.yt8m.errors import RecordError
from vidtype.yt8m.features import dequantize, sample_positions, sample_views, video_from_record
from vidtype.yt8m.proto import parse_example
from vidtype.yt8m.tfrecord import crc32c, crc32c_py, masked_crc, read_record_at, read_records
from yt8m_data import crc32c_bitwise, frame_record, masked, video_record, write_tfrecord


def test_crc32c_matches_the_standard_check_values():
    assert crc32c_py(b"123456789") == 0xE3069283  # RFC 3720 / iSCSI check value
    assert crc32c_py(bytes(32)) == 0x8A9136AA
    assert crc32c(b"123456789") == 0xE3069283
    data = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    assert crc32c_py(data) == crc32c_bitwise(data)
    assert masked_crc(data) == masked(data)


def test_records_round_trip_with_offsets(tmp_path):
    payloads = [b"", b"a", b"hello world" * 100]
    path = write_tfrecord(tmp_path / "x.tfrecord", payloads)
    records = list(read_records(path))
    assert [d for _, d in records] == payloads
    assert [o for o, _ in records] == [0, 16, 33]
    with open(path, "rb") as f:
        assert read_record_at(f, records[2][0]) == payloads[2]


@pytest.mark.parametrize("where, message", [(3, "length checksum"), (20, "data checksum"), (-2, "data checksum")])
def test_corruption_is_detected(tmp_path, where, message):
    path = write_tfrecord(tmp_path / "x.tfrecord", [b"payload-one", b"payload-two"])
    raw = bytearray(path.read_bytes())
    raw[where] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(RecordError, match=message):
        list(read_records(path))
    if where != 3:  # unchecked, a flipped data byte comes through
        assert len(list(read_records(path, verify=False))) == 2


def test_truncated_file_is_an_error(tmp_path):
    path = write_tfrecord(tmp_path / "x.tfrecord", [b"payload-one", b"payload-two"])
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(RecordError, match="truncated"):
        list(read_records(path))


def test_parses_a_frame_level_sequence_example():
    rng = np.random.default_rng(1)
    rgb, audio = rng.integers(0, 256, (5, 1024), dtype=np.uint8), rng.integers(0, 256, (5, 128), dtype=np.uint8)
    data = frame_record("Ab1x", [3, 1, 3862], rgb, audio)
    parsed = parse_example(data)
    assert parsed.context["id"] == [b"Ab1x"] and parsed.context["labels"] == [3, 1, 3862]
    assert len(parsed.feature_lists["rgb"]) == 5 and parsed.feature_lists["audio"][2] == [audio[2].tobytes()]
    assert parse_example(data, feature_lists=False).feature_lists == {}
    video = video_from_record(data)
    assert video.id == "Ab1x" and video.frames.shape == (5, 1152)
    assert np.array_equal(video.frames[:, :1024], rgb) and np.array_equal(video.frames[:, 1024:], audio)
    assert video_from_record(data, rgb_only=True).frames.shape == (5, 1024)


def test_unpacked_and_negative_int64_and_float_lists():
    data = frame_record("x", [7, -1, 300], np.zeros((1, 1024), np.uint8), None, packed=False)
    assert parse_example(data).context["labels"] == [7, -1, 300]
    with pytest.raises(RecordError, match="no `audio`"):
        video_from_record(data)
    parsed = parse_example(video_record("vid1", [4], np.linspace(-1, 1, 1024)))
    assert parsed.context["mean_rgb"].dtype == np.float32 and parsed.context["mean_rgb"][-1] == 1.0
    with pytest.raises(RecordError, match="video-level"):
        video_from_record(video_record("vid1", [4]))


def test_garbage_is_a_record_error():
    with pytest.raises(RecordError):
        parse_example(b"\x0a\xff\x01abc")


def test_dequantize_as_youtube8m():
    q = np.array([0, 128, 255], np.uint8)
    expected = q * (4 / 255) + 4 / 512 - 2  # google/youtube-8m utils.Dequantize(max=2, min=-2)
    assert np.allclose(dequantize(q), expected) and dequantize(q).dtype == np.float32


def test_sampling_positions_and_views():
    assert list(sample_positions(5, 8)) == [0, 1, 2, 3, 4]
    clean = sample_positions(300, 32)
    assert len(clean) == 32 and clean[0] == 4 and clean[-1] == 295 and (np.diff(clean) > 0).all()
    a = sample_positions(300, 32, seed=1, jitter=1.0, key="v")
    assert not np.array_equal(a, clean) and np.array_equal(a, sample_positions(300, 32, seed=1, jitter=1.0, key="v"))
    assert (np.abs(a - clean) <= 300 / 32).all() and a.min() >= 0 and a.max() < 300
    video = video_from_record(frame_record("v", [1], np.full((5, 1024), 255, np.uint8), np.zeros((5, 128), np.uint8)))
    feats, times, mask = sample_views(video, [CLEAN, View("aug1", seed=1, jitter=0.5, augment=1)], 8)
    assert feats.shape == (2, 8, 1152) and mask.sum(axis=1).tolist() == [5, 5]
    assert list(times[0, :5]) == [0, 1, 2, 3, 4] and np.allclose(feats[0, 0, 0], 2 + 4 / 512)
    assert (feats[:, 5:] == 0).all()
