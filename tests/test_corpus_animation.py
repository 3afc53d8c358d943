"""The recorded corpus' animation source (vidtype/corpus/recorded/animation.py): one short clip per kind of item."""


import numpy as np
import pytest
from corpus_checks import frames_of, one_short_clip

from vidtype.corpus.recorded import animation


def one_clip(out, seed):
    return one_short_clip(animation, out, seed)


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
