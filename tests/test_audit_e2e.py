"""``sagewise audit`` as a user runs it: a subprocess against a moto server reached through AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import audit_scenario as scenario

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _state(url: str) -> dict:
    """Every object moto holds, as JSON: equal before and after means nothing was changed."""
    with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as output:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                  stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _state(url)
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
    """Fake credentials, no shared AWS config: the run sees only the moto server."""
    scenario.isolate_environment(monkeypatch, tmp_path)
    return {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}


def sagewise(arguments: list, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditor", *arguments], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_audit_reports_live_findings_and_changes_nothing(moto_server, environment, tmp_path):
    c = scenario.clients(REGION, endpoint_url=moto_server)
    scenario.seed_rule_scenario(c)
    config = tmp_path / "sagewise.yaml"
    # moto stamps endpoints with the time they were seeded: judge idleness regardless of age.
    config.write_text("rules:\n  SW303:\n    min_age_days: 0\n")
    before = _state(moto_server)

    run = sagewise(["audit", "--region", REGION, "--format", "json", "--config", str(config), "--stats"],
                   {**environment, "AWS_ENDPOINT_URL": moto_server}, tmp_path)

    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["version"] == 1 and report["errors"] == []
    names = scenario.scaling_names(c)
    found = {(f["rule_id"], names.get(f["resource"], f["resource"]), f["path"]) for f in report["findings"]}
    expected = scenario.expected_findings(REGION)
    young = f"arn:aws:sagemaker:{REGION}:{scenario.ACCOUNT}:endpoint/young-idle"
    assert found == expected | {("SW303", young, "")}  # both idle endpoints count once age is no bar
    for finding in report["findings"]:
        assert (finding["account"], finding["region"]) == (scenario.ACCOUNT, REGION)
        assert len(finding["fingerprint"]) == 32 and finding["file"] is None
    idle = next(f for f in report["findings"] if f["rule_id"] == "SW303" and f["resource"].endswith("/idle"))
    assert idle["evidence"]["invocations"] == 0 and idle["monthly_cost_usd"] == pytest.approx(83.95)
    oversized = next(f for f in report["findings"]
                     if f["rule_id"] == "SW301" and f["resource"].endswith("/oversized"))
    assert oversized["evidence"]["downsize_to"] == "ml.m5.xlarge" and oversized["monthly_savings_usd"] > 0
    stats = json.loads(run.stderr[run.stderr.index("{"):])
    assert stats["scopes"] == 1 and stats["endpoints"] == 10
    assert stats["api_calls"]["sagemaker:ListEndpoints"] == 1
    assert _state(moto_server) == before


def test_no_credentials_exits_2_with_one_line(environment, tmp_path):
    env = {name: value for name, value in environment.items()
           if name not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    run = sagewise(["audit", "--region", REGION], env, tmp_path)
    assert run.returncode == 2
    assert run.stderr.startswith("sagewise: error: no AWS credentials found") and run.stderr.count("\n") == 1
    assert run.stdout == ""
