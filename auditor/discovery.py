"""Which files ``sagewise lint`` reads.

Named files are always read. Directories are walked for ``*.yaml *.yml *.json *.template``,
skipping hidden and dependency directories, ``exclude`` globs, and files that do not look like
a CloudFormation template, a Step Functions definition or a SageMaker pipeline definition (so a
repository's other YAML and JSON - CI workflows, package.json - is not reported as broken).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

EXTENSIONS = (".yaml", ".yml", ".json", ".template")
SKIPPED_DIRECTORIES = {"node_modules", "__pycache__", "venv", ".venv", "site-packages", "cdk.out.cache"}


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


def discover(paths, exclude=(), root: Path | None = None) -> list[tuple[Path, bool]]:
    """(file, named explicitly) pairs, in a stable order, each file once.

    ``exclude`` globs match paths relative to ``root`` (and bare file or directory names).
    """
    root = root or Path.cwd()
    found: list[tuple[Path, bool]] = []
    seen: set = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for directory, directories, files in os.walk(path):
                directories[:] = sorted(
                    d for d in directories
                    if not d.startswith(".") and d not in SKIPPED_DIRECTORIES
                    and not excluded(relative_path(Path(directory) / d, root), exclude)
                )
                for name in sorted(files):
                    candidate = Path(directory) / name
                    if name.endswith(EXTENSIONS) and not excluded(relative_path(candidate, root), exclude):
                        _add(found, seen, candidate, False)
        else:
            _add(found, seen, path, True)
    return found


def _add(found, seen, path: Path, explicit: bool) -> None:
    key = os.path.normcase(os.path.abspath(path))
    if key not in seen:
        seen.add(key)
        found.append((path, explicit))


def looks_like_definition(data: bytes) -> bool:
    """A cheap test on the raw bytes, so walking a repository does not parse every YAML file in it."""
    if b"AWSTemplateFormatVersion" in data:
        return True
    if b"Resources" in data and (b"AWS::" in data or b"Custom::" in data):
        return True
    if b'"States"' in data and b'"StartAt"' in data:
        return True
    return b'"Steps"' in data and (b'"Version"' in data or b'"Arguments"' in data)
