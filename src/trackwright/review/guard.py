"""What the review room checks before it trusts a request or serves a file.

* **Host** (DNS rebinding): a page on ``http://evil.example:8765`` whose name the attacker points
  at 127.0.0.1 reaches the room with ``Host: evil.example:8765``. Only IP literals, ``localhost``
  and the names the room was told (:func:`host_allowed`) are served.
* **Origin / Referer** (cross-site requests): a state-changing request (any method but GET,
  HEAD, OPTIONS) that names an origin must name this server's own (:func:`same_origin`). Another
  port of the same host is another origin, though browsers send a SameSite cookie to it.
* **CSRF token**: a request that authenticates with the session cookie must also carry
  ``X-CSRF-Token``, an HMAC of its session token (:func:`csrf_token`) that the page reads from
  ``/api/session``. A request with ``Authorization: Bearer`` needs none: no other site can make a
  browser send that header.
* **Files**: everything served from the project is resolved and must lie inside the project
  folder, reached without a symbolic link, and be a regular file (:func:`project_file`). A
  project someone sent you may hold ``review-uploads/x.wav -> /etc/passwd``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from trackwright.review.tokens import AccessError

#: Methods that change nothing, exempt from the Origin and CSRF checks.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The header that carries the CSRF token.
CSRF_HEADER = "x-csrf-token"
#: Host names served by default (besides any IP literal).
DEFAULT_HOSTS = ("localhost",)


def host_name(host_header: str) -> str:
    """The name in a ``Host`` header, without the port, lower case (``[::1]:80`` → ``::1``)."""
    text = host_header.strip().lower()
    if text.startswith("["):
        return text[1:text.find("]")] if "]" in text else ""
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def host_allowed(host_header: str | None, names: Iterable[str] = DEFAULT_HOSTS) -> bool:
    """True for a ``Host`` that is an IP literal or one of ``names`` (case-insensitive).

    Examples
    --------
    >>> host_allowed("127.0.0.1:8765"), host_allowed("localhost:8765"), host_allowed("evil.example:8765")
    (True, True, False)
    """
    if not host_header:
        return False
    name = host_name(host_header)
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    return name != "" and name in {n.lower() for n in names}


def same_origin(headers: dict[str, str] | object, host_header: str) -> bool:
    """True unless the request's ``Origin`` (else ``Referer``) names an origin other than
    ``http(s)://HOST`` (``Origin: null`` included). A request with neither passes: browsers
    send ``Origin`` with every cross-origin POST, and the CSRF token still guards cookies."""
    get = headers.get  # type: ignore[attr-defined]
    own = host_header.strip().lower()
    origin = get("origin")
    if origin is None:
        referer = get("referer")
        if not referer:
            return True
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    origin = origin.strip().lower()
    return origin in (f"http://{own}", f"https://{own}")


def csrf_token(secret: bytes, session_token: str) -> str:
    """The CSRF token of a session (its access token): HMAC-SHA256, URL-safe base64."""
    digest = hmac.new(secret, b"csrf\0" + session_token.encode("utf-8", "replace"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_csrf(secret: bytes, session_token: str, sent: str | None) -> None:
    """Raise AccessError (403) unless ``sent`` is the session's CSRF token."""
    if not sent or not hmac.compare_digest(csrf_token(secret, session_token), sent.strip()):
        raise AccessError("missing or wrong CSRF token (reload the page)", status=403)


def project_file(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """``path`` checked to be a regular file inside ``root``, reached without a symbolic link.

    Parameters
    ----------
    root : path-like
        The project folder (it may itself be reached through a link).
    path : path-like
        A file in it: under ``root`` as given (``song/renders/…`` for the root ``song``), absolute
        under it, or relative to it.

    Returns
    -------
    Path
        The resolved path to serve.

    Raises
    ------
    AccessError
        404 for anything else: outside the project, through a link, missing, not a plain file.
    """
    base = Path(root).resolve()
    given = Path(path)
    for anchor in (Path(root), base):  # the root as given (perhaps relative), or resolved
        try:
            given = given.relative_to(anchor)
            break
        except ValueError:
            continue
    else:
        if given.is_absolute():
            raise AccessError("not found", status=404)
    current = base
    for part in given.parts:
        if part in ("", ".", "..") or "/" in part or "\0" in part:
            raise AccessError("not found", status=404)
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            raise AccessError("not found", status=404) from None
        if stat.S_ISLNK(mode):
            raise AccessError("not found", status=404)
    if current == base or not stat.S_ISREG(os.lstat(current).st_mode):
        raise AccessError("not found", status=404)
    return current
