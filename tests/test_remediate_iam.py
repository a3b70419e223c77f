"""The remediation's own allow-list and IAM policy: exactly the calls its fixes make (and the reads that check them),
separate from the audit's read-only ones."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

import audit_scenario as scenario
import remediate_scenario as remediation
import serving_scenario as serving
from auditor import iam
from auditor.audit import ReadOnlyViolation
from auditor.remediation import access, apply, runs
from auditor.remediation import journal as journals
from auditor.remediation.access import Credentials
from auditor.remediation.apply import Runner, apply_step
from auditor.remediation.undo import undo_step
from auditor.sources import aws
from auditor.sources.aws import RegionClients

REGION = remediation.REGION
ROLE_NAME = "SagewiseRemediate"


def echo(*_, **__) -> None:
    """Output of a run nobody reads."""


def policy_actions(**options) -> set:
    return {action for statement in iam.policy_document(iam.REMEDIATE, **options)["Statement"]
            for action in statement["Action"]}


def test_the_guard_allows_the_policy_less_what_aws_checks_on_the_callers_behalf():
    assert iam.REMEDIATE_ACTIONS == policy_actions() - iam.AUTHORIZED_NOT_CALLED
    assert iam.AUTHORIZED_NOT_CALLED < policy_actions()
    assert not iam.REMEDIATE_ACTIONS & {"sagemaker:DeleteEndpointConfig", "sagemaker:DeleteModel",
                                        "application-autoscaling:TagResource"}


@pytest.mark.parametrize("service, operation, params", [
    ("sagemaker", "delete_endpoint_config", {"EndpointConfigName": "kept"}),  # undo needs it: never deleted
    ("sagemaker", "delete_model", {"ModelName": "kept"}),
    ("sagemaker", "update_endpoint_weights_and_capacities", {
        "EndpointName": "e", "DesiredWeightsAndCapacities": [{"VariantName": "A", "DesiredInstanceCount": 0}]}),
    ("sagemaker", "list_models", {}),  # a read, but not one remediation makes
])
def test_the_guard_refuses_what_the_fixes_do_not_call(monkeypatch, tmp_path, service, operation, params):
    scenario.isolate_environment(monkeypatch, tmp_path)
    recorder = access.guard()
    with mock_aws():
        client = recorder.attach(boto3.client(service, region_name=REGION))
        with pytest.raises(ReadOnlyViolation, match="sagewise remediate only makes the calls of its fixes and "
                                                    "refused"):
            getattr(client, operation)(**params)
    assert recorder.calls == {}


@pytest.fixture(scope="module")
def actions_called(tmp_path_factory) -> set:
    """Every IAM action applying and undoing every kind of step calls: the safe fixes and parking on moto (one
    step in another account, through its role), an instance type change with SageMaker stubbed, the scaling of Lambda
    provisioned concurrency with Lambda stubbed, a Spot group's update with EC2 Auto Scaling's updates stubbed."""
    recorder = access.guard()
    folder = tmp_path_factory.mktemp("remediate")
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        scenario.isolate_environment(monkeypatch, folder)
        monkeypatch.setattr(access, "guard", lambda: recorder)
        monkeypatch.setattr(apply, "WAIT_DELAY_SECONDS", 0)
        c = scenario.clients(REGION)
        scenario.seed_rule_scenario(c)
        scenario.backdate(REGION, scenario.IDLE_ENDPOINTS_BACKDATED, 30)
        scenario.add_scheduled_action(c, "endpoint/idle/variant/AllTraffic", "nightly")
        plan, _ = remediation.plan(["SW101", "SW102", "SW104", "SW303"], unsafe=True)
        plan_file = folder / "plan.json"
        plan_file.write_text(plan.text())
        assert runs.apply_plan(plan_file, credentials=Credentials(), confirm=None, echo=echo) == 0
        assert runs.undo_journal(journals.default_path(plan_file), credentials=Credentials(), confirm=None,
                                 echo=echo) == 0
        elsewhere = plan.to_json()
        elsewhere["steps"] = elsewhere["steps"][:1]
        elsewhere["steps"][0]["account"] = "111111111111"
        other_file = folder / "elsewhere.json"
        other_file.write_text(json.dumps(elsewhere))
        runs.apply_plan(other_file, credentials=Credentials(role_name=ROLE_NAME), confirm=None, echo=echo)
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        scenario.isolate_environment(monkeypatch, folder)
        monkeypatch.setattr(apply, "WAIT_DELAY_SECONDS", 0)
        c = scenario.clients(REGION)
        remediation.seed_cpu_on_gpu(c)
        [step] = remediation.plan(["SW301"], unsafe=True)[0].steps
        sagemaker = recorder.attach(boto3.client("sagemaker", region_name=REGION))
        clients = {(remediation.ACCOUNT, REGION): RegionClients(sagemaker, recorder.attach(c.autoscaling), None)}
        with Stubber(sagemaker) as stub, journals.Journal(folder / "change.jsonl") as journal:
            remediation.answer_the_change(stub)
            assert apply_step(step, None, Runner(clients, {}, journal, journals.APPLY)).outcome == apply.APPLIED
            [record] = journals.replay(journals.read(folder / "change.jsonl")).values()
            remediation.answer_the_undo(stub)
            assert undo_step(record, Runner(clients, {}, journal, journals.UNDO)).outcome == apply.REVERTED
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        scenario.isolate_environment(monkeypatch, folder)
        monkeypatch.setattr(aws, "DESCRIBES_IN_FLIGHT", 1)
        audited, applying = boto3.client("lambda", region_name=REGION), boto3.client("lambda", region_name=REGION)
        remediation.audit_through(monkeypatch, {"lambda": audited})
        c = scenario.clients(REGION)
        with Stubber(audited) as stub:
            remediation.answer_function_audit(stub)
            serving.list_concurrency(stub, "ranker", ("live", 10))
            [step] = remediation.plan(["SW402"])[0].steps
        clients = {(remediation.ACCOUNT, REGION): RegionClients(
            recorder.attach(c.sagemaker), recorder.attach(c.autoscaling), None, awslambda=recorder.attach(applying))}
        with Stubber(applying) as stub, journals.Journal(folder / "warm.jsonl") as journal:
            for _ in range(3):
                serving.list_concurrency(stub, "ranker", ("live", 10))
            assert apply_step(step, None, Runner(clients, {}, journal, journals.APPLY)).outcome == apply.APPLIED
            [record] = journals.replay(journals.read(folder / "warm.jsonl")).values()
            assert undo_step(record, Runner(clients, {}, journal, journals.UNDO)).outcome == apply.REVERTED
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        scenario.isolate_environment(monkeypatch, folder)
        c = scenario.clients(REGION)
        remediation.seed_spot_group()
        described = remediation.described_group()
        [step] = remediation.plan(["SW503"])[0].steps
        updating = boto3.client("autoscaling", region_name=REGION)
        clients = {(remediation.ACCOUNT, REGION): RegionClients(
            recorder.attach(c.sagemaker), recorder.attach(c.autoscaling), None,
            ec2_autoscaling=recorder.attach(updating))}
        with Stubber(updating) as stub, journals.Journal(folder / "group.jsonl") as journal:
            answers = remediation.GroupAnswers(stub, described)
            for _ in range(2):  # is it applied, or does its premise hold? before the call
                answers.read(rebalance=False)
            answers.update(CapacityRebalance=True)
            answers.read(rebalance=True)
            assert apply_step(step, None, Runner(clients, {}, journal, journals.APPLY)).outcome == apply.APPLIED
            [record] = journals.replay(journals.read(folder / "group.jsonl")).values()
            answers.read(rebalance=True)  # still as the apply left it? before the call
            answers.read(rebalance=True)
            answers.update(CapacityRebalance=False)
            answers.read(rebalance=False)
            assert undo_step(record, Runner(clients, {}, journal, journals.UNDO)).outcome == apply.REVERTED
    return set(recorder.calls)


def test_the_policy_allows_every_call_the_fixes_make(actions_called):
    assert actions_called - iam.REMEDIATE_ACTIONS == set()


def test_the_policy_allows_nothing_the_fixes_do_not_call(actions_called):
    assert iam.REMEDIATE_ACTIONS - actions_called == set()


def test_planning_reads_what_apply_checks_with_the_audits_permissions_and_no_write_is_the_audits():
    reads = {action for action in iam.REMEDIATE_ACTIONS
             if action.split(":")[1].startswith(("Describe", "List", "Search", "GetCallerIdentity", "AssumeRole"))}
    writes = iam.REMEDIATE_ACTIONS - reads
    assert reads <= iam.AUDIT_ACTIONS  # the plan reads each step's resources behind the audit's guard
    assert writes and writes.isdisjoint(iam.AUDIT_ACTIONS)


def test_a_plans_permissions_are_in_the_policy(monkeypatch, tmp_path):
    scenario.isolate_environment(monkeypatch, tmp_path)
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.seed_rule_scenario(c)
        scenario.backdate(REGION, scenario.IDLE_ENDPOINTS_BACKDATED, 30)
        plan, _ = remediation.plan(unsafe=True)
    assert plan.steps and all(set(step.permissions) <= iam.REMEDIATE_ACTIONS for step in plan.steps)


def test_the_command_prints_the_remediation_policy(sagewise):
    result = sagewise("iam-policy", "--remediate")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == iam.policy_document(iam.REMEDIATE, role_name=iam.DEFAULT_REMEDIATION_ROLE_NAME)
    custom = json.loads(sagewise("iam-policy", "--remediate", "--role-name", "Fixer", "--partition", "aws-cn").stdout)
    assume = next(statement for statement in custom["Statement"] if statement["Action"] == ["sts:AssumeRole"])
    assert assume["Resource"] == "arn:aws-cn:iam::*:role/Fixer"
    assert json.loads(sagewise("iam-policy").stdout) == iam.policy_document(iam.AUDIT)  # the audit's, unchanged


def test_writes_reach_endpoints_and_configs_only():
    for statement in iam.policy_document(iam.REMEDIATE)["Statement"]:
        sagemaker_writes = [action for action in statement["Action"] if action.startswith("sagemaker:")
                            and not action.startswith(("sagemaker:Describe", "sagemaker:Search"))]
        if sagemaker_writes:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert set(resources) <= {"arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*"}
