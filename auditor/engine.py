"""Evaluate rules over a resource model and produce findings.

Each check of a rule is a JMESPath condition evaluated against every object of one model
collection (see :mod:`auditor.model`), with the rule's parameters available as ``params``.
JMESPath was chosen because it ships with boto3's dependencies, is declarative (a rule file cannot
run code), is well documented, and can be extended with a few named functions (below) for the
comparisons JSON cannot express.

Suppressions declared in a template (``Metadata.sagewise.ignore``) are applied here, and the
engine itself reports the unused ones (SW001) and those without a reason (SW002).
"""

from __future__ import annotations

import string

import jmespath
from jmespath import functions

from . import catalog
from .findings import Finding
from .model import ResourceModel, Suppression
from .rules import Rule

UNUSED_SUPPRESSION = "SW001"
SUPPRESSION_WITHOUT_REASON = "SW002"


class _RuleFunctions(functions.Functions):
    """Functions rule conditions may call besides JMESPath's built-ins."""

    @functions.signature({"types": ["string", "null"]})
    def _func_size_rank(self, instance_type_or_size):
        """Rank of an instance size (``ml.m5.4xlarge`` or ``4xlarge`` -> 16); null when unknown."""
        if instance_type_or_size is None:
            return None
        return catalog.size_rank(instance_type_or_size.rsplit(".", 1)[-1])


_OPTIONS = jmespath.Options(custom_functions=_RuleFunctions())
FUNCTIONS = frozenset(_OPTIONS.custom_functions.FUNCTION_TABLE)
"""Every function a rule condition may call (JMESPath's built-ins and ours)."""


class _Facts(string.Formatter):
    """Message formatting: ``{field}`` from the object's facts, ``{params[name]}`` from the rule's."""

    def format_field(self, value, format_spec):
        if value is None:
            return "unknown"
        if isinstance(value, float) and not format_spec and value.is_integer():
            value = int(value)
        return super().format_field(value, format_spec)


_FORMATTER = _Facts()


def evaluate(model: ResourceModel, rules: list[Rule], params: dict | None = None,
             severities: dict | None = None, known_rules: list[Rule] | None = None) -> list[Finding]:
    """Findings of ``rules`` over ``model``, suppressions applied, one per fingerprint.

    ``params`` maps rule id -> parameter overrides; ``severities`` maps rule id -> severity;
    ``known_rules`` (default: ``rules``) are all the rules that exist, selected or not, so a
    suppression naming a rule that does not exist can be told from one naming an unselected rule.
    """
    params = params or {}
    severities = severities or {}
    findings: dict[tuple, Finding] = {}
    for rule in rules:
        rule_params = {**rule.default_params(), **params.get(rule.id, {})}
        for check in rule.checks:
            expression = jmespath.compile(check.when)  # jmespath caches parsed expressions
            for resource in model.collection(check.collection):
                if resource.source not in rule.sources:
                    continue
                facts = resource.facts()
                facts["params"] = rule_params
                if not expression.search(facts, options=_OPTIONS):
                    continue
                finding = Finding(
                    rule_id=rule.id,
                    rule_name=rule.name,
                    severity=severities.get(rule.id) or check.severity or rule.severity,
                    message=_FORMATTER.format(check.message, **facts).strip(),
                    location=resource.location_of(check.at),
                    fix={"safety": rule.fix["safety"], "summary": rule.fix["summary"]},
                    monthly_cost_usd=facts.get("monthly_cost_usd"),
                    monthly_savings_usd=facts.get(check.saves) if check.saves else None,
                    evidence=_evidence(facts),
                    source=resource.source,
                    subject=(resource.location.scope, resource.location.resource, resource.location.path),
                )
                findings.setdefault(finding.identity, finding)
    return _apply_suppressions(list(findings.values()), model.suppressions, rules, known_rules or rules, severities)


_EVIDENCE_FIELDS = ("invocations", "lookback_days", "peak_cpu_per_vcpu", "peak_memory", "peak_gpu_per_gpu",
                    "peak_gpu_memory_per_gpu", "utilization_days", "downsize_to", "age_days")


def _evidence(facts: dict) -> dict:
    return {name: facts[name] for name in _EVIDENCE_FIELDS if facts.get(name) is not None}


def _apply_suppressions(findings: list[Finding], suppressions: list[Suppression], rules: list[Rule],
                        known_rules: list[Rule], severities: dict) -> list[Finding]:
    if not suppressions:
        return findings
    by_selector = {}
    for rule in rules:
        by_selector[rule.id] = rule
        by_selector[rule.name] = rule
    known = {rule.id for rule in known_rules} | {rule.name for rule in known_rules}
    kept = []
    for finding in findings:
        suppressed = False
        for suppression in suppressions:
            if suppression.reason and suppression.location.scope == finding.location.scope \
                    and suppression.location.resource == finding.location.resource \
                    and suppression.rule in (finding.rule_id, finding.rule_name):
                suppression.used = True
                suppressed = True
        if not suppressed:
            kept.append(finding)
    for suppression in suppressions:
        if not suppression.reason:
            meta = by_selector.get(SUPPRESSION_WITHOUT_REASON)
            message = (f"The ignore of {suppression.rule} on {suppression.location.resource} has no reason, "
                       "so it suppresses nothing; add `reason: ...`")
        elif not suppression.used:
            meta = by_selector.get(UNUSED_SUPPRESSION)
            named = by_selector.get(suppression.rule)
            if named is not None:
                message = (f"The ignore of {named.id} ({named.name}) on {suppression.location.resource} "
                           "suppresses nothing; remove it")
            elif suppression.rule not in known:
                message = (f"The ignore of {suppression.rule} on {suppression.location.resource} names no "
                           "rule (see `sagewise rules`)")
            else:  # a rule that exists but was not selected in this run: it cannot be judged unused
                continue
        else:
            continue
        if meta is None:  # the meta rule itself was not selected
            continue
        kept.append(Finding(
            rule_id=meta.id,
            rule_name=meta.name,
            severity=severities.get(meta.id) or meta.severity,
            message=message,
            location=suppression.location,
            fix={"safety": meta.fix["safety"], "summary": meta.fix["summary"]},
        ))
    return kept
