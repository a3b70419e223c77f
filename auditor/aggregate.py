"""One organization report from many: the reports of a scheduled audit's runs, merged with totals.

A scheduled organization audit (``deploy/scheduled-audit.yaml``) audits each account x region batch in a
Lambda run of its own, and each run writes one report per account x region scope
(:mod:`auditor.lambda_handler`). :func:`merge` joins their JSON documents, the JSON reporter's own format,
so reports written by ``sagewise audit --format json`` (one cron job per organizational unit, say) merge
the same way. :func:`to_report` turns a document back into a :class:`~auditor.reporters.Report`, so that
every format of the organization report is rendered by :func:`auditor.reporters.render`, as for one run.

Money totals are the sums of the reports' own totals: each report counts each resource once, and reports
of distinct scopes share no resource. Recounting from the findings instead would need to know which
findings are about one object (a variant's SW101 and SW301 share its cost), which the JSON document does
not record. So :func:`merge` refuses two reports of the same scope rather than count it twice.

This module does not import boto3: it serves the Lambda and anything local alike.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .findings import SEVERITY_RANK, Finding, InputError
from .model import Location
from .reporters import Report
from .reporters.json import SCHEMA_VERSION, error_dict

SUMMED = ("scopes", "endpoints", "files", "skipped")
"""Counts of what was read, added up over the reports."""
SUMMED_BY_KEY = ("endpoints_by_status",)
MONEY = ("monthly_cost_usd", "monthly_savings_usd")


class ReportError(ValueError):
    """A document is not a sagewise JSON report, or two cover the same scope; one line."""


def merge(documents, *, errors=(), names=None) -> dict:
    """One JSON report of ``documents`` (sagewise JSON reports of distinct scopes), with ``errors`` added.

    Two documents with findings in one scope (account and region, or file) are refused; errors carry
    no money, so the same error in two documents (every run of a night denied the same way) is kept twice.

    ``errors`` are error entries (``message``, ``account``, ``region``, ...) of what produced no report at
    all, such as a run that failed. Findings and errors are sorted by account, region and rule; the
    summary counts them again and adds up the reports' counts and money, with a breakdown by account.
    ``names`` (file names, say) name the documents in errors; they are numbered otherwise.
    """
    documents = list(documents)
    names = list(names) if names is not None else [f"report {index + 1}" for index in range(len(documents))]
    owner: dict = {}
    for index, document in enumerate(documents):
        _check(document, names[index])
        for scope in {_scope(entry) for entry in document["findings"]}:
            if owner.setdefault(scope, index) != index:
                raise ReportError(f"{names[owner[scope]]} and {names[index]} both cover "
                                  f"{'/'.join(filter(None, scope))}; merge reports of distinct scopes "
                                  "(the totals would count it twice)")
    findings = sorted((finding for document in documents for finding in document["findings"]), key=_finding_order)
    merged_errors = sorted([error for document in documents for error in document["errors"]]
                           + [_error_entry(error) for error in errors], key=_error_order)
    tool = documents[0]["tool"] if documents else {"name": "sagewise", "command": "audit"}
    return {
        "version": SCHEMA_VERSION,
        "tool": tool,
        "findings": findings,
        "errors": merged_errors,
        "summary": _summary(findings, merged_errors, [document["summary"] for document in documents]),
    }


def to_report(document: dict, rules: list) -> Report:
    """A :class:`Report` of a JSON report document, for :func:`~auditor.reporters.render`.

    Its summary is the document's own (the merged totals), and each finding keeps its fingerprint.
    ``rules`` are those the runs used (SARIF's rule table and the HTML report read their docs).
    """
    _check(document, "the report")
    objects = _object_paths(document["findings"])
    findings = [_finding(entry, objects[index]) for index, entry in enumerate(document["findings"])]
    errors = [_input_error(entry) for entry in document["errors"]]
    return _Totalled(document["tool"].get("command", "audit"), findings, errors, rules,
                     totals=dict(document["summary"]))


@dataclass
class _Totalled(Report):
    """A report whose summary is given: totals merged from reports, not recounted from findings."""

    totals: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return dict(self.totals)


@dataclass
class _ReadFinding(Finding):
    """A finding read back from a report: its fingerprint is the one the report gave it."""

    recorded_fingerprint: str = ""

    @property
    def fingerprint(self) -> str:
        return self.recorded_fingerprint


def _object_paths(entries: list) -> list:
    """The path of the object each finding is about, for reporters that total money over findings.

    The JSON report does not record it, only where each finding points: a rule may point at the object
    (SW101 at ``ProductionVariants[AllTraffic]``) or at one of its fields (SW301 at
    ``ProductionVariants[AllTraffic].InstanceType``), and both carry the object's cost, which must count
    once. A field's path extends its object's, so a finding whose path extends another finding's on the
    same resource, with the same cost, is about that object. (The resource itself, path ``""``, stays a
    whole: a reporter counts the larger of it and its parts.)
    """
    neighbours: dict = {}
    for entry in entries:
        neighbours.setdefault(_resource_key(entry), set()).add((entry.get("path") or "", entry.get("monthly_cost_usd")))
    paths = []
    for entry in entries:
        path, cost = entry.get("path") or "", entry.get("monthly_cost_usd")
        owners = [other for other, other_cost in neighbours[_resource_key(entry)]
                  if other and other_cost == cost and path.startswith((f"{other}.", f"{other}["))]
        paths.append(min(owners, key=len) if owners else path)
    return paths


def _resource_key(entry: dict) -> tuple:
    return (entry.get("account"), entry.get("region"), entry.get("file"), entry.get("resource"))


def _finding(entry: dict, object_path: str) -> Finding:
    scope = f"{entry['account']}/{entry['region']}" if entry.get("account") else entry.get("file") or ""
    location = Location(scope=scope, resource=entry.get("resource") or "", path=entry.get("path") or "",
                        line=entry.get("line") or 0, column=entry.get("column") or 0, file=entry.get("file"),
                        account=entry.get("account"), region=entry.get("region"))
    return _ReadFinding(
        rule_id=entry["rule_id"], rule_name=entry["rule_name"], severity=entry["severity"], message=entry["message"],
        location=location, fix=entry.get("fix"), evidence=entry.get("evidence") or {},
        monthly_cost_usd=entry.get("monthly_cost_usd"), monthly_savings_usd=entry.get("monthly_savings_usd"),
        source="aws" if entry.get("account") else "", subject=(scope, location.resource, object_path),
        recorded_fingerprint=entry["fingerprint"],
    )


def _check(document, where: str) -> None:
    if not isinstance(document, dict) or document.get("version") != SCHEMA_VERSION:
        raise ReportError(f"{where} is not a sagewise JSON report (version {SCHEMA_VERSION})")
    for key, kind in (("tool", dict), ("findings", list), ("errors", list), ("summary", dict)):
        if not isinstance(document.get(key), kind):
            raise ReportError(f"{where} has no {key!r} {kind.__name__}")


def _scope(entry: dict) -> tuple:
    return (entry.get("account"), entry.get("region")) if entry.get("account") else (entry.get("file"), None)


def _finding_order(entry: dict) -> tuple:
    return (entry.get("account") or "", entry.get("region") or "", entry.get("file") or "", entry.get("line") or 0,
            entry["rule_id"], entry.get("resource") or "", entry.get("path") or "")


def _error_order(entry: dict) -> tuple:
    return (entry.get("account") or "", entry.get("region") or "", entry.get("file") or "", entry.get("line") or 0,
            entry["message"])


def _input_error(entry: dict) -> InputError:
    return InputError(message=entry["message"], file=entry.get("file"), line=entry.get("line") or 0,
                      column=entry.get("column") or 0, account=entry.get("account"), region=entry.get("region"))


def _error_entry(entry: dict) -> dict:
    """An error of what wrote no report, as the JSON reporter writes errors: the keys it leaves out are null."""
    return error_dict(_input_error(entry))


def _summary(findings: list, errors: list, summaries: list) -> dict:
    summary = {
        "findings": len(findings),
        "errors": len(errors),
        "by_severity": _by_severity(findings),
        "by_rule": dict(sorted(Counter(entry["rule_id"] for entry in findings).items())),
    }
    for key in SUMMED:
        if any(key in part for part in summaries):
            summary[key] = sum(part.get(key) or 0 for part in summaries)
    for key in SUMMED_BY_KEY:
        if any(key in part for part in summaries):
            total: Counter = Counter()
            for part in summaries:
                total.update(part.get(key) or {})
            summary[key] = dict(sorted(total.items()))
    for key in MONEY:
        if any(part.get(key) is not None for part in summaries):
            summary[key] = round(sum(part.get(key) or 0.0 for part in summaries), 2)
    by_account: dict = {}
    for entry in findings:
        if entry.get("account"):
            _account(by_account, entry["account"])["by_severity"][entry["severity"]] += 1
    for entry in errors:
        if entry.get("account"):
            _account(by_account, entry["account"])["errors"] += 1
    if by_account:
        summary["by_account"] = {account: {"findings": sum(counts["by_severity"].values()), "errors": counts["errors"],
                                           "by_severity": {name: counts["by_severity"][name] for name in SEVERITY_RANK}}
                                 for account, counts in sorted(by_account.items())}
    return summary


def _account(by_account: dict, account: str) -> dict:
    return by_account.setdefault(account, {"errors": 0, "by_severity": Counter()})


def _by_severity(findings: list) -> dict:
    severities = Counter(entry["severity"] for entry in findings)
    return {name: severities.get(name, 0) for name in SEVERITY_RANK}
