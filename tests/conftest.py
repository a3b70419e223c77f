"""Shared test helpers: where the repository and ``../shared`` are, and a ``sagewise`` CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"

if str(ROOT) not in sys.path:  # a source checkout run without `pip install -e .`
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def shared() -> Path:
    """``../shared`` beside the repository (corpus and reference files); skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the shared corpus/reference checkout must sit beside the repository")
    return SHARED


@pytest.fixture
def sagewise():
    """Run the CLI in-process: ``sagewise("lint", path, "--format", "json")`` -> click ``Result``.

    Exceptions are not caught, so a traceback fails the test instead of becoming exit code 1.
    """
    from click.testing import CliRunner

    from auditor.cli import main

    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [str(arg) for arg in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def subprocess_env() -> dict:
    """Environment for ``[sys.executable, "-m", "auditor", ...]`` (finds the package without installing it)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


@pytest.fixture
def run_module(subprocess_env):
    """``python -m auditor ARGS`` in a fresh process (for inputs that could crash or hang the interpreter)."""

    def run(*args, cwd=None, timeout=120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "auditor", *map(str, args)], cwd=cwd, env=subprocess_env,
                              capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture
def describes_in_order(monkeypatch):
    """One describe call at a time in the live source: botocore's ``Stubber`` answers in the order responses were
    added, and describes run concurrently would take them in any order (a flaky test, not a failing audit)."""
    from auditor.sources import aws

    monkeypatch.setattr(aws, "DESCRIBES_IN_FLIGHT", 1)
