"""Review room speed: API latencies, first render vs cached audio, a revision job, page load in Chromium.

Prints numbers, asserts nothing. Uses the test suite's song and fake note engine (tests/).
Run: .venv/bin/python bench/bench_review.py
"""

from __future__ import annotations

import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fastapi.testclient import TestClient  # noqa: E402
from review_fixtures import fake_apply_note, make_project, wait_for_job  # noqa: E402

from trackwright.review import create_app  # noqa: E402

SONG_S = 60.0


def timed(fn, repeats: int = 1) -> tuple[float, object]:  # noqa: ANN001
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        t0 = time.perf_counter()
        project = make_project(Path(scratch), seconds=SONG_S)
        print(f"project from a {SONG_S:.0f} s song (3 stems, 22.05 kHz): {time.perf_counter() - t0:.2f} s")
        t_app, app = timed(lambda: create_app(project.path, revise=fake_apply_note))
        print(f"create_app: {1000 * t_app:.1f} ms")
        owner = {"Authorization": f"Bearer {app.state.room.owner_token()}"}
        with TestClient(app, base_url="http://127.0.0.1") as client:  # the room answers to IP addresses
            for url in ("/api/session", "/api/versions", "/api/analysis", "/api/comments"):
                t, _ = timed(lambda url=url: client.get(url, headers=owner), repeats=30)
                print(f"GET {url:<22} median {1000 * t:6.1f} ms")
            t_first, audio = timed(lambda: client.get("/api/versions/1/audio", headers=owner))
            t_cached, _ = timed(lambda: client.get("/api/versions/1/audio", headers=owner), repeats=10)
            print(f"GET /api/versions/1/audio: first (render) {1000 * t_first:.0f} ms, cached median "
                  f"{1000 * t_cached:.1f} ms, {len(audio.content) / 1e6:.1f} MB")
            body = {"version": 1, "start_s": 42.0, "body": "bench comment"}
            t, _ = timed(lambda: client.post("/api/comments", json=body, headers=owner), repeats=50)
            print(f"POST /api/comments median {1000 * t:.1f} ms")
            t, _ = timed(lambda: client.get("/api/comments", headers=owner), repeats=20)
            print(f"GET /api/comments with 50 comments median {1000 * t:.1f} ms")
            comment = client.get("/api/comments", headers=owner).json()[0]
            t0 = time.perf_counter()
            job = client.post(f"/api/comments/{comment['id']}/revise", json={}, headers=owner).json()
            job = wait_for_job(lambda url: client.get(url, headers=owner), job["id"], timeout_s=120)
            print(f"revision job (fake engine: 0.3 s sleep + commit, then render): {job['state']} in "
                  f"{time.perf_counter() - t0:.2f} s")
        page_load(app)


def page_load(app) -> None:  # noqa: ANN001
    chromium = shutil.which("chromium")
    try:
        import uvicorn
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError as err:
        print(f"page load: skipped ({err.name} missing)")
        return
    if chromium is None:
        print("page load: skipped (no chromium)")
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    link = f"http://127.0.0.1:{port}/?t={app.state.room.owner_token()}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        times = []
        for _ in range(3):
            page = browser.new_page()
            t0 = time.perf_counter()
            page.goto(link)
            page.wait_for_selector("#version-2 .wave[data-ready='1']", state="attached", timeout=60_000)
            page.wait_for_selector("#version-1 .wave[data-ready='1']", state="attached", timeout=60_000)
            times.append(time.perf_counter() - t0)
            page.close()
        browser.close()
    print(f"page load to two {SONG_S:.0f} s waveforms drawn (headless Chromium): median "
          f"{statistics.median(times):.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})")
    server.should_exit = True
    thread.join(timeout=10)


if __name__ == "__main__":
    main()
