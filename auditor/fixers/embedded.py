"""Edits inside a definition written as a string: ``DefinitionString``, ``PipelineDefinitionBody``.

The definition is JSON inside a YAML ``|`` block (plain or ``!Sub``), a JSON or quoted YAML string,
or the string pieces of a ``Fn::Join``. It is edited as JSON text of its own (with a
:class:`~auditor.fixers.source.SourceFile`), and every edit is then carried back into the file:
offsets through a map from each character of the definition to the character of the file that
spells it, inserted text re-indented for a ``|`` block or escaped for a quoted string. Every
``${...}`` of a ``Fn::Sub`` stays as it was: one outside a JSON string is read as a number of the
same length, and an edit touching it is refused.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass

from ..sources.jsonload import ends_inside_string
from ..sources.loader import DocumentError, parse
from .edits import Edit
from .source import SourceFile, Unfixable


def request_source(source: SourceFile, job):
    """Where a training request's edits are made: the file itself, or the string definition holding it."""
    if job.definition_path is None:
        return _InFile(source)
    return Definition(source, job.definition_path)


class _InFile:
    """The request is a node of the file: edits go straight to it."""

    def __init__(self, source: SourceFile):
        self.source = source

    def node(self, path):
        return self.source.node(path)

    def add_entries(self, path, entries: dict) -> tuple:
        return (self.source.add_entries(path, entries),)

    def replace_value(self, path, value) -> tuple:
        return (self.source.replace_value(path, value),)


@dataclass
class _Segment:
    """A stretch of the definition's text: spelt by the file (``positions``) or a placeholder (``None``)."""

    start: int
    end: int
    positions: list | None
    """File offset of each character, plus one past the last (where an insertion at the end goes)."""
    escape: object = None
    """How inserted text is written in the file here."""


class Definition:
    """A JSON definition held in a string of the file at ``path`` (see the module docstring)."""

    def __init__(self, source: SourceFile, path):
        self.source = source
        self.segments: list[_Segment] = []
        text = ""
        for piece in self._pieces(path):
            if piece is None:  # a value CloudFormation computes: a character no edit may copy or change
                placeholder = COMPUTED if ends_inside_string(text, False) else "0"
                self.segments.append(_Segment(len(text), len(text) + 1, None))
                text += placeholder
                continue
            inner, positions, escape = piece
            self.segments.append(_Segment(len(text), len(text) + len(inner), positions, escape))
            text += inner
        self.text = text
        try:
            document = parse(_numbers_for_placeholders(self.text), syntax="json")
        except DocumentError:
            raise Unfixable("the definition is not JSON that can be edited in place") from None
        self.inner = SourceFile(self.text, document, "json")

    def node(self, path):
        return self.inner.node(path)

    def add_entries(self, path, entries: dict) -> tuple:
        return self._outer(self.inner.add_entries(path, entries))

    def replace_value(self, path, value) -> tuple:
        return self._outer(self.inner.replace_value(path, value))

    # -- the string and its pieces ------------------------------------------------------------------

    def _pieces(self, path) -> list:
        holder = self.source.node(path)
        if isinstance(holder, str):
            return [self._string(path)]
        if isinstance(holder, dict) and len(holder) == 1:
            (function, argument), = holder.items()
            if function == "Fn::Sub" and isinstance(argument, str):
                return [self._string(path + (function,))]
            if function == "Fn::Sub" and isinstance(argument, list) and argument and isinstance(argument[0], str):
                return [self._string(path + (function, 0))]
            if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2 \
                    and isinstance(argument[0], str) and isinstance(argument[1], list):
                return self._joined(path + (function,), argument)
        raise Unfixable("the definition is built in a way that cannot be edited in place")

    def _joined(self, path, argument) -> list:
        delimiter, items = argument
        if delimiter:
            raise Unfixable("a Fn::Join with a delimiter")
        return [self._string(path + (1, index)) if isinstance(item, str) else None
                for index, item in enumerate(items)]

    def _string(self, path) -> tuple:
        """(text, file offset of each character and of the end, escaping of inserted text) of a string node."""
        mark = self.source.mark(path)
        raw = self.source.text[mark.value_start:mark.value_end]
        if mark.style == "|":
            return self._literal_block(mark)
        if self.source.syntax == "json" or mark.style == '"':
            start = raw.find('"')
            if start == -1 or "\n" in raw:
                raise Unfixable("a quoted string over several lines")
            return _decode_double_quoted(raw[start:], mark.value_start + start)
        if mark.style == "'" and "\n" not in raw:
            start = raw.find("'")
            return _decode_single_quoted(raw[start:], mark.value_start + start)
        raise Unfixable("a plain or folded string cannot be edited in place")

    def _literal_block(self, mark) -> tuple:
        text = self.source.text
        first = text.find("\n", mark.value_start) + 1
        if first == 0:
            raise Unfixable("an empty block")
        body = text[first:mark.value_end]
        lines = body.split("\n")
        indent = min((len(line) - len(line.lstrip(" ")) for line in lines if line.strip()), default=0)
        inner, positions = [], []
        offset = first
        for number, line in enumerate(lines):
            content = line[indent:].rstrip("\r") if len(line) >= indent else ""
            base = offset + min(indent, len(line))
            positions.extend(base + column for column in range(len(content)))
            inner.append(content)
            offset += len(line) + 1
            if number < len(lines) - 1:
                positions.append(base + len(content))  # the line break
        positions.append(min(offset - 1, mark.value_end))
        newline = self.source.newline + " " * indent
        return "\n".join(inner), positions, lambda inserted: inserted.replace("\n", newline)

    # -- carrying edits out -------------------------------------------------------------------------

    def _outer(self, edit: Edit) -> tuple:
        if COMPUTED in edit.text:
            raise Unfixable("the edit would copy a value computed by CloudFormation")
        if edit.start == edit.end:
            segment = self._segment_of(edit.start, inserting=True)
            at = _position(segment, edit.start)
            return (Edit(at, at, segment.escape(edit.text), depth=edit.depth),)
        first = self._segment_of(edit.start, inserting=False)
        last = self._segment_of(edit.end - 1, inserting=False)
        if first is not last:
            raise Unfixable("the edit spans pieces of a Fn::Join")
        return (Edit(_position(first, edit.start), _position(first, edit.end), first.escape(edit.text),
                     depth=edit.depth),)

    def _segment_of(self, offset: int, *, inserting: bool) -> _Segment:
        starts = [segment.start for segment in self.segments]
        index = bisect_right(starts, offset) - 1
        segment = self.segments[max(index, 0)]
        if inserting and offset == segment.start and index > 0 and self.segments[index - 1].positions is not None:
            segment = self.segments[index - 1]  # at a boundary, the end of the text before it
        if segment.positions is None:
            raise Unfixable("the edit would change a value computed by CloudFormation")
        return segment


def _position(segment: _Segment, offset: int) -> int:
    return segment.positions[offset - segment.start]


COMPUTED = "\ue000"
"""Stands inside the definition's text for a ``Fn::Join`` piece that is not a string (a ``Ref``...)."""

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _decode_double_quoted(raw: str, base: int) -> tuple:
    """A ``"..."`` string (JSON, or YAML's double-quoted style on one line), with the offset of each character."""
    characters, positions = [], []
    index = 1
    while index < len(raw) and raw[index] != '"':
        positions.append(base + index)
        if raw[index] == "\\":
            escape = raw[index + 1:index + 2]
            if escape in _ESCAPES:
                characters.append(_ESCAPES[escape])
                index += 2
            elif escape == "u":
                code = int(raw[index + 2:index + 6], 16)
                index += 6
                if 0xD800 <= code < 0xDC00 and raw[index:index + 2] == "\\u":
                    code = 0x10000 + ((code - 0xD800) << 10) + (int(raw[index + 2:index + 6], 16) - 0xDC00)
                    index += 6
                characters.append(chr(code))
            else:
                raise Unfixable(f"an escape \\{escape} this editor does not write")
        else:
            characters.append(raw[index])
            index += 1
    positions.append(base + index)
    return "".join(characters), positions, lambda inserted: json.dumps(inserted, ensure_ascii=False)[1:-1]


def _decode_single_quoted(raw: str, base: int) -> tuple:
    characters, positions = [], []
    index = 1
    while index < len(raw):
        if raw[index] == "'":
            if raw[index + 1:index + 2] != "'":
                break
            positions.append(base + index)
            characters.append("'")
            index += 2
            continue
        positions.append(base + index)
        characters.append(raw[index])
        index += 1
    positions.append(base + index)
    return "".join(characters), positions, lambda inserted: inserted.replace("'", "''")


_SUBSTITUTION = re.compile(r"\$\{[^}]*\}")


def _numbers_for_placeholders(text: str) -> str:
    """``${...}`` outside JSON strings read as a number of the same length, so offsets stay true."""
    out, position, inside = [], 0, False
    for match in _SUBSTITUTION.finditer(text):
        inside = ends_inside_string(text[position:match.start()], inside)
        out.append(text[position:match.start()])
        out.append(match.group() if inside else "0" + " " * (len(match.group()) - 1))
        position = match.end()
    out.append(text[position:])
    return "".join(out)
