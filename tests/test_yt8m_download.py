"""The downloader against a local HTTP server on loopback: layout, resumption, errors, id lookup, rate limit."""

import csv
import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("yt_dlp")

from vidtype.cli import main  # noqa: E402
from vidtype.yt8m.download import STATE_FILE, DownloadOptions, download, read_state  # noqa: E402
from videos import make_video  # noqa: E402


class Site:
    """Files of a folder over HTTP on 127.0.0.1, recording each request's path."""

    def __init__(self, root):
        self.root, self.requests = root, []
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send_head(self):
                site.requests.append(self.path)
                return super().send_head()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    (root / "v").mkdir()
    for name in ("anim0000001", "game0000002"):
        make_video(root / "v" / f"{name}.mp4", seconds=1, size=(160, 120), fps=12)
    make_video(root / "v" / "big00000003.mp4", seconds=1, size=(160, 120), fps=12, content="noise")  # ~100 kB
    (root / "lookup" / "Ab").mkdir(parents=True)
    (root / "lookup" / "Ab" / "Ab12.js").write_text('i("Ab12","natu0000004");')
    (root / "v" / "natu0000004.mp4").write_bytes((root / "v" / "anim0000001.mp4").read_bytes())
    s = Site(root)
    yield s
    s.close()


def write_manifest(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "label", "entities"])
        w.writerows(rows)
    return path


def options(site, **kw):
    base = dict(url_template=site.url + "/v/{id}.mp4", id_lookup=site.url + "/lookup/{prefix}/{id}.js", rate=0.0,
                max_filesize=20_000, socket_timeout=5, retries=0)
    return DownloadOptions(**(base | kw))


def test_downloads_into_class_folders_resumably(site, tmp_path):
    manifest = write_manifest(tmp_path / "manifest.csv", [
        ("anim0000001", "animation", "Cartoon"), ("game0000002", "gaming", "Video game"),
        ("Ab12", "natural", "Dog"),  # a 4-character YouTube-8M id, resolved through the lookup
        ("gone0000009", "flat", "Slide show"),  # 404
        ("big00000003", "natural", "Car"),  # larger than max_filesize
    ])
    out = tmp_path / "data"
    summary = download(manifest, out, options(site))
    assert summary.counts == {"done": 3, "unavailable": 2}
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mp4")) == [
        "animation/anim0000001.mp4", "gaming/game0000002.mp4", "natural/Ab12.mp4"]
    assert (out / "natural" / "Ab12.mp4").read_bytes() == (site.root / "v" / "natu0000004.mp4").read_bytes()
    errors = {r["id"]: r for r in csv.DictReader(open(out / "errors.csv"))}
    assert errors.keys() == {"gone0000009", "big00000003"}
    assert "404" in errors["gone0000009"]["error"] and "max-filesize" in errors["big00000003"]["error"]
    assert read_state(out)["Ab12"]["youtube_id"] == "natu0000004"

    before = len(site.requests)
    again = download(manifest, out, options(site))  # resumed: nothing left to fetch, unavailable ones not retried
    assert again.counts == {"skipped": 3, "unavailable": 2} and len(site.requests) == before
    retried = download(manifest, out, options(site, retry_errors=True, max_filesize="10M"))
    assert retried.counts == {"skipped": 3, "done": 1, "unavailable": 1}
    assert (out / "natural" / "big00000003.mp4").is_file()
    assert [r["id"] for r in csv.DictReader(open(out / "errors.csv"))] == ["gone0000009"]
    assert len((out / STATE_FILE).read_text().splitlines()) == 7


def test_transient_errors_are_retried_and_rate_is_respected(site, tmp_path):
    manifest = write_manifest(tmp_path / "m.csv", [("anim0000001", "animation", ""), ("game0000002", "gaming", "")])
    out = tmp_path / "data"
    dead = options(site, url_template="http://127.0.0.1:9/{id}.mp4", id_lookup=None)  # nothing listens on port 9
    assert download(manifest, out, dead).counts == {"error": 2}
    start = time.monotonic()
    assert download(manifest, out, options(site, rate=0.6)).counts == {"done": 2}
    assert time.monotonic() - start >= 0.6
    assert list(csv.DictReader(open(out / "errors.csv"))) == []


def test_download_command(site, tmp_path, capsys):
    manifest = write_manifest(tmp_path / "m.csv", [("game0000002", "gaming", "Video game")])
    out = tmp_path / "data"
    assert main(["yt8m", "download", str(manifest), "--out", str(out), "--url-template", site.url + "/v/{id}.mp4",
                 "--id-lookup", "none", "--rate", "0", "--limit-rate", "5M", "--max-filesize", "1M"]) == 0
    assert (out / "gaming" / "game0000002.mp4").is_file()
    assert "done 1" in capsys.readouterr().err
