"""INPUT resolution (folder, glob, manifests) and URL downloads for `vidtype batch`."""

import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vidtype.batch.inputs import DownloadLimits, InputError, local_copy, resolve_inputs


def test_folder_is_walked_recursively_for_video_files(batch_videos):
    found = resolve_inputs(batch_videos)
    names = [Path(p).relative_to(batch_videos).as_posix() for p in found]
    assert "other/notes.txt" not in names and "manifest.csv" not in names
    assert {"other/bad.mp4", "other/wide.mkv", "animation/a000.mp4", "flat/f001.mp4"} <= set(names)
    assert len(found) == 10 and names == sorted(names)
    assert all(os.path.isabs(p) for p in found)


def test_glob_and_single_file(batch_videos):
    assert len(resolve_inputs(f"{batch_videos}/*/*.mp4")) == 9
    assert len(resolve_inputs(f"{batch_videos}/**/*.mkv")) == 1
    one = batch_videos / "gaming" / "g000.mp4"
    assert resolve_inputs(one) == [str(one)]


def test_relative_paths_become_absolute(batch_videos, monkeypatch):
    monkeypatch.chdir(batch_videos)
    assert resolve_inputs("gaming") == [str(batch_videos / "gaming" / f"g00{i}.mp4") for i in range(2)]


def test_csv_manifest_paths_relative_to_it_urls_kept_duplicates_dropped(tmp_path, batch_videos):
    shutil.copytree(batch_videos / "natural", tmp_path / "clips")
    (tmp_path / "list.csv").write_text("path,label\nclips/n000.mp4,natural\nhttps://example.org/v.mp4,x\n"
                                       f"{tmp_path}/clips/n001.mp4,\n,\nclips/n000.mp4,natural\n")
    assert resolve_inputs(tmp_path / "list.csv") == [str(tmp_path / "clips/n000.mp4"), "https://example.org/v.mp4",
                                                     str(tmp_path / "clips/n001.mp4")]


def test_parquet_manifest_with_url_column_and_list_of_inputs(tmp_path):
    pq.write_table(pa.table({"url": ["http://h/a.mp4", "http://h/b.webm"], "n": [1, 2]}), tmp_path / "m.parquet")
    assert resolve_inputs(tmp_path / "m.parquet") == ["http://h/a.mp4", "http://h/b.webm"]
    assert resolve_inputs([tmp_path / "m.parquet", "http://h/a.mp4", "http://h/c.mp4"]) == [
        "http://h/a.mp4", "http://h/b.webm", "http://h/c.mp4"]


def test_single_column_manifest_without_header_name(tmp_path):
    (tmp_path / "m.csv").write_text("video_file\nhttp://h/a.mp4\n")
    assert resolve_inputs(tmp_path / "m.csv") == ["http://h/a.mp4"]


def test_bad_inputs_say_what_is_wrong(tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        resolve_inputs(tmp_path / "missing")
    (tmp_path / "m.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="column named path or url"):
        resolve_inputs(tmp_path / "m.csv")


def test_url_is_downloaded_to_a_temp_file_and_removed(origin, video_factory):
    src = video_factory(".mp4")
    shutil.copy(src, origin.directory / "clip.mp4")
    with local_copy(origin.url("/files/clip.mp4")) as path:
        assert Path(path).read_bytes() == src.read_bytes()
        assert path.endswith(".mp4")
    assert not Path(path).exists()
    with local_copy(origin.url("/redirect?to=/chunked/clip.mp4")) as path:  # redirects, no Content-Length
        assert Path(path).stat().st_size == src.stat().st_size
    with local_copy(str(src)) as path:  # local files pass through untouched
        assert path == str(src)


@pytest.mark.parametrize("url,limits,code", [
    ("/files/clip.mp4", DownloadLimits(max_bytes=1000), "fetch_too_large"),
    ("/chunked/clip.mp4", DownloadLimits(max_bytes=1000), "fetch_too_large"),
    ("/status/404", DownloadLimits(), "fetch_failed"),
    ("/silent?seconds=3", DownloadLimits(timeout_s=0.3), "fetch_timeout"),
])
def test_download_failures_have_codes_and_leave_nothing(origin, video_factory, url, limits, code, tmp_path,
                                                        monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    shutil.copy(video_factory(".mp4"), origin.directory / "clip.mp4")
    with pytest.raises(Exception) as info:
        with local_copy(origin.url(url), limits):
            pass
    assert info.value.code == code
    assert list(tmp_path.iterdir()) == []
