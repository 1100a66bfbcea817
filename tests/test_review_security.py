"""The review room against a hostile browser and a hostile project folder, through its real HTTP
server on 127.0.0.1 (uvicorn on a thread): cross-origin writes, DNS rebinding, bodies streamed
before authentication, the signing secret, revoked links, files outside the project, spoofed
names, numbers that used to give server errors, jobs orphaned by a killed server (issue 19)."""

from __future__ import annotations

import base64
import http.server
import io
import json
import os
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi", reason="the review extra (fastapi) is not installed")
pytest.importorskip("uvicorn", reason="the review extra (uvicorn) is not installed")
httpx = pytest.importorskip("httpx", reason="httpx is not installed (test extra)")
from clirun import run  # noqa: E402
from review_fixtures import free_port, make_project, serving, share_token  # noqa: E402

from trackwright.review import create_app  # noqa: E402
from trackwright.review.store import ORPHANED, REVIEW_DB, ReviewStore  # noqa: E402

DAY_S = 86400.0
LIMIT = 300_000  # the rooms here take uploads up to 300 kB


def wav_bytes(seconds: float = 1.0, rate: int = 22050) -> bytes:
    t = np.arange(round(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, (0.25 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory):
    """(base URL, app, project) for a 6 s project served on 127.0.0.1."""
    project = make_project(tmp_path_factory.mktemp("review-security"), seconds=6.0)
    app = create_app(project.path, max_upload_bytes=LIMIT)
    with serving(app) as base:
        yield base, app, project


def approvals(base: str, owner: str) -> list[str]:
    versions = httpx.get(f"{base}/api/versions", headers=bearer(owner)).json()
    return [a["author"] for v in versions for a in v["approvals"]]


@contextmanager
def cookie_client(base: str, token: str) -> Iterator[httpx.Client]:
    """A client that opened a share link: the token is its session cookie."""
    with httpx.Client(base_url=base) as client:
        assert client.get(f"/?t={token}").status_code == 303
        yield client


# -- 1. cross-origin writes and the CSRF token -------------------------------------------------
def test_changes_need_this_origin_and_the_sessions_csrf_token(room) -> None:
    base, app, _ = room
    owner = app.state.room.owner_token()
    token = share_token(app, "approver", "Dana")
    port = urlsplit(base).port
    before = approvals(base, owner)
    with cookie_client(base, token) as dana:
        csrf = dana.get("/api/session").json().get("csrf", "")
        approve = "/api/versions/1/approve"
        foreign = [{"Origin": "http://evil.example"}, {"Origin": f"http://127.0.0.1:{port + 1}"},
                   {"Origin": "null"}, {"Referer": f"http://127.0.0.1:{port + 1}/attack.html"}]
        for headers in foreign:  # even with the right CSRF token
            response = dana.post(approve, headers={**headers, "X-CSRF-Token": csrf})
            assert response.status_code == 403, (headers, response.text)
        assert dana.post(approve, headers={"Origin": base}).status_code == 403  # no CSRF token
        assert dana.post(approve, headers={"Origin": base, "X-CSRF-Token": csrf[:-2] + "xx"}).status_code == 403
        assert dana.post(approve, headers={"Origin": base, "X-CSRF-Token": csrf}).status_code == 201
        assert dana.post(approve, headers={"Referer": f"{base}/", "X-CSRF-Token": csrf}).status_code == 201
    # a script's bearer token needs no CSRF token, but a foreign origin is still refused
    assert httpx.post(f"{base}{approve}", headers={**bearer(token), "Origin": "http://evil.example"}).status_code == 403
    assert httpx.post(f"{base}{approve}", headers=bearer(token)).status_code == 201
    assert approvals(base, owner) == before + ["Dana"] * 3


def test_unknown_host_names_are_refused(room) -> None:
    base, app, _ = room
    owner = bearer(app.state.room.owner_token())
    port = urlsplit(base).port
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.nip.example:{port}", ""):
        response = httpx.get(f"{base}/api/session", headers={**owner, "Host": host})
        assert response.status_code == 400, (host, response.status_code)
        assert "Host" in response.json()["detail"]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
        assert httpx.get(f"{base}/api/session", headers={**owner, "Host": host}).status_code == 200, host


# -- 2. upload bodies are read only after the checks, and only up to the limit ----------------
def raw_exchange(base: str, head: str, body: bytes = b"", timeout_s: float = 5.0) -> tuple[int, float]:
    """Send ``head`` and ``body`` on a socket; (status, seconds until the status line came)."""
    parts = urlsplit(base)
    t0 = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s) as sock:
        sock.sendall(head.encode("latin-1") + body)
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1]), time.monotonic() - t0


def test_upload_bodies_are_not_read_before_the_token_and_size_checks(room) -> None:
    base, app, project = room
    host = urlsplit(base).netloc
    declared = 118 * 1024 * 1024  # 118 MiB announced, 64 KiB sent: the answer must not wait for the rest
    head = (f"POST /api/uploads HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {declared}\r\n")
    part = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n'
    status, took = raw_exchange(base, head + "\r\n", part + b"\0" * 65536)
    assert status == 401 and took < 4.0, (status, took)
    commenter = share_token(app, "commenter", "Kim")
    head = (f"POST /api/uploads HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {commenter}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {LIMIT + 1}\r\n\r\n")
    status, took = raw_exchange(base, head, b"\0" * 1024)
    assert status == 413 and took < 4.0, (status, took)

    def chunks():  # no Content-Length: the limit is enforced while streaming
        for _ in range(40):
            yield b"\0" * 16384

    response = httpx.post(f"{base}/api/uploads", content=chunks(),
                          headers={**bearer(commenter), "Content-Type": "application/octet-stream"})
    assert response.status_code == 413
    folder = project.path / "review-uploads"
    assert not folder.exists() or list(folder.iterdir()) == []
    good = httpx.post(f"{base}/api/uploads", content=wav_bytes(1.0),
                      headers={**bearer(commenter), "Content-Type": "application/octet-stream"})
    assert good.status_code == 201 and good.json()["author"] == "Kim"
    (folder / good.json()["file_name"]).unlink()


# -- 3. the secret: outside the project, 0600; links listed and revoked -------------------------
def test_the_secret_never_travels_with_the_project_and_links_can_be_revoked(room, tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    base, app, project = room
    db = project.path / REVIEW_DB
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    with sqlite3.connect(db) as con:
        keys = {k for (k,) in con.execute("SELECT key FROM meta")}
    assert "secret" not in keys
    secret = app.state.room.store.secret
    assert secret.hex().encode() not in db.read_bytes()
    key_files = list((Path(os.environ["TRACKWRIGHT_CONFIG_DIR"]) / "review-keys").glob("*.key"))
    assert any(bytes.fromhex(p.read_text().strip()) == secret for p in key_files)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in key_files)

    token = share_token(app, "commenter", "Ana")
    assert httpx.get(f"{base}/api/session", headers=bearer(token)).status_code == 200
    copy = tmp_path / "copy"  # a project folder someone copied: the original's links open nothing there
    shutil.copytree(project.path, copy, symlinks=True)
    with serving(create_app(copy)) as other:
        refused = httpx.get(f"{other}/api/session", headers=bearer(token))
        assert refused.status_code == 401, refused.text

    owner = bearer(app.state.room.owner_token())
    made = httpx.post(f"{base}/api/share", json={"role": "viewer", "name": "Lou"}, headers=owner).json()
    assert httpx.get(f"{base}/api/session", headers=bearer(made["token"])).json()["name"] == "Lou"
    listed = {link["id"]: link for link in httpx.get(f"{base}/api/share", headers=owner).json()}
    assert listed[made["id"]]["state"] == "live" and "token" not in listed[made["id"]]
    assert httpx.delete(f"{base}/api/share/{made['id']}", headers=owner).json()["state"] == "revoked"
    gone = httpx.get(f"{base}/api/session", headers=bearer(made["token"]))
    assert gone.status_code == 401 and "revoked" in gone.json()["detail"]

    # the same from the command line
    ana = next(link for link in app.state.room.store.links() if link.name == "Ana")
    code, out, _ = run(capsys, "review", project.path, "--links")
    assert code == 0 and "Ana" in out and "Lou" in out and "revoked" in out
    code, out, _ = run(capsys, "review", project.path, "--revoke", ana.id, "--json")
    assert code == 0 and json.loads(out)[0]["state"] == "revoked"
    assert httpx.get(f"{base}/api/session", headers=bearer(token)).status_code == 401
    code, _, err = run(capsys, "review", project.path, "--revoke", 2**70)
    assert code == 1 and err.startswith("error:") and err.count("\n") == 1


# -- 4. files outside the project are never served ---------------------------------------------
def test_files_outside_the_project_or_behind_links_are_not_served(tmp_path: Path) -> None:
    project = make_project(tmp_path, seconds=4.0)
    outside = tmp_path / "private.wav"
    outside.write_bytes(wav_bytes(0.5) + b"PRIVATE")
    app = create_app(project.path)
    owner = bearer(app.state.room.owner_token())
    uploads = project.path / "review-uploads"
    uploads.mkdir()
    rows = {"a" * 32: str(outside), "b" * 32: "../../private.wav", "c" * 32: "c" * 32 + ".wav"}
    (uploads / f"{'c' * 32}.wav").symlink_to(outside)
    store = ReviewStore(project.path)
    for upload_id, name in rows.items():
        store.add_upload(upload_id, name, "audio/wav", 10, 22050, 1, 0.5, author="someone")
    with serving(app) as base:
        for upload_id in rows:
            response = httpx.get(f"{base}/api/uploads/{upload_id}/audio", headers=owner)
            assert response.status_code == 404 and b"PRIVATE" not in response.content, upload_id
        assert httpx.get(f"{base}/api/versions/1/audio", headers=owner).status_code == 200
        mix = project.render(1).mix  # a render cache file swapped for a link
        mix.unlink()
        mix.symlink_to(outside)
        app.state.room.overviews.clear()
        for url in ("/api/versions/1/audio", "/api/versions/1/peaks"):
            response = httpx.get(f"{base}{url}", headers=owner)
            assert response.status_code == 404 and b"PRIVATE" not in response.content, url


def test_a_project_opened_by_a_relative_path_still_serves_its_own_files(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    make_project(tmp_path, seconds=4.0)
    monkeypatch.chdir(tmp_path)
    app = create_app("project")  # what `trackwright review project` does
    with serving(app) as base:
        audio = httpx.get(f"{base}/api/versions/1/audio", headers=bearer(app.state.room.owner_token()))
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"


# -- 5. the server stamps the name; a request cannot choose one ---------------------------------
def test_comments_carry_the_links_name_never_one_the_request_chooses(room) -> None:
    base, app, _ = room
    owner = bearer(app.state.room.owner_token())
    unnamed = httpx.post(f"{base}/api/share", json={"role": "commenter"}, headers=owner).json()
    spoof = httpx.post(f"{base}/api/comments", headers=bearer(unnamed["token"]),
                       json={"version": 1, "start_s": 1.0, "body": "ship it", "author": "root"})
    assert spoof.status_code == 422
    plain = httpx.post(f"{base}/api/comments", headers=bearer(unnamed["token"]),
                       json={"version": 1, "start_s": 1.0, "body": "ship it"}).json()
    assert plain["author"] == f"commenter {unnamed['id']}" == unnamed["name"]
    assert "root" not in {c["author"] for c in httpx.get(f"{base}/api/comments", headers=owner).json()}


# -- 6. numbers: 422, never a server error ------------------------------------------------------
def test_bad_numbers_are_422_never_500(room) -> None:
    base, app, _ = room
    owner = bearer(app.state.room.owner_token())
    huge = 2**63
    raw = {"Content-Type": "application/json", **owner}
    bodies = ['{"version": 1, "start_s": NaN, "body": "x"}', '{"version": 1, "start_s": Infinity, "body": "x"}',
              '{"version": 1, "start_s": 1, "end_s": -Infinity, "body": "x"}',
              f'{{"version": {huge}, "start_s": 1, "body": "x"}}', f'{{"parent_id": {huge}, "body": "x"}}',
              '{"version": 1, "start_s": 1e400, "body": "x"}']
    for body in bodies:
        response = httpx.post(f"{base}/api/comments", content=body, headers=raw)
        assert response.status_code == 422, (body, response.status_code, response.text)
    share = httpx.post(f"{base}/api/share", content='{"role": "viewer", "lifetime_s": NaN}', headers=raw)
    assert share.status_code == 422
    for method, url in [("GET", f"/api/versions/{huge}/audio"), ("GET", f"/api/versions/{huge}/report"),
                        ("GET", f"/api/jobs/{huge}"), ("GET", f"/api/comments?version={huge}"),
                        ("POST", f"/api/versions/{huge}/approve"), ("POST", f"/api/comments/{huge}/revise"),
                        ("DELETE", f"/api/share/{huge}"), ("GET", "/api/versions/-1/peaks")]:
        response = httpx.request(method, f"{base}{url}", headers=owner, json={"state": "open"})
        assert response.status_code == 422, (method, url, response.status_code)
    patch = httpx.patch(f"{base}/api/comments/{huge}", headers=owner, json={"state": "open"})
    assert patch.status_code == 422


# -- 7. a job killed with its server ends, and the page stops polling it ------------------------
_SLOW_SERVER = textwrap.dedent("""
    import sys, time, uvicorn
    from trackwright.review import create_app

    def engine(project, text, *, at, author, progress):  # a note engine that never finishes
        progress(0.1, "thinking very slowly")
        time.sleep(3600)

    uvicorn.run(create_app(sys.argv[1], revise=engine), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
""")


def start_slow_server(project: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1] / "src"), *sys.path])}
    process = subprocess.Popen([sys.executable, "-c", _SLOW_SERVER, str(project), str(port)], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/session")
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the review server did not start")


def test_a_job_left_running_by_a_killed_server_is_failed_on_restart(tmp_path: Path) -> None:
    project = make_project(tmp_path, seconds=4.0)
    room_ = create_app(project.path)
    owner = bearer(room_.state.room.owner_token())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_slow_server(project.path, port)
    try:
        comment = httpx.post(f"{base}/api/comments", json={"version": 1, "start_s": 1.0, "body": "darker"},
                             headers=owner).json()
        job = httpx.post(f"{base}/api/comments/{comment['id']}/revise", json={}, headers=owner).json()
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/api/jobs/{job['id']}", headers=owner).json()["state"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert ReviewStore(project.path).job(job["id"]).state == "running"  # what the killed server left
    app = create_app(project.path)
    assert app.state.room.jobs.orphans == [job["id"]]
    with serving(app, port):
        ended = httpx.get(f"{base}/api/jobs/{job['id']}", headers=owner).json()
    assert (ended["state"], ended["label"], ended["progress"]) == ("failed", ORPHANED, 1.0)


# -- in Chromium: another origin's page, and a page polling through a restart --------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
TIMEOUT_MS = 20_000

_ATTACK = """<!doctype html><title>free music</title>
<form id="f" method="POST" action="{room}/api/versions/1/approve"></form>
<script>
(async () => {{
  const wav = Uint8Array.from(atob("{wav}"), (c) => c.charCodeAt(0));
  const form = new FormData();
  form.append("file", new Blob([wav], {{ type: "audio/wav" }}), "ref.wav");
  try {{ await fetch("{room}/api/uploads", {{ method: "POST", mode: "no-cors", credentials: "include", body: form }}); }}
  catch (err) {{}}
  try {{ await fetch("{room}/api/uploads", {{ method: "POST", mode: "no-cors", credentials: "include",
                                              body: new Blob([wav]) }}); }}
  catch (err) {{}}
  document.title = "sent";
  document.getElementById("f").submit();
}})();
</script>"""


@contextmanager
def attacker_site(html: str) -> Iterator[str]:
    """Serve one page on another port of 127.0.0.1 (another origin, the same site); yield its URL."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            data = html.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/attack.html"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (test extra)")
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@needs_chromium
def test_a_page_on_another_port_cannot_approve_or_upload_in_a_reviewers_name(room, chromium) -> None:
    base, app, project = room
    owner = app.state.room.owner_token()
    token = share_token(app, "approver", "Vic")
    context = chromium.new_context()
    victim = context.new_page()
    victim.goto(f"{base}/?t={token}")  # the reviewer has the room open: the cookie is set
    victim.wait_for_function("() => document.querySelector('#status').textContent === 'ready'", timeout=TIMEOUT_MS)
    before = approvals(base, owner)
    uploads_before = httpx.get(f"{base}/api/uploads", headers=bearer(owner)).json()
    html = _ATTACK.format(room=base, wav=base64.b64encode(wav_bytes(0.5)).decode("ascii"))
    with attacker_site(html) as url:
        page = context.new_page()
        answers: list[tuple[str, int]] = []
        page.on("response", lambda r: answers.append((r.url, r.status)) if r.url.startswith(base) else None)
        with page.expect_navigation(url=f"{base}/api/versions/1/approve", timeout=TIMEOUT_MS):
            page.goto(url)
    assert approvals(base, owner) == before  # no approval in Vic's name
    assert httpx.get(f"{base}/api/uploads", headers=bearer(owner)).json() == uploads_before
    assert (f"{base}/api/versions/1/approve", 403) in answers, answers
    context.close()


@needs_chromium
def test_the_page_stops_polling_a_job_that_a_restart_marked_failed(tmp_path: Path, chromium) -> None:
    project = make_project(tmp_path, seconds=4.0)
    room_ = create_app(project.path)
    owner = bearer(room_.state.room.owner_token())
    token = share_token(room_, "approver", "Rae")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_slow_server(project.path, port)
    page = chromium.new_page()
    polls: list[float] = []
    page.on("request", lambda r: polls.append(time.monotonic()) if "/api/jobs/" in r.url else None)
    try:
        httpx.post(f"{base}/api/comments", json={"version": 1, "start_s": 1.0, "body": "brighter"}, headers=owner)
        page.goto(f"{base}/?t={token}")
        page.wait_for_function("() => document.querySelector('#status').textContent === 'ready'", timeout=TIMEOUT_MS)
        page.locator("#comments .comment .revise").first.click()
        page.wait_for_selector(".job[data-state='running']", timeout=TIMEOUT_MS)
    finally:
        process.send_signal(signal.SIGKILL)  # the server dies with the job running
        process.wait(timeout=10)
    with serving(create_app(project.path), port):  # restarted: the lost job is marked failed
        page.wait_for_selector(".job[data-state='failed']", timeout=TIMEOUT_MS)
        assert "stopped while this revision ran" in page.inner_text(".job")
        seen = len(polls)
        page.wait_for_timeout(2500)
        assert len(polls) == seen  # no more polling once it ended
