"""The web page in a real browser: Debian's Chromium driven by Playwright against the real server on loopback.

Upload a file, read the result (label, four probability bars, trust, the attention strip with rejected frames
marked, the timeline), classify a URL, watch a live stream; the page must load nothing from outside the server.
A screenshot goes to the test's tmp dir and to /tmp/vidtype-page.png.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from serving import running, wait_ready
from videos import make_video

from vidtype.store import CLASSES

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT_FOR_THE_LEAD = Path("/tmp/vidtype-page.png")


@pytest.fixture(scope="module")
def base(tiny_model_dir, origin, tmp_path_factory):
    from vidtype.server import create_app

    make_video(origin.directory / "mixed.mp4", seconds=4, size=(480, 270), black_spans=[(1.5, 2.5)])
    make_video(origin.directory / "live.ts", seconds=5, size=(480, 270), fps=25, gop=25)
    app = create_app({"MODEL": str(tiny_model_dir), "TMP_DIR": str(tmp_path_factory.mktemp("tmp")),
                      "FETCH_ALLOW": ["127.0.0.1"]})
    wait_ready(app)
    with running(app) as b:
        yield b


@pytest.fixture()
def page(base, tmp_path):
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.requested = []
        page.on("request", lambda r: page.requested.append(r.url))
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        try:
            yield page
        finally:
            context.close()


def only_local(page, base, refused: bool = False) -> None:
    if refused:  # the browser logs the refusal's 403 as a failed resource
        page.console_errors = [e for e in page.console_errors if "status of 403" not in e]
    outside = [u for u in page.requested if not (u.startswith(base) or u.startswith("data:"))]
    assert outside == [], "the page must work offline"
    assert page.errors == [] and page.console_errors == []
    assert page.evaluate("(() => { const ids = [...document.querySelectorAll('[id]')].map(e => e.id); "
                         "return ids.length === new Set(ids).size; })()"), "duplicate element ids"


def test_upload_shows_label_probabilities_trust_and_attention_strip(page, base, origin, tmp_path):
    page.goto(base + "/")
    assert "model test 0" in page.locator("#model").inner_text()
    page.locator("#options summary").click()
    page.fill("#opt-frames", "6")
    page.fill("#opt-timeline", "1")
    page.set_input_files("#file", str(origin.directory / "mixed.mp4"))
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)

    label = page.locator("#label").inner_text().strip().lower()
    assert label in CLASSES or label == "unknown"
    assert page.locator(".prob").count() == 4
    assert {page.locator(".prob").nth(i).get_attribute("data-class") for i in range(4)} == set(CLASSES)
    assert 0.0 <= float(page.locator("#trust-value").inner_text()) <= 1.0

    frames = page.locator("#frame-strip .frame")
    kept = page.locator("#frame-strip .frame:not(.rejected)")
    rejected = page.locator("#frame-strip .frame.rejected")
    assert kept.count() == 6 and rejected.count() >= 1 and frames.count() == kept.count() + rejected.count()
    assert rejected.first.locator(".reason").inner_text() == "black"
    # every thumbnail is a decoded JPEG; the kept ones are shaded by attention, the strongest fully opaque
    images = "[...document.querySelectorAll('#frame-strip img')]"
    assert page.evaluate(f"{images}.every(i => i.complete && i.naturalWidth > 0)")
    opacities = [float(kept.nth(i).locator("img").evaluate("i => i.style.opacity")) for i in range(6)]
    assert max(opacities) == 1.0 and all(0.3 <= o <= 1.0 for o in opacities)

    box = kept.first.locator("img").bounding_box()
    assert box["width"] >= 90 and box["height"] >= 50  # drawn, not just present
    assert page.locator("#timeline .segment").count() == 4
    assert page.locator("#timeline .segment").first.bounding_box()["width"] > 100
    assert page.locator("#segments tbody tr").count() == 4

    shot = tmp_path / "vidtype-page.png"
    page.screenshot(path=str(shot), full_page=True)
    shutil.copy(shot, SCREENSHOT_FOR_THE_LEAD)
    only_local(page, base)


def test_url_and_refusal_messages(page, base, origin):
    page.goto(base + "/")
    page.fill("#url", origin.url("/files/mixed.mp4"))
    page.click("#url-form button")
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)
    assert "/files/mixed.mp4" in page.locator("#confidence").inner_text()

    page.fill("#url", "http://169.254.169.254/latest/meta-data/")
    page.click("#url-form button")
    page.wait_for_selector("#status.error", timeout=10_000)
    assert "url_refused" in page.locator("#status").inner_text()
    only_local(page, base, refused=True)


def test_live_stream_panel_shows_rolling_labels(page, base, origin):
    page.goto(base + "/")
    page.fill("#stream-url", origin.url("/live/live.ts?seconds=5"))
    page.click("#stream-start")
    page.wait_for_function("document.querySelectorAll('#stream-log li').length >= 2", timeout=20_000)
    label = page.locator("#stream-label").inner_text().strip().lower()
    assert label in CLASSES or label == "unknown"
    assert "latency" in page.locator("#stream-facts").inner_text()
    page.wait_for_function("document.querySelector('#stream-facts').textContent.includes('stream ended')",
                           timeout=20_000)
    only_local(page, base)
