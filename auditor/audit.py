"""``sagewise audit``: the rule set over live accounts, read-only, every failure contained.

The run reads the caller's identity once, lists the accounts to audit, and then works through
them on one bounded thread pool: an account is *opened* (its role assumed, its regions listed, its
clients created) only when a worker is free for it, and its account x region scopes are queued
ahead of the next account. So a long organization audit assumes each role just before that
account's scopes run, and the assumed credentials refresh themselves (botocore's refreshable
credentials) when an account takes longer than its session. Each scope is collected by
:mod:`auditor.sources.aws` into the normalized model, and the merged model is evaluated by
:mod:`auditor.engine` from the same rule files as lint.

Whatever fails (access denied, a disabled opt-in region, a role that cannot be assumed, expired
credentials, a proxy answering HTML, a timeout, a response missing a field) becomes one
:class:`~auditor.findings.InputError` with its account and region, and the other scopes complete.
Throttling is botocore's job: standard retry mode with a configurable number of attempts.

Every client the audit creates is guarded by :class:`CallRecorder`: it counts each call for
``--stats``, refuses any operation that is not in :data:`auditor.iam.AUDIT_ACTIONS` before a
request is built, and stops every scope at its next call once the audit is cancelled (Ctrl-C).
The guard is on the audit's clients only: botocore's own credential clients (web identity, SSO)
must be free to call ``AssumeRoleWithWebIdentity`` or ``CreateToken``.

This module imports boto3; the lint path never imports it.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import ClientError, ProfileNotFound

from . import engine, faults, iam, rightsizing
from .faults import explain
from .findings import InputError
from .model import ResourceModel
from .rules import load_rules
from .sources import aws

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
"""Seconds. botocore's defaults (60 s each, five attempts) let an endpoint that accepts and never
answers hold a scope for five minutes; AWS answers a read in well under a second."""
STS_REGIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
"""Where account-level calls (STS, Organizations, region listing) go when no region is configured,
per partition. Credentials of one partition are unknown in the others, so without a region the
caller's identity is asked of each in turn."""
NO_CREDENTIALS = (
    "no AWS credentials found: pass --profile, set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
    "or run where an instance or container role is available"
)
NOTHING_AUDITED = "nothing was audited: no account and region was left to read (see --account and --exclude-account)"
_UNKNOWN_CREDENTIALS = frozenset({"InvalidClientTokenId", "UnrecognizedClientException"})


@dataclass
class AuditOptions:
    profile: str | None = None
    regions: tuple = ()
    """Empty: the session's region."""
    all_regions: bool = False
    """Every region enabled for each account (where SageMaker exists)."""
    accounts: tuple = ()
    """Accounts reached through ``role_name``; empty: the caller's account."""
    exclude_accounts: tuple = ()
    role_name: str | None = None
    external_id: str | None = None
    role_session_name: str = iam.DEFAULT_ROLE_SESSION_NAME
    duration_seconds: int | None = None
    """Of each assumed-role session (STS's default, one hour, when ``None``); sessions refresh anyway."""
    organization: bool = False
    """Every ACTIVE account of the caller's organization: the caller's own with its credentials, the rest
    through ``role_name``."""
    jobs: int = 4
    max_attempts: int = 5
    """Attempts per API call, the first included (botocore standard retry mode)."""
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    training_days: int = 14
    progress: bool = False


@dataclass
class AuditResult:
    findings: list
    errors: list
    stats: dict
    model: ResourceModel = field(default_factory=ResourceModel)
    """Everything that was read, linked (``sagewise remediate`` plans from the findings' neighbours)."""
    clients: dict = field(default_factory=dict)
    """(account, region) -> :class:`aws.RegionClients` of every scope read, still behind the audit's guard."""
    warnings: list = field(default_factory=list)
    """One line each, with the account and region they concern (``account/region: ...``)."""
    scopes: dict = field(default_factory=dict)
    """(account, region) -> endpoints read there by status, for every scope that was read: a scheduled run
    writes one report per scope (:mod:`auditor.lambda_handler`), including the scopes with nothing to report."""


class AuditError(Exception):
    """The audit cannot start at all (no credentials, no region, unknown profile, bad options); one line."""


class ReadOnlyViolation(Exception):
    """Something tried to call an operation that the audit does not make (it could change an account)."""


class AuditCancelled(BaseException):
    """The audit was cancelled (Ctrl-C): raised in every scope at its next API call.

    A ``BaseException``, like ``KeyboardInterrupt``, so that no handler meant for failures contains it.
    """


class CallRecorder:
    """Guards the audit's clients: counts every call, refuses what the audit does not do, stops on cancel.

    Attached to each client the audit creates, never to a session: a session's hooks are copied
    into every client made from it, including those botocore makes to fetch credentials (web
    identity, SSO), which must call operations the audit itself never does. The guard runs on
    ``provide-client-params``, before a request is even built; the counter on ``before-call``,
    registered first so that it also sees calls that a stub answers.
    """

    def __init__(self, allowed: frozenset = iam.AUDIT_ACTIONS,
                 refusal: str = "sagewise audit is read-only and refused to call"):
        self._lock = threading.Lock()
        self._calls: Counter = Counter()
        self._cancelled = threading.Event()
        self._allowed = allowed
        """IAM actions the clients may call: the audit's reads, or (``sagewise remediate --apply``) its fixes' calls."""
        self._refusal = refusal

    def attach(self, client):
        events = client.meta.events
        events.register_first("provide-client-params.*.*", self._refuse)
        events.register_first("before-call.*.*", self._count)
        events.register_first("before-parse.*.*", self._refuse_non_aws_answers)
        events.register("after-call-error.*.*", self._name_operation)
        return client

    @property
    def calls(self) -> dict:
        """IAM action (``sagemaker:Search``) -> number of calls, sorted by action."""
        with self._lock:
            return dict(sorted(self._calls.items()))

    def cancel(self) -> None:
        self._cancelled.set()

    @staticmethod
    def action(operation_model) -> str:
        return f"{operation_model.service_model.service_name}:{operation_model.name}"

    def _refuse(self, model, **_):
        if self._cancelled.is_set():
            raise AuditCancelled()
        action = self.action(model)
        if action not in self._allowed:
            raise ReadOnlyViolation(f"{self._refusal} {action}")

    def _count(self, model, **_):
        with self._lock:
            self._calls[self.action(model)] += 1

    @staticmethod
    def _refuse_non_aws_answers(response_dict, **_):
        """A 2xx HTML page or empty body is a proxy or a wrong endpoint, which botocore would read as "nothing"."""
        status, body = response_dict.get("status_code", 0), response_dict.get("body")
        if not 200 <= status < 300 or not isinstance(body, bytes):
            return
        start = body.lstrip()[:15].lower()
        if not start:
            raise faults.UnexpectedResponse(f"HTTP {status} with an empty body, which AWS never sends")
        if start.startswith((b"<!doctype html", b"<html")):
            raise faults.UnexpectedResponse(f"HTTP {status} with an HTML page instead of an AWS response")

    @staticmethod
    def _name_operation(exception, event_name, **_):
        setattr(exception, faults.OPERATION, event_name.rsplit(".", 1)[-1])


@dataclass
class _Account:
    """An account ready to be read: its clients per region, or why it cannot be."""

    id: str | None
    clients: dict = field(default_factory=dict)
    """Region -> :class:`aws.RegionClients`."""
    error: str | None = None
    regions: tuple = ()
    """Regions an error applies to (empty: the account's regions could not be determined)."""


def run_audit(options: AuditOptions, rules: list, params: dict, severities: dict) -> AuditResult:
    """Audit the scopes ``options`` names with ``rules`` (``params``: rule id -> overrides)."""
    started = time.monotonic()
    check_regions(options.regions)
    settings = collect_settings(rules, params, options.training_days)
    recorder = CallRecorder()
    opener = _AccountOpener(options, recorder)
    account_ids, errors = opener.accounts()
    run = _Run(options, opener, settings)
    run.errors += errors
    pool = ThreadPoolExecutor(max_workers=options.jobs, thread_name_prefix="sagewise-audit")
    try:
        run.work_through(pool, account_ids)
    except BaseException:  # Ctrl-C: queued work is dropped, running scopes stop at their next call
        recorder.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    if not run.clients and not run.errors:
        run.errors.append(InputError(NOTHING_AUDITED))
    findings = engine.evaluate(run.model, rules, params, severities)
    scopes = {scope: Counter() for scope in run.clients}
    for endpoint in run.model.endpoints:
        scopes[(endpoint.location.account, endpoint.location.region)][endpoint.status or "unknown"] += 1
    stats = {
        "api_calls": recorder.calls,
        "scopes": len(run.clients),
        "seconds": round(time.monotonic() - started, 3),
        "endpoints": len(run.model.endpoints),
        "endpoints_by_status": dict(sorted(Counter(e.status or "unknown" for e in run.model.endpoints).items())),
    }
    return AuditResult(findings=findings, errors=sorted(run.errors, key=InputError.sort_key), stats=stats,
                       warnings=run.warnings, scopes={scope: dict(sorted(counts.items()))
                                                      for scope, counts in scopes.items()},
                       model=run.model, clients=run.clients)


def list_accounts(options: AuditOptions) -> tuple[list, list]:
    """The account IDs an audit with ``options`` would read, and the errors met listing them.

    What a scheduled organization audit fans out over, one run per account (``--organization``,
    ``--account`` and ``--exclude-account`` as the audit itself applies them, through the same guarded clients).
    """
    return _AccountOpener(options, CallRecorder()).accounts()


def check_regions(regions) -> None:
    """Refuse a region botocore does not know, and regions from more than one partition (one set of
    credentials never spans partitions)."""
    partitions = set()
    for region in regions:
        partition = partition_of(region)
        if partition is None:
            raise AuditError(f"--region {region!r} is not a region that botocore {botocore.__version__} "
                             "knows to offer SageMaker")
        partitions.add(partition)
    if len(partitions) > 1:
        raise AuditError(f"--region values span partitions ({', '.join(sorted(partitions))}); "
                         "audit each partition with its own credentials")


def partition_of(region: str) -> str | None:
    """The partition of a region that offers SageMaker, so of every region an audit reads; ``None`` for any other."""
    return _sagemaker_regions().get(region)


def role_arn(partition: str, account: str, name: str) -> str:
    """The ARN of role ``name`` in ``account``: the audit's role, or the scheduled run's Security Hub import role."""
    return f"arn:{partition}:iam::{account}:role/{name}"


@functools.lru_cache(maxsize=1)
def _sagemaker_regions() -> dict:
    """Region -> partition, for every region botocore's partition data says offers SageMaker."""
    session = botocore.session.get_session()
    return {region: partition for partition in session.get_available_partitions()
            for region in session.get_available_regions("sagemaker", partition_name=partition)}


def open_scopes(options: AuditOptions, recorder: CallRecorder) -> tuple[dict, list]:
    """Clients of the account x region scopes ``options`` names, behind ``recorder``, opened one account
    after another the audit's way (assumed roles, refreshable credentials, timeouts), and the errors
    (:class:`InputError`) of what could not be opened.

    For ``sagewise remediate --apply`` and ``sagewise undo``, which read and change chosen resources
    of known scopes rather than audit them. An account other than the caller's needs ``role_name``.
    """
    check_regions(options.regions)
    opener = _AccountOpener(options, recorder)
    account_ids, errors = opener.accounts()
    clients = {}
    for account_id in account_ids:
        if account_id != opener.caller and not options.role_name:
            errors += [InputError(f"the credentials are for account {opener.caller}, not {account_id}: pass "
                                  "--role-name to reach it through a role", account=account_id, region=region)
                       for region in options.regions or (None,)]
            continue
        account = opener.open(account_id)
        if account.error:
            errors += [InputError(account.error, account=account.id, region=region)
                       for region in account.regions or (None,)]
        clients.update(((account.id, region), region_clients) for region, region_clients in account.clients.items())
    return clients, errors


def collect_settings(rules: list, params: dict, training_days: int) -> aws.CollectSettings:
    """What the collector needs from the rules' parameters (defaults merged with overrides).

    The metrics window is SW303's ``lookback_days``, the oversized thresholds are SW301's, the spot
    discount is SW203's and the memory of a function that loads a model SW401's ``min_memory_mb``, even
    when those rules are not selected (their built-in defaults apply then): the evidence is the same
    whichever rules read it.
    """
    idle = _rule_params("SW303", rules, params)
    if not isinstance(idle["lookback_days"], int) or idle["lookback_days"] < 1:
        raise AuditError("SW303 lookback_days must be a whole number of days, at least 1 "
                         f"(got {idle['lookback_days']!r})")
    oversized = _rule_params("SW301", rules, params)
    thresholds = [oversized.get(name) for name in ("cpu_threshold_per_vcpu", "memory_threshold",
                                                    "gpu_threshold_per_gpu")]
    spot_discount = _rule_params("SW203", rules, params)["spot_discount"]
    if isinstance(spot_discount, bool) or not isinstance(spot_discount, (int, float)) or not 0 < spot_discount <= 1:
        raise AuditError(f"SW203 spot_discount must be a fraction above 0 and at most 1 (got {spot_discount!r})")
    model_memory = _rule_params("SW401", rules, params)["min_memory_mb"]
    if isinstance(model_memory, bool) or not isinstance(model_memory, int) or model_memory < 0:
        raise AuditError(f"SW401 min_memory_mb must be a whole number of MB, at least 0 (got {model_memory!r})")
    return aws.CollectSettings(
        lookback_days=idle["lookback_days"],
        training_days=training_days,
        headroom=None if None in thresholds else rightsizing.Headroom(*(float(value) for value in thresholds)),
        spot_discount=float(spot_discount),
        model_memory_mb=model_memory,
    )


def _rule_params(rule_id: str, rules: list, params: dict) -> dict:
    rule = next((rule for rule in rules if rule.id == rule_id), None)
    if rule is None:
        rule = next((rule for rule in load_rules() if rule.id == rule_id), None)
    defaults = rule.default_params() if rule is not None else {}
    return {**defaults, **params.get(rule_id, {})}


class _Run:
    """The accounts and scopes of one audit, worked through on a pool, and what they yielded."""

    def __init__(self, options: AuditOptions, opener: _AccountOpener, settings: aws.CollectSettings):
        self.options = options
        self.opener = opener
        self.settings = settings
        self.model = ResourceModel()
        self.clients: dict = {}
        """(account, region) -> the clients of every scope opened."""
        self.errors: list[InputError] = []
        self.warnings: list[str] = []
        self.progress = _Progress(enabled=options.progress)

    def work_through(self, pool: ThreadPoolExecutor, account_ids: list) -> None:
        """Keep at most ``jobs`` tasks in flight: scopes first, then the next account to open.

        Nothing waits in the pool's queue, so cancelling leaves only the running tasks, and an
        account's role is assumed just before its scopes run rather than all at the start.
        """
        accounts = deque(account_ids)
        scopes: deque = deque()
        running: dict = {}
        while accounts or scopes or running:
            while len(running) < self.options.jobs and (scopes or accounts):
                if scopes:
                    account_id, region, clients = scopes.popleft()
                    future = pool.submit(_collect_scope, clients, account_id, region, self.settings)
                    running[future] = (account_id, region)
                else:
                    running[pool.submit(self.opener.open, accounts.popleft())] = None
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                scope = running.pop(future)
                if scope is None:
                    scopes.extend(self._opened(future.result()))
                else:
                    self._collected(scope, *future.result())
        self.progress.close()

    def _opened(self, account: _Account) -> list:
        if account.error:
            self.errors += [InputError(account.error, account=account.id, region=region)
                            for region in account.regions or (None,)]
        self.clients.update(((account.id, region), clients) for region, clients in account.clients.items())
        self.progress.add(len(account.clients))
        return [(account.id, region, clients) for region, clients in account.clients.items()]

    def _collected(self, scope: tuple, collected: aws.Collected | None, error: InputError | None) -> None:
        account_id, region = scope
        if error is not None:
            self.errors.append(error)
        else:
            self.model.extend(collected.model)
            self.errors += [InputError(message, account=account_id, region=region) for message in collected.errors]
            self.warnings += [f"{account_id}/{region}: {message}" for message in collected.warnings]
        self.progress.advance()


def _collect_scope(clients: aws.RegionClients, account_id: str, region: str,
                   settings: aws.CollectSettings) -> tuple[aws.Collected | None, InputError | None]:
    try:
        return aws.collect(clients, account_id, region, settings), None
    except Exception as exc:
        return None, InputError(explain(exc), account=account_id, region=region)


class _SingleCredentials(CredentialProvider):
    """A credential chain of one link: the refreshable assumed-role credentials of one account."""

    METHOD = "assume-role"

    def __init__(self, credentials):
        super().__init__()
        self._credentials = credentials

    def load(self):
        return self._credentials


class _AccountOpener:
    """The caller's session, the accounts to audit, and each account's clients when its turn comes."""

    def __init__(self, options: AuditOptions, recorder: CallRecorder):
        self.options = options
        self.recorder = recorder
        # total_max_attempts counts the first attempt too (botocore's max_attempts counts only retries).
        self.config = Config(retries={"mode": "standard", "total_max_attempts": options.max_attempts},
                             connect_timeout=options.connect_timeout, read_timeout=options.read_timeout,
                             user_agent_extra="sagewise-audit")
        try:
            self.base = boto3.Session(profile_name=options.profile)
        except ProfileNotFound as exc:
            raise AuditError(str(exc)) from None
        if self.base.get_credentials() is None:
            raise AuditError(NO_CREDENTIALS)
        self._base_lock = threading.Lock()
        """boto3 sessions are not thread-safe; the base one makes clients for several accounts' refreshes."""
        configured = (options.regions[0] if options.regions else None) or self.base.region_name
        if configured is None and not options.all_regions:
            raise AuditError("no AWS region: pass --region or --all-regions, or set AWS_REGION")
        audited = configured is not None and not (options.regions or options.all_regions)
        if audited and partition_of(configured) is None:
            raise AuditError(f"the session's region {configured!r} (AWS_REGION, AWS_DEFAULT_REGION or the "
                             "profile's region) is not a region where SageMaker is offered")
        self.configured_region = configured
        self.control_region = configured or STS_REGIONS["aws"]
        self.caller: str | None = None
        self.partition = "aws"

    def accounts(self) -> tuple[list, list]:
        """The account IDs to audit, and errors (the caller's identity or the organization unreadable)."""
        try:
            identity = self._caller_identity()
        except Exception as exc:
            return [], [InputError(explain(exc), region=region) for region in self.options.regions or (None,)]
        self.caller = identity["Account"]
        self.partition = identity["Arn"].split(":")[1]
        if not (self.options.accounts or self.options.organization):
            ids, errors = [self.caller], []
        else:
            ids, errors = list(dict.fromkeys(self.options.accounts)), []
            if self.options.organization:
                try:
                    ids += [a for a in self._organization_accounts() if a not in ids]
                except Exception as exc:
                    errors.append(InputError(f"cannot list the organization's accounts: {explain(exc)}"))
        excluded = set(self.options.exclude_accounts)
        return [account for account in ids if account not in excluded], errors

    def _caller_identity(self) -> dict:
        """GetCallerIdentity in the configured region, or else in each partition's STS region in turn."""
        regions = [self.configured_region] if self.configured_region else list(STS_REGIONS.values())
        for region in regions[:-1]:
            try:
                return self._identity_in(region)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _UNKNOWN_CREDENTIALS:
                    raise
        return self._identity_in(regions[-1])

    def _identity_in(self, region: str) -> dict:
        identity = self._client(self.base, "sts", region).get_caller_identity()
        self.control_region = region
        return identity

    def _organization_accounts(self) -> list[str]:
        organizations = self._client(self.base, "organizations", self.control_region)
        return [account["Id"]
                for page in organizations.get_paginator("list_accounts").paginate()
                for account in page["Accounts"]
                if (account.get("State") or account.get("Status")) == "ACTIVE"]

    def open(self, account_id: str) -> _Account:
        """The account's session (the caller's own, or its role assumed now), regions and clients."""
        if account_id == self.caller:
            session = self.base
        else:
            role = role_arn(self.partition, account_id, self.options.role_name)
            try:
                session = self._assumed_session(role)
                session.get_credentials().get_frozen_credentials()  # assume now: a refusal fails the account
            except AuditCancelled:
                raise
            except Exception as exc:
                return _Account(account_id, error=f"cannot assume {role}: {explain(exc)}",
                                regions=tuple(self.options.regions))
        try:
            regions = self.options.regions or (
                self._enabled_regions(session) if self.options.all_regions else (self.control_region,))
            clients = {
                region: aws.RegionClients(
                    sagemaker=self._client(session, "sagemaker", region),
                    autoscaling=self._client(session, "application-autoscaling", region),
                    cloudwatch=self._client(session, "cloudwatch", region),
                    awslambda=self._client(session, "lambda", region),
                    ec2_autoscaling=self._client(session, "autoscaling", region),
                    ec2=self._client(session, "ec2", region),
                    ecs=self._client(session, "ecs", region),
                )
                for region in dict.fromkeys(regions)
            }
        except AuditCancelled:
            raise
        except Exception as exc:
            return _Account(account_id, error=f"cannot list the account's regions: {explain(exc)}")
        return _Account(account_id, clients=clients)

    def _assumed_session(self, role_arn: str) -> boto3.Session:
        """A session on ``role_arn`` whose credentials are assumed on first use and refreshed before they expire."""
        extra = {"RoleSessionName": self.options.role_session_name}
        if self.options.external_id:
            extra["ExternalId"] = self.options.external_id
        if self.options.duration_seconds:
            extra["DurationSeconds"] = self.options.duration_seconds
        duration = self.options.duration_seconds or 3600
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=lambda service, **credentials: self._client(self.base, service, self.control_region,
                                                                       **credentials),
            source_credentials=self.base.get_credentials(),
            role_arn=role_arn,
            extra_args=extra,
            # botocore re-assumes 15 minutes before expiry by default: with a 15-minute session, on every call.
            expiry_window_seconds=min(900, duration // 4),
        )
        credentials = DeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials, method="assume-role")
        core = botocore.session.Session(profile=self.options.profile)
        core.register_component("credential_provider", CredentialResolver([_SingleCredentials(credentials)]))
        return boto3.Session(botocore_session=core, region_name=self.control_region)

    def _client(self, session: boto3.Session, service: str, region: str, **kwargs):
        if session is self.base:
            with self._base_lock:
                client = session.client(service, region_name=region, config=self.config, **kwargs)
        else:
            client = session.client(service, region_name=region, config=self.config, **kwargs)
        return self.recorder.attach(client)

    def _enabled_regions(self, session: boto3.Session) -> list[str]:
        """Regions enabled for the account (EC2 DescribeRegions) that offer SageMaker, sorted."""
        ec2 = self._client(session, "ec2", self.control_region)
        enabled = {region["RegionName"] for region in ec2.describe_regions()["Regions"]}
        return sorted(enabled & set(session.get_available_regions("sagemaker", partition_name=self.partition)))


class _Progress:
    """A one-line progress bar over scopes on standard error (only when asked: a terminal).

    Accounts are opened as the audit goes, so the total grows as their regions become known.
    """

    WIDTH = 30

    def __init__(self, *, enabled: bool, stream=None):
        self.total = 0
        self.done = 0
        self.enabled = enabled
        self.stream = stream or sys.stderr

    def add(self, scopes: int) -> None:
        self.total += scopes
        self._draw()

    def advance(self) -> None:
        self.done += 1
        self._draw()

    def close(self) -> None:
        if self.enabled and self.total:
            self.stream.write("\r" + " " * (self.WIDTH + 40) + "\r")
            self.stream.flush()

    def _draw(self) -> None:
        if not self.enabled or not self.total:
            return
        filled = self.WIDTH * self.done // self.total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\raudit [{bar}] {self.done}/{self.total} account x region scopes")
        self.stream.flush()
