"""Seed a moto account (in-process ``mock_aws`` or a ``moto_server``) with SageMaker scenarios for the audit tests.

The scenario is written once and read by several test modules: the rule tests, the read-only/IAM
tests and the end-to-end test all see the same account. :func:`expected_findings` lists every
finding the rule files should raise over it, as (rule id, resource, path). Where moto lacks an API
or a field (inference components, shadow variants, deployed images, Search paging, the alarms of a
step scaling policy), :func:`stub_component_endpoint`, :func:`stub_component_target`,
:func:`stub_scaling` and :func:`search_endpoints` give botocore Stubbers answering as SageMaker and
Application Auto Scaling would (a Stubber checks every request and response against botocore's
service model). :class:`Faults` makes chosen requests fail
the way AWS, a proxy or a broken endpoint would.

moto quirks handled here: its endpoint-config instance list is old (only ml.c5/m5/t2/g4dn/p3-era
types are accepted), and botocore compresses large PutMetricData bodies, which moto cannot read.
"""

from __future__ import annotations

import io
import json
import re
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.stub import Stubber
from moto.sagemaker.models import sagemaker_backends

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SKLEARN_CPU_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
CUSTOM_IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/churn:latest"
GPU_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4-gpu-py311"
IGNORE, REASON = "sagewise:ignore", "sagewise:ignore-reason"


def isolate_environment(monkeypatch, folder) -> None:
    """Fake credentials and no shared config: nothing from the developer's AWS setup leaks in."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                 "AWS_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(folder / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@dataclass
class Clients:
    sagemaker: object
    autoscaling: object
    cloudwatch: object


def clients(region: str, session: boto3.Session | None = None, endpoint_url: str | None = None) -> Clients:
    session = session or boto3.Session(region_name=region)
    uncompressed = Config(disable_request_compression=True)
    return Clients(
        sagemaker=session.client("sagemaker", region_name=region, endpoint_url=endpoint_url),
        autoscaling=session.client("application-autoscaling", region_name=region, endpoint_url=endpoint_url),
        cloudwatch=session.client("cloudwatch", region_name=region, endpoint_url=endpoint_url, config=uncompressed),
    )


def add_model(c: Clients, name: str, image: str = CUSTOM_IMAGE) -> None:
    c.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image})


def endpoint_arn(name: str, region: str = "us-east-1", account: str = ACCOUNT) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:endpoint/{name}"


def _tags(tags: dict | None) -> list:
    return [{"Key": key, "Value": value} for key, value in (tags or {}).items()]


def add_endpoint(c: Clients, name: str, instance_type: str = "ml.m5.large", *, count: int = 1, model: str = "custom",
                 serverless: bool = False, asynchronous: bool = False, config: str | None = None,
                 tags: dict | None = None) -> None:
    """An endpoint with one AllTraffic variant (its config named after it unless ``config`` is shared)."""
    config = config or f"{name}-config"
    variant = {"VariantName": "AllTraffic", "ModelName": model}
    if serverless:
        variant["ServerlessConfig"] = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    else:
        variant.update(InstanceType=instance_type, InitialInstanceCount=count)
    extra = {"AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://bucket/out"}}} if asynchronous else {}
    try:
        c.sagemaker.describe_endpoint_config(EndpointConfigName=config)
    except c.sagemaker.exceptions.ClientError:
        c.sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[variant], **extra)
    c.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config, Tags=_tags(tags))


def add_target(c: Clients, resource_id: str, minimum: int = 1, maximum: int = 4, *,
               suspended: dict | None = None) -> None:
    """A variant's scalable target; ``suspended`` is its ``SuspendedState``."""
    c.autoscaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource_id,
                                           ScalableDimension=VARIANT_DIMENSION, MinCapacity=minimum,
                                           MaxCapacity=maximum, **({"SuspendedState": suspended} if suspended else {}))


def add_policy(c: Clients, resource_id: str, name: str, *, metric: str = "SageMakerVariantInvocationsPerInstance",
               target: float = 70.0, scale_in: int = 600, scale_out: int = 300,
               customized: dict | None = None) -> None:
    """A target-tracking policy on a predefined ``metric``, or on a ``customized`` metric specification."""
    specification = {"CustomizedMetricSpecification": customized} if customized else \
        {"PredefinedMetricSpecification": {"PredefinedMetricType": metric}}
    c.autoscaling.put_scaling_policy(
        PolicyName=name, ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=VARIANT_DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": target, **specification, "ScaleInCooldown": scale_in, "ScaleOutCooldown": scale_out,
        },
    )


def customized_metric(name: str, namespace: str = "/aws/sagemaker/Endpoints", statistic: str = "Average",
                      dimensions: dict | None = None) -> dict:
    """A ``CustomizedMetricSpecification`` (dimensions: name -> value)."""
    return {"MetricName": name, "Namespace": namespace, "Statistic": statistic,
            "Dimensions": [{"Name": key, "Value": value} for key, value in (dimensions or {}).items()]}


def steps(*intervals: tuple) -> list:
    """``StepAdjustments`` from (lower, upper, adjustment) triples, ``None`` for an open bound."""
    adjustments = []
    for lower, upper, adjustment in intervals:
        step = {"ScalingAdjustment": adjustment}
        if lower is not None:
            step["MetricIntervalLowerBound"] = lower
        if upper is not None:
            step["MetricIntervalUpperBound"] = upper
        adjustments.append(step)
    return adjustments


def add_step_policy(c: Clients, resource_id: str, name: str, adjustments: list) -> str:
    """A ChangeInCapacity step policy; returns its ARN (what an alarm's actions name)."""
    return c.autoscaling.put_scaling_policy(
        PolicyName=name, ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=VARIANT_DIMENSION,
        PolicyType="StepScaling", StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Average", "Cooldown": 300,
            "StepAdjustments": adjustments},
    )["PolicyARN"]


def add_alarm(c: Clients, name: str, metric: str, actions: list, *, endpoint: str,
              comparison: str = "GreaterThanOrEqualToThreshold", threshold: float = 1,
              actions_enabled: bool = True) -> None:
    """A CloudWatch alarm on an ``AWS/SageMaker`` metric of ``endpoint`` whose actions are ``actions``."""
    c.cloudwatch.put_metric_alarm(AlarmName=name, Namespace="AWS/SageMaker", MetricName=metric,
                                  Dimensions=[{"Name": "EndpointName", "Value": endpoint}], Statistic="Average",
                                  Period=60, EvaluationPeriods=2, Threshold=threshold, ComparisonOperator=comparison,
                                  AlarmActions=actions, ActionsEnabled=actions_enabled)


def add_scheduled_action(c: Clients, resource_id: str, name: str, schedule: str = "cron(0 20 * * ? *)") -> None:
    c.autoscaling.put_scheduled_action(ServiceNamespace="sagemaker", ScheduledActionName=name, ResourceId=resource_id,
                                       ScalableDimension=VARIANT_DIMENSION, Schedule=schedule,
                                       ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 2})


def put_daily(c: Clients, endpoint: str | None, metric: str, value: float, *, days: int = 7,
              namespace: str = "/aws/sagemaker/Endpoints", now: datetime | None = None, variant: str = "AllTraffic",
              component: str | None = None) -> None:
    """One datapoint a day for ``days`` days before ``now``, for a variant of ``endpoint`` (or a ``component``)."""
    now = now or datetime.now(timezone.utc)
    dimensions = [{"Name": "InferenceComponentName", "Value": component}] if component else \
        [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    c.cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": metric, "Dimensions": dimensions, "Timestamp": now - timedelta(days=day, hours=2),
         "Value": value}
        for day in range(days)
    ])


def add_training_job(c: Clients, name: str, instance_type: str = "ml.m5.xlarge", *, spot: bool = True,
                     checkpoint: bool = True, max_runtime: int = 3600, max_wait: int | None = 7200,
                     tags: dict | None = None) -> None:
    stopping = {"MaxRuntimeInSeconds": max_runtime}
    if max_wait is not None:
        stopping["MaxWaitTimeInSeconds"] = max_wait
    extra = {"CheckpointConfig": {"S3Uri": f"s3://bucket/checkpoints/{name}"}} if checkpoint else {}
    c.sagemaker.create_training_job(
        TrainingJobName=name, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": CUSTOM_IMAGE, "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://bucket/output"},
        ResourceConfig={"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition=stopping, EnableManagedSpotTraining=spot, Tags=_tags(tags), **extra,
    )


def busy(c: Clients, endpoint: str) -> None:
    put_daily(c, endpoint, "Invocations", 1200, namespace="AWS/SageMaker")


IDLE_ENDPOINTS_BACKDATED = ("idle", "async")
"""Endpoints :func:`seed_rule_scenario` means to be older than the idle window (see :func:`backdate`)."""


def seed_rule_scenario(c: Clients) -> None:
    """An account where each rule SW101..SW303 has something to find and something to leave alone."""
    add_model(c, "custom")
    add_model(c, "sklearn", SKLEARN_CPU_IMAGE)
    add_endpoint(c, "scaled", "ml.c5.xlarge", count=2)  # clean
    add_target(c, "endpoint/scaled/variant/AllTraffic")
    add_policy(c, "endpoint/scaled/variant/AllTraffic", "scaled-invocations")
    busy(c, "scaled")
    add_endpoint(c, "unscaled")  # SW101
    busy(c, "unscaled")
    add_endpoint(c, "burstable", "ml.t2.medium")  # SW101 (cannot autoscale), SW302
    busy(c, "burstable")
    add_endpoint(c, "gpu-sklearn", "ml.g4dn.xlarge", model="sklearn")  # SW101, SW301 (CPU-only image on a GPU)
    busy(c, "gpu-sklearn")
    add_endpoint(c, "old-p3", "ml.p3.2xlarge")  # SW101, SW302
    busy(c, "old-p3")
    add_endpoint(c, "oversized", "ml.m5.2xlarge", count=2)  # SW301 (live: ml.m5.xlarge has headroom), SW103
    add_target(c, "endpoint/oversized/variant/AllTraffic", 2, 2)
    add_policy(c, "endpoint/oversized/variant/AllTraffic", "oversized-invocations")
    busy(c, "oversized")
    put_daily(c, "oversized", "CPUUtilization", 40)  # 40 % summed over 8 vCPUs = 5 % per vCPU
    put_daily(c, "oversized", "MemoryUtilization", 15)  # 4.8 GiB of 32: 30 % of the xlarge, too much for the large
    add_endpoint(c, "idle")  # SW303 once backdated
    add_target(c, "endpoint/idle/variant/AllTraffic")
    add_policy(c, "endpoint/idle/variant/AllTraffic", "idle-invocations")
    add_endpoint(c, "young-idle")  # too young for SW303; SW104 on its policy
    add_target(c, "endpoint/young-idle/variant/AllTraffic")
    add_policy(c, "endpoint/young-idle/variant/AllTraffic", "young-flapping", scale_in=60, scale_out=300)
    add_endpoint(c, "serverless", serverless=True)  # clean: serverless needs no instance scaling, idles for free
    add_endpoint(c, "async", asynchronous=True)  # never SW303 (no Invocations metric)
    add_target(c, "endpoint/async/variant/AllTraffic", 0, 2)  # SW107: it may reach zero and nothing wakes it
    add_policy(c, "endpoint/async/variant/AllTraffic", "async-backlog", target=5,  # a valid customized metric
               customized=customized_metric("ApproximateBacklogSizePerInstance", "AWS/SageMaker",
                                            dimensions={"EndpointName": "async"}))
    add_endpoint(c, "ignored", tags={IGNORE: "SW101", REASON: "batch scoring with constant load"})  # suppressed
    busy(c, "ignored")
    add_endpoint(c, "ignored-without-reason", tags={IGNORE: "endpoint-without-autoscaling"})  # SW101 and SW002
    busy(c, "ignored-without-reason")
    add_endpoint(c, "stale-ignore", tags={IGNORE: "SW101, SW303", REASON: "kept warm"})  # SW001 twice: nothing to hide
    add_target(c, "endpoint/stale-ignore/variant/AllTraffic")
    add_policy(c, "endpoint/stale-ignore/variant/AllTraffic", "stale-ignore-invocations")
    busy(c, "stale-ignore")
    add_target(c, "endpoint/ghost/variant/AllTraffic")  # SW102: nothing scales it
    # clean: a scheduled action scales it, and pausing schedules is not SW111
    add_target(c, "endpoint/ghost-scheduled/variant/AllTraffic", suspended={"ScheduledScalingSuspended": True})
    add_scheduled_action(c, "endpoint/ghost-scheduled/variant/AllTraffic", "evening")
    add_scheduled_action(c, "endpoint/ghost-scheduled/variant/AllTraffic", "weekday-crontab",  # SW110: five fields
                         "cron(0 8 * * MON-FRI)")
    add_scheduled_action(c, "endpoint/ghost-scheduled/variant/AllTraffic", "launch-day",  # SW110: has passed
                         "at(2020-01-01T00:00:00)")
    add_target(c, "endpoint/ghost-metric/variant/AllTraffic")  # SW105 on its policy
    add_policy(c, "endpoint/ghost-metric/variant/AllTraffic", "component-metric-on-variant",
               metric="SageMakerInferenceComponentInvocationsPerCopy", target=1)
    add_target(c, "endpoint/ghost-cpu/variant/AllTraffic")  # SW105 on its policy: a fraction of a percentage
    add_policy(c, "endpoint/ghost-cpu/variant/AllTraffic", "cpu-fraction", target=0.5, customized=customized_metric(
        "CPUUtilization", dimensions={"EndpointName": "ghost-cpu", "VariantName": "AllTraffic"}))
    add_target(c, "endpoint/ghost-steps/variant/AllTraffic")  # SW108 on both policies (no alarm), SW109 on one
    add_step_policy(c, "endpoint/ghost-steps/variant/AllTraffic", "unwired-steps", steps((0, None, 1)))
    add_step_policy(c, "endpoint/ghost-steps/variant/AllTraffic", "gapped-steps", steps((0, 10, 1), (20, None, 2)))
    add_target(c, "endpoint/ghost-suspended/variant/AllTraffic", suspended={"DynamicScalingInSuspended": True})
    add_policy(c, "endpoint/ghost-suspended/variant/AllTraffic", "suspended-invocations")  # SW111 on its target
    add_target(c, "endpoint/scaled/variant/Blue")  # SW106 (no such variant) and SW102
    add_training_job(c, "spot-no-checkpoint", checkpoint=False)  # SW201
    add_training_job(c, "spot-no-wait", max_wait=None)  # SW202
    add_training_job(c, "spot-short-wait", max_wait=1800)  # SW202 (error)
    add_training_job(c, "spot-p3", "ml.p3.2xlarge")  # SW302
    add_training_job(c, "on-demand-p3", "ml.p3.2xlarge", spot=False, checkpoint=False, max_wait=None)  # SW302 only
    add_training_job(c, "ignored-job", checkpoint=False, tags={IGNORE: "SW201", REASON: "restarts are cheap"})


def _endpoint(region: str, name: str) -> str:
    return endpoint_arn(name, region)


def _training(region: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:training-job/{name}"


def expected_findings(region: str) -> set:
    """(rule id, resource, path) of every finding over :func:`seed_rule_scenario`.

    Endpoints and training jobs are named by ARN; scalable targets by ResourceId, policies and scheduled
    actions by name (moto gives targets and policies random ARNs: see :func:`scaling_names`).
    """
    variant = "ProductionVariants[AllTraffic]"
    instance_type = f"{variant}.InstanceType"
    return {
        ("SW101", _endpoint(region, "unscaled"), variant),
        ("SW101", _endpoint(region, "burstable"), instance_type),
        ("SW101", _endpoint(region, "gpu-sklearn"), variant),
        ("SW101", _endpoint(region, "old-p3"), variant),
        ("SW102", "endpoint/ghost/variant/AllTraffic", ""),
        ("SW102", "endpoint/scaled/variant/Blue", ""),
        ("SW103", "endpoint/oversized/variant/AllTraffic", "MaxCapacity"),
        ("SW104", "young-flapping", "TargetTrackingScalingPolicyConfiguration.ScaleInCooldown"),
        ("SW105", "component-metric-on-variant",
         "TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType"),
        ("SW105", "cpu-fraction", "TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification"),
        ("SW106", "endpoint/scaled/variant/Blue", "ResourceId"),
        ("SW107", "endpoint/async/variant/AllTraffic", "MinCapacity"),
        ("SW108", "unwired-steps", ""),
        ("SW108", "gapped-steps", ""),
        ("SW109", "gapped-steps", "StepScalingPolicyConfiguration.StepAdjustments"),
        ("SW110", "weekday-crontab", ""),
        ("SW110", "launch-day", ""),
        ("SW111", "endpoint/ghost-suspended/variant/AllTraffic", "SuspendedState"),
        ("SW201", _training(region, "spot-no-checkpoint"), "EnableManagedSpotTraining"),
        ("SW202", _training(region, "spot-no-wait"), "StoppingCondition"),
        ("SW202", _training(region, "spot-short-wait"), "StoppingCondition.MaxWaitTimeInSeconds"),
        ("SW301", _endpoint(region, "gpu-sklearn"), instance_type),
        ("SW301", _endpoint(region, "oversized"), instance_type),
        ("SW302", _endpoint(region, "burstable"), instance_type),
        ("SW302", _endpoint(region, "old-p3"), instance_type),
        ("SW302", _training(region, "spot-p3"), "ResourceConfig.InstanceType"),
        ("SW302", _training(region, "on-demand-p3"), "ResourceConfig.InstanceType"),
        ("SW303", _endpoint(region, "idle"), ""),
        ("SW101", _endpoint(region, "ignored-without-reason"), variant),
        ("SW002", _endpoint(region, "ignored-without-reason"), f"Tags[{IGNORE}][endpoint-without-autoscaling]"),
        ("SW001", _endpoint(region, "stale-ignore"), f"Tags[{IGNORE}][SW101]"),
        ("SW001", _endpoint(region, "stale-ignore"), f"Tags[{IGNORE}][SW303]"),
    }


def scaling_names(c: Clients) -> dict:
    """ARN -> readable name of every scalable target (its ResourceId), policy and scheduled action (their names).

    moto gives targets and policies random ARNs, so expectations name them this way instead.
    """
    names = {t["ScalableTargetARN"]: t["ResourceId"]
             for t in c.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]}
    for page in c.autoscaling.get_paginator("describe_scaling_policies").paginate(ServiceNamespace="sagemaker"):
        names.update({p["PolicyARN"]: p["PolicyName"] for p in page["ScalingPolicies"]})
    for page in c.autoscaling.get_paginator("describe_scheduled_actions").paginate(ServiceNamespace="sagemaker"):
        names.update({a["ScheduledActionARN"]: a["ScheduledActionName"] for a in page["ScheduledActions"]})
    return names


def identify(finding, names: dict) -> tuple:
    """A finding as (rule id, resource, path), scaling resources named as in :func:`expected_findings`."""
    location = finding.location
    return finding.rule_id, names.get(location.resource, location.resource), location.path


def backdate(region: str, endpoints, days: int, account: str = ACCOUNT) -> None:
    """Make in-process moto endpoints ``days`` older (moto stamps them with the time of creation)."""
    backend = sagemaker_backends[account][region]
    for name in endpoints:
        backend.endpoints[name].creation_time -= timedelta(days=days)


SEARCH_ENDPOINTS = {"Resource": "Endpoint", "MaxResults": 100}
SEARCH_TRAINING_JOBS = {"Resource": "TrainingJob", "MaxResults": 100, "SortBy": "CreationTime",
                        "SortOrder": "Descending"}


def search_endpoints(stub: Stubber, *endpoints: dict) -> None:
    """Queue one Search page holding ``endpoints`` (``Endpoint`` records, as SageMaker returns them)."""
    stub.add_response("search", {"Results": [{"Endpoint": endpoint} for endpoint in endpoints]}, SEARCH_ENDPOINTS)


def search_training_jobs(stub: Stubber, *jobs: dict, next_token: str | None = None, after: str | None = None) -> None:
    """Queue one Search page of training jobs (newest first).

    ``next_token`` announces another page; ``after`` is the token the request for this page carries.
    """
    page = {"Results": [{"TrainingJob": job} for job in jobs], **({"NextToken": next_token} if next_token else {})}
    stub.add_response("search", page, {**SEARCH_TRAINING_JOBS, **({"NextToken": after} if after else {})})


def endpoint_record(name: str, config: str, *variants: dict, region: str = "us-east-1", status: str = "InService",
                    created: datetime | None = None, shadow: tuple = (), tags: dict | None = None) -> dict:
    """An ``Endpoint`` search record (the shape botocore's model gives ``SearchRecord.Endpoint``)."""
    created = created or datetime.now(timezone.utc)
    record = {"EndpointName": name, "EndpointArn": endpoint_arn(name, region), "EndpointConfigName": config,
              "EndpointStatus": status, "CreationTime": created, "LastModifiedTime": created,
              "ProductionVariants": list(variants), "Tags": _tags(tags)}
    if shadow:
        record["ShadowProductionVariants"] = list(shadow)
    return record


def endpoint_config(name: str, *variants: dict, region: str = "us-east-1", shadow: tuple = (), **extra) -> dict:
    """A DescribeEndpointConfig response."""
    response = {"EndpointConfigName": name, "EndpointConfigArn": f"arn:aws:sagemaker:{region}:{ACCOUNT}:"
                f"endpoint-config/{name}", "CreationTime": datetime.now(timezone.utc),
                "ProductionVariants": list(variants), **extra}
    if shadow:
        response["ShadowProductionVariants"] = list(shadow)
    return response


def stub_component_endpoint(sagemaker, region: str = "us-east-1", *, created: datetime | None = None) -> Stubber:
    """An endpoint hosting two inference components, as SageMaker describes it (moto has no such API).

    ``chat`` runs two copies, ``embed`` one; both were created at ``created`` (default: now).
    """
    now = datetime.now(timezone.utc)
    created = created or now
    arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:"
    stub = Stubber(sagemaker)
    search_endpoints(stub, endpoint_record("llm", "llm-config", {"VariantName": "AllTraffic",
                                                                 "CurrentInstanceCount": 1},
                                           region=region, created=created))
    stub.add_response("describe_endpoint_config", endpoint_config(
        "llm-config", {"VariantName": "AllTraffic", "InstanceType": "ml.g5.12xlarge", "InitialInstanceCount": 1},
        region=region, ExecutionRoleArn=ROLE), {"EndpointConfigName": "llm-config"})
    copies = {"chat": 2, "embed": 1}
    stub.add_response("list_inference_components", {"InferenceComponents": [{
        "InferenceComponentName": name, "InferenceComponentArn": arn + f"inference-component/{name}",
        "EndpointName": "llm", "EndpointArn": arn + "endpoint/llm", "VariantName": "AllTraffic",
        "InferenceComponentStatus": "InService", "CreationTime": created, "LastModifiedTime": now}
        for name in copies]}, {"MaxResults": 100})
    specifications = {  # one component names its container, the other a model
        "chat": {"Container": {"DeployedImage": {"SpecifiedImage": GPU_IMAGE}}},
        "embed": {"ModelName": "embedder"},
    }
    for name, count in copies.items():
        stub.add_response("describe_inference_component", {
            "InferenceComponentName": name, "InferenceComponentArn": arn + f"inference-component/{name}",
            "EndpointName": "llm", "EndpointArn": arn + "endpoint/llm", "CreationTime": created,
            "LastModifiedTime": now, "InferenceComponentStatus": "InService", "Specification": specifications[name],
            "RuntimeConfig": {"DesiredCopyCount": count, "CurrentCopyCount": count}}, {"InferenceComponentName": name})
        if name == "embed":
            stub.add_response("describe_model", {
                "ModelName": "embedder", "ModelArn": arn + "model/embedder", "CreationTime": now,
                "PrimaryContainer": {"Image": SKLEARN_CPU_IMAGE}}, {"ModelName": "embedder"})
    search_training_jobs(stub)
    return stub


def stub_component_target(autoscaling) -> Stubber:
    """A copy-count target on the ``chat`` component (moto rejects that scalable dimension)."""
    namespace = {"ServiceNamespace": "sagemaker", "MaxResults": 50}
    stub = Stubber(autoscaling)
    stub.add_response("describe_scheduled_actions", {"ScheduledActions": []}, namespace)
    stub.add_response("describe_scalable_targets", {"ScalableTargets": [{
        "ServiceNamespace": "sagemaker", "ResourceId": "inference-component/chat",
        "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount", "MinCapacity": 1, "MaxCapacity": 4,
        "RoleARN": ROLE, "CreationTime": datetime.now(timezone.utc)}]}, namespace)
    stub.add_response("describe_scaling_policies", {"ScalingPolicies": []}, {**namespace, "MaxResults": 10})
    return stub


def policy_arn(resource_id: str, name: str, region: str = "us-east-1") -> str:
    """A scaling policy's ARN as Application Auto Scaling writes it (what alarm actions name)."""
    return (f"arn:aws:autoscaling:{region}:{ACCOUNT}:scalingPolicy:8b1f0a52-0c4e-4a53-9f8e-3d2c1b0a9f8e:"
            f"resource/sagemaker/{resource_id}:policyName/{name}")


def step_policy(resource_id: str, name: str, adjustments: list, *, alarms: tuple = (),
                region: str = "us-east-1") -> dict:
    """A step scaling policy as DescribeScalingPolicies returns it, triggered by the alarms named ``alarms``."""
    return {"PolicyARN": policy_arn(resource_id, name, region), "PolicyName": name, "ServiceNamespace": "sagemaker",
            "ResourceId": resource_id, "ScalableDimension": VARIANT_DIMENSION, "PolicyType": "StepScaling",
            "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Average",
                                               "Cooldown": 300, "StepAdjustments": adjustments},
            "Alarms": [{"AlarmName": alarm, "AlarmARN": f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{alarm}"}
                       for alarm in alarms],
            "CreationTime": datetime.now(timezone.utc)}


def scalable_target(resource_id: str, minimum: int = 1, maximum: int = 4) -> dict:
    """A variant's scalable target as DescribeScalableTargets returns it."""
    return {"ServiceNamespace": "sagemaker", "ResourceId": resource_id, "ScalableDimension": VARIANT_DIMENSION,
            "MinCapacity": minimum, "MaxCapacity": maximum, "RoleARN": ROLE, "CreationTime": datetime.now(timezone.utc)}


def stub_scaling(autoscaling, targets: tuple = (), policies: tuple = ()) -> Stubber:
    """Application Auto Scaling answering one page of ``targets`` and ``policies`` and no scheduled actions.

    For what moto leaves out: AWS lists in a step policy's ``Alarms`` every alarm whose actions name it,
    moto never does.
    """
    namespace = {"ServiceNamespace": "sagemaker", "MaxResults": 50}
    stub = Stubber(autoscaling)
    stub.add_response("describe_scheduled_actions", {"ScheduledActions": []}, namespace)
    stub.add_response("describe_scalable_targets", {"ScalableTargets": list(targets)}, namespace)
    stub.add_response("describe_scaling_policies", {"ScalingPolicies": list(policies)}, {**namespace, "MaxResults": 10})
    return stub


_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
QUERY_PROTOCOL = ("sts", "auto-scaling")
"""Services whose errors are XML (``ErrorResponse``) rather than JSON."""


class _Body(io.BytesIO):
    def stream(self, **_):
        yield self.getvalue()


class Faults:
    """A ``before-send`` hook that answers chosen requests itself instead of moto (see :func:`install_faults`).

    A rule matches a service id and operation, optionally a region (from the request's host) and a
    substring of the body, and answers ``times`` times (None: always): with an AWS error (``add``), or
    with any status, headers and body (``respond``: a proxy's HTML page, an empty 404). Requests still
    go through botocore's real retry logic and parsing, as they would against AWS.
    """

    def __init__(self):
        self.rules = []
        self.seen: list[tuple] = []
        """(service id, operation, region) of every request sent, in order."""
        self.payloads: list[str] = []
        """The body of each request in :attr:`seen`."""

    def add(self, service, operation, code, *, region=None, body=None, status=400, times=None):
        self.rules.append({"service": service, "operation": operation, "region": region, "body": body,
                           "answer": ("error", code, status), "times": times})

    def respond(self, service, operation, status, content, *, content_type="text/html", region=None, body=None,
                times=None):
        self.rules.append({"service": service, "operation": operation, "region": region, "body": body,
                           "answer": ("raw", status, content_type, content), "times": times})

    def __call__(self, request, event_name, **_):
        _, service, operation = event_name.split(".")
        region = next((part for part in urlparse(request.url).hostname.split(".") if _REGION.fullmatch(part)), None)
        payload = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
        self.seen.append((service, operation, region))
        self.payloads.append(payload)
        for rule in self.rules:
            if (rule["service"], rule["operation"]) != (service, operation) or rule["times"] == 0:
                continue
            if rule["region"] not in (None, region) or (rule["body"] and rule["body"] not in payload):
                continue
            if rule["times"] is not None:
                rule["times"] -= 1
            if rule["answer"][0] == "raw":
                _, status, content_type, content = rule["answer"]
                return AWSResponse(request.url, status, {"Content-Type": content_type} if content_type else {},
                                   _Body(content))
            _, code, status = rule["answer"]
            return self._error(request, service, code, status)
        return None

    @staticmethod
    def _error(request, service, code, status) -> AWSResponse:
        message = f"injected {code}"
        if service in QUERY_PROTOCOL:
            body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                    "</Error><RequestId>fault</RequestId></ErrorResponse>").encode()
            headers = {"Content-Type": "text/xml"}
        else:
            body = json.dumps({"__type": code, "message": message}).encode()
            headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
        return AWSResponse(request.url, status, headers, _Body(body))


def install_faults(monkeypatch) -> Faults:
    """A :class:`Faults` hook ahead of moto's own ``before-send`` in every client created from now on."""
    import botocore.handlers

    hook = Faults()
    handlers = [("before-send", hook)] + botocore.handlers.BUILTIN_HANDLERS
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", handlers)
    return hook


def server_state(url: str) -> dict:
    """Every object a ``moto_server`` at ``url`` holds, as JSON: equal before and after means nothing was changed."""
    with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=10) as response:
        return json.load(response)
