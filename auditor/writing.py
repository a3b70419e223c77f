"""Writing files without ever leaving one half-written, and without replacing what is not a file.

A regular file is replaced atomically: the new content goes to a temporary file in the same
directory, is flushed to disk, takes the old file's permissions, and is renamed over it, so a
reader (or a crash) sees either the old content or the new. That is right for regular files only:
renaming over a symlink would replace the link, and renaming over ``/dev/null`` (as root) would
replace the device node with a regular file. So a symlink is written through to its target, and a
device, FIFO or ``/dev/stdout`` is opened and written in place.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


class WriteError(Exception):
    """The file could not be written; the message names it. Nothing was changed."""


def write_output(path: Path | str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``: atomically for a regular file (or a new one), in place otherwise."""
    data = text.encode("utf-8")
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None  # a new file (or a dangling symlink: its target is created)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode):
        if stat.S_ISDIR(mode):
            raise WriteError(f"{path}: is a directory")
        _write_in_place(path, data)
        return
    write_atomically(Path(os.path.realpath(path)), data)


def _write_in_place(path: Path, data: bytes) -> None:
    try:
        with open(path, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write: {exc.strerror or exc}") from None


def write_atomically(path: Path, data: bytes) -> None:
    """Replace the regular file ``path`` (or create it) with ``data``, keeping its permission bits."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as exc:
        raise WriteError(f"{path}: cannot write: {exc.strerror or exc}") from None
    temporary = None
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".sagewise-tmp")
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
        temporary = None
    except OSError as exc:
        raise WriteError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
