"""Helpers of the remediation tests: plans from an in-process moto account, and the account's scaling state.

The account is :func:`audit_scenario.seed_rule_scenario`'s (or a smaller one); plans are made the way
``sagewise remediate`` makes them (an audit, then :func:`auditor.remediation.plan.make_plan`).
"""

from __future__ import annotations

import copy

import boto3

import audit_scenario as scenario
import serving_scenario as serving
from auditor import audit as audits
from auditor.audit import AuditOptions, run_audit
from auditor.remediation.plan import make_plan
from auditor.rules import load_rules, select
from auditor.ec2_types import CLUSTER_AUTOSCALER_TAG

REGION = "us-east-1"
ACCOUNT = scenario.ACCOUNT


def all_params(overrides: dict | None = None) -> dict:
    return {rule.id: {**rule.default_params(), **(overrides or {}).get(rule.id, {})} for rule in load_rules()}


def audit(selected: list | None = None, overrides: dict | None = None):
    rules = select(load_rules(), select=selected)
    return run_audit(AuditOptions(regions=(REGION,)), rules, overrides or {}, {})


def plan(selected: list | None = None, *, unsafe: bool = False, overrides: dict | None = None):
    """(plan, unreadable) of the moto account as ``sagewise remediate`` makes it."""
    return make_plan(audit(selected, overrides), all_params(overrides), unsafe=unsafe)


def audit_through(monkeypatch, clients: dict) -> None:
    """Audits (and so plans) made from now on read these services (botocore service name -> client) through the
    clients given, each behind the audit's read-only guard, instead of opening their own: a Stubber answers for what
    moto lacks (Lambda's provisioned concurrency)."""
    opened = audits._AccountOpener._client

    def client(self, session, service, region, **kwargs):
        if service in clients:
            return self.recorder.attach(clients[service])
        return opened(self, session, service, region, **kwargs)

    monkeypatch.setattr(audits._AccountOpener, "_client", client)


def answer_function_audit(stub, name: str = "ranker", qualifier: str = "live", executions: int = 10) -> None:
    """What Lambda answers an audit for one function with provisioned concurrency on one alias (1024 MB, Zip: a
    function SW401 leaves alone, so its callers are not read)."""
    serving.list_functions(stub, serving.function(name, memory=1024))
    serving.list_concurrency(stub, name, (qualifier, executions))
    serving.get_configuration(stub, name, qualifier, memory=1024)


def scaling_state(c, namespace: str = "sagemaker") -> dict:
    """Every scalable target of ``namespace`` with its policies and scheduled actions, as AWS describes them, less
    what AWS assigns on creation (ARNs, times, alarm names): equal before and after an undo means restored exactly."""
    volatile = {"ScalableTargetARN", "PolicyARN", "ScheduledActionARN", "CreationTime", "Alarms"}

    def kept(item: dict) -> dict:
        return {key: value for key, value in item.items() if key not in volatile}

    autoscaling = c.autoscaling
    targets = autoscaling.describe_scalable_targets(ServiceNamespace=namespace)["ScalableTargets"]
    policies = [policy for page in autoscaling.get_paginator("describe_scaling_policies")
                .paginate(ServiceNamespace=namespace) for policy in page["ScalingPolicies"]]
    actions = autoscaling.describe_scheduled_actions(ServiceNamespace=namespace)["ScheduledActions"]
    return {
        "targets": sorted((kept(target) for target in targets), key=lambda item: item["ResourceId"]),
        "policies": sorted((kept(policy) for policy in policies), key=lambda item: (item["ResourceId"],
                                                                                   item["PolicyName"])),
        "actions": sorted((kept(action) for action in actions), key=lambda item: item["ScheduledActionName"]),
    }


def endpoints(c) -> dict:
    """Endpoint name -> (config name, status, tags) of every endpoint."""
    found = {}
    for summary in c.sagemaker.list_endpoints()["Endpoints"]:
        name = summary["EndpointName"]
        described = c.sagemaker.describe_endpoint(EndpointName=name)
        tags = c.sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
        found[name] = (described["EndpointConfigName"], described["EndpointStatus"],
                       sorted((tag["Key"], tag["Value"]) for tag in tags))
    return found


# --- An instance type change, with SageMaker answered by a Stubber (moto has no UpdateEndpoint) -----------------

CPU_ON_GPU = "cpu-on-gpu"
"""An endpoint serving a CPU-only image on ml.g4dn.xlarge (SW301: the CPU equivalent is ml.m5.xlarge), with a
scalable target, a target-tracking policy and a scheduled action."""
OLD_CONFIG, NEW_CONFIG = f"{CPU_ON_GPU}-config", f"{CPU_ON_GPU}-config-m5-xlarge"
TARGET = f"endpoint/{CPU_ON_GPU}/variant/AllTraffic"


def seed_cpu_on_gpu(c) -> None:
    scenario.add_model(c, "sklearn", scenario.SKLEARN_CPU_IMAGE)
    scenario.add_endpoint(c, CPU_ON_GPU, "ml.g4dn.xlarge", model="sklearn")
    scenario.busy(c, CPU_ON_GPU)
    scenario.add_target(c, TARGET, 1, 3)
    scenario.add_policy(c, TARGET, "invocations", scale_in=300, scale_out=60)
    scenario.add_scheduled_action(c, TARGET, "evening")


def _variant(instance_type: str) -> dict:
    return {"VariantName": "AllTraffic", "ModelName": "sklearn", "InitialInstanceCount": 1,
            "InstanceType": instance_type}


def _endpoint(config: str, status: str = "InService") -> dict:
    described = scenario.endpoint_record(CPU_ON_GPU, config, {"VariantName": "AllTraffic", "CurrentInstanceCount": 1,
                                                              "DesiredInstanceCount": 1}, status=status)
    described.pop("Tags")
    return described


class SageMakerAnswers:
    """Queues on a Stubber what SageMaker answers, in the order the applier asks (each request checked)."""

    def __init__(self, stub):
        self.stub = stub

    def endpoint(self, config: str, status: str = "InService") -> None:
        self.stub.add_response("describe_endpoint", _endpoint(config, status), {"EndpointName": CPU_ON_GPU})

    def config(self, name: str, instance_type: str | None) -> None:
        if instance_type is None:
            self.stub.add_client_error("describe_endpoint_config", "ValidationException",
                                       f'Could not find endpoint configuration "{name}".',
                                       expected_params={"EndpointConfigName": name})
        else:
            self.stub.add_response("describe_endpoint_config", scenario.endpoint_config(name, _variant(instance_type)),
                                   {"EndpointConfigName": name})

    def create_config(self) -> None:
        self.stub.add_response("create_endpoint_config", {"EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:"
                                                          f"endpoint-config/{NEW_CONFIG}"},
                               {"EndpointConfigName": NEW_CONFIG, "ProductionVariants": [_variant("ml.m5.xlarge")]})

    def update(self, config: str) -> None:
        self.stub.add_response("update_endpoint", {"EndpointArn": scenario.endpoint_arn(CPU_ON_GPU)},
                               {"EndpointName": CPU_ON_GPU, "EndpointConfigName": config,
                                "RetainAllVariantProperties": True})


def answer_the_change(stub, *, update_fails: bool = False) -> None:
    """What SageMaker answers while the instance change step is applied: the new config is created, the update
    takes one poll (or fails, and SageMaker rolls the endpoint back to its old config)."""
    answers = SageMakerAnswers(stub)
    answers.config(NEW_CONFIG, None)  # is the step applied already, or does its premise hold? (one read of each)
    answers.endpoint(OLD_CONFIG)
    answers.config(NEW_CONFIG, None)  # the config is not there yet,
    answers.config(NEW_CONFIG, None)
    answers.create_config()  # so it is created,
    answers.config(NEW_CONFIG, "ml.m5.xlarge")  # and is there.
    answers.endpoint(OLD_CONFIG)  # (scaling is taken down on the autoscaling client meanwhile)
    answers.update(NEW_CONFIG)
    if update_fails:
        answers.endpoint(OLD_CONFIG, "Failed")
        answers.endpoint(OLD_CONFIG)
        return
    answers.endpoint(OLD_CONFIG, "Updating")  # the waiter polls
    answers.endpoint(NEW_CONFIG)
    answers.endpoint(NEW_CONFIG)  # and the update is checked


def answer_the_undo(stub) -> None:
    """What SageMaker answers while undo moves the endpoint back to its old config."""
    answers = SageMakerAnswers(stub)
    answers.config(NEW_CONFIG, "ml.m5.xlarge")  # still as the apply left it?
    answers.endpoint(NEW_CONFIG)
    answers.endpoint(NEW_CONFIG)
    answers.update(OLD_CONFIG)
    answers.endpoint(OLD_CONFIG)
    answers.endpoint(OLD_CONFIG)


def answer_the_failed_undo(stub) -> None:
    """Undo after a failed update: the update is settled as not made, the new config checked, nothing else."""
    answers = SageMakerAnswers(stub)
    answers.endpoint(OLD_CONFIG)
    answers.config(NEW_CONFIG, "ml.m5.xlarge")


# --- A Spot Auto Scaling group, with EC2 Auto Scaling's updates answered by a Stubber ------------------------------
# moto's UpdateAutoScalingGroup (5.2.1, and getmoto/moto at 0af643a) ignores CapacityRebalance, drops the group's
# MixedInstancesPolicy when an update names none, and fails on one without its LaunchTemplate.

SPOT_GROUP = "spot-gpus"
AWS_DISTRIBUTION = {"OnDemandAllocationStrategy": "prioritized", "OnDemandBaseCapacity": 0,
                    "OnDemandPercentageAboveBaseCapacity": 20, "SpotAllocationStrategy": "lowest-price",
                    "SpotInstancePools": 2}
"""A Spot distribution as DescribeAutoScalingGroups answers it: AWS writes out every default."""


def seed_spot_group(name: str = SPOT_GROUP, tags: dict | None = None) -> None:
    """A moto group of three GPU types, 80 % Spot from the lowest-priced pools, without Capacity Rebalancing (SW501 and
    SW503), sized by the cluster autoscaler (so the audit asks ECS nothing, which moto cannot answer)."""
    clients = serving.serving_clients()
    template = serving.launch_template(clients["ec2"], f"{name}-template", {"InstanceType": "g5.xlarge"})
    policy = serving.mixed(template, "g5.xlarge", "g6.xlarge", "g4dn.xlarge")
    policy["InstancesDistribution"] = dict(AWS_DISTRIBUTION)
    serving.group(clients["ec2_autoscaling"], name, maximum=6, tags={CLUSTER_AUTOSCALER_TAG: "true", **(tags or {})},
                  MixedInstancesPolicy=policy)


def described_group(name: str = SPOT_GROUP) -> dict:
    [group] = boto3.client("autoscaling", region_name=REGION).describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return group


class GroupAnswers:
    """EC2 Auto Scaling answering for one group (as ``described``, but for what is given), read by read, and each
    update a step makes."""

    def __init__(self, stub, described: dict):
        self.stub, self.described = stub, described
        self.name = described["AutoScalingGroupName"]

    def read(self, distribution: dict | None = None, rebalance: bool | None = None) -> None:
        group = copy.deepcopy(self.described)
        if distribution is not None:
            group["MixedInstancesPolicy"]["InstancesDistribution"] = distribution
        if rebalance is not None:
            group["CapacityRebalance"] = rebalance
        self.stub.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": [group]},
                               {"AutoScalingGroupNames": [self.name], "IncludeInstances": False})

    def update(self, **params) -> None:
        self.stub.add_response("update_auto_scaling_group", {}, {"AutoScalingGroupName": self.name, **params})
