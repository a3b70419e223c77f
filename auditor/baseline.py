"""Baselines: today's findings recorded by fingerprint, so that a CI gate fails only on new ones.

A baseline is a JSON file (``sagewise baseline`` or ``sagewise audit --baseline-out`` writes it)::

    {"version": 1, "tool": {"name": "sagewise", "version": "0.1.0"},
     "findings": [{"fingerprint": "...", "rule_id": "SW101", "file": "infra/churn.yaml",
                   "resource": "EndpointConfig", "path": "Properties.ProductionVariants[AllTraffic]"}, ...]}

Only the fingerprint is matched (:attr:`~auditor.findings.Finding.fingerprint`: rule, file or
account/region, resource and property path, never lines or messages, so it survives edits that move
lines and renames of other resources). The other fields are there for a person reading the file or
its diff in a pull request. Matching counts: a fingerprint listed twice hides two findings.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from . import __version__

VERSION = 1
_FINGERPRINT = re.compile(r"[0-9a-f]{16,64}")


class BaselineError(Exception):
    """The baseline file cannot be used; the message names it (exit code 2)."""


@dataclass
class Baseline:
    path: str
    entries: list
    """The ``findings`` of the file, validated: each has a ``fingerprint``."""


@dataclass
class Comparison:
    """Findings measured against a baseline."""

    new: list
    """The findings that are not in the baseline: the ones to report and fail on."""
    unchanged: int
    """Findings the baseline holds, found again (not reported)."""
    gone: int
    """Baseline entries of what was checked that were not found any more (fixed, or their resource removed)."""

    def summary(self, baseline: Baseline) -> dict:
        return {"file": baseline.path, "unchanged": self.unchanged, "gone": self.gone}


def dumps(findings) -> str:
    """The baseline document recording ``findings``, sorted so that regenerating it gives a readable diff."""
    entries = sorted((_entry(finding) for finding in findings),
                     key=lambda entry: tuple(str(entry.get(key, "")) for key in
                                             ("file", "account", "region", "resource", "path", "rule_id",
                                              "fingerprint")))
    document = {"version": VERSION, "tool": {"name": "sagewise", "version": __version__}, "findings": entries}
    return json.dumps(document, indent=2) + "\n"


def _entry(finding) -> dict:
    location = finding.location
    entry = {"fingerprint": finding.fingerprint, "rule_id": finding.rule_id}
    if location.file:
        entry["file"] = location.scope  # relative to the project root, as the fingerprint has it
    else:
        entry["account"], entry["region"] = location.account, location.region
    entry["resource"] = location.resource
    if location.path:
        entry["path"] = location.path
    return entry


def load(path: Path | str) -> Baseline:
    """Read and validate a baseline file; :class:`BaselineError` names the file and what is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline not found (create it with `sagewise baseline`)") from None
    except IsADirectoryError:
        raise BaselineError(f"{path}: is a directory, not a baseline file") from None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BaselineError(f"{path}: not a sagewise baseline (not UTF-8 text)") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}:{exc.lineno}:{exc.colno}: not a sagewise baseline: invalid JSON: {exc.msg}") \
            from None
    if not isinstance(document, dict) or "findings" not in document or "version" not in document:
        raise BaselineError(f"{path}: not a sagewise baseline (expected an object with \"version\" and "
                            "\"findings\", as `sagewise baseline` writes)")
    if document["version"] != VERSION:
        raise BaselineError(f"{path}: baseline version {document['version']!r} is not supported "
                            f"(this sagewise reads version {VERSION})")
    entries = document["findings"]
    if not isinstance(entries, list):
        raise BaselineError(f"{path}: findings: expected a list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise BaselineError(f"{path}: findings[{index}]: expected an object")
        fingerprint = entry.get("fingerprint")
        if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
            raise BaselineError(f"{path}: findings[{index}].fingerprint: expected a fingerprint (hexadecimal), "
                                f"got {fingerprint!r}")
    return Baseline(str(path), entries)


def compare(baseline: Baseline, findings, checked_scopes=None) -> Comparison:
    """Split ``findings`` into new ones and those the baseline holds.

    ``checked_scopes`` (the files a lint read, relative to the project root, or the ``account/region``
    scopes an audit read) limits what counts as gone to the entries of what was read, so that linting
    a few files (a pre-commit hook) or auditing one region against the baseline of everything does not
    call the rest gone. ``None`` counts every entry not found.
    """
    remaining = Counter(entry["fingerprint"] for entry in baseline.entries)
    new, unchanged = [], 0
    for finding in findings:
        if remaining[finding.fingerprint] > 0:
            remaining[finding.fingerprint] -= 1
            unchanged += 1
        else:
            new.append(finding)
    if checked_scopes is None:
        gone = sum(remaining.values())
    else:
        gone = 0
        for entry in baseline.entries:
            if _scope(entry) in checked_scopes and remaining[entry["fingerprint"]] > 0:
                remaining[entry["fingerprint"]] -= 1
                gone += 1
    return Comparison(new, unchanged, gone)


def _scope(entry: dict) -> str:
    """The file or ``account/region`` an entry was found in, as findings' locations name it."""
    return entry.get("file") or "/".join(str(entry.get(key) or "") for key in ("account", "region"))
