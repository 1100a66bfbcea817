"""The review room: `trackwright review PROJECT` serves a page where people listen to versions,
comment at a time or range, approve a version or request a revision (see :mod:`.app`).

>>> from trackwright.review import create_app
>>> app = create_app("song")                       # doctest: +SKIP
>>> app.state.room.owner_token()                   # doctest: +SKIP
'eyJlIjox….Qm9…'
"""

from trackwright.review.tokens import ROLES, AccessError, Grant, sign_token, verify_token

__all__ = ["ROLES", "AccessError", "Grant", "create_app", "revoke_link", "serve", "share_links", "sign_token",
           "verify_token"]


def __getattr__(name: str):  # noqa: ANN202 - lazy: FastAPI is imported only when the app is made
    if name in ("create_app", "serve", "share_links", "revoke_link"):
        from trackwright.review import server

        return getattr(server, name)
    raise AttributeError(name)
