"""The review room one app serves: the project, its review store and jobs, and who may do what.

Every route of :mod:`trackwright.review.app` reaches the project through one :class:`ReviewRoom`:
it checks tokens (and that their link is not revoked), CSRF tokens on cookie sessions, version
numbers, and resolves every file it serves inside the project (:func:`~.guard.project_file`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Depends, Request

from trackwright.project import Project, RenderResult
from trackwright.project.store import default_author
from trackwright.review.guard import CSRF_HEADER, SAFE_METHODS, check_csrf, csrf_token, project_file
from trackwright.review.jobs import JobRunner
from trackwright.review.peaks import peaks
from trackwright.review.store import Link, ReviewStore
from trackwright.review.tokens import MAX_LIFETIME_S, ROLES, AccessError, Grant, sign_token, verify_token

COOKIE = "tw_review"
#: How long the owner's token lives, seconds (30 days).
OWNER_LIFETIME_S = 30 * 24 * 3600.0


@dataclass(frozen=True)
class Session:
    """A request's grant and the token it came with; ``cookie`` when that was the session cookie."""

    grant: Grant
    token: str
    cookie: bool


@dataclass
class ReviewRoom:
    """What the app serves: the project, its review store and job runner, limits.

    Attributes:
        allowed_hosts: host names served besides IP literals (see :func:`~.guard.host_allowed`).
    """

    project: Project
    store: ReviewStore
    jobs: JobRunner
    max_upload_bytes: int
    static_files: dict[str, Path]
    allowed_hosts: tuple[str, ...] = ("localhost",)

    renders: dict[int, RenderResult] = field(default_factory=dict)
    overviews: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)

    # -- files ---------------------------------------------------------------------------------
    def served(self, path: str | Path) -> Path:
        """``path`` resolved inside the project, refused (404) through a link or outside it."""
        return project_file(self.project.path, path)

    def render(self, number: int) -> RenderResult:
        """Version ``number``'s render: made (or checked) once per run, then remembered while its files exist."""
        known = self.renders.get(number)
        if known is None or not known.mix.is_file():
            known = self.renders[number] = self.project.render(number)
        return known

    def mix_file(self, number: int) -> Path:
        """The file of version ``number``'s mix, checked to lie inside the project (404 otherwise)."""
        return self.served(self.render(number).mix)

    def peaks(self, number: int) -> dict[str, Any]:
        """Version ``number``'s waveform overview (:func:`~trackwright.review.peaks.peaks`), remembered."""
        result = self.render(number)
        key = (number, result.cache_key)
        if key not in self.overviews:
            self.overviews[key] = peaks(self.mix_file(number))
        return self.overviews[key]

    # -- links and tokens ----------------------------------------------------------------------
    def share(self, role: str, name: str, *, lifetime_s: float) -> tuple[Link, str]:
        """A new share link (recorded, so it can be listed and revoked) and its token."""
        if role not in ROLES:
            raise AccessError(f"role must be one of {', '.join(ROLES)}, got {role!r}", status=400)
        if not (0 < lifetime_s <= MAX_LIFETIME_S):
            raise AccessError(f"a link lives between 1 s and {MAX_LIFETIME_S / 86400:.0f} days, got {lifetime_s} s",
                              status=400)
        name = " ".join(str(name).split())
        if len(name) > 80:
            raise AccessError(f"a reviewer's name has at most 80 characters, got {len(name)}", status=400)
        link = self.store.add_link(role, name, time.time() + lifetime_s)
        if not name:  # the server names an unnamed link; nobody names themselves
            name = f"{role} {link.id}"
            link = self.store.rename_link(link.id, name)
        token = sign_token(self.store.secret, self.store.project_id, role, lifetime_s=lifetime_s, name=name,
                           link_id=link.id)
        return link, token

    def owner_token(self, *, lifetime_s: float = OWNER_LIFETIME_S) -> str:
        """A fresh owner token for this room (recorded as a link, so it can be revoked)."""
        return self.share("owner", default_author(), lifetime_s=lifetime_s)[1]

    def verify(self, token: str | None) -> Grant:
        """The :class:`Grant` a token carries (AccessError 401 when it opens nothing here, or its
        link was revoked)."""
        found = verify_token(self.store.secret, self.store.project_id, token)
        if found.link_id is None:
            raise AccessError("this link was made before links could be revoked: ask for a new one")
        if not self.store.link_is_live(found.link_id):
            raise AccessError("this link has been revoked: ask for a new one")
        return found

    def session(self, request: Request) -> Session:
        """The request's ``Authorization: Bearer`` token, else its cookie, verified."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            token, cookie = header[7:].strip(), False
        else:
            token, cookie = request.cookies.get(COOKIE) or "", True
        return Session(self.verify(token), token, cookie)

    def grant(self, request: Request) -> Grant:
        """The grant of a request's token (see :meth:`session`)."""
        return self.session(request).grant

    def csrf(self, session: Session) -> str:
        """The CSRF token the page must send with each change made in ``session``."""
        return csrf_token(self.store.secret, session.token)

    def requires(self, role: str) -> Any:
        """A FastAPI dependency: the request's grant, refused (403) when weaker than ``role``, or when
        it changes something over the session cookie without the session's CSRF token."""
        def check(request: Request) -> Grant:
            found = self.session(request)
            if not found.grant.allows(role):
                raise AccessError(f"a {found.grant.role} cannot do this (needs {role})", status=403)
            if found.cookie and request.method not in SAFE_METHODS:
                check_csrf(self.store.secret, found.token, request.headers.get(CSRF_HEADER))
            return found.grant
        return Depends(check)

    # -- the project ---------------------------------------------------------------------------
    def version_number(self, number: int) -> int:
        """``number`` when the project has that version, else AccessError 404."""
        if number not in {v.number for v in self.project.versions()}:
            raise AccessError(f"no version {number}", status=404)
        return number

    @staticmethod
    def author(found: Grant) -> str:
        """Who a request acts as: the name its link was made for (set by the owner, never by the
        reviewer), else the role and link number."""
        return found.name or (found.role if found.link_id is None else f"{found.role} {found.link_id}")


def hosts_to_allow(extra: Iterable[str]) -> tuple[str, ...]:
    """``localhost`` and the given host names, lower case, without duplicates."""
    names = ["localhost", *(str(n).strip().lower() for n in extra)]
    return tuple(dict.fromkeys(n for n in names if n))
