"""The recorded corpus' photos source (vidtype/corpus/recorded/photos.py): one short clip, checked end to end."""

from pathlib import Path

import numpy as np
from corpus_checks import frames_of, need_packages, one_short_clip

from vidtype.corpus.recorded import photos


def one_clip(out, seed):
    return one_short_clip(photos, out, seed)


def test_a_photo_becomes_a_short_camera_clip(tmp_path):
    [clip] = one_clip(tmp_path / "a", seed=1)
    assert clip.label == "natural" and clip.path.startswith("photos/") and clip.path.endswith("_1_0000.mp4")
    assert clip.group.startswith("photo:") and clip.source in photos.APT and clip.license != "unknown"
    frames, fps = frames_of(tmp_path / "a" / clip.path)
    assert len(frames) / fps >= 2 and frames[0].shape == (180, 320, 3)
    assert np.mean(frames[0]) > 20  # not black
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 2  # the camera moves
    [again] = one_clip(tmp_path / "b", seed=1)
    # the same pictures again (x264 may still encode them a little differently)
    assert again == clip and np.abs(np.float32(frames_of(tmp_path / "b" / again.path)[0]) - frames).mean() < 3
    assert list(photos.clips(tmp_path / "a", 1, 1, {clip.path})) == []  # a clip already listed is skipped


def test_licences_come_from_the_photos_own_stanza():
    need_packages(["lomiri-wallpapers-16.04"])
    assert photos.photo_license("lomiri-wallpapers-16.04",
                                Path("/usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg")) == "CC0-1.0"
