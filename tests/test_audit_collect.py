"""The live source over moto: what each collector reads, and every rule evaluated over live resources.

Where moto lacks a field or an operation (deployed images, shadow variants, inference components,
Search paging), a botocore Stubber answers instead; it checks requests and responses against the
real API model.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.sagemaker.models import sagemaker_backends

import audit_scenario as scenario
from auditor import catalog, engine, rightsizing
from auditor.audit import AuditOptions, collect_settings, run_audit
from auditor.model import Location, Variant
from auditor.rules import load_rules
from auditor.sources import aws

REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
LIVE_RULES = ("SW001", "SW002", "SW101", "SW102", "SW103", "SW104", "SW105", "SW106", "SW107", "SW108", "SW109",
              "SW110", "SW111", "SW201", "SW202", "SW301", "SW302", "SW303")
HOURS = catalog.HOURS_PER_MONTH


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path):
    scenario.isolate_environment(monkeypatch, tmp_path)


def price(instance_type: str) -> float:
    return catalog.lookup(instance_type).price_per_hour


def settings(**overrides) -> aws.CollectSettings:
    values = {"lookback_days": 7, "training_days": 14, "headroom": rightsizing.Headroom(20, 40, 20)}
    return aws.CollectSettings(**{**values, **overrides})


def collect_with(sagemaker, autoscaling, cloudwatch, **overrides) -> aws.Collected:
    return aws.collect(aws.RegionClients(sagemaker, autoscaling, cloudwatch), scenario.ACCOUNT, REGION,
                       settings(**overrides))


def collect(c: scenario.Clients, region: str = REGION, **overrides):
    collected = aws.collect(aws.RegionClients(c.sagemaker, c.autoscaling, c.cloudwatch), scenario.ACCOUNT, region,
                            settings(**overrides))
    assert collected.errors == [] and collected.warnings == []
    return collected.model


def calls_of(client) -> list:
    """Operation names ``client`` calls from now on (stubbed or not)."""
    calls = []
    client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    return calls


# --- Every rule over a live account ---------------------------------------------------------------


@pytest.fixture(scope="module")
def live_audit(tmp_path_factory):
    """One audit of the rule scenario in two regions (the second a copy of the first)."""
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        scenario.isolate_environment(monkeypatch, tmp_path_factory.mktemp("aws"))
        by_region = {region: scenario.clients(region) for region in (REGION, OTHER_REGION)}
        for region, c in by_region.items():
            scenario.seed_rule_scenario(c)
            scenario.backdate(region, scenario.IDLE_ENDPOINTS_BACKDATED, days=30)
        rules = load_rules()
        result = run_audit(AuditOptions(regions=(REGION, OTHER_REGION)), rules, {}, {})
        names = {arn: name for c in by_region.values() for arn, name in scenario.scaling_names(c).items()}
    return result, names, {rule.id for rule in rules}  # outside the mock: later tests start from a clean moto


@pytest.mark.parametrize("rule_id", LIVE_RULES)
@pytest.mark.parametrize("region", (REGION, OTHER_REGION))
def test_rule_over_live_resources(live_audit, rule_id, region):
    result, names, available = live_audit
    assert rule_id in available, f"rules/{rule_id}-*.yaml is missing: renamed or deleted?"
    found = {scenario.identify(f, names) for f in result.findings
             if f.rule_id == rule_id and f.location.region == region}
    expected = {item for item in scenario.expected_findings(region) if item[0] == rule_id}
    assert found == expected


def test_live_findings_carry_account_region_and_evidence(live_audit):
    result, _, _ = live_audit
    assert result.errors == [] and result.warnings == []
    assert result.stats["scopes"] == 2 and result.stats["endpoints"] == 26
    assert result.stats["endpoints_by_status"] == {"InService": 26}
    for finding in result.findings:
        assert finding.location.account == scenario.ACCOUNT
        assert finding.location.scope == f"{scenario.ACCOUNT}/{finding.location.region}"
    idle = next(f for f in result.findings if f.rule_id == "SW303" and f.location.region == REGION)
    assert idle.evidence == {"invocations": 0, "lookback_days": 7, "age_days": 30.0}
    assert idle.monthly_cost_usd == pytest.approx(price("ml.m5.large") * HOURS)
    assert idle.monthly_savings_usd == idle.monthly_cost_usd  # deleting it saves all of it
    oversized = next(f for f in result.findings
                     if f.rule_id == "SW301" and f.location.resource.endswith("endpoint/oversized"))
    assert oversized.evidence["downsize_to"] == "ml.m5.xlarge"
    assert oversized.evidence["peak_cpu_per_vcpu"] == 5.0  # 40 % summed over 8 vCPUs
    assert oversized.monthly_savings_usd == pytest.approx((price("ml.m5.2xlarge") - price("ml.m5.xlarge")) * HOURS * 2)


def test_a_saving_belongs_to_the_check_whose_fix_saves_it():
    """SW101 and SW302 on an oversized variant carry its cost, but SW301's downsizing saving is SW301's alone."""
    from auditor.model import ResourceModel, Variant

    location = Location(f"{scenario.ACCOUNT}/{REGION}", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/big",
                        "ProductionVariants[AllTraffic]", account=scenario.ACCOUNT, region=REGION)
    model = ResourceModel(variants=[Variant(
        source="aws", location=location, endpoint="big", endpoint_key="big", variant_name="AllTraffic",
        variant_key="AllTraffic", kind="real-time", instance_type="ml.m4.4xlarge", instance_family="m4",
        previous_generation=True, suggested_instance_type="ml.m5.4xlarge", instance_count=1,
        has_scalable_target=False, peak_cpu_per_vcpu=2.0, peak_memory=10.0, utilization_days=7,
        downsize_to="ml.m4.xlarge", monthly_cost_usd=817.6, monthly_savings_usd=613.2)])
    findings = {f.rule_id: f for f in engine.evaluate(model, load_rules())}
    assert set(findings) == {"SW101", "SW301", "SW302"}
    assert {f.monthly_cost_usd for f in findings.values()} == {817.6}
    assert findings["SW301"].monthly_savings_usd == 613.2
    assert findings["SW101"].monthly_savings_usd is None and findings["SW302"].monthly_savings_usd is None


def test_a_region_costs_one_call_per_endpoint_config_and_a_constant_otherwise(live_audit):
    calls = live_audit[0].stats["api_calls"]
    per_region = {action: count / 2 for action, count in calls.items() if action.split(":")[0] != "sts"}
    assert per_region == {
        "sagemaker:Search": 2,  # endpoints (one page) and training jobs (one page)
        "sagemaker:DescribeEndpointConfig": 13,  # one per distinct config
        "sagemaker:DescribeModel": 2,  # moto reports no deployed images: each model once
        "application-autoscaling:DescribeScalableTargets": 1,
        "application-autoscaling:DescribeScalingPolicies": 2,  # 11 policies: pages of at most 10
        "application-autoscaling:DescribeScheduledActions": 1,
        "cloudwatch:ListMetrics": 1,  # and no DescribeAlarms: no step policy has alarms
        "cloudwatch:GetMetricData": 1,
        "lambda:ListFunctions": 1,  # no functions: nothing else of Lambda's, nor its scaling, is read
        "autoscaling:DescribeAutoScalingGroups": 1,  # no groups: nor their templates, policies and schedules
    }


def test_tags_become_suppressions_of_the_tagged_resource():
    location = Location("a/r", "arn:aws:sagemaker:r:a:endpoint/e")
    tags = [{"Key": "team", "Value": "ml"}, {"Key": aws.IGNORE_TAG, "Value": " SW101,SW303  idle-endpoint "},
            {"Key": aws.REASON_TAG, "Value": "  "}]
    suppressions = aws._tag_suppressions(tags, location)
    assert [(s.rule, s.reason) for s in suppressions] == [("SW101", None), ("SW303", None), ("idle-endpoint", None)]
    assert {s.location.resource for s in suppressions} == {location.resource}
    assert suppressions[0].location.path == "Tags[sagewise:ignore][SW101]"
    reasoned = aws._tag_suppressions(tags[1:2] + [{"Key": aws.REASON_TAG, "Value": "kept warm"}], location)
    assert {s.reason for s in reasoned} == {"kept warm"}
    assert aws._tag_suppressions([{"Key": "team", "Value": "ml"}], location) == []


def test_an_ignore_tag_on_an_endpoint_covers_the_scaling_of_its_variants():
    """SW103 on the target of a tagged endpoint is suppressed (and the tag is used, so no SW001); the same
    finding on an untagged endpoint's target stays."""
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "pinned", tags={aws.IGNORE_TAG: "SW103", aws.REASON_TAG: "sized for a contract"})
        scenario.add_endpoint(c, "other")
        for name in ("pinned", "other"):
            scenario.add_target(c, f"endpoint/{name}/variant/AllTraffic", 2, 2)
            scenario.add_policy(c, f"endpoint/{name}/variant/AllTraffic", f"{name}-tracking")
        result = run_audit(AuditOptions(regions=(REGION,)), [r for r in load_rules() if r.id in ("SW001", "SW103")],
                           {}, {})
    assert result.errors == []
    [finding] = result.findings
    assert finding.rule_id == "SW103" and "endpoint/other/variant/AllTraffic" in finding.message


# --- Pagination, batching, regions, accounts ------------------------------------------------------


def test_every_page_is_read_and_metrics_are_batched():
    endpoints, targets, policies = 170, 60, 25  # pages of 50 targets and 10 policies
    with mock_aws():
        for region in (REGION, OTHER_REGION):
            c = scenario.clients(region)
            scenario.add_model(c, "custom")
            for index in range(endpoints):
                scenario.add_endpoint(c, f"e{index:03d}", config="shared")
            for index in range(targets):
                scenario.add_target(c, f"endpoint/e{index:03d}/variant/AllTraffic")
            for index in range(policies):
                scenario.add_policy(c, f"endpoint/e{index:03d}/variant/AllTraffic", f"p{index}")
        result = run_audit(AuditOptions(regions=(REGION, OTHER_REGION), jobs=2), load_rules(), {}, {})
    calls = result.stats["api_calls"]
    assert result.errors == []
    assert result.stats["endpoints"] == 2 * endpoints
    assert calls["application-autoscaling:DescribeScalableTargets"] == 2 * 2
    assert calls["application-autoscaling:DescribeScalingPolicies"] == 2 * 3
    assert calls["sagemaker:DescribeEndpointConfig"] == 2 and calls["sagemaker:DescribeModel"] == 2  # cached
    assert calls["cloudwatch:GetMetricData"] == 2 * 2  # 510 queries a region: two batches of at most 500
    unscaled = {f.location.resource.rsplit("/", 1)[1] for f in result.findings if f.rule_id == "SW101"}
    assert len(unscaled) == endpoints - targets  # every page of targets was linked
    assert sum(1 for f in result.findings if f.rule_id == "SW102") == 2 * (targets - policies)


@pytest.mark.usefixtures("describes_in_order")
def test_every_page_of_search_is_read():
    """moto answers Search in one page; AWS pages by 100, which a Stubber shows being followed."""
    variant = {"VariantName": "AllTraffic", "CurrentInstanceCount": 1,
               "DeployedImages": [{"SpecifiedImage": scenario.CUSTOM_IMAGE}]}
    with mock_aws():
        c = scenario.clients(REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        with Stubber(sagemaker) as stub:
            stub.add_response("search", {"Results": [{"Endpoint": scenario.endpoint_record("a", "shared", variant)}],
                                         "NextToken": "page-2"}, scenario.SEARCH_ENDPOINTS)
            stub.add_response("search", {"Results": [{"Endpoint": scenario.endpoint_record("b", "shared", variant)}]},
                              {**scenario.SEARCH_ENDPOINTS, "NextToken": "page-2"})
            stub.add_response("describe_endpoint_config", scenario.endpoint_config("shared", {
                "VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1}), {"EndpointConfigName": "shared"})
            scenario.search_training_jobs(stub)
            collected = collect_with(sagemaker, c.autoscaling, c.cloudwatch)
            stub.assert_no_pending_responses()
    assert [e.name for e in collected.model.endpoints] == ["a", "b"]


def _training_record(name: str, created: datetime, **extra) -> dict:
    return {"TrainingJobName": name, "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{scenario.ACCOUNT}:training-job/"
            f"{name}", "CreationTime": created, "TrainingJobStatus": "Completed",
            "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600}, **extra}


@pytest.mark.usefixtures("describes_in_order")
def test_training_jobs_are_paged_newest_first_and_paging_stops_at_the_window():
    """A tuning-heavy account: 250 recent jobs cost three Search calls, and no page past the window is read."""
    now = datetime.now(timezone.utc)
    recent = [_training_record(f"tuning-{index:03d}", now - timedelta(hours=index)) for index in range(250)]
    old = _training_record("last-year", now - timedelta(days=365))
    with mock_aws():
        c = scenario.clients(REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        calls = calls_of(sagemaker)
        with Stubber(sagemaker) as stub:
            scenario.search_endpoints(stub)
            scenario.search_training_jobs(stub, *recent[:100], next_token="t1")
            scenario.search_training_jobs(stub, *recent[100:200], next_token="t2", after="t1")
            scenario.search_training_jobs(stub, *recent[200:], old, next_token="t3", after="t2")  # t3: never read
            model = collect_with(sagemaker, c.autoscaling, c.cloudwatch).model
            stub.assert_no_pending_responses()
    assert calls.count("Search") == 4 and "DescribeTrainingJob" not in calls
    assert len(model.training_jobs) == 250 and {job.spot for job in model.training_jobs} == {False}
    # on-demand p3: judged too (by the opt-in SW203 as well, since every rule is evaluated here)
    assert {f.rule_id for f in engine.evaluate(model, load_rules())} == {"SW203", "SW302"}


def test_organization_accounts_are_assumed_except_the_callers_own():
    with mock_aws():
        organizations = boto3.client("organizations", region_name=REGION)
        organizations.create_organization(FeatureSet="ALL")
        members = []
        for name in ("ml-dev", "ml-prod", "sandbox", "closed"):
            status = organizations.create_account(Email=f"{name}@example.com", AccountName=name)
            members.append(status["CreateAccountStatus"]["AccountId"])
        organizations.close_account(AccountId=members[3])
        for account in members[:2]:
            role = f"arn:aws:iam::{account}:role/SagewiseAudit"
            credentials = boto3.client("sts", region_name=REGION).assume_role(
                RoleArn=role, RoleSessionName="seed")["Credentials"]
            session = boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                                    aws_secret_access_key=credentials["SecretAccessKey"],
                                    aws_session_token=credentials["SessionToken"])
            c = scenario.clients(REGION, session)
            scenario.add_model(c, "custom")
            scenario.add_endpoint(c, f"unscaled-{account}")
        options = AuditOptions(regions=(REGION,), organization=True, role_name="SagewiseAudit",
                               exclude_accounts=(members[2],))
        result = run_audit(options, load_rules(), {}, {})
    assert result.errors == []
    # the management account (the caller's) with its own credentials, two active members; not the excluded
    # nor the closed one
    assert result.stats["scopes"] == 3
    assert result.stats["api_calls"]["sts:AssumeRole"] == 2
    assert result.stats["api_calls"]["organizations:ListAccounts"] == 1
    unscaled = {(f.location.account, f.location.resource) for f in result.findings if f.rule_id == "SW101"}
    assert unscaled == {(account, scenario.endpoint_arn(f"unscaled-{account}", account=account))
                        for account in members[:2]}


def test_each_role_is_assumed_just_before_its_accounts_scopes(monkeypatch):
    faults = scenario.install_faults(monkeypatch)
    accounts = ("111111111111", "222222222222")
    with mock_aws():
        options = AuditOptions(regions=(REGION, OTHER_REGION), accounts=accounts, role_name="Audit", jobs=1,
                               external_id="ext-1234", role_session_name="nightly-audit", duration_seconds=900)
        result = run_audit(options, load_rules(), {}, {})
    assert result.errors == [] and result.stats["scopes"] == 4
    order = [operation for service, operation, _ in faults.seen if operation in ("AssumeRole", "Search")]
    assert order == ["AssumeRole", "Search", "Search", "Search", "Search"] * 2  # two regions, two Searches each
    assume = [payload for (_, operation, _), payload in zip(faults.seen, faults.payloads) if operation == "AssumeRole"]
    assert all("ExternalId=ext-1234" in body and "RoleSessionName=nightly-audit" in body
               and "DurationSeconds=900" in body for body in assume)


def test_all_regions_reads_every_enabled_region_with_sagemaker():
    with mock_aws():
        c = scenario.clients("ap-southeast-2")
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "far-away")
        result = run_audit(AuditOptions(all_regions=True, jobs=8), load_rules(), {}, {})
        regions = {r["RegionName"] for r in boto3.client("ec2", region_name=REGION).describe_regions()["Regions"]}
    expected = regions & set(boto3.Session().get_available_regions("sagemaker"))
    assert result.stats["scopes"] == len(expected) > 10
    assert result.stats["api_calls"]["ec2:DescribeRegions"] == 1
    assert [f.location.region for f in result.findings if f.rule_id == "SW101"] == ["ap-southeast-2"]


def test_search_denied_falls_back_to_listing_and_describing_with_a_warning(monkeypatch):
    faults = scenario.install_faults(monkeypatch)
    faults.add("sagemaker", "Search", "AccessDeniedException", status=400)
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "unscaled")
        scenario.add_endpoint(c, "tagged", tags={scenario.IGNORE: "SW101", scenario.REASON: "not read without Search"})
        scenario.add_training_job(c, "spot-no-checkpoint", checkpoint=False)
        scenario.add_training_job(c, "on-demand-p3", "ml.p3.2xlarge", spot=False)
        result = run_audit(AuditOptions(regions=(REGION,)), load_rules(), {}, {})
    assert result.errors == []
    assert len(result.warnings) == 2 and all(
        w.startswith(f"{scenario.ACCOUNT}/{REGION}: sagemaker:Search is denied") and "not read" in w
        for w in result.warnings)
    assert "endpoints are listed" in result.warnings[0] and "training jobs are listed" in result.warnings[1]
    calls = result.stats["api_calls"]
    assert calls["sagemaker:ListEndpoints"] == 1 and calls["sagemaker:DescribeEndpoint"] == 2
    assert calls["sagemaker:ListTrainingJobs"] == 1 and calls["sagemaker:DescribeTrainingJob"] == 2
    found = {(f.rule_id, f.location.resource.rsplit("/", 1)[1]) for f in result.findings}
    assert found == {("SW101", "unscaled"), ("SW101", "tagged"), ("SW201", "spot-no-checkpoint"),
                     ("SW203", "on-demand-p3"), ("SW302", "on-demand-p3")}


# --- What each collector makes of the responses ---------------------------------------------------


def test_variants_of_each_kind():
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "realtime", "ml.m5.xlarge", count=3)
        scenario.add_endpoint(c, "serverless", serverless=True)
        scenario.add_endpoint(c, "async", asynchronous=True)
        model = collect(c)
    variants = {v.endpoint: v for v in model.variants}
    assert {name: v.kind for name, v in variants.items()} == {
        "realtime": "real-time", "serverless": "serverless", "async": "async"}
    realtime = variants["realtime"]
    assert (realtime.instance_type, realtime.instance_count, realtime.instance_family) == ("ml.m5.xlarge", 3, "m5")
    assert realtime.images == [scenario.CUSTOM_IMAGE] and realtime.cpu_only_image is None
    assert realtime.location.path == "ProductionVariants[AllTraffic]"
    assert realtime.location_of("instance_type").path == "ProductionVariants[AllTraffic].InstanceType"
    assert realtime.monthly_cost_usd == pytest.approx(price("ml.m5.xlarge") * HOURS * 3)
    assert not realtime.shadow and realtime.judged
    assert variants["serverless"].instance_count is None and variants["serverless"].has_scalable_target is False
    endpoints = {e.name: e for e in model.endpoints}
    assert endpoints["realtime"].instance_count == 3 and endpoints["realtime"].status == "InService"
    assert endpoints["serverless"].monthly_cost_usd is None


@pytest.mark.usefixtures("describes_in_order")
def test_shadow_variants_are_variants_that_bill_and_are_judged():
    """moto drops ShadowProductionVariants; the Search record and config are stubbed as AWS sends them."""
    deployed = [{"SpecifiedImage": scenario.CUSTOM_IMAGE}]
    with mock_aws():
        c = scenario.clients(REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        with Stubber(sagemaker) as stub:
            scenario.search_endpoints(stub, scenario.endpoint_record(
                "shadowed", "shadowed-config",
                {"VariantName": "AllTraffic", "CurrentInstanceCount": 1, "DeployedImages": deployed},
                shadow=({"VariantName": "Candidate", "CurrentInstanceCount": 2, "DeployedImages": deployed},)))
            stub.add_response("describe_endpoint_config", scenario.endpoint_config(
                "shadowed-config",
                {"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.m5.large",
                 "InitialInstanceCount": 1},
                shadow=({"VariantName": "Candidate", "ModelName": "m2", "InstanceType": "ml.t2.medium",
                         "InitialInstanceCount": 2},)), {"EndpointConfigName": "shadowed-config"})
            scenario.search_training_jobs(stub)
            model = collect_with(sagemaker, c.autoscaling, c.cloudwatch).model
            stub.assert_no_pending_responses()
    variants = {v.variant_name: v for v in model.variants}
    shadow = variants["Candidate"]
    assert shadow.shadow and not variants["AllTraffic"].shadow
    assert (shadow.instance_type, shadow.instance_count, shadow.kind) == ("ml.t2.medium", 2, "real-time")
    assert shadow.location.path == "ShadowProductionVariants[Candidate]"
    [endpoint] = model.endpoints
    assert endpoint.monthly_cost_usd == pytest.approx((price("ml.m5.large") + 2 * price("ml.t2.medium")) * HOURS)
    found = {(f.rule_id, f.location.path) for f in engine.evaluate(model, load_rules())}
    assert found == {
        ("SW101", "ProductionVariants[AllTraffic]"),
        ("SW101", "ShadowProductionVariants[Candidate].InstanceType"),  # burstable: cannot autoscale (info)
        ("SW302", "ShadowProductionVariants[Candidate].InstanceType"),
    }


def test_endpoints_that_are_not_serving_are_counted_not_judged():
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        for name in ("failed", "creating", "updating"):
            scenario.add_endpoint(c, name, "ml.t2.medium")  # SW101 (info) and SW302 when judged
        backend = sagemaker_backends[scenario.ACCOUNT][REGION]
        backend.endpoints["failed"].endpoint_status = "Failed"
        backend.endpoints["creating"].endpoint_status = "Creating"
        backend.endpoints["updating"].endpoint_status = "Updating"
        result = run_audit(AuditOptions(regions=(REGION,)), load_rules(), {}, {})
    assert result.stats["endpoints_by_status"] == {"Creating": 1, "Failed": 1, "Updating": 1}
    assert {(f.rule_id, f.location.resource.rsplit("/", 1)[1]) for f in result.findings} == {
        ("SW101", "updating"), ("SW302", "updating")}


def test_deleted_model_and_config_leave_facts_unknown():
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "gone-model")
        scenario.add_endpoint(c, "orphan-model", model="gone-model")
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "orphan-config")
        c.sagemaker.delete_model(ModelName="gone-model")
        c.sagemaker.delete_endpoint_config(EndpointConfigName="orphan-config-config")
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        calls = calls_of(sagemaker)
        model = collect(scenario.Clients(sagemaker, c.autoscaling, c.cloudwatch))
        findings = engine.evaluate(model, load_rules(), {}, {})
    variants = {v.endpoint: v for v in model.variants}
    assert variants["orphan-model"].images == [] and variants["orphan-model"].cpu_only_image is None
    # moto reports no deployed images: nothing shows whether the variant serves a model or components
    assert variants["orphan-config"].kind is None and variants["orphan-config"].instance_type is None
    assert "DescribeEndpoint" not in calls
    assert {f.location.resource.rsplit("/", 1)[1] for f in findings if f.rule_id == "SW101"} == {"orphan-model"}


@pytest.mark.usefixtures("describes_in_order")
def test_an_endpoint_whose_config_is_gone_gets_its_kind_from_describe_endpoint():
    deployed = {"DeployedImages": [{"SpecifiedImage": scenario.CUSTOM_IMAGE}]}
    with mock_aws():
        c = scenario.clients(REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        with Stubber(sagemaker) as stub:
            scenario.search_endpoints(
                stub,
                scenario.endpoint_record("queue", "gone", {"VariantName": "A", "CurrentInstanceCount": 1, **deployed}),
                scenario.endpoint_record("maybe-components", "gone-too",
                                         {"VariantName": "A", "CurrentInstanceCount": 1}))
            for config in ("gone", "gone-too"):
                stub.add_client_error("describe_endpoint_config", "ValidationException",
                                      f"Could not find endpoint configuration \"{config}\".",
                                      expected_params={"EndpointConfigName": config})
            now = datetime.now(timezone.utc)
            stub.add_response("describe_endpoint", {  # the endpoint config is gone, EndpointConfigName with it
                "EndpointName": "queue", "EndpointArn": scenario.endpoint_arn("queue"), "EndpointStatus": "InService",
                "CreationTime": now, "LastModifiedTime": now,
                "ProductionVariants": [{"VariantName": "A", "CurrentInstanceCount": 1, **deployed}],
                "AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://bucket/out"}}},
                {"EndpointName": "queue"})
            scenario.search_training_jobs(stub)
            collected = collect_with(sagemaker, c.autoscaling, c.cloudwatch)
            stub.assert_no_pending_responses()
    assert collected.errors == []
    kinds = {v.endpoint: v.kind for v in collected.model.variants}
    assert kinds == {"queue": "async", "maybe-components": None}


@pytest.mark.usefixtures("describes_in_order")
def test_a_resource_that_may_not_be_read_is_an_error_and_the_region_is_still_audited():
    """Name- or tag-scoped IAM policies deny single resources: one error names it, the rest is judged."""
    variant = {"VariantName": "AllTraffic", "CurrentInstanceCount": 1}
    with mock_aws():
        c = scenario.clients(REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        with Stubber(sagemaker) as stub:
            scenario.search_endpoints(stub, scenario.endpoint_record("secret", "secret-config", variant),
                                      scenario.endpoint_record("gone", "gone-config", variant),
                                      scenario.endpoint_record("odd", "odd-config", variant))
            for name, model in (("secret", "secret-model"), ("gone", "gone-model"), ("odd", "odd-model")):
                stub.add_response("describe_endpoint_config", scenario.endpoint_config(f"{name}-config", {
                    "VariantName": "AllTraffic", "ModelName": model, "InstanceType": "ml.g5.2xlarge",
                    "InitialInstanceCount": 1}), {"EndpointConfigName": f"{name}-config"})
            stub.add_client_error("describe_model", "AccessDeniedException", "not authorized to perform DescribeModel",
                                  http_status_code=400, expected_params={"ModelName": "secret-model"})
            stub.add_client_error("describe_model", "ValidationException", "Could not find model \"gone-model\".",
                                  expected_params={"ModelName": "gone-model"})
            stub.add_client_error("describe_model", "ValidationException", "1 validation error detected",
                                  expected_params={"ModelName": "odd-model"})
            scenario.search_training_jobs(stub)
            collected = collect_with(sagemaker, c.autoscaling, c.cloudwatch)
            stub.assert_no_pending_responses()
    assert collected.errors == [
        ("DescribeModel secret-model: AccessDeniedException: not authorized to perform DescribeModel "
         "(the audit needs the permissions `sagewise iam-policy` prints)"),
        "DescribeModel odd-model: ValidationException: 1 validation error detected",
    ]
    assert {v.endpoint: v.cpu_only_image for v in collected.model.variants} == {
        "secret": None, "gone": None, "odd": None}
    assert {f.location.resource.rsplit("/", 1)[1] for f in engine.evaluate(collected.model, load_rules())
            if f.rule_id == "SW101"} == {"secret", "gone", "odd"}


def test_scaling_targets_policies_and_scheduled_actions():
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_target(c, "endpoint/a/variant/AllTraffic", 1, 3)
        scenario.add_policy(c, "endpoint/a/variant/AllTraffic", "tracking", scale_in=900, scale_out=60)
        scenario.add_scheduled_action(c, "endpoint/a/variant/AllTraffic", "night")
        scenario.add_scheduled_action(c, "endpoint/a/variant/AllTraffic", "morning")
        c.autoscaling.put_scaling_policy(
            PolicyName="defaults", ServiceNamespace="sagemaker", ResourceId="endpoint/a/variant/AllTraffic",
            ScalableDimension=scenario.VARIANT_DIMENSION, PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 70, "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})
        model = collect(c)
    [target] = model.scalable_targets
    assert (target.min_capacity, target.max_capacity) == (1, 3)
    assert (target.scheduled_action_count, target.policy_count) == (2, 2)
    assert (target.target_kind, target.endpoint_key, target.variant_key) == ("variant", "a", "AllTraffic")
    assert target.location.resource.startswith("arn:aws:application-autoscaling:")
    policies = {p.name: p for p in model.scaling_policies}
    assert (policies["tracking"].scale_in_cooldown, policies["tracking"].scale_out_cooldown) == (900, 60)
    defaults = policies["defaults"]
    assert (defaults.scale_in_cooldown, defaults.scale_out_cooldown) == (300, 300)  # the variant default
    assert defaults.scale_in_cooldown_defaulted and defaults.disable_scale_in is False
    assert defaults.metric_problem is None and defaults.target_value == 70


def test_recent_training_jobs_are_read_spot_or_not():
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_training_job(c, "recent-spot", checkpoint=False, max_wait=None)
        scenario.add_training_job(c, "old-spot")
        scenario.add_training_job(c, "on-demand", spot=False)
        job = sagemaker_backends[scenario.ACCOUNT][REGION].training_jobs["old-spot"]
        job.creation_time -= timedelta(days=20)
        model = collect(c, training_days=14)
    jobs = {job.name: job for job in model.training_jobs}
    assert set(jobs) == {"recent-spot", "on-demand"}
    recent = jobs["recent-spot"]
    assert (recent.spot, recent.has_checkpoint, recent.max_wait_set) == (True, False, False)
    assert (recent.max_runtime_seconds, recent.instance_type, recent.instance_family) == (3600, "ml.m5.xlarge", "m5")
    assert recent.location.resource == f"arn:aws:sagemaker:{REGION}:{scenario.ACCOUNT}:training-job/recent-spot"
    assert jobs["on-demand"].spot is False


# --- CloudWatch evidence ------------------------------------------------------------------------


def test_gpu_variant_with_idle_gpu_and_cpu_only_image_moves_to_a_cpu_family():
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "sklearn", scenario.SKLEARN_CPU_IMAGE)
        scenario.add_endpoint(c, "gpu", "ml.g4dn.2xlarge", model="sklearn")
        for metric, value in (("CPUUtilization", 20), ("MemoryUtilization", 20), ("GPUUtilization", 0),
                              ("GPUMemoryUtilization", 0.5)):
            scenario.put_daily(c, "gpu", metric, value)
        [variant] = collect(c).variants
    assert (variant.peak_cpu_per_vcpu, variant.peak_memory, variant.peak_gpu_per_gpu) == (2.5, 20.0, 0.0)
    assert variant.utilization_days == 7 and variant.cpu_only_image is True
    # needs >= 16 GiB (20 % of 32 GiB under a 40 % ceiling) on a CPU family: the cheapest the catalog prices
    observed = rightsizing.Utilization(2.5, 20.0, 0.0, 0.0)
    assert variant.downsize_to == rightsizing.suggest_smaller_type("ml.g4dn.2xlarge", observed, settings().headroom,
                                                                   True)
    assert catalog.lookup(variant.downsize_to).accelerated is False
    assert variant.monthly_savings_usd == pytest.approx(
        (price("ml.g4dn.2xlarge") - price(variant.downsize_to)) * HOURS)


def test_no_downsizing_without_a_full_window_of_every_metric():
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "partial", "ml.m5.2xlarge")
        scenario.add_endpoint(c, "no-memory", "ml.m5.2xlarge")
        scenario.put_daily(c, "partial", "CPUUtilization", 10, days=3)
        scenario.put_daily(c, "partial", "MemoryUtilization", 5, days=3)
        scenario.put_daily(c, "no-memory", "CPUUtilization", 10)
        model = collect(c)
    variants = {v.endpoint: v for v in model.variants}
    assert variants["partial"].utilization_days == 3 and variants["partial"].peak_memory == 5.0
    assert variants["partial"].downsize_to is None and variants["partial"].monthly_savings_usd is None
    assert variants["no-memory"].peak_memory is None and variants["no-memory"].downsize_to is None
    assert variants["no-memory"].monthly_cost_usd == pytest.approx(price("ml.m5.2xlarge") * HOURS)


def test_invocations_sum_over_variants_and_days():
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "busy")
        scenario.add_endpoint(c, "quiet")
        scenario.put_daily(c, "busy", "Invocations", 5, namespace="AWS/SageMaker", days=3)
        scenario.put_daily(c, "busy", "Invocations", 1, namespace="AWS/SageMaker", days=30)  # outside mostly
        model = collect(c, lookback_days=7)
    endpoints = {e.name: e for e in model.endpoints}
    assert endpoints["busy"].invocations == 3 * 5 + 7 * 1
    assert endpoints["quiet"].invocations == 0 and endpoints["quiet"].lookback_days == 7


def test_a_variant_renamed_by_an_update_still_counts_its_invocations():
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "renamed")  # its variant is AllTraffic now; it was Blue until three days ago
        scenario.put_daily(c, "renamed", "Invocations", 40, namespace="AWS/SageMaker", days=3, variant="Blue")
        scenario.add_endpoint(c, "idle-neighbour")
        cloudwatch = scenario.clients(REGION).cloudwatch
        calls = calls_of(cloudwatch)
        model = collect(scenario.Clients(c.sagemaker, c.autoscaling, cloudwatch), lookback_days=7)
    endpoints = {e.name: e for e in model.endpoints}
    assert endpoints["renamed"].invocations == 3 * 40 and endpoints["idle-neighbour"].invocations == 0
    assert calls == ["ListMetrics", "GetMetricData"]


@pytest.mark.usefixtures("describes_in_order")
def test_metrics_cloudwatch_could_not_complete_are_unknown():
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "e", "ml.m5.xlarge")
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        with Stubber(cloudwatch) as stub:
            stub.add_response("list_metrics", {"Metrics": []}, {"Namespace": "AWS/SageMaker",
                                                               "MetricName": "Invocations"})
            stub.add_response("get_metric_data", {"MetricDataResults": [
                {"Id": query_id, "StatusCode": "InternalError", "Values": [], "Timestamps": []}
                for query_id in ("q0", "q1", "q2")]}, {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY})
            model = collect_with(c.sagemaker, c.autoscaling, cloudwatch).model
    [endpoint], [variant] = model.endpoints, model.variants
    assert endpoint.invocations is None and variant.peak_cpu_per_vcpu is None and variant.utilization_days is None


@pytest.mark.usefixtures("describes_in_order")
def test_images_the_endpoint_reports_spare_the_model_describe():
    with mock_aws():
        c = scenario.clients(REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        with Stubber(sagemaker) as stub:
            scenario.search_endpoints(stub, scenario.endpoint_record("reported", "reported-config", {
                "VariantName": "AllTraffic", "CurrentInstanceCount": 1,
                "DeployedImages": [{"SpecifiedImage": scenario.SKLEARN_CPU_IMAGE}]}))
            stub.add_response("describe_endpoint_config", scenario.endpoint_config("reported-config", {
                "VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.g4dn.xlarge",
                "InitialInstanceCount": 1}), {"EndpointConfigName": "reported-config"})
            scenario.search_training_jobs(stub)
            model = collect_with(sagemaker, c.autoscaling, c.cloudwatch).model  # DescribeModel would fail: unstubbed
            stub.assert_no_pending_responses()
    [variant] = model.variants
    assert variant.images == [scenario.SKLEARN_CPU_IMAGE] and variant.cpu_only_image is True


# --- Inference components (moto has no such API: a botocore Stubber answers) ----------------------


def test_inference_components_are_read_and_linked():
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        autoscaling = boto3.client("application-autoscaling", region_name=REGION)
        with scenario.stub_component_endpoint(sagemaker) as hosting, \
                scenario.stub_component_target(autoscaling) as scaling:
            model = collect_with(sagemaker, autoscaling, cloudwatch).model
            hosting.assert_no_pending_responses()
            scaling.assert_no_pending_responses()
    [variant] = model.variants
    assert variant.hosts_inference_components and not variant.managed_instance_scaling
    assert variant.images[1] == scenario.SKLEARN_CPU_IMAGE and variant.cpu_only_image is False  # one GPU image
    components = {ic.name: ic for ic in model.inference_components}
    assert components["chat"].has_scalable_target is True and components["embed"].has_scalable_target is False
    assert (components["chat"].copy_count, components["embed"].copy_count) == (2, 1)
    assert {ic.status for ic in components.values()} == {"InService"} and all(ic.judged for ic in components.values())
    findings = engine.evaluate(model, [r for r in load_rules() if r.id == "SW101"], {}, {})
    assert sorted(f.location.resource.rsplit(":", 1)[1] for f in findings) == [
        "endpoint/llm", "inference-component/embed"]


def test_an_idle_inference_component_is_found_per_component():
    month_ago = datetime.now(timezone.utc) - timedelta(days=30)
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.put_daily(c, None, "Invocations", 900, namespace="AWS/SageMaker", component="chat")
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        autoscaling = boto3.client("application-autoscaling", region_name=REGION)
        with scenario.stub_component_endpoint(sagemaker, created=month_ago), \
                scenario.stub_component_target(autoscaling):
            model = collect_with(sagemaker, autoscaling, c.cloudwatch).model
    components = {ic.name: ic for ic in model.inference_components}
    assert (components["chat"].invocations, components["embed"].invocations) == (7 * 900, 0)
    assert components["embed"].age_days == 30.0 and components["embed"].lookback_days == 7
    [endpoint] = model.endpoints
    assert endpoint.invocations == 7 * 900  # what its components served: not idle
    findings = [f for f in engine.evaluate(model, load_rules(), {}, {}) if f.rule_id == "SW303"]
    assert [f.location.resource.rsplit(":", 1)[1] for f in findings] == ["inference-component/embed"]
    assert findings[0].evidence["invocations"] == 0
    assert "copy count is 1" in findings[0].message


def test_endpoints_without_components_never_ask_for_them():
    with mock_aws():
        c = scenario.clients(REGION)
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "plain")
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        calls = calls_of(sagemaker)
        collect(scenario.Clients(sagemaker, c.autoscaling, c.cloudwatch))
    assert "ListInferenceComponents" not in calls and calls.count("Search") == 2


# --- Rightsizing rules ---------------------------------------------------------------------------

HEADROOM = rightsizing.Headroom(cpu_per_vcpu=20, memory=40, gpu_per_gpu=20)


@pytest.mark.parametrize("instance_type, peaks, cpu_only, expected", [
    # 4 %/vCPU on 8 vCPUs -> 16 % on 2; memory 8 % of 32 GiB -> 32 % of 8: the smallest that fits
    ("ml.m5.2xlarge", rightsizing.Utilization(4, 8), None, "ml.m5.large"),
    # memory bound: 30 % of 32 GiB needs 24 GiB under 40 %: nothing smaller in the family has it
    ("ml.m5.2xlarge", rightsizing.Utilization(4, 30), None, None),
    # already busy: no smaller type keeps CPU under the ceiling
    ("ml.m5.xlarge", rightsizing.Utilization(15, 10), None, None),
    # 4 GPUs at 5 % each fit on one GPU at 20 %; 5 % of 192 GiB needs 24 GiB under 40 %: not the 16 GiB xlarge
    ("ml.g6.12xlarge", rightsizing.Utilization(1, 5, 5, 5), None, "ml.g6.2xlarge"),
    # idle GPU but an image that might use it: stay in the family
    ("ml.g6.2xlarge", rightsizing.Utilization(5, 10, 0, 0), None, "ml.g6.xlarge"),
    # idle GPU and a CPU-only image: a CPU family is cheaper
    ("ml.g6.2xlarge", rightsizing.Utilization(5, 10, 0, 0), True, "ml.m5.large"),
    # unknown GPU peaks on a GPU instance: no evidence, no suggestion
    ("ml.g6.2xlarge", rightsizing.Utilization(5, 10), True, None),
    # Inferentia publishes no utilization here
    ("ml.inf2.xlarge", rightsizing.Utilization(1, 1), None, None),
    # no sourced price for the type (ml.c5.*): no cost to compare, no suggestion
    ("ml.c5.4xlarge", rightsizing.Utilization(2.5, 10), None, None),
    ("ml.unknown.xlarge", rightsizing.Utilization(1, 1), None, None),
])
def test_suggest_smaller_type(instance_type, peaks, cpu_only, expected):
    assert rightsizing.suggest_smaller_type(instance_type, peaks, HEADROOM, cpu_only) == expected


def variant_on(instance_type: str, **facts) -> Variant:
    family = instance_type.split(".")[1]
    return Variant(source="aws", location=Location(scope="111122223333/us-east-1", resource="variant"),
                   instance_type=instance_type, instance_family=family, **facts)


@pytest.mark.parametrize("variant, ceiling, expected", [
    # a CPU-only image on a GPU: the CPU type with at least its cores and memory, whatever the ceiling
    (variant_on("ml.g5.2xlarge", accelerated=True, cpu_only_image=True), "xlarge", "ml.m5.2xlarge"),
    # live peaks found room: the smaller type they fit on
    (variant_on("ml.m5.2xlarge", downsize_to="ml.m5.large"), None, "ml.m5.large"),
    # above the ceiling: the family's type of that size
    (variant_on("ml.m5.12xlarge"), "4xlarge", "ml.m5.4xlarge"),
    # the family has no type of that size, or the catalog does not know the family: no guess
    (variant_on("ml.m5.12xlarge"), "medium", None),
    (variant_on("ml.zz9.12xlarge"), "4xlarge", None),
    (variant_on("ml.m5.12xlarge"), None, None),
])
def test_suggested_type_is_the_one_answer_for_fix_and_remediate(variant, ceiling, expected):
    assert rightsizing.suggested_type(variant, ceiling) == expected


def test_settings_come_from_rule_params_and_overrides():
    rules = load_rules()
    configured = collect_settings(rules, {"SW303": {"lookback_days": 14}, "SW301": {"memory_threshold": 60}}, 3)
    assert (configured.lookback_days, configured.training_days) == (14, 3)
    assert configured.headroom == rightsizing.Headroom(20, 60, 20)
    only_lint_rules = [rule for rule in rules if rule.id == "SW101"]
    assert collect_settings(only_lint_rules, {}, 14).lookback_days == 7  # built-in defaults still apply


@pytest.mark.parametrize("wanted", (True, False))
def test_progress_bar_on_stderr_only_when_asked(capsys, wanted):
    with mock_aws():
        run_audit(AuditOptions(regions=(REGION, OTHER_REGION), progress=wanted), load_rules(), {}, {})
    captured = capsys.readouterr()
    assert captured.out == ""
    if wanted:
        assert "audit [" in captured.err and "2/2 account x region scopes" in captured.err
        assert captured.err.endswith("\r")  # the bar is wiped, leaving the line clean for what follows
    else:
        assert captured.err == ""
