"""The review room's API: what each role may do, what everyone else is refused, uploads, revision jobs."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi", reason="the review extra (fastapi) is not installed")
from fastapi.testclient import TestClient  # noqa: E402
from review_fixtures import FAKE_BASS_GAIN_DB, fake_apply_note, make_project, wait_for_job  # noqa: E402

from trackwright.arrange.edl import EditList, Segment  # noqa: E402
from trackwright.audio import Audio, load_audio, save_audio  # noqa: E402
from trackwright.errors import ParameterError  # noqa: E402
from trackwright.review.peaks import peaks  # noqa: E402
from trackwright.review import create_app, sign_token, verify_token  # noqa: E402
from trackwright.review.jobs import NO_ENGINE  # noqa: E402
from trackwright.review.store import REVIEW_DB  # noqa: E402
from trackwright.review.timeline import output_spans, place  # noqa: E402
from trackwright.review.tokens import AccessError  # noqa: E402
from trackwright.revise import apply_note  # noqa: E402

DAY_S = 86400.0
#: The room answers to IP addresses and localhost only (TestClient's own "testserver" is refused).
BASE = "http://127.0.0.1"


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory):
    """(client, tokens by role, project) over a 12 s project, uploads limited to 300 kB."""
    project = make_project(tmp_path_factory.mktemp("review"))
    app = create_app(project.path, revise=fake_apply_note, max_upload_bytes=300_000)
    tokens = {role: app.state.room.share(role, f"{role} person", lifetime_s=DAY_S)[1]
              for role in ("viewer", "commenter", "approver")}
    tokens["owner"] = app.state.room.owner_token()
    with TestClient(app, base_url=BASE) as client:
        yield client, tokens, project


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wav_bytes(seconds: float = 1.0, rate: int = 22050) -> bytes:
    t = np.arange(round(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, (0.25 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


# Every route, with a request that would succeed for the owner.
ROUTES = [("GET", "/api/session", None), ("GET", "/api/versions", None), ("GET", "/api/analysis", None),
          ("GET", "/api/versions/1/audio", None), ("GET", "/api/versions/1/report", None),
          ("GET", "/api/versions/1/peaks", None),
          ("GET", "/api/comments", None), ("GET", "/api/uploads", None), ("GET", "/static/app.js", None),
          ("POST", "/api/comments", {"version": 1, "start_s": 1.0, "body": "x"}),
          ("PATCH", "/api/comments/1", {"state": "resolved"}),
          ("POST", "/api/versions/1/approve", None), ("POST", "/api/comments/1/revise", {}),
          ("GET", "/api/jobs/1", None), ("POST", "/api/share", {"role": "viewer"}), ("GET", "/api/share", None),
          ("DELETE", "/api/share/999", None)]


def bad_tokens(store_secret: bytes, project_id: str) -> dict[str, dict[str, str]]:
    other_secret = b"s" * 32
    return {
        "no token": {},
        "garbage": bearer("not-a-token"),
        "forged signature": bearer(sign_token(store_secret, project_id, "owner", lifetime_s=DAY_S)[:-3] + "AAA"),
        "other room's secret": bearer(sign_token(other_secret, project_id, "owner", lifetime_s=DAY_S)),
        "wrong project": bearer(sign_token(store_secret, "0" * 32, "owner", lifetime_s=DAY_S)),
        "expired link": bearer(sign_token(store_secret, project_id, "owner", lifetime_s=60, now_s=1_000_000.0,
                                          link_id=1)),
        "no link id": bearer(sign_token(store_secret, project_id, "owner", lifetime_s=DAY_S)),
        "cookie from another room": {"Cookie": "tw_review=" + sign_token(other_secret, "x", "owner", lifetime_s=60)},
    }


def test_every_route_refuses_requests_without_a_valid_token(room) -> None:
    client, _, project = room
    store = client.app.state.room.store
    for why, headers in bad_tokens(store.secret, store.project_id).items():
        for method, url, body in ROUTES:
            response = client.request(method, url, json=body, headers=headers)
            assert response.status_code == 401, (why, method, url, response.text)
            assert set(response.json()) == {"detail"}, (why, url)
            assert str(project.path) not in response.text and "bass" not in response.text
        page = client.get("/", headers=headers)
        assert page.status_code == 401 and "<script" not in page.text, why
        assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/?t=garbage").status_code == 401
    assert "expired" in client.get("/api/session", headers=bad_tokens(store.secret, store.project_id)
                                   ["expired link"]).json()["detail"]


def test_roles_are_enforced(room) -> None:
    client, tokens, _ = room
    allowed = {  # the weakest role that may call each route
        ("POST", "/api/comments"): "commenter", ("PATCH", "/api/comments/1"): "commenter",
        ("POST", "/api/versions/1/approve"): "approver", ("POST", "/api/comments/1/revise"): "approver",
        ("POST", "/api/share"): "owner", ("GET", "/api/share"): "owner", ("DELETE", "/api/share/999"): "owner",
    }
    order = ["viewer", "commenter", "approver", "owner"]
    client.post("/api/comments", json={"version": 1, "start_s": 2.0, "body": "first"}, headers=bearer(tokens["owner"]))
    before = {"comments": len(client.get("/api/comments", headers=bearer(tokens["owner"])).json()),
              "approvals": sum(len(v["approvals"]) for v in client.get("/api/versions",
                                                                       headers=bearer(tokens["owner"])).json())}
    for (method, url), weakest in allowed.items():
        body = next(b for m, u, b in ROUTES if (m, u) == (method, url))
        for role in order[:order.index(weakest)]:
            response = client.request(method, url, json=body, headers=bearer(tokens[role]))
            assert response.status_code == 403, (role, url, response.text)
            assert weakest in response.json()["detail"]
    after = client.get("/api/versions", headers=bearer(tokens["owner"])).json()
    assert len(client.get("/api/comments", headers=bearer(tokens["owner"])).json()) == before["comments"]
    assert sum(len(v["approvals"]) for v in after) == before["approvals"]
    for role in order:  # everyone may read
        for method, url, _ in ROUTES:
            if method == "GET" and "jobs" not in url and "share" not in url:
                assert client.get(url, headers=bearer(tokens[role])).status_code == 200, (role, url)


def test_share_links_carry_role_name_and_expiry(room) -> None:
    client, tokens, _ = room
    made = client.post("/api/share", json={"role": "commenter", "lifetime_s": 3600, "name": "Dana (director)"},
                       headers=bearer(tokens["owner"])).json()
    store = client.app.state.room.store
    grant = verify_token(store.secret, store.project_id, made["token"])
    assert (grant.role, grant.name) == ("commenter", "Dana (director)")
    assert made["path"] == f"/?t={made['token']}"
    opened = client.get(made["path"], follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/"
    cookie = opened.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    client.cookies.set("tw_review", made["token"])
    try:
        session = client.get("/api/session").json()
        assert session["role"] == "commenter" and session["name"] == "Dana (director)"
        page = client.get("/")
        assert page.status_code == 200 and "wavesurfer" in page.text
        assert page.headers["referrer-policy"] == "no-referrer" and "frame-ancestors 'none'" in \
            page.headers["content-security-policy"]
    finally:
        client.cookies.clear()
    assert client.post("/api/share", json={"role": "owner"}, headers=bearer(tokens["owner"])).status_code == 400
    with pytest.raises(AccessError, match="expired"):
        verify_token(store.secret, store.project_id, made["token"], now_s=grant.expires_s + 1)


def test_comments_thread_resolve_and_approve(room) -> None:
    client, tokens, _ = room
    dana = bearer(tokens["commenter"])
    made = client.post("/api/comments", json={"version": 1, "start_s": 4.5, "end_s": 6.0, "body": "too busy here"},
                       headers=dana)
    assert made.status_code == 201
    comment = made.json()
    assert (comment["author"], comment["state"], comment["start_s"], comment["end_s"]) == \
        ("commenter person", "open", 4.5, 6.0)
    reply = client.post("/api/comments", json={"parent_id": comment["id"], "body": "agreed"},
                        headers=bearer(tokens["approver"])).json()
    assert (reply["parent_id"], reply["version"], reply["start_s"]) == (comment["id"], 1, 4.5)
    resolved = client.patch(f"/api/comments/{comment['id']}", json={"state": "resolved"}, headers=dana).json()
    assert resolved["state"] == "resolved"
    listed = client.get("/api/comments?version=1", headers=bearer(tokens["viewer"])).json()
    assert {c["id"] for c in listed} >= {comment["id"], reply["id"]}
    bad = [({"version": 1, "start_s": -1, "body": "x"}, 422), ({"version": 1, "start_s": 3, "end_s": 2, "body": "x"}, 400),
           ({"version": 99, "start_s": 1, "body": "x"}, 404), ({"version": 1, "start_s": 1, "body": "   "}, 400),
           ({"parent_id": 9999, "body": "x"}, 400), ({"version": 1, "start_s": 1, "body": "x" * 4001}, 422)]
    for body, status in bad:
        assert client.post("/api/comments", json=body, headers=dana).status_code == status, body
    assert client.patch(f"/api/comments/{comment['id']}", json={"state": "deleted"}, headers=dana).status_code == 400
    approved = client.post("/api/versions/1/approve", headers=bearer(tokens["approver"]))
    assert approved.status_code == 201 and approved.json()["author"] == "approver person"
    versions = client.get("/api/versions", headers=bearer(tokens["viewer"])).json()
    assert versions[0]["approvals"][-1]["author"] == "approver person"
    assert client.post("/api/versions/7/approve", headers=bearer(tokens["approver"])).status_code == 404
    # the project's own store is untouched: comments live in review.db
    with sqlite3.connect(client.app.state.room.project.path / "project.db") as con:
        tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"meta", "versions", "renders"}


def test_audio_and_reports_are_served_by_id_only(room) -> None:
    client, tokens, project = room
    owner = bearer(tokens["owner"])
    audio = client.get("/api/versions/1/audio", headers=owner)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    served, rate = sf.read(io.BytesIO(audio.content), dtype="float32", always_2d=True)
    mix = load_audio(project.render(1).mix)
    assert rate == mix.sample_rate and np.array_equal(served.T, mix.samples)
    ranged = client.get("/api/versions/1/audio", headers={**owner, "Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100
    report = client.get("/api/versions/1/report", headers=owner).json()
    assert report["parts"] == ["bass", "drums", "keys"] and str(project.path) not in str(report)
    assert report["roles"] == {"bass": "bass", "drums": "drums", "keys": "keys"}   # the project's roles
    analysis = client.get("/api/analysis", headers=owner).json()
    assert analysis["sections"] and analysis["sections"][-1]["end_s"] == pytest.approx(12.0, abs=0.05)
    traversal = ["/static/../project.db", "/static/..%2Fproject.db", "/static/%2e%2e/review.db",
                 "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/static//etc/passwd", "/static/index.html/../../review.db",
                 "/api/versions/..%2F..%2Fproject.db/audio", "/api/versions/1%2F..%2F2/audio",
                 "/api/uploads/..%2F..%2Fproject.db/audio", "/api/uploads/" + "a" * 32 + "/audio",
                 "/api/versions/0/audio", "/api/versions/-1/audio", "/api/versions/1e3/report"]
    for url in traversal:
        response = client.get(url, headers=owner)
        assert response.status_code in (404, 422), (url, response.status_code)
        assert b"SQLite format" not in response.content and b"root:" not in response.content, url


def test_uploads_are_limited_checked_by_content_and_renamed(room, tmp_path: Path) -> None:
    client, tokens, project = room
    dana = bearer(tokens["commenter"])
    folder = project.path / "review-uploads"

    def stored() -> list[str]:
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    refused = {
        "fake.wav": (b"RIFF\x00\x00\x00\x00WAVEjunk" + b"\x00" * 200, 415),
        "notes.txt": (b"just some text pretending to be audio" * 10, 415),
        "image.wav": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 500, 415),
        "empty.wav": (b"", 415),
        "huge.wav": (wav_bytes(10.0), 413),  # 441 kB > the 300 kB limit
    }
    octet = {"Content-Type": "application/octet-stream"}
    for name, (content, status) in refused.items():
        response = client.post("/api/uploads", content=content, headers={**dana, **octet})
        assert response.status_code == status, (name, response.text)
        assert stored() == [], name
    good = client.post("/api/uploads", content=wav_bytes(1.0), headers={**dana, **octet})
    assert good.status_code == 201, good.text
    record = good.json()
    assert record["file_name"] == f"{record['id']}.wav" and len(record["id"]) == 32
    assert (record["sample_rate"], record["channels"], record["duration_s"]) == (22050, 1, 1.0)
    assert record["author"] == "commenter person"
    assert stored() == [record["file_name"]]
    assert client.post("/api/uploads", content=wav_bytes(1.0),
                       headers={**bearer(tokens["viewer"]), **octet}).status_code == 403
    form = client.post("/api/uploads", files={"file": ("a.wav", wav_bytes(1.0), "audio/wav")}, headers=dana)
    assert form.status_code == 415 and stored() == [record["file_name"]]  # a form is not a file
    back = client.get(f"/api/uploads/{record['id']}/audio", headers=bearer(tokens["viewer"]))
    assert back.content == wav_bytes(1.0)
    (folder / record["file_name"]).unlink()  # leave the module's project as it was


def test_a_revision_request_runs_the_note_engine_and_renders_the_new_version(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    app = create_app(project.path, revise=fake_apply_note)
    approver = bearer(app.state.room.share("approver", "Sam", lifetime_s=DAY_S)[1])
    with TestClient(app, base_url=BASE) as client:
        comment = client.post("/api/comments", json={"version": 1, "start_s": 3.0, "end_s": 5.0,
                                                     "body": "less bass in the chorus"}, headers=approver).json()
        queued = client.post(f"/api/comments/{comment['id']}/revise", json={}, headers=approver)
        assert queued.status_code == 202 and queued.json()["state"] == "queued"
        job = wait_for_job(lambda url: client.get(url, headers=approver), queued.json()["id"])
        assert job["state"] == "done", job
        assert job["result_version"] == 2 and job["note"] == "less bass in the chorus"
        assert "bass" in job["explanation"] and "3.0 s" in job["explanation"]
        versions = client.get("/api/versions", headers=approver).json()
        assert [v["number"] for v in versions] == [1, 2] and versions[1]["author"] == "Sam via the note engine"
        one, two = (sf.read(io.BytesIO(client.get(f"/api/versions/{n}/audio", headers=approver).content),
                            dtype="float64", always_2d=True)[0].T for n in (1, 2))
    bass = load_audio(project.path / project.recipe(1).stem_sources["bass"]).samples.astype(np.float64)
    expected = one + (10 ** (FAKE_BASS_GAIN_DB / 20) - 1) * bass
    assert np.max(np.abs(two - expected)) < 1e-4  # version 2 is version 1 with the bass 6 dB down


def test_without_a_note_engine_the_job_says_so(tmp_path: Path) -> None:
    project = make_project(tmp_path, seconds=6.0)
    app = create_app(project.path)  # no note engine handed in
    owner = bearer(app.state.room.owner_token())
    with TestClient(app, base_url=BASE) as client:
        comment = client.post("/api/comments", json={"version": 1, "start_s": 1.0, "body": "warmer"},
                              headers=owner).json()
        job = client.post(f"/api/comments/{comment['id']}/revise", json={}, headers=owner).json()
        job = wait_for_job(lambda url: client.get(url, headers=owner), job["id"])
    assert (job["state"], job["label"], job["result_version"]) == ("unavailable", NO_ENGINE, None)
    assert [v.number for v in project.versions()] == [1]


def test_review_db_is_kept_beside_the_project_and_survives_restarts(room) -> None:
    client, tokens, project = room
    assert (project.path / REVIEW_DB).is_file()
    again = create_app(project.path)
    assert again.state.room.store.project_id == client.app.state.room.store.project_id
    with TestClient(again, base_url=BASE) as second:
        assert second.get("/api/session", headers=bearer(tokens["viewer"])).status_code == 200


def test_tokens_refuse_bad_roles_and_lifetimes() -> None:
    with pytest.raises(AccessError, match="role"):
        sign_token(b"k" * 32, "p", "admin", lifetime_s=60)
    with pytest.raises(AccessError, match="days"):
        sign_token(b"k" * 32, "p", "viewer", lifetime_s=365 * DAY_S)
    token = sign_token(b"k" * 32, "p", "viewer", lifetime_s=60, now_s=0.0)
    assert verify_token(b"k" * 32, "p", token, now_s=59.0).role == "viewer"
    with pytest.raises(AccessError, match="expired"):
        verify_token(b"k" * 32, "p", token, now_s=60.0)



def test_the_page_is_packaged_and_fetches_nothing_from_elsewhere() -> None:
    static = Path(__file__).parents[1] / "src" / "trackwright" / "review" / "static"
    frontend = Path(__file__).parents[1] / "review-frontend"
    for name in ("index.html", "app.js", "app.css"):
        text = (static / name).read_text(encoding="utf-8")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, flags=re.I), name  # no CDN, no remote URL
    lock = json.loads((frontend / "package-lock.json").read_text(encoding="utf-8"))
    pinned = lock["packages"]["node_modules/wavesurfer.js"]
    assert pinned["version"] == "8.0.1" and pinned["integrity"].startswith("sha512-")
    vendored = static / "vendor" / "wavesurfer.esm.js"
    assert vendored.stat().st_size < 200_000 and (static / "vendor" / "wavesurfer.LICENSE.txt").is_file()
    installed = frontend / "node_modules" / "wavesurfer.js"
    if installed.is_dir():  # after `make frontend`: the committed copy is the pinned build
        assert json.loads((installed / "package.json").read_text())["version"] == pinned["version"]
        assert vendored.read_bytes() == (installed / "dist" / "wavesurfer.esm.js").read_bytes()


def test_sections_are_placed_on_each_versions_own_timeline(room) -> None:
    client, tokens, project = room
    cut = project.recipe(1).replace(arrangement=EditList((Segment(0.0, 4.0), Segment(8.0, 12.0)), fade_out_s=0.5))
    number = project.commit(cut, "cut 4–8 s", author="composer").number
    versions = {v["number"]: v for v in client.get("/api/versions", headers=bearer(tokens["viewer"])).json()}
    whole, edited = versions[1], versions[number]
    assert edited["duration_s"] == 8.0
    # the draft's sections tile the draft; in the cut version they tile the 8 s that remain
    assert sum(s["end_s"] - s["start_s"] for s in whole["sections"]) == pytest.approx(12.0, abs=0.01)
    assert sum(s["end_s"] - s["start_s"] for s in edited["sections"]) == pytest.approx(8.0, abs=0.01)
    assert all(0 <= s["start_s"] < s["end_s"] <= 8.0 for s in edited["sections"])
    draft = client.get("/api/analysis", headers=bearer(tokens["viewer"])).json()["sections"]
    last = draft[-1]  # heard 4 s earlier in the cut version (it starts after 8 s of the draft)
    if last["start_s"] >= 8.0:
        assert edited["sections"][-1]["start_s"] == pytest.approx(last["start_s"] - 4.0, abs=1e-3)


def test_output_spans_follow_cuts_repeats_and_stretch() -> None:
    edits = EditList((Segment(0.0, 4.0), Segment(2.0, 6.0, 1.02), Segment(10.0, 12.0)))
    assert output_spans(edits, 3.0, 5.0) == [(3.0, 4.0), (5.02, 7.06)]  # heard twice, the 2nd time stretched
    assert output_spans(edits, 7.0, 9.0) == []                         # left out
    assert output_spans(edits, 11.0, 20.0) == [(9.08, 10.08)]
    moments = place(edits, [{"start_s": 3.0, "end_s": 3.0, "kind": "click"}], ("kind",))
    assert [m["kind"] for m in moments] == ["click", "click"]


def test_peaks_give_each_buckets_loudest_sample(tmp_path: Path, room) -> None:
    rate = 8000
    t = np.arange(4 * rate) / rate
    signal = np.where(t < 2.0, 0.5, 0.1) * np.sin(2 * np.pi * 100 * t)
    stereo = np.stack([signal, -0.5 * signal]).astype(np.float32)
    path = tmp_path / "steps.wav"
    save_audio(Audio(stereo, rate), path, bit_depth="float")
    overview = peaks(path, points=100)
    values = np.array(overview["peaks"])
    assert len(values) == 100 and overview["duration_s"] == 4.0 and overview["bucket_s"] == pytest.approx(0.04)
    assert np.allclose(values[:50], 0.5, atol=0.01) and np.allclose(values[50:], 0.1, atol=0.01)
    with pytest.raises(ParameterError, match="points"):
        peaks(path, points=3)
    client, tokens, project = room
    served = client.get("/api/versions/1/peaks", headers=bearer(tokens["viewer"])).json()
    mix = load_audio(project.render(1).mix).samples
    assert max(served["peaks"]) == pytest.approx(float(np.abs(mix).max()), abs=1e-4)
    assert served["duration_s"] == pytest.approx(12.0, abs=1e-3) and 3000 < len(served["peaks"]) <= 4000


def test_a_revision_request_runs_the_real_note_engine(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    app = create_app(project.path, revise=apply_note)  # the engine `trackwright review` hands in
    owner = bearer(app.state.room.owner_token())
    with TestClient(app, base_url=BASE) as client:
        comment = client.post("/api/comments", json={"version": 1, "start_s": 4.0, "end_s": 8.0,
                                                     "body": "quieter drums"}, headers=owner).json()
        job = client.post(f"/api/comments/{comment['id']}/revise", json={}, headers=owner).json()
        job = wait_for_job(lambda url: client.get(url, headers=owner), job["id"], timeout_s=120)
    assert job["state"] == "done" and job["result_version"] == 2, job
    assert "drums" in job["explanation"] and "0:04–0:08" in job["explanation"]
    before, after = (load_audio(project.render(n).stems["drums"]) for n in (1, 2))
    rate = before.sample_rate

    def level_db(audio, start_s: float, end_s: float) -> float:  # noqa: ANN001
        part = audio.samples[:, round(start_s * rate):round(end_s * rate)].astype(np.float64)
        return 10 * np.log10(np.mean(part ** 2))

    assert level_db(after, 4.5, 7.5) - level_db(before, 4.5, 7.5) < -1.0  # audibly quieter (sized by the engine)
    assert np.array_equal(before.samples[:, :round(3.5 * rate)], after.samples[:, :round(3.5 * rate)])
