"""The review room's signing secret: a 0600 file in the user's config folder, never in the project.

A project folder travels (it is copied, zipped, sent to a collaborator), so nothing in it may
open its review room: the secret that signs share links lives in
``CONFIG/review-keys/<project id>-<folder hash>.key`` (see :func:`trackwright.files.config_dir`),
mode 0600 in a 0700 folder. The folder hash is of the project's resolved path, so a copy of a
project, even on the same machine, gets a secret of its own and refuses the original's links; a
moved project does too (its owner starts the room and gets a fresh owner link). Deleting the key
file revokes every link of that room at once.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

from trackwright.errors import ProjectError
from trackwright.files import config_dir, reporting

KEYS_FOLDER = "review-keys"
#: Bytes of a new secret.
SECRET_BYTES = 32
_HEX = re.compile(r"^[0-9a-f]{64}$")


def key_path(project_id: str, project_path: str | os.PathLike[str]) -> Path:
    """Where the secret of the room for ``project_id`` at ``project_path`` is kept."""
    where = hashlib.sha256(os.fsencode(Path(project_path).resolve())).hexdigest()[:16]
    if not re.fullmatch(r"[0-9a-f]{1,64}", project_id):
        raise ProjectError(f"review.db: project_id {project_id[:40]!r} is not an id this room made")
    return config_dir() / KEYS_FOLDER / f"{project_id}-{where}.key"


def room_secret(project_id: str, project_path: str | os.PathLike[str]) -> bytes:
    """The room's signing secret: read from its key file, or made (0600, atomically) on first use.

    Raises
    ------
    FileSystemError
        The config folder cannot be written (one line naming it).
    ProjectError
        The key file is damaged or readable by others (delete it to start afresh: every link
        then stops working).
    """
    path = key_path(project_id, project_path)
    with reporting(path.parent, "create the folder"):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path.parent, 0o700)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        with reporting(path, "write the review secret"):
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                os.write(fd, (secrets.token_hex(SECRET_BYTES) + "\n").encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)  # never over a key another process made meanwhile
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
    with reporting(path, "read the review secret"):
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            mode = os.fstat(fd).st_mode & 0o777
            text = os.read(fd, 256).decode("ascii", errors="replace").strip()
        finally:
            os.close(fd)
    if mode & 0o077:
        raise ProjectError(f"{path}: the review secret is readable by others (mode {mode:o}); delete it to make "
                           "a new one (every share link then stops working)")
    if not _HEX.match(text):
        raise ProjectError(f"{path}: damaged; delete it to make a new one (every share link then stops working)")
    return bytes.fromhex(text)
