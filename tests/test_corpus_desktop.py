"""The desktop (flat) corpus source: its generated documents are well-formed, and one short real recording each of
xterm and LibreOffice Calc decodes to a changing, non-blank picture with the right Clip fields."""

import random
import xml.dom.minidom

import numpy as np
import pytest
from corpus_checks import need_packages

from vidtype.corpus.recorded import desktop, xrecord


@pytest.mark.parametrize("seed", range(4))
def test_documents_are_well_formed(seed):
    rng = random.Random(seed)
    _, title, blocks = desktop._pick_text(rng)
    assert title and blocks
    for doc in (desktop._writer_doc(title, blocks, rng), desktop._impress_deck(title, blocks, rng),
                desktop._calc_doc(rng)[1], desktop._article_html(title, blocks, rng)):
        if doc.startswith("<office:document"):
            xml.dom.minidom.parseString(doc.encode())


@pytest.mark.slow
@pytest.mark.parametrize("program", ["xterm", "calc"])
def test_records_a_short_clip(tmp_path, program):
    av = pytest.importorskip("av")
    need_packages((desktop.PACKAGES[program], "x11-xserver-utils", "fonts-dejavu-core", *xrecord.APT))
    i = desktop.PROGRAMS.index(program)
    # an 800x450 screen leaves one output size of 360p or more: 640x360
    clip = desktop.record_clip(tmp_path, seed=7, i=i, seconds=3, screen=(800, 450))

    assert clip.path == f"desktop/{program}_7_{i:04d}.mp4"
    assert (clip.label, clip.source) == ("flat", program)
    assert clip.group.startswith(f"{program}:") and len(clip.group) > len(program) + 1
    assert clip.license != "unknown"
    with av.open(str(tmp_path / clip.path)) as container:
        frames = list(container.decode(video=0))
    assert (frames[0].width, frames[0].height) == (640, 360)
    assert frames[-1].time - frames[0].time >= 2.0
    pictures = [f.to_ndarray(format="gray").astype(np.int16) for f in frames]
    middle = pictures[len(pictures) // 2]
    assert 10 < middle.mean() < 245 or middle.std() > 10, "blank picture"
    assert len(np.unique(middle)) > 16, "no detail in the picture"
    changed = max(np.mean(np.abs(p - pictures[0]) > 24) for p in pictures)
    assert changed > 0.0005, "the picture does not change"
