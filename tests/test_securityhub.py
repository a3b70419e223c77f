"""Security Hub export: ASFF as botocore's model of the API requires it, batches of 100, stable Ids, and the
findings a run no longer finds archived and RESOLVED. Every call goes through a Stubber, which checks each
request against the real service model (moto's Security Hub has no BatchUpdateFindings and ignores filters)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import boto3
import botocore.session
import pytest
from botocore.stub import ANY, Stubber

from auditor import securityhub

ACCOUNT, REGION = "123456789012", "eu-west-1"
PRODUCT = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
FIRST = datetime(2026, 8, 6, 3, 0, tzinfo=timezone.utc)
SECOND = datetime(2026, 8, 7, 3, 0, tzinfo=timezone.utc)
MODEL = botocore.session.get_session().get_service_model("securityhub")


def finding(name: str, *, rule_id="SW101", severity="warning", message=None, path="ProductionVariants[AllTraffic]",
            account=ACCOUNT, region=REGION) -> dict:
    """A finding as the JSON report has it (the fingerprint stands for the rule, scope, resource and path)."""
    return {
        "rule_id": rule_id, "rule_name": "endpoint-without-autoscaling", "severity": severity,
        "message": message or f"Variant AllTraffic of endpoint {name} has no scalable target",
        "file": None, "line": None, "column": None,
        "resource": f"arn:aws:sagemaker:{region}:{account}:endpoint/{name}", "path": path,
        "fingerprint": hashlib.sha256(f"{rule_id}/{account}/{region}/{name}".encode()).hexdigest()[:32],
        "fix": {"safety": "safe", "summary": "add a scalable target and a target-tracking policy"},
        "account": account, "region": region, "evidence": {"invocations": 0, "lookback_days": 14},
        "monthly_cost_usd": 250.0, "monthly_savings_usd": None,
    }


@pytest.fixture
def client(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    return boto3.client("securityhub", region_name=REGION)


def our_filters() -> dict:
    return {
        "ProductArn": [{"Value": PRODUCT, "Comparison": "EQUALS"}],
        "AwsAccountId": [{"Value": ACCOUNT, "Comparison": "EQUALS"}],
        "Region": [{"Value": REGION, "Comparison": "EQUALS"}],
        "GeneratorId": [{"Value": "sagewise/", "Comparison": "PREFIX"}],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
    }


def held(records: list, **changes) -> list:
    """``records`` as GetFindings returns them: with what Security Hub adds of its own."""
    return [{**record, "Region": REGION, "ProcessedAt": "2026-08-06T03:00:05.000Z",
             "Workflow": {"Status": "NEW"}, "WorkflowState": "NEW",
             "ProductFields": {**record["ProductFields"], "aws/securityhub/FindingId": f"{PRODUCT}/{record['Id']}"},
             **changes} for record in records]


def expect_lookup(stubber: Stubber, records: list) -> None:
    stubber.add_response("get_findings", {"Findings": records},
                         {"Filters": our_filters(), "MaxResults": 100})


def asff(name: str, now: datetime = FIRST, **options) -> dict:
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return securityhub.to_asff(finding(name, **options), partition="aws", now=stamp)


# --- ASFF ----------------------------------------------------------------------------------------------------


def test_a_finding_has_every_field_asff_requires():
    record = asff("churn")
    required = set(MODEL.shape_for("AwsSecurityFinding").required_members) | {"Types", "Severity"}
    assert required <= set(record)
    assert record["SchemaVersion"] == "2018-10-08"
    assert record["ProductArn"] == PRODUCT
    assert record["AwsAccountId"] == ACCOUNT
    assert record["GeneratorId"] == "sagewise/SW101"
    assert record["Resources"] == [{
        "Type": "Other", "Id": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn", "Partition": "aws",
        "Region": REGION,
        "Details": {"Other": {"ResourceType": "sagemaker:endpoint", "Path": "ProductionVariants[AllTraffic]"}},
    }]
    assert record["ProductFields"]["sagewise/MonthlyCostUsd"] == "250.00"
    assert record["ProductFields"]["sagewise/evidence/invocations"] == "0"
    assert record["Remediation"]["Recommendation"]["Text"].startswith("add a scalable target")
    assert record["RecordState"] == "ACTIVE"


@pytest.mark.parametrize("severity, label", [("error", "HIGH"), ("warning", "MEDIUM"), ("info", "LOW")])
def test_severity_is_mapped_and_kept_in_the_providers_fields(severity, label):
    record = asff("churn", severity=severity)
    assert record["Severity"] == record["FindingProviderFields"]["Severity"] == {"Label": label, "Original": severity}
    assert record["Types"] == record["FindingProviderFields"]["Types"]


def test_the_id_comes_from_the_fingerprint_not_the_text():
    reworded = asff("churn", message="a different wording, after an edit of the rule's message")
    assert reworded["Id"] == asff("churn")["Id"] == f"sagewise/SW101/{finding('churn')['fingerprint']}"
    assert asff("fraud")["Id"] != asff("churn")["Id"]


def test_long_texts_are_clipped_to_asffs_limits():
    record = asff("churn", message="x" * 5000)
    assert len(record["Description"]) == 1024 and record["Description"].endswith("...")


# --- Import and resolve --------------------------------------------------------------------------------------


def test_findings_are_imported_100_a_call(client):
    findings = [finding(f"endpoint-{index}") for index in range(250)]
    with Stubber(client) as stubber:
        expect_lookup(stubber, [])
        for size in (100, 100, 50):
            stubber.add_response("batch_import_findings",
                                 {"FailedCount": 0, "SuccessCount": size, "FailedFindings": []}, {"Findings": ANY})
        result = securityhub.sync(client, findings, account=ACCOUNT, region=REGION, partition="aws", resolve=True,
                                  now=FIRST)
        stubber.assert_no_pending_responses()
    assert (result.imported, result.resolved, result.errors) == (250, [], [])


def seen_again(record: dict, now: datetime = SECOND) -> dict:
    """``record`` as a later run imports it: created when first seen, updated and observed now."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {**record, "UpdatedAt": stamp, "LastObservedAt": stamp}


def archived(record: dict, now: datetime = SECOND) -> dict:
    return {**record, "UpdatedAt": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "RecordState": "ARCHIVED"}


def test_a_second_run_with_one_problem_fixed_resolves_that_finding(client):
    churn, fraud, legacy = asff("churn"), asff("fraud"), asff("legacy", rule_id="SW302", severity="info")
    second_findings = [finding("churn"), finding("legacy", rule_id="SW302", severity="info")]  # fraud was fixed
    with Stubber(client) as stubber:
        expect_lookup(stubber, held([churn, fraud, legacy]))
        stubber.add_response("batch_import_findings", {"FailedCount": 0, "SuccessCount": 3, "FailedFindings": []},
                             {"Findings": [seen_again(churn), seen_again(legacy), archived(fraud)]})
        processed = [{"Id": fraud["Id"], "ProductArn": PRODUCT}]
        stubber.add_response("batch_update_findings", {"ProcessedFindings": processed, "UnprocessedFindings": []},
                             {"FindingIdentifiers": [{"Id": fraud["Id"], "ProductArn": PRODUCT}],
                              "Workflow": {"Status": "RESOLVED"}})
        result = securityhub.sync(client, second_findings, account=ACCOUNT, region=REGION, partition="aws",
                                  resolve=True, now=SECOND)
        stubber.assert_no_pending_responses()
    assert (result.imported, result.resolved) == (2, [fraud["Id"]])


def test_a_finding_a_person_suppressed_is_archived_but_keeps_its_workflow(client):
    gone = asff("fraud")
    with Stubber(client) as stubber:
        expect_lookup(stubber, held([gone], Workflow={"Status": "SUPPRESSED"}))
        stubber.add_response("batch_import_findings", {"FailedCount": 0, "SuccessCount": 1, "FailedFindings": []},
                             {"Findings": [archived(gone)]})
        result = securityhub.sync(client, [], account=ACCOUNT, region=REGION, partition="aws", resolve=True, now=SECOND)
        stubber.assert_no_pending_responses()
    assert result.resolved == [gone["Id"]]


def test_a_scope_with_errors_resolves_nothing(client):
    with Stubber(client) as stubber:
        expect_lookup(stubber, held([asff("churn"), asff("fraud")]))
        stubber.add_response("batch_import_findings", {"FailedCount": 0, "SuccessCount": 1, "FailedFindings": []},
                             {"Findings": [seen_again(asff("churn"))]})
        result = securityhub.sync(client, [finding("churn")], account=ACCOUNT, region=REGION, partition="aws",
                                  resolve=False, now=SECOND)
        stubber.assert_no_pending_responses()
    assert result.resolved == []


def test_only_sagewises_own_findings_of_this_account_and_region_are_ever_resolved(client):
    ours = asff("fraud")
    others = [
        {**ours, "Id": "guardduty/1", "GeneratorId": "guardduty", "ProductArn": f"{PRODUCT[:-16]}aws/guardduty"},
        {**asff("member", account="210987654321"), "AwsAccountId": "210987654321"},
        {**asff("linked"), "Id": "sagewise/SW101/linked-region", "Region": "us-west-2"},
    ]
    with Stubber(client) as stubber:  # a lenient server (moto) ignores the filters; the result is checked again
        expect_lookup(stubber, held([ours]) + others)
        stubber.add_response("batch_import_findings", {"FailedCount": 0, "SuccessCount": 1, "FailedFindings": []},
                             {"Findings": [archived(ours)]})
        stubber.add_response("batch_update_findings", {"ProcessedFindings": [], "UnprocessedFindings": []},
                             {"FindingIdentifiers": [{"Id": ours["Id"], "ProductArn": PRODUCT}],
                              "Workflow": {"Status": "RESOLVED"}})
        result = securityhub.sync(client, [], account=ACCOUNT, region=REGION, partition="aws", resolve=True, now=SECOND)
        stubber.assert_no_pending_responses()
    assert result.resolved == [ours["Id"]]


def test_refusals_are_counted_in_one_line_each_and_a_refused_archive_is_not_resolved(client):
    gone = asff("fraud")
    refused = [{"Id": asff(f"e{index}")["Id"], "ErrorCode": "InvalidAccess",
                "ErrorMessage": "Account is not subscribed to AWS Security Hub"} for index in range(3)]
    with Stubber(client) as stubber:
        expect_lookup(stubber, held([gone]))
        stubber.add_response("batch_import_findings", {
            "FailedCount": 4, "SuccessCount": 0,
            "FailedFindings": refused + [{"Id": gone["Id"], "ErrorCode": "InvalidInput", "ErrorMessage": "bad"}]},
            {"Findings": ANY})
        result = securityhub.sync(client, [finding(f"e{index}") for index in range(3)], account=ACCOUNT,
                                  region=REGION, partition="aws", resolve=True, now=SECOND)
        stubber.assert_no_pending_responses()
    assert (result.imported, result.resolved) == (0, [])
    assert result.errors == [
        "Security Hub did not import 3 findings: InvalidAccess: Account is not subscribed to AWS Security Hub",
        "Security Hub did not import 1 finding: InvalidInput: bad",
    ]
