"""Rule files: loading, validation and selection.

A rule is a YAML file (see ``rules/`` and ``auditor/data/rule.schema.json``): identity, severity,
the sources it applies to, parameters, one or more *checks* (a model collection and a JMESPath
condition over each object in it), the message, the fix and the docs.

The built-in rules are validated against the schema by the test suite, so a normal run loads them
without importing jsonschema (the lint path's start-up time matters). Rule files a user adds with
``--rules-dir`` or ``extra-rules`` are always validated, and a bad one fails loudly with its file
and the offending key.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .model import COLLECTIONS, fact_names

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SCHEMA_PATH = Path(__file__).parent / "data" / "rule.schema.json"


def builtin_rules_dir() -> Path:
    """``rules/`` ships inside the wheel as ``auditor/builtin_rules``; a source checkout has it at the root."""
    packaged = Path(__file__).parent / "builtin_rules"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "rules"


class RuleError(Exception):
    """A rule file is invalid. The message names the file and the key."""


@dataclass(frozen=True)
class Check:
    collection: str
    when: str
    message: str
    at: str | None = None
    severity: str | None = None
    saves: str | None = None
    """Model field holding what this check's fix would save per month (the finding's ``monthly_savings_usd``)."""


@dataclass
class Rule:
    id: str
    name: str
    severity: str
    sources: tuple
    checks: tuple
    summary: str
    fix: dict
    docs: dict
    params: dict = field(default_factory=dict)
    """Parameter name -> {default, description}."""
    path: Path | None = None
    builtin: bool = True
    selected_by_default: bool = True
    """False for an opt-in rule: it runs only when a selection names it."""

    def default_params(self) -> dict:
        return {name: spec.get("default") for name, spec in self.params.items()}

    def matches(self, selector: str) -> bool:
        """ruff-style selection: the id, the name, an id prefix (``SW1``), or ``ALL``."""
        selector = selector.strip()
        return selector in ("ALL", self.id, self.name) or (
            re.fullmatch(r"[A-Z]+\d*", selector) is not None and self.id.startswith(selector)
        )


def _schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        return json.load(handle)


def validate(document, path: Path) -> None:
    """Validate one rule document against the schema; raise :class:`RuleError` naming file and key."""
    import jsonschema  # deferred: only user rule files and the test suite pay for it

    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    if errors:
        error = errors[0]
        where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise RuleError(f"{path}: {where}: {error.message}")


def load_file(path: Path, *, check: bool) -> Rule:
    """The rule in ``path``. ``check`` validates it against the schema and checks its conditions and
    messages: always for a user's rules, for the built-in ones in the test suite (a start-up cost)."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.load(handle, Loader=_LOADER)
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: invalid YAML: {exc}") from None
    if check:
        validate(document, path)
    if not isinstance(document, dict):
        raise RuleError(f"{path}: a rule file must be a mapping")
    checks = tuple(
        Check(
            collection=item["resource"],
            when=item["when"],
            message=item["message"],
            at=item.get("at"),
            severity=item.get("severity"),
            saves=item.get("saves"),
        )
        for item in document.get("checks", ())
    )
    if check:
        for index, check_ in enumerate(checks):
            _check_condition(check_, document.get("params") or {}, f"{path}: checks.{index}")
    return Rule(
        id=document["id"],
        name=document["name"],
        severity=document["severity"],
        sources=tuple(document["sources"]),
        checks=checks,
        summary=document["summary"],
        fix=document["fix"],
        docs=document["docs"],
        params=document.get("params") or {},
        path=path,
        selected_by_default=document.get("selected_by_default", True),
    )


def _check_condition(check: Check, params: dict, where: str) -> None:
    """Catch at load time what JMESPath would only report while evaluating (or never)."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    from .engine import FUNCTIONS

    if check.collection not in COLLECTIONS:
        raise RuleError(f"{where}.resource: unknown collection {check.collection!r}")
    try:
        jmespath.compile(check.when)
    except JMESPathError as exc:
        raise RuleError(f"{where}.when: invalid JMESPath: {exc}") from None
    for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", re.sub(r"'[^']*'|`[^`]*`", "", check.when)):
        if name not in FUNCTIONS:
            raise RuleError(f"{where}.when: unknown function {name}()")
    known = set(fact_names(COLLECTIONS[check.collection]))
    _check_message(check.message, known, params, check.collection, f"{where}.message")
    if check.saves is not None and check.saves not in known:
        raise RuleError(f"{where}.saves: {check.saves} is not a field of {check.collection}")


_REFERENCE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(.*)$", re.DOTALL)


def _check_message(message: str, known: set, params: dict, collection: str, where: str) -> None:
    """Every ``{...}`` of a message must be a field of the collection or ``{params[name]}`` of a declared
    parameter, with a format spec that can apply, so formatting never fails while templates are linted."""
    try:
        pieces = list(string.Formatter().parse(message.replace("${", "$")))
    except ValueError as exc:
        raise RuleError(f"{where}: {exc} (write a literal brace as {{{{ or }}}})") from None
    for _, reference, spec, conversion in pieces:
        if reference is None:
            continue
        match = _REFERENCE.match(reference)
        if not match:
            raise RuleError(f"{where}: {{{reference}}} names no field")
        name, access = match.groups()
        if name == "params":
            parameter = re.fullmatch(r"\[([A-Za-z_][A-Za-z0-9_]*)\]", access)
            if parameter is None:
                hint = f" (write {{params[{access[1:]}]}})" if access.startswith(".") else ""
                raise RuleError(f"{where}: {{{reference}}}: a parameter is written {{params[name]}}{hint}")
            if parameter.group(1) not in params:
                declared = ", ".join(sorted(params)) or "none"
                raise RuleError(f"{where}: {{{reference}}}: no parameter {parameter.group(1)} (declared: {declared})")
        elif name not in known:
            raise RuleError(f"{where}: {{{name}}} is not a field of {collection}")
        elif access:
            raise RuleError(f"{where}: {{{reference}}}: fields are used whole, as {{{name}}}")
        if conversion is not None or (spec and "{" in spec):
            raise RuleError(f"{where}: {{{reference}}}: conversions and nested fields are not supported")
        if spec:
            try:
                format(0, spec)
            except ValueError:
                raise RuleError(f"{where}: {{{reference}:{spec}}}: invalid number format") from None


def load_rules(extra_dirs=(), *, check_builtin: bool = False) -> list[Rule]:
    """The built-in rules plus those in ``extra_dirs``, sorted by id. Duplicate ids are an error."""
    rules: dict[str, Rule] = {}
    names: dict[str, str] = {}
    sources = [(builtin_rules_dir(), True)] + [(Path(directory), False) for directory in extra_dirs]
    for directory, builtin in sources:
        if not directory.is_dir():
            raise RuleError(f"{directory}: rules directory not found")
        for path in sorted(directory.glob("*.y*ml")):
            rule = load_file(path, check=check_builtin or not builtin)
            rule.builtin = builtin
            if rule.id in rules:
                raise RuleError(f"{path}: id {rule.id} is already used by {rules[rule.id].path}")
            if rule.name in names:
                raise RuleError(f"{path}: name {rule.name} is already used by {names[rule.name]}")
            rules[rule.id] = rule
            names[rule.name] = rule.id
    return sorted(rules.values(), key=lambda rule: rule.id)


def select(rules: list[Rule], *, select=None, extend_select=(), ignore=()) -> list[Rule]:
    """ruff's selection model: ``select`` replaces the default set (every rule but the opt-in ones),
    ``extend_select`` adds, ``ignore`` removes."""
    chosen = [rule for rule in rules if any(rule.matches(s) for s in select)] if select \
        else [rule for rule in rules if rule.selected_by_default]
    for rule in rules:
        if rule not in chosen and any(rule.matches(s) for s in extend_select):
            chosen.append(rule)
    chosen = [rule for rule in chosen if not any(rule.matches(s) for s in ignore)]
    return sorted(chosen, key=lambda rule: rule.id)


def unknown_selectors(rules: list[Rule], selectors) -> list[str]:
    """Selectors that match no rule: a typo in ``--select`` must not silently select nothing."""
    return [s for s in selectors if not any(rule.matches(s) for rule in rules)]
