"""``sagewise lint``: files -> resource model -> findings, one file at a time.

A file that cannot be read becomes an :class:`~auditor.findings.InputError` and the run goes on
with the others, so one broken template never hides the findings of the rest. A file that is not
a template or definition at all is skipped and counted, whether it was walked or named.
"""

from __future__ import annotations

import fnmatch
import gc
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from . import engine
from .discovery import discover, display_path, looks_like_definition, read_bytes, relative_path
from .findings import Finding, InputError
from .model import Location, ResourceModel
from .linking import link
from .sources import cloudformation, pipelines, statemachine_hosting, stepfunctions
from .sources.loader import DocumentError, decode, detect_syntax, locate, parse

SYNTAX_BY_SUFFIX = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


@dataclass
class LintResult:
    findings: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    files: int = 0
    """How many files were read as templates or definitions."""
    skipped: int = 0
    """How many candidate files were not templates or definitions."""
    checked: dict = field(default_factory=dict)
    """Each file read as a template or definition: its path as shown -> its path in fingerprints (relative to
    the project root). Reports list them (JUnit's test cases) and baselines compare per file."""
    fixed: list = field(default_factory=list)
    """(shown path, :class:`~auditor.fixers.apply.FileFixes`) of every file a fix changed (``--fix``)."""
    unsafe_available: int = 0
    """Findings left that ``--unsafe-fixes`` would fix."""
    not_applied: list = field(default_factory=list)
    """(shown path, finding, why) of each finding left whose rule has a fix that could not be applied."""


def read_model(path: Path, *, scope: str | None = None, shown: str | None = None) -> ResourceModel | None:
    """The model of one file; None when it is not a template or definition.

    ``scope`` identifies the file in fingerprints (a path relative to the project root); ``shown``
    is how it is reported (default: :func:`display_path`). Raises :class:`DocumentError` when the
    file looks like a template or definition but cannot be read as one.
    """
    content = _read_definition(path)
    return None if content is None else read_text(content[1], path, scope=scope, shown=shown).model


def _read_definition(path: Path) -> tuple[bytes, str] | None:
    """The bytes of ``path`` and their text; None when it is not a template or definition."""
    data = read_bytes(path)
    if not looks_like_definition(data):
        return None
    return data, decode(data)


@dataclass
class ReadText:
    document: object
    """The parsed tree (with marks)."""
    syntax: str
    """``yaml`` or ``json``: how the text was parsed."""
    model: ResourceModel | None
    """``None`` when the document is not a template or definition."""


def read_text(text: str, path: Path, *, scope: str | None = None, shown: str | None = None) -> ReadText:
    """Parse decoded ``text`` (the content of ``path``) and read its model; see :func:`read_model`."""
    shown = shown or display_path(path)
    scope = scope or shown
    syntax = SYNTAX_BY_SUFFIX.get(path.suffix.lower()) or detect_syntax(text)
    document = _parse_without_gc(text, syntax)
    return ReadText(document, syntax, _model(document, path, scope=scope, shown=shown, text=text))


def _model(document, path: Path, *, scope: str, shown: str, text: str) -> ResourceModel | None:
    if cloudformation.is_template(document):
        return cloudformation.read_template(document, file=shown, scope=scope, text=text)
    location = Location(scope, "", "", 1, 1, file=shown)
    model = ResourceModel()
    if stepfunctions.is_state_machine(document):
        position = partial(locate, document)
        model.training_jobs.extend(stepfunctions.training_jobs(
            document, location=location, position=position, machine=path.name))
        model.extend(statemachine_hosting.hosting(document, location=location, position=position, machine=path.name))
        link(model)
        return model
    if pipelines.is_pipeline(document):
        model.training_jobs.extend(pipelines.training_jobs(
            document, location=location, position=lambda p: locate(document, p), pipeline=path.name))
        return model
    return None


def _parse_without_gc(text: str, syntax: str):
    """Parse with the cyclic garbage collector paused.

    Building a tree allocates hundreds of thousands of containers and none of them is garbage, yet
    each allocation threshold crossed makes the collector walk them all again: on a 5,000-endpoint
    template that was half of the parse time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return parse(text, syntax=syntax)
    finally:
        if enabled:
            gc.enable()


def lint_paths(paths, rules, *, params=None, severities=None, exclude=(), per_path_ignores=None,
               root: Path | None = None, known_rules=None, fixing=None) -> LintResult:
    """Lint ``paths``. Globs and fingerprints use paths relative to ``root`` (default: cwd).

    With ``fixing`` (:class:`~auditor.fixers.apply.FixOptions`), each file is fixed first and its
    remaining findings reported.
    """
    cwd = Path.cwd()
    root = root or cwd
    result = LintResult()
    found = discover(paths, exclude, root)
    for directory, message in found.errors:
        result.errors.append(InputError(message, file=display_path(directory, cwd)))
    rule_problems: dict = {}
    for path in found.files:
        shown = display_path(path, cwd)
        relative = relative_path(path, root)
        def evaluate(model, relative=relative):
            found = engine.evaluate(model, rules, params, severities, known_rules, problems=rule_problems)
            return _without_path_ignores(found, relative, per_path_ignores or {}, rules)

        try:
            if fixing is None:
                model = read_model(path, scope=relative, shown=shown)
                findings = evaluate(model) if model is not None else None
            else:
                findings = _fix_file(path, relative, shown, evaluate, fixing, result)
            if findings is None:
                result.skipped += 1
                continue
        except DocumentError as error:
            result.errors.append(InputError(error.message, file=shown, line=error.line, column=error.column))
            continue
        except Exception as error:  # noqa: BLE001 - one file must never abort the run
            result.errors.append(InputError(
                f"internal error while reading this file ({type(error).__name__}: {error}); please report it",
                file=shown,
            ))
            continue
        result.files += 1
        result.checked[shown] = relative
        result.findings.extend(findings)
    result.errors.extend(problem.as_error() for problem in rule_problems.values())
    result.findings.sort(key=Finding.sort_key)
    result.errors.sort(key=InputError.sort_key)
    return result


def _fix_file(path: Path, relative: str, shown: str, evaluate, fixing, result: LintResult) -> list | None:
    """Fix one file (see :mod:`auditor.fixers.apply`); its remaining findings, or None when it is no template."""
    from .fixers.apply import fix_text, write_fixed
    from .writing import WriteError

    content = _read_definition(path)
    if content is None:
        return None
    data, text = content
    outcome = fix_text(text, path, scope=relative, shown=shown, evaluate=evaluate, params=fixing.params,
                       unsafe=fixing.unsafe)
    if outcome.changed:
        if fixing.write:
            try:
                write_fixed(path, data, outcome.text)
            except WriteError as error:
                raise DocumentError(str(error)) from None
        result.fixed.append((shown, outcome))
    result.unsafe_available += outcome.unsafe_available
    result.not_applied.extend((shown, finding, why) for finding, why in outcome.not_applied)
    return outcome.findings


def _without_path_ignores(findings, relative: str, per_path_ignores: dict, rules) -> list:
    selectors = [s for glob, listed in per_path_ignores.items() if fnmatch.fnmatch(relative, glob) for s in listed]
    if not selectors:
        return findings
    ignored = {rule.id for rule in rules if any(rule.matches(s) for s in selectors)}
    return [finding for finding in findings if finding.rule_id not in ignored]
