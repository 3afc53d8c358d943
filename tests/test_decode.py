"""vidtype.decode on real files generated with PyAV: containers, codecs, rotation, VFR, odd inputs, bad inputs."""

import time

import av
import numpy as np
import pytest

from videos import content_frame, draw_marker, draw_stamp, frame_times, marker_corner, read_stamp
from vidtype import decode
from vidtype.decode import decode_at, probe
from vidtype.errors import DecodeError, DecodeTimeoutError, NotAVideoError, VideoTooLargeError

# (extension, encoder, codec name probe reports, container name probe reports)
FORMATS = [
    (".mp4", "libx264", "h264", "mp4"),
    (".mkv", "libx264", "h264", "matroska"),
    (".mov", "libx264", "h264", "mov"),
    (".avi", "libx264", "h264", "avi"),
    (".mp4", "libx265", "hevc", "mp4"),
    (".webm", "libvpx-vp9", "vp9", "webm"),
    (".mkv", "libsvtav1", "av1", "matroska"),
]


@pytest.mark.parametrize("ext,encoder,codec,container", FORMATS, ids=[f"{f[0][1:]}-{f[2]}" for f in FORMATS])
def test_containers_and_codecs(video_factory, ext, encoder, codec, container):
    path = video_factory(ext, codec=encoder, seconds=2, fps=24)
    info = probe(path)
    assert (info.container, info.codec) == (container, codec)
    assert (info.width, info.height, info.rotation) == (320, 240, 0)
    assert info.fps == pytest.approx(24, rel=0.01)
    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    assert info.frame_count in (48, 49)

    frames = decode_at(path, [0.5, 1.0, 1.5], info=info, exact=True)
    assert [f.image.shape for f in frames] == [(240, 320, 3)] * 3
    # AVI keeps no presentation times for B-frames: FFmpeg's best guess is a frame or two off there.
    tolerance = 2 if ext == ".avi" else 0
    for f, want in zip(frames, [12, 24, 36]):
        assert abs(read_stamp(f.image) - want) <= tolerance
        assert f.time_s == pytest.approx(want / 24, abs=tolerance / 24 + 1e-3)


def test_video_with_audio_track(video_factory):
    path = video_factory(".webm", seconds=1, audio=True)  # VP9 + Opus
    info = probe(path)
    assert (info.codec, info.duration_s) == ("vp9", pytest.approx(1.0, abs=0.1))
    assert [read_stamp(f.image) for f in decode_at(path, [0.0, 0.5], info=info)] == [0, 12]


def test_probe_fields(video_factory):
    info = probe(video_factory(".mp4", seconds=2, fps=24))
    assert isinstance(info, decode.VideoInfo)
    assert info.pix_fmt == "yuv420p" and info.bit_depth == 8
    assert info.frame_count == 48
    assert info.path.endswith(".mp4")


def test_decoded_pixels_match_the_source(video_factory):
    frame = decode_at(video_factory(".mp4", seconds=1), [0.0], exact=True)[0]
    want = content_frame("shapes", 0, 24, 320, 240).copy()
    draw_marker(want)
    draw_stamp(want, 0)
    assert frame.image.dtype == np.uint8 and frame.keyframe
    assert np.abs(frame.image.astype(int) - want).mean() < 8


def test_gif(video_factory):
    path = video_factory.special("gif")
    info = probe(path)
    assert (info.container, info.codec, info.width, info.height) == ("gif", "gif", 160, 120)
    assert info.duration_s == pytest.approx(1.0, abs=0.11)
    frames = decode_at(path, [0.0, 0.5], info=info)
    assert [read_stamp(f.image) for f in frames] == [0, 5]


@pytest.mark.parametrize("degrees,corner", [(90, "tr"), (180, "br"), (270, "bl")])
def test_rotation_from_display_matrix(video_factory, degrees, corner):
    path = video_factory(".mp4", seconds=0.5, rotation=degrees)
    info = probe(path)
    assert info.rotation == degrees
    size = (240, 320) if degrees in (90, 270) else (320, 240)
    assert (info.width, info.height) == size
    image = decode_at(path, [0.1], info=info)[0].image
    assert image.shape == (size[1], size[0], 3)
    assert marker_corner(image) == corner  # the red square was stored top-left
    assert read_stamp(np.rot90(image, k=degrees // 90)) == 2  # turned back, the stamp reads again


def test_rotation_from_legacy_rotate_tag(video_factory):
    path = video_factory(".mkv", seconds=0.5, rotation=90, rotation_as="tag")
    info = probe(path)
    assert (info.rotation, info.width, info.height) == (90, 240, 320)
    assert marker_corner(decode_at(path, [0.0], info=info)[0].image) == "tr"


def test_vfr_times_follow_timestamps(video_factory):
    path = video_factory.special("vfr")
    info = probe(path)
    expected = frame_times(48, 24, vfr=True)
    assert expected[-1] < info.duration_s < expected[-1] + 0.1
    frames = decode_at(path, expected, info=info, exact=True)
    assert len(frames) == 48
    times = [f.time_s for f in frames]
    assert times == sorted(times) and len(set(times)) == 48
    for i, f in enumerate(frames):
        assert read_stamp(f.image) == i
        assert f.time_s == pytest.approx(expected[i], abs=2e-3)


def test_ten_bit(video_factory):
    path = video_factory.special("10bit")
    info = probe(path)
    assert (info.codec, info.pix_fmt, info.bit_depth) == ("hevc", "yuv420p10le", 10)
    frame = decode_at(path, [0.0], info=info)[0]
    assert frame.image.dtype == np.uint8
    want = content_frame("shapes", 0, 24, 320, 240).copy()
    draw_marker(want)
    draw_stamp(want, 0)
    assert np.abs(frame.image.astype(int) - want).mean() < 8  # colours right, not 10-bit garbage


def test_odd_size(video_factory):
    path = video_factory.special("odd_size")
    info = probe(path)
    assert (info.width, info.height) == (321, 241)
    assert decode_at(path, [0.0], info=info)[0].image.shape == (241, 321, 3)
    assert decode_at(path, [0.0], info=info, max_side=160)[0].image.shape == (120, 160, 3)


def test_8k_is_decoded_small(video_factory):
    path = video_factory.special("8k")
    info = probe(path)
    assert (info.width, info.height) == (7680, 4320)
    frame = decode_at(path, [0.0], info=info, max_side=512)[0]
    assert frame.image.shape == (288, 512, 3)
    assert marker_corner(frame.image) == "tl"


def test_pixel_limit(video_factory):
    assert 7680 * 4320 <= decode.MAX_PIXELS < 15360 * 8640  # 8K allowed, 16K refused by default
    with pytest.raises(VideoTooLargeError, match="7680x4320"):
        probe(video_factory.special("8k"), max_pixels=4096 * 2160)
    with pytest.raises(VideoTooLargeError):
        probe(video_factory(".mp4", seconds=1), max_pixels=320 * 240 - 1)


def test_raw_stream_without_timestamps(video_factory):
    path = video_factory.special("raw_h264")
    info = probe(path)
    assert info.container == "h264" and info.duration_s > 0.5
    frames = decode_at(path, [0.0, 0.4, 0.8], info=info)
    times = [f.time_s for f in frames]
    assert len(frames) == 3 and times == sorted(times)
    assert [read_stamp(f.image) for f in frames] == [round(t * info.fps) for t in times]


def test_single_frame(video_factory):
    path = video_factory.special("single_frame")
    info = probe(path)
    assert info.frame_count == 1
    frames = decode_at(path, [0.0, 0.5, 3.0], info=info)
    assert len(frames) == 1 and frames[0].time_s == 0.0


# ----------------------------------------------------------------------------- metadata that lies

def test_container_claims_longer_than_it_is(video_factory):
    path = video_factory.special("claims_longer_mkv")
    assert av.open(str(path)).duration / 1e6 == pytest.approx(120)  # the header says 2 minutes
    info = probe(path)
    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    assert info.frame_count in (48, 49)
    t = time.monotonic()
    frames = decode_at(path, [1.0, 60.0, 119.0], info=info)  # times past the real end: the last frame, once
    assert time.monotonic() - t < 5
    assert [read_stamp(f.image) for f in frames] == [24, 47]


def test_container_claims_shorter_than_it_is(video_factory):
    path = video_factory.special("claims_shorter_mkv")
    info = probe(path)
    assert info.duration_s == pytest.approx(4.0, abs=0.1)
    assert read_stamp(decode_at(path, [3.5], info=info)[0].image) == 84


def test_header_claims_more_frames_than_exist(video_factory):
    path = video_factory.special("claims_more_frames_avi")
    assert av.open(str(path)).streams.video[0].frames == 480
    info = probe(path)
    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    assert 47 <= info.frame_count <= 50
    frames = decode_at(path, [i / 10 for i in range(100)], info=info)
    assert len(frames) <= 49


# ----------------------------------------------------------------------------- strategies and cost

def test_keyframe_mode_takes_keyframes_only(video_factory):
    path = video_factory(".mp4", seconds=4, fps=24, gop=12)
    decode.stats.reset()
    frames = decode_at(path, [0.2, 0.7, 0.9, 1.3, 3.9], exact=False)
    assert all(f.keyframe for f in frames)
    assert [read_stamp(f.image) for f in frames] == [0, 12, 24, 84]  # 0.7 and 0.9 share a keyframe
    assert decode.stats.frames_decoded <= 4 + 1  # one per keyframe (+1 for the probe)


def test_exact_mode_seeks_ahead_on_long_gaps(video_factory):
    path = video_factory(".mp4", seconds=20, fps=24, gop=24, size=(160, 120))
    info = probe(path)
    decode.stats.reset()
    frames = decode_at(path, [1.5, 10.25, 18.5], info=info, exact=True)
    assert [read_stamp(f.image) for f in frames] == [36, 246, 444]
    assert decode.stats.frames_decoded < 60  # not the 445 frames of a full pass


def test_short_video_is_one_forward_pass(video_factory):
    path = video_factory(".mp4", seconds=2, fps=24)
    info = probe(path)
    decode.stats.reset()
    frames = decode_at(path, [i * 0.1 for i in range(20)], info=info)  # auto: exact
    assert [read_stamp(f.image) for f in frames] == [round(i * 2.4) for i in range(20)]
    assert decode.stats.frames_decoded <= 48 and decode.stats.seeks <= 1


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kind,error,words", [
    ("zero_byte", NotAVideoError, "empty"),
    ("random_bytes", NotAVideoError, "not a video"),
    ("audio_only", NotAVideoError, r"no video stream \(only audio\)"),
    ("truncated", DecodeError, "truncated or corrupt"),
])
def test_bad_input_errors(video_factory, kind, error, words):
    path = video_factory.special(kind)
    with pytest.raises(error, match=words) as caught:
        probe(path)
    assert not isinstance(caught.value, av.FFmpegError)
    assert path.name in str(caught.value)
    with pytest.raises(error):
        decode_at(path, [0.0])


def test_truncated_but_not_damaged_beyond_use(video_factory):
    path = video_factory.special("truncated_mkv")  # the second half of a 4 s file is missing
    info = probe(path)
    assert 1.0 < info.duration_s < 2.5
    frames = decode_at(path, [0.5, 1.0, 3.5], info=info)
    assert len(frames) == 3 and frames[-1].time_s < 2.5


def test_corrupt_file_gives_frames_or_a_clear_error(video_factory):
    path = video_factory.special("corrupt")
    try:
        info = probe(path)
        frames = decode_at(path, [0.0, 0.5, 1.0, 1.5], info=info)
    except DecodeError as e:
        assert path.name in str(e)
    else:
        assert frames and all(f.image.shape == (240, 320, 3) for f in frames)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DecodeError, match="no such file"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(DecodeError, match="not a file"):
        probe(tmp_path)


def test_deadline(video_factory):
    path = video_factory(".mp4", seconds=2)
    with pytest.raises(DecodeTimeoutError, match="longer than allowed"):
        probe(path, timeout_s=0)
    info = probe(path)
    with pytest.raises(DecodeTimeoutError):
        decode_at(path, [0.5, 1.0], info=info, deadline=time.monotonic() - 1)
