"""Reporters turn a :class:`Report` into text, JSON or SARIF. Each is a ``render(report) -> str``."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

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
    """``sagewise fix``: ``{"findings": n, "files": n, "unsafe_available": n, "applied": [...]}`` (each applied
    fix as ``file``, ``rule_id``, ``resource``, ``description``); ``None`` otherwise."""
    color: bool = False

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
        if any(f.monthly_cost_usd is not None or f.monthly_savings_usd is not None for f in self.findings):
            summary["monthly_cost_usd"] = _distinct_total(self.findings, "monthly_cost_usd")
            summary["monthly_savings_usd"] = _distinct_total(self.findings, "monthly_savings_usd")
        return summary


def _distinct_total(findings, attribute: str) -> float:
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


def render(report: Report, output_format: str) -> str:
    if output_format == "json":
        from .json import render as render_json

        return render_json(report)
    if output_format == "sarif":
        from .sarif import render as render_sarif

        return render_sarif(report)
    from .text import render as render_text

    return render_text(report)


FORMATS = ("text", "json", "sarif")
