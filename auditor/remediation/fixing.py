"""What every live fix shares: the context a fixer reads, the refusals that leave a finding to a person, and the
making of a step.

A fixer (:mod:`.autoscaling_fixes`, :mod:`.endpoint_fixes`, :mod:`.group_fixes`) reads the finding's model object
and the resource's state now through the :class:`Context`, and returns a :class:`~.steps.Step` made with
:func:`new_step`, or raises :class:`Unplannable` with the reason it leaves the finding to a person.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import ResourceModel
from .state import Reader
from .steps import TARGET, Probe, Step, finding_record

STACK_TAG = "aws:cloudformation:stack-name"


class Unplannable(Exception):
    """The finding has no live fix here; the message says why (it goes into the plan as a skipped finding)."""


class LeftToPeople(Unplannable):
    """The finding is of a kind no live fix settles; the message says what a person should change (it goes into the
    plan's findings left to people)."""


@dataclass
class Context:
    """What fixers read besides the finding: the audit's linked model, the rule parameters, the live state."""

    model: ResourceModel
    params: dict
    """Rule id -> parameters, defaults included (the same ``sagewise fix`` uses)."""
    readers: dict
    """(account, region) -> :class:`Reader` through the audit's read-only clients."""

    def reader(self, finding) -> Reader:
        return self.readers[(finding.location.account, finding.location.region)]


def new_step(findings: list, safety: str, title: str, calls: list, changes: list) -> Step:
    location = findings[0].location
    return Step(id=findings[0].fingerprint, account=location.account, region=location.region, safety=safety,
                title=title, findings=[finding_record(finding) for finding in findings], calls=calls,
                changes=changes)


def target_probe(resource_id: str, dimension: str) -> Probe:
    return Probe(TARGET, resource_id, dimension)


def refuse_if_stack_owned(kind: str, name: str, tags: dict | None, fix_command: str) -> None:
    """Leave a resource a CloudFormation stack owns to its template: a change made here would drift from the stack,
    and the next deployment would undo it or fail. ``fix_command`` is the ``sagewise fix`` run that changes the
    template."""
    if STACK_TAG in (tags or {}):
        raise Unplannable(f"{kind} {name} belongs to CloudFormation stack {tags[STACK_TAG]}: change its template "
                          f"(`{fix_command}`) and deploy it, or the stack drifts")
