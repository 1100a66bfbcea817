"""The review page in a real browser: Debian's headless Chromium driven by Playwright.

Opens a share link, plays, comments at 0:42, reloads, switches A/B at the same position and
requests a revision (run by a fake note engine) until the new version appears. Screenshots go
to ``$TRACKWRIGHT_REVIEW_SHOTS`` (default ``/tmp/review-shots``), outside the repository.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi", reason="the review extra (fastapi) is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="the review extra (uvicorn) is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (test extra)")
from review_fixtures import fake_apply_note, make_project, serving  # noqa: E402

from trackwright.review import create_app, sign_token  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(scripts/install-system-deps.sh installs it)")
SHOTS = Path(os.environ.get("TRACKWRIGHT_REVIEW_SHOTS", "/tmp/review-shots"))
TIMEOUT_MS = 20_000


def tone_wav(seconds: float = 2.0, rate: int = 44100) -> bytes:
    t = np.arange(round(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, 0.3 * np.sin(2 * np.pi * 220 * t), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """(base URL, app) for a 45 s project with two versions, served by uvicorn on a thread."""
    project = make_project(tmp_path_factory.mktemp("review-e2e"), seconds=45.0)
    project.commit(project.recipe().with_part("keys", gain_db=-4.0), "keys down 4 dB", author="composer")
    app = create_app(project.path, revise=fake_apply_note)
    with serving(app) as base:
        yield base, app


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--autoplay-policy=no-user-gesture-required"])
        yield launched
        launched.close()


def js(page, expression: str):  # noqa: ANN001, ANN201
    return page.evaluate(expression)


def wait_ready(page, number: int) -> None:  # noqa: ANN001
    page.wait_for_selector(f"#version-{number} .wave[data-ready='1']", state="attached", timeout=TIMEOUT_MS)


def test_review_in_chromium(server, browser) -> None:
    base, app = server
    link = f"{base}/?t=" + app.state.room.share("approver", "Dana", lifetime_s=3600)[1]
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    console: list[str] = []  # CSP violations and failed loads are reported here
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)

    # open the share link: the token becomes a cookie and leaves the address bar
    page.goto(link)
    assert page.url == f"{base}/"
    wait_ready(page, 1)
    wait_ready(page, 2)
    page.wait_for_function("() => document.querySelector('#status').textContent === 'ready'", timeout=TIMEOUT_MS)
    assert "Dana (approver)" in page.inner_text("#who")
    assert page.inner_text("#active") == "v2"
    assert page.locator("#version-2 .lane.sections span").count() >= 2
    page.screenshot(path=str(SHOTS / "01-opened.png"), full_page=True)

    # play: the playing version's clock moves
    page.click("#play")
    page.wait_for_function("() => window.review.players.get(2).getCurrentTime() > 0.5", timeout=TIMEOUT_MS)
    assert page.inner_text("#play") == "Pause"
    page.screenshot(path=str(SHOTS / "02-playing.png"))
    page.click("#play")
    assert js(page, "window.review.players.get(2).isPlaying()") is False

    # a comment at 0:42, still there after a reload
    page.fill("#comment-time", "0:42")
    page.fill("#comment-body", "the hi-hats get harsh here")
    page.click("#comment-submit")
    page.wait_for_selector("#comments .comment >> text=the hi-hats get harsh here", timeout=TIMEOUT_MS)
    page.reload()
    wait_ready(page, 2)
    page.wait_for_function("() => document.querySelector('#status').textContent === 'ready'", timeout=TIMEOUT_MS)
    comment = page.locator("#comments .comment", has_text="the hi-hats get harsh here")
    comment.wait_for(timeout=TIMEOUT_MS)
    assert comment.locator(".when").inner_text() == "0:42"
    assert "Dana" in comment.locator(".by").inner_text()
    page.wait_for_function("() => window.review.players.get(2).regions.getRegions().some(r => r.id.startsWith('c'))",
                           timeout=TIMEOUT_MS)
    page.screenshot(path=str(SHOTS / "03-comment-after-reload.png"), full_page=True)

    # A/B: from v2 at 0:20 to v1 at the same position, still playing
    js(page, "window.review.players.get(2).setTime(20)")
    page.click("#play")
    page.wait_for_function("() => window.review.players.get(2).getCurrentTime() > 20.3", timeout=TIMEOUT_MS)
    page.click("#ab-toggle")
    assert page.inner_text("#active") == "v1"
    page.wait_for_function("() => window.review.players.get(1).isPlaying()", timeout=TIMEOUT_MS)
    one, two = js(page, "[window.review.players.get(1).getCurrentTime(), window.review.players.get(2).getCurrentTime()]")
    assert js(page, "window.review.players.get(2).isPlaying()") is False
    assert 20.0 < one < 22.0 and abs(one - two) < 0.5, (one, two)
    page.screenshot(path=str(SHOTS / "04-ab-switched-to-v1.png"))
    page.click("#ab-toggle")
    assert page.inner_text("#active") == "v2"
    page.click("#play")

    # loop a range dragged on the waveform: playback keeps coming back into it
    box = page.locator("#version-2 .wave").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 0.2 * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + 0.22 * box["width"], y, steps=5)
    page.mouse.move(box["x"] + 0.24 * box["width"], y, steps=5)
    page.mouse.up()
    page.wait_for_function("() => window.review.selection !== null", timeout=TIMEOUT_MS)
    start, end = js(page, "[window.review.selection.start, window.review.selection.end]")
    assert 0.18 * 45 < start < end < 0.26 * 45 and end - start > 1.0, (start, end)
    assert page.input_value("#comment-time").count("-") == 1  # a range comment is one click away
    page.check("#loop")
    js(page, f"window.review.players.get(2).setTime({start}); window.review.players.get(2).play()")
    page.wait_for_timeout(1000 * (end - start) + 1500)  # past the range's end
    now = js(page, "window.review.players.get(2).getCurrentTime()")
    assert start <= now <= end + 0.3, (start, end, now)
    page.screenshot(path=str(SHOTS / "05-loop.png"))
    page.click("#play")
    page.uncheck("#loop")

    # request a revision from the comment: progress, then version 3 with its explanation
    page.locator("#comments .comment", has_text="the hi-hats get harsh here").locator(".revise").click()
    page.wait_for_selector(".job", timeout=TIMEOUT_MS)
    page.screenshot(path=str(SHOTS / "06-revision-running.png"))
    page.wait_for_selector(".job[data-state='done']", timeout=TIMEOUT_MS)
    wait_ready(page, 3)
    card = page.locator("#version-3")
    assert "note at 42.0 s: the hi-hats get harsh here" in card.locator("h3").inner_text()
    assert "bass" in card.locator(".explanation").inner_text()
    assert page.locator(".version").first.get_attribute("id") == "version-3"
    page.screenshot(path=str(SHOTS / "07-new-version.png"), full_page=True)

    # approve it
    card.locator(".approve").click()
    card = page.locator("#version-3")
    card.locator(".approved", has_text="approved by Dana").wait_for(timeout=TIMEOUT_MS)
    page.screenshot(path=str(SHOTS / "08-approved.png"), full_page=True)

    # reference audio: a text file is refused, a WAV is listed with a player
    page.set_input_files("#upload-file", files=[{"name": "ref.wav", "mimeType": "audio/wav",
                                                  "buffer": b"this is not audio at all" * 20}])
    page.wait_for_selector("#upload-error >> text=not audio", timeout=TIMEOUT_MS)
    page.set_input_files("#upload-file", files=[{"name": "ref.wav", "mimeType": "audio/wav", "buffer": tone_wav()}])
    page.wait_for_selector("#uploads .upload audio", state="attached", timeout=TIMEOUT_MS)
    assert "Dana: 0:02" in page.inner_text("#uploads")
    page.screenshot(path=str(SHOTS / "09-reference-uploaded.png"), full_page=True)
    assert errors == []
    # the one failed request is the refused fake upload (415); nothing else failed or was blocked
    assert [line for line in console if "415" not in line] == [], console


def test_a_viewer_sees_no_comment_form_and_a_bad_link_sees_nothing(server, browser) -> None:
    base, app = server
    store = app.state.room.store
    page = browser.new_page()
    page.goto(f"{base}/?t=" + app.state.room.share("viewer", "Lee", lifetime_s=60)[1])
    wait_ready(page, 1)
    assert page.locator("#comment-form").is_hidden()
    assert page.locator(".approve").first.is_hidden()
    other = browser.new_page()
    response = other.goto(f"{base}/?t=" + sign_token(b"x" * 32, store.project_id, "owner", lifetime_s=60))
    assert response.status == 401 and other.locator(".version").count() == 0
    other.screenshot(path=str(SHOTS / "10-bad-link.png"))
