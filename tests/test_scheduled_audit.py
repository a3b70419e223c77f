"""The scheduled organization audit's Lambda entry points against moto: reports in S3, a summary on SNS,
findings in Security Hub and resolved once fixed, and the state machine's data flow from its first step
to the organization report (its definition's own paths drive the handlers, as Step Functions would)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber
from cfnlint.decode import decode
from moto import mock_aws

import audit_scenario as scenario
from auditor import lambda_handler, securityhub
from auditor.audit import NOTHING_AUDITED
from auditor.findings import Finding
from auditor.lambda_handler import REPORT_FORMATS, ScheduledRunError
from auditor.model import Location
from auditor.reporters import Report

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "scheduled-audit.yaml"
REGION, BUCKET, DATE = "us-east-1", "sagewise-reports", "2026-08-07"
TOPIC = f"arn:aws:sns:{REGION}:{scenario.ACCOUNT}:sagewise-summary"
SCOPE = f"sagewise/{DATE}/{scenario.ACCOUNT}/{REGION}"


@pytest.fixture
def aws(monkeypatch, tmp_path):
    """A moto account with the deployment's bucket and topic (an SQS queue subscribed to read the summaries)."""
    scenario.isolate_environment(monkeypatch, tmp_path)
    monkeypatch.setenv("SAGEWISE_REPORT_BUCKET", BUCKET)
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
        sns.create_topic(Name="sagewise-summary")
        queue = sqs.create_queue(QueueName="summaries")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=TOPIC, Protocol="sqs", Endpoint=queue_arn)
        yield queue


def seed(c: scenario.Clients) -> None:
    scenario.add_model(c, "custom")
    scenario.add_endpoint(c, "unscaled")  # SW101
    scenario.add_endpoint(c, "old-p3", "ml.p3.2xlarge")  # SW101, SW302


def fix_unscaled(c: scenario.Clients) -> None:
    scenario.add_target(c, "endpoint/unscaled/variant/AllTraffic")
    scenario.add_policy(c, "endpoint/unscaled/variant/AllTraffic", "unscaled-invocations")


def s3_json(key: str):
    return json.loads(boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)["Body"].read())


def s3_keys() -> list:
    listing = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listing.get("Contents", ()))


def summaries(queue: str) -> list:
    messages = boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in messages.get("Messages", ())]


# --- The handler ---------------------------------------------------------------------------------------------


def test_the_handler_writes_each_scopes_reports_and_publishes_a_summary(aws, monkeypatch):
    monkeypatch.setenv("SAGEWISE_SNS_TOPIC_ARN", TOPIC)
    seed(scenario.clients(REGION))
    result = lambda_handler.handler({"regions": [REGION], "date": DATE})
    assert result == {"date": DATE, "findings": 3, "errors": 0, "reports": [
        {"account": scenario.ACCOUNT, "region": REGION, "findings": 3, "errors": 0, "key": f"{SCOPE}/sagewise.json"}]}
    assert s3_keys() == sorted(f"{SCOPE}/sagewise.{name}" for name in REPORT_FORMATS)
    document = s3_json(f"{SCOPE}/sagewise.json")
    assert sorted((f["rule_id"], f["resource"].rsplit("/", 1)[1]) for f in document["findings"]) == [
        ("SW101", "old-p3"), ("SW101", "unscaled"), ("SW302", "old-p3")]
    assert document["summary"]["scopes"] == 1 and document["summary"]["endpoints"] == 2
    sarif = s3_json(f"{SCOPE}/sagewise.sarif")
    assert len(sarif["runs"][0]["results"]) == 3
    [notification] = summaries(aws)
    assert notification["Subject"] == f"sagewise audit {DATE}: 3 findings, 0 errors"
    assert notification["Message"].startswith(
        f"sagewise audit of {DATE}: 3 findings (1 info, 2 warning), 0 errors, in 1 account x region scopes "
        "(2 endpoints).")
    assert f"Reports: s3://{BUCKET}/sagewise/{DATE}/" in notification["Message"]


def test_a_scope_that_cannot_be_read_still_gets_its_report(aws, monkeypatch):
    monkeypatch.setenv("SAGEWISE_ROLE_NAME", "SagewiseAudit")
    other = "210987654321"
    scenario.install_faults(monkeypatch).add("sts", "AssumeRole", "AccessDenied", status=403)
    result = lambda_handler.handler({"accounts": [other], "regions": [REGION], "date": DATE})
    assert result["errors"] == 1 and result["findings"] == 0
    [error] = s3_json(f"sagewise/{DATE}/{other}/{REGION}/sagewise.json")["errors"]
    assert error["message"].startswith(f"cannot assume arn:aws:iam::{other}:role/SagewiseAudit")


@pytest.mark.parametrize("event, message", [
    ({"acounts": ["123456789012"]}, "unknown event key(s) acounts (valid: accounts, organization, regions, "
                                    "all_regions, date)"),
    ({"accounts": ["1234"]}, "accounts: '1234' is not a 12-digit account ID"),
    ({"accounts": "123456789012"}, "accounts must be a list of strings"),
    ({"regions": ["us-east-1"], "all_regions": True}, "regions and all_regions exclude each other"),
    ({"regions": ["mars-north-1"]}, "--region 'mars-north-1' is not a region that botocore"),
    ({"date": "07/08/2026"}, "date must be YYYY-MM-DD, got '07/08/2026'"),
    ([], "the event must be a JSON object, got list"),
])
def test_a_bad_event_is_one_line(aws, event, message):
    with pytest.raises(ScheduledRunError) as raised:
        lambda_handler.handler(event)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


@pytest.mark.parametrize("variable, value, message", [
    ("SAGEWISE_REPORT_BUCKET", "", "SAGEWISE_REPORT_BUCKET is not set"),
    ("SAGEWISE_SECURITY_HUB", "yes", "SAGEWISE_SECURITY_HUB must be true or false, got 'yes'"),
    ("SAGEWISE_REGIONS_PER_RUN", "two", "SAGEWISE_REGIONS_PER_RUN must be a whole number from 0 to 50, got 'two'"),
    ("SAGEWISE_EXCLUDE_ACCOUNTS", "123", "SAGEWISE_EXCLUDE_ACCOUNTS: '123' is not a 12-digit account ID"),
    ("SAGEWISE_CONFIG", "missing.yaml", "missing.yaml: config file not found"),
])
def test_a_bad_setting_is_one_line(aws, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ScheduledRunError, match=re.escape(message)):
        lambda_handler.handler({"date": DATE})


def test_the_runners_own_clients_refuse_what_it_does_not_do(aws):
    runner = lambda_handler.Runner(lambda_handler.Settings(bucket=BUCKET))
    runner.put("sagewise/probe.json", "{}", "application/json")
    with pytest.raises(lambda_handler.RunnerViolation, match="refused to call s3:DeleteObject"):
        runner.client("s3").delete_object(Bucket=BUCKET, Key="sagewise/probe.json")
    with pytest.raises(lambda_handler.RunnerViolation, match="refused to call sns:DeleteTopic"):
        runner.client("sns", REGION).delete_topic(TopicArn=TOPIC)
    assert s3_keys() == ["sagewise/probe.json"]


# --- Security Hub --------------------------------------------------------------------------------------------


def test_a_second_run_with_one_problem_fixed_marks_that_finding_resolved(aws, monkeypatch):
    monkeypatch.setenv("SAGEWISE_SECURITY_HUB", "true")
    hub = boto3.client("securityhub", region_name=REGION)
    hub.enable_security_hub()
    c = scenario.clients(REGION)
    seed(c)
    first = lambda_handler.handler({"regions": [REGION], "date": "2026-08-06"})
    assert first["security_hub"] == {"imported": 3, "resolved": 0}
    held = hub.get_findings()["Findings"]
    assert sorted(f["GeneratorId"] for f in held) == ["sagewise/SW101", "sagewise/SW101", "sagewise/SW302"]
    [fixed] = [f for f in held if f["Resources"][0]["Id"].endswith("/unscaled")]

    fix_unscaled(c)
    # moto's Security Hub has no BatchUpdateFindings: the second run talks to a Stubber that holds what moto
    # stored in the first (and checks each request against the service model).
    imported = []
    original = lambda_handler.Runner.client

    def stubbed(self, service, region=None, account=None):
        client = original(self, service, region, account)
        if service == "securityhub" and not hasattr(client, "stubber"):
            client.stubber = Stubber(client)
            client.stubber.add_response("get_findings", {"Findings": held}, {"Filters": ANY, "MaxResults": 100})
            client.stubber.add_response("batch_import_findings", {"FailedCount": 0, "SuccessCount": 3,
                                                                  "FailedFindings": []}, {"Findings": ANY})
            client.stubber.add_response("batch_update_findings", {"ProcessedFindings": [], "UnprocessedFindings": []},
                                        {"FindingIdentifiers": [{"Id": fixed["Id"], "ProductArn": fixed["ProductArn"]}],
                                         "Workflow": {"Status": "RESOLVED"}})
            client.meta.events.register("before-parameter-build.securityhub.BatchImportFindings",
                                        lambda params, **_: imported.extend(params["Findings"]))
            client.stubber.activate()
        return client

    monkeypatch.setattr(lambda_handler.Runner, "client", stubbed)
    second = lambda_handler.handler({"regions": [REGION], "date": DATE})
    assert second["security_hub"] == {"imported": 2, "resolved": 1}
    states = {record["Id"]: record["RecordState"] for record in imported}
    assert states == {**{f["Id"]: "ACTIVE" for f in held}, fixed["Id"]: "ARCHIVED"}
    assert all(record["CreatedAt"] == next(f["CreatedAt"] for f in held if f["Id"] == record["Id"])
               for record in imported)


def test_each_accounts_findings_are_imported_with_that_accounts_credentials(aws):
    """Two member accounts in two regions each: every scope's findings land in its own account's Security Hub (moto
    keeps one per account the credentials are of), and each account's import role is assumed once, not per region."""
    members, regions = ("111111111111", "222222222222"), (REGION, "eu-west-1")
    runner = lambda_handler.Runner(lambda_handler.Settings(bucket=BUCKET))
    assumed = []
    runner.client("sts").meta.events.register("before-parameter-build.sts.AssumeRole",
                                              lambda params, **_: assumed.append(params["RoleArn"]))
    reports = {}
    for account in members:
        for region in regions:
            location = Location(f"{account}/{region}", f"arn:aws:sagemaker:{region}:{account}:endpoint/e",
                                account=account, region=region)
            reports[(account, region)] = Report("audit", [Finding("SW101", "endpoint-without-autoscaling", "warning",
                                                                  "m", location)], [], [])
    assert runner.import_findings(reports) == {"imported": 4, "resolved": 0}
    assert all(not report.errors for report in reports.values())
    assert assumed == [f"arn:aws:iam::{account}:role/{lambda_handler.iam.DEFAULT_IMPORT_ROLE_NAME}"
                       for account in members]
    sts = boto3.client("sts", region_name=REGION)
    for account in members:
        credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/reader",
                                      RoleSessionName="test")["Credentials"]
        session = boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                                aws_secret_access_key=credentials["SecretAccessKey"],
                                aws_session_token=credentials["SessionToken"])
        for region in regions:
            held = session.client("securityhub", region_name=region).get_findings()["Findings"]
            assert [(record["AwsAccountId"], record["Resources"][0]["Region"]) for record in held] == [(account, region)]


def test_security_hub_not_enabled_is_an_error_of_that_scope(aws, monkeypatch):
    monkeypatch.setenv("SAGEWISE_SECURITY_HUB", "true")
    seed(scenario.clients(REGION))
    scenario.install_faults(monkeypatch).add("securityhub", "GetFindings", "InvalidAccessException", status=401)
    result = lambda_handler.handler({"regions": [REGION], "date": DATE})
    assert result["findings"] == 3 and result["errors"] == 1
    [error] = s3_json(f"{SCOPE}/sagewise.json")["errors"]
    assert error["message"].startswith("Security Hub: ") and "InvalidAccessException" in error["message"]


# --- The state machine, step by step -------------------------------------------------------------------------


def definition() -> dict:
    template, problems = decode(str(TEMPLATE))
    assert not problems
    return template["Resources"]["AuditStateMachine"]["Properties"]["Definition"]


def resolve(node, data, context):
    """A state's Parameters, ItemSelector or ResultSelector applied: ``"key.$"`` values are paths into ``data``
    (``$``) or the context object (``$$``). A path that finds nothing fails, as in Step Functions."""
    if isinstance(node, dict):
        return {(key[:-2] if key.endswith(".$") else key):
                (path(value, data, context) if key.endswith(".$") else resolve(value, data, context))
                for key, value in node.items()}
    return node


def path(expression: str, data, context):
    value, steps = (context, expression[3:]) if expression.startswith("$$.") else (data, expression[2:])
    for step in filter(None, steps.split(".")):
        if not isinstance(value, dict) or step not in value:
            raise AssertionError(f"States.Runtime: the JSONPath {expression} could not be found")
        value = value[step]
    return value


def invoke(state: dict, data, context, functions: dict):
    """A Lambda Task: ``Parameters`` -> the function's event; its return as ``Payload`` -> selectors, OutputPath."""
    parameters = resolve(state["Parameters"], data, context)
    result = {"Payload": functions[parameters["FunctionName"]](parameters["Payload"])}
    if "ResultSelector" in state:
        result = resolve(state["ResultSelector"], result, context)
    if "OutputPath" in state:
        result = path(state["OutputPath"], result, context)
    return result


def run_state_machine(functions: dict, fail_item=None) -> dict:
    """The definition executed on moto with the handlers as its Lambda functions; ``fail_item`` picks Map items
    whose run fails (its retries spent), which the Map tolerates and ResultWriter lists under FAILED."""
    states = definition()["States"]
    context = {"Execution": {"StartTime": f"{DATE}T03:00:00.000Z"}}
    data = invoke(states["ListScopes"], {}, context, functions)
    assert states["ListScopes"]["Next"] == "AuditScopes"
    mapping = states["AuditScopes"]
    reader = resolve(mapping["ItemReader"]["Parameters"], data, context)
    items = s3_json(reader["Key"])
    processor = mapping["ItemProcessor"]["States"][mapping["ItemProcessor"]["StartAt"]]
    executions = {"SUCCEEDED": [], "FAILED": []}
    for index, item in enumerate(items):
        item_context = {**context, "Map": {"Item": {"Index": index, "Value": item}}}
        item_input = resolve(mapping["ItemSelector"], data, item_context)
        if fail_item and fail_item(item):
            cause = {"errorMessage": "Task timed out after 900.00 seconds", "errorType": "Sandbox.Timedout"}
            executions["FAILED"].append({"Input": json.dumps(item_input), "Status": "FAILED",
                                         "Error": "Sandbox.Timedout", "Cause": json.dumps(cause)})
        else:
            output = invoke(processor, item_input, context, functions)
            executions["SUCCEEDED"].append({"Input": json.dumps(item_input), "Output": json.dumps(output),
                                            "Status": "SUCCEEDED"})
    writer = mapping["ResultWriter"]["Parameters"]
    run_prefix = f"{writer['Prefix']}/run-1"
    s3 = boto3.client("s3", region_name=REGION)
    manifest = {"DestinationBucket": BUCKET, "MapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:audit/x:1",
                "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": []}}
    for status, entries in executions.items():
        if entries:
            key = f"{run_prefix}/{status}_0.json"
            s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(entries))
            manifest["ResultFiles"][status].append({"Key": key, "Size": 1})
    s3.put_object(Bucket=BUCKET, Key=f"{run_prefix}/manifest.json", Body=json.dumps(manifest))
    data[mapping["ResultPath"][2:]] = {"MapRunArn": manifest["MapRunArn"],
                                       "ResultWriterDetails": {"Bucket": BUCKET, "Key": f"{run_prefix}/manifest.json"}}
    assert mapping["Next"] == "Aggregate"
    return invoke(states["Aggregate"], data, context, functions)


@pytest.fixture
def organization(aws, monkeypatch):
    """An organization of three accounts: the management account (seeded) and two members (empty)."""
    organizations = boto3.client("organizations", region_name=REGION)
    organizations.create_organization(FeatureSet="ALL")
    members = []
    for name in ("data-science", "sandbox"):
        request = organizations.create_account(AccountName=name, Email=f"{name}@example.com")
        members.append(organizations.describe_create_account_status(
            CreateAccountRequestId=request["CreateAccountStatus"]["Id"])["CreateAccountStatus"]["AccountId"])
    seed(scenario.clients(REGION))
    monkeypatch.setenv("SAGEWISE_REGIONS", REGION)
    monkeypatch.setenv("SAGEWISE_SNS_TOPIC_ARN", TOPIC)
    return members


FUNCTIONS = {"${ListScopesFunctionArn}": lambda event: lambda_handler.list_scopes(event),
             "${AuditFunctionArn}": lambda event: _without_topic(lambda_handler.handler, event),
             "${AggregateFunctionArn}": lambda event: lambda_handler.aggregate(event)}


def _without_topic(function, event):
    """The template gives the audit function no topic: only the aggregation publishes."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SAGEWISE_SNS_TOPIC_ARN", raising=False)
        return function(event)


def test_list_scopes_writes_the_maps_items(organization, monkeypatch):
    monkeypatch.setenv("SAGEWISE_REGIONS", "us-east-1, eu-west-1, eu-central-1")
    monkeypatch.setenv("SAGEWISE_REGIONS_PER_RUN", "2")
    monkeypatch.setenv("SAGEWISE_EXCLUDE_ACCOUNTS", organization[1])
    result = lambda_handler.list_scopes({"started": f"{DATE}T03:00:00.123Z"})
    assert result == {"date": DATE, "key": f"sagewise/{DATE}/scopes.json", "accounts": 2, "items": 4,
                      "max_concurrency": 10, "errors": []}
    items = s3_json(result["key"])
    assert sorted((item["accounts"][0], tuple(item["regions"]), item["all_regions"]) for item in items) == sorted(
        (account, regions, False) for account in (scenario.ACCOUNT, organization[0])
        for regions in (("us-east-1", "eu-west-1"), ("eu-central-1",)))


def test_without_regions_each_account_is_one_item_of_all_its_regions(organization, monkeypatch):
    monkeypatch.setenv("SAGEWISE_REGIONS", "")
    items = s3_json(lambda_handler.list_scopes({})["key"])
    assert {(tuple(item["accounts"]), tuple(item["regions"]), item["all_regions"]) for item in items} == {
        ((account,), (), True) for account in [scenario.ACCOUNT, *organization]}


def test_the_state_machine_audits_the_organization_and_collects_failed_runs(organization, aws):
    sandbox = organization[1]
    result = run_state_machine(FUNCTIONS, fail_item=lambda item: item["accounts"] == [sandbox])
    org = f"sagewise/{DATE}/organization"
    assert result == {"date": DATE, "key": f"{org}/sagewise.json", "runs": 2, "failed_runs": 1,
                      "findings": 3, "errors": 1, "scopes": 2, "endpoints": 2}
    document = s3_json(f"{org}/sagewise.json")
    assert {f["account"] for f in document["findings"]} == {scenario.ACCOUNT}
    assert document["errors"] == [{
        "file": None, "line": None, "column": None, "account": sandbox, "region": REGION,
        "message": "the scheduled audit of this scope failed: Sandbox.Timedout: Task timed out after 900.00 seconds"}]
    assert set(s3_keys()) >= {f"{org}/sagewise.{name}" for name in REPORT_FORMATS} | {
        f"sagewise/{DATE}/{account}/{REGION}/sagewise.json" for account in (scenario.ACCOUNT, organization[0])}
    [notification] = summaries(aws)
    assert notification["Subject"] == f"sagewise audit {DATE}: 3 findings, 1 errors"
    assert f"  {sandbox}/{REGION}: the scheduled audit of this scope failed" in notification["Message"]


def test_an_organization_that_cannot_be_listed_is_reported_not_lost(aws, monkeypatch):
    monkeypatch.setenv("SAGEWISE_SNS_TOPIC_ARN", TOPIC)
    monkeypatch.setenv("SAGEWISE_REGIONS", REGION)
    # ListAccounts is denied: the run still ends with a report and a summary saying why.
    scenario.install_faults(monkeypatch).add("organizations", "ListAccounts", "AccessDeniedException", status=400)
    result = run_state_machine(FUNCTIONS)
    assert (result["findings"], result["errors"], result["runs"]) == (0, 1, 0)
    [error] = s3_json(result["key"])["errors"]
    assert error["message"].startswith("cannot list the organization's accounts")
    assert len(summaries(aws)) == 1


def test_an_organization_left_with_nothing_to_audit_says_so(organization, monkeypatch):
    monkeypatch.setenv("SAGEWISE_EXCLUDE_ACCOUNTS", ",".join([scenario.ACCOUNT, *organization]))
    result = run_state_machine(FUNCTIONS)
    assert [error["message"] for error in s3_json(result["key"])["errors"]] == [NOTHING_AUDITED]


def test_the_security_hub_import_is_validated_by_the_service_model():
    finding = {"rule_id": "SW101", "rule_name": "endpoint-without-autoscaling", "severity": "warning",
               "message": "m", "resource": f"arn:aws:sagemaker:{REGION}:{scenario.ACCOUNT}:endpoint/e", "path": "",
               "fingerprint": "0" * 32, "fix": None, "account": scenario.ACCOUNT, "region": REGION}
    record = securityhub.to_asff(finding, partition="aws", now="2026-08-07T03:00:00.000Z")
    client = boto3.client("securityhub", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stubber:
        stubber.add_response("batch_import_findings", {"FailedCount": 0, "SuccessCount": 1, "FailedFindings": []},
                             {"Findings": [record]})
        client.batch_import_findings(Findings=[record])
