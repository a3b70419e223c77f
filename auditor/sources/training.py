"""Read a CreateTrainingJob request, wherever it is declared, into training-job facts.

The same request shape appears in an ``AWS::SageMaker::TrainingJob`` resource, a Step Functions
task's ``Parameters``, and a SageMaker Pipeline step's ``Arguments``. Each place has its own way
of saying "decided at run time" (an intrinsic function, a ``Key.$`` JSONPath, a ``{"Get": ...}``
expression); a :class:`Dialect` hides that, so the facts are derived once.
"""

from __future__ import annotations

from .. import catalog
from .intrinsics import UNKNOWN, Text, Token, boolean, integer

ABSENT = object()


class Dialect:
    """How one kind of definition spells values. ``read`` returns (actual key, value/UNKNOWN/ABSENT)."""

    def read(self, mapping, key: str):
        if not isinstance(mapping, dict):
            return key, UNKNOWN
        if key in mapping:
            return key, self.value(mapping[key])
        return key, ABSENT

    def value(self, value):
        if isinstance(value, str) and "${" in value:
            return UNKNOWN  # a substitution placeholder (DefinitionSubstitutions, Terraform templates)
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::")):
            return UNKNOWN  # an intrinsic function left inside an inline definition
        return value


class StatesLanguage(Dialect):
    """Amazon States Language: ``"Key.$": "$.path"`` means the value comes from the execution input."""

    def read(self, mapping, key: str):
        if isinstance(mapping, dict) and key + ".$" in mapping:
            return key + ".$", UNKNOWN
        return super().read(mapping, key)

    def value(self, value):
        if isinstance(value, str) and value.startswith("{%") and value.endswith("%}"):
            return UNKNOWN  # a JSONata expression
        return super().value(value)


class PipelineDefinition(Dialect):
    """SageMaker Pipelines: ``{"Get": "Parameters.X"}`` and ``{"Std:Join": ...}`` are run-time values."""

    def value(self, value):
        if isinstance(value, dict) and len(value) == 1 and ("Get" in value or next(iter(value)).startswith("Std:")):
            return UNKNOWN
        return super().value(value)


class CloudFormation(Dialect):
    """A template resource: intrinsic functions resolved as far as the template allows."""

    def __init__(self, resolver):
        self.resolver = resolver

    def value(self, value):
        value = self.resolver.resolve(value)
        if isinstance(value, (Token, Text)):
            return UNKNOWN
        return super().value(value)


def read_request(request, dialect: Dialect) -> tuple[dict, dict]:
    """Facts of one training request, and the key path (relative to the request) of each fact."""
    facts: dict = {}
    paths: dict = {}

    key, spot = dialect.read(request, "EnableManagedSpotTraining")
    paths["spot"] = [key]
    facts["spot"] = False if spot is ABSENT else (None if spot is UNKNOWN else boolean(spot))

    key, checkpoint = dialect.read(request, "CheckpointConfig")
    paths["has_checkpoint"] = [key] if checkpoint is not ABSENT else []
    if checkpoint is ABSENT:
        facts["has_checkpoint"] = False
    elif checkpoint is UNKNOWN or not isinstance(checkpoint, dict):
        facts["has_checkpoint"] = None
    else:
        uri_key, uri = dialect.read(checkpoint, "S3Uri")
        facts["has_checkpoint"] = uri is UNKNOWN or (isinstance(uri, str) and uri != "")
        if uri is not ABSENT:
            paths["has_checkpoint"] = [key, uri_key]

    key, stopping = dialect.read(request, "StoppingCondition")
    paths["stopping_condition"] = [key] if stopping is not ABSENT else []
    facts["max_runtime_seconds"] = facts["max_wait_seconds"] = None
    if stopping is ABSENT:
        facts["max_wait_set"] = False
    elif stopping is UNKNOWN or not isinstance(stopping, dict):
        facts["max_wait_set"] = None
    else:
        runtime_key, runtime = dialect.read(stopping, "MaxRuntimeInSeconds")
        wait_key, wait = dialect.read(stopping, "MaxWaitTimeInSeconds")
        facts["max_runtime_seconds"] = integer(runtime) if runtime not in (ABSENT, UNKNOWN) else None
        facts["max_wait_seconds"] = integer(wait) if wait not in (ABSENT, UNKNOWN) else None
        facts["max_wait_set"] = wait is not ABSENT
        paths["max_wait_seconds"] = [key, wait_key] if wait is not ABSENT else [key]

    key, resources = dialect.read(request, "ResourceConfig")
    instance_type = None
    if isinstance(resources, dict):
        type_key, value = dialect.read(resources, "InstanceType")
        if isinstance(value, str):
            instance_type = value
            paths["instance_type"] = [key, type_key]
    facts.update(catalog.instance_fields(instance_type))

    key, name = dialect.read(request, "TrainingJobName")
    facts["job_name"] = name if isinstance(name, str) else None
    return facts, paths


def training_job(request, dialect: Dialect, *, source: str, location, request_path: list, position, container: str,
                 label: str, document_path: tuple = (), definition_path: tuple | None = None):
    """A :class:`~auditor.model.TrainingJob` for ``request``.

    ``location`` locates the object that holds the request (a resource, state or step); ``position``
    maps a key path inside the document to (line, column); ``request_path`` is where the request
    sits in that document.
    """
    from ..model import TrainingJob  # local: model imports nothing from sources

    facts, paths = read_request(request, dialect)
    job_name = facts.pop("job_name")
    field_locations = {}
    for name, path in paths.items():
        full = request_path + path
        line, column = position(full)
        field_locations[name] = location.at(_dotted(location.path, request_path[-1:] + path), line, column)
    return TrainingJob(
        source=source,
        location=location,
        field_locations=field_locations,
        document_path=document_path,
        definition_path=definition_path,
        name=job_name or label,
        container=container,
        **facts,
    )


def _dotted(base: str, path: list) -> str:
    suffix = ".".join(str(part) for part in path)
    return f"{base}.{suffix}" if base and suffix else base or suffix
