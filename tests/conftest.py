"""Shared pytest fixtures for vidtype's tests.

Test videos are real files generated with PyAV by `tests/videos.py` (import its helpers with `from videos import
...`); `video_factory` caches them for the whole session so that each is encoded once.
"""

import pytest

from videos import VideoFactory


@pytest.fixture(scope="session")
def video_factory(tmp_path_factory) -> VideoFactory:
    """video_factory(".mp4", seconds=2, content="shapes", ...) -> Path, cached per arguments;
    video_factory.special("vfr" | "rotated" | "zero_byte" | ...) -> Path of an odd or bad input."""
    return VideoFactory(tmp_path_factory.mktemp("videos"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A small real model directory: the efficientnet_lite0 backbone and a randomly initialised temporal head
    (random labels; for tests of structure and behaviour: server, live streams, timelines)."""
    from serving import make_test_model

    return make_test_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    """A local HTTP server on 127.0.0.1 serving files of `origin.directory`, redirects, slow answers and
    real-speed live streams (see `serving.Origin`)."""
    from serving import Origin

    o = Origin(tmp_path_factory.mktemp("origin"))
    yield o
    o.close()
