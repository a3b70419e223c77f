"""Live fixes on the serving paths (issue 12): a Lambda provisioned concurrency policy's cooldowns (SW104).

Each fix is planned from an audit (the plan's calls valid for botocore, the account unchanged), applied, applied
again (unchanged), undone (the state as it was), and refused once the account changed since the plan. Application
Auto Scaling is moto, which keeps the ``lambda`` namespace; Lambda is a botocore ``Stubber`` (moto has no provisioned
concurrency at all, ``tests/serving_scenario.py``), which checks every request and answer against botocore's service
model and answers in the order the answers were queued, so these tests read the account one describe at a time
(``describes_in_order``).
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

import audit_scenario as scenario
import remediate_scenario as remediation
import serving_scenario as serving
from auditor.remediation import access
from auditor.remediation import journal as journals
from auditor.remediation.apply import APPLIED, REFUSED, REVERTED, UNCHANGED, Runner, apply_step
from auditor.remediation.plan import call_problem
from auditor.remediation.undo import undo_step
from auditor.sources.aws import RegionClients

REGION = remediation.REGION
SCOPE = (remediation.ACCOUNT, REGION)
LAMBDA = serving.CONCURRENCY_DIMENSION
UTILIZATION = {"PredefinedMetricType": "LambdaProvisionedConcurrencyUtilization"}


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path, describes_in_order):
    scenario.isolate_environment(monkeypatch, tmp_path)


def run(step_or_record, clients: RegionClients, journal, direction: str):
    """Apply a step or undo a journal's record of it, as ``sagewise remediate --apply`` and ``sagewise undo`` do."""
    with journals.Journal(journal) as written:
        runner = Runner({SCOPE: clients}, {}, written, direction)
        if direction == journals.APPLY:
            return apply_step(step_or_record, None, runner)
        return undo_step(step_or_record, runner)


def record(journal):
    [applied] = journals.replay(journals.read(journal)).values()
    return applied


def fixing_clients(c, **others) -> RegionClients:
    """The clients remediation applies and undoes through, behind its own guard (``others``: Lambda, EC2 Auto Scaling
    clients, a Stubber's where moto lacks the calls)."""
    guard = access.guard()
    return RegionClients(guard.attach(c.sagemaker), guard.attach(c.autoscaling), None,
                         **{name: guard.attach(client) for name, client in others.items()})


def audit_function(stub: Stubber, name: str = "ranker", qualifier: str = "live", executions: int = 10) -> None:
    """What Lambda answers an audit for one function with provisioned concurrency on one alias (1024 MB, Zip: a
    function SW401 leaves alone, so its callers are not read)."""
    serving.list_functions(stub, serving.function(name, memory=1024))
    serving.list_concurrency(stub, name, (qualifier, executions))
    serving.get_configuration(stub, name, qualifier, memory=1024)


def tracking_policy(c, resource_id: str, name: str, **configuration) -> None:
    c.autoscaling.put_scaling_policy(
        PolicyName=name, ServiceNamespace="lambda", ResourceId=resource_id, ScalableDimension=LAMBDA,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={"PredefinedMetricSpecification": UTILIZATION, **configuration})


# --- SW104 on a Lambda policy --------------------------------------------------------------------------------------


def test_sw104_on_a_lambda_policy_is_put_again_in_the_lambda_namespace(monkeypatch, tmp_path):
    """Lambda's default cooldowns are 0 s: a policy that only writes ScaleOutCooldown scales in at once."""
    lam = boto3.client("lambda", region_name=REGION)
    remediation.audit_through(monkeypatch, {"lambda": lam})
    with mock_aws():
        c = scenario.clients(REGION)
        target = serving.lambda_target(c.autoscaling, "ranker", "live", 10, 30)
        tracking_policy(c, target, "utilization", TargetValue=0.7, ScaleOutCooldown=60)
        before = remediation.scaling_state(c, "lambda")
        with Stubber(lam) as stub:
            audit_function(stub)
            plan, unreadable = remediation.plan(["SW104"])
            stub.assert_no_pending_responses()
        assert unreadable == [] and plan.skipped == [] and remediation.scaling_state(c, "lambda") == before
        [step] = plan.steps
        [call] = step.calls
        assert call.params == {
            "PolicyName": "utilization", "ServiceNamespace": "lambda", "ResourceId": "function:ranker:live",
            "ScalableDimension": LAMBDA, "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {"PredefinedMetricSpecification": UTILIZATION,
                                                         "TargetValue": 0.7, "ScaleOutCooldown": 60,
                                                         "ScaleInCooldown": 60}}
        assert call_problem(call) is None and call.undo.params["ServiceNamespace"] == "lambda"

        clients, journal = fixing_clients(c), tmp_path / "journal.jsonl"
        tracking_policy(c, target, "utilization", TargetValue=0.7, ScaleOutCooldown=120)  # changed since the plan
        refused = run(step, clients, journal, journals.APPLY)
        assert refused.outcome == REFUSED and "ScaleOutCooldown: expected 60, found 120" in refused.detail
        tracking_policy(c, target, "utilization", TargetValue=0.7, ScaleOutCooldown=60)

        assert run(step, clients, journal, journals.APPLY).outcome == APPLIED
        [policy] = c.autoscaling.describe_scaling_policies(ServiceNamespace="lambda")["ScalingPolicies"]
        assert policy["TargetTrackingScalingPolicyConfiguration"]["ScaleInCooldown"] == 60
        assert run(step, clients, journal, journals.APPLY).outcome == UNCHANGED
        assert run(record(journal), clients, journal, journals.UNDO).outcome == REVERTED
        assert remediation.scaling_state(c, "lambda") == before
