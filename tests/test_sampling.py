"""vidtype.sampling.sample_frames on real files: spread, adaptivity, quality replacement, cost on long files."""

import cv2
import numpy as np
import pytest

from videos import read_stamp
from vidtype import decode
from vidtype.errors import NotAVideoError
from vidtype.quality import FrameQuality
from vidtype.sampling import FrameSample, candidate_times, sample_frames, select


def stamps(sample):
    return [read_stamp(f.image) for f in sample.frames]


def test_default_sample(video_factory):
    sample = sample_frames(video_factory(".mp4", seconds=4, fps=24))
    assert isinstance(sample, FrameSample) and sample.info.duration_s == pytest.approx(4.0, abs=0.1)
    assert len(sample.frames) == 16 and sample.rejected == []
    times = [f.time_s for f in sample.frames]
    assert times == sorted(times) and len(set(times)) == 16
    assert times[0] < 0.5 and times[-1] > 3.5  # spread over the whole video
    assert [round(t * 24) for t in times] == stamps(sample)  # each time is the time of the frame returned
    assert all(f.image.shape == (240, 320, 3) and f.image.dtype == np.uint8 for f in sample.frames)


def test_n_frames_and_max_side(video_factory):
    sample = sample_frames(video_factory(".mp4", seconds=2), n_frames=4, max_side=160)
    assert len(sample.frames) == 4 and sample.frames[0].image.shape == (120, 160, 3)
    with pytest.raises(ValueError):
        sample_frames(video_factory(".mp4", seconds=2), n_frames=0)


def test_fewer_distinct_frames_than_asked(video_factory):
    assert stamps(sample_frames(video_factory(".mp4", frames=5))) == [0, 1, 2, 3, 4]
    single = sample_frames(video_factory.special("single_frame"))
    assert len(single.frames) == 1 and single.rejected == []


def test_jitter_and_seed(video_factory):
    path = video_factory(".mp4", seconds=4)
    plain = [f.time_s for f in sample_frames(path, n_frames=8).frames]
    assert plain == [f.time_s for f in sample_frames(path, n_frames=8, seed=3).frames]  # no jitter: no effect
    a = [f.time_s for f in sample_frames(path, n_frames=8, seed=1, jitter=1.0).frames]
    b = [f.time_s for f in sample_frames(path, n_frames=8, seed=1, jitter=1.0).frames]
    c = [f.time_s for f in sample_frames(path, n_frames=8, seed=2, jitter=1.0).frames]
    assert a == b and a != c and a != plain


def test_candidate_times():
    assert candidate_times(10.0, 5) == [1.0, 3.0, 5.0, 7.0, 9.0]
    jittered = candidate_times(10.0, 5, seed=0, jitter=1.0)
    assert all(2 * i <= t <= 2 * i + 2 for i, t in enumerate(jittered)) and jittered != [1.0, 3.0, 5.0, 7.0, 9.0]
    assert candidate_times(0.0, 5) == [0.0]


def test_more_frames_where_content_changes(video_factory):
    path = video_factory(".mp4", seconds=4, content="static_then_cuts")  # static 0-2 s, a cut every frame after
    times = [f.time_s for f in sample_frames(path).frames]
    static, busy = sum(t < 2.0 for t in times), sum(t >= 2.0 for t in times)
    assert busy >= 2 * static and static >= 2  # denser where it changes, the static half still covered


def test_black_and_blurred_spans_are_replaced(video_factory):
    path = video_factory(".mp4", seconds=4, fps=24, black_spans=[(0.0, 0.8)], blur_spans=[(2.0, 2.6)])
    sample = sample_frames(path)
    assert len(sample.frames) == 16
    for f in sample.frames:
        assert not (f.time_s < 0.8 or 2.0 <= f.time_s < 2.6)
    reasons = {r.reason for r in sample.rejected}
    assert reasons == {"black", "blurred"}
    for r in sample.rejected:
        assert (r.time_s < 0.8) if r.reason == "black" else (2.0 <= r.time_s < 2.6)


def test_all_black_video_keeps_the_least_bad(video_factory):
    sample = sample_frames(video_factory(".mp4", seconds=1, content="black"), n_frames=4)
    assert len(sample.frames) == 4  # the classifier always gets frames
    rejected = {round(r.time_s, 6): r.reason for r in sample.rejected}
    assert all(rejected.get(round(f.time_s, 6)) == "black" for f in sample.frames)  # ...reported as rejected


def test_soft_video_is_not_rejected_as_blurred(video_factory):
    sample = sample_frames(video_factory(".mp4", seconds=2, content="gradient", stamp=False, marker=False))
    assert len(sample.frames) == 16 and sample.rejected == []


def test_sharpen_option(video_factory):
    path = video_factory(".mp4", seconds=2)
    plain, sharp = sample_frames(path, n_frames=4), sample_frames(path, n_frames=4, sharpen=True)
    assert [f.time_s for f in plain.frames] == [f.time_s for f in sharp.frames]

    def laplacian_var(f):
        return cv2.Laplacian(cv2.cvtColor(f.image, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()

    assert all(laplacian_var(s) > laplacian_var(p) for p, s in zip(plain.frames, sharp.frames))


@pytest.mark.slow
def test_long_video_costs_a_fraction_of_its_frames(video_factory):
    # 60 s, a keyframe every 10 s (GOP 250): 1500 frames, 6 keyframes.
    path = video_factory(".mp4", seconds=60, fps=25, gop=250, options={"preset": "ultrafast"})
    decode.stats.reset()
    sample = sample_frames(path)
    assert decode.stats.frames_decoded < 1500 / 4
    times = [f.time_s for f in sample.frames]
    assert len(sample.frames) == 16 and len(set(times)) == 16
    assert times[0] < 10 and times[-1] > 50  # still spread over the whole minute
    assert [round(t * 25) for t in times] == stamps(sample)


def test_rotated_and_lying_files(video_factory):
    rotated = sample_frames(video_factory.special("rotated"), n_frames=4)
    assert all(f.image.shape == (320, 240, 3) for f in rotated.frames)
    lying = sample_frames(video_factory.special("claims_longer_mkv"))  # says 120 s, is 2 s
    assert len(lying.frames) == 16 and lying.frames[-1].time_s < 2.0


def test_errors_pass_through(video_factory):
    with pytest.raises(NotAVideoError, match="empty"):
        sample_frames(video_factory.special("zero_byte"))
    with pytest.raises(NotAVideoError, match="audio"):
        sample_frames(video_factory.special("audio_only"))


def test_select_picks_distinct_frames_even_with_skewed_weights():
    frames = [decode.Frame(i / 10, np.full((32, 32, 3), 100, np.uint8), False) for i in range(30)]
    frames[10].image[:] = 250  # one big change: its neighbours get most of the weight
    quality = [FrameQuality(100.0, 0.0, 1.0, None) for _ in frames]
    quality[3] = FrameQuality(100.0, 0.0, 0.01, "blurred")
    chosen = select(frames, quality, 8)
    assert len(chosen) == 8 and chosen == sorted(set(chosen)) and 3 not in chosen
    assert 9 in chosen and 10 in chosen and 11 in chosen
