"""A parsed file with the offsets of every node, and the structural edits fixers are made of.

Every edit is computed from the loader's offsets (:class:`~auditor.sources.loader.Mark`) and
written in the style of the place it goes: a block YAML mapping gets lines at its keys' column, a
flow mapping ``, key: value`` before its brace, a JSON object ``,\\n"key": value`` at its members'
indentation (or inline when the object is on one line). A path that passes through ``Fn::If`` is
refused: which branch to edit is a decision for a person.
"""

from __future__ import annotations

import re

from ..sources.loader import Mapping, Mark, Sequence
from .edits import Edit
from .render import COMPACT, SPACED, YamlWriter, json_text, yaml_scalar


class Unfixable(Exception):
    """The edit cannot be made safely here: the finding stays for a person (the message says why)."""


_SHORT_FORM = re.compile(r"(?:^|[\s:\[,-])!(?:Ref|GetAtt|Sub|Join|If|Select|FindInMap|ImportValue)\b", re.MULTILINE)


class SourceFile:
    """The decoded text of a template or definition and its parsed tree (with marks)."""

    def __init__(self, text: str, document, syntax: str):
        self.text = text
        self.document = document
        self.syntax = syntax
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.short_tags = syntax == "yaml" and (_SHORT_FORM.search(text) is not None or "Fn::" not in text)
        self.yaml = YamlWriter(step=self._yaml_step(), short_tags=self.short_tags)
        self.json_width = self._json_width()
        self.separators = COMPACT if syntax == "json" and '":' in text and not re.search(r'":\s', text) else SPACED

    # -- reading --------------------------------------------------------------------------------

    def node(self, path):
        """The value at ``path`` (keys and indexes); :class:`Unfixable` if absent or behind ``Fn::If``."""
        node = self.document
        for step in path:
            if isinstance(node, dict) and len(node) == 1 and "Fn::If" in node:
                raise Unfixable("the value is chosen by Fn::If")
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                raise Unfixable(f"{_shown(path)} is not in the file") from None
        if isinstance(node, dict) and len(node) == 1 and "Fn::If" in node:
            raise Unfixable("the value is chosen by Fn::If")
        return node

    def mark(self, path) -> Mark:
        """The mark of the last step of ``path`` (the key's, or the item's)."""
        if not path:
            raise Unfixable("the document itself has no mark")
        parent = self.node(path[:-1])
        self.node(path)
        marks = parent.marks if isinstance(parent, (Mapping, Sequence)) else None
        step = path[-1]
        if isinstance(parent, Mapping) and step in marks:
            return marks[step]
        if isinstance(parent, Sequence) and isinstance(step, int) and 0 <= step < len(marks):
            return marks[step]
        raise Unfixable(f"{_shown(path)} has no position")

    def line_start(self, offset: int) -> int:
        return self.text.rfind("\n", 0, offset) + 1

    def line_end(self, offset: int) -> int:
        """The offset of the line break ending the line of ``offset`` (its ``\\r`` for CRLF), or the text's end."""
        end = self.text.find("\n", offset)
        if end == -1:
            return len(self.text)
        return end - 1 if end > 0 and self.text[end - 1] == "\r" else end

    def leading(self, offset: int) -> str:
        """The whitespace that starts the line of ``offset`` (spaces or tabs, as the file has them)."""
        start = self.line_start(offset)
        line = self.text[start:offset]
        return line[:len(line) - len(line.lstrip(" \t"))]

    def column(self, offset: int) -> int:
        return offset - self.line_start(offset)

    # -- writing values -------------------------------------------------------------------------

    def scalar(self, value, like: Mark | None = None) -> str:
        """A scalar in this file's syntax; a string keeps the quoting of the value it replaces."""
        if self.syntax == "json":
            return json_text(value, separators=self.separators)
        text = yaml_scalar(value)
        if isinstance(value, str) and like is not None and like.style in ("'", '"') and not text.startswith('"'):
            return f"'{text}'" if like.style == "'" else f'"{text}"'
        return text

    def replace_value(self, path, value) -> Edit:
        """Replace the value at ``path`` (a scalar, or a whole node written anew in the file's style)."""
        mark = self.mark(path)
        if isinstance(value, (dict, list)) or not isinstance(value, (str, int, float, bool)):
            if self.syntax == "json":
                return Edit(mark.value_start, mark.value_end, self._lines(
                    json_text(value, prefix=self.leading(mark.key_start), width=self.json_width)))
            inline = self.yaml.inline(value)
            return Edit(mark.value_start, mark.value_end, inline if inline is not None else self.yaml.flow(value))
        return Edit(mark.value_start, mark.value_end, self.scalar(value, like=mark))

    def add_entries(self, path, entries: dict, *, separate: bool = False) -> Edit:
        """Add ``entries`` at the end of the mapping at ``path`` (``separate``: after a blank line)."""
        mapping = self.node(path)
        if not isinstance(mapping, Mapping):
            raise Unfixable(f"{_shown(path)} is not a mapping")
        if not mapping:
            return self._fill_empty(path, mapping, entries)
        last_key = next(reversed(mapping))
        last = mapping.marks[last_key]
        if self.syntax == "json":
            return self._json_entries(mapping, last, entries, len(path))
        style = self.mark(path).style if path else "block"
        if style == "flow":
            text = "".join(f", {yaml_scalar(key)}: {self.yaml.flow(value)}" for key, value in entries.items())
            return Edit(last.value_end, last.value_end, text, depth=len(path))
        indent = self.column(last.key_start)
        lines = [line for key, value in entries.items() for line in self.yaml.entry_lines(key, value, indent)]
        at, trailing = self._last_content(mapping[last_key], last)
        blank = self.newline if separate else ""
        if trailing:  # after a block scalar, whose text ends with its own line break
            return Edit(at, at, blank + self.newline.join(lines) + self.newline, depth=len(path))
        return Edit(at, at, self.newline + blank + self.newline.join(lines), depth=len(path))

    def delete(self, path) -> Edit:
        """Remove the entry or item at ``path`` (with its separator), leaving the rest untouched."""
        parent = self.node(path[:-1])
        mark = self.mark(path)
        siblings = list(parent.marks.values()) if isinstance(parent, Mapping) else list(parent.marks)
        index = siblings.index(mark)
        flow = self.syntax == "json" or (len(path) > 1 and self.mark(path[:-1]).style == "flow")
        start = self._start_of(parent, mark)
        following = siblings[index + 1] if index + 1 < len(siblings) else None
        if flow:
            if following is not None:
                return Edit(start, self._start_of(parent, following), "")
            if index > 0:
                return Edit(siblings[index - 1].value_end, mark.value_end, "")
            return Edit(start, mark.value_end, "")
        if following is not None:
            end = self.line_start(self._start_of(parent, following))
        else:
            at, line_start = self._last_content(self.node(path), mark)
            end = at if line_start else min(at + len(self.newline), len(self.text))
        return Edit(self.line_start(start), end, "")

    # -- internals ------------------------------------------------------------------------------

    def _start_of(self, parent, mark: Mark) -> int:
        """Where an entry starts (its key) or a block sequence item (its dash)."""
        if isinstance(parent, Mapping) or self.syntax == "json":
            return mark.key_start if isinstance(parent, Mapping) else mark.value_start
        dash = self.text.rfind("-", self.line_start(mark.value_start), mark.value_start)
        return dash if dash != -1 else mark.value_start

    def _last_content(self, node, mark: Mark) -> tuple[int, bool]:
        """Where the text of a value ends, and whether that is the start of a line.

        A block collection ends where the next token starts, after any comments and blank lines, so
        the deepest last value decides: a block scalar ends with its own line break (its end is a
        line start); anything else ends on a line that may carry a comment (the end of that line).
        """
        while isinstance(node, (Mapping, Sequence)) and node and mark.style == "block":
            if isinstance(node, Mapping):
                last = next(reversed(node))
                node, mark = node[last], node.marks[last]
            else:
                node, mark = node[-1], node.marks[-1]
        if mark.style in ("|", ">"):
            return mark.value_end, True
        return self.line_end(mark.value_end), False

    def _json_entries(self, mapping: Mapping, last: Mark, entries: dict, depth: int) -> Edit:
        if self._on_one_line(mapping.start, last.key_start):
            comma, colon = self.separators
            text = "".join(f"{comma}{json_text(key)}{colon}{json_text(value, separators=self.separators)}"
                           for key, value in entries.items())
            return Edit(last.value_end, last.value_end, text, depth=depth)
        prefix = self.leading(last.key_start)
        # Objects and lists written on one line beside it (``"ResourceConfig": {...}``) set the style.
        compact = last.style == "flow" and self._on_one_line(last.value_start, last.value_end)
        width = None if compact else self.json_width
        text = "".join(f",\n{prefix}{json_text(key)}: {json_text(value, prefix=prefix, width=width)}"
                       for key, value in entries.items())
        return Edit(last.value_end, last.value_end, self._lines(text), depth=depth)

    def _fill_empty(self, path, mapping: Mapping, entries: dict) -> Edit:
        """``{}`` (YAML flow or JSON) becomes ``{key: value, ...}`` on one line."""
        if mapping.start < 0 or self.text[mapping.start:mapping.start + 1] != "{":
            raise Unfixable(f"{_shown(path)} is an empty block mapping")
        if self.syntax == "json":
            inner = ", ".join(f"{json_text(key)}: {json_text(value)}"
                              for key, value in entries.items())
        else:
            inner = ", ".join(f"{yaml_scalar(key)}: {self.yaml.flow(value)}" for key, value in entries.items())
        return Edit(mapping.start, mapping.end, "{" + inner + "}")

    def _lines(self, text: str) -> str:
        """Generated text with the file's line breaks."""
        return text.replace("\n", self.newline) if self.newline != "\n" else text

    def _on_one_line(self, start: int, offset: int) -> bool:
        return "\n" not in self.text[max(start, 0):offset]

    def _yaml_step(self) -> int:
        """Spaces per level: the first nesting found under ``Resources`` (2 when there is none)."""
        resources = self.document.get("Resources") if isinstance(self.document, Mapping) else None
        if isinstance(resources, Mapping):
            for key, resource in resources.items():
                if isinstance(resource, Mapping) and resource.marks and resources.marks[key].style == "block":
                    inner = next(iter(resource.marks.values()))
                    step = self.column(inner.key_start) - self.column(resources.marks[key].key_start)
                    if step > 0:
                        return step
        return 2

    def _json_width(self):
        """The file's JSON indent per level (spaces, or a tab), or ``None`` for a one-line file."""
        if self.syntax != "json":
            return None
        match = re.search(r"\{\r?\n([ \t]+)\"", self.text)
        if not match:
            return None
        unit = match.group(1)
        return "\t" if unit.startswith("\t") else len(unit)


def _shown(path) -> str:
    return ".".join(f"[{step}]" if isinstance(step, int) else str(step) for step in path).replace(".[", "[")
