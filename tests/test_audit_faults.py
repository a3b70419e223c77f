"""Faults during an audit: each failed scope is one error with its account and region, the rest completes.

Faults are injected with a botocore ``before-send`` hook installed ahead of moto's, so the request
goes through botocore's real retry logic and error parsing, as it would against AWS.
"""

from __future__ import annotations

import io
import json
from urllib.parse import urlparse

import boto3
import botocore.handlers
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from moto import mock_aws

import audit_scenario as scenario
from auditor.audit import NO_CREDENTIALS, AuditError, AuditOptions, explain, run_audit
from auditor.rules import load_rules

REGION = "us-east-1"
FAILING_REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path):
    scenario.isolate_environment(monkeypatch, tmp_path)


class _Body(io.BytesIO):
    def stream(self, **_):
        yield self.getvalue()


class Faults:
    """A ``before-send`` hook that answers chosen requests with an AWS error instead of moto.

    ``rules`` are (service id, operation, region or None, substring of the body or None, error code,
    HTTP status, times): a matching request gets the error ``times`` times (None: always).
    """

    def __init__(self):
        self.rules = []
        self.seen: list[tuple] = []

    def add(self, service, operation, code, *, region=None, body=None, status=400, times=None):
        self.rules.append({"service": service, "operation": operation, "region": region, "body": body,
                           "code": code, "status": status, "times": times})

    def __call__(self, request, event_name, **_):
        _, service, operation = event_name.split(".")
        region = urlparse(request.url).hostname.split(".")[-3]
        payload = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
        self.seen.append((service, operation, region))
        for rule in self.rules:
            if (rule["service"], rule["operation"]) != (service, operation) or rule["times"] == 0:
                continue
            if rule["region"] not in (None, region) or (rule["body"] and rule["body"] not in payload):
                continue
            if rule["times"] is not None:
                rule["times"] -= 1
            return self._error(request, service, rule["code"], rule["status"])
        return None

    @staticmethod
    def _error(request, service, code, status) -> AWSResponse:
        message = f"injected {code}"
        if service == "sts":
            body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                    "</Error><RequestId>fault</RequestId></ErrorResponse>").encode()
            headers = {"Content-Type": "text/xml"}
        else:
            body = json.dumps({"__type": code, "message": message}).encode()
            headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
        return AWSResponse(request.url, status, headers, _Body(body))


@pytest.fixture
def faults(monkeypatch):
    hook = Faults()
    handlers = [("before-send", hook)] + botocore.handlers.BUILTIN_HANDLERS  # ahead of moto's own before-send
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", handlers)
    return hook


def seed_unscaled(region: str, session: boto3.Session | None = None) -> None:
    c = scenario.clients(region, session)
    scenario.add_model(c, "custom")
    scenario.add_endpoint(c, "unscaled")


def unscaled_regions(result) -> set:
    return {(f.location.account, f.location.region) for f in result.findings if f.rule_id == "SW101"}


def test_access_denied_in_one_region_fails_only_that_scope(faults):
    faults.add("sagemaker", "ListEndpoints", "AccessDeniedException", region=FAILING_REGION, status=403)
    with mock_aws():
        seed_unscaled(REGION)
        seed_unscaled(FAILING_REGION)
        result = run_audit(AuditOptions(regions=(REGION, FAILING_REGION)), load_rules(), {}, {})
    [error] = result.errors
    assert (error.account, error.region) == (scenario.ACCOUNT, FAILING_REGION)
    assert error.message.startswith("ListEndpoints: AccessDeniedException: injected AccessDeniedException")
    assert "audit-iam-policy.json" in error.message and "\n" not in error.message
    assert unscaled_regions(result) == {(scenario.ACCOUNT, REGION)}


def test_throttling_is_retried_until_it_succeeds(faults):
    faults.add("sagemaker", "DescribeEndpoint", "ThrottlingException", times=2)
    with mock_aws():
        seed_unscaled(REGION)
        result = run_audit(AuditOptions(regions=(REGION,), max_attempts=5), load_rules(), {}, {})
    assert result.errors == []
    assert unscaled_regions(result) == {(scenario.ACCOUNT, REGION)}
    assert faults.seen.count(("sagemaker", "DescribeEndpoint", REGION)) == 3  # two throttled, then answered
    assert result.stats["api_calls"]["sagemaker:DescribeEndpoint"] == 1  # one call, retried by botocore


def test_throttling_beyond_the_attempts_is_an_error_of_the_scope(faults):
    faults.add("sagemaker", "ListEndpoints", "ThrottlingException", region=FAILING_REGION)
    with mock_aws():
        seed_unscaled(REGION)
        result = run_audit(AuditOptions(regions=(REGION, FAILING_REGION), max_attempts=2), load_rules(), {}, {})
    [error] = result.errors
    assert error.region == FAILING_REGION and "ThrottlingException" in error.message
    assert faults.seen.count(("sagemaker", "ListEndpoints", FAILING_REGION)) == 2
    assert unscaled_regions(result) == {(scenario.ACCOUNT, REGION)}


def test_disabled_opt_in_region_and_expired_credentials_name_their_cause(faults):
    faults.add("sagemaker", "ListEndpoints", "UnrecognizedClientException", region="af-south-1")
    faults.add("application-auto-scaling", "DescribeScheduledActions", "ExpiredTokenException", region=FAILING_REGION)
    with mock_aws():
        seed_unscaled(REGION)
        result = run_audit(AuditOptions(regions=(REGION, "af-south-1", FAILING_REGION)), load_rules(), {}, {})
    errors = {error.region: error.message for error in result.errors}
    assert set(errors) == {"af-south-1", FAILING_REGION}
    assert "opt-in region enabled" in errors["af-south-1"]
    assert "credentials have expired" in errors[FAILING_REGION]
    assert unscaled_regions(result) == {(scenario.ACCOUNT, REGION)}


def test_a_role_that_cannot_be_assumed_fails_that_account_only(faults):
    good, bad = "111111111111", "222222222222"
    faults.add("sts", "AssumeRole", "AccessDenied", body=bad, status=403)
    with mock_aws():
        credentials = boto3.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{good}:role/Audit", RoleSessionName="seed")["Credentials"]
        seed_unscaled(REGION, boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                                            aws_secret_access_key=credentials["SecretAccessKey"],
                                            aws_session_token=credentials["SessionToken"]))
        options = AuditOptions(regions=(REGION, FAILING_REGION), accounts=(good, bad), role_name="Audit")
        result = run_audit(options, load_rules(), {}, {})
    assert [(e.account, e.region) for e in result.errors] == [(bad, FAILING_REGION), (bad, REGION)]
    assert all(e.message.startswith(f"cannot assume arn:aws:iam::{bad}:role/Audit: AssumeRole: AccessDenied")
               for e in result.errors)
    assert unscaled_regions(result) == {(good, REGION)}
    assert result.stats["scopes"] == 2


def test_caller_credentials_rejected_everywhere_are_errors_not_a_crash(faults):
    faults.add("sts", "GetCallerIdentity", "ExpiredToken", status=403)
    with mock_aws():
        result = run_audit(AuditOptions(regions=(REGION, FAILING_REGION)), load_rules(), {}, {})
    assert [(e.account, e.region) for e in result.errors] == [(None, FAILING_REGION), (None, REGION)]
    assert "credentials have expired" in result.errors[0].message
    assert result.findings == [] and result.stats["scopes"] == 0


def test_no_credentials_is_one_clear_line(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(AuditError) as raised:
        run_audit(AuditOptions(regions=(REGION,)), load_rules(), {}, {})
    assert str(raised.value) == NO_CREDENTIALS and "\n" not in NO_CREDENTIALS


def test_unknown_profile_and_missing_region_are_audit_errors(monkeypatch):
    with pytest.raises(AuditError, match="could not be found"):
        run_audit(AuditOptions(profile="nope", regions=(REGION,)), load_rules(), {}, {})
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(AuditError, match="no AWS region"):
        run_audit(AuditOptions(), load_rules(), {}, {})


def test_explain_keeps_operation_code_and_message():
    error = ClientError({"Error": {"Code": "ValidationException", "Message": " bad input "}}, "DescribeEndpoint")
    assert explain(error) == "DescribeEndpoint: ValidationException: bad input"


def test_an_organization_that_cannot_be_listed_still_audits_the_named_accounts(faults):
    faults.add("organizations", "ListAccounts", "AccessDeniedException", status=403)
    with mock_aws():
        options = AuditOptions(regions=(REGION,), organization=True, accounts=(scenario.ACCOUNT,), role_name="Audit")
        seed_unscaled(REGION)
        result = run_audit(options, load_rules(), {}, {})
    [error] = result.errors
    assert (error.account, error.region) == (None, None)
    assert error.message.startswith("cannot list the organization's accounts: ListAccounts: AccessDeniedException")
    assert unscaled_regions(result) == {(scenario.ACCOUNT, REGION)}


def test_a_lookback_window_shorter_than_a_day_is_refused():
    with pytest.raises(AuditError, match="lookback_days must be a whole number of days, at least 1"):
        run_audit(AuditOptions(regions=(REGION,)), load_rules(), {"SW303": {"lookback_days": 0}}, {})
