"""Which files ``sagewise lint`` reads, and how they are read.

Directories are walked for ``*.yaml *.yml *.json *.template``, skipping hidden and dependency
directories, ``exclude`` globs, and anything that is not a regular file (FIFOs, sockets, devices,
dangling symlinks). Files named on the command line go through the same ``exclude`` globs (ruff's
``--force-exclude``), so a pre-commit hook that names every staged file can always be told to
leave one alone.

Whether a file is a template or definition at all is decided by :func:`looks_like_definition` on
its raw bytes, for named and walked files alike: a repository's ``docker-compose.yml``,
``mkdocs.yml`` or ``tsconfig.json`` is skipped without being parsed, so YAML features templates
cannot use (anchors, merge keys, Python tags, several documents) never turn into errors there.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .sources.loader import MAX_BYTES, DocumentError

EXTENSIONS = (".yaml", ".yml", ".json", ".template")
SKIPPED_DIRECTORIES = {"node_modules", "__pycache__", "venv", ".venv", "site-packages", "cdk.out.cache"}
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
"""``O_NONBLOCK``: opening a FIFO with no writer returns at once (and is then refused as not a regular file)."""


def display_path(path: Path, cwd: Path | None = None) -> str:
    """The path as reported: relative to the working directory (``../`` included), with forward slashes."""
    absolute = os.path.abspath(path)
    try:
        return Path(os.path.relpath(absolute, cwd or Path.cwd())).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(absolute).as_posix()


def relative_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with forward slashes, or absolute when it is not below ``root``."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return absolute.as_posix()


def excluded(relative: str, patterns) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(name, pattern) for pattern in patterns)


@dataclass
class Discovery:
    files: list = field(default_factory=list)
    """The files, in a stable order, each once (symlinks resolved)."""
    errors: list = field(default_factory=list)
    """(directory, message) for directories that could not be listed."""


def discover(paths, exclude=(), root: Path | None = None) -> Discovery:
    """The candidate files under ``paths``; ``exclude`` globs match paths relative to ``root`` and bare names."""
    root = root or Path.cwd()
    found = Discovery()
    seen: set = set()
    for given in paths:
        path = Path(given)
        if excluded(relative_path(path, root), exclude):
            continue
        if path.is_dir():
            _walk(path, exclude, root, found, seen)
        else:
            _add(found, seen, path)
    return found


def _walk(top: Path, exclude, root: Path, found: Discovery, seen: set) -> None:
    """Depth-first, sorted, without following symlinked directories (no loops, nothing outside ``top``)."""
    pending = [top]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as exc:
            found.errors.append((directory, f"cannot list this directory: {exc.strerror or exc}"))
            continue
        subdirectories = []
        for entry in entries:
            candidate = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not entry.name.startswith(".") and entry.name not in SKIPPED_DIRECTORIES \
                            and not excluded(relative_path(candidate, root), exclude):
                        subdirectories.append(candidate)
                    continue
                # is_file() follows symlinks: a dangling link, a FIFO, a socket or a device is not a file.
                regular = entry.is_file()
            except OSError:
                continue
            if regular and entry.name.endswith(EXTENSIONS) and not excluded(relative_path(candidate, root), exclude):
                _add(found, seen, candidate)
        pending.extend(reversed(subdirectories))


def _add(found: Discovery, seen: set, path: Path) -> None:
    key = os.path.normcase(os.path.realpath(path))
    if key not in seen:
        seen.add(key)
        found.files.append(path)


def read_bytes(path: Path) -> bytes:
    """The content of a regular file, at most :data:`MAX_BYTES`, or a :class:`DocumentError` saying why not.

    The file is opened before it is inspected (no race between a check and the read), a FIFO or a
    device is refused without a single read, and no more than the limit plus one byte is ever read.
    """
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise DocumentError("no such file" if not os.path.islink(path) else "dangling symbolic link") from None
    except IsADirectoryError:
        raise DocumentError("is a directory") from None
    except PermissionError:
        raise DocumentError("permission denied") from None
    except OSError as exc:  # a socket (ENXIO), a name too long...
        raise DocumentError(f"cannot open: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise DocumentError("is a directory")
        if not stat.S_ISREG(mode):
            raise DocumentError(f"not a regular file (a {_kind(mode)})")
        chunks = []
        remaining = MAX_BYTES + 1
        while remaining > 0:
            chunk = os.read(descriptor, min(remaining, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(descriptor)
    data = b"".join(chunks)
    if len(data) > MAX_BYTES:
        raise DocumentError(f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    return data


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _key(name: bytes) -> bytes:
    """A mapping key as YAML or JSON writes it: ``Name:``, ``"Name":`` or ``'Name':``."""
    return rb"""(?:^|[\s{,"'])""" + name + rb"""["']?\s*:"""


_TEMPLATE_VERSION = re.compile(_key(rb"AWSTemplateFormatVersion"), re.MULTILINE)
_RESOURCES = re.compile(_key(rb"Resources"), re.MULTILINE)
_RESOURCE_TYPE = re.compile(_key(rb"Type") + rb"""\s*["']?(?:Custom::|[A-Za-z0-9]+::[A-Za-z0-9]+::)""", re.MULTILINE)
_STATES = re.compile(_key(rb"States"), re.MULTILINE)
_START_AT = re.compile(_key(rb"StartAt"), re.MULTILINE)
_STEPS = re.compile(_key(rb"Steps"), re.MULTILINE)
_PIPELINE_KEYS = re.compile(_key(rb"(?:Version|Arguments)"), re.MULTILINE)


def looks_like_definition(data: bytes) -> bool:
    """Whether raw bytes look like a template, a state machine or a pipeline definition.

    Decided without parsing, on the keys each kind must have: ``AWSTemplateFormatVersion``, or
    ``Resources`` with a resource ``Type`` (``AWS::S::T``, a registry type or module, ``Custom::X``);
    ``States`` with ``StartAt``; ``Steps``
    with ``Version`` or ``Arguments``. Keys are case-sensitive, so a CI workflow's ``steps:`` or
    a Kubernetes manifest's ``resources:`` do not count. A file that passes and then cannot be
    read is an error; one that does not pass is skipped.
    """
    if _TEMPLATE_VERSION.search(data):
        return True
    if _RESOURCES.search(data) and _RESOURCE_TYPE.search(data):
        return True
    if _STATES.search(data) and _START_AT.search(data):
        return True
    return bool(_STEPS.search(data) and _PIPELINE_KEYS.search(data))
