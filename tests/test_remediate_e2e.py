"""``sagewise remediate`` and ``sagewise undo`` as a user runs them: subprocesses against a moto server.

Plan (the account unchanged), apply, audit again (the safe findings gone), apply again (nothing changes), undo
(the scaling state exactly as before); a plan gone stale refused step by step; an apply killed in the middle of a
call undone from its journal; the confirmation asked on a terminal; and the README's walkthrough, which must be
the real output.
"""

from __future__ import annotations

import http.server
import json
import os
import pty
import re
import signal
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import audit_scenario as scenario
import remediate_scenario as remediation

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"


@pytest.fixture
def server(moto_server):
    """The module's moto server, emptied for each test."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=10)
    return moto_server


@pytest.fixture
def env(environment, server):
    return {**environment, "AWS_ENDPOINT_URL": server}


def sagewise(arguments: list, env: dict, cwd: Path, stdin=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditor", *map(str, arguments)], env=env, cwd=cwd, text=True,
                          capture_output=True, timeout=180, stdin=stdin, check=False)


def seeded(server) -> scenario.Clients:
    c = scenario.clients(REGION, endpoint_url=server)
    scenario.seed_rule_scenario(c)
    return c


def test_plan_apply_audit_apply_again_undo(server, env, tmp_path):
    c = seeded(server)
    # moto creates some services' default resources (EC2's AMIs) on their first read: read once before comparing.
    sagewise(["audit", "--region", REGION], env, tmp_path)
    scaling, before = remediation.scaling_state(c), scenario.server_state(server)

    planned = sagewise(["remediate", "--region", REGION, "--plan-out", "plan.json"], env, tmp_path)

    assert planned.returncode == 0, planned.stderr
    assert scenario.server_state(server) == before  # planning is an audit: nothing changes
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert planned.stdout.endswith("Saved the plan to plan.json; apply it with `sagewise remediate --apply "
                                   "plan.json`.\n")
    fixed = {finding["fingerprint"] for step in plan["steps"] for finding in step["findings"]}
    assert len(plan["steps"]) >= 5 and all(step["safety"] == "safe" for step in plan["steps"])

    applied = sagewise(["remediate", "--apply", "plan.json", "--yes"], env, tmp_path)

    assert applied.returncode == 0, applied.stdout + applied.stderr
    audited = sagewise(["audit", "--region", REGION, "--format", "json", "--fail-on", "never"], env, tmp_path)
    remaining = {finding["fingerprint"] for finding in json.loads(audited.stdout)["findings"]}
    assert fixed and not fixed & remaining  # every finding a step fixed is gone
    after = scenario.server_state(server)

    again = sagewise(["remediate", "--apply", "plan.json", "--yes"], env, tmp_path)

    assert again.returncode == 0
    assert again.stdout.splitlines()[-1].startswith(f"Applied 0 steps ({len(plan['steps'])} unchanged, 0 refused")
    assert scenario.server_state(server) == after

    undone = sagewise(["undo", "plan.journal.jsonl", "--yes"], env, tmp_path)

    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert remediation.scaling_state(c) == scaling


def test_a_plan_gone_stale_is_refused_step_by_step(server, env, tmp_path):
    c = seeded(server)
    assert sagewise(["remediate", "--region", REGION, "--plan-out", "plan.json"], env, tmp_path).returncode == 0
    scenario.add_target(c, "endpoint/unscaled/variant/AllTraffic", 1, 8)
    scenario.add_policy(c, "endpoint/young-idle/variant/AllTraffic", "young-flapping", scale_in=120, scale_out=300)

    applied = sagewise(["remediate", "--apply", "plan.json", "--yes"], env, tmp_path)

    assert applied.returncode == 1
    refused = [line for line in applied.stdout.splitlines() if ": refused: the account changed since" in line]
    assert [line.split("] ")[1].split(":")[0] for line in refused] == [
        "autoscale variant AllTraffic of endpoint unscaled (1..3, invocations-per-instance)",
        "set ScaleInCooldown of young-flapping to 300s"]
    assert "Applied" in applied.stdout.splitlines()[-1] and " 2 refused, 0 failed" in applied.stdout.splitlines()[-1]
    targets = c.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker",
                                                      ResourceIds=["endpoint/unscaled/variant/AllTraffic"])
    assert targets["ScalableTargets"][0]["MaxCapacity"] == 8  # someone else's change is left alone


class _Holding(http.server.BaseHTTPRequestHandler):
    """A proxy to the moto server that holds the first PutScalingPolicy until the test releases it, then drops it
    or lets it through (a call that reached AWS while its caller died)."""

    upstream = ""
    held = released = None
    let_through = False

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        holding = "PutScalingPolicy" in self.headers.get("X-Amz-Target", "") and not self.held.is_set()
        if holding:
            self.held.set()
            self.released.wait(60)
            if not self.let_through:
                return
        headers = {key: value for key, value in self.headers.items() if key.lower() not in ("host", "content-length")}
        request = urllib.request.Request(self.upstream + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, answer_headers, content = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, content = error.code, error.headers, error.read()
        try:
            self.send_response(status)
            for key, value in answer_headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except OSError:
            pass  # the caller is gone

    def log_message(self, *_):
        pass


@pytest.mark.skipif(sys.platform == "win32", reason="signals to a child process")
@pytest.mark.parametrize("stop, landed", [(signal.SIGKILL, False), (signal.SIGINT, True)], ids=["kill", "ctrl-c"])
def test_an_apply_stopped_in_the_middle_of_a_call_is_undone_from_its_journal(server, env, tmp_path, stop, landed):
    c = seeded(server)
    scaling = remediation.scaling_state(c)
    assert sagewise(["remediate", "--region", REGION, "--select", "SW101", "--plan-out", "plan.json"], env,
                    tmp_path).returncode == 0
    handler = type("Holding", (_Holding,), {"upstream": server, "held": threading.Event(),
                                            "released": threading.Event(), "let_through": landed})
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as proxy:
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        child = subprocess.Popen([sys.executable, "-m", "auditor", "remediate", "--apply", "plan.json", "--yes"],
                                 env={**env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{proxy.server_address[1]}"},
                                 cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert handler.held.wait(120), child.communicate()
        child.send_signal(stop)
        _, stderr = child.communicate(timeout=60)
        handler.released.set()
        proxy.shutdown()
    journal = tmp_path / "plan.journal.jsonl"
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert lines[-1]["phase"] == "before" and lines[-1]["call"]["operation"] == "PutScalingPolicy"  # in doubt
    if stop == signal.SIGINT:
        assert child.returncode == 130
        assert "`sagewise undo plan.journal.jsonl` reverts them" in stderr and "Traceback" not in stderr

    undone = sagewise(["undo", "plan.journal.jsonl", "--yes"], env, tmp_path)

    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert remediation.scaling_state(c) == scaling
    settled = [entry for entry in map(json.loads, journal.read_text().splitlines()) if entry.get("settled")]
    assert [entry["outcome"] for entry in settled] == ["done" if landed else "not-made"]


def test_an_apply_stopped_before_its_journal_exists_points_to_no_journal(server, env, tmp_path):
    seeded(server)
    assert sagewise(["remediate", "--region", REGION, "--select", "SW101", "--plan-out", "plan.json"], env,
                    tmp_path).returncode == 0
    script = textwrap.dedent("""\
        from auditor.cli import main
        from auditor.remediation import runs

        def interrupted(*_):
            raise KeyboardInterrupt  # Ctrl-C while the accounts' credentials are opened: nothing is called yet

        runs._open = interrupted
        main(["remediate", "--apply", "plan.json", "--yes"])
        """)
    child = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=180)
    assert (child.returncode, child.stderr) == (130, "sagewise: interrupted\n")
    assert not (tmp_path / "plan.journal.jsonl").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
@pytest.mark.parametrize("answer, code, last", [("n", 1, "Nothing was changed."), ("y", 0, "Applied 1 step")])
def test_the_confirmation_is_asked_on_a_terminal(server, env, tmp_path, answer, code, last):
    c = seeded(server)
    before = remediation.scaling_state(c)
    assert sagewise(["remediate", "--region", REGION, "--select", "SW104", "--plan-out", "plan.json"], env,
                    tmp_path).returncode == 0
    controller, terminal = pty.openpty()
    try:
        os.write(controller, f"{answer}\n".encode())
        run = sagewise(["remediate", "--apply", "plan.json"], env, tmp_path, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert run.returncode == code, run.stderr
    assert "~ scaling policy young-flapping on endpoint/young-idle/variant/AllTraffic" in run.stdout
    assert "Apply 1 of the plan's 1 steps to account(s) 123456789012? [y/N]" in run.stdout
    assert last in run.stdout.splitlines()[-1]  # (the answer is echoed on the terminal, not in the output)
    assert (remediation.scaling_state(c) == before) == (answer == "n")


# --- The README's walkthrough -------------------------------------------------------------------------------------


def _readme_blocks() -> tuple[str, list]:
    """The audit example's seeding script, and the remediation walkthrough as (command, output) pairs."""
    readme = (REPO / "README.md").read_text()
    seed = re.search(r"\$ python - <<'SEED'\n(.*?)\nSEED\n", readme, re.DOTALL)
    walkthrough = re.search(r"<!-- remediate:start -->\n```console\n(.*?)```\n<!-- remediate:end -->", readme, re.DOTALL)
    assert seed and walkthrough, "the README's audit example or remediation walkthrough is missing"
    commands = re.split(r"^\$ ", walkthrough.group(1), flags=re.MULTILINE)[1:]
    return seed.group(1), [tuple(command.split("\n", 1)) for command in commands]


def test_the_readme_walkthrough_is_the_real_output(server, env, tmp_path):
    seed, commands = _readme_blocks()
    subprocess.run([sys.executable, "-"], input=seed, env=env, cwd=tmp_path, text=True, check=True, timeout=60)
    assert [command for command, _ in commands][:2] == ["sagewise remediate --region us-east-1 --plan-out plan.json",
                                                        "sagewise remediate --apply plan.json --yes"]
    for command, output in commands:
        run = sagewise(command.split()[1:], env, tmp_path)
        assert run.stdout == output, command


def test_without_boto3_remediate_and_undo_say_how_to_install_it(environment, tmp_path):
    for arguments in (["remediate", "--region", REGION], ["undo", "journal.jsonl", "--yes"]):
        hide_boto3 = ("import sys; sys.modules['boto3'] = sys.modules['botocore'] = None; "
                      f"from auditor.cli import main; main({arguments!r})")
        run = subprocess.run([sys.executable, "-c", hide_boto3], env=environment, cwd=tmp_path, capture_output=True,
                             text=True, timeout=60, check=False)
        assert (run.returncode, run.stdout) == (2, "")
        assert run.stderr == "sagewise: error: sagewise remediate and undo need boto3: pip install 'sagewise[aws]'\n"
