"""``sagewise remediate`` planning: what each live fix plans, what it leaves to people, and plan files.

Plans are made over the shared moto scenario (:mod:`audit_scenario`) and checked call by call: the same
defaults and parameters as ``sagewise fix`` (:mod:`auditor.scaling_fixes`), parameters botocore's
service models accept, and nothing changed in the account while planning.
"""

from __future__ import annotations

import json

import pytest
from moto import mock_aws

import audit_scenario as scenario
import remediate_scenario as remediation
from auditor import rightsizing, scaling_fixes
from auditor.remediation import plan as plans
from auditor.remediation.endpoint_fixes import config_name
from auditor.remediation.plan import PlanError, call_problem, load_plan
from auditor.remediation.render import plan_text
from auditor.remediation.steps import WAITERS, Call, subject

REGION = remediation.REGION


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


def by_subject(plan) -> dict:
    return {(step.findings[0]["rule_id"], step.findings[0]["subject"]): step for step in plan.steps}


def test_safe_fixes_are_the_template_fixes_and_the_rest_is_explained(account):
    scenario.add_endpoint(account, "queue", asynchronous=True)  # SW101 on an asynchronous endpoint
    before = remediation.scaling_state(account)
    plan, unreadable = remediation.plan()

    assert unreadable == [] and remediation.scaling_state(account) == before  # planning changes nothing
    steps = by_subject(plan)
    unscaled = {subject(finding) for finding in remediation.audit(["SW101"]).findings}
    assert {name for rule, name in steps if rule == "SW101"} == unscaled - {"endpoint burstable, variant AllTraffic"}
    assert {("SW101", "endpoint unscaled, variant AllTraffic"), ("SW101", "endpoint queue, variant AllTraffic"),
            ("SW104", "scaling policy young-flapping on endpoint/young-idle/variant/AllTraffic")} <= set(steps)
    assert all(step.safety == "safe" for step in plan.steps)
    register, put = steps[("SW101", "endpoint unscaled, variant AllTraffic")].calls
    params = remediation.all_params()
    assert register.params == {"ServiceNamespace": "sagemaker", "ResourceId": "endpoint/unscaled/variant/AllTraffic",
                               "ScalableDimension": scenario.VARIANT_DIMENSION, "MinCapacity": 1,
                               "MaxCapacity": scaling_fixes.max_capacity(params, 1)}
    name, configuration = scaling_fixes.variant_policy(params, "real-time", "unscaled")
    assert put.params == {"PolicyName": name, "ServiceNamespace": "sagemaker",
                          "ResourceId": "endpoint/unscaled/variant/AllTraffic",
                          "ScalableDimension": scenario.VARIANT_DIMENSION, "PolicyType": "TargetTrackingScaling",
                          "TargetTrackingScalingPolicyConfiguration": configuration}
    assert register.undo.operation == "DeregisterScalableTarget" and put.undo.operation == "DeleteScalingPolicy"
    asynchronous = steps[("SW101", "endpoint queue, variant AllTraffic")].calls[1].params
    assert asynchronous["TargetTrackingScalingPolicyConfiguration"] == scaling_fixes.variant_policy(
        params, "async", "queue")[1]
    [cooldowns] = steps[("SW104", "scaling policy young-flapping on endpoint/young-idle/variant/AllTraffic")].calls
    tracking = cooldowns.params["TargetTrackingScalingPolicyConfiguration"]
    assert (tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (300, 300)  # scale-in = scale-out
    assert cooldowns.undo.params["TargetTrackingScalingPolicyConfiguration"]["ScaleInCooldown"] == 60

    manual = {(note["finding"]["rule_id"], note["finding"]["subject"]): note["advice"] for note in plan.manual}
    assert "set StoppingCondition.MaxWaitTimeInSeconds to 7200" in manual[("SW202", "training job spot-no-wait")]
    assert "CheckpointConfig.S3Uri" in manual[("SW201", "training job spot-no-checkpoint")]
    assert ("SW103", "scalable target endpoint/oversized/variant/AllTraffic") in manual
    skipped = {(note["finding"]["rule_id"], note["finding"]["subject"]): note["reason"] for note in plan.skipped}
    assert skipped[("SW303", "endpoint idle")] == "an unsafe fix: planned only with --unsafe-fixes"
    assert "does not autoscale burstable" in skipped[("SW101", "endpoint burstable, variant AllTraffic")]
    assert "scales nothing" in skipped[("SW102", "scalable target endpoint/ghost/variant/AllTraffic")]


def test_every_call_is_one_botocore_and_the_remediation_policy_accept(account):
    plan, _ = remediation.plan(unsafe=True)
    calls = [call for step in plan.steps for call in step.calls]
    assert {call.operation for call in calls} >= {"RegisterScalableTarget", "PutScalingPolicy", "CreateEndpointConfig",
                                                  "UpdateEndpoint", "DeleteEndpoint", "DeregisterScalableTarget",
                                                  "DeleteScalingPolicy"}
    assert [call_problem(call) for call in calls] == [None] * len(calls)


def test_config_copies_change_only_the_instance_type(account):
    scenario.add_scheduled_action(account, "endpoint/oversized/variant/AllTraffic", "nightly")
    plan, _ = remediation.plan(["SW301"], unsafe=True)
    step = by_subject(plan)[("SW301", "endpoint oversized, variant AllTraffic")]
    operations = [call.operation for call in step.calls]
    assert operations == ["CreateEndpointConfig", "DeleteScalingPolicy", "DeleteScheduledAction",
                          "DeregisterScalableTarget", "UpdateEndpoint", "RegisterScalableTarget",
                          "PutScheduledAction", "PutScalingPolicy"]  # scaling off before the update, back after
    old = account.sagemaker.describe_endpoint_config(EndpointConfigName="oversized-config")
    create = step.calls[0].params
    assert create == {"EndpointConfigName": "oversized-config-m5-xlarge", "ProductionVariants": [
        {**old["ProductionVariants"][0], "InstanceType": "ml.m5.xlarge"}]}
    update = step.calls[4]
    assert update.params == {"EndpointName": "oversized", "EndpointConfigName": "oversized-config-m5-xlarge",
                             "RetainAllVariantProperties": True} and update.wait == "endpoint_in_service"
    assert update.undo.params["EndpointConfigName"] == "oversized-config" and step.calls[0].undo is None
    assert step.calls[0].idempotent and "kept" in step.calls[0].kept


def test_one_step_per_endpoint_and_parked_endpoints_get_nothing_else(account):
    scenario.add_endpoint(account, "p3-cpu", "ml.p3.2xlarge", model="sklearn")  # SW301 and SW302 on one variant
    scenario.busy(account, "p3-cpu")
    plan, _ = remediation.plan(["SW1", "SW3"], unsafe=True)
    steps = [step for step in plan.steps if step.title.startswith("change the instance type of endpoint p3-cpu")]
    [step] = steps
    assert {finding["rule_id"] for finding in step.findings} == {"SW301", "SW302"}
    moved_to = step.calls[0].params["ProductionVariants"][0]["InstanceType"]
    assert moved_to == rightsizing.cpu_equivalent("ml.p3.2xlarge") == "ml.m5.4xlarge"  # SW301's, before SW302's
    parked = [step for step in plan.steps if step.title.startswith("park idle endpoint idle")]
    assert len(parked) == 1 and plan.steps[0] is parked[0]
    assert not any("endpoint/idle/" in json.dumps(step.to_json()) for step in plan.steps[1:])


def test_an_endpoint_of_a_cloudformation_stack_is_left_to_its_template(account):
    scenario.add_endpoint(account, "stacked", "ml.m4.xlarge", tags={"aws:cloudformation:stack-name": "serving"})
    scenario.busy(account, "stacked")
    plan, _ = remediation.plan(["SW302"], unsafe=True)
    skipped = {note["finding"]["subject"]: note["reason"] for note in plan.skipped}
    assert skipped["endpoint stacked, variant AllTraffic"].startswith(
        "endpoint stacked belongs to CloudFormation stack serving")


def test_a_step_scaling_policy_is_not_recreated(account):
    account.autoscaling.put_scaling_policy(
        PolicyName="step", ServiceNamespace="sagemaker", ResourceId="endpoint/oversized/variant/AllTraffic",
        ScalableDimension=scenario.VARIANT_DIMENSION, PolicyType="StepScaling",
        StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
            {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]})
    plan, _ = remediation.plan(["SW301"], unsafe=True)
    [note] = [note for note in plan.skipped if note["finding"]["subject"] == "endpoint oversized, variant AllTraffic"]
    assert "step scaling policy step" in note["reason"] and "orphan the alarms" in note["reason"]


def test_the_text_reads_like_terraform_plan(account):
    plan, _ = remediation.plan(["SW101", "SW104", "SW303"], unsafe=True)
    text = plan_text(plan)
    assert "Account 123456789012, us-east-1:" in text
    assert "  # 1. park idle endpoint idle (delete it, keep endpoint config idle-config) [unsafe]\n" in text
    assert "  - endpoint idle\n      - EndpointConfigName = \"idle-config\"\n" in text
    assert "  + scalable target endpoint/unscaled/variant/AllTraffic\n      + MinCapacity = 1\n      + MaxCapacity = 3\n" \
        in text
    assert "  ~ scaling policy young-flapping on endpoint/young-idle/variant/AllTraffic\n" \
           "      ~ ScaleInCooldown = 60 -> 300\n" in text
    autoscaled = sum(step.findings[0]["rule_id"] == "SW101" for step in plan.steps)
    assert text.endswith(f"Plan: {autoscaled + 2} steps (1 unsafe): {2 * autoscaled} to add, 1 to change, 2 to delete. "
                         f"{len(plan.skipped)} not planned.\n")


def test_config_names_are_deterministic_and_fit():
    assert config_name("churn-config", ["ml.m5.xlarge"]) == "churn-config-m5-xlarge"
    long = config_name("c" * 60, ["ml.m5.xlarge"])
    assert len(long) == 63 and long == config_name("c" * 60, ["ml.m5.xlarge"]) and long.startswith("c" * 54 + "-")


# --- Plan files --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def written_plan(tmp_path_factory) -> str:
    """A plan of the scenario as a file holds it, made once for the tests that take it apart."""
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        scenario.isolate_environment(monkeypatch, tmp_path_factory.mktemp("aws"))
        scenario.seed_rule_scenario(scenario.clients(REGION))
        return remediation.plan(["SW101", "SW104"])[0].text()


@pytest.fixture
def plan_file(written_plan, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(written_plan)
    return path


def test_a_plan_file_reads_back_as_written(plan_file):
    plan, digest = load_plan(plan_file)
    assert plan.text() == plan_file.read_text()
    reformatted = plan_file.with_name("compact.json")
    reformatted.write_text(json.dumps(json.loads(plan_file.read_text())))
    assert load_plan(reformatted)[1] == digest  # the digest is of the content, not the layout


def _edited(path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("change, message", [
    (lambda data: data.update(version=2), "plan version 2 is not one this sagewise reads (1)"),
    (lambda data: data.pop("kind"), 'not a sagewise plan (no "kind": "sagewise-remediation-plan")'),
    (lambda data: data["steps"][0].pop("calls"), "steps[0]: 'calls' is a required property"),
    (lambda data: data["steps"][0]["calls"][0].update(service="iam"), "steps[0].calls[0].service: 'iam' is not one of"),
    (lambda data: data["steps"][0]["calls"][0].update(operation="DeleteEndpointConfig", service="sagemaker"),
     "step 1: sagemaker:DeleteEndpointConfig is not a call of sagewise's fixes"),
    (lambda data: data["steps"][0]["calls"][0].update(operation="DescribeEndpoint", service="sagemaker"),
     "step 1: sagemaker:DescribeEndpoint is not a call of sagewise's fixes"),
    (lambda data: data["steps"][0]["calls"][0]["params"].update(MinCapacity="one"),
     "step 1: RegisterScalableTarget: Parameter validation failed: Invalid type for parameter MinCapacity"),
    (lambda data: data["steps"][0]["calls"][0]["params"].pop("ResourceId"),
     'step 1: RegisterScalableTarget: Parameter validation failed: Missing required parameter in input: "ResourceId"'),
    (lambda data: data["steps"][0]["calls"][0]["undo"]["params"].update(Extra=1),
     'step 1: DeregisterScalableTarget: Parameter validation failed: Unknown parameter in input: "Extra"'),
    (lambda data: data["steps"][0]["calls"][0]["expect"][0]["probe"].pop("dimension"),
     "steps[0].calls[0].expect[0].probe: 'dimension' is a required property"),  # its namespace is the dimension's
    (lambda data: data["steps"][0]["permissions"].pop(), "step 1: its permissions are not those its calls need"),
    (lambda data: data["steps"].append(data["steps"][0]), "two steps have the same id"),
])
def test_a_plan_file_that_is_not_what_sagewise_writes_is_refused(plan_file, change, message):
    _edited(plan_file, change)
    with pytest.raises(PlanError) as raised:
        load_plan(plan_file)
    assert str(raised.value).startswith(f"{plan_file}: ")
    assert message in str(raised.value)


@pytest.mark.parametrize("content, message", [
    (b"{", "not a sagewise plan (invalid JSON at line 1"),
    (b"\xff\xfe", "not a sagewise plan (not UTF-8 text)"),
    (b"[]", "not a sagewise plan"),
])
def test_a_file_that_is_no_plan_is_one_line(tmp_path, content, message):
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    with pytest.raises(PlanError) as raised:
        load_plan(path)
    assert str(raised.value).startswith(f"{path}: {message}")
    with pytest.raises(PlanError, match="cannot read"):
        load_plan(tmp_path / "missing.json")


def test_call_problem_checks_undo_calls_too():
    register = Call("application-autoscaling", "RegisterScalableTarget", {
        "ServiceNamespace": "sagemaker", "ResourceId": "endpoint/a/variant/A",
        "ScalableDimension": scenario.VARIANT_DIMENSION, "MinCapacity": 1, "MaxCapacity": 2},
        undo=Call("sagemaker", "DeleteModel", {"ModelName": "m"}))
    assert call_problem(register) == "sagemaker:DeleteModel is not a call of sagewise's fixes"


def test_plan_module_constants_match_the_schema():
    schema = plans._schema()["$defs"]
    assert schema["plan"]["properties"]["version"]["const"] == plans.VERSION
    assert schema["plan"]["properties"]["kind"]["const"] == plans.KIND
    assert sorted(schema["call"]["properties"]["wait"]["enum"]) == sorted(WAITERS)


def test_the_command_prints_the_plan_as_json_and_writes_it(account, sagewise, tmp_path):
    result = sagewise("remediate", "--region", REGION, "--select", "SW104", "--format", "json", "--plan-out",
                      tmp_path / "plan.json", "--isolated")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads((tmp_path / "plan.json").read_text())
    [step] = load_plan(tmp_path / "plan.json")[0].steps
    assert step.findings[0]["rule_id"] == "SW104" and step.permissions == sorted(step.permissions)


def test_an_unreadable_resource_skips_its_finding_and_exits_2(account, sagewise, monkeypatch):
    from auditor.remediation import state

    def denied(self, probe):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeScalableTargets")

    monkeypatch.setattr(state.Reader, "read", denied)
    result = sagewise("remediate", "--region", REGION, "--select", "SW104", "--isolated")
    assert result.exit_code == 2
    assert result.stderr == ("sagewise: error: 123456789012/us-east-1: scaling policy young-flapping on "
                             "endpoint/young-idle/variant/AllTraffic: its state could not be read: DescribeScalableTargets: "
                             "AccessDeniedException: no (the audit needs the permissions `sagewise iam-policy` prints)\n")
    assert "Plan: nothing to change. 1 not planned." in result.stdout
