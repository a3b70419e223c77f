"""``sagewise lint``: files -> resource model -> findings, one file at a time.

A file that cannot be read becomes an :class:`~auditor.findings.InputError` and the run goes on
with the others, so one broken template never hides the findings of the rest.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from . import engine
from .discovery import discover, display_path, looks_like_definition
from .findings import Finding, InputError
from .model import Location, ResourceModel
from .sources import cloudformation, pipelines, stepfunctions
from .sources.loader import DocumentError, decode, locate, parse


@dataclass
class LintResult:
    findings: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    files: int = 0
    """How many files were read as templates or definitions."""


def read_model(path: Path, *, explicit: bool) -> ResourceModel | None:
    """The model of one file; None when it is not a template or definition (and was not named)."""
    shown = display_path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise DocumentError("is a directory") from None
    except FileNotFoundError:
        raise DocumentError("no such file") from None
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}") from None
    if not explicit and not looks_like_definition(data):
        return None
    text = decode(data)
    document = parse(text, json_first=path.suffix == ".json")
    if cloudformation.is_template(document):
        return cloudformation.read_template(document, scope=shown, text=text)
    location = Location(shown, "", "", 1, 1, file=shown)
    if stepfunctions.is_state_machine(document):
        model = ResourceModel()
        model.training_jobs.extend(stepfunctions.training_jobs(
            document, location=location, position=lambda p: locate(document, p), machine=path.name))
        return model
    if pipelines.is_pipeline(document):
        model = ResourceModel()
        model.training_jobs.extend(pipelines.training_jobs(
            document, location=location, position=lambda p: locate(document, p), pipeline=path.name))
        return model
    return None


def lint_paths(paths, rules, *, params=None, severities=None, exclude=(), per_path_ignores=None) -> LintResult:
    result = LintResult()
    for path, explicit in discover(paths, exclude):
        shown = display_path(path)
        try:
            model = read_model(path, explicit=explicit)
        except DocumentError as error:
            result.errors.append(InputError(error.message, file=shown, line=error.line, column=error.column))
            continue
        if model is None:
            continue
        result.files += 1
        findings = engine.evaluate(model, rules, params, severities)
        result.findings.extend(_without_path_ignores(findings, shown, per_path_ignores or {}, rules))
    result.findings.sort(key=Finding.sort_key)
    result.errors.sort(key=InputError.sort_key)
    return result


def _without_path_ignores(findings, shown: str, per_path_ignores: dict, rules) -> list:
    selectors = [s for glob, listed in per_path_ignores.items() if fnmatch.fnmatch(shown, glob) for s in listed]
    if not selectors:
        return findings
    ignored = {rule.id for rule in rules if any(rule.matches(s) for s in selectors)}
    return [finding for finding in findings if finding.rule_id not in ignored]
