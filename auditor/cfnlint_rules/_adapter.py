"""sagewise's rules inside cfn-lint: one cfn-lint rule class per sagewise rule and severity, whose matches
are the findings sagewise's own engine reports on the template.

Nothing is checked twice or written twice. Each template cfn-lint lints is linted once by
:meth:`auditor.cli.Run.lint`, with the configuration ``sagewise lint`` would use from the same
working directory (``.sagewise.yaml`` or ``[tool.sagewise]``: selection, parameters, severities,
per-path ignores, ``extra-rules``), and every rule class reports its share of those findings. So the
plugin reports exactly what ``sagewise lint t.yaml`` reports, at the same lines, and cfn-lint adds its
own output formats, exit codes and suppressions (``--ignore-checks``, ``Metadata: cfn-lint``).

cfn-lint ids are a letter and four digits, the letter its severity: ``SW101`` (warning) is ``W9101``.
A rule that can report at several severities (a check of its own may override the rule's, or the
configuration may) has one class per severity, ``W9101`` and ``I9101``. The message starts with the
sagewise id and name. ``E9000`` reports what kept sagewise from judging a template (a configuration
error, a template sagewise cannot read, a custom rule that failed). Rules whose id is not ``SW`` and
three digits (a custom prefix) have no cfn-lint id and are left out.

This module imports cfn-lint; ``sagewise lint`` never imports it (its name starts with ``_``, so
cfn-lint's directory loader does not import it as a rule module either).
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

LETTERS = {"error": "E", "warning": "W", "info": "I"}
INPUT_ERROR_ID = "E9000"
_SAGEWISE_ID = re.compile(r"SW(\d{3})")


def cfnlint_id(rule_id: str, severity: str) -> str | None:
    """``SW101`` at ``warning`` -> ``W9101``; ``None`` for an id cfn-lint's four digits cannot carry."""
    match = _SAGEWISE_ID.fullmatch(rule_id)
    return f"{LETTERS[severity]}9{match.group(1)}" if match else None


@functools.lru_cache(maxsize=1)
def _settings():
    """``(run, None)``: the rules and configuration of ``sagewise lint`` here; ``(None, message)`` when the
    configuration or a rule file is unusable (reported as E9000 on every template)."""
    import click

    from auditor.cli import Run

    try:
        return Run(config_file=None, isolated=False, select=(), extend_select=(), ignore=(), fail_on=None,
                   rules_dir=()), None
    except click.ClickException as exc:
        return None, f"sagewise cannot run: {exc.format_message()}"


def _severities(rule, run) -> list:
    """Every severity the rule's findings can have (as the engine decides it: configuration, check, rule)."""
    if run.severities.get(rule.id):
        return [run.severities[rule.id]]
    return sorted({rule.severity} | {check.severity for check in rule.checks if check.severity},
                  key=list(LETTERS).index)


def rule_classes() -> dict:
    """cfn-lint id -> rule class, for every selected template rule."""
    classes = {INPUT_ERROR_ID: SagewiseInputError}
    run, _ = _settings()
    for rule in run.rules if run else ():
        if not set(rule.sources) - {"aws"}:
            continue  # a live-only rule (SW303) never applies to a template
        for severity in _severities(rule, run):
            identifier = cfnlint_id(rule.id, severity)
            if identifier is None:
                continue
            classes[identifier] = type(identifier, (_SagewiseRule,), {
                "id": identifier,
                "shortdesc": f"{rule.id} {rule.name}",
                "description": f"{rule.summary} (sagewise {rule.id} {rule.name}; `sagewise explain {rule.id}`)",
                "source_url": rule.docs["references"][0] if rule.docs.get("references") else "",
                "tags": ("sagewise", "sagemaker", rule.name),
                "sagewise_rule": rule.id,
                "sagewise_severity": severity,
                "__module__": __name__,
            })
    return classes


_last: list = [None, None]
"""The template cfn-lint is on and sagewise's outcome for it: every rule class asks for it in turn."""


def _outcome(cfn) -> tuple:
    """``(findings, errors, located)`` of sagewise over the template (linted once, whatever asks)."""
    if _last[0] is not cfn:
        _last[:] = [cfn, _lint(cfn)]
    return _last[1]


def _lint(cfn) -> tuple:
    run, problem = _settings()
    if run is None:
        return [], [(problem, 0, 0)], True
    if cfn.filename and os.path.isfile(cfn.filename):
        result, located = run.lint([cfn.filename]), True
    else:  # a template on standard input: sagewise reads the decoded template; cfn-lint places each finding
        with tempfile.TemporaryDirectory(prefix="sagewise-cfnlint-") as folder:
            path = Path(folder) / "template.json"
            path.write_text(json.dumps(cfn.template, default=str), encoding="utf-8")
            result, located = run.lint([path]), False
    errors = [(f"sagewise could not read this template: {error.message}", error.line, error.column)
              for error in result.errors]
    return result.findings, errors, located


def _place(line: int, column: int) -> dict:
    """A match's position as cfn-lint keeps it (0-based start and end), for ``RuleMatch(location=...)``."""
    line, column = max(line, 1) - 1, max(column, 1) - 1
    return {"location": (line, column, line, column + 1)}


class _SagewiseRule(CloudFormationLintRule):
    """One sagewise rule at one severity; its matches are that rule's findings at that severity."""

    sagewise_rule = ""
    sagewise_severity = ""

    def match(self, cfn):
        findings, _, located = _outcome(cfn)
        matches = []
        for finding in findings:
            if finding.rule_id != self.sagewise_rule or finding.severity != self.sagewise_severity:
                continue
            location = finding.location
            path = ["Resources", location.resource] if location.resource else []
            message = f"{finding.rule_id} {finding.rule_name}: {finding.message}"
            matches.append(RuleMatch(path, message, **(_place(location.line, location.column) if located else {})))
        return matches


class SagewiseInputError(CloudFormationLintRule):
    """What kept sagewise from judging a template."""

    id = INPUT_ERROR_ID
    shortdesc = "sagewise could not check the template"
    description = ("sagewise's configuration, a custom rule file or the template could not be read; the sagewise "
                   "rules (E9nnn, W9nnn, I9nnn) did not judge it")
    source_url = ""
    tags = ("sagewise",)

    def match(self, cfn):
        _, errors, _ = _outcome(cfn)
        return [RuleMatch([], message, **_place(line, column)) for message, line, column in errors]
