"""Reporters turn a :class:`Report` into text, JSON or SARIF. Each is a ``render(report) -> str``."""

from __future__ import annotations

from collections import Counter
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
        costs = [f.monthly_cost_usd for f in self.findings if f.monthly_cost_usd is not None]
        savings = [f.monthly_savings_usd for f in self.findings if f.monthly_savings_usd is not None]
        if costs or savings:
            summary["monthly_cost_usd"] = round(sum(costs), 2)
            summary["monthly_savings_usd"] = round(sum(savings), 2)
        return summary


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
