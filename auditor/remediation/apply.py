"""The one applier: every call of a step checked, journaled, made and verified, for ``apply`` and ``undo`` alike.

:class:`Runner` makes one call the safe way: it reads the state the call expects and refuses the
call when that does not hold (the plan is stale there), writes the call and the state it found to
the journal, makes the call (and waits for the endpoint when the call says so), reads the state
again, checks what the call should have left, and writes the outcome. A step stops at its first
refused or failed call; the other steps go on.

:func:`apply_step` runs a step forward from where the journal says it got to. Before its first
call it compares the whole step with the account: a step whose result is there already is
*unchanged* (a second apply changes nothing), one whose premise no longer holds is *refused*.
A call left in doubt by an interrupted run is settled from the state before anything else
(:meth:`Runner.settle`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from ..audit import ReadOnlyViolation
from .. import faults
from . import journal as journal_lines
from .state import Reader, holds, mismatches
from .steps import AUTOSCALING, EC2_AUTOSCALING, SAGEMAKER, WAITERS

WAIT_DELAY_SECONDS = 30
"""Between two DescribeEndpoint polls while an endpoint is created, updated or deleted (botocore's own)."""

APPLIED, UNCHANGED, REFUSED, FAILED, REVERTED = "applied", "unchanged", "refused", "failed", "reverted"
CLIENTS = {SAGEMAKER: "sagemaker", AUTOSCALING: "autoscaling", EC2_AUTOSCALING: "ec2_autoscaling"}
"""A call's service -> the :class:`auditor.sources.aws.RegionClients` attribute that makes it."""


@dataclass
class Result:
    """What happened to one step."""

    step: str
    title: str
    outcome: str
    detail: str = ""
    calls: int = 0
    """Calls made."""


class Runner:
    """Makes calls through the clients of each scope, journaling them (unless ``journal`` is ``None``: a
    look that changes nothing, as the confirmation prompt needs)."""

    def __init__(self, clients: dict, unreachable: dict, journal: journal_lines.Journal | None, direction: str):
        self.clients = clients
        """(account, region) -> clients behind the remediation's guard."""
        self.unreachable = unreachable
        """(account, region) -> why its clients could not be opened."""
        self.journal = journal
        self.direction = direction

    def reader(self, scope: tuple) -> Reader:
        return Reader(self.clients[scope])

    def why_unreachable(self, scope: tuple) -> str | None:
        if scope in self.clients:
            return None
        return self.unreachable.get(scope, f"no credentials open for account {scope[0]}, {scope[1]}")

    def problems(self, scope: tuple, expectations) -> list[str]:
        """The expectations that do not hold now, one line each."""
        return mismatches(expectations, self.reader(scope).snapshot(expectations))

    def make(self, step: str, scope: tuple, title: str, index: int, call) -> tuple[str, str]:
        """(``done`` | ``refused`` | ``failed``, why) of making ``call``, the ``index``-th of step ``step``."""
        reader = self.reader(scope)
        before = reader.snapshot(call.expect + call.leaves)
        refused = mismatches(call.expect, before)
        if refused:
            return REFUSED, "; ".join(refused)
        self._write(step, index, "before", account=scope[0], region=scope[1], title=title, call=call.to_json(),
                    state=_state(before))
        try:
            _invoke(self.clients[scope], call)
        except (ClientError, BotoCoreError, ReadOnlyViolation) as exc:
            after = reader.snapshot(call.expect + call.leaves)
            if all(holds(expectation, after) for expectation in call.leaves):
                self._write(step, index, "after", outcome="done", state=_state(after), error=_explain(exc))
                return "done", ""
            self._write(step, index, "after", outcome=FAILED, state=_state(after), error=_explain(exc))
            return FAILED, _explain(exc)
        after = reader.snapshot(call.expect + call.leaves)
        wrong = mismatches(call.leaves, after)
        if wrong:
            self._write(step, index, "after", outcome=FAILED, state=_state(after), error="; ".join(wrong))
            return FAILED, f"{call.operation} returned, but " + "; ".join(wrong)
        self._write(step, index, "after", outcome="done", state=_state(after))
        return "done", ""

    def settle(self, step: str, scope: tuple, index: int, call, direction: str | None = None) -> str | None:
        """Whether a call in doubt was made, from the state: ``done``, ``not-made`` (and written so, as a line of
        ``direction``: an undo settles the apply's calls too), or ``None`` when the state is neither what it
        expected nor what it leaves."""
        state = self.reader(scope).snapshot(call.expect + call.leaves)
        if all(holds(expectation, state) for expectation in call.leaves):
            outcome = "done"
        elif all(holds(expectation, state) for expectation in call.expect):
            outcome = journal_lines.NOT_MADE
        else:
            return None
        self._write(step, index, "after", outcome=outcome, state=_state(state), settled=True, direction=direction)
        return outcome

    def skip(self, step: str, index: int, why: str) -> None:
        self._write(step, index, "skipped", reason=why)

    def conclude(self, result: Result) -> Result:
        if self.journal is not None:
            self.journal.write("step", direction=self.direction, step=result.step, outcome=result.outcome,
                               detail=result.detail, title=result.title)
        return result

    def _write(self, step: str, index: int, phase: str, direction: str | None = None, **fields) -> None:
        if self.journal is not None:
            self.journal.write("call", direction=direction or self.direction, step=step, index=index, phase=phase,
                               **fields)


def _explain(exc: Exception) -> str:
    """A failure in one line; a refusal names the policy remediation needs (not the audit's)."""
    if isinstance(exc, ClientError) and faults.is_denied(exc):
        error = exc.response.get("Error", {})
        return (f"{exc.operation_name}: {error.get('Code')}: {' '.join(str(error.get('Message', '')).split())} "
                "(remediation needs the permissions `sagewise iam-policy --remediate` prints)")
    return faults.explain(exc)


def _invoke(clients, call) -> None:
    client = getattr(clients, CLIENTS[call.service])
    getattr(client, xform_name(call.operation))(**copy.deepcopy(call.params))
    if call.wait:
        client.get_waiter(call.wait).wait(EndpointName=call.params["EndpointName"], WaiterConfig={
            "Delay": WAIT_DELAY_SECONDS, "MaxAttempts": WAITERS[call.wait].attempts})


def _state(snapshot: dict) -> list:
    return [{"probe": probe.to_json(), "value": value} for probe, value in snapshot.items()]


def start(step, record, runner: Runner) -> tuple[str, object]:
    """Where applying ``step`` begins: ``("run", index of the next call)``, ``(UNCHANGED, "")`` or
    ``(REFUSED, why)``. Settles a call the journal left in doubt (in the journal, when the runner has one)."""
    unreachable = runner.why_unreachable(step.scope)
    if unreachable:
        return REFUSED, unreachable
    if record is not None and record.partly_undone:
        return REFUSED, "`sagewise undo` reverted part of it; run undo again to finish before applying it again"
    position = record.position if record is not None else 0
    if record is not None and record.doubt is not None:
        settled = runner.settle(step.id, step.scope, record.doubt, step.calls[record.doubt])
        if settled is None:
            problems = runner.problems(step.scope, step.calls[record.doubt].leaves)
            return REFUSED, (f"call {record.doubt + 1} ({step.calls[record.doubt].operation}) was interrupted and the "
                             "state is neither what it expected nor what it leaves: " + "; ".join(problems))
        position = record.doubt + (1 if settled == "done" else 0)
    if position >= len(step.calls):
        problems = runner.problems(step.scope, step.after())
        return (UNCHANGED, "") if not problems else (REFUSED, "applied earlier, and changed since: " + "; ".join(problems))
    if position == 0:  # each resource read once: the premise is checked on the state read for the result, and on
        # what only the premise names
        reader, after, before = runner.reader(step.scope), step.after(), step.before()
        state = reader.snapshot(after)
        if not mismatches(after, state):
            return UNCHANGED, ""
        state.update(reader.snapshot([expectation for expectation in before if expectation.probe not in state]))
        stale = mismatches(before, state)
        if stale:
            return REFUSED, "the account changed since the plan was made: " + "; ".join(stale)
    return "run", position


def apply_step(step, record, runner: Runner) -> Result:
    """Apply ``step`` (``record``: what the journal says of it, or ``None``) and say how it went."""
    how, where = start(step, record, runner)
    if how != "run":
        return runner.conclude(Result(step.id, step.title, how, where))
    made = 0
    for index in range(where, len(step.calls)):
        call = step.calls[index]
        if call.idempotent and not runner.problems(step.scope, call.leaves):
            runner.skip(step.id, index, "what it creates is there already")
            continue
        outcome, why = runner.make(step.id, step.scope, step.title, index, call)
        if outcome != "done":
            return runner.conclude(Result(step.id, step.title, outcome, f"call {index + 1} of {len(step.calls)}: {why}",
                                          made))
        made += 1
    return runner.conclude(Result(step.id, step.title, APPLIED, calls=made))
