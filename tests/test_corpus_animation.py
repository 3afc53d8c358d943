"""The recorded corpus' animation source (vidtype/corpus/recorded/animation.py): one short clip per kind of item."""


import av
import numpy as np
import pytest
from corpus_packages import need_packages

from vidtype.corpus.recorded import animation


def frames_of(path):
    with av.open(str(path)) as f:
        stream = f.streams.video[0]
        return [x.to_ndarray(format="rgb24") for x in f.decode(stream)], float(stream.average_rate)


def one_clip(out, seed):
    need_packages(animation.APT)
    return list(animation.clips(out, 1, seed, set(), seconds=3, size=(320, 180)))


@pytest.mark.parametrize("seed, kind", [(0, "clipart"), (11, "synfig"), (7, "blender")])  # what clip 0 of seed is
def test_a_short_cartoon_clip(tmp_path, seed, kind):
    [clip] = one_clip(tmp_path, seed)
    assert clip.label == "animation" and clip.path.startswith(f"animation/{kind}-")
    assert clip.group.startswith(f"{kind}:") and clip.license not in ("", "unknown")
    assert clip.source == {"clipart": "openclipart-svg", "synfig": "synfig-examples", "blender": "blender"}[kind]
    frames, fps = frames_of(tmp_path / clip.path)
    assert len(frames) / fps >= 2 and frames[0].shape == (180, 320, 3)
    assert np.mean(frames[0]) > 20  # not black
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 2  # something moves
    assert list(animation.clips(tmp_path, 1, seed, {clip.path})) == []  # a clip already listed is skipped
