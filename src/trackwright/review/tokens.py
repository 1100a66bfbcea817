"""Signed, expiring access tokens for the review room.

A token is ``<payload>.<signature>``: the payload is URL-safe base64 of a small JSON object
(project id, role, expiry in Unix seconds, the share link's id, the reviewer's name), the
signature is HMAC-SHA256 of the payload with the room's secret (kept outside the project, see
:mod:`trackwright.review.keys`). A token therefore opens one project only, carries its role,
and stops working at its expiry or when its link is revoked; changing any byte breaks the
signature.

Roles, weakest first: ``viewer`` (listen, read comments), ``commenter`` (also comment, reply,
resolve, upload reference audio), ``approver`` (also approve a version, request a revision),
``owner`` (also make share links; the token printed when the server starts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from trackwright.errors import TrackwrightError

#: Roles in increasing order of power.
ROLES: tuple[str, ...] = ("viewer", "commenter", "approver", "owner")
#: Longest a share link may live, seconds (90 days).
MAX_LIFETIME_S = 90 * 24 * 3600.0


class AccessError(TrackwrightError):
    """A request carries no token, a forged, expired or foreign one, or too weak a role."""

    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        #: HTTP status for the web app: 401 (who are you?) or 403 (not allowed).
        self.status = status


@dataclass(frozen=True)
class Grant:
    """What a valid token allows.

    Attributes:
        project_id: the review room's project id the token was signed for.
        role: one of :data:`ROLES`.
        expires_s: expiry, Unix time in seconds.
        name: the reviewer's name given when the link was made ("" when none).
        link_id: the share link's id in ``review.db`` (None in a token signed without one).
    """

    project_id: str
    role: str
    expires_s: float
    name: str = ""
    link_id: int | None = None

    def allows(self, role: str) -> bool:
        """True when this grant's role is ``role`` or stronger."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def sign_token(secret: bytes, project_id: str, role: str, *, lifetime_s: float, name: str = "",
               link_id: int | None = None, now_s: float | None = None) -> str:
    """A token for ``project_id`` with ``role``, valid for ``lifetime_s`` seconds from now.

    Parameters
    ----------
    secret : bytes
        The project's review secret (at least 16 bytes).
    project_id : str
        The review room's project id (see :class:`~trackwright.review.store.ReviewStore`).
    role : str
        One of :data:`ROLES`.
    lifetime_s : float
        Seconds until it expires; 0 < lifetime_s ≤ :data:`MAX_LIFETIME_S`.
    name : str
        The reviewer's name, shown as the author of their comments (at most 80 characters).
    link_id : int, optional
        The share link's id (:meth:`~trackwright.review.store.ReviewStore.add_link`), by which
        the room checks that the link has not been revoked.
    now_s : float, optional
        Unix time to count from (default: now).

    Returns
    -------
    str
        URL-safe text, e.g. for ``http://127.0.0.1:8765/?t=TOKEN``.
    """
    if role not in ROLES:
        raise AccessError(f"role must be one of {', '.join(ROLES)}, got {role!r}", status=400)
    if not (0 < lifetime_s <= MAX_LIFETIME_S):  # False for NaN
        raise AccessError(f"a link lives between 1 s and {MAX_LIFETIME_S / 86400:.0f} days, got {lifetime_s} s",
                          status=400)
    name = " ".join(str(name).split())
    if len(name) > 80:
        raise AccessError(f"a reviewer's name has at most 80 characters, got {len(name)}", status=400)
    if len(secret) < 16:
        raise AccessError("the review secret is too short (at least 16 bytes)", status=500)
    now_s = time.time() if now_s is None else now_s
    body: dict[str, Any] = {"p": project_id, "r": role, "e": int(now_s + lifetime_s)}
    if name:
        body["n"] = name
    if link_id is not None:
        body["l"] = int(link_id)
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{payload}.{_signature(secret, payload)}"


def verify_token(secret: bytes, project_id: str, token: str | None, *, now_s: float | None = None) -> Grant:
    """The :class:`Grant` that ``token`` carries, after checking its signature, project and expiry.

    Raises
    ------
    AccessError
        (status 401) no token, a malformed or forged one, one for another project, or an expired one.
        The message says which, and nothing about the project.
    """
    if not token:
        raise AccessError("no access token: open the link you were given")
    if len(token) > 2048 or token.count(".") != 1:
        raise AccessError("this access token is malformed")
    payload, signature = token.split(".")
    if not hmac.compare_digest(_signature(secret, payload), signature):
        raise AccessError("this access token is not valid for this review room")
    try:
        body = json.loads(_unb64(payload))
        link = body.get("l")
        grant = Grant(str(body["p"]), str(body["r"]), float(body["e"]), str(body.get("n", "")),
                      None if link is None else int(link))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise AccessError("this access token is malformed") from err
    if not hmac.compare_digest(grant.project_id, project_id) or grant.role not in ROLES:
        raise AccessError("this access token is not valid for this review room")
    if (time.time() if now_s is None else now_s) >= grant.expires_s:
        raise AccessError("this link has expired: ask for a new one")
    return grant
