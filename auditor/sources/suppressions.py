"""``Metadata.sagewise`` in templates: the ignores a user declared, and what is wrong with them.

The only shape read is::

    Metadata:
      sagewise:
        ignore:
          - id: SW101            # a rule id or name
            reason: batch scoring endpoint, constant load

on a resource (its findings) or at the template's root (every finding of the file). Anything else
under ``sagewise`` (a misspelt ``ignores:``, ``ignore: SW101`` as a string, an entry without
``id``) is not silently ignored: it becomes a :class:`~auditor.model.Suppression` with a
``problem``, which the engine reports as SW003 and which suppresses nothing. A bare string entry
(``- SW101``) is an ignore without a reason (SW002).
"""

from __future__ import annotations

from collections.abc import Callable

from ..model import Location, Suppression
from .loader import locate

ENTRY_KEYS = ("id", "reason")


def read(holder, path: list, location: Callable) -> list[Suppression]:
    """The ignores declared in ``holder["Metadata"]["sagewise"]``.

    ``path`` is where ``holder`` sits in the document and ``location(property_path, node_path)``
    builds the :class:`~auditor.model.Location` of a node of it.
    """
    metadata = holder.get("Metadata") if isinstance(holder, dict) else None
    if not isinstance(metadata, dict) or "sagewise" not in metadata:
        return []
    settings = metadata["sagewise"]
    base = ["Metadata", "sagewise"]

    def malformed(problem: str, node_path: list, property_path: str = "Metadata.sagewise") -> list[Suppression]:
        return [Suppression(rule="", reason=None, location=location(property_path, path + node_path),
                            problem=problem)]

    if not isinstance(settings, dict):
        return malformed(f"expected a mapping whose only key is `ignore`, not {_kind(settings)}", base)
    found: list[Suppression] = []
    for key in settings:
        if key != "ignore":
            found += malformed(f"`{key}` is not a key it reads (the only key is `ignore`)", base + [key],
                               f"Metadata.sagewise.{key}")
    if "ignore" not in settings:
        return found
    entries = settings["ignore"]
    if not isinstance(entries, list):
        return found + malformed(
            f"`ignore` must be a list of entries (`- id: SW101` with a `reason`), not {_kind(entries)}",
            base + ["ignore"], "Metadata.sagewise.ignore")
    for index, entry in enumerate(entries):
        entry_path = base + ["ignore", index]
        if isinstance(entry, str):
            found.append(Suppression(rule=entry, reason=None,
                                     location=location(f"Metadata.sagewise.ignore[{entry}]", path + entry_path),
                                     document_path=tuple(path + entry_path)))
            continue
        problem = _entry_problem(entry)
        if problem:
            found += malformed(f"entry {index + 1} of `ignore` {problem}", entry_path,
                               f"Metadata.sagewise.ignore[{index}]")
            continue
        reason = entry.get("reason")
        found.append(Suppression(
            rule=entry["id"],
            reason=reason if isinstance(reason, str) and reason.strip() else None,
            location=location(f"Metadata.sagewise.ignore[{entry['id']}]", path + entry_path),
            document_path=tuple(path + entry_path),
        ))
    return found


def _entry_problem(entry) -> str | None:
    if not isinstance(entry, dict):
        return f"must be a mapping with `id` and `reason`, not {_kind(entry)}"
    unknown = [str(key) for key in entry if key not in ENTRY_KEYS]
    if unknown:
        listed = ", ".join(f"`{key}`" for key in unknown)
        return f"has {listed}, which is not a key it reads (the keys are `id` and `reason`)"
    if not isinstance(entry.get("id"), str) or not entry["id"].strip():
        return "has no `id` (the rule id or name to ignore)"
    if "reason" in entry and not isinstance(entry["reason"], str):
        return "has a `reason` that is not text"
    return None


def _kind(value) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"the value {value!r}"


def locator(scope: str, file: str, document) -> Callable:
    """``location(property_path, node_path)`` for :func:`read`, resources keyed by their logical ID."""

    def location(property_path: str, node_path: list):
        line, column = locate(document, node_path)
        resource = node_path[1] if len(node_path) > 1 and node_path[0] == "Resources" else ""
        return Location(scope, resource, property_path, line, column, file=file)

    return location
