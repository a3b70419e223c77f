"""``sagewise remediate --apply`` and ``sagewise undo`` on an in-process moto account: applied once, unchanged the
second time, refused where the account changed since the plan, resumable and revertible after a failure or a
crash, and reverted exactly. The end-to-end run against a moto server is in test_remediate_e2e.py."""

from __future__ import annotations

import json
import os

import pytest
from moto import mock_aws

import audit_scenario as scenario
import remediate_scenario as remediation
from auditor.remediation import journal as journals

REGION = remediation.REGION
YOUNG_FLAPPING = "endpoint/young-idle/variant/AllTraffic"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path):
    scenario.isolate_environment(monkeypatch, tmp_path)


@pytest.fixture
def account():
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.seed_rule_scenario(c)
        scenario.backdate(REGION, scenario.IDLE_ENDPOINTS_BACKDATED, 30)
        yield c


def write_plan(path, selected=("SW101", "SW104"), unsafe=False):
    plan, unreadable = remediation.plan(list(selected), unsafe=unsafe)
    assert unreadable == []
    path.write_text(plan.text())
    return plan


def entries(path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()]


def findings(selected) -> set:
    return {(finding.rule_id, finding.location.resource) for finding in remediation.audit(selected).findings}


def test_apply_fixes_once_changes_nothing_twice_and_undo_restores_exactly(account, sagewise, tmp_path):
    account.sagemaker.add_tags(ResourceArn=scenario.endpoint_arn("idle"), Tags=[{"Key": "team", "Value": "ml"}])
    scaling, served = remediation.scaling_state(account), remediation.endpoints(account)
    plan_file = tmp_path / "plan.json"
    plan = write_plan(plan_file, ("SW101", "SW104", "SW303"), unsafe=True)
    steps = len(plan.steps)

    applied = sagewise("remediate", "--apply", plan_file, "--yes")

    assert applied.exit_code == 0, applied.output
    lines = applied.stdout.splitlines()
    assert lines[0] == f"[1/{steps}] park idle endpoint idle (delete it, keep endpoint config idle-config): applied " \
                       "(3 calls)"
    assert lines[-1].startswith(f"Applied {steps} steps (0 unchanged, 0 refused, 0 failed). Journal: ")
    journal = tmp_path / "plan.journal.jsonl"
    assert lines[-1].endswith(f"Journal: {journal} (`sagewise undo {journal}` reverts it).")
    assert findings(["SW101", "SW104", "SW303"]) == {("SW101", scenario.endpoint_arn("burstable"))}  # no live fix
    assert "idle" not in remediation.endpoints(account)
    calls = [entry for entry in entries(journal) if entry["event"] == "call"]
    assert len(calls) == 2 * sum(len(step.calls) for step in plan.steps)  # before and after each call
    assert all(entry["state"] for entry in calls if entry["phase"] == "before")

    again = sagewise("remediate", "--apply", plan_file, "--yes")

    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[-1].startswith(f"Applied 0 steps ({steps} unchanged, 0 refused, 0 failed).")
    assert [entry for entry in entries(journal) if entry["event"] == "call"] == calls  # no call made

    undone = sagewise("undo", journal, "--yes")

    assert undone.exit_code == 0, undone.output
    assert undone.stdout.splitlines()[-1] == f"Reverted {steps} steps (0 refused, 0 failed)."
    assert undone.stdout.splitlines()[-2].startswith(f"[{steps}/{steps}] park idle endpoint idle")  # newest first
    assert remediation.scaling_state(account) == scaling
    assert remediation.endpoints(account) == served  # recreated from its kept config, with its tags
    assert sagewise("undo", journal, "--yes").stdout == \
        "Nothing to undo: the journal records no change that is still applied.\n"
    reapplied = sagewise("remediate", "--apply", plan_file, "--yes")  # after an undo, the plan applies again
    assert reapplied.exit_code == 0 and f"Applied {steps} steps" in reapplied.stdout
    assert sagewise("undo", journal, "--yes").stdout.endswith(f"Reverted {steps} steps (0 refused, 0 failed).\n")
    assert remediation.scaling_state(account) == scaling and remediation.endpoints(account) == served


def test_a_stale_plan_is_refused_step_by_step(account, sagewise, tmp_path):
    plan_file = tmp_path / "plan.json"
    steps = len(write_plan(plan_file).steps)
    scenario.add_target(account, "endpoint/unscaled/variant/AllTraffic", 1, 8)  # someone scaled it meanwhile
    scenario.add_policy(account, YOUNG_FLAPPING, "young-flapping", scale_in=120, scale_out=300)

    applied = sagewise("remediate", "--apply", plan_file, "--yes")

    assert applied.exit_code == 1
    lines = applied.stdout.splitlines()
    refused = [line for line in lines if ": refused: " in line]
    assert len(refused) == 2 and len([line for line in lines if line.endswith(": applied (2 calls)")]) == steps - 2
    assert refused[0].startswith(f"[{steps - 1}/{steps}] autoscale variant AllTraffic of endpoint unscaled")
    assert "the account changed since the plan was made: scalable target endpoint/unscaled/variant/AllTraffic: " \
           "expected none, found {" in refused[0]
    assert refused[1].endswith("scalable target endpoint/young-idle/variant/AllTraffic Policies.young-flapping."
                               "TargetTrackingScalingPolicyConfiguration.ScaleInCooldown: expected 60, found 120")
    assert lines[-1].startswith(f"Applied {steps - 2} steps (0 unchanged, 2 refused, 0 failed).")
    policy = account.autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=YOUNG_FLAPPING)
    assert policy["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"]["ScaleInCooldown"] == 120


def deny(monkeypatch, operation: str, resource: str) -> list:
    """Clients created from now on fail ``operation`` on ``resource`` before sending it, as IAM would refuse it;
    returns the list of refusals made. (A ``before-send`` fault would not do: moto acts on a request even when
    another handler answers it.)"""
    import botocore.handlers
    from botocore.awsrequest import AWSResponse

    refused = []

    def refuse(model, params, **_):
        if model.name == operation and resource in str(params.get("body")):
            refused.append(operation)
            error = {"Code": "AccessDeniedException", "Message": f"not authorized to perform {operation}"}
            return AWSResponse("https://denied", 400, {}, None), {"Error": error,
                                                                "ResponseMetadata": {"HTTPStatusCode": 400}}
        return None

    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", [("before-call", refuse)] +
                        botocore.handlers.BUILTIN_HANDLERS)
    return refused


def test_a_failed_call_stops_its_step_and_the_journal_undoes_or_resumes_it(account, sagewise, tmp_path, monkeypatch):
    plan_file = tmp_path / "plan.json"
    write_plan(plan_file)
    before = remediation.scaling_state(account)
    with monkeypatch.context() as denied:
        refused = deny(denied, "PutScalingPolicy", "endpoint/old-p3/")
        applied = sagewise("remediate", "--apply", plan_file, "--yes")

    assert applied.exit_code == 1 and refused == ["PutScalingPolicy"]
    [failed] = [line for line in applied.stdout.splitlines() if ": failed: " in line]
    assert failed.endswith("] autoscale variant AllTraffic of endpoint old-p3 (1..3, invocations-per-instance): "
                           "failed: call 2 of 2: PutScalingPolicy: AccessDeniedException: not authorized to perform "
                           "PutScalingPolicy (remediation needs the permissions `sagewise iam-policy --remediate` "
                           "prints)")
    journal = tmp_path / "plan.journal.jsonl"
    assert entries(journal)[-1]["event"] == "end"  # a failure is journaled, and the run goes on

    resumed = sagewise("remediate", "--apply", plan_file, "--yes")  # the permission was granted meanwhile
    assert resumed.exit_code == 0
    number = failed.split("]")[0]
    assert f"{number}] autoscale variant AllTraffic of endpoint old-p3 (1..3, invocations-per-instance): applied " \
           "(1 call)" in resumed.stdout.splitlines()

    undone = sagewise("undo", journal, "--yes")
    assert undone.exit_code == 0, undone.output
    assert remediation.scaling_state(account) == before


def test_an_answer_lost_after_the_call_took_effect_is_read_from_the_state(account, sagewise, tmp_path, monkeypatch):
    """A call AWS made but whose answer never arrived (a 500 from a proxy, a read timeout) is done, not failed."""
    plan_file = tmp_path / "plan.json"
    write_plan(plan_file, ("SW104",))
    faults = scenario.install_faults(monkeypatch)  # moto makes the call; the client sees the fault's answer
    faults.add("application-auto-scaling", "PutScalingPolicy", "InternalFailure", status=500)

    applied = sagewise("remediate", "--apply", plan_file, "--yes", "--max-attempts", "1")

    assert applied.exit_code == 0, applied.output
    [after] = [entry for entry in entries(tmp_path / "plan.journal.jsonl") if entry.get("phase") == "after"]
    assert after["outcome"] == "done" and after["error"].startswith("PutScalingPolicy: InternalFailure")


def test_a_crash_during_a_call_is_settled_from_the_state(account, sagewise, tmp_path, monkeypatch):
    """A run killed while a call was in flight leaves its ``before`` line only: the next reader decides from the
    resource whether it happened, here once for a call that was not made and once for one that was."""
    plan_file = tmp_path / "plan.json"
    write_plan(plan_file, ("SW101",))
    before = remediation.scaling_state(account)
    with monkeypatch.context() as denied:
        deny(denied, "PutScalingPolicy", "endpoint/old-p3/")
        assert sagewise("remediate", "--apply", plan_file, "--yes").exit_code == 1
    journal = tmp_path / "plan.journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    not_made = next(number for number, line in enumerate(lines) if '"outcome": "failed"' in line)
    made = next(number for number, line in enumerate(lines) if '"phase": "after"' in line and '"index": 1' in line
                and '"outcome": "done"' in line)
    kept = [line for number, line in enumerate(lines) if number not in (not_made, made) and '"event": "step"' not in line
            and '"event": "end"' not in line]
    journal.write_text("".join(kept) + '{"event": "call", "dire')  # and a last line cut short by the crash

    undone = sagewise("undo", journal, "--yes")

    assert undone.exit_code == 0, undone.output
    assert remediation.scaling_state(account) == before
    settled = [entry for entry in journals.read(journal) if entry.get("settled")]
    assert sorted(entry["outcome"] for entry in settled) == ["done", journals.NOT_MADE]


def test_confirmation_is_required_without_a_terminal(account, sagewise, tmp_path):
    plan_file = tmp_path / "plan.json"
    write_plan(plan_file)
    before = remediation.scaling_state(account)
    result = sagewise("remediate", "--apply", plan_file)
    assert result.exit_code == 2
    assert result.stderr == ("sagewise: error: sagewise remediate --apply asks for confirmation and standard input is "
                             "not a terminal: pass --yes\n")
    assert not (tmp_path / "plan.journal.jsonl").exists() and remediation.scaling_state(account) == before
    assert sagewise("undo", tmp_path / "any.jsonl").stderr.startswith("sagewise: error: sagewise undo asks for")


def test_max_changes_refuses_a_larger_plan(account, sagewise, tmp_path):
    plan_file = tmp_path / "plan.json"
    steps = len(write_plan(plan_file).steps)
    before = remediation.scaling_state(account)
    result = sagewise("remediate", "--apply", plan_file, "--yes", "--max-changes", str(steps - 1))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"sagewise: error: {plan_file}: {steps} steps, more than --max-changes {steps - 1}; plan a "
                             "narrower scope or raise the limit\n")
    assert remediation.scaling_state(account) == before


def test_a_journal_belongs_to_one_plan(account, sagewise, tmp_path):
    plan_file = tmp_path / "plan.json"
    write_plan(plan_file, ("SW104",))
    assert sagewise("remediate", "--apply", plan_file, "--yes").exit_code == 0
    other = tmp_path / "other.json"
    write_plan(other, ("SW101",))
    result = sagewise("remediate", "--apply", other, "--yes", "--journal", tmp_path / "plan.journal.jsonl")
    assert result.exit_code == 2
    assert "the journal of another plan; give this one its own with --journal FILE" in result.stderr


def test_a_journal_in_use_is_not_written(account, sagewise, tmp_path):
    fcntl = pytest.importorskip("fcntl")
    plan_file = tmp_path / "plan.json"
    write_plan(plan_file, ("SW104",))
    journal = tmp_path / "plan.journal.jsonl"
    with open(journal, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = sagewise("remediate", "--apply", plan_file, "--yes")
    assert result.exit_code == 2 and result.stderr == f"sagewise: error: {journal}: in use by another sagewise process\n"


@pytest.mark.parametrize("content, message", [
    ("not json\n", "{journal}:1: not a sagewise journal line (Expecting value)"),
    ('{"event": "call", "time": "t"}\n',
     "{journal}:1: not a sagewise journal line (top level: 'direction' is a required property)"),
    ("", "{journal}: not a sagewise journal (no run begins in it)"),
])
def test_a_file_that_is_no_journal_is_one_line(sagewise, tmp_path, content, message):
    journal = tmp_path / "journal.jsonl"
    journal.write_text(content)
    result = sagewise("undo", journal, "--yes")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"sagewise: error: {message.format(journal=journal)}\n"
    assert sagewise("undo", tmp_path / "missing.jsonl", "--yes").stderr == \
        f"sagewise: error: {tmp_path / 'missing.jsonl'}: no such journal\n"


def test_every_journal_line_is_on_disk_before_the_next_call(account, sagewise, tmp_path, monkeypatch):
    plan_file = tmp_path / "plan.json"
    write_plan(plan_file, ("SW104",))
    synced = []
    real_fsync = os.fsync

    def fsync(descriptor):
        synced.append(descriptor)
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    assert sagewise("remediate", "--apply", plan_file, "--yes").exit_code == 0
    lines = len((tmp_path / "plan.journal.jsonl").read_text().splitlines())
    assert len(synced) == lines + 1  # every line, and the directory that gained the file


@pytest.mark.parametrize("arguments, message", [
    (["--apply", "plan.json", "--select", "SW101"], "--select goes with making a plan, not with --apply"),
    (["--apply", "plan.json", "--unsafe-fixes"], "--unsafe-fixes goes with making a plan, not with --apply"),
    (["--apply", "plan.json", "--region", "us-east-1"], "--region goes with making a plan, not with --apply"),
    (["--yes"], "--yes goes with --apply"),
    (["--journal", "j.jsonl"], "--journal goes with --apply"),
    (["--max-changes", "3"], "--max-changes goes with --apply"),
    (["--account", scenario.ACCOUNT], "--account and --organization need --role-name"),
])
def test_options_of_the_other_mode_are_refused(sagewise, arguments, message):
    result = sagewise("remediate", *arguments)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"sagewise: error: {message}\n")


def test_a_plan_for_another_account_needs_a_role(account, sagewise, tmp_path):
    plan_file = tmp_path / "plan.json"
    plan = write_plan(plan_file, ("SW104",))
    data = plan.to_json()
    data["steps"][0]["account"] = "111111111111"
    plan_file.write_text(json.dumps(data))
    result = sagewise("remediate", "--apply", plan_file, "--yes")
    assert result.exit_code == 1
    assert ("refused: the credentials are for account 123456789012, not 111111111111: pass --role-name to reach it "
            "through a role") in result.stdout
