"""Running the review app with uvicorn (what `trackwright review` does)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Sequence

from trackwright.errors import MissingDependencyError, ParameterError
from trackwright.review.jobs import NoteEngine
from trackwright.review.tokens import ROLES, sign_token

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


def serve(project: str | os.PathLike[str], *, host: str = "127.0.0.1", port: int = 8765,
          share: Sequence[str] = (), share_days: float = 7.0, revise: NoteEngine | None = None,
          announce: Callable[[str], None] = print) -> None:
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
        Roles (viewer, commenter, approver) to print a share link for, after the owner's link.
    share_days : float
        How long those share links stay valid, days.
    revise : callable, optional
        The note engine (see :mod:`trackwright.review.jobs`).
    announce : callable
        Receives the lines to show: the owner's link first.
    """
    if not (1 <= int(port) <= 65535):
        raise ParameterError(f"--port must be 1–65535, got {port}")
    for role in share:
        if role not in ROLES[:-1]:
            raise ParameterError(f"--share takes viewer, commenter or approver, got {role!r}")
    try:
        import uvicorn
    except ModuleNotFoundError as err:
        raise MissingDependencyError("the review room needs uvicorn: pip install 'trackwright[review]'") from err
    app = create_app(project, revise=revise)
    room = app.state.room
    config = uvicorn.Config(app, host=host, port=int(port), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    shown = f"[{host}]" if ":" in host else host
    announce(f"review room for {room.project.path} at http://{shown}:{port}/")
    announce(f"owner link (keep it private; valid 30 days): http://{shown}:{port}/?t={room.owner_token()}")
    for role in share:
        token = sign_token(room.store.secret, room.store.project_id, role, lifetime_s=share_days * 86400.0)
        announce(f"{role} link (valid {share_days:g} days): http://{shown}:{port}/?t={token}")
    if not is_loopback(host):
        announce(f"warning: listening on {host}, reachable from other machines")
    server.run()
