"""The journal: what ``remediate --apply`` and ``undo`` did, one JSON line at a time, on disk before the next call.

A call that is made is written twice: before (the call with its undo, the account and region, and
the state it found: its before-state) and after (``done`` or ``failed``, and the state it left).
A call refused because the state is not what it expects is not made and writes nothing (the step's
line says why); a call passed over (an idempotent call whose result is there already, an undo with
nothing to revert) writes one ``skipped`` line. Each line is flushed and fsynced before sagewise goes
on, so whatever stops a run (a failed call, Ctrl-C, a kill, a crash) the journal names every call
that may have been made, and ``sagewise undo`` needs nothing else. A call with a ``before`` line and
no ``done`` or ``not-made`` line is *in doubt*; whoever reads the journal next decides from the
resource's state whether it happened, and writes its ``after`` line then: ``done``, or ``not-made``
(:mod:`.apply`). A last line cut short by a crash is ignored; anything else that is not a journal
line makes the file unusable.

One process at a time: the file is locked while a run appends to it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from .steps import Call

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; a second run would interleave its lines
    fcntl = None

APPLY, UNDO = "apply", "undo"
NOT_MADE = "not-made"
"""The outcome of a call in doubt that the state shows was never made (it failed before AWS acted on it)."""


class JournalError(Exception):
    """A journal that cannot be used; the message names the file and what is wrong."""


class Journal:
    """An open journal, appended to and locked by this process."""

    def __init__(self, path: Path):
        self.path = Path(path)
        created = not self.path.exists()
        try:
            self._handle = open(self.path, "a", encoding="utf-8")
        except OSError as exc:
            raise JournalError(f"{self.path}: cannot write: {exc.strerror or exc}") from None
        if fcntl is not None:
            try:
                fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._handle.close()
                raise JournalError(f"{self.path}: in use by another sagewise process") from None
        self._drop_torn_line()
        if created:  # the file's name must survive a crash too, not only its lines
            directory = os.open(self.path.resolve().parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def _drop_torn_line(self) -> None:
        """Cut a last line a crash left unfinished, so the next line starts a line of its own. (A ``before`` line
        cut short means its call was never made; an ``after`` line, that the call is in doubt, which its
        ``before`` line already says.)"""
        with open(self.path, "rb") as existing:
            content = existing.read()
        if content and not content.endswith(b"\n"):
            os.truncate(self.path, content.rfind(b"\n") + 1)

    def write(self, event: str, **fields) -> None:
        entry = {"event": event, "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **fields}
        self._handle.write(json.dumps(entry, sort_keys=True) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def begin(self, command: str, digest: str, plan_file: str) -> None:
        self.write("begin", command=command, plan=digest, plan_file=plan_file, tool=f"sagewise {__version__}")

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *_) -> None:
        self.close()


def default_path(plan_file) -> Path:
    """Next to the plan: ``plan.json`` -> ``plan.journal.jsonl``."""
    plan_file = Path(plan_file)
    return plan_file.with_name(f"{plan_file.stem}.journal.jsonl")


def read(path) -> list[dict]:
    """The entries of a journal (none when it does not exist); :class:`JournalError` when it is not one."""
    from .plan import schema_problem

    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise JournalError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise JournalError(f"{path}: not a sagewise journal (not UTF-8 text)") from None
    lines = text.split("\n")
    if lines[-1]:
        lines[-1] = ""  # cut short by a crash while it was written: the call it began was not made
    entries = []
    for number, line in enumerate(lines[:-1], 1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise JournalError(f"{path}:{number}: not a sagewise journal line ({exc.msg})") from None
        problem = schema_problem(entry, "journal-entry")
        if problem:
            raise JournalError(f"{path}:{number}: not a sagewise journal line ({problem})")
        entries.append(entry)
    return entries


def plans(entries: list) -> set:
    """The digests of the plans a journal's runs applied or undid (one, for a journal that is any use)."""
    return {entry["plan"] for entry in entries if entry["event"] == "begin"}


@dataclass
class StepRecord:
    """What a journal says about one step: its calls as applied, how far apply got, what undo reverted."""

    id: str
    account: str = ""
    region: str = ""
    title: str = ""
    calls: dict = field(default_factory=dict)
    """Index -> :class:`Call`, as written before each call was made."""
    reached: dict = field(default_factory=dict)
    """Index -> ``done`` or ``skipped`` (an idempotent call whose result was there already)."""
    doubt: int | None = None
    """A call begun and not known done or not made (no line after it, or a failure)."""
    undone: set = field(default_factory=set)
    undo_doubt: int | None = None
    order: int = 0
    """When the step was first applied (since it was last undone completely)."""

    @property
    def done(self) -> list:
        """Indexes of the calls made and not yet undone, in order."""
        return sorted(index for index, how in self.reached.items() if how == "done" and index not in self.undone)

    @property
    def position(self) -> int:
        """The index of the next call an apply makes."""
        return max(self.reached) + 1 if self.reached else 0

    @property
    def partly_undone(self) -> bool:
        return bool(self.undone) or self.undo_doubt is not None

    def _reset(self) -> None:
        self.reached, self.doubt, self.undone, self.undo_doubt = {}, None, set(), None


def replay(entries: list) -> dict:
    """Step id -> :class:`StepRecord`, from a journal's entries in order.

    A step whose every call made was undone is as if never applied: applying its plan again starts it over.
    """
    records: dict[str, StepRecord] = {}
    for sequence, entry in enumerate(entries):
        if entry["event"] != "call":
            continue
        record = records.setdefault(entry["step"], StepRecord(entry["step"], order=sequence))
        index, phase = entry["index"], entry["phase"]
        if phase == "before":
            record.account, record.region, record.title = entry["account"], entry["region"], entry["title"]
        if entry["direction"] == APPLY:
            if not record.reached and record.doubt is None:
                record.order = sequence
            if phase == "before":
                record.calls[index] = Call.from_json(entry["call"])
                record.doubt = index
            elif phase == "skipped":
                record.reached[index] = "skipped"
            elif entry["outcome"] == "done":
                record.reached[index] = "done"
                record.doubt = None
            elif entry["outcome"] == NOT_MADE:
                record.doubt = None
        else:
            if phase == "before":
                record.undo_doubt = index
            elif phase == "skipped" or entry["outcome"] == "done":
                record.undone.add(index)
                record.undo_doubt = None
                if not record.done and record.doubt is None:
                    record._reset()
            elif entry["outcome"] == NOT_MADE:
                record.undo_doubt = None
    return records
