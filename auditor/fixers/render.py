"""New values written the way the file around them is written.

Fixers build values from plain Python data plus :class:`Intrinsic` for CloudFormation functions.
YAML is written in block style at a given indentation, with intrinsic functions in the short form
(``!Sub``) when the file uses short forms and in the long form (``Fn::Sub:``) otherwise; JSON with
the file's indent width. Strings are quoted only when YAML would read them as something else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Intrinsic:
    """A CloudFormation function call: ``Intrinsic("Fn::Sub", "endpoint/${E.EndpointName}")``."""

    name: str
    argument: object

    def long_form(self):
        return {self.name: self.argument}


def ref(logical_id: str) -> Intrinsic:
    return Intrinsic("Ref", logical_id)


def get_att(logical_id: str, attribute: str) -> Intrinsic:
    return Intrinsic("Fn::GetAtt", [logical_id, attribute])


def sub(template: str) -> Intrinsic:
    return Intrinsic("Fn::Sub", template)


_SHORT_TAGS = {"Ref": "!Ref", "Fn::GetAtt": "!GetAtt", "Fn::Sub": "!Sub", "Fn::Join": "!Join",
               "Fn::Select": "!Select", "Fn::If": "!If", "Fn::ImportValue": "!ImportValue"}
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ""}
_PLAIN = re.compile(r"[A-Za-z0-9_/$][A-Za-z0-9_./:${}@+ -]*")
_NUMBER_LIKE = re.compile(r"[-+]?(\.?\d[\d_]*(\.\d*)?([eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+|\.inf|\.nan)")
_TIME_LIKE = re.compile(r"\d{4}-\d\d-\d\d.*|\d+:\d\d.*")


def yaml_scalar(value) -> str:
    """A scalar as YAML writes it without changing its type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    plain = (
        _PLAIN.fullmatch(text) is not None
        and text.lower() not in _YAML_WORDS
        and _NUMBER_LIKE.fullmatch(text) is None
        and _TIME_LIKE.fullmatch(text) is None
        and not text.endswith((" ", ":"))
        and ": " not in text
        and " #" not in text
    )
    return text if plain else json.dumps(text, ensure_ascii=False)


class YamlWriter:
    """Block YAML at any indentation, ``step`` spaces per level."""

    def __init__(self, *, step: int = 2, short_tags: bool = True):
        self.step = step
        self.short_tags = short_tags

    def entry_lines(self, key: str, value, indent: int) -> list[str]:
        """``key: value`` at column ``indent`` (a nested value on the following lines)."""
        prefix = " " * indent + yaml_scalar(key) + ":"
        inline = self.inline(value)
        if inline is not None:
            return [f"{prefix} {inline}"]
        return [prefix] + self.block_lines(value, indent + self.step)

    def block_lines(self, value, indent: int) -> list[str]:
        if isinstance(value, Intrinsic):
            value = value.long_form()
        if isinstance(value, dict):
            return [line for key, item in value.items() for line in self.entry_lines(key, item, indent)]
        if isinstance(value, list):
            lines = []
            for item in value:
                inline = self.inline(item)
                if inline is not None:
                    lines.append(" " * indent + "- " + inline)
                    continue
                nested = self.block_lines(item, indent + 2)
                lines.append(" " * indent + "- " + nested[0][indent + 2:])
                lines.extend(nested[1:])
            return lines
        return [" " * indent + yaml_scalar(value)]

    def inline(self, value) -> str | None:
        """A value that fits after ``key:`` on one line: scalars, short-form intrinsics, empty collections."""
        if isinstance(value, Intrinsic) and self.short_tags and value.name in _SHORT_TAGS:
            tag = _SHORT_TAGS[value.name]
            argument = value.argument
            if value.name == "Fn::GetAtt" and isinstance(argument, list) and len(argument) == 2:
                return f"{tag} {argument[0]}.{argument[1]}"
            if isinstance(argument, (str, int, float)):
                return f"{tag} {yaml_scalar(argument)}"
            return f"{tag} {self.flow(argument)}"
        if isinstance(value, (dict, list)) and not value:
            return "{}" if isinstance(value, dict) else "[]"
        if isinstance(value, (dict, list, Intrinsic)):
            return None
        return yaml_scalar(value)

    def flow(self, value) -> str:
        if isinstance(value, Intrinsic):
            inline = self.inline(value)
            return inline if inline is not None else self.flow(value.long_form())
        if isinstance(value, dict):
            return "{" + ", ".join(f"{yaml_scalar(key)}: {self.flow(item)}" for key, item in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.flow(item) for item in value) + "]"
        return yaml_scalar(value)


def plain_data(value):
    """``value`` with every :class:`Intrinsic` in its long form (what JSON and flow YAML hold)."""
    if isinstance(value, Intrinsic):
        return plain_data(value.long_form())
    if isinstance(value, dict):
        return {key: plain_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_data(item) for item in value]
    return value


SPACED, COMPACT = (", ", ": "), (",", ":")


def json_text(value, *, prefix: str = "", width: int | str | None = None, separators=SPACED) -> str:
    """JSON for ``value`` whose first line continues a line and whose later lines start with ``prefix``.

    ``width`` is the file's indent per level (spaces, or ``"\t"``); ``None`` writes one line, with
    ``separators`` (:data:`COMPACT` for minified JSON).
    """
    if width is None:
        return json.dumps(plain_data(value), ensure_ascii=False, separators=separators)
    text = json.dumps(plain_data(value), ensure_ascii=False, indent=width)
    return text.replace("\n", "\n" + prefix)
