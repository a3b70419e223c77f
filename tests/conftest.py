"""Shared test helpers: where the repository and ``../shared`` are, and a ``sagewise`` CLI runner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory):
    """A ``moto.server`` subprocess for the module, as its URL (``AWS_ENDPOINT_URL`` of a ``sagewise`` run)."""
    import audit_scenario as scenario  # moto and boto3 only for the tests that use it

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as output:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                  stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                scenario.server_state(url)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto server did not start: {log.read_text()}")
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def environment(tmp_path, monkeypatch):
    """Environment of a ``sagewise`` subprocess with fake credentials and no shared AWS config: the run sees only the
    moto server it is pointed at."""
    import audit_scenario as scenario

    scenario.isolate_environment(monkeypatch, tmp_path)
    return {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
