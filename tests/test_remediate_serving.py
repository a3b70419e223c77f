"""Live fixes on the serving paths (issue 12): Lambda provisioned concurrency (SW402, SW403, and SW104 on its
policies), serverless provisioned concurrency (SW404) and Spot Auto Scaling groups (SW501, SW503).

Each fix is planned from an audit (the plan's calls valid for botocore, the account unchanged), applied, applied
again (unchanged), undone (the state as it was), and refused once the account changed since the plan. What answers
for each service, and why:

- Application Auto Scaling is moto for the ``lambda`` namespace; moto refuses the dimension
  ``sagemaker:variant:DesiredProvisionedConcurrency`` in every call, so SW404 stubs it throughout.
- Lambda is a stub: moto has no provisioned concurrency at all (``tests/serving_scenario.py``).
- EC2 Auto Scaling groups are moto's for the audit and the plan, a stub for the apply and undo
  (``tests/remediate_scenario.py`` says what moto's ``UpdateAutoScalingGroup`` gets wrong).

A botocore ``Stubber`` checks every request and answer against botocore's service model, and answers in the order the
answers were queued, so these tests read the account one describe at a time (``describes_in_order``).
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

import audit_scenario as scenario
import remediate_scenario as remediation
import serving_scenario as serving
from auditor import scaling_fixes
from auditor.remediation import access
from auditor.remediation import journal as journals
from auditor.remediation.apply import APPLIED, REFUSED, REVERTED, UNCHANGED, Runner, apply_step
from auditor.remediation.fixing import STACK_TAG
from auditor.remediation.plan import call_problem, load_plan
from auditor.remediation.undo import pending, undo_step
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


def reloaded(plan, tmp_path):
    """The plan as ``sagewise remediate --apply`` reads it back from its file (schema, botocore, allow-list)."""
    path = tmp_path / "plan.json"
    path.write_text(plan.text())
    loaded, digest = load_plan(path)
    assert digest == plan.digest
    return loaded


def record(journal):
    [applied] = journals.replay(journals.read(journal)).values()
    return applied


def fixing_clients(c, **others) -> RegionClients:
    """The clients remediation applies and undoes through, behind its own guard (``others``: Lambda, EC2 Auto Scaling
    clients, a Stubber's where moto lacks the calls)."""
    guard = access.guard()
    return RegionClients(guard.attach(c.sagemaker), guard.attach(c.autoscaling), None,
                         **{name: guard.attach(client) for name, client in others.items()})


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
            remediation.answer_function_audit(stub)
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
        [step] = reloaded(plan, tmp_path).steps

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


# --- SW402: Lambda provisioned concurrency -------------------------------------------------------------------------


def test_sw402_registers_the_alias_from_its_configured_executions_and_tracks_its_utilization(monkeypatch, tmp_path):
    """MinCapacity is today's count, so registering changes nothing by itself; Lambda is read before each call to see
    that the configured count is still the one the range was planned from."""
    lam = boto3.client("lambda", region_name=REGION)
    remediation.audit_through(monkeypatch, {"lambda": lam})
    with mock_aws():
        c = scenario.clients(REGION)
        with Stubber(lam) as stub:
            remediation.answer_function_audit(stub)
            serving.list_concurrency(stub, "ranker", ("live", 10))  # the plan reads it again
            plan, unreadable = remediation.plan(["SW402"])
            stub.assert_no_pending_responses()
        nothing = {"targets": [], "policies": [], "actions": []}
        assert unreadable == [] and remediation.scaling_state(c, "lambda") == nothing
        [step] = plan.steps
        assert step.title == "autoscale the provisioned concurrency of ranker:live (10..30, " \
                             "provisioned-concurrency-utilization)"
        register, put = step.calls
        params = remediation.all_params()
        target = {"ServiceNamespace": "lambda", "ResourceId": "function:ranker:live", "ScalableDimension": LAMBDA}
        assert register.params == {**target, "MinCapacity": 10, "MaxCapacity": scaling_fixes.max_capacity(params, 10)}
        name, configuration = scaling_fixes.concurrency_policy(params)
        assert configuration["TargetValue"] == params["SW402"]["fix_target_utilization"] == 0.7
        assert put.params == {"PolicyName": name, **target, "PolicyType": "TargetTrackingScaling",
                              "TargetTrackingScalingPolicyConfiguration": configuration}
        assert [call_problem(call) for call in step.calls] == [None, None]
        assert "lambda:ListProvisionedConcurrencyConfigs" in step.permissions
        assert "registering a target moves provisioned concurrency" in step.changes[0].note
        [step] = reloaded(plan, tmp_path).steps

        apply_lambda = boto3.client("lambda", region_name=REGION)
        clients, journal = fixing_clients(c, awslambda=apply_lambda), tmp_path / "journal.jsonl"
        with Stubber(apply_lambda) as stub:
            serving.list_concurrency(stub, "ranker", ("live", 12))  # someone raised it since the plan
            refused = run(step, clients, journal, journals.APPLY)
            for _ in range(3):  # before the step, then before and after the registration
                serving.list_concurrency(stub, "ranker", ("live", 10))
            applied = run(step, clients, journal, journals.APPLY)
            stub.assert_no_pending_responses()
        assert refused.outcome == REFUSED and refused.detail.endswith(
            "provisioned concurrency of ranker:live RequestedProvisionedConcurrentExecutions: expected 10, found 12")
        assert (applied.outcome, applied.calls) == (APPLIED, 2)
        state = remediation.scaling_state(c, "lambda")
        assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in state["targets"]] == [
            ("function:ranker:live", 10, 30)]
        assert [p["TargetTrackingScalingPolicyConfiguration"] for p in state["policies"]] == [configuration]
        assert run(step, clients, journal, journals.APPLY).outcome == UNCHANGED
        undone = run(record(journal), clients, journal, journals.UNDO)
        assert (undone.outcome, undone.calls) == (REVERTED, 2)
        assert remediation.scaling_state(c, "lambda") == nothing


# --- SW403: a percentage target ------------------------------------------------------------------------------------


def test_sw403_writes_a_percentage_as_the_fraction_and_leaves_the_rest_to_people(monkeypatch, tmp_path):
    lam = boto3.client("lambda", region_name=REGION)
    remediation.audit_through(monkeypatch, {"lambda": lam})
    with mock_aws():
        c = scenario.clients(REGION)
        live = serving.lambda_target(c.autoscaling, "ranker", "live", 10, 30)
        tracking_policy(c, live, "percent", TargetValue=70)
        serving.lambda_policy(c.autoscaling, live, "steps", step=True)
        serving.lambda_target(c.autoscaling, "ranker", "$LATEST")
        before = remediation.scaling_state(c, "lambda")
        with Stubber(lam) as stub:
            remediation.answer_function_audit(stub)
            plan, unreadable = remediation.plan(["SW403"])
            stub.assert_no_pending_responses()
        assert unreadable == [] and plan.skipped == [] and remediation.scaling_state(c, "lambda") == before
        manual = {note["finding"]["subject"]: note["advice"] for note in plan.manual}
        assert manual["scaling policy steps on function:ranker:live"].startswith(
            "replace the policy with target tracking on LambdaProvisionedConcurrencyUtilization")
        assert manual["scalable target function:ranker:$LATEST"].startswith(
            "Lambda provisioned concurrency and its targets name a published alias or version")
        [step] = plan.steps
        assert step.title == "set TargetValue of percent to 0.7"
        [call] = step.calls
        assert call.params["TargetTrackingScalingPolicyConfiguration"] == {
            "PredefinedMetricSpecification": UTILIZATION, "TargetValue": 0.7}
        assert call.undo.params["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70
        assert call_problem(call) is None
        [step] = reloaded(plan, tmp_path).steps

        clients, journal = fixing_clients(c), tmp_path / "journal.jsonl"
        tracking_policy(c, live, "percent", TargetValue=80)
        refused = run(step, clients, journal, journals.APPLY)
        assert refused.outcome == REFUSED and "TargetValue: expected 70, found 80" in refused.detail
        tracking_policy(c, live, "percent", TargetValue=70)

        assert run(step, clients, journal, journals.APPLY).outcome == APPLIED
        policies = {p["PolicyName"]: p for p in c.autoscaling.describe_scaling_policies(
            ServiceNamespace="lambda")["ScalingPolicies"]}
        assert policies["percent"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 0.7
        assert run(step, clients, journal, journals.APPLY).outcome == UNCHANGED
        assert run(record(journal), clients, journal, journals.UNDO).outcome == REVERTED
        assert remediation.scaling_state(c, "lambda") == before


# --- SW404: serverless provisioned concurrency ---------------------------------------------------------------------


def serverless_endpoint(c, name: str, *, provisioned: int, maximum: int) -> None:
    c.sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "custom",
        "ServerlessConfig": {"MemorySizeInMB": 4096, "MaxConcurrency": maximum,
                             "ProvisionedConcurrency": provisioned}}])
    c.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)


class TargetAnswers:
    """Application Auto Scaling answering for one serverless variant's target, read by read: what the step's reader
    asks (the target, then its policies and scheduled actions when it is registered) and each call it makes."""

    def __init__(self, stub: Stubber, resource_id: str):
        self.stub = stub
        self.target = {"ServiceNamespace": "sagemaker", "ResourceId": resource_id,
                       "ScalableDimension": "sagemaker:variant:DesiredProvisionedConcurrency"}

    def read(self, capacity: dict | None = None, policies: dict | None = None) -> None:
        """The target as it is: ``None`` unregistered, or registered with ``capacity`` and ``policies`` (name ->
        PolicyType and configuration)."""
        where = {"ServiceNamespace": "sagemaker", "ScalableDimension": self.target["ScalableDimension"]}
        found = [{**self.target, **capacity, "RoleARN": scenario.ROLE, "CreationTime": "2026-11-02T10:00:00Z"}] \
            if capacity else []
        self.stub.add_response("describe_scalable_targets", {"ScalableTargets": found},
                               {"ResourceIds": [self.target["ResourceId"]], **where})
        if not capacity:
            return
        self.stub.add_response("describe_scaling_policies", {"ScalingPolicies": [{
            **self.target, **policy, "PolicyName": name, "CreationTime": "2026-11-02T10:00:00Z",
            "PolicyARN": scenario.policy_arn(self.target["ResourceId"], name)}
            for name, policy in (policies or {}).items()]}, {"ResourceId": self.target["ResourceId"], **where})
        self.stub.add_response("describe_scheduled_actions", {"ScheduledActions": []},
                               {"ResourceId": self.target["ResourceId"], **where})

    def call(self, operation: str, params: dict, answer: dict | None = None) -> None:
        self.stub.add_response(operation, answer or {}, {**self.target, **params})


def test_sw404_registers_a_serverless_variant_up_to_its_max_concurrency(monkeypatch, tmp_path):
    """moto refuses the dimension even in DescribeScalableTargets: Application Auto Scaling is stubbed throughout."""
    audited = boto3.client("application-autoscaling", region_name=REGION)
    remediation.audit_through(monkeypatch, {"application-autoscaling": audited})
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        serverless_endpoint(c, "warm", provisioned=5, maximum=20)
        serverless_endpoint(c, "full", provisioned=20, maximum=20)
        with Stubber(audited) as stub:
            namespace = {"ServiceNamespace": "sagemaker", "MaxResults": 50}
            stub.add_response("describe_scheduled_actions", {"ScheduledActions": []}, namespace)
            stub.add_response("describe_scalable_targets", {"ScalableTargets": []}, namespace)
            stub.add_response("describe_scaling_policies", {"ScalingPolicies": []}, {**namespace, "MaxResults": 10})
            TargetAnswers(stub, "endpoint/warm/variant/AllTraffic").read()  # the plan reads the target again
            plan, unreadable = remediation.plan(["SW404"])
            stub.assert_no_pending_responses()  # and nothing but reads
        assert unreadable == []
        skipped = {note["finding"]["subject"]: note["reason"] for note in plan.skipped}
        assert skipped == {"endpoint full, variant AllTraffic": "MaxConcurrency leaves provisioned concurrency no "
                                                                 "room to grow"}
        [step] = plan.steps
        register, put = step.calls
        params = remediation.all_params()
        capacity = {"MinCapacity": 5, "MaxCapacity": 15}
        assert scaling_fixes.serverless_capacity(params, 5, 20) == (5, 15)
        name, configuration = scaling_fixes.variant_policy(params, "serverless", "warm")
        policy = {"PolicyType": "TargetTrackingScaling", "TargetTrackingScalingPolicyConfiguration": configuration}
        answers = TargetAnswers(None, "endpoint/warm/variant/AllTraffic")
        assert register.params == {**answers.target, **capacity}
        assert put.params == {"PolicyName": name, **answers.target, **policy}
        assert configuration["PredefinedMetricSpecification"] == {
            "PredefinedMetricType": "SageMakerVariantProvisionedConcurrencyUtilization"}
        assert [call_problem(call) for call in step.calls] == [None, None]
        [step] = reloaded(plan, tmp_path).steps

        autoscaling = boto3.client("application-autoscaling", region_name=REGION)
        guard = access.guard()
        clients = RegionClients(guard.attach(c.sagemaker), guard.attach(autoscaling), None)
        journal = tmp_path / "journal.jsonl"
        with Stubber(autoscaling) as stub:
            answers.stub = stub
            answers.read()  # is it applied already, or does its premise hold? (SageMaker: the variant keeps 5 of 20)
            answers.read()
            answers.call("register_scalable_target", capacity, {"ScalableTargetARN": "arn:aws:application-autoscaling:"
                                                                f"{REGION}:{scenario.ACCOUNT}:scalable-target/0123"})
            answers.read(capacity)
            answers.read(capacity)
            answers.call("put_scaling_policy", {"PolicyName": name, **policy}, {"PolicyARN": scenario.policy_arn(
                answers.target["ResourceId"], name), "Alarms": []})
            answers.read(capacity, {name: policy})
            applied = run(step, clients, journal, journals.APPLY)
            answers.read(capacity, {name: policy})
            again = run(step, clients, journal, journals.APPLY)
            answers.read(capacity, {name: policy})  # still as the apply left it?
            answers.read(capacity, {name: policy})
            answers.call("delete_scaling_policy", {"PolicyName": name})
            answers.read(capacity)
            answers.read(capacity)
            answers.call("deregister_scalable_target", {})
            answers.read()
            undone = run(record(journal), clients, journal, journals.UNDO)
            stub.assert_no_pending_responses()
        assert (applied.outcome, applied.calls, again.outcome, undone.outcome, undone.calls) == (
            APPLIED, 2, UNCHANGED, REVERTED, 2)

        c.sagemaker.delete_endpoint(EndpointName="warm")  # made again meanwhile, keeping 20 warm
        c.sagemaker.create_endpoint(EndpointName="warm", EndpointConfigName="full")
        with Stubber(autoscaling) as stub:
            answers.stub = stub
            answers.read()
            refused = run(step, clients, tmp_path / "stale.jsonl", journals.APPLY)
            stub.assert_no_pending_responses()
        assert refused.outcome == REFUSED and "ProvisionedConcurrency: expected 5, found 20" in refused.detail


# --- SW501, SW503: Spot Auto Scaling groups ------------------------------------------------------------------------


def test_sw501_and_sw503_update_the_group_and_undo_puts_it_back(tmp_path):
    """The allocation strategy goes in the distribution alone (no launch template: nothing to launch from is checked),
    without SpotInstancePools; Capacity Rebalancing is one flag. A stack's group is left to its template."""
    with mock_aws():
        c = scenario.clients(REGION)
        remediation.seed_spot_group()
        remediation.seed_spot_group("stacked", tags={STACK_TAG: "serving"})
        before = remediation.described_group()
        plan, unreadable = remediation.plan(["SW501", "SW503"])
        assert unreadable == [] and remediation.described_group() == before
        skipped = sorted((note["finding"]["rule_id"], note["finding"]["subject"], note["reason"])
                         for note in plan.skipped)
        assert skipped == [(rule, "Auto Scaling group stacked", "Auto Scaling group stacked belongs to CloudFormation "
                            "stack serving: change its template (`sagewise fix`) and deploy it, or the stack drifts")
                           for rule in ("SW501", "SW503")]
        steps = {step.findings[0]["rule_id"]: step for step in plan.steps}
        [spot], [rebalance] = steps["SW501"].calls, steps["SW503"].calls
        distribution = {**remediation.AWS_DISTRIBUTION, "SpotAllocationStrategy": "price-capacity-optimized"}
        del distribution["SpotInstancePools"]
        assert spot.params == {"AutoScalingGroupName": remediation.SPOT_GROUP,
                               "MixedInstancesPolicy": {"InstancesDistribution": distribution}}
        assert spot.undo.params["MixedInstancesPolicy"]["InstancesDistribution"] == remediation.AWS_DISTRIBUTION
        assert rebalance.params == {"AutoScalingGroupName": remediation.SPOT_GROUP, "CapacityRebalance": True}
        assert rebalance.undo.params["CapacityRebalance"] is False
        assert [call_problem(call) for call in (spot, rebalance)] == [None, None]
        assert steps["SW501"].permissions == steps["SW503"].permissions == [
            "autoscaling:DescribeAutoScalingGroups", "autoscaling:UpdateAutoScalingGroup"]
        assert "running instances stay" in steps["SW501"].changes[0].note
        steps = {step.findings[0]["rule_id"]: step for step in reloaded(plan, tmp_path).steps}

        autoscaling = boto3.client("autoscaling", region_name=REGION)
        clients, journal = fixing_clients(c, ec2_autoscaling=autoscaling), tmp_path / "journal.jsonl"
        old, new = remediation.AWS_DISTRIBUTION, distribution
        with Stubber(autoscaling) as stub:
            answers = remediation.GroupAnswers(stub, before)
            changed = {**old, "SpotAllocationStrategy": "capacity-optimized"}
            answers.read(changed)
            refused = run(steps["SW501"], clients, journal, journals.APPLY)
            for _ in range(2):  # is it applied, or does its premise hold? before the call
                answers.read(old)
            answers.update(MixedInstancesPolicy={"InstancesDistribution": new})
            answers.read(new)
            spot_applied = run(steps["SW501"], clients, journal, journals.APPLY)
            for _ in range(2):
                answers.read(new, rebalance=False)
            answers.update(CapacityRebalance=True)
            answers.read(new, rebalance=True)
            rebalance_applied = run(steps["SW503"], clients, journal, journals.APPLY)
            answers.read(new, rebalance=True)
            answers.read(new, rebalance=True)
            again = [run(steps[rule], clients, journal, journals.APPLY).outcome for rule in ("SW501", "SW503")]
            answers.read(new, rebalance=True)  # newest first: Capacity Rebalancing, still as the apply left it?
            answers.read(new, rebalance=True)
            answers.update(CapacityRebalance=False)
            answers.read(new, rebalance=False)
            answers.read(new)  # then the allocation strategy
            answers.read(new)
            answers.update(MixedInstancesPolicy={"InstancesDistribution": old})
            answers.read(old)
            undone = [run(each, clients, journal, journals.UNDO).outcome for each in pending(
                journals.replay(journals.read(journal)))]
            stub.assert_no_pending_responses()
        assert refused.outcome == REFUSED and refused.detail.endswith(
            "Auto Scaling group spot-gpus InstancesDistribution.SpotAllocationStrategy: expected \"lowest-price\", "
            "found \"capacity-optimized\"")
        assert (spot_applied.outcome, rebalance_applied.outcome, again, undone) == (
            APPLIED, APPLIED, [UNCHANGED, UNCHANGED], [REVERTED, REVERTED])
