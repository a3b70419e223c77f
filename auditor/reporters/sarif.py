"""SARIF 2.1.0, as GitHub code scanning and other SARIF viewers read it.

Template findings carry a physical location (file, line, column) and a logical one (the logical
ID); live findings only a logical one (the ARN). Every result has ``partialFingerprints`` so
code scanning tracks a finding across commits even when its line moves.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from .. import __version__

LEVELS = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT_KEY = "sagewise/v1"


def _rule_descriptor(rule) -> dict:
    docs = rule.docs
    markdown = "\n\n".join((
        f"**What it checks**\n\n{docs['what_it_checks'].strip()}",
        f"**Why it matters**\n\n{docs['why_it_matters'].strip()}",
        f"**Example**\n\n{docs['example'].strip()}",
        f"**Fix**\n\n{docs['fix'].strip()}",
    ))
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": docs["what_it_checks"].strip()},
        "help": {"text": docs["why_it_matters"].strip(), "markdown": markdown},
        "helpUri": docs["references"][0],
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": ["aws", "sagemaker", "cost"], "fix-safety": rule.fix["safety"]},
    }


def _locations(location) -> list:
    logical = {"name": location.resource or location.scope, "kind": "resource"}
    if location.path:
        logical["fullyQualifiedName"] = f"{location.resource}.{location.path}" if location.resource \
            else location.path
    entry: dict = {"logicalLocations": [logical]}
    if location.file:
        physical: dict = {"artifactLocation": {"uri": quote(location.file)}}
        if location.line:
            physical["region"] = {"startLine": location.line, "startColumn": location.column or 1}
        entry["physicalLocation"] = physical
    return [entry]


def render(report) -> str:
    rules = sorted({rule.id: rule for rule in report.rules}.values(), key=lambda rule: rule.id)
    index = {rule.id: position for position, rule in enumerate(rules)}
    results = []
    for finding in report.findings:
        result = {
            "ruleId": finding.rule_id,
            "level": LEVELS[finding.severity],
            "message": {"text": finding.message},
            "locations": _locations(finding.location),
            "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        }
        if finding.rule_id in index:
            result["ruleIndex"] = index[finding.rule_id]
        properties = {key: value for key, value in (
            ("account", finding.location.account),
            ("region", finding.location.region),
            ("evidence", finding.evidence or None),
            ("monthly_cost_usd", finding.monthly_cost_usd),
            ("monthly_savings_usd", finding.monthly_savings_usd),
        ) if value is not None}
        if properties:
            result["properties"] = properties
        results.append(result)
    notifications = []
    for error in report.errors:
        notification = {"level": "error", "message": {"text": error.message}}
        if error.file:
            physical: dict = {"artifactLocation": {"uri": quote(error.file)}}
            if error.line:
                physical["region"] = {"startLine": error.line, "startColumn": error.column or 1}
            notification["locations"] = [{"physicalLocation": physical}]
        elif error.account or error.region:
            scope = "/".join(part for part in (error.account, error.region) if part)
            notification["locations"] = [{"logicalLocations": [{"name": scope, "kind": "module"}]}]
        notifications.append(notification)
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sagewise",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule_descriptor(rule) for rule in rules],
            }},
            "invocations": [{
                "executionSuccessful": not report.errors,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }
    return json.dumps(document, indent=2) + "\n"
