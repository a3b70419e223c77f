"""The one applier: fixes -> edits -> verified text -> an atomically written file.

Each pass lints the current text, asks the fixers of the findings for their fixes (``safe`` ones,
and ``unsafe`` ones when asked), keeps those whose edits do not overlap an earlier one, applies
them, and checks the result before accepting it: it must parse, the findings the fixes target must
be gone, and no finding may appear that was not there before, except a warning on the very object a
fix changed (moving a variant off ``ml.t2`` makes it one that should autoscale). A pass that fails the check is
undone and, in the same pass, its fixes are tried one by one, each kept if it checks out beside those
kept before it: so one faulty fix cannot spoil the others. A fix that fails on its own is refused (and
its finding left as it was); one that only fails beside others waits for the next pass, which batches
again. Passes repeat until nothing is left to fix, at most :data:`MAX_PASSES` times; a fix still
waiting then is reported with its finding, like every fix not applied.

Writing happens once, at the end, through :func:`auditor.writing.write_output`, and only if the
file on disk still holds the bytes that were read: a file edited meanwhile is not overwritten.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..discovery import read_bytes
from ..lint import read_text
from ..sources.loader import DocumentError
from ..writing import WriteError, write_output
from . import template
from .edits import SAFE, UNSAFE, Fix, apply, compatible

MAX_PASSES = 10
BOM = "\ufeff"
REFUSED = "its fix was tried and undone: the result did not check out"
OUT_OF_PASSES = "its turn had not come when the fix stopped after its last pass; fixing again applies it"


@dataclass
class FileFixes:
    """What fixing one file did."""

    original: str
    text: str
    """The fixed text (equal to ``original`` when nothing was fixed)."""
    applied: list = field(default_factory=list)
    """The :class:`~auditor.fixers.edits.Fix` objects applied, in order."""
    findings: list = field(default_factory=list)
    """The findings of the fixed text (what remains)."""
    unsafe_available: int = 0
    """Remaining findings an ``--unsafe-fixes`` run would fix."""
    resolved: int = 0
    """Findings of the original text that the fixed text no longer has (a fix may settle several)."""
    not_applied: list = field(default_factory=list)
    """(finding, why) of each remaining finding whose rule has a fix of an allowed class that was not applied."""

    @property
    def changed(self) -> bool:
        return self.text != self.original

    def diff(self, shown: str) -> str:
        return "".join(difflib.unified_diff(
            self.original.splitlines(keepends=True), self.text.splitlines(keepends=True),
            fromfile=f"a/{shown}", tofile=f"b/{shown}"))


def fix_text(text: str, path: Path, *, scope: str, shown: str, evaluate: Callable, params: dict,
             unsafe: bool) -> FileFixes:
    """Fix ``text`` (the decoded content of ``path``); ``evaluate(model)`` gives a model's findings."""
    allowed = (SAFE, UNSAFE) if unsafe else (SAFE,)
    outcome = FileFixes(original=text, text=text)
    current = first = _lint(text, path, scope, shown, evaluate)
    refused: set = set()
    for passes in range(MAX_PASSES + 1):  # the last one only asks what is left, for the report
        unfixed = {}
        available = _fixes(current, params, unfixed)
        fixes = [fix for fix in available if fix.safety in allowed and fix.finding.identity not in refused]
        if not fixes:
            break
        if passes == MAX_PASSES:
            unfixed.update((fix.finding.identity, OUT_OF_PASSES) for fix in fixes)
            break
        if any(fix.finding.rule_id not in template.ADDS_RESOURCES for fix in fixes):
            fixes = [fix for fix in fixes if fix.finding.rule_id not in template.ADDS_RESOURCES]
        batch = _non_overlapping(fixes)
        candidate = _try(current, batch, path, scope, shown, evaluate)
        if candidate is None:
            batch, candidate = _one_by_one(current, batch, refused, path, scope, shown, evaluate)
            if candidate is None:
                continue
        outcome.applied.extend(batch)
        current = candidate
    outcome.text = current.text
    outcome.findings = current.findings
    outcome.resolved = len({f.identity for f in first.findings} - {f.identity for f in current.findings})
    unfixed.update(dict.fromkeys(refused, REFUSED))
    outcome.not_applied = [(finding, unfixed[finding.identity]) for finding in current.findings
                           if finding.identity in unfixed and finding.fix and finding.fix["safety"] in allowed]
    if not unsafe:
        outcome.unsafe_available = sum(1 for fix in available if fix.safety == UNSAFE)
    return outcome


@dataclass
class _Linted:
    text: str
    read: object
    findings: list


def _lint(text: str, path: Path, scope: str, shown: str, evaluate: Callable) -> _Linted:
    read = read_text(text, path, scope=scope, shown=shown)
    return _Linted(text, read, evaluate(read.model) if read.model is not None else [])


def _fixes(current: _Linted, params: dict, unfixed: dict) -> list[Fix]:
    if current.read.model is None:
        return []
    return template.fixes(current.findings, current.text, current.read, params, unfixed)


def _non_overlapping(fixes: list[Fix]) -> list[Fix]:
    accepted: list[Fix] = []
    edits: list = []
    for fix in fixes:
        if compatible(fix, edits):
            accepted.append(fix)
            edits.extend(fix.edits)
    return accepted


def _try(current: _Linted, batch: list[Fix], path: Path, scope: str, shown: str, evaluate: Callable):
    """The linted result of applying ``batch``, or ``None`` when it does not check out."""
    text = apply(current.text, [edit for fix in batch for edit in fix.edits])
    try:
        after = _lint(text, path, scope, shown, evaluate)
    except DocumentError:
        return None
    before = {finding.identity for finding in current.findings}
    remaining = {finding.identity for finding in after.findings}
    targeted = {fix.finding.identity for fix in batch}
    if targeted & remaining:
        return None
    changed = {fix.finding.subject for fix in batch}
    for finding in after.findings:
        if finding.identity not in before and (finding.severity == "error" or finding.subject not in changed):
            return None  # a fix may reveal what its own change calls for (a t2 variant that can now scale), no more
    return after


def _one_by_one(current: _Linted, batch: list[Fix], refused: set, path: Path, scope: str, shown: str,
                evaluate: Callable):
    """The fixes of a failed ``batch`` that check out together, tried in order, and their linted result
    (``None`` when none does). A fix that fails on its own joins ``refused``; one that fails only beside
    the fixes kept before it is left for the next pass, where the fixed text gives it fresh edits."""
    kept: list[Fix] = []
    after = None
    for fix in batch:
        candidate = _try(current, kept + [fix], path, scope, shown, evaluate)
        if candidate is not None:
            kept.append(fix)
            after = candidate
        elif not kept or _try(current, [fix], path, scope, shown, evaluate) is None:
            refused.add(fix.finding.identity)
    return kept, after


@dataclass
class FixOptions:
    unsafe: bool = False
    """Apply ``unsafe`` fixes too (``--unsafe-fixes``)."""
    write: bool = True
    """Write the fixed files (``False`` for ``--diff``)."""
    params: dict = field(default_factory=dict)
    """Rule id -> parameters, defaults included (what fixes write: capacity ranges, target values...)."""


def write_fixed(path: Path, original: bytes, text: str) -> None:
    """Write ``text`` over ``path`` if the file still holds ``original``; :class:`WriteError` otherwise.

    A byte order mark the file started with is written back. :func:`~auditor.writing.write_output` replaces a
    regular file atomically and writes a symlink through to its target, so the link stays a link.
    """
    try:
        now = read_bytes(path)
    except DocumentError as error:
        raise WriteError(f"{path}: {error.message}; not written") from None
    if now != original:
        raise WriteError(f"{path}: changed on disk while it was being fixed; not written")
    bom = BOM if original.startswith(BOM.encode("utf-8")) else ""
    write_output(path, bom + text)
