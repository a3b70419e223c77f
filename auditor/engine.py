"""Evaluate rules over a resource model and produce findings.

Each check of a rule is a JMESPath condition evaluated against every object of one model
collection (see :mod:`auditor.model`), with the rule's parameters available as ``params``.
JMESPath was chosen because it ships with boto3's dependencies, is declarative (a rule file cannot
run code), is well documented, and can be extended with a few named functions (below) for the
comparisons JSON cannot express.

Suppressions declared in a template (``Metadata.sagewise.ignore``) are applied here, and the
engine itself reports the unused ones (SW001), those without a reason (SW002) and the
malformed ones (SW003).
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import jmespath
from jmespath import functions

from . import catalog
from .findings import Finding, InputError
from .model import ResourceModel, Suppression
from .rules import Rule

UNUSED_SUPPRESSION = "SW001"
SUPPRESSION_WITHOUT_REASON = "SW002"
MALFORMED_SUPPRESSION = "SW003"


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
    """Message formatting: ``{field}`` from the object's facts, ``{params[name]}`` from the rule's; a list
    reads as its items joined by commas."""

    def format_field(self, value, format_spec):
        if value is None:
            return "unknown"
        if isinstance(value, list) and not format_spec:
            value = ", ".join("unknown" if item is None else str(item) for item in value)
        if isinstance(value, float) and not format_spec and value.is_integer():
            value = int(value)
        return super().format_field(value, format_spec)


_FORMATTER = _Facts()


@dataclass
class RuleProblem:
    """A check that failed while it was evaluated (a custom rule's condition or message is wrong at run time).

    The check is skipped for the resource it failed on and reported once per run, against the rule
    file: a faulty rule must never turn the templates it runs over into unreadable inputs.
    """

    rule: Rule
    check_index: int
    error: Exception

    def as_error(self) -> InputError:
        where = str(self.rule.path) if self.rule.path else self.rule.id
        return InputError(f"rule {self.rule.id} checks.{self.check_index} could not be evaluated and was skipped: "
                          f"{type(self.error).__name__}: {self.error}", file=where)


def evaluate(model: ResourceModel, rules: list[Rule], params: dict | None = None,
             severities: dict | None = None, known_rules: list[Rule] | None = None,
             problems: dict | None = None) -> list[Finding]:
    """Findings of ``rules`` over ``model``, suppressions applied, one per fingerprint.

    ``params`` maps rule id -> parameter overrides; ``severities`` maps rule id -> severity;
    ``known_rules`` (default: ``rules``) are all the rules that exist, selected or not, so a
    suppression naming a rule that does not exist can be told from one naming an unselected rule.
    A check that raises is skipped for that resource and recorded in ``problems`` ((rule id, check
    index) -> :class:`RuleProblem`); without ``problems`` it raises.
    """
    params = params or {}
    severities = severities or {}
    findings: dict[tuple, Finding] = {}
    for rule in rules:
        rule_params = {**rule.default_params(), **params.get(rule.id, {})}
        for index, check in enumerate(rule.checks):
            expression = jmespath.compile(check.when)  # jmespath caches parsed expressions
            for resource in model.collection(check.collection):
                if resource.source not in rule.sources:
                    continue
                facts = resource.facts()
                facts["params"] = rule_params
                try:
                    if not expression.search(facts, options=_OPTIONS):
                        continue
                    message = _FORMATTER.format(check.message, **facts).strip()
                except Exception as error:  # noqa: BLE001 - reported against the rule, not the input
                    if problems is None:
                        raise
                    problems.setdefault((rule.id, index), RuleProblem(rule, index, error))
                    continue
                finding = Finding(
                    rule_id=rule.id,
                    rule_name=rule.name,
                    severity=severities.get(rule.id) or check.severity or rule.severity,
                    message=message,
                    location=resource.location_of(check.at),
                    fix={"safety": rule.fix["safety"], "summary": rule.fix["summary"]},
                    monthly_cost_usd=facts.get("monthly_cost_usd"),
                    monthly_savings_usd=facts.get(check.saves) if check.saves else None,
                    evidence=_evidence(facts),
                    source=resource.source,
                    subject=(resource.location.scope, resource.location.resource, resource.location.path),
                    model_object=resource,
                )
                findings.setdefault(finding.identity, finding)
    return _apply_suppressions(list(findings.values()), model.suppressions, rules, known_rules or rules, severities)


_EVIDENCE_FIELDS = ("invocations", "lookback_days", "peak_cpu_per_vcpu", "peak_memory", "peak_gpu_per_gpu",
                    "peak_gpu_memory_per_gpu", "utilization_days", "downsize_to", "age_days", "billable_seconds",
                    "spot_saving_usd", "utilization")


def _evidence(facts: dict) -> dict:
    return {name: facts[name] for name in _EVIDENCE_FIELDS if facts.get(name) is not None}


def _apply_suppressions(findings: list[Finding], suppressions: list[Suppression], rules: list[Rule],
                        known_rules: list[Rule], severities: dict) -> list[Finding]:
    """Drop suppressed findings; report malformed (SW003), reasonless (SW002) and unused (SW001) entries.

    An entry applies to findings on its own resource, on a resource it owns (a variant's finding
    can be suppressed on the endpoint that serves it), or, declared at the template's root, to every
    finding of its file.
    """
    if not suppressions:
        return findings
    by_selector = {}
    for rule in rules:
        by_selector[rule.id] = rule
        by_selector[rule.name] = rule
    known = {rule.id for rule in known_rules} | {rule.name for rule in known_rules}
    active = [s for s in suppressions if s.reason and s.problem is None]
    kept = []
    for finding in findings:
        suppressed = False
        for suppression in active:
            if suppression.rule in (finding.rule_id, finding.rule_name) and _covers(suppression, finding):
                suppression.used = True
                suppressed = True
        if not suppressed:
            kept.append(finding)
    for suppression in suppressions:
        where = _where(suppression)
        if suppression.problem is not None:
            meta = by_selector.get(MALFORMED_SUPPRESSION)
            block = "`Metadata.sagewise`" + ("" if suppression.location.resource else " at the template's root")
            message = f"{block} cannot be read, so it suppresses nothing: {suppression.problem}"
        elif not suppression.reason:
            meta = by_selector.get(SUPPRESSION_WITHOUT_REASON)
            message = (f"The ignore of {suppression.rule} {where} has no reason, so it suppresses nothing; "
                       "add `reason: ...`")
        elif not suppression.used:
            meta = by_selector.get(UNUSED_SUPPRESSION)
            named = by_selector.get(suppression.rule)
            if named is not None:
                message = f"The ignore of {named.id} ({named.name}) {where} suppresses nothing; remove it"
            elif suppression.rule not in known:
                message = f"The ignore of {suppression.rule} {where} names no rule (see `sagewise rules`)"
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
            model_object=suppression,
        ))
    return kept


def _covers(suppression: Suppression, finding: Finding) -> bool:
    """Whether ``suppression`` applies to ``finding``: the owners are the matched object's (every finding judged
    here comes from a rule, so it has one)."""
    where, location = suppression.location, finding.location
    if where.scope != location.scope:
        return False
    return where.resource in ("", location.resource) or where.resource in finding.model_object.owners


def _where(suppression: Suppression) -> str:
    resource = suppression.location.resource
    return f"on {resource}" if resource else "at the template's root"
