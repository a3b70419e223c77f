"""Endpoints, scaling and transform jobs that a Step Functions state machine creates at run time.

MLOps pipelines often deploy from a state machine rather than from the template: tasks on
``sagemaker:createModel``, ``createEndpointConfig``, ``createEndpoint`` (or ``updateEndpoint``),
``aws-sdk:applicationautoscaling:registerScalableTarget`` and ``sagemaker:createTransformJob``.
Their ``Parameters`` (or JSONata ``Arguments``) are the API requests, so they become the same model
objects a template gives, located at their state: SW101, SW301 and SW302 judge them like template
resources. A value the execution decides (``"Name.$": "$.name"``, a JSONata expression, a
``${...}`` substitution) stays unknown, and what depends on it is not judged.
"""

from __future__ import annotations

import re

from .. import catalog, images
from ..linking import parse_target_resource_id
from ..model import Endpoint, ResourceModel, ScalableTarget, TransformJob, Variant
from .intrinsics import UNKNOWN, literal
from .stepfunctions import tasks
from .training import ABSENT, StatesLanguage

SOURCE = "stepfunctions"
_SAGEMAKER = r"^arn:[^:]+:states:::sagemaker:"
MODEL_TASK = re.compile(_SAGEMAKER + r"createModel$")
CONFIG_TASK = re.compile(_SAGEMAKER + r"createEndpointConfig$")
ENDPOINT_TASK = re.compile(_SAGEMAKER + r"(createEndpoint|updateEndpoint)$")
TRANSFORM_TASK = re.compile(_SAGEMAKER + r"createTransformJob(\.sync)?$")
REGISTER_TASK = re.compile(r"^arn:[^:]+:states:::aws-sdk:applicationautoscaling:registerScalableTarget$")


class _Reader:
    def __init__(self, definition, *, location, position, machine: str, base_path, definition_path):
        self.definition = definition
        self.location = location
        self.position = position
        self.machine = machine
        self.base_path = base_path
        self.definition_path = definition_path
        self.dialect = StatesLanguage()
        self.model = ResourceModel()

    def value(self, mapping, key):
        """A request field: its value, ``None`` when absent, UNKNOWN when the execution decides it."""
        _, value = self.dialect.read(mapping, key)
        return None if value is ABSENT else value

    def text(self, mapping, key):
        value = self.value(mapping, key)
        return value if isinstance(value, str) else (UNKNOWN if value is UNKNOWN else None)

    @staticmethod
    def run_time_name(request: dict, key: str, state: str) -> str:
        """How a name decided by the execution is shown: the path it comes from, or the state that uses it."""
        path = request.get(key + ".$")
        return f"named at run time ({path})" if isinstance(path, str) else f"created by state {state!r}"

    def state_location(self, name: str, state_path: list):
        path = ".".join(f"[{step}]" if isinstance(step, int) else str(step) for step in state_path).replace(".[", "[")
        base = self.location.path
        return self.location.at(f"{base}.{path}" if base else path, *self.position(state_path))

    def document_path(self, *steps) -> tuple:
        return () if self.base_path is None else tuple(self.base_path) + tuple(steps)

    def requests(self, pattern):
        for name, state_path, state, key in tasks(self.definition, pattern):
            request = state.get(key)
            if isinstance(request, dict):
                yield name, state_path, key, request

    # -- reading --------------------------------------------------------------------------------

    def read(self) -> ResourceModel:
        model_images = self.read_models()
        configs = self.read_configs(model_images)
        self.read_endpoints(configs)
        self.read_targets()
        self.read_transform_jobs()
        return self.model

    def read_models(self) -> dict:
        """Model name -> the images its containers run (a list with ``None`` for an image not known)."""
        found: dict = {}
        for _, _, _, request in self.requests(MODEL_TASK):
            name = self.text(request, "ModelName")
            containers = [request["PrimaryContainer"]] if isinstance(request.get("PrimaryContainer"), dict) else []
            if isinstance(request.get("Containers"), list):
                containers += [item for item in request["Containers"] if isinstance(item, dict)]
            if isinstance(name, str):
                found[name] = [literal(self.text(container, "Image")) for container in containers]
        return found

    def read_configs(self, model_images: dict) -> dict:
        """Config name (or a state's own key when the name is unknown) -> the variants it declares."""
        configs: dict = {}
        for name, state_path, key, request in self.requests(CONFIG_TASK):
            config_name = self.text(request, "EndpointConfigName")
            is_async = self.value(request, "AsyncInferenceConfig") is not None
            variants = []
            items = self.value(request, "ProductionVariants")
            for index, item in enumerate(items if isinstance(items, list) else ()):
                if isinstance(item, dict):
                    variants.append(self.variant(name, state_path, key, index, item, is_async, model_images))
            configs[config_name if isinstance(config_name, str) else ("state", name)] = variants
        return configs

    def variant(self, state: str, state_path: list, key: str, index: int, item: dict, is_async: bool,
                model_images: dict) -> Variant:
        variant_name = self.text(item, "VariantName")
        instance_type = self.text(item, "InstanceType")
        serverless = self.value(item, "ServerlessConfig") is not None
        model = self.text(item, "ModelName")
        found = model_images.get(model, []) if isinstance(model, str) else []
        count = self.value(item, "InitialInstanceCount")
        managed = self.value(item, "ManagedInstanceScaling")
        shown = variant_name if isinstance(variant_name, str) else f"#{index}"
        location = self.state_location(state, state_path)
        path = f"{location.path}.{key}.ProductionVariants[{shown}]"
        return Variant(
            source=SOURCE,
            location=location.at(path),
            field_locations={"instance_type": location.at(f"{path}.InstanceType")},
            document_path=self.document_path(*state_path, key, "ProductionVariants", index),
            definition_path=self.definition_path,
            variant_name=shown,
            variant_key=variant_name if isinstance(variant_name, str) else UNKNOWN,
            kind="serverless" if serverless else ("async" if is_async else "real-time"),
            instance_count=count if isinstance(count, int) and not isinstance(count, bool) else None,
            **catalog.instance_fields(instance_type if isinstance(instance_type, str) else None),
            managed_instance_scaling=isinstance(managed, dict) and managed.get("Status") == "ENABLED",
            hosts_inference_components=model is None and instance_type is not None and not serverless,
            images=found,
            cpu_only_image=images.cpu_only(found),
        )

    def read_endpoints(self, configs: dict) -> None:
        for name, state_path, key, request in self.requests(ENDPOINT_TASK):
            endpoint_name = self.text(request, "EndpointName")
            config_name = self.text(request, "EndpointConfigName")
            variants = configs.get(config_name, []) if isinstance(config_name, str) else []
            shown = endpoint_name if isinstance(endpoint_name, str) else \
                self.run_time_name(request, "EndpointName", name)
            for variant in variants:
                variant.endpoint = shown
                variant.endpoint_key = endpoint_name if isinstance(endpoint_name, str) else UNKNOWN
            kinds = {variant.kind for variant in variants}
            self.model.endpoints.append(Endpoint(
                source=SOURCE,
                location=self.state_location(name, state_path),
                name=shown,
                kind=kinds.pop() if len(kinds) == 1 else None,
            ))
        for variants in configs.values():
            self.model.variants.extend(variants)

    def read_targets(self) -> None:
        for name, state_path, key, request in self.requests(REGISTER_TASK):
            resource_id = self.text(request, "ResourceId")
            dimension = self.text(request, "ScalableDimension")
            namespace = self.text(request, "ServiceNamespace")
            dimension = dimension if isinstance(dimension, str) else None
            namespace = namespace if isinstance(namespace, str) else None
            minimum, maximum = self.value(request, "MinCapacity"), self.value(request, "MaxCapacity")
            self.model.scalable_targets.append(ScalableTarget(
                source=SOURCE,
                location=self.state_location(name, state_path),
                resource_id=resource_id if isinstance(resource_id, str) else None,
                namespace=namespace,
                dimension=dimension,
                min_capacity=minimum if isinstance(minimum, int) and not isinstance(minimum, bool) else None,
                max_capacity=maximum if isinstance(maximum, int) and not isinstance(maximum, bool) else None,
                key=[("triple", resource_id, dimension, namespace)],
                **parse_target_resource_id(namespace, resource_id, dimension),
            ))

    def read_transform_jobs(self) -> None:
        for name, state_path, key, request in self.requests(TRANSFORM_TASK):
            resources = self.value(request, "TransformResources")
            instance_type = self.text(resources, "InstanceType") if isinstance(resources, dict) else None
            location = self.state_location(name, state_path)
            path = f"{location.path}.{key}.TransformResources.InstanceType"
            job_name = self.text(request, "TransformJobName")
            self.model.transform_jobs.append(TransformJob(
                source=SOURCE,
                location=location,
                field_locations={"instance_type": location.at(path)},
                document_path=self.document_path(*state_path, key),
                definition_path=self.definition_path,
                name=job_name if isinstance(job_name, str) else name,
                container=f"state machine {self.machine}, state {name!r}",
                **catalog.instance_fields(instance_type if isinstance(instance_type, str) else None),
            ))


def hosting(definition, *, location, position, machine: str, base_path=(), definition_path=None) -> ResourceModel:
    """What ``definition`` deploys when it runs (not linked: the caller links it with the rest of its file)."""
    return _Reader(definition, location=location, position=position, machine=machine, base_path=base_path,
                   definition_path=definition_path).read()
