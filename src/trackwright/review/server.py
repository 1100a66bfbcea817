"""Running the review app with uvicorn (what `trackwright review` does), and its share links."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Sequence

from trackwright.errors import MissingDependencyError, ParameterError
from trackwright.project import Project
from trackwright.review.jobs import NoteEngine
from trackwright.review.store import Link, ReviewStore
from trackwright.review.tokens import ROLES

try:
    from trackwright.review.app import create_app
except ModuleNotFoundError as err:  # the review extra is not installed
    _missing = err.name

    def create_app(*args: object, **kwargs: object):  # type: ignore[no-redef]  # noqa: ANN201, ARG001
        """Stands in for the app when FastAPI is missing."""
        raise MissingDependencyError(f"the review room needs {_missing}: pip install 'trackwright[review]'")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_share(item: str) -> tuple[str, str]:
    """``ROLE`` or ``ROLE=NAME`` (``--share``) → (role, reviewer's name)."""
    role, _, name = item.partition("=")
    role, name = role.strip().lower(), " ".join(name.split())
    if role not in ROLES[:-1]:
        raise ParameterError(f"--share takes viewer, commenter or approver (optionally =NAME), got {item!r}")
    if len(name) > 80:
        raise ParameterError(f"--share {role}=NAME: a name has at most 80 characters, got {len(name)}")
    return role, name


def _hosts_for(host: str, allow_hosts: Sequence[str]) -> list[str]:
    """Names the room answers to: the bound name, the machine's names when bound to every address."""
    names = [*allow_hosts]
    try:
        ipaddress.ip_address(host)
        if ipaddress.ip_address(host).is_unspecified:
            names += [socket.gethostname(), socket.getfqdn()]
    except ValueError:
        names.append(host)
    return names


def serve(project: str | os.PathLike[str], *, host: str = "127.0.0.1", port: int = 8765,
          share: Sequence[str] = (), share_days: float = 7.0, revise: NoteEngine | None = None,
          allow_hosts: Sequence[str] = (), announce: Callable[[str], None] = print) -> None:
    """Serve the review room for ``project`` until interrupted.

    Parameters
    ----------
    project : path-like
        The project folder.
    host : str
        Address to bind; loopback by default. Another address exposes the room to the network
        (tokens still guard every route).
    port : int
        TCP port, 1–65535 (0 picks a free one).
    share : sequence of str
        ``ROLE`` or ``ROLE=NAME`` (viewer, commenter, approver) to print a share link for, after
        the owner's link; NAME is stamped on that reviewer's comments.
    share_days : float
        How long those share links stay valid, days.
    revise : callable, optional
        The note engine (see :mod:`trackwright.review.jobs`).
    allow_hosts : sequence of str
        Host names (as typed in the browser's address bar) to serve besides IP literals and
        ``localhost``; other names are refused (DNS rebinding).
    announce : callable
        Receives the lines to show: the owner's link first.
    """
    if not (1 <= int(port) <= 65535):
        raise ParameterError(f"--port must be 1–65535, got {port}")
    wanted = [parse_share(item) for item in share]
    if not (0 < share_days <= 90):  # False for NaN
        raise ParameterError(f"--share-days must be more than 0 and at most 90, got {share_days}")
    try:
        import uvicorn
    except ModuleNotFoundError as err:
        raise MissingDependencyError("the review room needs uvicorn: pip install 'trackwright[review]'") from err
    app = create_app(project, revise=revise, allowed_hosts=_hosts_for(host, allow_hosts))
    room = app.state.room
    config = uvicorn.Config(app, host=host, port=int(port), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    shown = f"[{host}]" if ":" in host else host
    announce(f"review room for {room.project.path} at http://{shown}:{port}/")
    if room.jobs.orphans:
        announce(f"marked {len(room.jobs.orphans)} revision job(s) failed: the server stopped while they ran")
    announce(f"owner link (keep it private; valid 30 days): http://{shown}:{port}/?t={room.owner_token()}")
    for role, name in wanted:
        link, token = room.share(role, name, lifetime_s=share_days * 86400.0)
        announce(f"{role} link {link.id} for {link.name} (valid {share_days:g} days): http://{shown}:{port}/?t={token}")
    if not is_loopback(host):
        announce(f"warning: listening on {host}, reachable from other machines")
    server.run()


def share_links(project: str | os.PathLike[str]) -> list[Link]:
    """Every share link the project's review room made (``trackwright review PROJECT --links``)."""
    return ReviewStore(Project.open(project).path).links()


def revoke_link(project: str | os.PathLike[str], link_id: int) -> Link:
    """Revoke a share link at once (``trackwright review PROJECT --revoke ID``); return it."""
    return ReviewStore(Project.open(project).path).revoke_link(link_id)
