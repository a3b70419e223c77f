"""Machine output: ``{"version": 1, "findings": [...], "errors": [...], "summary": {...}}``.

The field set is a contract (documented in the README): fields are added, never renamed.
"""

from __future__ import annotations

import json

from .. import __version__

SCHEMA_VERSION = 1


def finding_dict(finding) -> dict:
    location = finding.location
    return {
        "rule_id": finding.rule_id,
        "rule_name": finding.rule_name,
        "severity": finding.severity,
        "message": finding.message,
        "file": location.file,
        "line": location.line or None,
        "column": location.column or None,
        "resource": location.resource,
        "path": location.path,
        "fingerprint": finding.fingerprint,
        "fix": finding.fix,
        "account": location.account,
        "region": location.region,
        "evidence": finding.evidence or None,
        "monthly_cost_usd": finding.monthly_cost_usd,
        "monthly_savings_usd": finding.monthly_savings_usd,
    }


def error_dict(error) -> dict:
    return {
        "file": error.file,
        "line": error.line or None,
        "column": error.column or None,
        "message": error.message,
        "account": error.account,
        "region": error.region,
    }


def render(report) -> str:
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "sagewise", "version": __version__, "command": report.command},
        "findings": [finding_dict(finding) for finding in report.findings],
        "errors": [error_dict(error) for error in report.errors],
        "summary": report.summary(),
    }
    return json.dumps(document, indent=2) + "\n"
