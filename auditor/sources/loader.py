"""Parse YAML and JSON documents into plain containers that remember where each value sits.

Rules speak in logical paths (``Resources.Endpoint.Properties.InstanceType``); this module is what
turns such a path back into a line and column. Mappings and sequences are ``dict``/``list``
subclasses carrying the position of every key and item, so the rest of the code treats them as
ordinary containers.

CloudFormation's short-form tags (``!Ref``, ``!Sub``...) become their long forms. Anything a
CloudFormation parser would reject, and anything that could make us hang or exhaust memory
(aliases, unknown tags, duplicate keys, absurd nesting), is a :class:`DocumentError` with a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

try:  # libyaml is an order of magnitude faster; PyYAML wheels ship it on every major platform.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_BYTES = 20 * 1024 * 1024
"""Larger inputs are refused: the biggest real CloudFormation template is 1 MB (S3-hosted)."""

MAX_DEPTH = 200
"""Nesting deeper than this is refused before Python's recursion limit turns it into a crash."""

INTRINSIC_TAGS = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    "!GetAtt": "Fn::GetAtt",
    "!Sub": "Fn::Sub",
    "!Join": "Fn::Join",
    "!Select": "Fn::Select",
    "!Split": "Fn::Split",
    "!If": "Fn::If",
    "!Equals": "Fn::Equals",
    "!And": "Fn::And",
    "!Or": "Fn::Or",
    "!Not": "Fn::Not",
    "!FindInMap": "Fn::FindInMap",
    "!ImportValue": "Fn::ImportValue",
    "!GetStackOutput": "Fn::GetStackOutput",
    "!Base64": "Fn::Base64",
    "!Cidr": "Fn::Cidr",
    "!GetAZs": "Fn::GetAZs",
    "!Transform": "Fn::Transform",
    "!Length": "Fn::Length",
    "!ToJsonString": "Fn::ToJsonString",
    "!ForEach": "Fn::ForEach",
    # Rule functions (template Rules section)
    "!Contains": "Fn::Contains",
    "!EachMemberEquals": "Fn::EachMemberEquals",
    "!EachMemberIn": "Fn::EachMemberIn",
    "!RefAll": "Fn::RefAll",
    "!ValueOf": "Fn::ValueOf",
    "!ValueOfAll": "Fn::ValueOfAll",
}

UNSUPPORTED_STANDARD_TAGS = ("set", "binary", "omap", "pairs")
"""YAML types CloudFormation does not accept (they would reach the model as Python sets or bytes)."""


class DocumentError(Exception):
    """The file cannot be read as a document; ``line`` is 1-based (0 when it has no position)."""

    def __init__(self, message: str, line: int = 0, column: int = 0):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a key (or a list item) and its value are.

    Lines and columns are 1-based, for reports. Offsets are 0-based character indexes into the
    decoded text, for edits (see :mod:`auditor.fixers`): ``key_start`` is where the key (or the
    item's value) begins, ``value_start``/``value_end`` delimit the value's own text (a tag such as
    ``!Sub`` included; for a block collection, up to where the next token starts).
    """

    line: int
    column: int
    value_line: int
    value_column: int
    key_start: int = -1
    value_start: int = -1
    value_end: int = -1
    style: str | None = None
    """How the value is written: a scalar's quote or block indicator (``'``, ``"``, ``|``, ``>``: the text of a
    block scalar starts on the next line), ``flow`` or ``block`` for a mapping or sequence, ``None`` for a plain
    scalar."""


class Mapping(dict):
    """A dict that remembers the position of each key (and its own start and end offsets)."""

    __slots__ = ("marks", "line", "column", "start", "end")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.marks: dict = {}
        self.line = 0
        self.column = 0
        self.start = -1
        self.end = -1


class Sequence(list):
    """A list that remembers the position of each item (and its own start and end offsets)."""

    __slots__ = ("marks", "line", "column", "start", "end")

    def __init__(self, *args):
        super().__init__(*args)
        self.marks: list[Mark] = []
        self.line = 0
        self.column = 0
        self.start = -1
        self.end = -1


def _style(node) -> str | None:
    if isinstance(node, yaml.ScalarNode):
        return node.style or None
    return "flow" if node.flow_style else "block"


def _mark_of(key_node, value_node) -> Mark:
    value_start = value_node.start_mark
    return Mark(
        key_node.start_mark.line + 1,
        key_node.start_mark.column + 1,
        value_start.line + 1,
        value_start.column + 1,
        key_node.start_mark.index,
        value_start.index,
        value_node.end_mark.index,
        _style(value_node),
    )


class _TemplateLoader(_BaseLoader):
    """A safe loader that builds :class:`Mapping`/:class:`Sequence` and knows CloudFormation's tags."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def construct_object(self, node, deep=False):
        if node in self.constructed_objects:
            # The composer shares one node between an anchor and its aliases.
            raise DocumentError(
                "YAML aliases (*name) are not supported in CloudFormation templates",
                node.start_mark.line + 1,
                node.start_mark.column + 1,
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise DocumentError(
                    f"nesting deeper than {MAX_DEPTH} levels", node.start_mark.line + 1, node.start_mark.column + 1
                )
            return super().construct_object(node, deep=True)
        finally:
            self._depth -= 1

    def construct_template_mapping(self, node):
        if not isinstance(node, yaml.MappingNode):
            raise DocumentError("expected a mapping", node.start_mark.line + 1, node.start_mark.column + 1)
        mapping = Mapping()
        mapping.line = node.start_mark.line + 1
        mapping.column = node.start_mark.column + 1
        mapping.start = node.start_mark.index
        mapping.end = node.end_mark.index
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise DocumentError(
                    "YAML merge keys (<<) are not supported in CloudFormation templates",
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
            key = self.construct_object(key_node)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise DocumentError(
                    "a mapping key must be a scalar", key_node.start_mark.line + 1, key_node.start_mark.column + 1
                )
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            if key in mapping:
                first = mapping.marks[key].line
                raise DocumentError(
                    f'duplicate key "{key}" (first defined at line {first})',
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
            mapping[key] = self.construct_object(value_node)
            mapping.marks[key] = _mark_of(key_node, value_node)
        return mapping

    def construct_template_sequence(self, node):
        sequence = Sequence()
        sequence.line = node.start_mark.line + 1
        sequence.column = node.start_mark.column + 1
        sequence.start = node.start_mark.index
        sequence.end = node.end_mark.index
        for item in node.value:
            sequence.append(self.construct_object(item))
            sequence.marks.append(_mark_of(item, item))
        return sequence

    def construct_intrinsic(self, node):
        name = INTRINSIC_TAGS[node.tag]
        if isinstance(node, yaml.ScalarNode):
            value = self.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = Sequence(value.split(".", 1))
            elif name == "Fn::GetAZs" and value == "":
                value = ""
        elif isinstance(node, yaml.SequenceNode):
            value = self.construct_template_sequence(node)
        else:
            value = self.construct_template_mapping(node)
        result = Mapping({name: value})
        result.line = node.start_mark.line + 1
        result.column = node.start_mark.column + 1
        result.start = node.start_mark.index
        result.end = node.end_mark.index
        result.marks[name] = Mark(result.line, result.column, result.line, result.column,
                                  node.start_mark.index, node.start_mark.index, node.end_mark.index, _style(node))
        return result

    def construct_checked_int(self, node):
        try:
            return self.construct_yaml_int(node)
        except ValueError:  # more digits than sys.get_int_max_str_digits() allows
            raise DocumentError(
                f"integer with {len(node.value)} digits is too long to be a value",
                node.start_mark.line + 1,
                node.start_mark.column + 1,
            ) from None

    def construct_unsupported(self, node):
        raise DocumentError(
            f"YAML type {node.tag.replace('tag:yaml.org,2002:', '!!')} is not supported in CloudFormation templates",
            node.start_mark.line + 1,
            node.start_mark.column + 1,
        )

    def construct_unknown_tag(self, node):
        raise DocumentError(
            f"unknown tag {node.tag}: only CloudFormation's short forms (!Ref, !Sub, ...) are allowed",
            node.start_mark.line + 1,
            node.start_mark.column + 1,
        )


_TemplateLoader.add_constructor("tag:yaml.org,2002:map", _TemplateLoader.construct_template_mapping)
_TemplateLoader.add_constructor("tag:yaml.org,2002:seq", _TemplateLoader.construct_template_sequence)
for _tag in INTRINSIC_TAGS:
    _TemplateLoader.add_constructor(_tag, _TemplateLoader.construct_intrinsic)
for _name in UNSUPPORTED_STANDARD_TAGS:
    _TemplateLoader.add_constructor(f"tag:yaml.org,2002:{_name}", _TemplateLoader.construct_unsupported)
_TemplateLoader.add_constructor(None, _TemplateLoader.construct_unknown_tag)
_TemplateLoader.add_constructor("tag:yaml.org,2002:int", _TemplateLoader.construct_checked_int)
# Timestamps stay strings: CloudFormation passes dates through as text.
_TemplateLoader.add_constructor("tag:yaml.org,2002:timestamp", _BaseLoader.construct_yaml_str)


def _check_depth(text: str) -> None:
    """Refuse absurd nesting before libyaml's recursive composer overflows the C stack (a segfault).

    In block style every level of nesting starts at least one column further right than its parent
    (a sequence under a key shares the key's column, but its items' content then starts two to the
    right), and in flow style it needs a bracket. So twice the widest run of indentation and
    indicators at a line start, plus the deepest bracket nesting, bounds the depth; only a file
    whose bound is too high (rare: a deeply indented block scalar suffices) is walked as an event
    stream, which is exact and not recursive but costs as much as a second parse.
    """
    indentation = max((len(match.group()) for match in _LINE_PREFIX.finditer(text)), default=0)
    if 2 * (indentation + 1) + _bracket_depth(text) <= MAX_DEPTH:
        return
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise DocumentError(
                        f"nesting deeper than {MAX_DEPTH} levels",
                        event.start_mark.line + 1,
                        event.start_mark.column + 1,
                    )
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return  # the real parse reports it, with its position


_LINE_PREFIX = re.compile(r"^[ ?:-]+", re.MULTILINE)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def _bracket_depth(text: str) -> int:
    """The deepest nesting of brackets (those inside strings included: an overestimate is safe)."""
    depth = deepest = 0
    for bracket in _NOT_BRACKETS.sub("", text):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def decode(data: bytes) -> str:
    """Bytes to text, refusing what is clearly not a text document."""
    if len(data) > MAX_BYTES:
        raise DocumentError(f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise DocumentError("UTF-16 encoded; templates must be UTF-8")
    if b"\x00" in data[:8192]:
        raise DocumentError("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DocumentError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x})", line) from None
    return text


def detect_syntax(text: str) -> str:
    """``json`` when ``text`` starts with ``{``, else ``yaml``: how ``auto`` parses it."""
    return "json" if text.lstrip().startswith("{") else "yaml"


def parse(text: str, *, syntax: str = "yaml"):
    """Parse text into :class:`Mapping`/:class:`Sequence`/scalars.

    ``syntax`` is ``yaml``, ``json``, or ``auto`` (see :func:`detect_syntax`).
    JSON goes through :mod:`auditor.sources.jsonload`, which knows JSON better than a YAML 1.1 parser.
    """
    if syntax == "auto":
        syntax = detect_syntax(text)
    if syntax == "json":
        from .jsonload import parse_json

        return parse_json(text)
    if not text.strip():
        raise DocumentError("empty file")
    _check_depth(text)
    loader = _TemplateLoader(text)
    try:
        document = loader.get_single_data()
    except DocumentError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        raise DocumentError(problem, mark.line + 1 if mark else 0, mark.column + 1 if mark else 0) from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise DocumentError(f"nesting deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
    if document is None:
        raise DocumentError("empty document (only comments or blank lines)")
    return document


def locate(document, path) -> tuple[int, int]:
    """The line and column of ``path`` (keys and indexes) in a parsed document.

    Walks as far as the path exists and returns the deepest known position, so a path to a
    property that is missing points at its parent (the place where it should be added).
    """
    line, column = getattr(document, "line", 0) or 1, getattr(document, "column", 0) or 1
    node = document
    for step in path:
        if isinstance(node, Mapping) and step in node:
            mark = node.marks.get(step)
            if mark:
                line, column = mark.line, mark.column
            node = node[step]
        elif isinstance(node, Sequence) and isinstance(step, int) and 0 <= step < len(node):
            if step < len(node.marks):
                mark = node.marks[step]
                line, column = mark.line, mark.column
            node = node[step]
        else:
            break
    return line, column


def mark_of(document, path) -> Mark | None:
    """The :class:`Mark` of the value at ``path``, or None when the path does not exist."""
    node = document
    mark = None
    for step in path:
        if isinstance(node, Mapping) and step in node:
            mark = node.marks.get(step)
            node = node[step]
        elif isinstance(node, Sequence) and isinstance(step, int) and 0 <= step < len(node):
            mark = node.marks[step] if step < len(node.marks) else None
            node = node[step]
        else:
            return None
    return mark
