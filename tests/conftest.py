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


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray instance (2 CPUs, no dashboard) shared by every Ray test of the session (start-up costs
    seconds). Tests that need it are skipped when Ray is not installed (pip install vidtype[ray])."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="session")
def batch_model_dir(tmp_path_factory):
    """A model directory on the tiny random test backbone (registered in this process; see tests/batching.py)."""
    from batching import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("batch_model") / "tiny")


@pytest.fixture(scope="session")
def batch_videos(tmp_path_factory):
    """A folder of 9 videos in sub-folders plus a broken bad.mp4 and a notes.txt (see tests/batching.py);
    shared: copy it before changing it."""
    from batching import make_collection

    return make_collection(tmp_path_factory.mktemp("batch_videos"))
