"""The recorded corpus' games source (vidtype/corpus/recorded/games.py): one short clip of one game, end to end."""

import numpy as np
import pytest
from corpus_checks import frames_of, need_packages

from vidtype.corpus.recorded import games, xrecord

GAME = "extremetuxracer"  # a race moves all the time, whatever keys get pressed


@pytest.mark.slow
def test_a_short_race_is_recorded(tmp_path):
    need_packages(xrecord.APT + (GAME,))
    [clip] = list(games.clips(tmp_path, 1, 0, set(), seconds=3, size=(320, 180), games=(GAME,)))
    assert clip.path == f"games/{GAME}_0_0000.mp4" and clip.label == "gaming" and clip.source == GAME
    assert clip.group == f"game:{GAME}" and clip.license not in ("", "unknown")
    frames, fps = frames_of(tmp_path / clip.path)
    assert len(frames) / fps >= 2 and frames[0].shape == (180, 320, 3)
    assert np.mean(frames) > 20  # not black
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 2  # the picture moves
    assert list(games.clips(tmp_path, 1, 0, {clip.path}, games=(GAME,))) == []  # a clip already listed is skipped
