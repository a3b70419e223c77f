"""Reporters turn a :class:`Report` into one of :data:`FORMATS`. Each module is a ``render(report) -> str``.

:func:`render` is the one entry point for every format (the CLI, ``--output-dir`` and the scheduled
audit's Lambda all call it), and it imports a reporter only when its format is asked for: the lint
path pays for no reporter it does not print.
"""

from __future__ import annotations

import importlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..findings import SEVERITY_RANK


@dataclass
class Report:
    command: str
    """``lint`` or ``audit``."""
    findings: list
    errors: list
    rules: list
    """The rules that were run (for SARIF's rule table)."""
    counts: dict = field(default_factory=dict)
    """What was read: ``{"files": n}`` for lint, ``{"scopes": n, "endpoints": n}`` for audit."""
    fixes: dict | None = None
    """``sagewise fix``: ``{"findings": n, "files": n, "unsafe_available": n, "applied": [...], "not_applied": [...]}``
    (each applied fix as ``file``, ``rule_id``, ``resource``, ``description``; each finding whose rule has a fix
    that was left as written as ``file``, ``line``, ``column``, ``rule_id``, ``resource``, ``reason``,
    ``fingerprint``); ``None`` otherwise."""
    color: bool = False
    checked: list | None = None
    """What was read, one entry per file (lint) or ``account/region`` scope (audit); ``None`` when whoever built
    the report does not know (JUnit then has test cases only where something was found)."""
    baseline: dict | None = None
    """With ``--baseline``: ``{"file": path, "unchanged": n, "gone": n}``, the findings of the baseline that were
    found again (and left out of ``findings``) and those that were not found any more; ``None`` otherwise."""
    link_base: str | None = None
    """URL of the working directory in a source browser (``https://github.com/o/r/blob/<sha>/``): the Markdown
    report links each finding to ``link_base`` + its file + ``#L<line>``. ``None``: no links."""

    def summary(self) -> dict:
        severities = Counter(finding.severity for finding in self.findings)
        summary = {
            "findings": len(self.findings),
            "errors": len(self.errors),
            "by_severity": {name: severities.get(name, 0) for name in SEVERITY_RANK},
            "by_rule": dict(sorted(Counter(finding.rule_id for finding in self.findings).items())),
            **self.counts,
        }
        if self.fixes is not None:
            summary["fixed"] = dict(self.fixes)
        if self.baseline is not None:
            summary["baseline"] = dict(self.baseline)
        if any(f.monthly_cost_usd is not None or f.monthly_savings_usd is not None for f in self.findings):
            summary["monthly_cost_usd"] = distinct_total(self.findings, "monthly_cost_usd")
            summary["monthly_savings_usd"] = distinct_total(self.findings, "monthly_savings_usd")
        return summary


def distinct_total(findings, attribute: str) -> float:
    """Total a money figure counting each resource once.

    Several findings on one object (SW101, SW301 and SW302 on one variant) carry the same cost, and
    a whole endpoint's figure (SW303) already includes its variants': per resource, the larger of
    the whole-resource figure and the sum of its parts is counted.
    """
    per_object: dict = {}
    for finding in findings:
        value = getattr(finding, attribute)
        if value is not None:
            per_object[finding.subject] = max(per_object.get(finding.subject, 0.0), value)
    per_resource: dict = defaultdict(lambda: [0.0, 0.0])
    for (scope, resource, path), value in per_object.items():
        whole_and_parts = per_resource[(scope, resource)]
        if path:
            whole_and_parts[1] += value
        else:
            whole_and_parts[0] = max(whole_and_parts[0], value)
    return round(sum(max(whole, parts) for whole, parts in per_resource.values()), 2)


SEVERITIES = tuple(sorted(SEVERITY_RANK, key=SEVERITY_RANK.get, reverse=True))
"""The severities, the gravest first: the order in which reports count and list them."""


def plural(count: int, noun: str) -> str:
    """``1 file``, ``1,204 files``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def money(value: float | None) -> str:
    """``$1,290``; empty when there is no figure (or it is zero)."""
    return f"${value:,.0f}" if value else ""


def money_note(finding) -> str:
    """`` (saves ~$X/month)``, else `` (costs ~$X/month)``, after a finding's message; empty when neither is known."""
    if finding.monthly_savings_usd:
        return f" (saves ~{money(finding.monthly_savings_usd)}/month)"
    if finding.monthly_cost_usd:
        return f" (costs ~{money(finding.monthly_cost_usd)}/month)"
    return ""


def checked(counts: dict) -> str:
    """What a run read, from :attr:`Report.counts`: ``2 files checked``, ``1 scope, 26 endpoints checked``;
    empty when the counts say nothing (files skipped as not templates are the text report's own remark)."""
    read = [plural(count, name.rstrip("s")) for name, count in counts.items()
            if isinstance(count, int) and name != "skipped"]
    return f"{', '.join(read)} checked" if read else ""


def tally(findings, key) -> list:
    """``(label, findings per severity, monthly cost at stake)`` per group of findings with the same ``key``,
    in the order the groups first occur."""
    groups: dict = defaultdict(list)
    for finding in findings:
        groups[key(finding)].append(finding)
    return [(label, Counter(f.severity for f in found), distinct_total(found, "monthly_cost_usd"))
            for label, found in groups.items()]


FORMATS = ("text", "json", "sarif", "junit", "github", "markdown", "html")
"""Every format :func:`render` produces; each is the module of this package with that name."""

FILE_NAMES = {"json": "sagewise.json", "sarif": "sagewise.sarif", "junit": "sagewise.junit.xml",
              "markdown": "sagewise.md", "html": "sagewise.html"}
"""The files ``--output-dir`` writes, one per format that is a document rather than terminal output."""


def render(report: Report, output_format: str) -> str:
    if output_format not in FORMATS:
        raise ValueError(f"unknown report format {output_format!r} (one of {', '.join(FORMATS)})")
    return importlib.import_module(f"{__name__}.{output_format}").render(report)


def write_all(report: Report, directory: Path | str) -> None:
    """Write every format of :data:`FILE_NAMES` into ``directory`` (created if needed), each file atomically.

    Raises :class:`~auditor.writing.WriteError` naming the directory or file that could not be written.
    """
    from ..writing import WriteError, write_output

    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"{directory}: cannot create the directory: {exc.strerror or exc}") from None
    for output_format, name in FILE_NAMES.items():
        write_output(directory / name, render(report, output_format))
