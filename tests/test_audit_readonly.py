"""The audit cannot change an account: its clients may call exactly the operations its IAM policy grants,
and that policy grants exactly what a full audit calls."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

import audit_scenario as scenario
import serving_scenario as serving
from auditor import iam
from auditor.audit import AuditOptions, CallRecorder, ReadOnlyViolation, collect_settings, run_audit
from auditor.rules import load_rules
from auditor.sources import aws

REGION = "us-east-1"
ROLE_NAME = "SagewiseAudit"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path):
    scenario.isolate_environment(monkeypatch, tmp_path)


def policy_actions() -> set:
    return {action for statement in iam.policy_document(iam.AUDIT)["Statement"] for action in statement["Action"]}


# --- The guard -----------------------------------------------------------------------------------


def test_the_guard_refuses_writes_and_counts_reads():
    recorder = CallRecorder()
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "precious")
        guarded = recorder.attach(boto3.client("sagemaker", region_name=REGION))
        with pytest.raises(ReadOnlyViolation, match="refused to call sagemaker:DeleteEndpoint"):
            guarded.delete_endpoint(EndpointName="precious")
        with pytest.raises(ReadOnlyViolation, match="sagemaker:UpdateEndpointWeightsAndCapacities"):
            guarded.update_endpoint_weights_and_capacities(
                EndpointName="precious",
                DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 0}])
        assert guarded.describe_endpoint(EndpointName="precious")["EndpointStatus"] == "InService"
        assert guarded.search(Resource="Endpoint")["Results"]  # a read that no Describe/List/Get prefix names
        sts = recorder.attach(boto3.client("sts", region_name=REGION))
        sts.get_caller_identity()
        sts.assume_role(RoleArn=f"arn:aws:iam::{scenario.ACCOUNT}:role/{ROLE_NAME}", RoleSessionName="test")
    assert recorder.calls == {"sagemaker:DescribeEndpoint": 1, "sagemaker:Search": 1, "sts:AssumeRole": 1,
                              "sts:GetCallerIdentity": 1}


@pytest.mark.parametrize("service, operation, params", [
    # Reads by name, but not the audit's: credentials that outlive it, or a call it has no use for.
    ("sts", "get_session_token", {}),
    ("sts", "get_federation_token", {"Name": "audit"}),
    ("sagemaker", "get_scaling_configuration_recommendation", {"InferenceRecommendationsJobName": "job"}),
    ("sagemaker", "list_models", {}),
])
def test_the_guard_is_an_allow_list_not_a_name_prefix(service, operation, params):
    recorder = CallRecorder()
    with mock_aws():
        client = recorder.attach(boto3.client(service, region_name=REGION))
        with pytest.raises(ReadOnlyViolation):
            getattr(client, operation)(**params)
    assert recorder.calls == {}


def test_the_guard_is_on_the_audits_clients_not_their_session():
    """botocore's own credential clients (web identity, SSO) come from the session and must stay free."""
    recorder = CallRecorder()
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        recorder.attach(session.client("sts"))
        credentials_client = session.client("sts")
        credentials_client.assume_role_with_web_identity(
            RoleArn=f"arn:aws:iam::{scenario.ACCOUNT}:role/ci", RoleSessionName="ci", WebIdentityToken="token")
    assert recorder.calls == {}


def test_the_guard_allows_exactly_what_the_policy_grants():
    assert iam.AUDIT_ACTIONS == policy_actions()


def test_a_write_from_inside_the_audit_is_refused_and_reported(monkeypatch):
    def tamper(autoscaling, scope):
        autoscaling.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId="endpoint/a/variant/AllTraffic",
                                               ScalableDimension=scenario.VARIANT_DIMENSION)

    monkeypatch.setattr(aws, "_scaling_policies", tamper)
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_target(c, "endpoint/a/variant/AllTraffic")
        result = run_audit(AuditOptions(regions=(REGION,)), load_rules(), {}, {})
        assert len(c.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]) == 1
    [error] = result.errors
    assert error.message == ("ReadOnlyViolation: sagewise audit is read-only and refused to call "
                             "application-autoscaling:DeregisterScalableTarget")


# --- The IAM policy against every call a full audit makes -------------------------------------------


@pytest.fixture(scope="module")
def actions_called(tmp_path_factory) -> set:
    """Every IAM action a full audit calls: an organization over all regions, the fallback when Search is
    denied, inference components, an endpoint whose config is gone, and Lambda functions and Auto Scaling groups
    with all they lead to (the last three through stubs where moto lacks the operation)."""
    called = set()
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        scenario.isolate_environment(monkeypatch, tmp_path_factory.mktemp("aws"))
        faults = scenario.install_faults(monkeypatch)
        boto3.client("organizations", region_name=REGION).create_organization(FeatureSet="ALL")
        scenario.seed_rule_scenario(scenario.clients(REGION))
        options = AuditOptions(organization=True, role_name=ROLE_NAME, all_regions=True, accounts=("111111111111",),
                               jobs=8)
        audit = run_audit(options, load_rules(), {}, {})
        assert audit.errors == [] and audit.findings and audit.stats["api_calls"]["sts:AssumeRole"] == 1
        called |= set(audit.stats["api_calls"])
        faults.add("sagemaker", "Search", "AccessDeniedException")
        fallback = run_audit(AuditOptions(regions=(REGION,)), load_rules(), {}, {})
        assert fallback.errors == [] and len(fallback.warnings) == 2
        called |= set(fallback.stats["api_calls"])
        recorder = CallRecorder()
        sagemaker = recorder.attach(boto3.client("sagemaker", region_name=REGION))
        autoscaling = recorder.attach(boto3.client("application-autoscaling", region_name=REGION))
        cloudwatch = recorder.attach(boto3.client("cloudwatch", region_name=REGION))
        settings = collect_settings(load_rules(), {}, 14)
        with scenario.stub_component_endpoint(sagemaker), scenario.stub_component_target(autoscaling):
            aws.collect(aws.RegionClients(sagemaker, autoscaling, cloudwatch), scenario.ACCOUNT, REGION, settings)
        with Stubber(sagemaker) as stub:
            deployed = {"VariantName": "A", "DeployedImages": [{"SpecifiedImage": scenario.CUSTOM_IMAGE}]}
            scenario.search_endpoints(stub, scenario.endpoint_record("e", "gone", deployed))
            stub.add_client_error("describe_endpoint_config", "ValidationException", "Could not find endpoint config")
            stub.add_response("describe_endpoint", {k: v for k, v in scenario.endpoint_record("e", "gone", deployed)
                                                    .items() if k not in ("Tags", "EndpointConfigName")})
            scenario.search_training_jobs(stub)
            aws.collect(aws.RegionClients(sagemaker, autoscaling, cloudwatch), scenario.ACCOUNT, REGION, settings)
        wake_up = scenario.step_policy("endpoint/e/variant/A", "wake-up", scenario.steps((0, None, 1)), alarms=("w",))
        with Stubber(sagemaker) as stub, scenario.stub_scaling(autoscaling, policies=(wake_up,)):
            scenario.search_endpoints(stub)  # a step policy with alarms: their metrics are described
            scenario.search_training_jobs(stub)
            aws.collect(aws.RegionClients(sagemaker, autoscaling, cloudwatch), scenario.ACCOUNT, REGION, settings)
        monkeypatch.setattr(aws, "DESCRIBES_IN_FLIGHT", 1)  # the Lambda Stubber answers in order
        seeding = serving.serving_clients()
        template = serving.launch_template(seeding["ec2"], "web", {"InstanceType": "g5.xlarge"})
        serving.group(seeding["ec2_autoscaling"], "gpu", LaunchTemplate={"LaunchTemplateId": template})
        seeding["ec2_autoscaling"].create_launch_configuration(LaunchConfigurationName="cpu", ImageId=serving.IMAGE_AMI,
                                                               InstanceType="m5.large")
        serving.group(seeding["ec2_autoscaling"], "cpu", LaunchConfigurationName="cpu")
        groups = {name: recorder.attach(client) for name, client in seeding.items()}
        lam = recorder.attach(boto3.client("lambda", region_name=REGION))
        ecs = recorder.attach(boto3.client("ecs", region_name=REGION))
        with Stubber(lam) as functions, Stubber(ecs) as providers:
            serving.list_functions(functions, serving.function("warm"), serving.function("scorer", package="Image"))
            serving.list_concurrency(functions, "warm", ("live", 2))
            serving.list_concurrency(functions, "scorer")
            serving.get_policy(functions, "scorer", None)  # no policy: its function URLs are read
            serving.list_urls(functions, "scorer")
            serving.get_configuration(functions, "warm", "live", memory=128)
            serving.capacity_providers(providers)
            aws.collect(aws.RegionClients(sagemaker, autoscaling, cloudwatch, awslambda=lam, ecs=ecs, **groups),
                        scenario.ACCOUNT, REGION, settings)
        called |= set(recorder.calls)
    return called


def test_the_policy_allows_every_call_the_audit_makes(actions_called):
    assert actions_called - policy_actions() == set()


def test_the_policy_allows_nothing_the_audit_does_not_call(actions_called):
    assert policy_actions() - actions_called == set()
