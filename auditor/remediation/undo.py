"""``sagewise undo``: revert what a journal says was applied, newest step first, each call's inverse in reverse.

Before it touches a step, undo checks that every resource is still in the state the apply left it
(what the step's calls made left, :func:`~.steps.left_by`); a step someone changed since is
refused whole, and the other steps are still reverted. Each inverse call goes through the same
:class:`~.apply.Runner` as the apply (its own expectations checked, journaled, verified). A call
that has no inverse (the endpoint config an instance change created) is kept.
"""

from __future__ import annotations

from .apply import FAILED, REFUSED, REVERTED, Result, Runner
from .journal import APPLY
from .steps import left_by


def pending(records: dict) -> list:
    """The journal's steps that have something to revert, the most recently applied first."""
    return sorted((record for record in records.values() if record.done or record.doubt is not None
                   or record.undo_doubt is not None), key=lambda record: record.order, reverse=True)


def check(record, runner: Runner) -> str | None:
    """Why ``record``'s step cannot be reverted now, or ``None``. Settles calls left in doubt (in the journal,
    when the runner has one)."""
    scope = (record.account, record.region)
    unreachable = runner.why_unreachable(scope)
    if unreachable:
        return unreachable
    if record.doubt is not None:
        call = record.calls[record.doubt]
        settled = runner.settle(record.id, scope, record.doubt, call, direction=APPLY)
        if settled is None:
            return f"call {record.doubt + 1} ({call.operation}) was interrupted, and its resource is in neither state"
        if settled == "done":
            record.reached[record.doubt] = "done"
        record.doubt = None
    if record.undo_doubt is not None:
        undo = record.calls[record.undo_doubt].undo
        settled = runner.settle(record.id, scope, record.undo_doubt, undo)
        if settled is None:
            return f"the undo of call {record.undo_doubt + 1} ({undo.operation}) was interrupted, and its resource " \
                   "is in neither state"
        if settled == "done":
            record.undone.add(record.undo_doubt)
        record.undo_doubt = None
    changed = runner.problems(scope, left_by([record.calls[index] for index in record.done]))
    if changed:
        return "changed since it was applied: " + "; ".join(changed)
    return None


def undo_step(record, runner: Runner) -> Result:
    """Revert one step (its calls made, in reverse) and say how it went."""
    refused = check(record, runner)
    if refused:
        return runner.conclude(Result(record.id, record.title, REFUSED, refused))
    scope = (record.account, record.region)
    made = 0
    for index in reversed(record.done):
        call = record.calls[index]
        if call.undo is None:
            runner.skip(record.id, index, call.kept or "nothing to undo")
            continue
        outcome, why = runner.make(record.id, scope, record.title, index, call.undo)
        if outcome != "done":
            return runner.conclude(Result(record.id, record.title, outcome if outcome == REFUSED else FAILED,
                                          f"undo of call {index + 1}: {why}", made))
        made += 1
    return runner.conclude(Result(record.id, record.title, REVERTED, calls=made))
