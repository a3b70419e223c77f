"""Serving paths over live accounts (issue 12): Lambda inference (SW401-SW403), serverless provisioned concurrency
(SW404), Spot and GPU Auto Scaling groups (SW501-SW504), read by :mod:`auditor.sources.aws_lambda` and
:mod:`auditor.sources.aws_auto_scaling_groups`.

What is moto and what is a botocore ``Stubber`` (and why) is in ``tests/serving_scenario.py``; every stubbed request
and answer is checked against botocore's service models.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

import audit_scenario as scenario
import serving_scenario as serving
from auditor import engine
from auditor.audit import AuditOptions, run_audit
from auditor.rules import load_rules
from auditor.sources import aws, aws_lambda

REGION = serving.REGION
RULES = {rule.id: rule for rule in load_rules()}
SETTINGS = aws.CollectSettings(lookback_days=7, training_days=14, headroom=None, model_memory_mb=2048)
DENIED_HINT = "(the audit needs the permissions `sagewise iam-policy` prints)"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path):
    scenario.isolate_environment(monkeypatch, tmp_path)
    monkeypatch.setattr(aws, "DESCRIBES_IN_FLIGHT", 1)  # a Stubber answers in the order its answers were queued


def collect(c, **clients) -> aws.Collected:
    return aws.collect(aws.RegionClients(c.sagemaker, c.autoscaling, c.cloudwatch, **clients), scenario.ACCOUNT,
                       REGION, SETTINGS)


def findings(model, *rule_ids: str) -> list:
    return engine.evaluate(model, [RULES[rule_id] for rule_id in rule_ids])


def found(model, *rule_ids: str) -> set:
    """(rule id, resource name, path) of each finding; resources named by the last segment of their ARN or ID."""
    return {(f.rule_id, f.location.resource.rsplit("/", 1)[-1].rsplit(":function:", 1)[-1], f.location.path)
            for f in findings(model, *rule_ids)}


def operations(client) -> list:
    """The operation names ``client`` calls from now on, in order."""
    calls = []
    client.meta.events.register("provide-client-params.*.*", lambda model, **_: calls.append(model.name))
    return calls


# --- Lambda: SW401 ---------------------------------------------------------------------------------------------


def test_sw401_a_model_served_synchronously_with_nothing_warm():
    """Callers are read only for the functions SW401 can judge: a container image or 2048 MB and more, with neither
    provisioned concurrency nor SnapStart. The resource policy is read first; a function it does not settle gets
    its function URLs read."""
    lam = boto3.client("lambda", region_name=REGION)
    calls = operations(lam)
    with mock_aws():
        c = scenario.clients(REGION)
        live = serving.lambda_target(c.autoscaling, "warm", "live")
        serving.lambda_policy(c.autoscaling, live, "warm-utilization")
        with Stubber(lam) as stub:
            serving.list_functions(
                stub, serving.function("scorer", memory=4096, package="Image"),
                serving.function("url-scorer", memory=3008),
                serving.function("queue-worker", memory=4096, package="Image"),
                serving.function("alb-scorer", memory=2048), serving.function("small", memory=512),
                serving.function("snap", memory=4096, snap_start=True),
                serving.function("warm", memory=4096, package="Image"))
            for name in ("scorer", "url-scorer", "queue-worker", "alb-scorer", "small", "snap"):
                serving.list_concurrency(stub, name)
            serving.list_concurrency(stub, "warm", ("live", 2))
            serving.get_policy(stub, "scorer", serving.policy(serving.invoke_permission("scorer",
                                                                                        "apigateway.amazonaws.com")))
            serving.get_policy(stub, "url-scorer", None)
            serving.get_policy(stub, "queue-worker", serving.policy(serving.invoke_permission("queue-worker",
                                                                                              "events.amazonaws.com")))
            serving.get_policy(stub, "alb-scorer", serving.policy(serving.invoke_permission(
                "alb-scorer", "elasticloadbalancing.amazonaws.com")))
            serving.list_urls(stub, "url-scorer", None)
            serving.list_urls(stub, "queue-worker")
            serving.get_configuration(stub, "warm", "live", memory=4096)
            collected = collect(c, awslambda=lam)
            stub.assert_no_pending_responses()
    assert collected.errors == []
    assert calls == ["ListFunctions"] + ["ListProvisionedConcurrencyConfigs"] * 7 + ["GetPolicy"] * 4 + [
        "ListFunctionUrlConfigs"] * 2 + ["GetFunctionConfiguration"]
    functions = {function.name: function for function in collected.model.functions}
    assert {name: (f.synchronous_trigger, f.provisioned_concurrency) for name, f in functions.items()} == {
        "scorer": ("API Gateway", False), "url-scorer": ("a function URL", False), "queue-worker": (None, False),
        "alb-scorer": ("a load balancer", False), "small": (None, False), "snap": (None, False), "warm": (None, True)}
    assert functions["snap"].snap_start and functions["scorer"].qualifier_keys is None
    assert functions["scorer"].location.resource == serving.function_arn("scorer")
    assert found(collected.model, "SW401", "SW402") == {("SW401", name, "") for name in ("scorer", "url-scorer",
                                                                                          "alb-scorer")}
    by_name = {f.location.resource.rsplit(":", 1)[-1]: f.message for f in findings(collected.model, "SW401")}
    assert by_name["scorer"].startswith("Function scorer answers API Gateway and loads a model (Image package, "
                                        "4096 MB), but no alias or version has provisioned concurrency")


def test_resource_policies_name_the_callers_that_wait():
    """Only an allowed ``lambda:InvokeFunction`` for API Gateway or a load balancer makes a caller that waits; a
    principal is one service or a list of them, written as ``{"Service": ...}`` or plainly."""
    arn = serving.function_arn("f")
    statement = {"Effect": "Allow", "Action": ["lambda:GetFunction", "lambda:InvokeFunction"], "Resource": arn}
    assert aws_lambda.policy_trigger(serving.policy(
        {**statement, "Principal": {"Service": ["events.amazonaws.com", "apigateway.amazonaws.com"]}})) == "API Gateway"
    assert aws_lambda.policy_trigger(serving.policy(
        {**statement, "Principal": "elasticloadbalancing.amazonaws.com"})) == "a load balancer"
    assert aws_lambda.policy_trigger(serving.policy(
        {**statement, "Effect": "Deny", "Principal": {"Service": "apigateway.amazonaws.com"}})) is None
    url_invoke = {**statement, "Action": "lambda:InvokeFunctionUrl",
                  "Principal": {"Service": "apigateway.amazonaws.com"}}
    assert aws_lambda.policy_trigger(serving.policy(url_invoke)) is None
    assert aws_lambda.policy_trigger(serving.policy(
        {**statement, "Principal": {"AWS": "arn:aws:iam::123456789012:root"}})) is None
    assert aws_lambda.policy_trigger("not json") is None and aws_lambda.policy_trigger("[]") is None


# --- Lambda: SW402, and what idle warm capacity costs ----------------------------------------------------------


def test_sw402_fixed_provisioned_concurrency_costs_what_stays_idle_at_its_peak():
    """The cost is the share nothing used even at the window's peak (1 - peak ProvisionedConcurrencyUtilization) of
    every configured GB-second, at the alias's own memory and architecture: ranker's $LATEST has 3008 MB but its
    live alias runs a version of 2048 MB. us-east-1 prices: x86_64 $0.0000041667, arm64 $0.0000033334 per GB-s."""
    lam = boto3.client("lambda", region_name=REGION)
    with mock_aws():
        c = scenario.clients(REGION)
        scaled = serving.lambda_target(c.autoscaling, "scaled", "live")
        serving.lambda_policy(c.autoscaling, scaled, "scaled-utilization")
        serving.put_utilization(c.cloudwatch, "ranker", "live", [0.1, 0.4, 0.25, 0.05, 0.3, 0.2, 0.1])
        serving.put_utilization(c.cloudwatch, "scaled", "live", [0.7] * 7)
        with Stubber(lam) as stub:
            serving.list_functions(stub, serving.function("ranker", memory=3008, package="Image"),
                                   serving.function("embedder", memory=1024, architecture="arm64"),
                                   serving.function("scaled", memory=2048, package="Image"))
            serving.list_concurrency(stub, "ranker", ("live", 10), ("7", 1))
            serving.list_concurrency(stub, "embedder", ("prod", 4))
            serving.list_concurrency(stub, "scaled", ("live", 5))
            serving.get_configuration(stub, "ranker", "live", memory=2048)
            serving.get_configuration(stub, "ranker", "7", memory=2048, version="7")
            serving.get_configuration(stub, "embedder", "prod", memory=1024, architecture="arm64")
            serving.get_configuration(stub, "scaled", "live", memory=2048)
            collected = collect(c, awslambda=lam)
            stub.assert_no_pending_responses()
    assert collected.errors == []
    warm = {(pc.function, pc.qualifier): pc for pc in collected.model.provisioned_concurrency}
    assert {key: (pc.qualifier_kind, pc.executions, pc.has_scalable_target, pc.utilization, pc.monthly_cost_usd)
            for key, pc in warm.items()} == {
        ("ranker", "live"): ("alias", 10, False, 0.4, 131.4),   # 10 x 2 GB x 2,628,000 s x $0.0000041667 x 0.6
        ("ranker", "7"): ("version", 1, False, 0.0, 21.9),      # no datapoint: nothing ran on it, all of it idle
        ("embedder", "prod"): ("alias", 4, False, 0.0, 35.04),  # 4 x 1 GB x 2,628,000 s x $0.0000033334
        ("scaled", "live"): ("alias", 5, True, 0.7, 32.85),
    }
    assert warm[("ranker", "live")].location.resource == serving.function_arn("ranker", "live")
    report = {f.location.resource.split(":function:")[1]: f for f in findings(collected.model, "SW402")}
    assert set(report) == {"ranker:live", "embedder:prod"}  # version 7's one execution is a warm floor (min_executions)
    assert (report["ranker:live"].monthly_cost_usd, report["ranker:live"].evidence) == (131.4, {"utilization": 0.4})
    assert report["ranker:live"].message.startswith("10 provisioned concurrent executions of ranker:live are fixed: "
                                                    "no scalable target on function:ranker:live follows the traffic")


# --- Lambda: SW403 -----------------------------------------------------------------------------------------------


def test_sw403_lambda_scaling_that_cannot_work():
    """Targets and policies of the ``lambda`` namespace are read like SageMaker's: a target on $LATEST, a step policy
    and a percentage target are errors. An alias the function does not publish cannot be known live (no
    ListAliases), so that check stays the template's."""
    lam = boto3.client("lambda", region_name=REGION)
    with mock_aws():
        c = scenario.clients(REGION)
        serving.lambda_target(c.autoscaling, "ranker", "$LATEST")
        live = serving.lambda_target(c.autoscaling, "ranker", "live")
        serving.lambda_policy(c.autoscaling, live, "percent", target=70)
        serving.lambda_policy(c.autoscaling, live, "steps", step=True)
        serving.lambda_policy(c.autoscaling, serving.lambda_target(c.autoscaling, "ranker", "blue"), "fraction")
        with Stubber(lam) as stub:
            serving.list_functions(stub, serving.function("ranker", memory=1024))
            serving.list_concurrency(stub, "ranker", ("live", 10))
            serving.get_configuration(stub, "ranker", "live", memory=1024)
            collected = collect(c, awslambda=lam)
        names = scenario.scaling_names(c) | {
            t["ScalableTargetARN"]: t["ResourceId"]
            for t in c.autoscaling.describe_scalable_targets(ServiceNamespace="lambda")["ScalableTargets"]} | {
            p["PolicyARN"]: p["PolicyName"]
            for p in c.autoscaling.describe_scaling_policies(ServiceNamespace="lambda")["ScalingPolicies"]}
    report = {scenario.identify(f, names) for f in findings(collected.model, "SW402", "SW403", "SW102", "SW104")}
    metric = "TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType"
    assert report == {("SW403", "function:ranker:$LATEST", "ResourceId"), ("SW403", "percent", metric),
                      ("SW403", "steps", metric)}
    messages = {f.message for f in findings(collected.model, "SW403")}
    assert ("Scaling policy percent cannot work: LambdaProvisionedConcurrencyUtilization is a fraction between 0 and "
            "1, so a target of 70 cannot work (write 0.7 for 70 %)") in messages


# --- SageMaker serverless: SW404 -----------------------------------------------------------------------------------


def test_sw404_serverless_provisioned_concurrency_without_its_target():
    """The variant's provisioned concurrency comes from the endpoint's CurrentServerlessConfig. No verified price of
    serverless provisioned concurrency was found, so the finding carries no cost."""
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        for name in ("fixed", "scaled"):
            c.sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
                "VariantName": "AllTraffic", "ModelName": "custom",
                "ServerlessConfig": {"MemorySizeInMB": 4096, "MaxConcurrency": 20, "ProvisionedConcurrency": 5}}])
            c.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
        autoscaling = boto3.client("application-autoscaling", region_name=REGION)
        target = {**scenario.scalable_target("endpoint/scaled/variant/AllTraffic", 1, 20),
                  "ScalableDimension": "sagemaker:variant:DesiredProvisionedConcurrency"}
        with scenario.stub_scaling(autoscaling, (target,)) as stub:  # moto refuses this dimension
            collected = aws.collect(aws.RegionClients(c.sagemaker, autoscaling, c.cloudwatch), scenario.ACCOUNT,
                                    REGION, SETTINGS)
            stub.assert_no_pending_responses()
    variants = {variant.endpoint: variant for variant in collected.model.variants}
    assert {name: (v.kind, v.provisioned_concurrency, v.max_concurrency, v.has_scalable_target, v.monthly_cost_usd)
            for name, v in variants.items()} == {"fixed": ("serverless", 5, 20, False, None),
                                                 "scaled": ("serverless", 5, 20, True, None)}
    [finding] = findings(collected.model, "SW404", "SW101")
    assert (finding.rule_id, finding.location.resource, finding.monthly_cost_usd) == (
        "SW404", scenario.endpoint_arn("fixed"), None)
    assert finding.message == ("Serverless variant AllTraffic of endpoint fixed keeps 5 provisioned concurrency with "
                               "no scalable target on endpoint/fixed/variant/AllTraffic; the warm capacity is billed "
                               "whether or not requests come")


# --- Auto Scaling groups: SW501-SW504 ----------------------------------------------------------------------------


def seed_groups(c, ecs_stub: Stubber) -> dict:
    """Groups each rule judges, and their neighbours it leaves alone; returns name -> what it shows."""
    clients = serving.serving_clients()
    asg, ec2 = clients["ec2_autoscaling"], clients["ec2"]
    gpu = serving.launch_template(ec2, "gpu", {"InstanceType": "g5.xlarge"})
    # web: version 1 (the default) is CPU, version 2 (the latest) a GPU type.
    web = serving.launch_template(ec2, "web", {"InstanceType": "m5.large"}, {"InstanceType": "g5.xlarge"})
    serving.group(asg, "spot-default", MixedInstancesPolicy=serving.mixed(gpu, "g5.xlarge", "g6.xlarge", "g4dn.xlarge"))
    serving.group(asg, "spot-pco", CapacityRebalance=True, tags={"k8s.io/cluster-autoscaler/enabled": "true"},
                  MixedInstancesPolicy=serving.mixed(gpu, "g5.xlarge", on_demand=20,
                                                     strategy="price-capacity-optimized"))
    serving.group(asg, "on-demand-ecs", MixedInstancesPolicy=serving.mixed(gpu, "g5.xlarge", on_demand=100))
    serving.group(asg, "gpu-latest", minimum=1, maximum=3,
                  LaunchTemplate={"LaunchTemplateId": web, "Version": "$Latest"})
    serving.group(asg, "cpu-default", LaunchTemplate={"LaunchTemplateId": web, "Version": "$Default"})
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    elbv2 = boto3.client("elbv2", region_name=REGION)
    target_group = elbv2.create_target_group(Name="inference", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    serving.group(asg, "gpu-fleet", minimum=2, maximum=2, TargetGroupARNs=[target_group["TargetGroupArn"]],
                  LaunchTemplate={"LaunchTemplateId": web, "Version": "2"})
    asg.create_launch_configuration(LaunchConfigurationName="p3-spot", ImageId=serving.IMAGE_AMI,
                                    InstanceType="p3.2xlarge", SpotPrice="1.50")
    serving.group(asg, "spot-lc", LaunchConfigurationName="p3-spot")
    serving.group(asg, "spot-attributes", MixedInstancesPolicy=serving.mixed(gpu, requirements={
        "VCpuCount": {"Min": 4}, "MemoryMiB": {"Min": 16384}, "AcceleratorCount": {"Min": 1}}))
    for name in ("spot-default", "spot-attributes"):
        asg.put_scaling_policy(AutoScalingGroupName=name, PolicyName=f"{name}-cpu", PolicyType="TargetTrackingScaling",
                               TargetTrackingConfiguration={"TargetValue": 50, "PredefinedMetricSpecification": {
                                   "PredefinedMetricType": "ASGAverageCPUUtilization"}})
    asg.put_scheduled_update_group_action(AutoScalingGroupName="spot-lc", ScheduledActionName="night",
                                          Recurrence="0 20 * * *", MinSize=0)
    serving.capacity_providers(ecs_stub, serving.group_arn(asg, "on-demand-ecs"))
    return clients


def test_sw501_to_sw504_over_live_groups():
    """Types come from the overrides, else the launch template version the group names (the default, the latest or a
    number) or the launch configuration; Spot from the distribution, market options or SpotPrice; what sizes a group
    from its policies, schedules, an ECS capacity provider or the cluster autoscaler tag."""
    ecs = boto3.client("ecs", region_name=REGION)
    with mock_aws():
        c = scenario.clients(REGION)
        with Stubber(ecs) as ecs_stub:
            clients = seed_groups(c, ecs_stub)
            asg_calls, ec2_calls = operations(clients["ec2_autoscaling"]), operations(clients["ec2"])
            collected = collect(c, **clients, ecs=ecs)
            ecs_stub.assert_no_pending_responses()
    assert collected.errors == []
    assert sorted(asg_calls) == ["DescribeAutoScalingGroups", "DescribeLaunchConfigurations", "DescribePolicies",
                                 "DescribeScheduledActions"]
    assert ec2_calls == ["DescribeLaunchTemplateVersions"]  # one per template: web's $Latest, $Default and 2 at once
    groups = {group.name: group for group in collected.model.auto_scaling_groups}
    assert {name: (g.instance_selection, g.spot, g.accelerated, g.policy_count, g.scaled_by)
            for name, g in groups.items()} == {
        "spot-default": ("g5.xlarge, g6.xlarge, g4dn.xlarge", True, True, 1, None),
        "spot-pco": ("g5.xlarge", True, True, 0, "the Kubernetes cluster autoscaler"),
        "on-demand-ecs": ("g5.xlarge", False, True, 0, "an ECS capacity provider"),
        "gpu-latest": ("g5.xlarge", False, True, 0, None),
        "cpu-default": ("m5.large", False, False, 0, None),
        "gpu-fleet": ("g5.xlarge", False, True, 0, None),
        "spot-lc": ("p3.2xlarge", True, True, 1, None),
        "spot-attributes": ("chosen by InstanceRequirements", True, True, 1, None),
    }
    assert groups["spot-default"].spot_allocation_text == "lowest-price (the default)"
    assert groups["gpu-fleet"].serves_traffic and groups["spot-pco"].capacity_rebalance
    strategy = "MixedInstancesPolicy.InstancesDistribution.SpotAllocationStrategy"
    assert found(collected.model, "SW501", "SW502", "SW503", "SW504") == {
        ("SW501", "spot-default", strategy), ("SW501", "spot-attributes", strategy),
        ("SW502", "spot-pco", ""), ("SW502", "spot-lc", ""),
        ("SW503", "spot-default", ""), ("SW503", "spot-lc", ""), ("SW503", "spot-attributes", ""),
        ("SW504", "gpu-latest", ""), ("SW504", "gpu-fleet", ""),
    }
    messages = {f.location.resource.rsplit("/", 1)[-1]: f.message for f in findings(collected.model, "SW504")}
    assert messages["gpu-fleet"].startswith("Auto Scaling group gpu-fleet serves traffic on a fixed fleet of 2 "
                                            "accelerated instances (g5.xlarge)")


def test_a_groups_ignore_tag_suppresses_its_findings():
    with mock_aws():
        c = scenario.clients(REGION)
        clients = serving.serving_clients()
        gpu = serving.launch_template(clients["ec2"], "gpu", {"InstanceType": "g5.xlarge"})
        serving.group(clients["ec2_autoscaling"], "batch", tags={scenario.IGNORE: "SW503",
                                                                 scenario.REASON: "interruptible batch"},
                      MixedInstancesPolicy=serving.mixed(gpu, "g5.xlarge", "g6.xlarge", "g4dn.xlarge",
                                                         strategy="capacity-optimized"))
        clients["ec2_autoscaling"].put_scheduled_update_group_action(
            AutoScalingGroupName="batch", ScheduledActionName="night", Recurrence="0 20 * * *", MinSize=0)
        collected = collect(c, **clients, ecs=None)  # a group its schedule sizes: no capacity provider is read
    model = collected.model
    [suppression] = model.suppressions
    assert (suppression.rule, suppression.reason, suppression.location.resource) == (
        "SW503", "interruptible batch", model.auto_scaling_groups[0].location.resource)
    assert engine.evaluate(model, load_rules()) == []  # suppressed, and the ignore is used (no SW001)
    model.suppressions.clear()
    assert found(model, "SW501", "SW502", "SW503", "SW504") == {("SW503", "batch", "")}


# --- Denied reads: one error line, the rest of the region judged ------------------------------------------------


def test_provisioned_concurrency_denied_is_one_error_and_the_functions_are_not_judged():
    lam = boto3.client("lambda", region_name=REGION)
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "unscaled")
        with Stubber(lam) as stub:
            serving.list_functions(stub, *(serving.function(name, memory=4096, package="Image")
                                           for name in ("a", "b", "c")))
            for name in ("a", "b", "c"):
                serving.denied(stub, "list_provisioned_concurrency_configs", {"FunctionName": name, "MaxItems": 50})
            collected = collect(c, awslambda=lam)
            stub.assert_no_pending_responses()  # and no caller read: whether they have warm capacity is unknown
    assert collected.errors == ["ListProvisionedConcurrencyConfigs a and 2 other functions: AccessDeniedException: "
                                f"not authorized to perform list_provisioned_concurrency_configs {DENIED_HINT}"]
    assert {f.provisioned_concurrency for f in collected.model.functions} == {None}
    assert found(collected.model, "SW101", "SW401", "SW402") == {
        ("SW101", "unscaled", "ProductionVariants[AllTraffic]")}


def test_group_reads_denied_leave_their_facts_unknown():
    """Launch templates denied: the groups launching from one have unknown types (no SW502, SW504), the group on a
    launch configuration is still judged. Capacity providers denied: what sizes an unscaled group is unknown."""
    ec2 = boto3.client("ec2", region_name=REGION)
    ecs = boto3.client("ecs", region_name=REGION)
    with mock_aws():
        c = scenario.clients(REGION)
        clients = serving.serving_clients()
        web = serving.launch_template(clients["ec2"], "web", {"InstanceType": "g5.xlarge",
                                                              "InstanceMarketOptions": {"MarketType": "spot"}})
        serving.group(clients["ec2_autoscaling"], "gpu-spot", LaunchTemplate={"LaunchTemplateId": web})
        clients["ec2_autoscaling"].create_launch_configuration(LaunchConfigurationName="p3", ImageId=serving.IMAGE_AMI,
                                                               InstanceType="p3.2xlarge")
        serving.group(clients["ec2_autoscaling"], "gpu-lc", LaunchConfigurationName="p3")
        with Stubber(ec2) as ec2_stub, Stubber(ecs) as ecs_stub:
            serving.denied(ec2_stub, "describe_launch_template_versions",
                           {"LaunchTemplateId": web, "Versions": ["$Default"]}, code="UnauthorizedOperation")
            serving.denied(ecs_stub, "describe_capacity_providers", {"maxResults": 10})
            collected = collect(c, ec2_autoscaling=clients["ec2_autoscaling"], ec2=ec2, ecs=ecs)
    assert collected.errors == [
        "DescribeLaunchTemplateVersions " + web + ": UnauthorizedOperation: not authorized to perform "
        f"describe_launch_template_versions {DENIED_HINT}",
        f"DescribeCapacityProviders: AccessDeniedException: not authorized to perform describe_capacity_providers "
        f"{DENIED_HINT}"]
    groups = {group.name: group for group in collected.model.auto_scaling_groups}
    assert (groups["gpu-spot"].instance_type_count, groups["gpu-spot"].spot, groups["gpu-spot"].accelerated) == (
        None, None, None)
    assert (groups["gpu-lc"].accelerated, groups["gpu-lc"].spot, groups["gpu-lc"].policy_count) == (True, False, None)
    assert found(collected.model, "SW501", "SW502", "SW503", "SW504") == set()


def test_a_denied_listing_is_an_error_of_the_scope_and_the_rest_is_audited(monkeypatch):
    faults = scenario.install_faults(monkeypatch)
    faults.add("lambda", "ListFunctions", "AccessDeniedException", status=403)
    faults.add("auto-scaling", "DescribeAutoScalingGroups", "AccessDenied", status=403)
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "unscaled")
        result = run_audit(AuditOptions(regions=(REGION,)), load_rules(), {}, {})
    assert sorted((e.account, e.region, e.message.split(":")[0]) for e in result.errors) == [
        (scenario.ACCOUNT, REGION, "DescribeAutoScalingGroups"), (scenario.ACCOUNT, REGION, "ListFunctions")]
    assert {f.rule_id for f in result.findings} == {"SW101"}
    calls = result.stats["api_calls"]
    assert "application-autoscaling:DescribeScalableTargets" in calls and not any(
        action.startswith(("ec2:Describe", "ecs:")) for action in calls)


# --- Pages ------------------------------------------------------------------------------------------------------


def test_every_page_is_read():
    """ListFunctions and ListProvisionedConcurrencyConfigs follow NextMarker, DescribeCapacityProviders nextToken, and
    DescribeAutoScalingGroups NextToken (moto pages groups by 100)."""
    lam = boto3.client("lambda", region_name=REGION)
    ecs = boto3.client("ecs", region_name=REGION)
    with mock_aws():
        c = scenario.clients(REGION)
        clients = serving.serving_clients()
        asg = clients["ec2_autoscaling"]
        asg.create_launch_configuration(LaunchConfigurationName="cpu", ImageId=serving.IMAGE_AMI,
                                        InstanceType="m5.large")
        for index in range(101):
            serving.group(asg, f"g{index:03d}", LaunchConfigurationName="cpu")
        last = serving.group_arn(asg, "g100")
        asg_calls = operations(asg)
        with Stubber(lam) as stub, Stubber(ecs) as ecs_stub:
            serving.list_functions(stub, serving.function("a"), next_marker="page-2")
            serving.list_functions(stub, serving.function("b"), marker="page-2")
            serving.list_concurrency(stub, "a", ("live", 2), next_marker="more")
            serving.list_concurrency(stub, "a", ("blue", 3), marker="more")
            serving.list_concurrency(stub, "b")
            serving.get_configuration(stub, "a", "live", memory=128)
            serving.get_configuration(stub, "a", "blue", memory=128)
            serving.capacity_providers(ecs_stub, next_token="page-2")
            serving.capacity_providers(ecs_stub, last, token="page-2")
            collected = collect(c, awslambda=lam, **clients, ecs=ecs)
            stub.assert_no_pending_responses()
            ecs_stub.assert_no_pending_responses()
    assert collected.errors == []
    assert [f.name for f in collected.model.functions] == ["a", "b"]
    assert {(pc.function, pc.qualifier) for pc in collected.model.provisioned_concurrency} == {("a", "live"),
                                                                                              ("a", "blue")}
    assert asg_calls.count("DescribeAutoScalingGroups") == 2 and asg_calls.count("DescribeLaunchConfigurations") == 1
    groups = {group.name: group for group in collected.model.auto_scaling_groups}
    assert len(groups) == 101 and groups["g100"].scaled_by == "an ECS capacity provider"
