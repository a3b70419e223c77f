"""Lambda functions and EC2 Auto Scaling groups for the audit tests, as AWS answers for them.

moto 5.2 has ``ListFunctions`` but neither ``ListProvisionedConcurrencyConfigs`` nor ``ListFunctionUrlConfigs``, and
it answers ``GetPolicy`` for a function without a policy and hard-codes ``SnapStart``; every function the live source
lists is asked for its provisioned concurrency, so the Lambda client is a botocore ``Stubber`` here (it checks each
request and response against botocore's Lambda model). The helpers queue one answer each, in the order the collector
asks: ``ListFunctions`` pages, one ``ListProvisionedConcurrencyConfigs`` per function, then ``GetPolicy`` and
``ListFunctionUrlConfigs`` for the functions SW401 could judge, then ``GetFunctionConfiguration`` per warm alias or
version. Auto Scaling groups, launch templates and configurations, policies and schedules are moto's; ECS
``DescribeCapacityProviders`` without names is not implemented by moto, so it is stubbed too.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
from botocore.stub import Stubber

import audit_scenario as scenario

REGION = "us-east-1"
CONCURRENCY_DIMENSION = "lambda:function:ProvisionedConcurrency"
IMAGE_AMI = "ami-12c6146b"


def function_arn(name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{REGION}:{scenario.ACCOUNT}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def function(name: str, *, memory: int = 128, package: str = "Zip", snap_start: bool = False,
             architecture: str = "x86_64") -> dict:
    """A ``ListFunctions`` item ($LATEST's configuration)."""
    item = {"FunctionName": name, "FunctionArn": function_arn(name), "MemorySize": memory, "PackageType": package,
            "Architectures": [architecture], "Version": "$LATEST",
            "SnapStart": {"ApplyOn": "PublishedVersions" if snap_start else "None", "OptimizationStatus": "Off"}}
    if package == "Zip":
        item.update(Runtime="python3.12", Handler="app.handler")
    return item


def list_functions(stub: Stubber, *functions: dict, marker: str | None = None, next_marker: str | None = None) -> None:
    """One ``ListFunctions`` page; ``next_marker`` announces another, ``marker`` is the one this page was asked with."""
    page = {"Functions": list(functions), **({"NextMarker": next_marker} if next_marker else {})}
    stub.add_response("list_functions", page, {"MaxItems": 50, **({"Marker": marker} if marker else {})})


def list_concurrency(stub: Stubber, name: str, *configs: tuple, marker: str | None = None,
                     next_marker: str | None = None) -> None:
    """One ``ListProvisionedConcurrencyConfigs`` page of ``(qualifier, executions)`` configurations."""
    page = {"ProvisionedConcurrencyConfigs": [{
        "FunctionArn": function_arn(name, qualifier), "RequestedProvisionedConcurrentExecutions": executions,
        "AvailableProvisionedConcurrentExecutions": executions, "AllocatedProvisionedConcurrentExecutions": executions,
        "Status": "READY", "LastModified": "2026-11-02T10:00:00+0000"} for qualifier, executions in configs],
        **({"NextMarker": next_marker} if next_marker else {})}
    stub.add_response("list_provisioned_concurrency_configs", page,
                      {"FunctionName": name, "MaxItems": 50, **({"Marker": marker} if marker else {})})


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Id": "default", "Statement": list(statements)})


def invoke_permission(name: str, service: str, action: str = "lambda:InvokeFunction") -> dict:
    """A statement as ``AddPermission`` writes it for an AWS service."""
    return {"Sid": f"{service.split('.')[0]}-invoke", "Effect": "Allow", "Principal": {"Service": service},
            "Action": action, "Resource": function_arn(name),
            "Condition": {"ArnLike": {"AWS:SourceArn": f"arn:aws:execute-api:{REGION}:{scenario.ACCOUNT}:abc123/*"}}}


def get_policy(stub: Stubber, name: str, document: str | None) -> None:
    """The function's resource policy; ``None``: it has none (Lambda answers ResourceNotFoundException)."""
    if document is None:
        stub.add_client_error("get_policy", "ResourceNotFoundException", "The resource you requested does not exist.",
                              http_status_code=404, expected_params={"FunctionName": name})
    else:
        stub.add_response("get_policy", {"Policy": document, "RevisionId": "1"}, {"FunctionName": name})


def list_urls(stub: Stubber, name: str, *qualifiers: str | None) -> None:
    """Its function URLs, one per qualifier (``None``: on the unqualified function)."""
    stub.add_response("list_function_url_configs", {"FunctionUrlConfigs": [{
        "FunctionUrl": f"https://{name}-{index}.lambda-url.{REGION}.on.aws/", "FunctionArn": function_arn(name, q),
        "CreationTime": "2026-11-02T10:00:00+0000", "LastModifiedTime": "2026-11-02T10:00:00+0000",
        "AuthType": "AWS_IAM"} for index, q in enumerate(qualifiers)]}, {"FunctionName": name, "MaxItems": 50})


def get_configuration(stub: Stubber, name: str, qualifier: str, *, memory: int, architecture: str = "x86_64",
                      version: str = "3") -> None:
    """``GetFunctionConfiguration`` of an alias or version: what its warm environments run."""
    stub.add_response("get_function_configuration", {
        "FunctionName": name, "FunctionArn": function_arn(name, qualifier), "MemorySize": memory,
        "Architectures": [architecture], "Version": version, "PackageType": "Image"},
        {"FunctionName": name, "Qualifier": qualifier})


def denied(stub: Stubber, operation: str, params: dict, code: str = "AccessDeniedException") -> None:
    stub.add_client_error(operation, code, f"not authorized to perform {operation}", http_status_code=403,
                          expected_params=params)


def lambda_target(autoscaling, name: str, qualifier: str, minimum: int = 1, maximum: int = 10) -> str:
    """A moto scalable target on ``function:<name>:<qualifier>``; returns its ResourceId."""
    resource_id = f"function:{name}:{qualifier}"
    autoscaling.register_scalable_target(ServiceNamespace="lambda", ResourceId=resource_id,
                                         ScalableDimension=CONCURRENCY_DIMENSION, MinCapacity=minimum,
                                         MaxCapacity=maximum)
    return resource_id


def lambda_policy(autoscaling, resource_id: str, name: str, *, target: float = 0.7, step: bool = False) -> None:
    """A target-tracking policy on ``LambdaProvisionedConcurrencyUtilization`` (or a step policy) on a target."""
    common = {"PolicyName": name, "ServiceNamespace": "lambda", "ResourceId": resource_id,
              "ScalableDimension": CONCURRENCY_DIMENSION}
    if step:
        autoscaling.put_scaling_policy(**common, PolicyType="StepScaling", StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity", "StepAdjustments": [{"MetricIntervalLowerBound": 0,
                                                                       "ScalingAdjustment": 1}]})
    else:
        autoscaling.put_scaling_policy(**common, PolicyType="TargetTrackingScaling",
                                       TargetTrackingScalingPolicyConfiguration={
                                           "TargetValue": target, "PredefinedMetricSpecification": {
                                               "PredefinedMetricType": "LambdaProvisionedConcurrencyUtilization"}})


def put_utilization(cloudwatch, name: str, qualifier: str, peaks: list) -> None:
    """One ``ProvisionedConcurrencyUtilization`` datapoint a day (the day's peak), most recent first."""
    now = datetime.now(timezone.utc)
    cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=[{
        "MetricName": "ProvisionedConcurrencyUtilization", "Value": value,
        "Dimensions": [{"Name": "FunctionName", "Value": name}, {"Name": "Resource", "Value": f"{name}:{qualifier}"}],
        "Timestamp": now - timedelta(days=day, hours=2)} for day, value in enumerate(peaks)])


# --- Auto Scaling groups --------------------------------------------------------------------------------------


def launch_template(ec2, name: str, *versions: dict) -> str:
    """A moto launch template whose versions hold ``versions`` (LaunchTemplateData, the first is version 1 and the
    default); returns its ID."""
    template = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={
        "ImageId": IMAGE_AMI, **versions[0]})["LaunchTemplate"]
    for data in versions[1:]:
        ec2.create_launch_template_version(LaunchTemplateId=template["LaunchTemplateId"],
                                           LaunchTemplateData={"ImageId": IMAGE_AMI, **data})
    return template["LaunchTemplateId"]


def group(autoscaling, name: str, *, minimum: int = 0, maximum: int = 4, tags: dict | None = None, **settings) -> None:
    """A moto Auto Scaling group in one zone, running ``minimum`` instances."""
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=minimum, MaxSize=maximum, DesiredCapacity=minimum,
        AvailabilityZones=[f"{REGION}a"],
        Tags=[{"Key": key, "Value": value, "PropagateAtLaunch": True} for key, value in (tags or {}).items()],
        **settings)


def mixed(template: str, *types: str, on_demand: int = 0, strategy: str | None = None, version: str = "$Latest",
          requirements: dict | None = None) -> dict:
    """A ``MixedInstancesPolicy``: ``types`` as overrides (or attribute-based ``requirements``), ``on_demand`` %
    On-Demand above a base of 0, and the Spot allocation strategy when one is given."""
    distribution = {"OnDemandPercentageAboveBaseCapacity": on_demand, **(
        {"SpotAllocationStrategy": strategy} if strategy else {})}
    overrides = [{"InstanceRequirements": requirements}] if requirements else [{"InstanceType": t} for t in types]
    return {"LaunchTemplate": {"LaunchTemplateSpecification": {"LaunchTemplateId": template, "Version": version},
                               "Overrides": overrides}, "InstancesDistribution": distribution}


def group_arn(autoscaling, name: str) -> str:
    [described] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return described["AutoScalingGroupARN"]


def capacity_providers(stub: Stubber, *managed_group_arns: str, next_token: str | None = None,
                       token: str | None = None) -> None:
    """One ``DescribeCapacityProviders`` page: an ECS capacity provider with managed scaling per group ARN."""
    page = {"capacityProviders": [{
        "capacityProviderArn": f"arn:aws:ecs:{REGION}:{scenario.ACCOUNT}:capacity-provider/provider-{index}",
        "name": f"provider-{index}", "status": "ACTIVE", "autoScalingGroupProvider": {
            "autoScalingGroupArn": arn, "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
            "managedTerminationProtection": "DISABLED"}}
        for index, arn in enumerate(managed_group_arns)], **({"nextToken": next_token} if next_token else {})}
    stub.add_response("describe_capacity_providers", page,
                      {"maxResults": 10, **({"nextToken": token} if token else {})})


def serving_clients(region: str = REGION) -> dict:
    """Moto clients for the serving paths (EC2 Auto Scaling and EC2), as ``RegionClients`` keywords."""
    return {"ec2_autoscaling": boto3.client("autoscaling", region_name=region),
            "ec2": boto3.client("ec2", region_name=region)}
