"""Evaluate CloudFormation intrinsic functions as far as a template alone allows, and no further.

A value that cannot be known before deployment is never guessed. It stays symbolic: a
:class:`Token` (a parameter without a default, a resource's ``Ref`` or ``GetAtt``, an import), or a
:class:`Text` when it is a string built from literals and tokens. Two values built the same way
compare equal, which is how ``endpoint/${EndpointName}/variant/AllTraffic`` is matched to an
endpoint named ``${EndpointName}`` without knowing the name. ``UNKNOWN`` is what nothing can be
said about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product

from .loader import INTRINSIC_TAGS, DocumentError, Mapping, Sequence, locate


@dataclass(frozen=True)
class Token:
    """A value fixed only at deploy time.

    ``kind`` is ``param`` (a parameter without a usable default), ``pseudo`` (``AWS::Region``...),
    ``ref`` / ``getatt`` (a resource's return value), ``arn`` (the ``Ref`` of a SageMaker resource,
    which is its ARN), ``import`` (``Fn::ImportValue``) or ``unknown``.
    """

    kind: str
    name: str
    attribute: str = ""
    """For ``getatt``, the attribute; for ``arn``, the attribute that would give the name instead."""

    def __str__(self) -> str:
        if self.kind == "getatt":
            return "${%s.%s}" % (self.name, self.attribute)
        if self.kind == "unknown":
            return "<unresolved>"
        return "${%s}" % self.name


UNKNOWN = Token("unknown", "")
NO_VALUE = Token("pseudo", "AWS::NoValue")


@dataclass(frozen=True)
class Text:
    """A string made of literal pieces and tokens, e.g. ``endpoint/${Endpoint.EndpointName}/variant/A``."""

    parts: tuple

    def __str__(self) -> str:
        return "".join(str(part) for part in self.parts)

    @property
    def tokens(self) -> tuple:
        return tuple(part for part in self.parts if isinstance(part, Token))


MAX_RESOLVED_LENGTH = 4096
"""A built string longer than this is UNKNOWN: no name or identifier is that long, and doubling
``Fn::Join``s over a chain of resources would otherwise build strings of gigabytes."""


def text(parts) -> str | Text | Token:
    """Normalise a list of pieces: merge adjacent literals; a single piece stands for itself."""
    merged: list = []
    length = 0
    for part in parts:
        if isinstance(part, Text):
            pieces = part.parts
        else:
            pieces = (part,)
        for piece in pieces:
            length += len(piece) if isinstance(piece, str) else len(str(piece))
            if length > MAX_RESOLVED_LENGTH:
                return UNKNOWN
            if isinstance(piece, str) and merged and isinstance(merged[-1], str):
                merged[-1] += piece
            elif piece != "":
                merged.append(piece)
    if not merged:
        return ""
    if len(merged) == 1 and isinstance(merged[0], (str, Token)):
        return merged[0]
    return Text(tuple(merged))


@dataclass(frozen=True)
class Choices:
    """One of several known values, which one decided at deployment: a ``Fn::FindInMap`` keyed by
    ``AWS::Region`` or a parameter. Nothing can be matched against it (it is not an identity), but a
    verdict that holds for every option (every image CPU-only) holds for it."""

    options: tuple

    def __str__(self) -> str:
        return "<one of " + ", ".join(str(option) for option in self.options) + ">"


def scalar(value):
    """``value`` when it can serve as a key (a scalar, Token, Text or Choices), else UNKNOWN.

    Templates put lists and mappings where a name belongs; such a value names nothing.
    """
    if value is None or isinstance(value, (str, int, float, bool, Token, Text, Choices)):
        return value
    return UNKNOWN


def boolean(value) -> bool | None:
    """A template's boolean: ``true``/``false`` or the strings CloudFormation accepts for them (any
    case); ``None`` for anything else, an unresolved value included."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def literal(value) -> str | None:
    """A fully known string, else None."""
    return value if isinstance(value, str) else None


_DIGITS = re.compile(r"[0-9]+")


def integer(value) -> int | None:
    """A whole number: an int, a float without a fraction, or a string of digits (templates write numbers
    as strings); ``None`` for anything else (a fraction, a boolean, an unresolved value)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None


INTRINSIC_FUNCTIONS = frozenset(INTRINSIC_TAGS.values())
"""The keys of CloudFormation's intrinsic functions (``Ref``, ``Condition`` and the ``Fn::`` ones)."""


def is_intrinsic(value) -> bool:
    """Whether ``value`` calls an intrinsic function: a mapping whose one key is such a function's."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in INTRINSIC_FUNCTIONS


def has_unknown(value) -> bool:
    """True when ``value`` contains something nothing can be said about (not even its identity)."""
    if isinstance(value, Token):
        return value.kind == "unknown"
    if isinstance(value, Text):
        return any(part.kind == "unknown" for part in value.tokens)
    return isinstance(value, Choices)


def options(value) -> tuple:
    """The values ``value`` may take: its :class:`Choices`, or itself."""
    return value.options if isinstance(value, Choices) else (value,)


def split(value, separator: str) -> list:
    """Split a str or :class:`Text` on a separator that appears in its literal pieces."""
    if isinstance(value, str):
        return value.split(separator)
    if isinstance(value, Token):
        return [value]
    segments: list[list] = [[]]
    for part in value.parts:
        if isinstance(part, str):
            pieces = part.split(separator)
            segments[-1].append(pieces[0])
            for piece in pieces[1:]:
                segments.append([piece])
        else:
            segments[-1].append(part)
    return [text(segment) for segment in segments]


# Attributes whose value is a property of the same resource when that property is set.
NAME_ATTRIBUTES = {
    ("AWS::SageMaker::Endpoint", "EndpointName"): "EndpointName",
    ("AWS::SageMaker::EndpointConfig", "EndpointConfigName"): "EndpointConfigName",
    ("AWS::SageMaker::Model", "ModelName"): "ModelName",
    # The Ref of a Lambda function is its name (``function:${Fn}:live`` is how targets name it), and so is
    # the Ref of an Auto Scaling group and of a launch configuration (what policies and groups hold).
    ("AWS::Lambda::Function", "Ref"): "FunctionName",
    ("AWS::Serverless::Function", "Ref"): "FunctionName",
    ("AWS::AutoScaling::AutoScalingGroup", "Ref"): "AutoScalingGroupName",
    ("AWS::AutoScaling::LaunchConfiguration", "Ref"): "LaunchConfigurationName",
}
# Not AWS::SageMaker::InferenceComponent: it has no name attribute at all (fact sheet section 0.1).

ARN_REFS = {
    "AWS::SageMaker::Endpoint": "EndpointName",
    "AWS::SageMaker::EndpointConfig": "EndpointConfigName",
    "AWS::SageMaker::Model": "ModelName",
    "AWS::SageMaker::InferenceComponent": "",
}
"""SageMaker types whose ``Ref`` is an ARN (fact sheet section 0.1), and the attribute that is the name
(inference components have none: their name must be set explicitly and reused)."""

SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
MAX_CONDITION_COMBINATIONS = 16
MAX_ATTRIBUTE_DEPTH = 64
"""Attributes derived from attributes deeper than this are UNKNOWN (no recursion past Python's limit)."""


class CircularReference(DocumentError):
    """Resources whose names are built from each other: CloudFormation refuses the template too."""


class Resolver:
    """Resolves intrinsic functions against one template's Parameters, Mappings and Resources.

    A resource attribute is resolved once and remembered, so a value built from other resources'
    names costs linear time however often each is used; a name that depends on itself is a
    :class:`CircularReference` naming the resources in the cycle.
    """

    def __init__(self, template: dict):
        self.template = template
        parameters = template.get("Parameters")
        self.parameters = parameters if isinstance(parameters, dict) else {}
        mappings = template.get("Mappings")
        self.mappings = mappings if isinstance(mappings, dict) else {}
        resources = template.get("Resources")
        self.resources = resources if isinstance(resources, dict) else {}
        conditions = template.get("Conditions")
        self.conditions = conditions if isinstance(conditions, dict) else {}
        self._attributes: dict = {}
        self._resolving: list = []
        self._conditions: dict = {}

    def resource_type(self, logical_id: str) -> str | None:
        resource = self.resources.get(logical_id)
        if isinstance(resource, dict) and isinstance(resource.get("Type"), str):
            return resource["Type"]
        return None

    # -- references ---------------------------------------------------------------------------

    def ref(self, name):
        if not isinstance(name, str):
            return UNKNOWN
        if name == "AWS::NoValue":
            return NO_VALUE
        if name.startswith("AWS::"):
            return Token("pseudo", name)
        if name in self.parameters:
            parameter = self.parameters[name]
            if isinstance(parameter, dict):
                kind = parameter.get("Type", "String")
                # An SSM parameter type's Default is the name of the SSM parameter, not its value.
                usable = isinstance(kind, str) and not kind.startswith("AWS::SSM::")
                default = parameter.get("Default")
                if usable and isinstance(default, (str, int, float, bool)):
                    return default
            return Token("param", name)
        if name in self.resources:
            kind = self.resource_type(name)
            name_attribute = ARN_REFS.get(kind)
            if name_attribute is not None:
                return Token("arn", name, name_attribute)
            if (kind, "Ref") in NAME_ATTRIBUTES:
                value = self.get_att(name, "Ref")  # memoized and cycle-checked like any name attribute
                return Token("ref", name) if isinstance(value, Token) and value.kind == "getatt" else value
            return Token("ref", name)
        return UNKNOWN

    def get_att(self, logical_id, attribute):
        if not isinstance(logical_id, str) or not isinstance(attribute, str):
            return UNKNOWN
        key = (logical_id, attribute)
        if key in self._attributes:
            return self._attributes[key]
        if key in self._resolving:
            self._circular(key)
        if len(self._resolving) >= MAX_ATTRIBUTE_DEPTH:
            return UNKNOWN
        self._resolving.append(key)
        try:
            value = self._attribute(logical_id, attribute)
        finally:
            self._resolving.pop()
        self._attributes[key] = value
        return value

    def _attribute(self, logical_id: str, attribute: str):
        resource = self.resources.get(logical_id)
        if not isinstance(resource, dict):
            return UNKNOWN
        mirrored = NAME_ATTRIBUTES.get((resource.get("Type"), attribute))
        properties = resource.get("Properties")
        if mirrored and isinstance(properties, dict) and mirrored in properties:
            value = scalar(self.resolve(properties[mirrored]))
            if not has_unknown(value):
                return value
        # Unset or unresolvable: the attribute itself is the identity, the same wherever it is used.
        return Token("getatt", logical_id, attribute)

    def _circular(self, key: tuple):
        """Raise the cycle, written from its first logical ID in sorted order (the same whichever is met first)."""
        members = [logical_id for logical_id, _ in self._resolving[self._resolving.index(key):]]
        start = members.index(min(members))
        cycle = members[start:] + members[:start] + [min(members)]
        line, column = locate(self.template, ["Resources", cycle[0]])
        raise CircularReference(f"circular reference: {' -> '.join(cycle)}", line, column)

    # -- conditions ---------------------------------------------------------------------------

    def condition(self, name) -> bool | None:
        """Condition ``name`` under the parameter defaults: True, False, or None when that cannot be known
        (a parameter without a default, a pseudo parameter such as ``AWS::Region``, a cycle)."""
        if not isinstance(name, str) or name not in self.conditions:
            return None
        if name not in self._conditions:
            self._conditions[name] = None  # while evaluating: a reference back to it is unknown
            self._conditions[name] = self._truth(self.conditions[name])
        return self._conditions[name]

    def _truth(self, expression) -> bool | None:
        if not isinstance(expression, dict) or len(expression) != 1:
            return None
        (function, argument), = expression.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
            first, second = (self.resolve(item) for item in argument)
            if not all(isinstance(value, (str, int, float, bool)) for value in (first, second)):
                return None
            return _as_piece(first) == _as_piece(second)
        if function == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
            value = self._truth(argument[0])
            return None if value is None else not value
        if function in ("Fn::And", "Fn::Or") and isinstance(argument, list) and argument:
            values = [self._truth(item) for item in argument]
            decisive = function == "Fn::Or"  # True decides an Or, False an And
            if decisive in values:
                return decisive
            return None if None in values else not decisive
        return None

    def condition_parameters(self, name) -> dict:
        """Parameter -> default of the parameters condition ``name`` reads (through the conditions it refers to)."""
        found: dict = {}
        seen: set = set()

        def visit(value):
            if isinstance(value, dict):
                if set(value) == {"Condition"} and value["Condition"] not in seen:
                    seen.add(value["Condition"])
                    visit(self.conditions.get(value["Condition"]))
                elif set(value) == {"Ref"} and value["Ref"] in self.parameters:
                    parameter = self.parameters[value["Ref"]]
                    if isinstance(parameter, dict) and "Default" in parameter:
                        found[value["Ref"]] = parameter["Default"]
                for item in value.values():
                    visit(item)
            elif isinstance(value, list):
                for item in value:
                    visit(item)

        visit({"Condition": name})
        return found

    # -- evaluation ---------------------------------------------------------------------------

    def resolve(self, value):
        """The value of ``value`` as far as it can be known; containers are returned as they are."""
        if not isinstance(value, dict) or len(value) != 1:
            return value
        (function, argument), = value.items()
        handler = self._FUNCTIONS.get(function)
        if handler is None:
            return value
        try:
            return handler(self, argument)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            return UNKNOWN

    def _ref(self, argument):
        return self.ref(argument)

    def _get_att(self, argument):
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not isinstance(argument, list) or len(argument) != 2:
            return UNKNOWN
        attribute = self.resolve(argument[1])
        return self.get_att(argument[0], attribute)

    def _sub(self, argument):
        if isinstance(argument, list):
            if len(argument) != 2 or not isinstance(argument[1], dict):
                return UNKNOWN
            template, variables = argument
        else:
            template, variables = argument, {}
        if not isinstance(template, str):
            return UNKNOWN
        pieces = self.sub_parts(template, variables)
        return text(piece if kind == "text" else _as_piece(piece) for kind, piece in pieces)

    def sub_parts(self, template: str, variables: dict):
        """The pieces of a ``Fn::Sub`` string: ``("text", literal)`` and ``("value", resolved)`` pairs."""
        position = 0
        for match in SUB_VARIABLE.finditer(template):
            yield "text", template[position : match.start()]
            position = match.end()
            name = match.group(1).strip()
            if name.startswith("!"):
                yield "text", "${" + name[1:] + "}"
            elif name in variables:
                yield "value", self.resolve(variables[name])
            elif "." in name and not name.startswith("AWS::"):
                yield "value", self.get_att(*name.split(".", 1))
            else:
                yield "value", self.ref(name)
        yield "text", template[position:]

    def _join(self, argument):
        if not isinstance(argument, list) or len(argument) != 2:
            return UNKNOWN
        delimiter, items = argument
        items = self.resolve(items)
        if not isinstance(delimiter, str) or not isinstance(items, list):
            return UNKNOWN
        parts: list = []
        for index, item in enumerate(items):
            if index:
                parts.append(delimiter)
            parts.append(_as_piece(self.resolve(item)))
        return text(parts)

    def _find_in_map(self, argument):
        if not isinstance(argument, list) or len(argument) < 3:
            return UNKNOWN
        keys = [self.resolve(item) for item in argument[:3]]
        if isinstance(keys[0], str) and isinstance(keys[1], Token) and isinstance(keys[2], str):
            return self._over_top_level_keys(keys[0], keys[2])
        if not all(isinstance(key, str) for key in keys):
            return UNKNOWN
        try:
            return self.resolve(self.mappings[keys[0]][keys[1]][keys[2]])
        except (KeyError, TypeError):
            if len(argument) > 3 and isinstance(argument[3], dict) and "DefaultValue" in argument[3]:
                return self.resolve(argument[3]["DefaultValue"])
            return UNKNOWN

    def _over_top_level_keys(self, name: str, second: str):
        """``Fn::FindInMap`` whose top-level key is known only at deployment (``!Ref AWS::Region``): the
        values the map gives for ``second`` under every top-level key, as one value when they agree."""
        table = self.mappings.get(name)
        if not isinstance(table, dict):
            return UNKNOWN
        found = []
        for entries in table.values():
            value = self.resolve(entries.get(second)) if isinstance(entries, dict) and second in entries else None
            if not isinstance(value, (str, int, float, bool)):
                return UNKNOWN  # a key without it, or a value that is itself unknown: nothing to enumerate
            found.append(value)
        distinct = tuple(dict.fromkeys(found))
        if not distinct:
            return UNKNOWN
        return distinct[0] if len(distinct) == 1 else Choices(distinct)

    def _select(self, argument):
        if not isinstance(argument, list) or len(argument) != 2:
            return UNKNOWN
        index = self.resolve(argument[0])
        items = self.resolve(argument[1])
        if isinstance(index, str) and index.isdigit():
            index = int(index)
        if isinstance(index, int) and isinstance(items, list) and 0 <= index < len(items):
            return self.resolve(items[index])
        return UNKNOWN

    def _import(self, argument):
        return Token("import", str(self.resolve(argument)))

    def _if(self, argument):
        # Reached only when a value was not specialised (see ``scenarios``): both branches must agree.
        if not isinstance(argument, list) or len(argument) != 3:
            return UNKNOWN
        first, second = self.resolve(argument[1]), self.resolve(argument[2])
        return first if first == second and not isinstance(first, (dict, list)) else UNKNOWN

    def _unknown(self, argument):
        return UNKNOWN

    _FUNCTIONS = {
        "Ref": _ref,
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _sub,
        "Fn::Join": _join,
        "Fn::FindInMap": _find_in_map,
        "Fn::Select": _select,
        "Fn::ImportValue": _import,
        "Fn::If": _if,
        "Fn::Base64": _unknown,
        "Fn::GetAZs": _unknown,
        "Fn::Split": _unknown,
        "Fn::Cidr": _unknown,
        "Fn::Length": _unknown,
        "Fn::ToJsonString": _unknown,
        "Fn::Transform": _unknown,
        "Fn::GetStackOutput": _unknown,
    }


def _as_piece(value):
    if isinstance(value, (str, Token, Text)):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return UNKNOWN


# -- conditions (Fn::If) -------------------------------------------------------------------------


def conditions_in(value, found: set | None = None) -> set:
    """Names of the conditions that ``Fn::If`` uses anywhere inside ``value``."""
    found = set() if found is None else found
    if isinstance(value, dict):
        branch = value.get("Fn::If") if len(value) == 1 else None
        if isinstance(branch, list) and branch and isinstance(branch[0], str):
            found.add(branch[0])
        for item in value.values():
            conditions_in(item, found)
    elif isinstance(value, list):
        for item in value:
            conditions_in(item, found)
    return found


def scenarios(value):
    """Each way the ``Fn::If`` branches in ``value`` can turn out, as ``value`` specialised to it.

    Conditions are enumerated by name, so one condition takes the same branch everywhere in
    ``value``. Rules then see every deployable shape ("any branch"); findings that repeat across
    shapes share a fingerprint and are reported once. Past ``MAX_CONDITION_COMBINATIONS`` the
    value is returned as it is, and each ``Fn::If`` resolves to UNKNOWN unless its branches agree.
    """
    names = sorted(conditions_in(value))
    if not names or 2 ** len(names) > MAX_CONDITION_COMBINATIONS:
        return [value]
    return [_specialise(value, dict(zip(names, choice))) for choice in product((True, False), repeat=len(names))]


def _specialise(value, choice: dict):
    if isinstance(value, dict):
        if len(value) == 1 and "Fn::If" in value:
            branch = value["Fn::If"]
            if isinstance(branch, list) and len(branch) == 3 and branch[0] in choice:
                return _specialise(branch[1] if choice[branch[0]] else branch[2], choice)
        result = Mapping()
        if isinstance(value, Mapping):
            result.line, result.column, result.start, result.end = value.line, value.column, value.start, value.end
        for key, item in value.items():
            item = _specialise(item, choice)
            if _is_no_value(item):
                continue
            result[key] = item
            if isinstance(value, Mapping) and key in value.marks:
                result.marks[key] = value.marks[key]
        return result
    if isinstance(value, list):
        result = Sequence()
        if isinstance(value, Sequence):
            result.line, result.column, result.start, result.end = value.line, value.column, value.start, value.end
        for index, item in enumerate(value):
            item = _specialise(item, choice)
            if _is_no_value(item):
                continue
            result.append(item)
            if isinstance(value, Sequence) and index < len(value.marks):
                result.marks.append(value.marks[index])
        return result
    return value


def _is_no_value(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and value.get("Ref") == "AWS::NoValue"


def referenced(value) -> set:
    """Logical IDs ``value`` refers to: ``Ref``, ``Fn::GetAtt`` and the ``${X}``/``${X.Attr}`` of ``Fn::Sub``."""
    found: set = set()
    if isinstance(value, dict):
        if len(value) == 1:
            (function, argument), = value.items()
            if function == "Ref" and isinstance(argument, str):
                found.add(argument)
            elif function == "Fn::GetAtt":
                first = argument.split(".", 1)[0] if isinstance(argument, str) else (
                    argument[0] if isinstance(argument, list) and argument else None)
                if isinstance(first, str):
                    found.add(first)
            elif function == "Fn::Sub":
                template = argument[0] if isinstance(argument, list) and argument else argument
                if isinstance(template, str):
                    found |= {name.split(".", 1)[0] for name in SUB_VARIABLE.findall(template)}
        for item in value.values():
            found |= referenced(item)
    elif isinstance(value, list):
        for item in value:
            found |= referenced(item)
    return found
