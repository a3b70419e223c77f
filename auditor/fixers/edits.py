"""Edits on text, and fixes made of them (ruff's model: a fix is data, one applier applies it)."""

from __future__ import annotations

from dataclasses import dataclass

SAFE, UNSAFE = "safe", "unsafe"


@dataclass(frozen=True)
class Edit:
    """Replace the characters ``[start, end)`` of the decoded text with ``text`` (insert when equal)."""

    start: int
    end: int
    text: str
    depth: int = 0
    """How deep in the document the edit is: of two insertions at one point, the deeper goes first
    (a key added to a variant comes before a resource added after that variant's resource)."""

    def __post_init__(self):
        if not 0 <= self.start <= self.end:
            raise ValueError(f"invalid edit range {self.start}..{self.end}")


@dataclass
class Fix:
    """What resolving one finding changes in its file."""

    finding: object
    """The :class:`~auditor.findings.Finding` it resolves."""
    safety: str
    edits: tuple
    description: str
    """One line saying what it adds or changes."""


def overlaps(first: Edit, second: Edit) -> bool:
    """Two edits conflict when their ranges intersect; two insertions at one point do not."""
    if first.start == first.end or second.start == second.end:
        return first.start < second.start < first.end or second.start < first.start < second.end
    return first.start < second.end and second.start < first.end


def compatible(fix: Fix, accepted: list[Edit]) -> bool:
    return not any(overlaps(edit, other) for edit in fix.edits for other in accepted)


def apply(text: str, edits: list[Edit]) -> str:
    """``text`` with ``edits`` applied; the edits must not overlap (insertions at one point keep their order)."""
    ordered = sorted(enumerate(edits), key=lambda item: (item[1].start, item[1].end, -item[1].depth, item[0]))
    pieces = []
    position = 0
    for _, edit in ordered:
        if edit.start < position:
            raise ValueError(f"overlapping edits at {edit.start}")
        pieces.append(text[position:edit.start])
        pieces.append(edit.text)
        position = edit.end
    pieces.append(text[position:])
    return "".join(pieces)
