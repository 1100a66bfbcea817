"""`trackwright review`: prints working links, binds to loopback, refuses bad flags in one line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the review extra (fastapi) is not installed")
httpx = pytest.importorskip("httpx", reason="httpx is not installed (test extra)")
from clirun import run  # noqa: E402
from review_fixtures import free_port, make_project  # noqa: E402


def test_review_serves_the_printed_links_on_loopback(tmp_path: Path) -> None:
    project = make_project(tmp_path, seconds=4.0)
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TRACKWRIGHT_AUTHOR": "Robin"}
    process = subprocess.Popen([sys.executable, "-m", "trackwright", "review", str(project.path), "--port", str(port),
                                "--share", "viewer", "--share-days", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        links = dict(re.findall(r"^(\w+) link .*?(http://\S+)$", "".join(lines), flags=re.M))
        assert set(links) == {"owner", "viewer"}, lines
        deadline = time.monotonic() + 15
        while True:
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                    owner = client.get(links["owner"].split(str(port), 1)[1], follow_redirects=True)
                    break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert owner.status_code == 200 and "wavesurfer" in owner.text
        token = links["viewer"].split("?t=", 1)[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            session = client.get("/api/session", headers={"Authorization": f"Bearer {token}"}).json()
            assert session["role"] == "viewer" and 1.9 * 86400 < session["expires_s"] - time.time() <= 2 * 86400
            assert client.get("/api/session").status_code == 401
        ss = shutil.which("ss")
        if ss:  # loopback only: listening on 127.0.0.1, not on every address
            listening = subprocess.run([ss, "-ltn"], capture_output=True, text=True).stdout
            assert f"127.0.0.1:{port}" in listening and f"0.0.0.0:{port}" not in listening
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_review_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "review", tmp_path / "nothing")
    assert code == 1 and err.startswith("error:") and "no such project" in err and err.count("\n") == 1
    project = make_project(tmp_path, seconds=4.0)
    code, _, err = run(capsys, "review", project.path, "--share", "admin")
    assert code == 1 and "--share takes viewer, commenter or approver" in err
    code, _, err = run(capsys, "review", project.path, "--port", "70000")
    assert code == 1 and "--port" in err
