"""The review room's web app (FastAPI): one page, a JSON API, audio and reports by id.

Every route checks a token (see :mod:`trackwright.review.tokens`): sent as
``Authorization: Bearer TOKEN``, or as the ``tw_review`` cookie that opening a share link
(``/?t=TOKEN``) sets. Files are never named by the request: audio is served by version number
or upload id, the page's own files from a fixed list made at start.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import soundfile as sf
from fastapi import Depends, FastAPI, File, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from trackwright.audio import load_audio, write_atomic
from trackwright.errors import ParameterError, TrackwrightError
from trackwright.project import Project, RenderResult
from trackwright.project.store import default_author
from trackwright.review.jobs import JobRunner, NoteEngine
from trackwright.review.peaks import peaks
from trackwright.review.store import ReviewStore
from trackwright.review.timeline import place
from trackwright.review.tokens import ROLES, AccessError, Grant, sign_token, verify_token

COOKIE = "tw_review"
STATIC = Path(__file__).with_name("static")
UPLOADS = "review-uploads"
#: Largest reference upload, bytes (50 MiB).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: How long the owner's token lives, seconds (30 days).
OWNER_LIFETIME_S = 30 * 24 * 3600.0
# Only this server's own files, no framing, no referrer (a share link's token must not leak).
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "media-src 'self' blob:; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_SECTION_FIELDS = ("label", "role")
_FINDING_FIELDS = ("kind", "severity", "message", "suggestion")
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_FORMATS = {"WAV": ("wav", "audio/wav"), "WAVEX": ("wav", "audio/wav"), "FLAC": ("flac", "audio/flac"),
            "OGG": ("ogg", "audio/ogg"), "AIFF": ("aiff", "audio/aiff"), "MP3": ("mp3", "audio/mpeg")}
_MEDIA = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html",
          ".svg": "image/svg+xml", ".txt": "text/plain"}


@dataclass
class ReviewRoom:
    """What the app serves: the project, its review store and job runner, limits."""

    project: Project
    store: ReviewStore
    jobs: JobRunner
    max_upload_bytes: int
    static_files: dict[str, Path]

    renders: dict[int, RenderResult] = field(default_factory=dict)
    overviews: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)

    def render(self, number: int) -> RenderResult:
        """Version ``number``'s render: made (or checked) once per run, then remembered while its files exist."""
        known = self.renders.get(number)
        if known is None or not known.mix.is_file():
            known = self.renders[number] = self.project.render(number)
        return known

    def peaks(self, number: int) -> dict[str, Any]:
        """Version ``number``'s waveform overview (:func:`~trackwright.review.peaks.peaks`), remembered."""
        result = self.render(number)
        key = (number, result.cache_key)
        if key not in self.overviews:
            self.overviews[key] = peaks(result.mix)
        return self.overviews[key]

    def owner_token(self, *, lifetime_s: float = OWNER_LIFETIME_S) -> str:
        """A fresh owner token for this room."""
        return sign_token(self.store.secret, self.store.project_id, "owner", lifetime_s=lifetime_s,
                          name=default_author())


class CommentIn(BaseModel):
    """A new comment or reply (times in seconds)."""

    version: int | None = None
    start_s: float | None = Field(default=None, ge=0)
    end_s: float | None = Field(default=None, ge=0)
    body: str = Field(max_length=4000)
    parent_id: int | None = None
    author: str | None = Field(default=None, max_length=80)


class StateIn(BaseModel):
    """A comment's new state."""

    state: str


class ShareIn(BaseModel):
    """A share link to make: its role, lifetime (s) and the reviewer's name."""

    role: str
    lifetime_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    name: str = Field(default="", max_length=80)


class ReviseIn(BaseModel):
    """A revision request: the note (default: the comment's text)."""

    note: str | None = Field(default=None, max_length=4000)


def _static_files() -> dict[str, Path]:
    files = {}
    for path in STATIC.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            files[path.relative_to(STATIC).as_posix()] = path
    return files


def create_app(project: str | os.PathLike[str] | Project, *, revise: NoteEngine | None = None,
               max_upload_bytes: int = MAX_UPLOAD_BYTES) -> FastAPI:
    """The review app for one project.

    Parameters
    ----------
    project : path-like or Project
        The project folder (opened here) or an open project.
    revise : callable, optional
        The note engine for revision requests (:class:`~trackwright.review.jobs.NoteEngine`;
        ``trackwright review`` passes :func:`trackwright.revise.apply_note`); without one,
        revision requests end ``unavailable``.
    max_upload_bytes : int
        Largest reference upload accepted, bytes.

    Returns
    -------
    FastAPI
        The app; ``app.state.room`` is its :class:`ReviewRoom` (``room.owner_token()``).
    """
    project = project if isinstance(project, Project) else Project.open(project)
    store = ReviewStore(project.path)
    room = ReviewRoom(project, store, JobRunner(project, store, revise=revise), int(max_upload_bytes),
                      _static_files())
    secret, project_id = store.secret, store.project_id
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:  # noqa: ARG001
        yield
        room.jobs.close()

    app = FastAPI(title="trackwright review", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.room = room

    @app.middleware("http")
    async def _headers(request: Request, call_next):  # noqa: ANN001, ANN202 - FastAPI middleware
        response = await call_next(request)
        response.headers.update(_SECURITY_HEADERS)
        return response

    @app.exception_handler(AccessError)
    async def _access(request: Request, err: AccessError) -> Response:  # noqa: ARG001
        return JSONResponse({"detail": str(err)}, status_code=err.status)

    @app.exception_handler(TrackwrightError)
    async def _user_error(request: Request, err: TrackwrightError) -> Response:  # noqa: ARG001
        return JSONResponse({"detail": str(err).replace(str(project.path), "PROJECT")}, status_code=400)

    def grant(request: Request) -> Grant:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(COOKIE)
        return verify_token(secret, project_id, token)

    def needs(role: str):  # noqa: ANN202 - a FastAPI dependency
        def check(request: Request) -> Grant:
            found = grant(request)
            if not found.allows(role):
                raise AccessError(f"a {found.role} cannot do this (needs {role})", status=403)
            return found
        return check

    viewer, commenter, approver, owner = (Depends(needs(role)) for role in ROLES)

    def version_number(number: int) -> int:
        if number not in {v.number for v in project.versions()}:
            raise AccessError(f"no version {number}", status=404)
        return number

    def author(found: Grant, given: str | None = None) -> str:
        return found.name or " ".join((given or "").split()) or found.role

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request, t: str | None = None) -> Response:
        if t is not None:
            try:
                verify_token(secret, project_id, t)
            except AccessError as err:
                return HTMLResponse(f"<!doctype html><title>trackwright review</title><p>{err}</p>", status_code=401)
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, t, httponly=True, samesite="strict", path="/")
            return response
        try:
            grant(request)
        except AccessError as err:
            return HTMLResponse(f"<!doctype html><title>trackwright review</title><p>{err}</p>", status_code=401)
        return FileResponse(room.static_files["index.html"], media_type="text/html",
                            headers={"Cache-Control": "no-store"})

    @app.get("/static/{name:path}")
    def static(name: str, found: Grant = viewer) -> Response:  # noqa: ARG001
        path = room.static_files.get(name)
        if path is None:
            raise AccessError("not found", status=404)
        return FileResponse(path, media_type=_MEDIA.get(path.suffix, "application/octet-stream"))

    @app.get("/api/session")
    def session(found: Grant = viewer) -> dict[str, Any]:
        return {"project": project.path.name, "role": found.role, "name": author(found),
                "expires_s": found.expires_s, "roles": list(ROLES),
                "can": {role: found.allows(role) for role in ROLES}}

    @app.get("/api/versions")
    def versions(found: Grant = viewer) -> list[dict[str, Any]]:  # noqa: ARG001
        approvals = store.approvals()
        found = project.analysis()
        sections = [s.to_dict() for s in found.structure.sections]
        findings = [f.to_dict() for f in found.findings]
        out = []
        for info in project.versions():
            edits = project.recipe(info.number).arrangement
            out.append({**info.to_dict(), "duration_s": round(edits.output_duration_s, 3),
                        "approvals": approvals.get(info.number, []),
                        "sections": place(edits, sections, _SECTION_FIELDS),
                        "findings": place(edits, findings, _FINDING_FIELDS)})
        return out

    @app.get("/api/analysis")
    def analysis(found: Grant = viewer) -> dict[str, Any]:  # noqa: ARG001
        found = project.analysis()
        return {"duration_s": round(found.duration_s, 3), "tempo_bpm": round(found.rhythm.tempo_bpm, 2),
                "key": found.harmony.key.to_dict(),
                "sections": [{k: s.to_dict()[k] for k in ("start_s", "end_s", *_SECTION_FIELDS)}
                             for s in found.structure.sections],
                "findings": [{k: f.to_dict()[k] for k in ("start_s", "end_s", *_FINDING_FIELDS)}
                             for f in found.findings]}

    @app.get("/api/versions/{number}/audio")
    def audio(number: int, found: Grant = viewer) -> Response:  # noqa: ARG001
        result = room.render(version_number(number))
        return FileResponse(result.mix, media_type="audio/wav", filename=f"v{number}.wav")

    @app.get("/api/versions/{number}/peaks")
    def version_peaks(number: int, found: Grant = viewer) -> dict[str, Any]:  # noqa: ARG001
        return room.peaks(version_number(number))

    @app.get("/api/versions/{number}/report")
    def report(number: int, found: Grant = viewer) -> dict[str, Any]:  # noqa: ARG001
        number = version_number(number)
        result = room.render(number)
        info = next(v for v in project.versions() if v.number == number)
        changes = project.diff(info.parent, number) if info.parent else []
        return {"version": number, "message": info.message, "render_key": result.cache_key,
                "parts": sorted(result.stems), "mastered": result.master is not None,
                "warnings": result.warnings, "changes": changes}

    @app.get("/api/comments")
    def comments(found: Grant = viewer, version: int | None = None) -> list[dict[str, Any]]:  # noqa: ARG001
        return [c.to_dict() for c in store.comments(version)]

    @app.post("/api/comments", status_code=201)
    def add_comment(body: CommentIn, found: Grant = commenter) -> dict[str, Any]:
        if body.parent_id is None:
            if body.version is None or body.start_s is None:
                raise ParameterError("a comment needs a version and a time (start_s)")
            version_number(body.version)
        comment = store.add_comment(body.version or 0, body.start_s or 0.0, body.body,
                                    author=author(found, body.author), end_s=body.end_s, parent_id=body.parent_id)
        return comment.to_dict()

    @app.patch("/api/comments/{comment_id}")
    def set_state(comment_id: int, body: StateIn, found: Grant = commenter) -> dict[str, Any]:  # noqa: ARG001
        return store.set_state(comment_id, body.state).to_dict()

    @app.post("/api/versions/{number}/approve", status_code=201)
    def approve(number: int, found: Grant = approver) -> dict[str, Any]:
        return store.approve(version_number(number), author=author(found))

    @app.post("/api/comments/{comment_id}/revise", status_code=202)
    def request_revision(comment_id: int, body: ReviseIn, found: Grant = approver) -> dict[str, Any]:  # noqa: ARG001
        return room.jobs.submit(store.comment(comment_id), note=body.note).to_dict()

    @app.get("/api/jobs/{job_id}")
    def job(job_id: int, found: Grant = viewer) -> dict[str, Any]:  # noqa: ARG001
        return store.job(job_id).to_dict()

    @app.post("/api/share", status_code=201)
    def share(body: ShareIn, found: Grant = owner) -> dict[str, Any]:  # noqa: ARG001
        if body.role == "owner":
            raise AccessError("share links are for viewers, commenters and approvers", status=400)
        token = sign_token(secret, project_id, body.role, lifetime_s=body.lifetime_s, name=body.name)
        return {"role": body.role, "token": token, "path": f"/?t={token}"}

    @app.post("/api/uploads", status_code=201)
    async def upload(file: Annotated[UploadFile, File()], found: Grant = commenter) -> dict[str, Any]:
        folder = project.path / UPLOADS
        folder.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".incoming-") as scratch:
            tmp = Path(scratch) / "upload"
            size = 0
            with tmp.open("wb") as out:
                while chunk := await file.read(1 << 20):
                    size += len(chunk)
                    if size > room.max_upload_bytes:
                        raise AccessError(f"the file is larger than {room.max_upload_bytes // (1 << 20)} MiB",
                                          status=413)
                    out.write(chunk)
            try:
                kind = sf.info(str(tmp)).format
                audio = load_audio(tmp)
            except (TrackwrightError, RuntimeError, sf.LibsndfileError) as err:
                raise AccessError("the file is not audio trackwright can read (WAV, FLAC, OGG, AIFF, MP3)",
                                  status=415) from err
            if kind not in _FORMATS:
                raise AccessError(f"unsupported audio format {kind}", status=415)
            ext, media = _FORMATS[kind]
            upload_id = secrets.token_hex(16)
            write_atomic(folder / f"{upload_id}.{ext}", lambda dest: shutil.copyfile(tmp, dest))
        return store.add_upload(upload_id, f"{upload_id}.{ext}", media, size, audio.sample_rate, audio.channels,
                                round(audio.duration_s, 3), author=author(found))

    @app.get("/api/uploads")
    def uploads(found: Grant = viewer) -> list[dict[str, Any]]:  # noqa: ARG001
        return store.uploads()

    @app.get("/api/uploads/{upload_id}/audio")
    def upload_audio(upload_id: str, found: Grant = viewer) -> Response:  # noqa: ARG001
        if not _UPLOAD_ID.match(upload_id):
            raise AccessError("not found", status=404)
        try:
            record = store.upload(upload_id)
        except ParameterError as err:
            raise AccessError("not found", status=404) from err
        return FileResponse(project.path / UPLOADS / record["file_name"], media_type=record["media_type"])

    return app
