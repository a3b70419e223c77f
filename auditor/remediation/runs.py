"""Applying a plan file and undoing a journal, end to end: load and check the input, look at the account,
ask, run under the journal's lock, report.

Nothing changes an account before the plan (or journal) has been read and checked, every step has
been compared with the account, and the person has agreed (or passed ``--yes``). Output goes through
``echo`` (``click.echo``'s signature: ``err=True`` for standard error); the question through ``confirm``
(``None``: do not ask).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

from ..audit import AuditError, run_audit
from ..constants import DEFAULT_MAX_CHANGES
from ..reporters.text import error_place
from ..writing import WriteError, write_output
from . import journal as journals
from .access import Credentials, open_clients
from .apply import APPLIED, REVERTED, UNCHANGED, Runner, apply_step, start
from .plan import PlanError, load_plan, make_plan
from .render import plan_text, result_line, results_summary, step_lines
from .undo import check, pending, undo_step


class RunError(Exception):
    """An input that cannot be used (a plan, a journal, credentials): one line, exit code 2, nothing changed."""


def plan_accounts(options, rules: list, params: dict, severities: dict, all_params: dict, *, unsafe: bool,
                  plan_out, output_format: str, echo: Callable, warn: Callable) -> int:
    """Audit, plan, print the plan (text or JSON) and write it to ``plan_out``; the exit code: 2 when an
    account, region or resource could not be read (the plan covers the rest), else 0."""
    try:
        result = run_audit(options, rules, params, severities)
    except AuditError as exc:
        raise RunError(str(exc)) from None
    for warning in result.warnings:
        warn(f"sagewise: warning: {warning}")
    plan, unreadable = make_plan(result, all_params, unsafe=unsafe)
    if plan_out:
        try:
            write_output(plan_out, plan.text())
        except WriteError as exc:
            raise RunError(str(exc)) from None
    echo(plan_text(plan) if output_format == "text" else plan.text(), nl=False)
    if plan_out and output_format == "text":
        echo(f"Saved the plan to {plan_out}; apply it with `sagewise remediate --apply {plan_out}`.")
    for error in result.errors:
        warn(f"{error_place(error)}: error: {error.message}")
    for problem in unreadable:
        warn(f"sagewise: error: {problem}")
    return 2 if result.errors or unreadable else 0


def apply_plan(plan_file, *, journal_file=None, max_changes: int = DEFAULT_MAX_CHANGES,
               credentials: Credentials, confirm: Callable | None, echo: Callable) -> int:
    """Apply a plan file; the exit code: 0 when every step is applied or was already, 1 otherwise."""
    try:
        plan, digest = load_plan(plan_file)
    except PlanError as exc:
        raise RunError(str(exc)) from None
    if len(plan.steps) > max_changes:
        raise RunError(f"{plan_file}: {len(plan.steps)} steps, more than --max-changes {max_changes}; plan a narrower "
                       "scope or raise the limit")
    journal_file = Path(journal_file) if journal_file else journals.default_path(plan_file)
    entries = _journal(journal_file)
    if journals.plans(entries) - {digest}:
        raise RunError(f"{journal_file}: the journal of another plan; give this one its own with --journal FILE")
    if not plan.steps:
        echo("Nothing to apply: the plan has no steps.")
        return 0
    records = journals.replay(entries)
    clients, unreachable = _open(plan.scopes, credentials)
    look = Runner(clients, unreachable, None, journals.APPLY)
    ready = [(number, step) for number, step in enumerate(plan.steps, 1)
             if start(step, records.get(step.id), look)[0] == "run"]
    if ready and confirm is not None:
        for number, step in ready:
            echo("\n".join(step_lines(number, step)))
        if not confirm(f"Apply {len(ready)} of the plan's {len(plan.steps)} steps to account(s) "
                       f"{', '.join(sorted({step.account for _, step in ready}))}?"):
            echo("Nothing was changed.")
            return 1
    results = []
    with _locked(journal_file, entries, echo) as journal:
        journal.begin("apply", digest, str(plan_file))
        runner = Runner(clients, unreachable, journal, journals.APPLY)
        for number, step in enumerate(plan.steps, 1):
            results.append(apply_step(step, records.get(step.id), runner))
            echo(result_line(number, len(plan.steps), results[-1]))
        journal.write("end", command="apply", outcomes=[result.outcome for result in results])
    echo(f"{results_summary(results, 'Applied')} Journal: {journal_file} (`sagewise undo {journal_file}` "
         "reverts it).")
    return 0 if all(result.outcome in (APPLIED, UNCHANGED) for result in results) else 1


def undo_journal(journal_file, *, credentials: Credentials, confirm: Callable | None, echo: Callable) -> int:
    """Revert what a journal says was applied; the exit code: 0 when every step is reverted, 1 otherwise."""
    journal_file = Path(journal_file)
    if not journal_file.exists():
        raise RunError(f"{journal_file}: no such journal")
    entries = _journal(journal_file)
    digests = journals.plans(entries)
    if len(digests) > 1:
        raise RunError(f"{journal_file}: the runs of {len(digests)} different plans; sagewise writes one plan's")
    if not digests:
        raise RunError(f"{journal_file}: not a sagewise journal (no run begins in it)")
    todo = pending(journals.replay(entries))
    if not todo:
        echo("Nothing to undo: the journal records no change that is still applied.")
        return 0
    scopes = sorted({(record.account, record.region) for record in todo})
    clients, unreachable = _open(scopes, credentials)
    look = Runner(clients, unreachable, None, journals.UNDO)
    if confirm is not None:
        for record in todo:
            problem = check(copy.deepcopy(record), look)
            echo(f"  revert: {record.title}" + (f" (refused: {problem})" if problem else ""))
        if not confirm(f"Revert {len(todo)} step{'' if len(todo) == 1 else 's'}?"):
            echo("Nothing was changed.")
            return 1
    results = []
    plan_file = next(entry["plan_file"] for entry in entries if entry["event"] == "begin")
    with _locked(journal_file, entries, echo) as journal:
        journal.begin("undo", digests.pop(), plan_file)
        runner = Runner(clients, unreachable, journal, journals.UNDO)
        for number, record in enumerate(todo, 1):
            results.append(undo_step(record, runner))
            echo(result_line(number, len(todo), results[-1]))
        journal.write("end", command="undo", outcomes=[result.outcome for result in results])
    echo(results_summary(results, "Reverted"))
    return 0 if all(result.outcome == REVERTED for result in results) else 1


def _journal(path: Path) -> list:
    try:
        return journals.read(path)
    except journals.JournalError as exc:
        raise RunError(str(exc)) from None


def _open(scopes: list, credentials: Credentials) -> tuple:
    try:
        return open_clients(scopes, credentials)
    except AuditError as exc:
        raise RunError(str(exc)) from None


class _locked:
    """The journal open and locked, after checking that nobody wrote to it since it was read; on Ctrl-C, where
    it is and how to revert what it records (a call may have been made, or be in flight)."""

    def __init__(self, path: Path, entries: list, echo: Callable):
        self.path, self.entries, self.echo = path, entries, echo

    def __enter__(self) -> journals.Journal:
        try:
            self.journal = journals.Journal(self.path)
        except journals.JournalError as exc:
            raise RunError(str(exc)) from None
        if _journal(self.path) != self.entries:
            self.journal.close()
            raise RunError(f"{self.path}: another run wrote to it meanwhile; run again")
        return self.journal

    def __exit__(self, kind, *_) -> None:
        self.journal.close()
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            self.echo(f"sagewise: the journal {self.path} records every call that may have been made; "
                      f"`sagewise undo {self.path}` reverts them", err=True)
