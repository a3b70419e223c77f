"""``sagewise audit`` as a user runs it: a subprocess against a moto server reached through AWS_ENDPOINT_URL,
with the credential chains and the broken endpoints real users meet."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest

import audit_scenario as scenario

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"


def sagewise(arguments: list, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditor", *arguments], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_audit_reports_live_findings_and_changes_nothing(moto_server, environment, tmp_path):
    c = scenario.clients(REGION, endpoint_url=moto_server)
    scenario.seed_rule_scenario(c)
    config = tmp_path / "sagewise.yaml"
    # moto stamps endpoints with the time they were seeded: judge idleness regardless of age.
    config.write_text("rules:\n  SW303:\n    min_age_days: 0\n")
    # moto creates some services' default resources (EC2's AMIs, behind Auto Scaling) on their first read.
    for service, operation in (("lambda", "list_functions"), ("autoscaling", "describe_auto_scaling_groups")):
        getattr(boto3.client(service, region_name=REGION, endpoint_url=moto_server), operation)()
    before = scenario.server_state(moto_server)

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
    assert stats["scopes"] == 1 and stats["endpoints"] == 13
    assert stats["api_calls"]["sagemaker:Search"] == 2
    assert report["summary"]["endpoints_by_status"] == {"InService": 13}
    assert scenario.server_state(moto_server) == before


def test_web_identity_credentials_work(moto_server, environment, tmp_path):
    """IRSA / GitHub OIDC: botocore assumes the role with the token file; the audit's guard must not stop it."""
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl")
    env = {name: value for name, value in environment.items()
           if name not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env.update(AWS_ENDPOINT_URL=moto_server, AWS_WEB_IDENTITY_TOKEN_FILE=str(token),
               AWS_ROLE_ARN=f"arn:aws:iam::{scenario.ACCOUNT}:role/ci-audit", AWS_ROLE_SESSION_NAME="ci")

    run = sagewise(["audit", "--region", REGION, "--format", "json", "--stats", "--fail-on", "never"], env, tmp_path)

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["errors"] == [] and "Traceback" not in run.stderr
    stats = json.loads(run.stderr[run.stderr.index("{"):])
    assert stats["scopes"] == 1 and "sts:AssumeRoleWithWebIdentity" not in stats["api_calls"]  # not the audit's call


class _Proxy(http.server.BaseHTTPRequestHandler):
    """Answers every request as a misconfigured proxy does: an HTML page, or an empty 404."""

    answer = (200, b"<html><body>Please sign in to the corporate proxy</body></html>")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, body = self.answer
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


@pytest.mark.parametrize("answer", [(200, b"<html><body>Please sign in</body></html>"), (404, b"")],
                         ids=["html", "empty-404"])
def test_an_endpoint_that_is_not_aws_is_one_error_line(environment, tmp_path, answer):
    handler = type("Proxy", (_Proxy,), {"answer": answer})
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as proxy:
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{proxy.server_address[1]}"
        run = sagewise(["audit", "--region", REGION, "--max-attempts", "1"], {**environment, "AWS_ENDPOINT_URL": url},
                       tmp_path)
        proxy.shutdown()
    assert run.returncode == 2 and "Traceback" not in run.stderr
    error, summary = run.stdout.splitlines()
    assert error.startswith("us-east-1: error: GetCallerIdentity: ")
    assert error.endswith("(is AWS_ENDPOINT_URL or a proxy answering instead of AWS?)")
    assert summary == "No findings (0 scopes, 0 endpoints checked). 1 input could not be read."


def test_nothing_left_to_audit_exits_2(moto_server, environment, tmp_path):
    run = sagewise(["audit", "--region", REGION, "--account", scenario.ACCOUNT, "--exclude-account", scenario.ACCOUNT,
                    "--role-name", "Audit"], {**environment, "AWS_ENDPOINT_URL": moto_server}, tmp_path)
    assert run.returncode == 2
    assert run.stdout.splitlines()[0].startswith("sagewise: error: nothing was audited")
    assert "All checks passed" not in run.stdout


@pytest.mark.parametrize("arguments, message", [
    (["--account", "12345"], "--account '12345' is not a 12-digit account ID"),
    (["--region", ""], "--region '' is not a region name"),
    (["--region", "us-east-9"], "--region 'us-east-9' is not a region that botocore"),
    (["--exclude-account", "abc"], "--exclude-account 'abc' is not a 12-digit account ID"),
    (["--profile", " "], "--profile ' ' is not a profile name"),
    (["--external-id", "x1234"], "--external-id and --duration-seconds apply to assumed roles: pass --role-name"),
    (["--organization", "--role-name", "Audit", "--role-session-name", "a b"],
     "--role-session-name 'a b' is not a role session name"),
])
def test_bad_options_are_one_line_and_exit_2(environment, tmp_path, arguments, message):
    run = sagewise(["audit", *arguments], environment, tmp_path)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr.startswith(f"sagewise: error: {message}") and run.stderr.count("\n") == 1


def test_without_boto3_audit_says_how_to_install_it(environment, tmp_path):
    hide_boto3 = ("import sys; sys.modules['boto3'] = sys.modules['botocore'] = None; "
                  "from auditor.cli import main; main(['audit', '--region', 'us-east-1'])")
    run = subprocess.run([sys.executable, "-c", hide_boto3], env=environment, cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == "sagewise: error: sagewise audit needs boto3: pip install 'sagewise[aws]'\n"


def test_no_credentials_exits_2_with_one_line(environment, tmp_path):
    env = {name: value for name, value in environment.items()
           if name not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    run = sagewise(["audit", "--region", REGION], env, tmp_path)
    assert run.returncode == 2
    assert run.stderr.startswith("sagewise: error: no AWS credentials found") and run.stderr.count("\n") == 1
    assert run.stdout == ""


def test_the_commands_defaults_are_the_audits():
    from auditor.audit import AuditOptions
    from auditor.cli import audit

    defaults = {param.name: param.default for param in audit.params}
    for name in ("role_session_name", "jobs", "max_attempts", "connect_timeout", "read_timeout", "training_days"):
        assert defaults[name] == getattr(AuditOptions(), name), name


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT cannot be sent to a child process on Windows")
def test_ctrl_c_exits_at_once_while_calls_hang(moto_server, environment, tmp_path):
    """STS answers (moto) and every SageMaker call hangs on an endpoint that never answers: Ctrl-C must not wait
    for the read timeout of the hung worker threads."""
    import signal
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        env = {**environment, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
               "AWS_ENDPOINT_URL_STS": moto_server}
        child = subprocess.Popen([sys.executable, "-m", "auditor", "audit", "--region", REGION, "--region", "eu-west-1",
                                  "--read-timeout", "120", "--max-attempts", "1"], env=env, cwd=tmp_path,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)  # identity read, both scopes' first call hanging
        assert child.poll() is None, child.communicate()
        interrupted = time.monotonic()
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=30)
        waited = time.monotonic() - interrupted
    assert child.returncode == 130, stderr
    assert "Traceback" not in stderr and stdout == ""
    assert waited < 10, f"took {waited:.1f} s to stop"
