"""The fixers of the template rules: a finding and its file in, a :class:`~auditor.fixers.edits.Fix` out.

Each fixer reads what the finding's model object says about the resource and the file's own nodes
(the endpoint's logical ID, how the variant name is written, the job's output path), and returns
edits in the file's style, or ``None`` when the right change cannot be known from the template (a
name only known at deployment, a value chosen by ``Fn::If``, a metric with several candidates):
the finding then stays for a person, as the rule's docs describe.

Defaults of what a fix writes (capacity range, target values, the spot wait multiple) are rule
parameters, documented in each rule file and set in the configuration like any other parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property

from .. import rightsizing, scaling, scaling_fixes
from ..model import (
    AutoScalingGroup,
    ProvisionedConcurrency,
    ScalableTarget,
    ScalingPolicy,
    Suppression,
    TrainingJob,
    TransformJob,
    Variant,
)
from . import embedded
from .edits import SAFE, UNSAFE, Fix
from .render import get_att, ref, sub
from .source import SourceFile, Unfixable

TARGET_TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"
POLICY_TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"


class _Context:
    """One file being fixed: its text and tree, model, the rule parameters, the logical IDs taken so far."""

    def __init__(self, text: str, read, params: dict):
        self.source = SourceFile(text, read.document, read.syntax)
        self.model = read.model
        self.params = params
        resources = read.document.get("Resources") if isinstance(read.document, dict) else None
        self.resources = resources if isinstance(resources, dict) else {}
        self.taken = set(self.resources)

    def param(self, rule_id: str, name: str):
        return self.params[rule_id][name]

    @cached_property
    def blank_lines_between_resources(self) -> bool:
        """Whether the file separates its resources with blank lines (new ones follow suit). Read once per
        file: it scans all of Resources, and every resource a fix adds asks."""
        resources = self.resources
        if self.source.syntax != "yaml" or len(resources) < 2 or not hasattr(resources, "marks"):
            return False
        starts = [mark.key_start for mark in resources.marks.values()]
        text = self.source.text
        between = [text[self.source.line_start(first):second] for first, second in zip(starts, starts[1:])]
        return all(re.search(r"\n[ \t]*\r?\n", gap) for gap in between)

    def fresh_id(self, *parts: str) -> str:
        """A logical ID from ``parts`` (letters and digits only) that no resource has yet."""
        base = _identifier(*parts)
        name, counter = base, 2
        while name in self.taken:
            name, counter = f"{base}{counter}", counter + 1
        self.taken.add(name)
        return name


def _identifier(*parts: str) -> str:
    return "".join(re.sub(r"[^A-Za-z0-9]", "", part[:1].upper() + part[1:]) for part in parts if part)


UNKNOWN_CHANGE = "the right change cannot be known from the template alone"
NO_ENDPOINT = "the variant's endpoint is not in this template"
ONE_BRANCH = "it is read from one branch of an Fn::If, or from a file other than this one"


def fixes(findings: list, text: str, read, params: dict, unfixed: dict | None = None) -> list[Fix]:
    """The fixes available for ``findings`` of one file (``params``: rule id -> parameters, defaults included).

    ``unfixed`` (when given) receives, for each finding whose rule has a fix but that no fix here resolves,
    why (finding identity -> reason), so a user learns why a fixable rule's finding is left as it is.
    """
    context = _Context(text, read, params)
    unfixed = {} if unfixed is None else unfixed
    found = []
    for finding in findings:
        fixer = FIXERS.get(finding.rule_id)
        if fixer is None or finding.fix is None or finding.fix["safety"] not in (SAFE, UNSAFE):
            continue
        if not getattr(finding.model_object, "document_path", ()):
            unfixed[finding.identity] = ONE_BRANCH  # nowhere to write
            continue
        try:
            fix = fixer(finding, context)
        except Unfixable as reason:
            unfixed[finding.identity] = str(reason)
            continue
        if fix is None:
            unfixed[finding.identity] = UNKNOWN_CHANGE
        else:
            found.append(fix)
    return found


def _fix(finding, description: str, *edits) -> Fix:
    return Fix(finding=finding, safety=finding.fix["safety"], edits=tuple(edits), description=description)


# -- how names are written ---------------------------------------------------------------------------------------


def _name_in_sub(context: _Context, path) -> str:
    """A name property as a piece of a ``Fn::Sub`` string, the way the template builds it: a literal,
    ``${Param}``, ``${Resource.Attribute}``, or the text of its own ``!Sub``; else :class:`Unfixable`."""
    value = context.source.node(path)
    if isinstance(value, str) and "${" not in value:
        return value
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref" and argument in context.source.document.get("Parameters", {}):
            return "${%s}" % argument
        if function == "Fn::GetAtt" and isinstance(argument, list) and len(argument) == 2 \
                and all(isinstance(part, str) for part in argument):
            return "${%s.%s}" % tuple(argument)
        if function == "Fn::Sub" and isinstance(argument, str):
            return argument
    raise Unfixable("the name is built in a way a ResourceId cannot reuse")


def _literal_count(context: _Context, path) -> int:
    """A count written as a number: from a parameter it could be anything at deployment, and no
    MaxCapacity written now would be sure to stay above it."""
    value = context.source.node(path)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise Unfixable("the count is not a number written in the template")


def _add_scaling(finding, context: _Context, target_id: str, target: dict, policy_id: str, name: str,
                 configuration: dict) -> Fix:
    """Add a scalable target and its target-tracking policy as new resources, in the file's spacing."""
    edit = context.source.add_entries(("Resources",), {
        target_id: target, policy_id: _policy(target_id, name, configuration)},
        separate=context.blank_lines_between_resources)
    capacity = target["Properties"]
    return _fix(finding, f"add {target_id} and {policy_id} ({name}, {capacity['MinCapacity']}.."
                f"{capacity['MaxCapacity']})", edit)


def _target(namespace: str, dimension: str, resource_id: str, minimum: int, maximum: int,
            depends_on: str | None = None) -> dict:
    """A scalable target resource, the one shape every fix that adds scaling writes."""
    return {"Type": TARGET_TYPE, **({"DependsOn": depends_on} if depends_on else {}), "Properties": {
        "ServiceNamespace": namespace,
        "ScalableDimension": dimension,
        "ResourceId": _sub_if_needed(resource_id),
        "MinCapacity": minimum,
        "MaxCapacity": maximum,
    }}


def _sub_if_needed(text: str) -> str | dict:
    """``text`` as a ``Fn::Sub`` when it refers to a parameter or resource (``${...}``), else as the literal."""
    return sub(text) if "${" in text else text


def _add_variant_scaling(finding, context: _Context, variant: Variant, endpoint_id: str, dimension: str,
                         minimum: int, maximum: int, ids: tuple[str, str]) -> Fix:
    """A scalable target on ``variant`` of endpoint ``endpoint_id`` (its ResourceId naming the variant the way
    the template does) and the policy for the variant's kind, with logical IDs ending in ``ids``: what SW101
    and SW404 add, on two dimensions of one variant."""
    variant_name = _name_in_sub(context, variant.document_path + ("VariantName",))
    target = _target("sagemaker", dimension, f"endpoint/${{{endpoint_id}.EndpointName}}/variant/{variant_name}",
                     minimum, maximum)
    prefix = _identifier(endpoint_id, variant.variant_name or "")
    target_id, policy_id = (context.fresh_id(prefix, suffix) for suffix in ids)
    name, configuration = _variant_policy(context, variant.kind, endpoint_id)
    return _add_scaling(finding, context, target_id, target, policy_id, name, configuration)


def _policy(target_id: str, name: str, configuration: dict) -> dict:
    return {"Type": POLICY_TYPE, "Properties": {
        "PolicyName": name,
        "PolicyType": "TargetTrackingScaling",
        "ScalingTargetId": ref(target_id),
        "TargetTrackingScalingPolicyConfiguration": configuration,
    }}


def _variant_policy(context: _Context, kind: str, endpoint_id: str | None) -> tuple[str, dict]:
    try:
        return scaling_fixes.variant_policy(context.params, kind,
                                            get_att(endpoint_id, "EndpointName") if endpoint_id else None)
    except ValueError as error:
        raise Unfixable(str(error)) from None


# -- SW101: endpoint without autoscaling ---------------------------------------------------------------------------


def fix_endpoint_without_autoscaling(finding, context: _Context) -> Fix | None:
    subject = finding.model_object
    if isinstance(subject, Variant):
        if subject.hosts_inference_components:
            return _managed_instance_scaling(finding, context, subject)
        if subject.burstable:
            raise Unfixable("ml.t2 variants cannot be registered for autoscaling; moving the variant off ml.t2 is "
                            "SW302's fix (--unsafe-fixes)")
        if subject.conditional_scaling:
            raise Unfixable(f"its scaling exists behind a condition ({subject.conditional_scaling}); turning it on "
                            "is the owner's decision")
        if subject.source != "cloudformation":
            raise Unfixable("the endpoint is created at run time by a state machine: its scaling belongs in that "
                            "state machine")
        return _variant_target(finding, context, subject)
    return _component_target(finding, context, subject)


def _variant_target(finding, context: _Context, variant: Variant) -> Fix:
    endpoint_id = endpoint_id_of(variant)
    if endpoint_id is None or variant.kind not in ("real-time", "async"):
        raise Unfixable(NO_ENDPOINT)
    minimum = _literal_count(context, variant.document_path + ("InitialInstanceCount",))
    maximum = scaling_fixes.max_capacity(context.params, minimum)
    return _add_variant_scaling(finding, context, variant, endpoint_id, scaling.VARIANT_INSTANCES, minimum, maximum,
                                ("ScalableTarget", "ScalingPolicy"))


def _managed_instance_scaling(finding, context: _Context, variant: Variant) -> Fix:
    minimum = _literal_count(context, variant.document_path + ("InitialInstanceCount",))
    maximum = scaling_fixes.max_capacity(context.params, minimum)
    settings = {"Status": "ENABLED", "MinInstanceCount": minimum, "MaxInstanceCount": maximum}
    path = variant.document_path
    if "ManagedInstanceScaling" in context.source.node(path):
        edit = context.source.replace_value(path + ("ManagedInstanceScaling",), settings)
    else:
        edit = context.source.add_entries(path, {"ManagedInstanceScaling": settings})
    return _fix(finding, f"enable ManagedInstanceScaling on variant {variant.variant_name} ({minimum}..{maximum})",
                edit)


def _component_target(finding, context: _Context, component) -> Fix:
    logical_id = component.location.resource
    path = component.document_path + ("Properties",)
    name = _name_in_sub(context, path + ("InferenceComponentName",))
    runtime = context.source.node(path).get("RuntimeConfig")
    minimum = _literal_count(context, path + ("RuntimeConfig", "CopyCount")) \
        if isinstance(runtime, dict) and "CopyCount" in runtime else 1
    target_id = context.fresh_id(logical_id, "ScalableTarget")
    policy_id = context.fresh_id(logical_id, "ScalingPolicy")
    target = _target("sagemaker", scaling.COMPONENT_COPIES, f"inference-component/{name}", minimum,
                     scaling_fixes.max_capacity(context.params, minimum), depends_on=logical_id)
    name, configuration = scaling_fixes.component_policy(context.params)
    return _add_scaling(finding, context, target_id, target, policy_id, name, configuration)


# -- SW102: target without policy ------------------------------------------------------------------------------


def fix_target_without_policy(finding, context: _Context) -> Fix | None:
    target: ScalableTarget = finding.model_object
    logical_id = target.location.resource
    if target.dimension == scaling.COMPONENT_COPIES:
        name, configuration = scaling_fixes.component_policy(context.params)
    elif target.dimension in (scaling.VARIANT_INSTANCES, scaling.VARIANT_PROVISIONED_CONCURRENCY):
        variants = [v for v in context.model.variants
                    if v.endpoint_key is not None and v.endpoint_key == target.endpoint_key]
        kinds = {v.kind for v in variants}
        if len(kinds) != 1 or None in kinds:
            raise Unfixable("the endpoint is not in this template, or its variants differ in kind: no single metric "
                            "is right")
        kind = kinds.pop()
        if (kind == "serverless") != (target.dimension == scaling.VARIANT_PROVISIONED_CONCURRENCY):
            return None
        name, configuration = _variant_policy(context, kind, endpoint_id_of(variants[0]))
    else:
        return None
    policy_id = context.fresh_id(logical_id, "ScalingPolicy")
    edit = context.source.add_entries(("Resources",), {policy_id: _policy(logical_id, name, configuration)},
                                      separate=context.blank_lines_between_resources)
    return _fix(finding, f"add {policy_id} ({name}) on {logical_id}", edit)


# -- SW104: unbalanced cooldowns --------------------------------------------------------------------------------


def fix_unbalanced_cooldowns(finding, context: _Context) -> Fix | None:
    policy: ScalingPolicy = finding.model_object
    if not isinstance(policy.scale_out_cooldown, int):
        return None
    path = policy.document_path + ("Properties", "TargetTrackingScalingPolicyConfiguration")
    configuration = context.source.node(path)
    if "ScaleInCooldown" in configuration:
        edit = context.source.replace_value(path + ("ScaleInCooldown",), policy.scale_out_cooldown)
    else:
        edit = context.source.add_entries(path, {"ScaleInCooldown": policy.scale_out_cooldown})
    return _fix(finding, f"set ScaleInCooldown of {policy.location.resource} to {policy.scale_out_cooldown}", edit)


# -- SW105: a metric that cannot drive the target ----------------------------------------------------------------


def fix_invalid_scaling_metric(finding, context: _Context) -> Fix | None:
    policy: ScalingPolicy = finding.model_object
    correction = scaling.metric_correction(policy.metric_type, policy.dimension, policy.target_value)
    if correction is None:
        return None
    return _corrected_metric(finding, context, policy, *correction)


def _corrected_metric(finding, context: _Context, policy: ScalingPolicy, field_name: str, value) -> Fix:
    """A :func:`~auditor.scaling.metric_correction` written into the policy: SW105 and SW403 write it alike."""
    path = policy.document_path + ("Properties", "TargetTrackingScalingPolicyConfiguration")
    if field_name == "metric_type":
        path += ("PredefinedMetricSpecification", "PredefinedMetricType")
    else:
        path += ("TargetValue",)
    return _fix(finding, f"set {path[-1]} of {policy.location.resource} to {value}",
                context.source.replace_value(path, value))


# -- SW402 / SW403: Lambda provisioned concurrency -----------------------------------------------------------


def fix_concurrency_without_autoscaling(finding, context: _Context) -> Fix:
    """A target on ``function:<name>:<qualifier>`` from the configured count (MinCapacity stays there:
    lowering it is what saves money at night, and a capacity change is not a safe fix) and a policy
    tracking LambdaProvisionedConcurrencyUtilization. The target depends on the alias, which must exist
    before Application Auto Scaling can register it."""
    concurrency: ProvisionedConcurrency = finding.model_object
    logical_id = concurrency.location.resource
    resource = context.resources[logical_id]
    path = concurrency.document_path + ("Properties",)
    if "ProvisionedConcurrencyConfig" not in context.source.node(path):
        raise Unfixable("its provisioned concurrency comes from the template's Globals: scaling it is a choice "
                        "for every function that inherits it")
    minimum = _literal_count(context, path + ("ProvisionedConcurrencyConfig", "ProvisionedConcurrentExecutions"))
    if resource.get("Type") == "AWS::Serverless::Function":
        alias = context.source.node(path + ("AutoPublishAlias",))
        if not isinstance(alias, str) or not re.fullmatch(r"[A-Za-z0-9]+", alias):
            raise Unfixable("the alias SAM publishes is not a literal name")
        properties = context.source.node(path)
        function = _name_in_sub(context, path + ("FunctionName",)) if "FunctionName" in properties \
            else "${%s}" % logical_id
        qualifier, depends_on = alias, f"{logical_id}Alias{alias}"  # the alias's logical ID in SAM's output
    else:
        function = _function_name_in_sub(context, path + ("FunctionName",))
        if resource.get("Type") == "AWS::Lambda::Version":
            qualifier, depends_on = "${%s.Version}" % logical_id, None
        else:
            qualifier, depends_on = _name_in_sub(context, path + ("Name",)), logical_id
    resource_id = f"function:{function}:{qualifier}"
    target_id = context.fresh_id(logical_id, "ConcurrencyTarget")
    policy_id = context.fresh_id(logical_id, "ConcurrencyPolicy")
    target = _target("lambda", scaling.LAMBDA_CONCURRENCY, resource_id, minimum,
                     scaling_fixes.max_capacity(context.params, minimum), depends_on=depends_on)
    name, configuration = scaling_fixes.concurrency_policy(context.params)
    return _add_scaling(finding, context, target_id, target, policy_id, name, configuration)


def _function_name_in_sub(context: _Context, path) -> str:
    """A ``FunctionName`` property as a piece of a ``function:<name>:...`` ResourceId: ``!Ref Function`` and
    ``!GetAtt Function.Arn`` of a function in the template become ``${Function}`` (its name)."""
    value = context.source.node(path)
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        target = argument if function == "Ref" else (
            argument[0] if function == "Fn::GetAtt" and isinstance(argument, list) and argument[1:] == ["Arn"]
            else None)
        if isinstance(target, str) and context.resources.get(target, {}).get("Type") in \
                ("AWS::Lambda::Function", "AWS::Serverless::Function"):
            return "${%s}" % target
    if isinstance(value, str) and value.startswith("arn:"):
        raise Unfixable("the function is named by its ARN")
    return _name_in_sub(context, path)


def fix_invalid_concurrency_scaling(finding, context: _Context) -> Fix:
    """Only a percentage written for LambdaProvisionedConcurrencyUtilization's fraction has one right answer (as
    ``sagewise remediate`` applies it live): a step policy or a SageMaker metric needs the policy rewritten, an
    alias on $LATEST a version published, and a ResourceId naming no alias its author."""
    policy = finding.model_object
    if not isinstance(policy, ScalingPolicy):
        raise Unfixable("provisioned concurrency and its target must name a published alias or version: which one "
                        "is the author's choice")
    correction = scaling.metric_correction(policy.metric_type, policy.dimension, policy.target_value)
    if policy.metric_type != scaling.LAMBDA_UTILIZATION or correction is None or correction[0] != "target_value":
        raise Unfixable(f"only a percentage target of {scaling.LAMBDA_UTILIZATION} has one right fix; this policy "
                        "needs target tracking on that metric, its TargetValue a fraction of 1 (0.7 for 70 %)")
    return _corrected_metric(finding, context, policy, *correction)


# -- SW404: serverless provisioned concurrency -------------------------------------------------------------------


def fix_serverless_concurrency_without_autoscaling(finding, context: _Context) -> Fix:
    """A target from the variant's provisioned concurrency up to its MaxConcurrency (the service's ceiling
    for it), tracking SageMakerVariantProvisionedConcurrencyUtilization."""
    variant: Variant = finding.model_object
    endpoint_id = endpoint_id_of(variant)
    if endpoint_id is None:
        raise Unfixable(NO_ENDPOINT)
    settings = variant.document_path + ("ServerlessConfig",)
    try:
        minimum, maximum = scaling_fixes.serverless_capacity(
            context.params, _literal_count(context, settings + ("ProvisionedConcurrency",)),
            _literal_count(context, settings + ("MaxConcurrency",)))
    except ValueError as error:
        raise Unfixable(str(error)) from None
    return _add_variant_scaling(finding, context, variant, endpoint_id, scaling.VARIANT_PROVISIONED_CONCURRENCY,
                                minimum, maximum, ("ConcurrencyTarget", "ConcurrencyPolicy"))


# -- SW501 / SW503: Spot Auto Scaling groups ---------------------------------------------------------------------

INSTANCE_REPLACING_UPDATES = ("AutoScalingRollingUpdate", "AutoScalingReplacingUpdate")


def fix_spot_lowest_price(finding, context: _Context) -> Fix:
    """Write the allocation strategy (and drop ``SpotInstancePools``, which only ``lowest-price`` accepts). The
    strategy governs launches from then on; a group whose update policy may replace its instances when its
    instance settings change is left to its owner."""
    group: AutoScalingGroup = finding.model_object
    update_policy = context.resources[group.location.resource].get("UpdatePolicy")
    update_policy = update_policy if isinstance(update_policy, dict) else {}
    replacing = [name for name in INSTANCE_REPLACING_UPDATES if name in update_policy]
    if replacing:
        raise Unfixable(f"its UpdatePolicy ({', '.join(replacing)}) may replace its instances when their settings "
                        "change: when to take that is its owner's decision")
    path = group.document_path + ("Properties", "MixedInstancesPolicy", "InstancesDistribution")
    distribution = context.source.node(path)
    if "SpotAllocationStrategy" not in distribution:
        edits = [context.source.add_entries(path, {"SpotAllocationStrategy": scaling_fixes.SPOT_ALLOCATION})]
    elif isinstance(distribution["SpotAllocationStrategy"], str):
        edits = [context.source.replace_value(path + ("SpotAllocationStrategy",), scaling_fixes.SPOT_ALLOCATION)]
    else:
        raise Unfixable("the strategy is chosen by a parameter or condition: the change belongs where it is chosen")
    if "SpotInstancePools" in distribution:
        edits.append(context.source.delete(path + ("SpotInstancePools",)))
    return _fix(finding, f"set the Spot allocation strategy of {group.name} to {scaling_fixes.SPOT_ALLOCATION}", *edits)


def fix_spot_without_capacity_rebalance(finding, context: _Context) -> Fix | None:
    group: AutoScalingGroup = finding.model_object
    path = group.document_path + ("Properties",)
    properties = context.source.node(path)
    if "CapacityRebalance" not in properties:
        edit = context.source.add_entries(path, {"CapacityRebalance": True})
    elif isinstance(properties["CapacityRebalance"], (bool, str)):
        edit = context.source.replace_value(path + ("CapacityRebalance",), True)
    else:
        return None
    return _fix(finding, f"turn on CapacityRebalance for {group.name}", edit)


# -- SW106: a ResourceId that names nothing ----------------------------------------------------------------------


def fix_malformed_resource_id(finding, context: _Context) -> Fix | None:
    """Rebuild a ResourceId that refers to the right resource the wrong way (an endpoint's ARN, an
    attribute components do not have). A ResourceId that names a variant the endpoint does not have is
    left alone: it may be meant for a variant another deployment adds."""
    target: ScalableTarget = finding.model_object
    path = target.document_path + ("Properties", "ResourceId")
    written = context.source.node(path)
    if target.dimension == scaling.COMPONENT_COPIES:
        return _component_resource_id(finding, context, written, path)
    if target.dimension != scaling.VARIANT_INSTANCES or not isinstance(written, dict) or set(written) != {"Fn::Sub"}:
        return None
    template = written["Fn::Sub"]
    match = re.fullmatch(r"endpoint/\$\{([A-Za-z0-9]+)\}/variant/([A-Za-z0-9-]+)", template) \
        if isinstance(template, str) else None
    if match is None or context.resources.get(match.group(1), {}).get("Type") != "AWS::SageMaker::Endpoint":
        return None
    endpoint_id, variant_name = match.groups()
    names = {v.variant_key for v in context.model.variants if endpoint_id_of(v) == endpoint_id}
    if variant_name not in names:
        return None
    value = sub(f"endpoint/${{{endpoint_id}.EndpointName}}/variant/{variant_name}")
    return _fix(finding, f"use {endpoint_id}.EndpointName, not its ARN, in the ResourceId of "
                f"{target.location.resource}", context.source.replace_value(path, value))


def endpoint_id_of(variant: Variant) -> str | None:
    return variant.owners[0] if variant.owners else None


def _component_resource_id(finding, context: _Context, written, path) -> Fix | None:
    match = re.search(r"\$\{([A-Za-z0-9]+)(?:\.InferenceComponentName)?\}", str(written))
    if not match or context.resources.get(match.group(1), {}).get("Type") != "AWS::SageMaker::InferenceComponent":
        return None
    component = match.group(1)
    name = _name_in_sub(context, ("Resources", component, "Properties", "InferenceComponentName"))
    return _fix(finding, f"rebuild the ResourceId from {component}'s InferenceComponentName",
                context.source.replace_value(path, _sub_if_needed(f"inference-component/{name}")))


# -- SW201 / SW202: spot training ---------------------------------------------------------------------------------


def fix_spot_without_checkpoints(finding, context: _Context) -> Fix | None:
    job: TrainingJob = finding.model_object
    request = embedded.request_source(context.source, job)
    output = request.node(job.document_path + ("OutputDataConfig",)).get("S3OutputPath")
    uri = _checkpoint_uri(output)
    if uri is None:
        return None
    checkpoint = job.document_path + ("CheckpointConfig",)
    if "CheckpointConfig" in request.node(job.document_path):
        edit = request.add_entries(checkpoint, {"S3Uri": uri})
    else:
        edit = request.add_entries(job.document_path, {"CheckpointConfig": {"S3Uri": uri}})
    return _fix(finding, f"add CheckpointConfig.S3Uri under the job's output path to {job.name}", *edit)


def _checkpoint_uri(output):
    """``<S3OutputPath>/checkpoints/`` when the output path is a literal or a ``Fn::Sub`` string."""
    if isinstance(output, str) and output.startswith("s3://"):
        return output.rstrip("/") + "/checkpoints/"
    if isinstance(output, dict) and set(output) == {"Fn::Sub"} and isinstance(output["Fn::Sub"], str):
        return sub(output["Fn::Sub"].rstrip("/") + "/checkpoints/")
    return None


def fix_spot_without_max_wait(finding, context: _Context) -> Fix | None:
    """A wait of ``fix_max_wait_multiple`` times the run time (at most 28 days, never below the run time)."""
    job: TrainingJob = finding.model_object
    request = embedded.request_source(context.source, job)
    stopping = job.document_path + ("StoppingCondition",)
    has_stopping = "StoppingCondition" in request.node(job.document_path)
    written_runtime = has_stopping and "MaxRuntimeInSeconds" in request.node(stopping)
    if written_runtime and job.max_runtime_seconds is None:
        raise Unfixable("the run time is chosen at run time: the wait cannot be derived from it")
    runtime = job.max_runtime_seconds if written_runtime else scaling_fixes.DEFAULT_RUNTIME_SECONDS
    wait = scaling_fixes.max_wait_seconds(context.params, runtime)
    if not has_stopping:
        edits = request.add_entries(job.document_path, {"StoppingCondition": {
            "MaxRuntimeInSeconds": runtime, "MaxWaitTimeInSeconds": wait}})
    elif "MaxWaitTimeInSeconds" in request.node(stopping):
        edits = request.replace_value(stopping + ("MaxWaitTimeInSeconds",), wait)
    else:
        edits = request.add_entries(stopping, {"MaxWaitTimeInSeconds": wait})
    return _fix(finding, f"set MaxWaitTimeInSeconds of {job.name} to {wait}", *edits)


# -- SW301 / SW302: instance types (unsafe) -----------------------------------------------------------------------


def fix_oversized_instance(finding, context: _Context) -> Fix | None:
    variant = finding.model_object
    if not isinstance(variant, Variant) or not isinstance(variant.instance_type, str):
        return None
    suggestion = rightsizing.suggested_type(variant, context.param("SW301", "max_instance_size"))
    if suggestion is None:
        return None
    return _instance_type(finding, context, variant, suggestion)


def fix_previous_generation(finding, context: _Context) -> Fix | None:
    subject = finding.model_object
    if not isinstance(subject.suggested_instance_type, str):
        return None
    return _instance_type(finding, context, subject, subject.suggested_instance_type)


INSTANCE_TYPE_PATH = {
    TrainingJob: ("ResourceConfig", "InstanceType"),
    TransformJob: ("TransformResources", "InstanceType"),
    Variant: ("InstanceType",),
}
"""Where each kind of object writes its instance type, under its own document path."""


def _instance_type(finding, context: _Context, subject, suggestion: str) -> Fix | None:
    request = embedded.request_source(context.source, subject)
    path = subject.document_path + INSTANCE_TYPE_PATH[type(subject)]
    if not isinstance(request.node(path), str):
        raise Unfixable("the instance type comes from a parameter or mapping: the change belongs where it is chosen")
    what = f"variant {subject.variant_name}" if isinstance(subject, Variant) else subject.name
    return _fix(finding, f"change {what} from {subject.instance_type} to {suggestion}",
                *request.replace_value(path, suggestion))


# -- SW001: unused suppression -------------------------------------------------------------------------------------


def fix_unused_suppression(finding, context: _Context) -> Fix:
    """No checks here: only the engine reports SW001, always on a :class:`Suppression`, and :func:`fixes` turns
    away one with no document path."""
    suppression: Suppression = finding.model_object
    path = suppression.document_path
    entries = context.source.node(path[:-1])
    if len(entries) > 1:
        edit = context.source.delete(path)
    else:
        metadata = context.source.node(path[:-3])
        edit = context.source.delete(path[:-2] if len(metadata) > 1 else path[:-3])
    return _fix(finding, f"remove the unused ignore of {suppression.rule}", edit)


FIXERS: dict[str, Callable] = {
    "SW001": fix_unused_suppression,
    "SW101": fix_endpoint_without_autoscaling,
    "SW102": fix_target_without_policy,
    "SW104": fix_unbalanced_cooldowns,
    "SW105": fix_invalid_scaling_metric,
    "SW106": fix_malformed_resource_id,
    "SW201": fix_spot_without_checkpoints,
    "SW202": fix_spot_without_max_wait,
    "SW301": fix_oversized_instance,
    "SW302": fix_previous_generation,
    "SW402": fix_concurrency_without_autoscaling,
    "SW403": fix_invalid_concurrency_scaling,
    "SW404": fix_serverless_concurrency_without_autoscaling,
    "SW501": fix_spot_lowest_price,
    "SW503": fix_spot_without_capacity_rebalance,
}
"""Rule id -> fixer. A rule whose fix is ``safe`` or ``unsafe`` must have one (a test checks it)."""

ADDS_RESOURCES = frozenset({"SW101", "SW102", "SW402", "SW404"})
"""Fixers that add resources wait until no other fix is left: a repaired ResourceId (SW106) may be
the scaling a variant was missing, and adding a second target for it would be wrong. The applier
decides it, as only it knows which fixes a run allows and which it has refused."""
