"""The scheduled organization audit on AWS's own engines: the Lambda entry points of ``deploy/scheduled-audit.yaml``.

- :func:`handler` audits the accounts and regions of its event and writes one report per account x region
  scope to S3 (``s3://<bucket>/<prefix>/<date>/<account>/<region>/sagewise.json``, ``.sarif``, ``.html``),
  can import the findings into each account's Security Hub and publish a summary to SNS. It works alone
  (an EventBridge schedule with a fixed event) or as the Distributed Map's item processor.
- :func:`list_scopes` is the state machine's first step: the accounts to audit (the organization's, as
  ``sagewise audit --organization`` lists them), written to S3 as the Map's items, one per account x
  region batch.
- :func:`aggregate` is its last: it reads the Map's results (the ``ResultWriter`` manifest), merges the
  reports its runs wrote into one organization report with :func:`auditor.aggregate.merge`, counts the
  runs that failed as errors, writes the report next to the others and publishes the summary.

The deployment's settings are environment variables (:class:`Settings`); the scopes are the event's.
The audit runs through :func:`auditor.audit.run_audit`, read-only behind its own guard. What the run
does besides (S3, SNS, STS for the import role, Security Hub) goes through clients of its own, which
refuse any operation that is not in :data:`auditor.iam.RUNNER_ACTIONS` the same way.

This module imports boto3; nothing on the lint path imports it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone

import boto3
from botocore.config import Config

from . import aggregate as merging
from . import iam, securityhub
from .audit import (
    NOTHING_AUDITED,
    AuditError,
    AuditOptions,
    CallRecorder,
    list_accounts,
    partition_of,
    role_arn,
    run_audit,
)
from .batching import batches
from .faults import explain
from .findings import InputError
from .reporters import FILE_NAMES, Report, render
from .reporters.json import error_dict, finding_dict

REPORT_FORMATS = ("json", "sarif", "html")
"""What each scope's and the organization's report is written as: for machines, code scanning and people."""
CONTENT_TYPES = {"json": "application/json", "sarif": "application/sarif+json", "html": "text/html; charset=utf-8"}
ORGANIZATION = "organization"
"""The folder of the organization report, beside the accounts' folders of the same date."""
NO_ACCOUNT = "no-account"
"""The folder of a run's errors that no account could be named for (the caller's identity unreadable)."""
SUBJECT_MAX = 100
"""SNS's limit on a message subject."""
MESSAGE_LINES = 20
"""Errors and accounts listed in a summary message before "and N more"."""
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

log = logging.getLogger(__name__)


class ScheduledRunError(Exception):
    """The run cannot do its work (a bad event or setting, no credentials); one line.

    Raised out of the handler, so that Lambda fails the invocation and the Distributed Map records the
    item as failed, with this message as its cause, for :func:`aggregate` to report.
    """


class RunnerViolation(Exception):
    """One of the runner's own clients tried an operation that is not in :data:`auditor.iam.RUNNER_ACTIONS`."""


@dataclass(frozen=True)
class Settings:
    """The deployment's settings, from ``SAGEWISE_*`` environment variables (the template sets them)."""

    bucket: str
    prefix: str = "sagewise"
    topic_arn: str | None = None
    role_name: str = iam.DEFAULT_ROLE_NAME
    external_id: str | None = None
    security_hub: bool = False
    import_role_name: str = iam.DEFAULT_IMPORT_ROLE_NAME
    config: str | None = None
    """A sagewise configuration file (rule selection and parameters), relative to the function's code."""
    accounts: tuple = ()
    """:func:`list_scopes`: these accounts instead of the organization's."""
    exclude_accounts: tuple = ()
    regions: tuple = ()
    """:func:`list_scopes`: the regions of each account; empty: every region enabled for it."""
    regions_per_run: int = 0
    """:func:`list_scopes`: regions audited by one run (one Map item); 0: all of an account's in one."""
    max_concurrency: int = 10
    """:func:`list_scopes` passes it to the Map (``MaxConcurrencyPath``): runs in flight at once."""
    jobs: int = 4
    training_days: int = 14

    @classmethod
    def from_environment(cls, environ=None) -> Settings:
        environ = os.environ if environ is None else environ

        def value(name: str, default=None):
            return environ.get(f"SAGEWISE_{name}", "").strip() or default

        def number(name: str, default: int, low: int, high: int) -> int:
            text = value(name)
            if text is None:
                return default
            if not text.isdigit() or not low <= int(text) <= high:
                raise ScheduledRunError(f"SAGEWISE_{name} must be a whole number from {low} to {high}, got {text!r}")
            return int(text)

        def names(name: str, pattern: str | None = None) -> tuple:
            items = tuple(part.strip() for part in (value(name) or "").split(",") if part.strip())
            for item in items:
                if pattern and not re.fullmatch(pattern, item):
                    raise ScheduledRunError(f"SAGEWISE_{name}: {item!r} is not a 12-digit account ID")
            return items

        bucket = value("REPORT_BUCKET")
        if bucket is None:
            raise ScheduledRunError("SAGEWISE_REPORT_BUCKET is not set: the bucket the reports are written to")
        flag = (value("SECURITY_HUB") or "false").lower()
        if flag not in ("true", "false"):
            raise ScheduledRunError(f"SAGEWISE_SECURITY_HUB must be true or false, got {flag!r}")
        return cls(
            bucket=bucket,
            prefix=(value("REPORT_PREFIX") or "sagewise").strip("/"),
            topic_arn=value("SNS_TOPIC_ARN"),
            role_name=value("ROLE_NAME", iam.DEFAULT_ROLE_NAME),
            external_id=value("EXTERNAL_ID"),
            security_hub=flag == "true",
            import_role_name=value("SECURITY_HUB_ROLE_NAME", iam.DEFAULT_IMPORT_ROLE_NAME),
            config=value("CONFIG"),
            accounts=names("ACCOUNTS", iam.ACCOUNT_PATTERN),
            exclude_accounts=names("EXCLUDE_ACCOUNTS", iam.ACCOUNT_PATTERN),
            regions=names("REGIONS"),
            regions_per_run=number("REGIONS_PER_RUN", 0, 0, 50),
            max_concurrency=number("MAX_CONCURRENCY", 10, 1, 1000),
            jobs=number("JOBS", 4, 1, 64),
            training_days=number("TRAINING_DAYS", 14, 1, 365),
        )

    def key(self, date: str, *parts: str) -> str:
        return "/".join((self.prefix, date, *parts))


# --- Entry points ------------------------------------------------------------------------------------


def handler(event, context=None) -> dict:
    """Audit the scopes of ``event``; write their reports to S3; import into Security Hub; publish a summary.

    ``event``: ``accounts`` (12-digit IDs; default: the function's own account), ``organization`` (every
    active account), ``regions`` (default: the function's region) or ``all_regions``, and ``date``
    (``YYYY-MM-DD``, the reports' folder; default: today, UTC). Returns what was written, per scope.
    """
    settings = Settings.from_environment()
    scopes = _ScopeEvent.read(event)
    runner = Runner(settings)
    rules, params, severities = _rules(settings)
    options = AuditOptions(
        accounts=scopes.accounts, organization=scopes.organization, regions=scopes.regions,
        all_regions=scopes.all_regions, role_name=settings.role_name, external_id=settings.external_id,
        jobs=settings.jobs, training_days=settings.training_days,
    )
    try:
        result = run_audit(options, rules, params, severities)
    except AuditError as exc:
        raise ScheduledRunError(str(exc)) from None
    for warning in result.warnings:
        log.warning("%s", warning)
    reports = scope_reports(result, rules)
    summary = {"date": scopes.date, "reports": [], "findings": len(result.findings), "errors": 0}
    if settings.security_hub:
        summary["security_hub"] = runner.import_findings(reports)
    documents = []
    for (account, region), report in reports.items():
        folder = settings.key(scopes.date, *_folder(account, region))
        documents.append(runner.write(report, folder))
        summary["errors"] += len(report.errors)
        summary["reports"].append({"account": account, "region": region, "findings": len(report.findings),
                                   "errors": len(report.errors), "key": report_key(folder)})
    if settings.topic_arn:
        runner.publish(merging.merge(documents), scopes.date, settings.key(scopes.date))
    return summary


def list_scopes(event, context=None) -> dict:
    """The accounts to audit as the Distributed Map's items, in ``<prefix>/<date>/scopes.json``.

    ``event``: ``started`` (the execution's start time, ISO 8601; its date names the run's folder).
    Each item is one :func:`handler` event: one account and a batch of regions. Errors (the
    organization could not be listed) are passed on for :func:`aggregate` to report.
    """
    settings = Settings.from_environment()
    date = _date_of((event or {}).get("started"))
    options = AuditOptions(accounts=settings.accounts, organization=not settings.accounts,
                           exclude_accounts=settings.exclude_accounts, role_name=settings.role_name)
    try:
        accounts, errors = list_accounts(options)
    except AuditError as exc:
        raise ScheduledRunError(str(exc)) from None
    if not accounts and not errors:
        errors = [InputError(NOTHING_AUDITED)]
    items = [item for account in accounts for item in _items(account, settings)]
    key = settings.key(date, "scopes.json")
    Runner(settings).put(key, json.dumps(items, indent=1) + "\n", "application/json")
    return {"date": date, "key": key, "accounts": len(accounts), "items": len(items),
            "max_concurrency": settings.max_concurrency,
            "errors": [error_dict(error) for error in errors]}


def aggregate(event, context=None) -> dict:
    """Merge the reports of the Map's runs into the organization report; write it; publish its summary.

    ``event``: ``date``, ``errors`` (from :func:`list_scopes`) and ``map``, the Distributed Map's output
    (``ResultWriterDetails``: where its manifest is). A run that failed (its retries spent) or never ran
    becomes one error per account and region it was to audit.
    """
    settings = Settings.from_environment()
    event = event or {}
    date = event.get("date") or ""
    if not _DATE.fullmatch(date):
        raise ScheduledRunError(f"the event's date must be YYYY-MM-DD, got {date!r}")
    runner = Runner(settings)
    details = (event.get("map") or {}).get("ResultWriterDetails") or {}
    outputs, failures = runner.map_results(details) if details else ([], [])
    documents = [runner.get_json(report["key"]) for output in outputs for report in output.get("reports", ())]
    errors = list(event.get("errors") or ()) + failures
    document = merging.merge(documents, errors=errors)
    rules, _, _ = _rules(settings)
    folder = settings.key(date, ORGANIZATION)
    runner.write(merging.to_report(document, rules), folder)
    if settings.topic_arn:
        runner.publish(document, date, settings.key(date))
    return {"date": date, "key": report_key(folder), "runs": len(outputs), "failed_runs": len(failures),
            **{name: document["summary"][name] for name in ("findings", "errors", "scopes", "endpoints")
               if name in document["summary"]}}


# --- Events ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ScopeEvent:
    accounts: tuple
    organization: bool
    regions: tuple
    all_regions: bool
    date: str

    KEYS = ("accounts", "organization", "regions", "all_regions", "date")

    @classmethod
    def read(cls, event) -> _ScopeEvent:
        if event is None:
            event = {}
        if not isinstance(event, dict):
            raise ScheduledRunError(f"the event must be a JSON object, got {type(event).__name__}")
        unknown = sorted(set(event) - set(cls.KEYS))
        if unknown:
            raise ScheduledRunError(f"unknown event key(s) {', '.join(unknown)} (valid: {', '.join(cls.KEYS)})")
        accounts = _strings(event, "accounts")
        for account in accounts:
            if not re.fullmatch(iam.ACCOUNT_PATTERN, account):
                raise ScheduledRunError(f"accounts: {account!r} is not a 12-digit account ID")
        regions = _strings(event, "regions")
        for name in ("organization", "all_regions"):
            if not isinstance(event.get(name, False), bool):
                raise ScheduledRunError(f"{name} must be true or false")
        if regions and event.get("all_regions"):
            raise ScheduledRunError("regions and all_regions exclude each other")
        date = event.get("date") or datetime.now(timezone.utc).strftime("%Y-%m-%d")
        if not isinstance(date, str) or not _DATE.fullmatch(date):
            raise ScheduledRunError(f"date must be YYYY-MM-DD, got {date!r}")
        return cls(accounts, event.get("organization", False), regions, event.get("all_regions", False), date)


def _strings(event: dict, key: str) -> tuple:
    value = event.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ScheduledRunError(f"{key} must be a list of strings")
    return tuple(dict.fromkeys(value))


def _date_of(started) -> str:
    if started is None:
        return datetime.now(timezone.utc).strftime("%Y-%m-%d")
    if not isinstance(started, str) or not _DATE.match(started):
        raise ScheduledRunError(f"started must be an ISO 8601 time, got {started!r}")
    return started[:10]


def _items(account: str, settings: Settings) -> list:
    """One account's Map items: all its enabled regions in one run, or its regions in batches.

    Every item has every key the Map's ItemSelector names: a JSONPath that finds nothing fails the item.
    """
    if not settings.regions:
        return [{"accounts": [account], "regions": [], "all_regions": True}]
    size = settings.regions_per_run or len(settings.regions)
    return [{"accounts": [account], "regions": list(regions), "all_regions": False}
            for regions in batches(settings.regions, size)]


def _rules(settings: Settings) -> tuple:
    """The rules, parameters and severities of the configuration file (or the built-in defaults)."""
    from .cli import Run, UsageProblem

    try:
        run = Run(config_file=settings.config, isolated=settings.config is None, select=(), extend_select=(),
                  ignore=(), fail_on=None, rules_dir=())
    except UsageProblem as exc:
        raise ScheduledRunError(exc.format_message()) from None
    return run.rules, run.params, run.severities


# --- Reports -----------------------------------------------------------------------------------------


def scope_reports(result, rules: list) -> dict:
    """(account, region) -> :class:`Report` of that scope, for every scope read and every one with an error.

    An error that concerns a whole account (its role could not be assumed before its regions were
    known) has region ``None``; one that concerns no account (the caller's identity) has both ``None``.
    """
    groups: dict = {scope: ([], []) for scope in result.scopes}
    for finding in result.findings:
        groups.setdefault((finding.location.account, finding.location.region), ([], []))[0].append(finding)
    for error in result.errors:
        groups.setdefault((error.account, error.region), ([], []))[1].append(error)
    reports = {}
    for scope, (findings, errors) in groups.items():
        statuses = result.scopes.get(scope)
        counts = {"scopes": 0 if statuses is None else 1, "endpoints": sum((statuses or {}).values()),
                  "endpoints_by_status": dict(statuses or {})}
        reports[scope] = Report("audit", findings, errors, rules, counts=counts)
    return reports


def report_key(folder: str, output_format: str = "json") -> str:
    """Where a report is written: ``<folder>/sagewise.json``, as ``--output-dir`` names its files."""
    return f"{folder}/{FILE_NAMES[output_format]}"


def _folder(account: str | None, region: str | None) -> tuple:
    return tuple(part for part in (account or NO_ACCOUNT, region) if part)


def summary_message(document: dict, date: str, location: str) -> tuple[str, str]:
    """SNS subject and message of a (merged) report: totals, money, the accounts most concerned, errors."""
    summary = document["summary"]
    subject = f"sagewise audit {date}: {summary['findings']} findings, {summary['errors']} errors"
    severities = ", ".join(f"{count} {name}" for name, count in summary["by_severity"].items() if count)
    lines = [f"sagewise audit of {date}: {summary['findings']} findings" + (f" ({severities})" if severities else "")
             + f", {summary['errors']} errors, in {summary.get('scopes', 0)} account x region scopes"
             + f" ({summary.get('endpoints', 0)} endpoints)."]
    if "monthly_cost_usd" in summary:
        lines.append(f"Monthly cost at stake: ${summary['monthly_cost_usd']:,.0f}; "
                     f"estimated savings: ${summary['monthly_savings_usd']:,.0f}.")
    if summary["by_rule"]:
        lines += ["", "By rule:"] + [f"  {rule}: {count}" for rule, count in summary["by_rule"].items()]
    accounts = sorted((summary.get("by_account") or {}).items(), key=lambda item: (-item[1]["findings"], item[0]))
    if accounts:
        lines += ["", "By account (findings, errors):"]
        lines += [f"  {account}: {counts['findings']}, {counts['errors']}"
                  for account, counts in accounts[:MESSAGE_LINES]]
        lines += _more(len(accounts))
    if document["errors"]:
        lines += ["", "Errors:"]
        lines += [f"  {'/'.join(filter(None, (error.get('account'), error.get('region')))) or 'sagewise'}: "
                  f"{error['message']}" for error in document["errors"][:MESSAGE_LINES]]
        lines += _more(len(document["errors"]))
    lines += ["", f"Reports: {location}/"]
    return _clip_subject(subject), "\n".join(lines) + "\n"


def _more(count: int) -> list:
    return [f"  ... and {count - MESSAGE_LINES} more"] if count > MESSAGE_LINES else []


def _clip_subject(subject: str) -> str:
    printable = "".join(character if " " <= character <= "~" else "?" for character in subject)
    return printable[:SUBJECT_MAX]


# --- The runner's own clients ------------------------------------------------------------------------


class Runner:
    """The scheduled run's S3, SNS, STS and Security Hub clients: guarded, retried, made once each."""

    CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 5}, connect_timeout=5, read_timeout=30,
                    user_agent_extra="sagewise-scheduled-audit")

    def __init__(self, settings: Settings, session: boto3.Session | None = None):
        self.settings = settings
        self.session = session or boto3.Session()
        self._clients: dict = {}
        self._sessions: dict = {}
        """Account -> the session its Security Hub is imported with, made on the account's first scope."""
        self._identity: dict | None = None

    def client(self, service: str, region: str | None = None, account: str | None = None):
        """The runner's client of ``service`` in ``region``, with ``account``'s import credentials, or its own.

        Keyed by account, never by ``id()`` of a session: a freed session's id is reused by the next one, which
        would hand one account's findings a client signed for another.
        """
        key = (account, service, region)
        if key not in self._clients:
            session = self.session if account is None else self._session_for(account)
            client = session.client(service, region_name=region, config=self.CONFIG)
            client.meta.events.register_first("provide-client-params.*.*", _refuse_unlisted)
            self._clients[key] = client
        return self._clients[key]

    # S3 and SNS

    def put(self, key: str, text: str, content_type: str) -> None:
        self.client("s3").put_object(Bucket=self.settings.bucket, Key=key, Body=text.encode("utf-8"),
                                     ContentType=content_type)

    def get_json(self, key: str, bucket: str | None = None):
        body = self.client("s3").get_object(Bucket=bucket or self.settings.bucket, Key=key)["Body"].read()
        return json.loads(body)

    def write(self, report: Report, folder: str) -> dict:
        """Every format of ``report`` under ``folder``; returns its JSON document."""
        texts = {name: render(report, name) for name in REPORT_FORMATS}
        for name, text in texts.items():
            self.put(report_key(folder, name), text, CONTENT_TYPES[name])
        return json.loads(texts["json"])

    def publish(self, document: dict, date: str, folder: str) -> None:
        subject, message = summary_message(document, date, f"s3://{self.settings.bucket}/{folder}")
        self.client("sns", _region_of_arn(self.settings.topic_arn)).publish(
            TopicArn=self.settings.topic_arn, Subject=subject, Message=message)

    def map_results(self, details: dict) -> tuple[list, list]:
        """The outputs of the Map's runs that succeeded, and one error per scope of each that did not.

        ``details`` is the Map's ``ResultWriterDetails``: its manifest lists result files per status,
        each a JSON array of executions with their ``Input`` and ``Output`` as JSON strings, and the
        ``Error`` and ``Cause`` of those that failed.
        """
        manifest = self.get_json(details["Key"], details["Bucket"])
        bucket = manifest.get("DestinationBucket") or details["Bucket"]
        files = manifest.get("ResultFiles") or {}
        outputs, failures = [], []
        for status, entries in sorted(files.items()):
            for entry in entries:
                for execution in self.get_json(entry["Key"], bucket):
                    if status == "SUCCEEDED":
                        outputs.append(_decoded(execution.get("Output")) or {})
                    else:
                        failures += _failure_errors(status, execution)
        return outputs, failures

    # Security Hub

    def import_findings(self, reports: dict) -> dict:
        """Import each scope's findings into its account's Security Hub; resolve what is gone there.

        A scope's Security Hub failure (not enabled, the import role not assumable) becomes an error of
        that scope's report; the other scopes still import.
        """
        totals = {"imported": 0, "resolved": 0}
        for (account, region), report in reports.items():
            if account is None or region is None:
                continue
            try:
                client = self.client("securityhub", region, account)
                result = securityhub.sync(client, [finding_dict(finding) for finding in report.findings],
                                          account=account, region=region, partition=partition_of(region),
                                          resolve=not report.errors)
            except Exception as exc:  # noqa: BLE001 - one scope's failure is that scope's error
                report.errors.append(InputError(f"Security Hub: {explain(exc)}", account=account, region=region))
                continue
            totals["imported"] += result.imported
            totals["resolved"] += len(result.resolved)
            report.errors += [InputError(f"Security Hub: {line}", account=account, region=region)
                              for line in result.errors]
        return totals

    def _session_for(self, account: str) -> boto3.Session:
        """The runner's own session for its account; the import role's for any other, assumed once for all its
        regions. A refusal is not kept: the next of the account's scopes tries again, so a passing failure (throttling)
        costs one region's import, not all of them."""
        if account not in self._sessions:
            self._sessions[account] = self._new_session(account)
        return self._sessions[account]

    def _new_session(self, account: str) -> boto3.Session:
        if self._identity is None:
            self._identity = self.client("sts").get_caller_identity()
        if account == self._identity["Account"]:
            return self.session
        partition = self._identity["Arn"].split(":")[1]
        role = role_arn(partition, account, self.settings.import_role_name)
        extra = {"ExternalId": self.settings.external_id} if self.settings.external_id else {}
        try:
            credentials = self.client("sts").assume_role(RoleArn=role, RoleSessionName="sagewise-security-hub",
                                                         **extra)["Credentials"]
        except Exception as exc:
            raise RuntimeError(f"cannot assume {role}: {explain(exc)}") from None
        return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                             aws_secret_access_key=credentials["SecretAccessKey"],
                             aws_session_token=credentials["SessionToken"])


def _refuse_unlisted(model, **_):
    """The audit guard's refusal with the runner's list. Not the whole :class:`CallRecorder`: it also refuses
    an empty 2xx answer as no AWS answer, which S3 ``PutObject`` sends."""
    action = CallRecorder.action(model)
    if action not in iam.RUNNER_ACTIONS:
        raise RunnerViolation(f"the scheduled run refused to call {action}, which is not one of its actions")


def _region_of_arn(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) < 6 or not parts[3]:
        raise ScheduledRunError(f"SAGEWISE_SNS_TOPIC_ARN is not a topic ARN: {arn!r}")
    return parts[3]


def _decoded(text):
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


def _failure_errors(status: str, execution: dict) -> list:
    """Error entries for an item whose run failed (or never ran): one per account and region it named."""
    item = _decoded(execution.get("Input")) or {}
    cause = _decoded(execution.get("Cause"))
    reason = cause.get("errorMessage") if isinstance(cause, dict) else execution.get("Cause")
    what = execution.get("Error") or status.lower()
    message = f"the scheduled audit of this scope {'failed' if status == 'FAILED' else 'did not finish'}: {what}"
    if reason:
        message += f": {' '.join(str(reason).split())}"
    regions = item.get("regions") or [None]
    return [error_dict(InputError(message, account=account, region=region))
            for account in item.get("accounts") or [None] for region in regions]
