"""``sagewise audit``: the rule set over live accounts, read-only, one scope's failure isolated.

The run has two phases on one bounded thread pool. First each account is opened: its boto3
session (the caller's, or an assumed role), the regions to read, and one set of clients per region.
Then every account x region scope is collected by :mod:`auditor.sources.aws` into the normalized
model, and the merged model is evaluated by :mod:`auditor.engine` from the same rule files as lint.

A scope that cannot be read (access denied, a disabled opt-in region, a role that cannot be
assumed, expired credentials) becomes one :class:`~auditor.findings.InputError` with its account and
region, and the other scopes still complete. Throttling is botocore's job: standard retry mode with
a configurable number of attempts. Every API call goes through :class:`CallRecorder`, which counts
it for ``--stats`` and refuses any operation that is not a read.

This module imports boto3; the lint path never imports it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from . import engine, rightsizing
from .findings import InputError
from .model import ResourceModel
from .rules import load_rules
from .sources import aws

ROLE_SESSION_NAME = "sagewise-audit"
CONTROL_REGION = "us-east-1"
"""Where account-level calls go (STS, Organizations, region listing) when no region is given."""
NO_CREDENTIALS = (
    "no AWS credentials found: pass --profile, set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
    "or run where an instance or container role is available"
)


@dataclass
class AuditOptions:
    profile: str | None = None
    regions: tuple = ()
    """Empty: the session's region."""
    all_regions: bool = False
    """Every region enabled for each account (where SageMaker exists)."""
    accounts: tuple = ()
    """Accounts reached through ``role_name``; empty: the caller's account."""
    role_name: str | None = None
    organization: bool = False
    """Every ACTIVE account of the caller's organization, through ``role_name``."""
    jobs: int = 4
    max_attempts: int = 5
    """Attempts per API call, the first included (botocore standard retry mode)."""
    training_days: int = 14
    progress: bool = False


@dataclass
class AuditResult:
    findings: list
    errors: list
    stats: dict


class AuditError(Exception):
    """The audit cannot start at all (no credentials, no region, unknown profile); one line."""


class ReadOnlyViolation(Exception):
    """Something tried to call an operation that could change an account."""


class CallRecorder:
    """Counts every API call by IAM action, and refuses any call that is not a read.

    Attached to each session before its clients exist (clients copy the session's event hooks
    when they are created), so no client of the audit can escape it. The guard runs on
    ``provide-client-params``, before a request is even built; the counter on ``before-call``,
    registered first so that it also sees calls that a stub answers.
    """

    READ_PREFIXES = ("Describe", "List", "Get")
    ALSO_ALLOWED = frozenset({"sts:AssumeRole", "sts:GetCallerIdentity"})

    def __init__(self):
        self._lock = threading.Lock()
        self._calls: Counter = Counter()

    def attach(self, session: boto3.Session) -> boto3.Session:
        # ``*.*``: botocore runs handlers of more specific event names first; a stub's is ``before-call.*.*``.
        session.events.register_first("provide-client-params.*.*", self._refuse_writes)
        session.events.register_first("before-call.*.*", self._count)
        return session

    @property
    def calls(self) -> dict:
        """IAM action (``sagemaker:ListEndpoints``) -> number of calls, sorted by action."""
        with self._lock:
            return dict(sorted(self._calls.items()))

    @staticmethod
    def action(operation_model) -> str:
        return f"{operation_model.service_model.service_name}:{operation_model.name}"

    def _refuse_writes(self, model, **_):
        action = self.action(model)
        if not model.name.startswith(self.READ_PREFIXES) and action not in self.ALSO_ALLOWED:
            raise ReadOnlyViolation(f"sagewise audit is read-only and refused to call {action}")

    def _count(self, model, **_):
        with self._lock:
            self._calls[self.action(model)] += 1


@dataclass
class _Account:
    """An account ready to be read: its session's clients per region, or why it cannot be."""

    id: str | None
    clients: dict = field(default_factory=dict)
    """Region -> :class:`aws.RegionClients`."""
    error: str | None = None
    regions: tuple = ()
    """Regions an error applies to (empty: the account's regions could not be determined)."""


def run_audit(options: AuditOptions, rules: list, params: dict, severities: dict) -> AuditResult:
    """Audit the scopes ``options`` names with ``rules`` (``params``: rule id -> overrides)."""
    started = time.monotonic()
    recorder = CallRecorder()
    settings = collect_settings(rules, params, options.training_days)
    opener = _AccountOpener(options, recorder)
    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        accounts = opener.accounts(pool)
        errors = [InputError(account.error, account=account.id, region=region)
                  for account in accounts if account.error for region in account.regions or (None,)]
        scopes = [(account.id, region, clients) for account in accounts for region, clients in account.clients.items()]
        model = ResourceModel()
        progress = _Progress(len(scopes), enabled=options.progress)
        futures = [pool.submit(_collect_scope, clients, account_id, region, settings)
                   for account_id, region, clients in scopes]
        for future in as_completed(futures):
            scope_model, error = future.result()
            if error is not None:
                errors.append(error)
            else:
                model.extend(scope_model)
            progress.advance()
        progress.close()
    findings = engine.evaluate(model, rules, params, severities)
    stats = {
        "api_calls": recorder.calls,
        "scopes": len(scopes),
        "seconds": round(time.monotonic() - started, 3),
        "endpoints": len(model.endpoints),
    }
    return AuditResult(findings=findings, errors=sorted(errors, key=InputError.sort_key), stats=stats)


def collect_settings(rules: list, params: dict, training_days: int) -> aws.CollectSettings:
    """What the collector needs from the rules' parameters (defaults merged with overrides).

    The metrics window is SW303's ``lookback_days`` and the oversized thresholds are SW301's, even
    when those rules are not selected (their built-in defaults apply then): the evidence is the
    same whichever rules read it.
    """
    idle = _rule_params("SW303", rules, params)
    if not isinstance(idle["lookback_days"], int) or idle["lookback_days"] < 1:
        raise AuditError("SW303 lookback_days must be a whole number of days, at least 1 "
                         f"(got {idle['lookback_days']!r})")
    oversized = _rule_params("SW301", rules, params)
    thresholds = [oversized.get(name) for name in ("cpu_threshold_per_vcpu", "memory_threshold",
                                                    "gpu_threshold_per_gpu")]
    return aws.CollectSettings(
        lookback_days=idle["lookback_days"],
        training_days=training_days,
        headroom=None if None in thresholds else rightsizing.Headroom(*(float(value) for value in thresholds)),
    )


def _rule_params(rule_id: str, rules: list, params: dict) -> dict:
    rule = next((rule for rule in rules if rule.id == rule_id), None)
    if rule is None:
        rule = next((rule for rule in load_rules() if rule.id == rule_id), None)
    defaults = rule.default_params() if rule is not None else {}
    return {**defaults, **params.get(rule_id, {})}


def _collect_scope(clients: aws.RegionClients, account_id: str, region: str,
                   settings: aws.CollectSettings) -> tuple[ResourceModel | None, InputError | None]:
    try:
        return aws.collect(clients, account_id, region, settings), None
    except (ClientError, BotoCoreError) as exc:
        return None, InputError(explain(exc), account=account_id, region=region)


class _AccountOpener:
    """Sessions, regions and clients for every account the options name."""

    def __init__(self, options: AuditOptions, recorder: CallRecorder):
        self.options = options
        self.recorder = recorder
        # total_max_attempts counts the first attempt too (botocore's max_attempts counts only retries).
        self.config = Config(retries={"mode": "standard", "total_max_attempts": options.max_attempts},
                             user_agent_extra="sagewise-audit")
        try:
            self.base = recorder.attach(boto3.Session(profile_name=options.profile))
        except ProfileNotFound as exc:
            raise AuditError(str(exc)) from None
        if self.base.get_credentials() is None:
            raise AuditError(NO_CREDENTIALS)
        self.home_region = (options.regions[0] if options.regions else None) or self.base.region_name
        if self.home_region is None and not options.all_regions:
            raise AuditError("no AWS region: pass --region or --all-regions, or set AWS_REGION")
        self.home_region = self.home_region or CONTROL_REGION

    def accounts(self, pool: ThreadPoolExecutor) -> list[_Account]:
        """Open every account (in parallel); what fails is returned as an account with an error."""
        sts = self.base.client("sts", region_name=self.home_region, config=self.config)
        try:
            identity = sts.get_caller_identity()
        except (ClientError, BotoCoreError) as exc:
            return [_Account(None, error=explain(exc), regions=tuple(self.options.regions))]
        partition = identity["Arn"].split(":")[1]
        if not (self.options.accounts or self.options.organization):
            return [self._open(self.base, identity["Account"], partition)]
        account_ids = list(self.options.accounts)
        unlisted = []
        if self.options.organization:
            try:
                account_ids += [a for a in self._organization_accounts() if a not in account_ids]
            except (ClientError, BotoCoreError) as exc:
                unlisted.append(_Account(None, error=f"cannot list the organization's accounts: {explain(exc)}"))
        return unlisted + list(pool.map(lambda account_id: self._assume(sts, account_id, partition), account_ids))

    def _organization_accounts(self) -> list[str]:
        organizations = self.base.client("organizations", region_name=self.home_region, config=self.config)
        return [account["Id"]
                for page in organizations.get_paginator("list_accounts").paginate()
                for account in page["Accounts"]
                if (account.get("State") or account.get("Status")) == "ACTIVE"]

    def _assume(self, sts, account_id: str, partition: str) -> _Account:
        role_arn = f"arn:{partition}:iam::{account_id}:role/{self.options.role_name}"
        try:
            credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME)["Credentials"]
        except (ClientError, BotoCoreError) as exc:
            return _Account(account_id, error=f"cannot assume {role_arn}: {explain(exc)}",
                            regions=tuple(self.options.regions))
        session = self.recorder.attach(boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=self.home_region,
        ))
        return self._open(session, account_id, partition)

    def _open(self, session: boto3.Session, account_id: str, partition: str) -> _Account:
        try:
            regions = self.options.regions or (
                self._enabled_regions(session, partition) if self.options.all_regions else (self.home_region,))
        except (ClientError, BotoCoreError) as exc:
            return _Account(account_id, error=f"cannot list the account's regions: {explain(exc)}")
        clients = {
            region: aws.RegionClients(
                sagemaker=session.client("sagemaker", region_name=region, config=self.config),
                autoscaling=session.client("application-autoscaling", region_name=region, config=self.config),
                cloudwatch=session.client("cloudwatch", region_name=region, config=self.config),
            )
            for region in dict.fromkeys(regions)
        }
        return _Account(account_id, clients=clients)

    def _enabled_regions(self, session: boto3.Session, partition: str) -> list[str]:
        """Regions enabled for the account (EC2 DescribeRegions) that offer SageMaker, sorted."""
        ec2 = session.client("ec2", region_name=self.home_region, config=self.config)
        enabled = {region["RegionName"] for region in ec2.describe_regions()["Regions"]}
        return sorted(enabled & set(session.get_available_regions("sagemaker", partition_name=partition)))


_HINTS = {
    "AccessDenied": "the audit needs the actions in auditor/data/audit-iam-policy.json",
    "AccessDeniedException": "the audit needs the actions in auditor/data/audit-iam-policy.json",
    "UnauthorizedOperation": "the audit needs the actions in auditor/data/audit-iam-policy.json",
    "UnrecognizedClientException": "is this opt-in region enabled for the account?",
    "InvalidClientTokenId": "is this opt-in region enabled for the account?",
    "ExpiredToken": "the credentials have expired; refresh them",
    "ExpiredTokenException": "the credentials have expired; refresh them",
    "RequestExpired": "the credentials have expired; refresh them",
}


def explain(exc: Exception) -> str:
    """One line for an API failure: the operation, AWS's error code and message, and a hint."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        hint = _HINTS.get(code)
        text = f"{exc.operation_name}: {code}: {error.get('Message', '').strip()}"
        return f"{text} ({hint})" if hint else text
    return str(exc)


class _Progress:
    """A one-line progress bar over scopes on standard error (only when asked: a terminal)."""

    WIDTH = 30

    def __init__(self, total: int, *, enabled: bool, stream=None):
        self.total = total
        self.done = 0
        self.enabled = enabled and total > 0
        self.stream = stream or sys.stderr
        self._draw()

    def advance(self) -> None:
        self.done += 1
        self._draw()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (self.WIDTH + 40) + "\r")
            self.stream.flush()

    def _draw(self) -> None:
        if not self.enabled:
            return
        filled = self.WIDTH * self.done // self.total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\raudit [{bar}] {self.done}/{self.total} account x region scopes")
        self.stream.flush()
