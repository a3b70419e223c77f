"""The plan and the outcome of a run, as people read them (``terraform plan`` style).

Per step: its number and title, the findings it fixes, then each resource it creates (``+``),
changes (``~``) or deletes (``-``) with the attributes that change, from what to what. Then the
findings left to people (no live fix) and those not planned, with why, and a summary line.
"""

from __future__ import annotations

import json

from .apply import APPLIED, FAILED, REFUSED, REVERTED, UNCHANGED

_SIGN = {"create": "+", "update": "~", "delete": "-"}


def plan_text(plan) -> str:
    lines: list[str] = []
    scope = None
    for number, step in enumerate(plan.steps, 1):
        if step.scope != scope:
            scope = step.scope
            lines += [f"Account {step.account}, {step.region}:", ""]
        lines += step_lines(number, step) + [""]
    if plan.manual:
        lines.append("Left to you (no live fix):")
        lines += [f"  {note['finding']['rule_id']} {note['finding']['subject']}: {note['advice']}" for note in plan.manual]
        lines.append("")
    if plan.skipped:
        lines.append("Not planned:")
        lines += [f"  {note['finding']['rule_id']} {note['finding']['subject']}: {note['reason']}"
                  for note in plan.skipped]
        lines.append("")
    lines.append(summary(plan))
    return "\n".join(lines) + "\n"


def step_lines(number: int, step) -> list[str]:
    lines = [f"  # {number}. {step.title} [{step.safety}]"]
    lines += [f"  #    {finding['rule_id']}: {finding['message']}" for finding in step.findings]
    for change in step.changes:
        lines.append(f"  {_SIGN[change.action]} {change.type} {change.name}")
        width = max((len(name) for name, _, _ in change.attributes), default=0)
        for name, before, after in change.attributes:
            lines.append(f"      {_SIGN[change.action]} {name.ljust(width)} = {_transition(change.action, before, after)}")
        if change.note:
            lines.append(f"      # {change.note}")
    return lines


def _transition(action: str, before, after) -> str:
    if action == "create":
        return _value(after)
    if action == "delete":
        return _value(before)
    return f"{_value(before)} -> {_value(after)}"


def _value(value) -> str:
    if value is None:
        return "(none)"
    return json.dumps(value)


def summary(plan) -> str:
    if not plan.steps:
        line = "Plan: nothing to change."
    else:
        counts = {action: sum(change.action == action for step in plan.steps for change in step.changes)
                  for action in _SIGN}
        unsafe = sum(step.safety == "unsafe" for step in plan.steps)
        line = (f"Plan: {_count(len(plan.steps), 'step')} ({unsafe} unsafe): {counts['create']} to add, "
                f"{counts['update']} to change, {counts['delete']} to delete.")
    extra = []
    if plan.manual:
        extra.append(f"{_count(len(plan.manual), 'finding')} left to you")
    if plan.skipped:
        extra.append(f"{len(plan.skipped)} not planned")
    return line + (f" {', '.join(extra).capitalize()}." if extra else "")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


_WORDS = {APPLIED: "applied", UNCHANGED: "unchanged (already applied)", REFUSED: "refused", FAILED: "failed",
          REVERTED: "reverted"}


def result_line(number: int, total: int, result) -> str:
    line = f"[{number}/{total}] {result.title}: {_WORDS[result.outcome]}"
    if result.outcome in (APPLIED, REVERTED):
        line += f" ({_count(result.calls, 'call')})"
    if result.detail:
        line += f": {result.detail}"
    return line


def results_summary(results: list, verb: str) -> str:
    """``Applied 3 steps (1 unchanged, 0 refused, 0 failed).``"""
    done = APPLIED if verb == "Applied" else REVERTED
    counts = {outcome: sum(result.outcome == outcome for result in results)
              for outcome in (done, UNCHANGED, REFUSED, FAILED)}
    parts = [f"{counts[UNCHANGED]} unchanged"] if verb == "Applied" else []
    parts += [f"{counts[REFUSED]} refused", f"{counts[FAILED]} failed"]
    return f"{verb} {_count(counts[done], 'step')} ({', '.join(parts)})."
