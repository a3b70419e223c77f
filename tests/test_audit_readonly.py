"""The audit cannot change an account, and its shipped IAM policy allows exactly what it calls."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

import audit_scenario as scenario
from auditor.audit import AuditOptions, CallRecorder, ReadOnlyViolation, collect_settings, run_audit
from auditor.rules import load_rules
from auditor.sources import aws

REGION = "us-east-1"
POLICY = Path(aws.__file__).parents[1] / "data" / "audit-iam-policy.json"
ROLE_NAME = "SagewiseAudit"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path):
    scenario.isolate_environment(monkeypatch, tmp_path)


def policy_statements() -> list:
    return json.loads(POLICY.read_text())["Statement"]


def allowed_actions() -> set:
    return {action for statement in policy_statements() for action in statement["Action"]}


# --- The guard -----------------------------------------------------------------------------------


def test_the_guard_refuses_writes_and_counts_reads():
    recorder = CallRecorder()
    with mock_aws():
        session = recorder.attach(boto3.Session(region_name=REGION))
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "precious")
        guarded = session.client("sagemaker")
        with pytest.raises(ReadOnlyViolation, match="refused to call sagemaker:DeleteEndpoint"):
            guarded.delete_endpoint(EndpointName="precious")
        with pytest.raises(ReadOnlyViolation, match="sagemaker:UpdateEndpointWeightsAndCapacities"):
            guarded.update_endpoint_weights_and_capacities(
                EndpointName="precious",
                DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 0}])
        assert guarded.describe_endpoint(EndpointName="precious")["EndpointStatus"] == "InService"
        sts = session.client("sts")
        sts.get_caller_identity()
        sts.assume_role(RoleArn=f"arn:aws:iam::{scenario.ACCOUNT}:role/{ROLE_NAME}", RoleSessionName="test")
    assert recorder.calls == {"sagemaker:DescribeEndpoint": 1, "sts:AssumeRole": 1, "sts:GetCallerIdentity": 1}


def test_every_client_of_an_audit_is_guarded(monkeypatch):
    def tamper(autoscaling, scope):
        autoscaling.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId="endpoint/a/variant/AllTraffic",
                                               ScalableDimension=scenario.VARIANT_DIMENSION)

    monkeypatch.setattr(aws, "_scaling_policies", tamper)
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_target(c, "endpoint/a/variant/AllTraffic")
        with pytest.raises(ReadOnlyViolation, match="application-autoscaling:DeregisterScalableTarget"):
            run_audit(AuditOptions(regions=(REGION,)), load_rules(), {}, {})
        assert len(c.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]) == 1


# --- The IAM policy ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def actions_called(tmp_path_factory) -> set:
    """Every IAM action a full audit calls: an organization over all regions, and inference components."""
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        scenario.isolate_environment(monkeypatch, tmp_path_factory.mktemp("aws"))
        boto3.client("organizations", region_name=REGION).create_organization(FeatureSet="ALL")
        scenario.seed_rule_scenario(scenario.clients(REGION))
        options = AuditOptions(organization=True, role_name=ROLE_NAME, all_regions=True, jobs=8)
        audit = run_audit(options, load_rules(), {}, {})
        assert audit.errors == [] and audit.findings
        recorder = CallRecorder()  # moto has no inference-component API: the collector reads a stub
        session = recorder.attach(boto3.Session(region_name=REGION))
        sagemaker, autoscaling = session.client("sagemaker"), session.client("application-autoscaling")
        with scenario.stub_component_endpoint(sagemaker), scenario.stub_component_target(autoscaling):
            clients = aws.RegionClients(sagemaker, autoscaling, session.client("cloudwatch"))
            aws.collect(clients, scenario.ACCOUNT, REGION, collect_settings(load_rules(), {}, 14))
    return set(audit.stats["api_calls"]) | set(recorder.calls)


def test_the_policy_allows_every_call_the_audit_makes(actions_called):
    assert actions_called - allowed_actions() == set()


def test_the_policy_allows_nothing_the_audit_does_not_call(actions_called):
    assert allowed_actions() - actions_called == set()


def test_the_policy_has_no_wildcard_actions_and_only_reads():
    for statement in policy_statements():
        assert statement["Effect"] == "Allow" and statement.get("Sid")
        for action in statement["Action"]:
            service, name = action.split(":")
            assert "*" not in action and "?" not in action, action
            assert name.startswith(CallRecorder.READ_PREFIXES) or action in CallRecorder.ALSO_ALLOWED, action


@pytest.mark.parametrize("action, arn", [
    ("sagemaker:DescribeEndpoint", f"arn:aws:sagemaker:{REGION}:{scenario.ACCOUNT}:endpoint/churn"),
    ("sagemaker:DescribeEndpointConfig", f"arn:aws:sagemaker:{REGION}:{scenario.ACCOUNT}:endpoint-config/churn"),
    ("sagemaker:DescribeModel", f"arn:aws:sagemaker:{REGION}:{scenario.ACCOUNT}:model/churn"),
    ("sagemaker:DescribeInferenceComponent", f"arn:aws:sagemaker:{REGION}:{scenario.ACCOUNT}:inference-component/c"),
    ("sagemaker:DescribeTrainingJob", f"arn:aws:sagemaker:{REGION}:{scenario.ACCOUNT}:training-job/t"),
    ("sts:AssumeRole", f"arn:aws:iam::{scenario.ACCOUNT}:role/{ROLE_NAME}"),
])
def test_resource_scoped_actions_reach_their_resources_and_no_further(action, arn):
    [statement] = [s for s in policy_statements() if action in s["Action"]]
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    assert "*" not in resources
    assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in resources)
    assert not any(fnmatch.fnmatchcase(f"arn:aws:s3:::bucket/{arn}", pattern) for pattern in resources)
