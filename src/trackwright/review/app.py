"""The review room's web app (FastAPI): one page, a JSON API, audio and reports by id.

Every route checks a token (see :mod:`trackwright.review.tokens`): sent as
``Authorization: Bearer TOKEN``, or as the ``tw_review`` cookie that opening a share link
(``/?t=TOKEN``) sets; a change made over the cookie also needs the session's CSRF token, and
every change must come from this server's own origin (see :mod:`trackwright.review.guard`).
Requests whose ``Host`` is not an IP literal or an allowed name are refused (DNS rebinding).
Files are never named by the request: audio is served by version number or upload id, the
page's own files from a fixed list made at start, and every file served from the project is
checked to lie inside it, reached through no link. Numbers are parsed strictly: finite floats,
ids from 1 to :data:`MAX_ID` (anything else is 422, never a server error).

The app is built from route groups (:func:`_add_page_routes`, :func:`_add_media_routes`, …),
each registering its routes on the app over one :class:`~trackwright.review.room.ReviewRoom`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from trackwright.errors import ParameterError, TrackwrightError
from trackwright.project import Project
from trackwright.project.roles import part_roles
from trackwright.review.guard import SAFE_METHODS, host_allowed, same_origin
from trackwright.review.jobs import JobRunner, NoteEngine
from trackwright.review.room import COOKIE, OWNER_LIFETIME_S, ReviewRoom, hosts_to_allow
from trackwright.review.store import ReviewStore
from trackwright.review.timeline import place
from trackwright.review.tokens import MAX_LIFETIME_S, ROLES, AccessError, Grant
from trackwright.review.uploads import FORMATS, MAX_UPLOAD_BYTES, UPLOADS, check_declared, receive

__all__ = ["COOKIE", "MAX_ID", "MAX_UPLOAD_BYTES", "OWNER_LIFETIME_S", "UPLOADS", "ReviewRoom", "create_app"]

STATIC = Path(__file__).with_name("static")
#: Largest id (version, comment, job, link) a request may name: SQLite's integers are 64-bit.
MAX_ID = 2**31 - 1
#: Latest time a comment may be pinned to, seconds (a day).
MAX_TIME_S = 86400.0
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
_UPLOAD_ID = r"^[0-9a-f]{32}$"
_UPLOAD_MEDIA = frozenset(media for _, media in FORMATS.values())
_MEDIA = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html",
          ".svg": "image/svg+xml", ".txt": "text/plain"}

#: An id in a path or a query: 1 … MAX_ID.
Id = Annotated[int, PathParam(ge=1, le=MAX_ID)]


class _Strict(BaseModel):
    """Request bodies: unknown fields refused, floats finite."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class CommentIn(_Strict):
    """A new comment (``version``, ``start_s``, ``end_s`` in seconds) or a reply (``parent_id``).

    The author is the name the link was made for; a request cannot choose it.
    """

    version: int | None = Field(default=None, ge=1, le=MAX_ID)
    start_s: float | None = Field(default=None, ge=0, le=MAX_TIME_S)
    end_s: float | None = Field(default=None, ge=0, le=MAX_TIME_S)
    body: str = Field(max_length=4000)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class StateIn(_Strict):
    """A comment's new state."""

    state: str = Field(max_length=40)


class ShareIn(_Strict):
    """A share link to make: its role, lifetime (s) and the reviewer's name (stamped on their comments)."""

    role: str = Field(max_length=40)
    lifetime_s: float = Field(default=7 * 24 * 3600.0, gt=0, le=MAX_LIFETIME_S)
    name: str = Field(default="", max_length=80)


class ReviseIn(_Strict):
    """A revision request: the note (default: the comment's text)."""

    note: str | None = Field(default=None, max_length=4000)


def _static_files() -> dict[str, Path]:
    files = {}
    for path in STATIC.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            files[path.relative_to(STATIC).as_posix()] = path
    return files


def create_app(project: str | os.PathLike[str] | Project, *, revise: NoteEngine | None = None,
               max_upload_bytes: int = MAX_UPLOAD_BYTES, allowed_hosts: Sequence[str] = ()) -> FastAPI:
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
    allowed_hosts : sequence of str
        Host names to serve besides ``localhost`` and IP literals (the ``Host`` header's name).

    Returns
    -------
    FastAPI
        The app; ``app.state.room`` is its :class:`ReviewRoom` (``room.owner_token()``,
        ``room.share(role, name, lifetime_s=…)``). Starting it marks failed the revision jobs a
        stopped server left unfinished.
    """
    project = project if isinstance(project, Project) else Project.open(project)
    store = ReviewStore(project.path)
    room = ReviewRoom(project, store, JobRunner(project, store, revise=revise), int(max_upload_bytes),
                      _static_files(), hosts_to_allow(allowed_hosts))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:  # noqa: ARG001
        yield
        room.jobs.close()

    app = FastAPI(title="trackwright review", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.room = room
    for add_routes in (_add_handlers, _add_page_routes, _add_media_routes, _add_comment_routes, _add_job_routes,
                       _add_share_routes, _add_upload_routes):
        add_routes(app, room)
    return app


def _add_handlers(app: FastAPI, room: ReviewRoom) -> None:
    """Host and origin checks before anything else; security headers on every response; access,
    user and validation errors as JSON with their status."""
    project_path = str(room.project.path)

    @app.middleware("http")
    async def _guard(request: Request, call_next):  # noqa: ANN001, ANN202 - FastAPI middleware
        host = request.headers.get("host", "")
        if not host_allowed(host, room.allowed_hosts):
            response: Response = JSONResponse({"detail": "unknown Host: open the room by its address "
                                               "(127.0.0.1 or localhost, or a name given with --allow-host)"},
                                              status_code=400)
        elif request.method not in SAFE_METHODS and not same_origin(request.headers, host):
            response = JSONResponse({"detail": "a change must come from this review room's own page "
                                               "(Origin or Referer names another site)"}, status_code=403)
        else:
            response = await call_next(request)
        response.headers.update(_SECURITY_HEADERS)
        return response

    @app.exception_handler(AccessError)
    async def _access(request: Request, err: AccessError) -> Response:  # noqa: ARG001
        return JSONResponse({"detail": str(err)}, status_code=err.status)

    @app.exception_handler(TrackwrightError)
    async def _user_error(request: Request, err: TrackwrightError) -> Response:  # noqa: ARG001
        return JSONResponse({"detail": str(err).replace(project_path, "PROJECT")}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> Response:  # noqa: ARG001
        # the default handler echoes the input, which may hold NaN (not JSON) or a token
        detail = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:200]}
                  for e in err.errors()[:20]]
        return JSONResponse({"detail": detail}, status_code=422)


def _unauthorised_page(err: AccessError) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>trackwright review</title><p>{err}</p>", status_code=401)


def _add_page_routes(app: FastAPI, room: ReviewRoom) -> None:
    """The page (a share link's landing), its static files and the session it runs as."""
    viewer = room.requires("viewer")

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request, t: Annotated[str | None, Query(max_length=4096)] = None) -> Response:
        if t is not None:
            try:
                room.verify(t)
            except AccessError as err:
                return _unauthorised_page(err)
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, t, httponly=True, samesite="strict", path="/")
            return response
        try:
            room.grant(request)
        except AccessError as err:
            return _unauthorised_page(err)
        return FileResponse(room.static_files["index.html"], media_type="text/html",
                            headers={"Cache-Control": "no-store"})

    @app.get("/static/{name:path}")
    def static(name: str, found: Grant = viewer) -> Response:  # noqa: ARG001
        path = room.static_files.get(name)
        if path is None:
            raise AccessError("not found", status=404)
        return FileResponse(path, media_type=_MEDIA.get(path.suffix, "application/octet-stream"))

    @app.get("/api/session")
    def session(request: Request, found: Grant = viewer) -> dict[str, Any]:
        return {"project": room.project.path.name, "role": found.role, "name": room.author(found),
                "expires_s": found.expires_s, "roles": list(ROLES), "link": found.link_id,
                "can": {role: found.allows(role) for role in ROLES}, "csrf": room.csrf(room.session(request))}


def _add_media_routes(app: FastAPI, room: ReviewRoom) -> None:
    """Versions, the draft's analysis, and each version's audio, waveform overview and report."""
    viewer, project, store = room.requires("viewer"), room.project, room.store

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
        found = project.analysis_on_grid()  # the tempo the user set with `trackwright grid`, if any
        return {"duration_s": round(found.duration_s, 3), "tempo_bpm": round(found.rhythm.tempo_bpm, 2),
                "key": found.harmony.key.to_dict(),
                "sections": [{k: s.to_dict()[k] for k in ("start_s", "end_s", *_SECTION_FIELDS)}
                             for s in found.structure.sections],
                "findings": [{k: f.to_dict()[k] for k in ("start_s", "end_s", *_FINDING_FIELDS)}
                             for f in found.findings]}

    @app.get("/api/versions/{number}/audio")
    def audio(number: Id, found: Grant = viewer) -> Response:  # noqa: ARG001
        path = room.mix_file(room.version_number(number))
        return FileResponse(path, media_type="audio/wav", filename=f"v{number}.wav")

    @app.get("/api/versions/{number}/peaks")
    def version_peaks(number: Id, found: Grant = viewer) -> dict[str, Any]:  # noqa: ARG001
        return room.peaks(room.version_number(number))

    @app.get("/api/versions/{number}/report")
    def report(number: Id, found: Grant = viewer) -> dict[str, Any]:  # noqa: ARG001
        number = room.version_number(number)
        result = room.render(number)
        info = next(v for v in project.versions() if v.number == number)
        changes = project.diff(info.parent, number) if info.parent else []
        roles = part_roles(project, project.recipe(number))  # the project's roles, as `stems --set` left them
        return {"version": number, "message": info.message, "render_key": result.cache_key,
                "parts": sorted(result.stems), "mastered": result.master is not None,
                "roles": {name: roles[name].role if name in roles else "other" for name in sorted(result.stems)},
                "warnings": result.warnings, "changes": changes}


def _add_comment_routes(app: FastAPI, room: ReviewRoom) -> None:
    """Comments and replies (their author is the link's name), their state, and approvals."""
    viewer, commenter, approver = room.requires("viewer"), room.requires("commenter"), room.requires("approver")
    store = room.store

    @app.get("/api/comments")
    def comments(found: Grant = viewer,  # noqa: ARG001
                 version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> list[dict[str, Any]]:
        return [c.to_dict() for c in store.comments(version)]

    @app.post("/api/comments", status_code=201)
    def add_comment(body: CommentIn, found: Grant = commenter) -> dict[str, Any]:
        if body.parent_id is None:
            if body.version is None or body.start_s is None:
                raise ParameterError("a comment needs a version and a time (start_s)")
            room.version_number(body.version)
        comment = store.add_comment(body.version or 0, body.start_s or 0.0, body.body,
                                    author=room.author(found), end_s=body.end_s, parent_id=body.parent_id)
        return comment.to_dict()

    @app.patch("/api/comments/{comment_id}")
    def set_state(comment_id: Id, body: StateIn, found: Grant = commenter) -> dict[str, Any]:  # noqa: ARG001
        return store.set_state(comment_id, body.state).to_dict()

    @app.post("/api/versions/{number}/approve", status_code=201)
    def approve(number: Id, found: Grant = approver) -> dict[str, Any]:
        return store.approve(room.version_number(number), author=room.author(found))


def _add_job_routes(app: FastAPI, room: ReviewRoom) -> None:
    """Revision requests (a comment becomes a note for the note engine) and their progress."""
    viewer, approver = room.requires("viewer"), room.requires("approver")

    @app.post("/api/comments/{comment_id}/revise", status_code=202)
    def request_revision(comment_id: Id, body: ReviseIn, found: Grant = approver) -> dict[str, Any]:  # noqa: ARG001
        return room.jobs.submit(room.store.comment(comment_id), note=body.note).to_dict()

    @app.get("/api/jobs/{job_id}")
    def job(job_id: Id, found: Grant = viewer) -> dict[str, Any]:  # noqa: ARG001
        return room.store.job(job_id).to_dict()


def _add_share_routes(app: FastAPI, room: ReviewRoom) -> None:
    """Share links: made, listed and revoked by the owner."""
    owner = room.requires("owner")

    @app.post("/api/share", status_code=201)
    def share(body: ShareIn, found: Grant = owner) -> dict[str, Any]:  # noqa: ARG001
        if body.role == "owner":
            raise AccessError("share links are for viewers, commenters and approvers", status=400)
        link, token = room.share(body.role, body.name, lifetime_s=body.lifetime_s)
        return {**link.to_dict(), "token": token, "path": f"/?t={token}"}

    @app.get("/api/share")
    def links(found: Grant = owner) -> list[dict[str, Any]]:  # noqa: ARG001
        return [link.to_dict() for link in room.store.links()]

    @app.delete("/api/share/{link_id}")
    def revoke(link_id: Id, found: Grant = owner) -> dict[str, Any]:  # noqa: ARG001
        return room.store.revoke_link(link_id).to_dict()


def _add_upload_routes(app: FastAPI, room: ReviewRoom) -> None:
    """Reference audio: uploaded by commenters (the body is the file, read only after the checks),
    checked by content, stored under a generated name."""
    viewer, commenter, project, store = room.requires("viewer"), room.requires("commenter"), room.project, room.store
    body = {"required": True, "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}},
                                          "application/octet-stream": {"schema": {"type": "string",
                                                                                  "format": "binary"}}}}

    @app.post("/api/uploads", status_code=201, openapi_extra={"requestBody": body})
    async def upload(request: Request, found: Grant = commenter) -> dict[str, Any]:
        check_declared(request.headers.get("content-type"), request.headers.get("content-length"),
                       room.max_upload_bytes)
        got = await receive(request.stream(), project.path / UPLOADS, room.max_upload_bytes)
        audio = got.audio
        return store.add_upload(got.upload_id, got.file_name, got.media_type, got.size, audio.sample_rate,
                                audio.channels, round(audio.duration_s, 3), author=room.author(found))

    @app.get("/api/uploads")
    def uploads(found: Grant = viewer) -> list[dict[str, Any]]:  # noqa: ARG001
        return store.uploads()

    @app.get("/api/uploads/{upload_id}/audio")
    def upload_audio(upload_id: Annotated[str, PathParam(pattern=_UPLOAD_ID)],
                     found: Grant = viewer) -> Response:  # noqa: ARG001
        try:
            record = store.upload(upload_id)
        except ParameterError as err:
            raise AccessError("not found", status=404) from err
        name = str(record["file_name"])
        if name.rpartition(".")[0] != upload_id:  # a row written by hand: only the generated name is served
            raise AccessError("not found", status=404)
        media = str(record["media_type"])
        media = media if media in _UPLOAD_MEDIA else "application/octet-stream"  # never text/html or a script
        return FileResponse(room.served(Path(UPLOADS) / name), media_type=media)
