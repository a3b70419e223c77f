"""Parse JSON into :class:`~auditor.sources.loader.Mapping` / ``Sequence`` with positions.

JSON is not read through the YAML parser: PyYAML implements YAML 1.1, which rejects valid JSON
(surrogate-pair escapes such as ``"\\ud83d\\ude80"``, keys over 1024 characters) and reads ``1e5``
as a string. Instead the standard library's scanner does the tokenising (its C string scanner
included) and only objects and arrays are built here, so each key and item gets its line.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re

from .loader import MAX_DEPTH, DocumentError, Mapping, Mark, Sequence

_WHITESPACE = json.decoder.WHITESPACE.match
_NEWLINE = re.compile("\n")


class _PositionDecoder(json.JSONDecoder):
    """Objects and arrays are two flat loops rather than one shared helper on purpose: every extra
    frame per nesting level costs recursion depth, and :data:`MAX_DEPTH` levels must parse (and
    deeper ones be refused with a line) well within Python's recursion limit."""

    def __init__(self, text: str):
        super().__init__()
        self.newlines = [match.start() for match in _NEWLINE.finditer(text)]
        self.depth = 0
        self.parse_object = self._object
        self.parse_array = self._array
        self.parse_constant = _refuse_constant
        self.parse_int = _integer
        self.scan_once = json.scanner.py_make_scanner(self)

    def position(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_left(self.newlines, index)
        start = self.newlines[line - 1] + 1 if line else 0
        return line + 1, index - start + 1

    def _enter(self, text: str, index: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise DocumentError(f"nesting deeper than {MAX_DEPTH} levels", *self.position(index))

    def _skip(self, text: str, index: int) -> int:
        return _WHITESPACE(text, index).end()

    def _object(self, state, strict, scan_once, object_hook, object_pairs_hook, memo=None, _w=None, _ws=None):
        text, index = state
        self._enter(text, index - 1)
        result = Mapping()
        result.line, result.column = self.position(index - 1)
        result.start = index - 1
        index = self._skip(text, index)
        if text[index:index + 1] == "}":
            self.depth -= 1
            result.end = index + 1
            return result, index + 1
        while True:
            if text[index:index + 1] != '"':
                raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, index)
            key_line, key_column = self.position(index)
            key_start = index
            key, index = json.decoder.scanstring(text, index + 1, strict)
            index = self._skip(text, index)
            if text[index:index + 1] != ":":
                raise json.JSONDecodeError("Expecting ':' delimiter", text, index)
            index = self._skip(text, index + 1)
            value_line, value_column = self.position(index)
            value_start = index
            try:
                value, index = scan_once(text, index)
            except StopIteration as stop:
                raise json.JSONDecodeError("Expecting value", text, stop.value) from None
            except _Refused as refused:
                raise DocumentError(str(refused), value_line, value_column) from None
            if key in result:
                raise DocumentError(f'duplicate key "{key}" (first defined at line {result.marks[key].line})',
                                    key_line, key_column)
            result[key] = value
            result.marks[key] = Mark(key_line, key_column, value_line, value_column, key_start, value_start, index,
                                     _json_style(text, value_start))
            index = self._skip(text, index)
            delimiter = text[index:index + 1]
            index += 1
            if delimiter == "}":
                self.depth -= 1
                result.end = index
                return result, index
            if delimiter != ",":
                raise json.JSONDecodeError("Expecting ',' delimiter", text, index - 1)
            index = self._skip(text, index)

    def _array(self, state, scan_once, _w=None, _ws=None):
        text, index = state
        self._enter(text, index - 1)
        result = Sequence()
        result.line, result.column = self.position(index - 1)
        result.start = index - 1
        index = self._skip(text, index)
        if text[index:index + 1] == "]":
            self.depth -= 1
            result.end = index + 1
            return result, index + 1
        while True:
            line, column = self.position(index)
            value_start = index
            try:
                value, index = scan_once(text, index)
            except StopIteration as stop:
                raise json.JSONDecodeError("Expecting value", text, stop.value) from None
            except _Refused as refused:
                raise DocumentError(str(refused), line, column) from None
            result.append(value)
            result.marks.append(Mark(line, column, line, column, value_start, value_start, index,
                                     _json_style(text, value_start)))
            index = self._skip(text, index)
            delimiter = text[index:index + 1]
            index += 1
            if delimiter == "]":
                self.depth -= 1
                result.end = index
                return result, index
            if delimiter != ",":
                raise json.JSONDecodeError("Expecting ',' delimiter", text, index - 1)
            index = self._skip(text, index)


def _json_style(text: str, start: int) -> str | None:
    """A value's style in the terms of :class:`~auditor.sources.loader.Mark`: JSON collections are flow."""
    first = text[start:start + 1]
    if first in "{[":
        return "flow"
    return '"' if first == '"' else None


class _Refused(ValueError):
    """A value the standard scanner accepts and CloudFormation does not; the caller adds its position."""


def _refuse_constant(name: str):
    raise _Refused(f"invalid JSON: {name} is not a JSON number (CloudFormation rejects it)")


def _integer(digits: str) -> int:
    try:
        return int(digits)
    except ValueError:  # longer than sys.get_int_max_str_digits()
        raise _Refused(f"integer with {len(digits.lstrip('-'))} digits is too long to be a value") from None


def parse_json(text: str):
    """Parse JSON text; errors are :class:`DocumentError` with the line and column."""
    if not text.strip():
        raise DocumentError("empty file")
    decoder = _PositionDecoder(text)
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except _Refused as refused:  # the document is a bare scalar
        raise DocumentError(str(refused), 1, 1) from None


def ends_inside_string(text: str, inside: bool) -> bool:
    """Whether a JSON text that starts inside a string (``inside``) or not ends inside one.

    For JSON assembled from pieces (a ``Fn::Sub`` or ``Fn::Join`` definition): whether the piece that
    comes next is written into a string or stands as a value.
    """
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and inside:
            escaped = True
        elif char == '"':
            inside = not inside
    return inside
