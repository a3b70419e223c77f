"""CloudFormation and SAM templates -> the resource model.

Reads SageMaker models, endpoint configs, endpoints and inference components, Application Auto
Scaling targets and policies, training jobs, and the training tasks inside Step Functions state
machines and SageMaker pipelines (inline objects or JSON strings built with ``Fn::Sub`` /
``Fn::Join``). Values go through :class:`~auditor.sources.intrinsics.Resolver`; ``Fn::If`` is
explored branch by branch (see :func:`~auditor.sources.intrinsics.scenarios`).
"""

from __future__ import annotations

import json

from .. import catalog, images, scaling, schedules
from ..linking import link, parse_target_resource_id
from ..model import (
    Alarm,
    Endpoint,
    InferenceComponent,
    Location,
    ResourceModel,
    ScalableTarget,
    ScalingPolicy,
    ScheduledAction,
    Variant,
)
from . import cfn_auto_scaling_groups, cfn_lambda, pipelines, statemachine_hosting, stepfunctions, suppressions
from .intrinsics import Resolver, Text, Token, boolean, has_unknown, is_intrinsic, literal, options, scalar, scenarios
from .jsonload import ends_inside_string
from .loader import DocumentError, Mapping, Sequence, locate, mark_of, parse
from .training import CloudFormation as CloudFormationDialect
from .training import training_job

SOURCE = "cloudformation"


def is_template(document) -> bool:
    return isinstance(document, dict) and (
        "Resources" in document or "AWSTemplateFormatVersion" in document
    )


def read_template(document, *, file: str, scope: str, text: str) -> ResourceModel:
    """The model of one template.

    ``file`` is the path as reported, ``scope`` the path fingerprints use, ``text`` the content
    (for the columns of embedded definitions).
    """
    resources = document.get("Resources")
    if resources is None:
        return ResourceModel()
    if not isinstance(resources, dict):
        line, column = locate(document, ["Resources"])
        raise DocumentError("Resources must be a mapping of logical IDs to resources", line, column)
    return _TemplateReader(document, resources, file, scope, text).read()


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return int(number) if number.is_integer() else number
    return None


def _display(value) -> str | None:
    if value is None or (isinstance(value, Token) and value.kind == "unknown"):
        return None
    if isinstance(value, (str, Text, Token)):
        return str(value)
    return json.dumps(value) if isinstance(value, (int, float, bool)) else None


class _TemplateReader:
    def __init__(self, document, resources, file: str, scope: str, text: str):
        self.document = document
        self.resources = resources
        self.file = file
        self.scope = scope
        self.lines = text.splitlines()
        self.resolver = Resolver(document)
        self.model = ResourceModel()
        self.model_images: dict = {}
        self.configs: dict = {}  # config key -> list of (logical_id, properties scenario)
        self.used_configs: set = set()
        self.components: list = []

    # -- helpers ------------------------------------------------------------------------------

    def resource_location(self, logical_id: str, path: str = "", node=None, node_path=()) -> Location:
        if node is not None:
            line, column = locate(node, list(node_path))
        else:
            line, column = locate(self.document, ["Resources", logical_id])
        return Location(self.scope, logical_id, path, line, column, file=self.file)

    def value(self, value):
        """A property's value resolved as far as possible, as something usable as a key."""
        return scalar(self.resolver.resolve(value))

    def of_type(self, *types):
        for logical_id, resource in self.resources.items():
            if isinstance(resource, dict) and resource.get("Type") in types:
                properties = resource.get("Properties")
                if isinstance(properties, dict):
                    for scenario in scenarios(properties):
                        if isinstance(scenario, dict):
                            yield logical_id, scenario

    def written_path(self, logical_id: str, properties, *rest) -> tuple:
        """Where ``rest`` of a resource's ``properties`` is in the file, for fixes; ``()`` when ``properties``
        is one ``Fn::If`` branch (a specialised copy, whose list indexes may differ from the file's)."""
        resource = self.resources.get(logical_id)
        if isinstance(resource, dict) and resource.get("Properties") is properties:
            return ("Resources", logical_id, *rest)
        return ()

    def name_key(self, logical_id: str, name_property: str):
        """The comparable identity of a resource's name: what ``!GetAtt Resource.<name_property>`` gives."""
        return self.resolver.get_att(logical_id, name_property)

    @staticmethod
    def name_shown(logical_id: str, name_key) -> str | None:
        """How messages name a resource: its name, or its logical ID when CloudFormation generates the name."""
        if isinstance(name_key, Token) and name_key.kind == "getatt" and name_key.name == logical_id:
            return logical_id
        return _display(name_key)

    # -- reading ------------------------------------------------------------------------------

    def read(self) -> ResourceModel:
        self.read_models()
        self.read_configs()
        self.read_components()
        self.read_endpoints()
        self.read_unused_configs()
        self.read_scalable_targets()
        self.read_scaling_policies()
        self.read_alarms()
        cfn_lambda.LambdaReader(self).read()
        cfn_auto_scaling_groups.AutoScalingGroupReader(self).read()
        self.read_training_jobs()
        self.read_state_machines()
        self.read_pipelines()
        self.read_suppressions()
        link(self.model)
        return self.model

    def read_models(self):
        for logical_id, properties in self.of_type("AWS::SageMaker::Model"):
            containers = []
            if isinstance(properties.get("PrimaryContainer"), dict):
                containers.append(properties["PrimaryContainer"])
            if isinstance(properties.get("Containers"), list):
                containers.extend(c for c in properties["Containers"] if isinstance(c, dict))
            # An image chosen per region from a mapping counts as all of its options: a verdict on the
            # model (CPU-only) must hold for every one of them.
            found = [_display(option) for c in containers for option in options(self.value(c.get("Image")))]
            key = self.name_key(logical_id, "ModelName")
            self.model_images.setdefault(key, []).append(found)

    def images_of(self, model_name) -> list:
        candidates = self.model_images.get(self.value(model_name))
        if not candidates or len(candidates) != 1:
            return []  # not in this template (or ambiguous): nothing can be said about its images
        return candidates[0]

    def read_configs(self):
        for logical_id, properties in self.of_type("AWS::SageMaker::EndpointConfig"):
            key = self.name_key(logical_id, "EndpointConfigName")
            self.configs.setdefault(key, []).append((logical_id, properties))

    def read_components(self):
        for logical_id, properties in self.of_type("AWS::SageMaker::InferenceComponent"):
            name = self.value(properties["InferenceComponentName"]) \
                if "InferenceComponentName" in properties else None
            endpoint = self.value(properties.get("EndpointName"))
            variant = self.value(properties.get("VariantName")) if "VariantName" in properties else None
            component = InferenceComponent(
                source=SOURCE,
                location=self.resource_location(logical_id),
                document_path=self.written_path(logical_id, properties),
                name=_display(name) or logical_id,
                key=name,
                endpoint=_display(endpoint),
                variant_name=_display(variant),
            )
            self.components.append((component, endpoint, variant))
            self.model.inference_components.append(component)

    def read_endpoints(self):
        for logical_id, properties in self.of_type("AWS::SageMaker::Endpoint"):
            config_key = self.value(properties.get("EndpointConfigName"))
            name_key = self.name_key(logical_id, "EndpointName")
            display = self.name_shown(logical_id, name_key)
            configs = self.configs.get(config_key, []) if not has_unknown(config_key) else []
            kinds = set()
            for config_id, config in configs:
                self.used_configs.add(config_id)
                kinds.add(self.read_variants(config_id, config, endpoint_key=name_key, endpoint=display,
                                             endpoint_id=logical_id))
            self.model.endpoints.append(Endpoint(
                source=SOURCE,
                location=self.resource_location(logical_id),
                document_path=self.written_path(logical_id, properties),
                name=display,
                kind=kinds.pop() if len(kinds) == 1 else None,
            ))

    def read_unused_configs(self):
        for key, configs in self.configs.items():
            for config_id, config in configs:
                if config_id not in self.used_configs:
                    self.read_variants(config_id, config, endpoint_key=None, endpoint=None)

    def read_variants(self, config_id: str, config: dict, *, endpoint_key, endpoint,
                      endpoint_id: str | None = None) -> str | None:
        """Variants of one endpoint config (scenario); returns the endpoint kind the config gives.

        ``endpoint_id`` is the logical ID of the endpoint serving them: an ignore of a variant's
        finding may be declared there as well as on the config.
        """
        variants = config.get("ProductionVariants")
        is_async = "AsyncInferenceConfig" in config
        if not isinstance(variants, list):
            return None
        kind_of_config = None
        for index, item in enumerate(variants):
            if not isinstance(item, dict):
                continue
            name = self.value(item.get("VariantName"))
            display_name = _display(name) or f"#{index}"
            instance_type = literal(self.value(item.get("InstanceType")))
            serverless = "ServerlessConfig" in item
            kind = "serverless" if serverless else ("async" if is_async else "real-time")
            kind_of_config = kind
            managed = item.get("ManagedInstanceScaling")
            managed_enabled = isinstance(managed, dict) and self.value(managed.get("Status")) == "ENABLED"
            count = _number(self.value(item.get("InitialInstanceCount")))
            images_found = self.images_of(item["ModelName"]) if "ModelName" in item else []
            path = f"Properties.ProductionVariants[{display_name}]"
            location = self.resource_location(config_id, path, config, ["ProductionVariants", index])
            field_locations = {}
            if "InstanceType" in item:
                line, column = locate(config, ["ProductionVariants", index, "InstanceType"])
                field_locations["instance_type"] = location.at(path + ".InstanceType", line, column)
            self.model.variants.append(Variant(
                source=SOURCE,
                location=location,
                field_locations=field_locations,
                owners=(endpoint_id,) if endpoint_id else (),
                document_path=self.written_path(config_id, config, "Properties", "ProductionVariants", index),
                endpoint=endpoint,
                endpoint_key=endpoint_key,
                variant_name=display_name,
                variant_key=name,
                kind=kind,
                instance_count=int(count) if isinstance(count, (int, float)) else None,
                **catalog.instance_fields(instance_type),
                managed_instance_scaling=managed_enabled,
                **self.serverless_concurrency(item.get("ServerlessConfig")),
                hosts_inference_components=self.hosts_components(endpoint_key, name, item, serverless),
                images=images_found,
                cpu_only_image=images.cpu_only(images_found),
            ))
        return kind_of_config

    def serverless_concurrency(self, settings) -> dict:
        """``provisioned_concurrency`` and ``max_concurrency`` of a serverless variant (numbers, or None)."""
        settings = settings if isinstance(settings, dict) else {}
        return {field: int(value) if isinstance(value, (int, float)) else None for field, value in (
            ("provisioned_concurrency", _number(self.value(settings.get("ProvisionedConcurrency")))),
            ("max_concurrency", _number(self.value(settings.get("MaxConcurrency")))))}

    def hosts_components(self, endpoint_key, variant_name, item, serverless) -> bool:
        if serverless:
            return False
        if "ModelName" not in item and "InstanceType" in item:
            return True  # an inference-component endpoint: models come from its components
        return endpoint_key is not None and any(
            endpoint == endpoint_key and (variant is None or variant == variant_name)
            for _, endpoint, variant in self.components
        )

    def read_scalable_targets(self):
        for logical_id, properties in self.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
            resolve = self.value
            resource_id = resolve(properties.get("ResourceId"))
            dimension = literal(resolve(properties.get("ScalableDimension")))
            namespace = literal(resolve(properties.get("ServiceNamespace")))
            minimum = _number(resolve(properties.get("MinCapacity")))
            maximum = _number(resolve(properties.get("MaxCapacity")))
            actions = properties.get("ScheduledActions")
            location = self.resource_location(logical_id, "Properties")
            field_locations = {}
            for field_name, key in (("resource_id", "ResourceId"), ("min_capacity", "MinCapacity"),
                                    ("max_capacity", "MaxCapacity")):
                if key in properties:
                    line, column = locate(properties, [key])
                    field_locations[field_name] = location.at(f"Properties.{key}", line, column)
            if "SuspendedState" in properties:
                line, column = locate(properties, ["SuspendedState"])
                field_locations["suspended"] = location.at("Properties.SuspendedState", line, column)
            parsed = parse_target_resource_id(namespace, resource_id, dimension)
            self.model.scalable_targets.append(ScalableTarget(
                source=SOURCE,
                location=location,
                document_path=self.written_path(logical_id, properties),
                field_locations=field_locations,
                resource_id=_display(resource_id),
                namespace=namespace,
                dimension=dimension,
                min_capacity=minimum,
                max_capacity=maximum,
                scheduled_action_count=len(actions) if isinstance(actions, list) else 0,
                key=[("logical", logical_id), ("triple", resource_id, dimension, namespace)],
                suspended=self.suspended(properties.get("SuspendedState")),
                condition_off=self.condition_off(logical_id),
                **parsed,
            ))
            self.read_scheduled_actions(logical_id, properties, location, _display(resource_id))

    def suspended(self, state) -> str | None:
        """Which dynamic scaling a ``SuspendedState`` turns off, in words (``None``: none, or unknown)."""
        if not isinstance(state, dict):
            return None
        return scaling.suspended_text({flag: boolean(self.value(state.get(flag)))
                                       for _, flag in scaling.SUSPENSION_FLAGS})

    def condition_off(self, logical_id: str) -> str | None:
        """Why a resource does not exist by default: its ``Condition`` is false with the parameter defaults."""
        resource = self.resources.get(logical_id)
        name = resource.get("Condition") if isinstance(resource, dict) else None
        if not isinstance(name, str) or self.resolver.condition(name) is not False:
            return None
        defaults = self.resolver.condition_parameters(name)
        listed = ", ".join(f"{parameter} defaults to {json.dumps(default)}" for parameter, default in defaults.items())
        return f"condition {name} is true; it is false with the parameter defaults" + (f" ({listed})" if listed else "")

    def read_scheduled_actions(self, logical_id: str, properties: dict, location, resource_id):
        actions = properties.get("ScheduledActions")
        for index, action in enumerate(actions if isinstance(actions, list) else ()):
            if not isinstance(action, dict):
                continue
            resolve = self.value
            name = _display(resolve(action.get("ScheduledActionName"))) or f"#{index}"
            capacity = action.get("ScalableTargetAction") if isinstance(action.get("ScalableTargetAction"), dict) \
                else {}
            fields = {
                "schedule": literal(resolve(action.get("Schedule"))),
                "timezone": literal(resolve(action.get("Timezone"))),
                "start_time": literal(resolve(action.get("StartTime"))),
                "end_time": literal(resolve(action.get("EndTime"))),
                "min_capacity": _number(resolve(capacity.get("MinCapacity"))),
                "max_capacity": _number(resolve(capacity.get("MaxCapacity"))),
            }
            line, column = locate(properties, ["ScheduledActions", index])
            path = f"Properties.ScheduledActions[{name}]"
            self.model.scheduled_actions.append(ScheduledAction(
                source=SOURCE,
                location=location.at(path, line, column),
                document_path=self.written_path(logical_id, properties, "Properties", "ScheduledActions", index),
                name=name,
                resource_id=resource_id,
                problem=schedules.problem(**fields),
                **fields,
            ))

    def read_scaling_policies(self):
        for logical_id, properties in self.of_type("AWS::ApplicationAutoScaling::ScalingPolicy"):
            resolve = self.value
            policy_type = literal(resolve(properties.get("PolicyType")))
            target_key, resource_id, dimension, namespace = self.policy_target(properties)
            tracking = properties.get("TargetTrackingScalingPolicyConfiguration")
            tracking = tracking if isinstance(tracking, dict) else {}
            predefined = tracking.get("PredefinedMetricSpecification")
            metric_type = literal(resolve(predefined.get("PredefinedMetricType"))) \
                if isinstance(predefined, dict) else None
            location = self.resource_location(logical_id, "Properties")
            field_locations = {}
            config_path = ["TargetTrackingScalingPolicyConfiguration"]
            for field_name, path in (
                ("scale_in_cooldown", config_path + ["ScaleInCooldown"]),
                ("scale_out_cooldown", config_path + ["ScaleOutCooldown"]),
                ("metric_type", config_path + ["PredefinedMetricSpecification", "PredefinedMetricType"]),
                ("target_value", config_path + ["TargetValue"]),
            ):
                line, column = locate(properties, path)
                field_locations[field_name] = location.at("Properties." + ".".join(path), line, column)
            disable = resolve(tracking.get("DisableScaleIn"))
            customized = tracking.get("CustomizedMetricSpecification")
            customized = customized if isinstance(customized, dict) else {}
            step = properties.get("StepScalingPolicyConfiguration")
            step = step if isinstance(step, dict) else {}
            if step:
                line, column = locate(properties, ["StepScalingPolicyConfiguration"])
                field_locations["step_adjustments"] = location.at("Properties.StepScalingPolicyConfiguration",
                                                                  line, column)
            self.model.scaling_policies.append(ScalingPolicy(
                source=SOURCE,
                location=location,
                document_path=self.written_path(logical_id, properties),
                field_locations=field_locations,
                name=_display(resolve(properties.get("PolicyName"))) or logical_id,
                policy_type=policy_type,
                target_key=target_key,
                resource_id=_display(resource_id),
                namespace=namespace,
                dimension=dimension,
                metric_type=metric_type,
                customized_metric="CustomizedMetricSpecification" in tracking,
                target_value=_number(resolve(tracking.get("TargetValue"))),
                scale_in_cooldown=_number(resolve(tracking.get("ScaleInCooldown"))),
                scale_out_cooldown=_number(resolve(tracking.get("ScaleOutCooldown"))),
                scale_in_cooldown_defaulted="ScaleInCooldown" not in tracking,
                scale_out_cooldown_defaulted="ScaleOutCooldown" not in tracking,
                disable_scale_in=False if disable is None else boolean(disable),
                customized_metric_name=literal(resolve(customized.get("MetricName"))),
                customized_namespace=literal(resolve(customized.get("Namespace"))),
                customized_statistic=literal(resolve(customized.get("Statistic"))),
                customized_dimensions=self.dimension_names(customized.get("Dimensions")),
                adjustment_type=literal(resolve(step.get("AdjustmentType"))),
                metric_aggregation_type=literal(resolve(step.get("MetricAggregationType"))),
                step_adjustments=self.step_adjustments(step.get("StepAdjustments")) if step else None,
                key=("logical", logical_id),
                condition_off=self.condition_off(logical_id),
            ))

    def dimension_names(self, dimensions) -> list | None:
        if not isinstance(dimensions, list):
            return None
        names = [literal(self.value(item.get("Name"))) if isinstance(item, dict) else None for item in dimensions]
        return None if None in names else names

    def step_adjustments(self, steps) -> list | None:
        """``{"lower", "upper", "adjustment"}`` per step; ``None`` when any bound or adjustment is not a number."""
        if not isinstance(steps, list):
            return None
        read = []
        for step in steps:
            if not isinstance(step, dict):
                return None
            bounds = {}
            for name, key in (("lower", "MetricIntervalLowerBound"), ("upper", "MetricIntervalUpperBound"),
                              ("adjustment", "ScalingAdjustment")):
                value = _number(self.value(step[key])) if key in step else None
                if key in step and value is None:
                    return None
                bounds[name] = value
            read.append(bounds)
        return read

    def read_alarms(self):
        """CloudWatch alarms: which scaling policies their actions trigger, on which metric, in which direction."""
        for logical_id, properties in self.of_type("AWS::CloudWatch::Alarm"):
            actions = properties.get("AlarmActions")
            keys = []
            for action in actions if isinstance(actions, list) else ():
                value = self.value(action)
                if isinstance(value, Token) and value.kind == "ref":
                    keys.append(("logical", value.name))
                elif isinstance(value, str):
                    keys.append(value)  # an ARN: a policy of another stack
                else:
                    keys.append(None)
            self.model.alarms.append(Alarm(
                source=SOURCE,
                location=self.resource_location(logical_id, "Properties"),
                document_path=self.written_path(logical_id, properties),
                name=_display(self.value(properties.get("AlarmName"))) or logical_id,
                namespace=literal(self.value(properties.get("Namespace"))),
                metric_name=literal(self.value(properties.get("MetricName"))),
                dimensions=self.dimension_names(properties.get("Dimensions")) or [],
                comparison=literal(self.value(properties.get("ComparisonOperator"))),
                threshold=_number(self.value(properties.get("Threshold"))),
                action_keys=keys,
                actions_enabled=boolean(self.value(properties.get("ActionsEnabled", True))) is not False,
            ))

    def policy_target(self, properties):
        """(target key, resource id, dimension, namespace) of a policy, from either way of naming it."""
        resolve = self.value
        if "ScalingTargetId" in properties:
            target = resolve(properties["ScalingTargetId"])
            if isinstance(target, Token) and target.kind == "ref":
                return ("logical", target.name), None, None, None
            if isinstance(target, str) and target.count("|") == 2:
                resource_id, dimension, namespace = target.split("|")
                return ("triple", resource_id, dimension, namespace), resource_id, dimension, namespace
            return None, None, None, None
        resource_id = resolve(properties.get("ResourceId"))
        dimension = resolve(properties.get("ScalableDimension"))
        namespace = resolve(properties.get("ServiceNamespace"))
        return ("triple", resource_id, dimension, namespace), resource_id, literal(dimension), literal(namespace)

    def read_training_jobs(self):
        dialect = CloudFormationDialect(self.resolver)
        for logical_id, properties in self.of_type("AWS::SageMaker::TrainingJob"):
            self.model.training_jobs.append(training_job(
                properties,
                dialect,
                source=SOURCE,
                location=self.resource_location(logical_id, "Properties"),
                request_path=[],
                position=lambda path, node=properties: locate(node, path),
                container="AWS::SageMaker::TrainingJob",
                label=logical_id,
                document_path=self.written_path(logical_id, properties, "Properties"),
            ))

    # -- embedded definitions -------------------------------------------------------------------

    def read_state_machines(self):
        for logical_id, properties in self.of_type("AWS::StepFunctions::StateMachine",
                                                   "AWS::Serverless::StateMachine"):
            for key in ("Definition", "DefinitionString"):
                if key not in properties:
                    continue
                embedded = self.embedded(properties, key)
                if embedded is None or not stepfunctions.is_state_machine(embedded[0]):
                    continue
                definition, position, inline = embedded
                location = self.resource_location(logical_id, f"Properties.{key}")
                where = self.written_path(logical_id, properties, "Properties", key)
                paths = _definition_paths(where, inline)
                self.model.training_jobs.extend(stepfunctions.training_jobs(
                    definition, location=location, position=position, machine=logical_id, **paths))
                self.model.extend(statemachine_hosting.hosting(
                    definition, location=location, position=position, machine=logical_id, **paths))

    def read_pipelines(self):
        for logical_id, properties in self.of_type("AWS::SageMaker::Pipeline"):
            holder = properties.get("PipelineDefinition")
            if not isinstance(holder, dict) or "PipelineDefinitionBody" not in holder:
                continue
            embedded = self.embedded(holder, "PipelineDefinitionBody")
            if embedded is None or not pipelines.is_pipeline(embedded[0]):
                continue
            definition, position, inline = embedded
            location = self.resource_location(logical_id, "Properties.PipelineDefinition.PipelineDefinitionBody")
            where = self.written_path(logical_id, properties, "Properties", "PipelineDefinition",
                                      "PipelineDefinitionBody")
            self.model.training_jobs.extend(pipelines.training_jobs(
                definition, location=location, position=position, pipeline=logical_id,
                **_definition_paths(where, inline)))

    def embedded(self, holder: dict, key: str):
        """A definition given as an object or a JSON string: (definition, paths -> lines, inline path).

        The inline path is where the object sits under ``key`` (``()``, or ``("Fn::ToJsonString",)`` for
        a definition written as YAML and turned into JSON by the language extensions), ``None`` for a
        string. Returns None when the definition cannot be read without deploying (an unresolvable string).
        """
        value = holder[key]
        key_line, key_column = locate(holder, [key])
        body = value.get("Fn::ToJsonString") if isinstance(value, dict) and len(value) == 1 else None
        if isinstance(body, dict):
            return body, lambda path: locate(body, path) if path else (key_line, key_column), ("Fn::ToJsonString",)
        if isinstance(value, dict) and not is_intrinsic(value):
            return value, lambda path: locate(value, path) if path else (key_line, key_column), ()
        pieces, mark = self.json_pieces(holder, key)
        if pieces is None:
            return None
        try:
            inner = parse(_render_json(pieces), syntax="json")
        except DocumentError:
            return None
        if not isinstance(inner, dict):
            return None
        return inner, self.string_position(inner, mark, (key_line, key_column)), None

    def json_pieces(self, holder: dict, key: str):
        """The pieces of a JSON string (raw text and resolved values), and the mark of its text."""
        value = holder[key]
        mark = mark_of(holder, [key])
        if isinstance(value, str):
            return [value], mark
        if not isinstance(value, dict) or len(value) != 1:
            return None, None
        (function, argument), = value.items()
        if function == "Fn::Sub":
            variables = {}
            if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
                mark = argument.marks[0] if isinstance(argument, Sequence) and argument.marks else None
                argument, variables = argument
            elif isinstance(value, Mapping):
                mark = value.marks.get("Fn::Sub")
            if not isinstance(argument, str):
                return None, None
            parts = self.resolver.sub_parts(argument, variables)
            return [piece if kind == "text" else _Resolved(scalar(piece)) for kind, piece in parts], mark
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            delimiter, items = argument
            if not isinstance(delimiter, str) or not isinstance(items, list):
                return None, None
            pieces = []
            for index, item in enumerate(items):
                if index:
                    pieces.append(delimiter)
                pieces.append(item if isinstance(item, str) else _Resolved(self.value(item)))
            return pieces, None
        return None, None

    def string_position(self, inner, mark, fallback):
        """Map a path in a JSON string to the file: exact for ``|`` block scalars, else the key's line."""
        if mark is None or mark.style not in ("|", ">"):
            return lambda path: fallback
        first_line = mark.value_line + 1
        text_line = self.lines[first_line - 1] if 0 < first_line <= len(self.lines) else ""
        indent = len(text_line) - len(text_line.lstrip(" "))

        def position(path):
            line, column = locate(inner, path)
            return mark.value_line + line, indent + column

        return position

    # -- suppressions ---------------------------------------------------------------------------

    def read_suppressions(self):
        location = suppressions.locator(self.scope, self.file, self.document)
        self.model.suppressions.extend(suppressions.read(self.document, [], location))
        for logical_id, resource in self.resources.items():
            self.model.suppressions.extend(suppressions.read(resource, ["Resources", logical_id], location))


def _definition_paths(where: tuple, inline: tuple | None) -> dict:
    """``base_path``/``definition_path`` of the jobs in a definition at ``where`` (``()``: not where fixes can go),
    written inline at ``inline`` under it, or in a string (``None``)."""
    if not where:
        return {"base_path": None, "definition_path": None}
    if inline is None:
        return {"base_path": (), "definition_path": where}
    return {"base_path": where + inline, "definition_path": None}


class _Resolved:
    """A resolved value spliced into JSON text (see :func:`_render_json`)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _render_json(pieces) -> str:
    """Splice resolved values into JSON text, keeping it valid JSON.

    A known value inside a JSON string is inserted as escaped text; outside one, as a JSON literal.
    An unknown value becomes the placeholder ``${...}``, quoted when it stands outside a string, so
    the document still parses and readers see a value they know to be unknown.
    """
    out: list[str] = []
    in_string = False
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
            in_string = ends_inside_string(piece, in_string)
            continue
        value = piece.value
        if isinstance(value, (Token, Text)):
            placeholder = str(value)
            out.append(json.dumps(placeholder)[1:-1] if in_string else json.dumps(placeholder))
        elif in_string:
            out.append(json.dumps(str(value).lower() if isinstance(value, bool) else str(value))[1:-1])
        else:
            out.append(json.dumps(value) if isinstance(value, (bool, int, float)) else json.dumps(str(value)))
    return "".join(out)
