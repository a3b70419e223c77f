"""Scaling in depth over live accounts (issue 11): SW105's customized metrics, SW107..SW111 and SW203.

moto keeps suspended states, step policies, customized metrics and scheduled actions as AWS returns
them, and ``tests/audit_scenario.py`` seeds each rule's case into the account every audit test reads.
What moto leaves out is answered here by botocore Stubbers, which check every request and response
against the API model: the ``Alarms`` AWS lists for a step policy (the alarms themselves are real moto
CloudWatch alarms, read with ``DescribeAlarms``) and a training job's ``BillableTimeInSeconds``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

import audit_scenario as scenario
from auditor import catalog, engine
from auditor.audit import AuditError, collect_settings
from auditor.rules import load_rules
from auditor.sources import aws

REGION = "us-east-1"
RULES = {rule.id: rule for rule in load_rules()}
pytestmark = pytest.mark.usefixtures("describes_in_order")


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path):
    scenario.isolate_environment(monkeypatch, tmp_path)


def collect(sagemaker, autoscaling, cloudwatch, settings: aws.CollectSettings | None = None) -> aws.Collected:
    settings = settings or aws.CollectSettings(lookback_days=7, training_days=14, headroom=None)
    return aws.collect(aws.RegionClients(sagemaker, autoscaling, cloudwatch), scenario.ACCOUNT, REGION, settings)


def findings(model, *rule_ids: str, params: dict | None = None) -> list:
    return engine.evaluate(model, [RULES[rule_id] for rule_id in rule_ids], params or {})


def calls_of(client) -> list:
    """(operation, its parameters) of each call ``client`` makes from now on."""
    calls = []
    client.meta.events.register("provide-client-params.*.*",
                                lambda model, params, **_: calls.append((model.name, dict(params))))
    return calls


def variant(endpoint: str) -> str:
    return f"endpoint/{endpoint}/variant/AllTraffic"


# --- SW107, SW108, SW109: step policies and the alarms that trigger them ---------------------------


def test_a_wake_up_alarm_on_the_backlog_spares_an_async_endpoint_at_zero():
    """SW107 both ways: one asynchronous endpoint is woken by a HasBacklogWithoutCapacity alarm, the
    other's step policy reacts to the age of its oldest request, which is not published at zero instances."""
    woken = scenario.step_policy(variant("woken"), "wake-up", scenario.steps((0, None, 1)), alarms=("woken-backlog",))
    asleep = scenario.step_policy(variant("asleep"), "oldest-request", scenario.steps((0, None, 1)),
                                  alarms=("asleep-age",))
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        for name in ("woken", "asleep"):
            scenario.add_endpoint(c, name, asynchronous=True)
        scenario.add_alarm(c, "woken-backlog", "HasBacklogWithoutCapacity", [woken["PolicyARN"]], endpoint="woken")
        scenario.add_alarm(c, "asleep-age", "ApproximateAgeOfOldestRequest", [asleep["PolicyARN"]], endpoint="asleep",
                           threshold=60)
        autoscaling = boto3.client("application-autoscaling", region_name=REGION)
        calls = calls_of(c.cloudwatch)
        targets = (scenario.scalable_target(variant("woken"), 0, 2), scenario.scalable_target(variant("asleep"), 0, 2))
        with scenario.stub_scaling(autoscaling, targets, (woken, asleep)) as stub:
            collected = collect(c.sagemaker, autoscaling, c.cloudwatch)
            stub.assert_no_pending_responses()
    assert collected.errors == []
    assert [(name, params["AlarmNames"]) for name, params in calls if name == "DescribeAlarms"] == [
        ("DescribeAlarms", ["woken-backlog", "asleep-age"])]
    model = collected.model
    alarms = {alarm.name: alarm for alarm in model.alarms}
    assert alarms["woken-backlog"].action_keys == [woken["PolicyARN"]]
    backlog = alarms["woken-backlog"]
    assert (backlog.namespace, backlog.dimensions, backlog.comparison) == (
        "AWS/SageMaker", ["EndpointName"], "GreaterThanOrEqualToThreshold")
    assert backlog.location.resource == f"arn:aws:cloudwatch:{REGION}:{scenario.ACCOUNT}:alarm:woken-backlog"
    policies = {policy.name: policy for policy in model.scaling_policies}
    assert policies["wake-up"].alarm_count == 1 and policies["wake-up"].alarm_metrics == ["HasBacklogWithoutCapacity"]
    assert policies["wake-up"].alarm_directions == ["up"] and policies["wake-up"].step_problem is None
    assert {target.resource_id: (target.scales_async, target.backlog_wake_up) for target in model.scalable_targets} == {
        variant("woken"): (True, True), variant("asleep"): (True, False)}
    [finding] = findings(model, "SW107", "SW108", "SW109")
    assert (finding.rule_id, finding.location.resource, finding.location.path) == (
        "SW107", f"{variant('asleep')}|{scenario.VARIANT_DIMENSION}|sagemaker", "MinCapacity")


def test_an_alarm_with_its_actions_disabled_triggers_nothing():
    """The policy lists the alarm, but the alarm's actions are off: SW108, as in a template."""
    paused = scenario.step_policy(variant("e"), "paused", scenario.steps((0, None, 1)), alarms=("latency-paused",))
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_alarm(c, "latency-paused", "ModelLatency", [paused["PolicyARN"]], endpoint="e",
                           actions_enabled=False)
        autoscaling = boto3.client("application-autoscaling", region_name=REGION)
        with scenario.stub_scaling(autoscaling, (scenario.scalable_target(variant("e")),), (paused,)):
            model = collect(c.sagemaker, autoscaling, c.cloudwatch).model
    assert [alarm.actions_enabled for alarm in model.alarms] == [False]
    [finding] = findings(model, "SW108")
    assert "with its actions enabled" in finding.message


def test_alarms_are_described_a_hundred_names_at_a_time():
    """Two policies triggered by 151 distinct alarms, one of them shared: two DescribeAlarms calls."""
    many = tuple(f"many-{index:03d}" for index in range(100)) + ("shared",)
    few = tuple(f"few-{index:02d}" for index in range(50)) + ("shared",)
    policies = (scenario.step_policy(variant("busy"), "many", scenario.steps((0, None, 1)), alarms=many),
                scenario.step_policy(variant("busy"), "few", scenario.steps((0, None, 1)), alarms=few))
    arns = {policy["PolicyName"]: policy["PolicyARN"] for policy in policies}
    with mock_aws():
        c = scenario.clients(REGION)
        for name in many[:-1]:
            scenario.add_alarm(c, name, "ModelLatency", [arns["many"]], endpoint="busy")
        for name in few[:-1]:
            scenario.add_alarm(c, name, "ModelLatency", [arns["few"]], endpoint="busy")
        scenario.add_alarm(c, "shared", "Invocations", [arns["many"], arns["few"]], endpoint="busy")
        autoscaling = boto3.client("application-autoscaling", region_name=REGION)
        calls = calls_of(c.cloudwatch)
        with scenario.stub_scaling(autoscaling, (scenario.scalable_target(variant("busy")),), policies):
            model = collect(c.sagemaker, autoscaling, c.cloudwatch).model
    described = [params["AlarmNames"] for name, params in calls if name == "DescribeAlarms"]
    assert [len(names) for names in described] == [100, 51]
    assert sorted(name for names in described for name in names) == sorted(set(many + few))
    counts = {policy.name: (policy.alarm_count, len(policy.alarm_metrics)) for policy in model.scaling_policies}
    assert counts == {"many": (101, 101), "few": (51, 51)}
    assert findings(model, "SW107", "SW108", "SW109") == []


def test_steps_that_scale_against_their_alarm_are_invalid():
    """SW109's direction check: a scale-out alarm on steps that only remove capacity, and a scale-in alarm on the
    same steps (right), and SW108 for a step policy no alarm triggers."""
    removing = scenario.steps((None, 0, -1))
    backwards = scenario.step_policy(variant("e"), "backwards", removing, alarms=("latency-high",))
    scale_in = scenario.step_policy(variant("e"), "scale-in", removing, alarms=("latency-low",))
    unwired = scenario.step_policy(variant("e"), "unwired", scenario.steps((0, None, 1)))
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_alarm(c, "latency-high", "ModelLatency", [backwards["PolicyARN"]], endpoint="e",
                           comparison="GreaterThanThreshold", threshold=500_000)
        scenario.add_alarm(c, "latency-low", "ModelLatency", [scale_in["PolicyARN"]], endpoint="e",
                           comparison="LessThanThreshold", threshold=50_000)
        autoscaling = boto3.client("application-autoscaling", region_name=REGION)
        with scenario.stub_scaling(autoscaling, (scenario.scalable_target(variant("e")),),
                                   (backwards, scale_in, unwired)):
            model = collect(c.sagemaker, autoscaling, c.cloudwatch).model
    found = {(f.rule_id, f.location.resource, f.location.path): f.message
             for f in findings(model, "SW108", "SW109")}
    assert set(found) == {
        ("SW109", backwards["PolicyARN"], "StepScalingPolicyConfiguration.StepAdjustments"),
        ("SW108", unwired["PolicyARN"], ""),
    }
    assert "fires when its metric rises (scale-out) triggers steps that only remove capacity" in found[
        ("SW109", backwards["PolicyARN"], "StepScalingPolicyConfiguration.StepAdjustments")]


def test_describe_alarms_denied_is_an_error_and_the_alarm_rules_stay_silent():
    """Without the alarms, whether the step policy wakes the endpoint or scales the right way is unknown: no
    SW107 and no direction; the policy no alarm triggers is still SW108, and the region is still judged."""
    alarmed = scenario.step_policy(variant("queue"), "alarmed", scenario.steps((None, 0, -1)), alarms=("hidden",))
    unwired = scenario.step_policy(variant("queue"), "unwired", scenario.steps((0, None, 1)))
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "queue", asynchronous=True)
        autoscaling = boto3.client("application-autoscaling", region_name=REGION)
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        with scenario.stub_scaling(autoscaling, (scenario.scalable_target(variant("queue"), 0, 2),),
                                   (alarmed, unwired)), Stubber(cloudwatch) as alarms:
            alarms.add_client_error("describe_alarms", "AccessDenied", "not authorized to perform DescribeAlarms",
                                    http_status_code=403, expected_params={"AlarmNames": ["hidden"]})
            alarms.add_response("get_metric_data", {"MetricDataResults": []},  # the variant's utilization
                                {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY})
            collected = collect(c.sagemaker, autoscaling, cloudwatch)
            alarms.assert_no_pending_responses()
    assert collected.errors == [("DescribeAlarms: AccessDenied: not authorized to perform DescribeAlarms "
                                 "(the audit needs the permissions `sagewise iam-policy` prints)")]
    policies = {policy.name: policy for policy in collected.model.scaling_policies}
    assert policies["alarmed"].alarm_count is None and policies["unwired"].alarm_count == 0
    [target] = collected.model.scalable_targets
    assert target.backlog_wake_up is None
    assert [(f.rule_id, f.location.resource) for f in findings(collected.model, "SW107", "SW108", "SW109")] == [
        ("SW108", unwired["PolicyARN"])]


# --- SW110, SW111: scheduled actions and suspended scaling ---------------------------------------


def test_scheduled_actions_are_read_with_their_times_zone_and_capacities():
    resource_id = variant("nightly")
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_target(c, resource_id)

        def schedule(name, expression, **extra):
            c.autoscaling.put_scheduled_action(ServiceNamespace="sagemaker", ScheduledActionName=name,
                                               ResourceId=resource_id, ScalableDimension=scenario.VARIANT_DIMENSION,
                                               Schedule=expression, **extra)

        schedule("campaign", "cron(0 8 ? * MON-FRI *)", Timezone="Europe/Paris",
                 StartTime=datetime(2020, 3, 1, tzinfo=timezone.utc), EndTime=datetime(2021, 3, 1, tzinfo=timezone.utc),
                 ScalableTargetAction={"MinCapacity": 2, "MaxCapacity": 6})
        schedule("inverted", "rate(1 day)", ScalableTargetAction={"MinCapacity": 5, "MaxCapacity": 2})
        schedule("evening", "cron(0 20 * * ? *)", EndTime=datetime.now(timezone.utc) + timedelta(days=30),
                 ScalableTargetAction={"MinCapacity": 1})
        model = collect(c.sagemaker, c.autoscaling, c.cloudwatch).model
    actions = {action.name: action for action in model.scheduled_actions}
    campaign = actions["campaign"]
    assert (campaign.schedule, campaign.timezone, campaign.resource_id) == (
        "cron(0 8 ? * MON-FRI *)", "Europe/Paris", resource_id)
    assert (campaign.start_time, campaign.end_time) == ("2020-03-01T00:00:00+00:00", "2021-03-01T00:00:00+00:00")
    assert (campaign.min_capacity, campaign.max_capacity) == (2, 6)
    assert campaign.problem == "its EndTime 2021-03-01T00:00:00+00:00 has passed"
    assert actions["inverted"].problem == "it sets MinCapacity 5 above MaxCapacity 2, which the service refuses"
    assert actions["evening"].problem is None and actions["evening"].max_capacity is None
    assert campaign.location.resource.startswith(f"arn:aws:autoscaling:{REGION}:{scenario.ACCOUNT}:scheduledAction:")
    [target] = model.scalable_targets
    assert target.scheduled_action_count == 3
    assert sorted(f.message.split(" never runs")[0] for f in findings(model, "SW110")) == [
        f"Scheduled action campaign of {resource_id}", f"Scheduled action inverted of {resource_id}"]


@pytest.mark.parametrize("state, suspended", [
    ({"DynamicScalingInSuspended": True}, "scale-in"),
    ({"DynamicScalingOutSuspended": True}, "scale-out"),
    ({"DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": True}, "scale-in and scale-out"),
    ({"DynamicScalingInSuspended": False, "ScheduledScalingSuspended": True}, None),
    (None, None),
])
def test_suspended_state_in_the_template_sources_words(state, suspended):
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_target(c, variant("e"), suspended=state)
        scenario.add_policy(c, variant("e"), "invocations")
        model = collect(c.sagemaker, c.autoscaling, c.cloudwatch).model
    [target] = model.scalable_targets
    assert target.suspended == suspended
    found = [(f.location.path, f.message) for f in findings(model, "SW111")]
    if suspended is None:
        assert found == []
    else:
        message = (f"Scalable target {variant('e')} has dynamic {suspended} suspended (SuspendedState); its "
                   "scaling policies look configured but do not act in that direction")
        assert found == [("SuspendedState", message)]


# --- SW105: customized metrics ------------------------------------------------------------------


def test_customized_metrics_that_cannot_track_are_invalid():
    both = {"EndpointName": "e", "VariantName": "AllTraffic"}
    metric = scenario.customized_metric
    policies = {
        "cpu": (50, metric("CPUUtilization", dimensions=both)),  # right: no finding
        "cpu-in-aws-sagemaker": (50, metric("CPUUtilization", "AWS/SageMaker", dimensions=both)),
        "cpu-without-variant": (50, metric("CPUUtilization", dimensions={"EndpointName": "e"})),
        "cpu-summed": (50, metric("CPUUtilization", statistic="Sum", dimensions=both)),
        "gpu-fraction": (0.6, metric("GPUUtilization", dimensions=both)),
        "invocations-per-instance-namespace": (70, metric("InvocationsPerInstance", dimensions=both)),
        "metric-math": (50, {"Metrics": [{  # no single metric: not judged
            "Id": "cpu", "ReturnData": True, "MetricStat": {"Stat": "Average", "Metric": {
                "MetricName": "CPUUtilization", "Namespace": "/aws/sagemaker/Endpoints",
                "Dimensions": [{"Name": key, "Value": value} for key, value in both.items()]}}}]}),
    }
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_target(c, variant("e"))
        for name, (target, specification) in policies.items():
            scenario.add_policy(c, variant("e"), name, target=target, customized=specification)
        model = collect(c.sagemaker, c.autoscaling, c.cloudwatch).model
    read = {policy.name: policy for policy in model.scaling_policies}
    cpu = read["cpu"]
    assert (cpu.customized_metric, cpu.customized_metric_name, cpu.customized_namespace, cpu.customized_statistic,
            cpu.customized_dimensions) == (True, "CPUUtilization", "/aws/sagemaker/Endpoints", "Average",
                                           ["EndpointName", "VariantName"])
    assert read["metric-math"].customized_metric_name is None and read["metric-math"].customized_dimensions == []
    found = {f.message.split(" cannot work: ")[0].removeprefix("Scaling policy "): f.location.path
             for f in findings(model, "SW105")}
    invalid = ("cpu-in-aws-sagemaker", "cpu-without-variant", "cpu-summed", "gpu-fraction",
               "invocations-per-instance-namespace")
    assert found == dict.fromkeys(invalid, "TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification")


# --- SW203: on-demand training and what spot would have saved ------------------------------------


def _job(name: str, *, spot: bool = False, billable: int | None = 3600, status: str = "Completed",
         **resources) -> dict:
    """A ``TrainingJob`` search record (moto's training jobs have no BillableTimeInSeconds)."""
    created = datetime.now(timezone.utc) - timedelta(hours=3)
    record = {"TrainingJobName": name, "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{scenario.ACCOUNT}:training-job/"
              f"{name}", "CreationTime": created, "TrainingJobStatus": status, "EnableManagedSpotTraining": spot,
              "ResourceConfig": {"VolumeSizeInGB": 50, **resources},
              "StoppingCondition": {"MaxRuntimeInSeconds": 86400}}
    if billable is not None:
        record.update(BillableTimeInSeconds=billable, TrainingTimeInSeconds=billable)
    return record


def price(instance_type: str) -> float:
    return catalog.lookup(instance_type).price_per_hour


def test_on_demand_training_carries_what_spot_would_have_saved():
    jobs = [
        _job("pair", billable=5400, InstanceType="ml.m5.xlarge", InstanceCount=2),
        _job("cluster", InstanceGroups=[
            {"InstanceGroupName": "cpu", "InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
            {"InstanceGroupName": "gpu", "InstanceType": "ml.g5.2xlarge", "InstanceCount": 2}]),
        _job("unpriced", InstanceType="ml.p3.2xlarge", InstanceCount=1),  # no catalog price: no saving
        _job("running", billable=None, status="InProgress", InstanceType="ml.m5.xlarge", InstanceCount=1),
        _job("spot", spot=True, InstanceType="ml.m5.xlarge", InstanceCount=1),  # not SW203
    ]
    params = {"SW203": {"spot_discount": 0.5}}
    settings = collect_settings(load_rules(), params, 14)
    assert settings.spot_discount == 0.5
    with mock_aws():
        c = scenario.clients(REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        with Stubber(sagemaker) as stub:
            scenario.search_endpoints(stub)
            scenario.search_training_jobs(stub, *jobs)
            model = collect(sagemaker, c.autoscaling, c.cloudwatch, settings).model
            stub.assert_no_pending_responses()
    read = {job.name: job for job in model.training_jobs}
    assert (read["pair"].billable_seconds, read["pair"].instance_count) == (5400, 2)
    assert read["cluster"].instance_count == 3 and read["running"].billable_seconds is None
    found = {f.location.resource.rsplit("/", 1)[1]: f for f in findings(model, "SW203", params=params)}
    # A saving on one run is not a monthly figure: it is in the message and the evidence, never in the monthly total.
    assert {f.monthly_savings_usd for f in found.values()} == {None}
    assert found["pair"].evidence == {"billable_seconds": 5400,
                                      "spot_saving_usd": found["pair"].evidence["spot_saving_usd"]}
    assert f"would have cost about {found['pair'].evidence['spot_saving_usd']:,.2f} USD less" in found["pair"].message
    assert "usually costs much less" in found["running"].message
    savings = {name: finding.evidence.get("spot_saving_usd") for name, finding in found.items()}
    assert savings == {
        "pair": pytest.approx(round(1.5 * 2 * price("ml.m5.xlarge") * 0.5, 2)),
        "cluster": pytest.approx(round(1 * (price("ml.m5.xlarge") + 2 * price("ml.g5.2xlarge")) * 0.5, 2)),
        "unpriced": None,
        "running": None,
    }


def test_the_spot_discount_defaults_to_the_rules_and_must_be_a_fraction():
    assert collect_settings(load_rules(), {}, 14).spot_discount == RULES["SW203"].default_params()["spot_discount"]
    for wrong in (0, 1.5, 70, "0.7", True):
        with pytest.raises(AuditError, match="SW203 spot_discount must be a fraction"):
            collect_settings(load_rules(), {"SW203": {"spot_discount": wrong}}, 14)
