"""Faults during an audit: each failure is one error with its account and region, the rest completes.

Faults are injected with a botocore ``before-send`` hook installed ahead of moto's
(:class:`audit_scenario.Faults`), so the request goes through botocore's real retry logic and
response parsing, as it would against AWS, a proxy or a wrong endpoint.
"""

from __future__ import annotations

import socket
import threading
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import audit_scenario as scenario
from auditor import audit
from auditor.audit import (
    NO_CREDENTIALS,
    NOTHING_AUDITED,
    AuditCancelled,
    AuditError,
    AuditOptions,
    CallRecorder,
    check_regions,
    explain,
    run_audit,
)
from auditor.rules import load_rules
from auditor.sources import aws

REGION = "us-east-1"
FAILING_REGION = "eu-west-1"
NOT_AWS = "(is AWS_ENDPOINT_URL or a proxy answering instead of AWS?)"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path):
    scenario.isolate_environment(monkeypatch, tmp_path)


@pytest.fixture
def faults(monkeypatch):
    return scenario.install_faults(monkeypatch)


def seed_unscaled(region: str, session: boto3.Session | None = None) -> None:
    c = scenario.clients(region, session)
    scenario.add_model(c, "custom")
    scenario.add_endpoint(c, "unscaled")


def unscaled_regions(result) -> set:
    return {(f.location.account, f.location.region) for f in result.findings if f.rule_id == "SW101"}


def audit_two_regions(**options):
    with mock_aws():
        seed_unscaled(REGION)
        seed_unscaled(FAILING_REGION)
        return run_audit(AuditOptions(regions=(REGION, FAILING_REGION), **options), load_rules(), {}, {})


# --- AWS errors ------------------------------------------------------------------------------------


def test_access_denied_in_one_region_fails_only_that_scope(faults):
    faults.add("application-auto-scaling", "DescribeScalableTargets", "AccessDeniedException", region=FAILING_REGION)
    result = audit_two_regions()
    [error] = result.errors
    assert (error.account, error.region) == (scenario.ACCOUNT, FAILING_REGION)
    assert error.message == ("DescribeScalableTargets: AccessDeniedException: injected AccessDeniedException "
                             "(the audit needs the permissions `sagewise iam-policy` prints)")
    assert unscaled_regions(result) == {(scenario.ACCOUNT, REGION)}


def test_throttling_is_retried_until_it_succeeds(faults):
    with mock_aws():
        seed_unscaled(REGION)
        faults.add("sagemaker", "DescribeEndpointConfig", "ThrottlingException", times=2)
        seeded = len(faults.seen)
        result = run_audit(AuditOptions(regions=(REGION,), max_attempts=5), load_rules(), {}, {})
    assert result.errors == []
    assert unscaled_regions(result) == {(scenario.ACCOUNT, REGION)}
    sent = faults.seen[seeded:]
    assert sent.count(("sagemaker", "DescribeEndpointConfig", REGION)) == 3  # two throttled, then answered
    assert result.stats["api_calls"]["sagemaker:DescribeEndpointConfig"] == 1  # one call, retried by botocore


def test_throttling_beyond_the_attempts_is_an_error_of_the_scope(faults):
    faults.add("sagemaker", "Search", "ThrottlingException", region=FAILING_REGION)
    result = audit_two_regions(max_attempts=2)
    [error] = result.errors
    assert error.region == FAILING_REGION and error.message.startswith("Search: ThrottlingException")
    assert faults.seen.count(("sagemaker", "Search", FAILING_REGION)) == 2
    assert unscaled_regions(result) == {(scenario.ACCOUNT, REGION)}


def test_disabled_opt_in_region_and_expired_credentials_name_their_cause(faults):
    faults.add("sagemaker", "Search", "UnrecognizedClientException", region="af-south-1")
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
    result = audit_two_regions()
    assert [(e.account, e.region) for e in result.errors] == [(None, FAILING_REGION), (None, REGION)]
    assert "credentials have expired" in result.errors[0].message
    assert result.findings == [] and result.stats["scopes"] == 0


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


# --- Answers that are not AWS's ------------------------------------------------------------------


def test_an_html_page_from_a_proxy_is_an_error_not_an_empty_region(faults):
    faults.respond("sagemaker", "Search", 200, b"<!DOCTYPE html><html><body>Sign in to the proxy</body></html>",
                   region=FAILING_REGION)
    result = audit_two_regions()
    [error] = result.errors
    assert (error.account, error.region) == (scenario.ACCOUNT, FAILING_REGION)
    assert error.message == f"Search: HTTP 200 with an HTML page instead of an AWS response {NOT_AWS}"
    assert unscaled_regions(result) == {(scenario.ACCOUNT, REGION)}


def test_an_empty_404_is_an_error_of_the_scope(faults):
    faults.respond("application-auto-scaling", "DescribeScalingPolicies", 404, b"", content_type=None,
                   region=FAILING_REGION)
    result = audit_two_regions(max_attempts=1)
    [error] = result.errors
    assert error.region == FAILING_REGION and error.message == f"DescribeScalingPolicies: HTTP 404 {NOT_AWS}"


def test_a_response_sts_cannot_parse_is_an_error(faults):
    faults.respond("sts", "GetCallerIdentity", 404, b"", content_type=None)  # query protocol: a parser error
    result = audit_two_regions(max_attempts=1)
    assert [(e.account, e.region) for e in result.errors] == [(None, FAILING_REGION), (None, REGION)]
    assert result.errors[0].message.startswith("GetCallerIdentity: Unable to parse response")
    assert result.errors[0].message.endswith(NOT_AWS) and "\n" not in result.errors[0].message


def test_a_failure_while_assuming_a_role_fails_that_account_only(faults):
    faults.respond("sts", "AssumeRole", 200, b"<html>captive portal</html>")
    with mock_aws():
        seed_unscaled(REGION)
        options = AuditOptions(regions=(REGION,), accounts=(scenario.ACCOUNT, "222222222222"), role_name="Audit")
        result = run_audit(options, load_rules(), {}, {})
    [error] = result.errors
    assert (error.account, error.region) == ("222222222222", REGION)
    assert error.message == ("cannot assume arn:aws:iam::222222222222:role/Audit: AssumeRole: HTTP 200 with an HTML "
                             f"page instead of an AWS response {NOT_AWS}")
    assert unscaled_regions(result) == {(scenario.ACCOUNT, REGION)}  # the caller's own account: no role needed


def test_any_exception_in_a_scope_is_that_scopes_error(monkeypatch):
    """A response without a field the API marks optional, or a bug: one line for the scope, never a traceback."""
    def missing_field(autoscaling, scope):
        if scope.region == FAILING_REGION:
            raise KeyError("EndpointConfigName")
        return []

    monkeypatch.setattr(aws, "_scaling_policies", missing_field)
    result = audit_two_regions()
    [error] = result.errors
    assert (error.region, error.message) == (FAILING_REGION, "KeyError: 'EndpointConfigName'")
    assert unscaled_regions(result) == {(scenario.ACCOUNT, REGION)}


def test_a_call_that_never_answers_times_out(monkeypatch):
    """An endpoint that accepts connections and never answers fails within the read timeout, with a hint."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the backlog; nothing is ever read or written
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        result = run_audit(AuditOptions(regions=(REGION,), read_timeout=0.2, max_attempts=1), load_rules(), {}, {})
    [error] = result.errors
    assert error.message.startswith("GetCallerIdentity: Read timeout on endpoint URL")
    assert error.message.endswith("(no answer within the read timeout (--read-timeout))")


# --- Credentials and partitions ------------------------------------------------------------------


def test_assumed_role_credentials_are_refreshed_as_they_expire(faults):
    """Credentials that expire within botocore's refresh window are assumed again instead of failing late."""
    soon = (datetime.now(timezone.utc) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    faults.respond("sts", "AssumeRole", 200, (
        '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>'
        "<AccessKeyId>ASIAEXAMPLEEXAMPLE01</AccessKeyId><SecretAccessKey>secret</SecretAccessKey>"
        f"<SessionToken>token</SessionToken><Expiration>{soon}</Expiration></Credentials><AssumedRoleUser>"
        "<AssumedRoleId>AROAEXAMPLE:sagewise-audit</AssumedRoleId>"
        "<Arn>arn:aws:sts::222222222222:assumed-role/Audit/sagewise-audit</Arn></AssumedRoleUser>"
        "</AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>"
    ).encode(), content_type="text/xml")
    with mock_aws():
        seed_unscaled(REGION)
        options = AuditOptions(regions=(REGION,), accounts=("222222222222",), role_name="Audit")
        result = run_audit(options, load_rules(), {}, {})
    assert result.errors == [] and unscaled_regions(result)
    assert result.stats["api_calls"]["sts:AssumeRole"] > 1  # refreshed, not assumed once for the whole run


def test_without_a_configured_region_each_partitions_sts_region_is_asked(faults, monkeypatch):
    """China credentials are unknown in us-east-1: the identity is asked of aws-cn's own STS region next."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    faults.add("sts", "GetCallerIdentity", "InvalidClientTokenId", region="us-east-1", status=403)
    regions = "".join(f"<item><regionName>{name}</regionName><regionEndpoint>ec2.{name}.amazonaws.com.cn"
                      "</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>"
                      for name in ("cn-north-1", "cn-northwest-1"))
    faults.respond("ec2", "DescribeRegions", 200, (
        '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>'
        f"<regionInfo>{regions}</regionInfo></DescribeRegionsResponse>").encode(), content_type="text/xml")
    with mock_aws():
        result = run_audit(AuditOptions(all_regions=True), load_rules(), {}, {})
    identity = [region for service, operation, region in faults.seen if operation == "GetCallerIdentity"]
    assert identity == ["us-east-1", "cn-north-1"]
    assert ("ec2", "DescribeRegions", "cn-north-1") in faults.seen
    assert result.errors == [] and result.stats["scopes"] == 2  # the two aws-cn regions


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
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1 ")
    with pytest.raises(AuditError, match="the session's region 'us-east-1 '"):
        run_audit(AuditOptions(), load_rules(), {}, {})


@pytest.mark.parametrize("regions, message", [
    (("us-east-9",), "--region 'us-east-9' is not a region that botocore"),
    (("useast1",), "--region 'useast1' is not a region"),
    (("us-east-1", "cn-north-1"), "--region values span partitions (aws, aws-cn)"),
])
def test_regions_are_checked_against_botocores_partition_data(regions, message):
    with pytest.raises(AuditError) as raised:
        check_regions(regions)
    assert str(raised.value).startswith(message)
    check_regions(("us-gov-west-1", "us-gov-east-1"))


def test_nothing_left_to_audit_is_an_error_not_a_pass():
    with mock_aws():
        options = AuditOptions(regions=(REGION,), accounts=(scenario.ACCOUNT,), exclude_accounts=(scenario.ACCOUNT,),
                               role_name="Audit")
        result = run_audit(options, load_rules(), {}, {})
    assert [error.message for error in result.errors] == [NOTHING_AUDITED]
    assert result.stats["scopes"] == 0


def test_explain_keeps_operation_code_and_message():
    error = ClientError({"Error": {"Code": "ValidationException", "Message": " bad input "}}, "DescribeEndpoint")
    assert explain(error) == "DescribeEndpoint: ValidationException: bad input"
    assert explain(error, resource="churn") == "DescribeEndpoint churn: ValidationException: bad input"
    long = ClientError({"Error": {"Code": "Odd", "Message": "x" * 1000 + "\nsecond line"}}, "Search")
    assert len(explain(long)) == 300 and "\n" not in explain(long)


def test_a_lookback_window_shorter_than_a_day_is_refused():
    with pytest.raises(AuditError, match="lookback_days must be a whole number of days, at least 1"):
        run_audit(AuditOptions(regions=(REGION,)), load_rules(), {"SW303": {"lookback_days": 0}}, {})


# --- Ctrl-C ----------------------------------------------------------------------------------------


def test_cancelled_clients_refuse_their_next_call():
    recorder = CallRecorder()
    with mock_aws():
        sagemaker = recorder.attach(boto3.client("sagemaker", region_name=REGION))
        sagemaker.search(Resource="Endpoint")
        recorder.cancel()
        with pytest.raises(AuditCancelled):
            sagemaker.search(Resource="Endpoint")
    assert recorder.calls == {"sagemaker:Search": 1}


def test_ctrl_c_drops_the_queued_scopes_and_stops_the_running_ones(faults, monkeypatch):
    regions = ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
               "ap-south-1", "ap-northeast-1", "sa-east-1")

    def interrupt(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(audit._Progress, "advance", interrupt)  # Ctrl-C as the first scope completes
    with mock_aws():
        with pytest.raises(KeyboardInterrupt):
            run_audit(AuditOptions(regions=regions, jobs=2), load_rules(), {}, {})
        for thread in threading.enumerate():
            if thread.name.startswith("sagewise-audit"):
                thread.join()
    touched = {region for service, _, region in faults.seen if service == "sagemaker"}
    assert 1 <= len(touched) <= 2  # the scope that completed and the one running; none of the queued eight
