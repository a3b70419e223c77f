"""Facts that connect model objects: which target scales which variant, which policy which target.

Sources fill in comparable *keys* (an endpoint's name, a target's resource triple): plain strings
for live resources, or the symbolic values of :mod:`auditor.sources.intrinsics` for templates,
where ``endpoint/${Name}/variant/A`` and an endpoint named ``${Name}`` share the key ``${Name}``.
Linking is then the same for every source, and a key that cannot be known (``None``) makes the
dependent fact ``None`` instead of a guess.
"""

from __future__ import annotations

from .model import ResourceModel
from .scaling import (
    COMPONENT_COPIES,
    DEFAULT_COOLDOWN_SECONDS,
    LAMBDA_CONCURRENCY,
    SAGEMAKER_DIMENSIONS,
    VARIANT_INSTANCES,
    VARIANT_PROVISIONED_CONCURRENCY,
    alarm_direction,
    customized_metric_problem,
    lambda_policy_problem,
    metric_problem,
    step_problem,
)
from .sources.intrinsics import Text, Token, has_unknown, split

BACKLOG_ALARM_METRIC = "HasBacklogWithoutCapacity"
"""What wakes an asynchronous endpoint scaled to zero (SageMaker's async autoscaling guide)."""


def parse_resource_id(resource_id, dimension) -> dict:
    """Split a SageMaker ResourceId into keys, or say why it cannot name a variant or component.

    Returns ``target_kind``, ``endpoint_key``, ``variant_key``, ``component_key`` and
    ``resource_id_problem``. Keys are ``None`` when the ResourceId is not resolvable.
    """
    parsed = {"target_kind": None, "endpoint_key": None, "variant_key": None, "component_key": None,
              "resource_id_problem": None}
    if not isinstance(resource_id, (str, Text)) or has_unknown(resource_id):
        return parsed
    arn = _arn_reference(resource_id)
    if arn:
        parsed["resource_id_problem"] = arn
        return parsed
    segments = split(resource_id, "/")
    head = segments[0]
    if dimension in (VARIANT_INSTANCES, VARIANT_PROVISIONED_CONCURRENCY):
        if head == "endpoint" and len(segments) == 4 and segments[2] == "variant" and segments[1] != "" and \
                segments[3] != "":
            parsed.update(target_kind="variant", endpoint_key=segments[1], variant_key=segments[3])
        elif _literal_head(head):
            parsed["resource_id_problem"] = (
                f"{dimension} needs a ResourceId of the form endpoint/<endpoint-name>/variant/<variant-name>"
            )
    elif dimension == COMPONENT_COPIES:
        if head == "inference-component" and len(segments) == 2 and segments[1] != "":
            bad_attribute = _missing_attribute(segments[1])
            if bad_attribute:
                parsed["resource_id_problem"] = bad_attribute
            else:
                parsed.update(target_kind="inference-component", component_key=segments[1])
        elif _literal_head(head):
            parsed["resource_id_problem"] = (
                f"{dimension} needs a ResourceId of the form inference-component/<inference-component-name>"
            )
    return parsed


def parse_lambda_resource_id(resource_id, dimension) -> dict:
    """Split ``function:<name>:<qualifier>`` into keys, or say why it cannot name provisioned concurrency."""
    parsed = {"function_key": None, "qualifier_key": None, "resource_id_problem": None}
    if dimension != LAMBDA_CONCURRENCY or not isinstance(resource_id, (str, Text)) or has_unknown(resource_id):
        return parsed
    segments = split(resource_id, ":")
    if len(segments) != 3 or segments[0] != "function":
        if isinstance(segments[0], str):
            parsed["resource_id_problem"] = (f"{LAMBDA_CONCURRENCY} needs a ResourceId of the form "
                                             "function:<name>:<alias>")
        return parsed
    if segments[2] == "$LATEST":
        parsed["resource_id_problem"] = ("provisioned concurrency cannot be set on $LATEST; name an alias or a "
                                         "published version")
        return parsed
    parsed.update(function_key=segments[1], qualifier_key=segments[2])
    return parsed


def parse_target_resource_id(namespace, resource_id, dimension) -> dict:
    """The keys linking matches a scalable target by, whatever its source: SageMaker and Lambda ResourceIds
    are split (:func:`parse_resource_id`, :func:`parse_lambda_resource_id`); other namespaces scale nothing
    sagewise reads."""
    if namespace == "sagemaker":
        return parse_resource_id(resource_id, dimension)
    if namespace == "lambda":
        return parse_lambda_resource_id(resource_id, dimension)
    return {}


def _literal_head(head) -> bool:
    """Only a literal first segment proves the shape wrong; ``${Prefix}/...`` might be anything."""
    return isinstance(head, str)


def _arn_reference(resource_id) -> str | None:
    pieces = resource_id.parts if isinstance(resource_id, Text) else (resource_id,)
    for piece in pieces:
        if isinstance(piece, Token) and piece.kind == "arn":
            advice = (f"use ${{{piece.name}.{piece.attribute}}}" if piece.attribute else
                      f"set InferenceComponentName on {piece.name} and reuse that value")
            return (
                f"${{{piece.name}}} is the ARN of {piece.name} (Ref of a SageMaker resource returns its ARN), "
                f"not its name; {advice}"
            )
        if isinstance(piece, str) and "arn:" in piece:
            return "the ResourceId contains an ARN; it must use names: endpoint/<endpoint-name>/variant/<variant-name>"
    return None


def _missing_attribute(segment) -> str | None:
    pieces = segment.parts if isinstance(segment, Text) else (segment,)
    for piece in pieces:
        if isinstance(piece, Token) and piece.kind == "getatt" and piece.attribute == "InferenceComponentName":
            return (
                f"AWS::SageMaker::InferenceComponent has no InferenceComponentName attribute; set "
                f"InferenceComponentName on {piece.name} and reuse that value in the ResourceId"
            )
    return None


def link(model: ResourceModel) -> None:
    """Compute the cross-object facts of ``model`` in place."""
    _link_alarms(model)
    _link_policies(model)
    _link_variants(model)
    _link_components(model)
    _link_concurrency(model)


def _link_alarms(model: ResourceModel) -> None:
    """Which alarms trigger each step policy (target tracking makes and owns its alarms itself); an alarm
    whose actions are disabled triggers none, and one on metric math (no metric name) has an unknown metric."""
    alarms_by_action: dict = {}
    silenced_by_action: dict = {}
    unresolved = False
    for alarm in model.alarms:
        for key in alarm.action_keys:
            if key is None:
                unresolved = unresolved or alarm.actions_enabled
            else:
                (alarms_by_action if alarm.actions_enabled else silenced_by_action).setdefault(key, []).append(alarm)
    for policy in model.scaling_policies:
        if policy.policy_type != "StepScaling" or policy.key is None:
            continue
        alarms = alarms_by_action.get(policy.key, [])
        silenced = silenced_by_action.get(policy.key, [])
        if alarms or (silenced and not unresolved):
            policy.alarm_count = len(alarms)
        elif policy.alarm_count is None:  # a live source may already know the count from the policy itself
            policy.alarm_count = None if unresolved else 0
        policy.alarm_metrics = [alarm.metric_name for alarm in alarms]
        policy.alarm_directions = [direction for alarm in alarms
                                   if (direction := alarm_direction(alarm.comparison)) is not None]


def _link_policies(model: ResourceModel) -> None:
    targets_by_key: dict = {}
    for target in model.scalable_targets:
        for key in target.key or ():
            targets_by_key.setdefault(key, []).append(target)
        target.policy_count = 0
    unresolved_policy = False
    policies_of: dict = {}
    for policy in model.scaling_policies:
        targets = targets_by_key.get(policy.target_key, []) if policy.target_key is not None else []
        if not targets:
            unresolved_policy = unresolved_policy or policy.target_key is None or _has_unknown_key(policy.target_key)
        for target in targets:
            # A target that exists by default counts only the policies that do too.
            if target.condition_off is not None or policy.condition_off is None:
                target.policy_count += 1
                policies_of.setdefault(id(target), []).append(policy)
            policy.dimension = policy.dimension or target.dimension
            policy.namespace = policy.namespace or target.namespace
            policy.resource_id = policy.resource_id or target.resource_id
        _apply_policy_defaults(policy)
    if unresolved_policy:
        for target in model.scalable_targets:
            if target.policy_count == 0:
                target.policy_count = None
    for target in model.scalable_targets:
        steps = [policy for policy in policies_of.get(id(target), []) if policy.policy_type == "StepScaling"]
        if any(BACKLOG_ALARM_METRIC in policy.alarm_metrics for policy in steps):
            target.backlog_wake_up = True
        elif target.policy_count is None or any(policy.alarm_count is None or None in policy.alarm_metrics
                                                for policy in steps):
            target.backlog_wake_up = None
        else:
            target.backlog_wake_up = False


def _apply_policy_defaults(policy) -> None:
    """Effective cooldowns and metric validity need the scaled dimension, known only once linked."""
    if policy.scale_in_cooldown_defaulted:
        policy.scale_in_cooldown = DEFAULT_COOLDOWN_SECONDS.get(policy.dimension)
    if policy.scale_out_cooldown_defaulted:
        policy.scale_out_cooldown = DEFAULT_COOLDOWN_SECONDS.get(policy.dimension)
    policy.scale_in_cooldown_text = _cooldown_text(policy.scale_in_cooldown, policy.scale_in_cooldown_defaulted)
    policy.scale_out_cooldown_text = _cooldown_text(policy.scale_out_cooldown, policy.scale_out_cooldown_defaulted)
    if policy.namespace == "sagemaker" or policy.dimension in SAGEMAKER_DIMENSIONS:
        policy.metric_problem = metric_problem(policy.metric_type, policy.dimension, policy.target_value) or \
            customized_metric_problem(policy.customized_metric_name, policy.customized_namespace,
                                      policy.customized_statistic, policy.customized_dimensions,
                                      policy.target_value, policy.dimension)
    if policy.namespace == "lambda" or policy.dimension == LAMBDA_CONCURRENCY:
        policy.metric_problem = lambda_policy_problem(policy.policy_type, policy.metric_type, policy.target_value)
    if policy.policy_type == "StepScaling":
        policy.step_problem = step_problem(policy.step_adjustments, policy.adjustment_type,
                                           policy.metric_aggregation_type, policy.alarm_directions)


def _cooldown_text(seconds, defaulted: bool) -> str | None:
    if seconds is None:
        return None
    shown = f"{seconds:g}s" if isinstance(seconds, float) else f"{seconds}s"
    return f"{shown} (default)" if defaulted else shown


def _has_unknown_key(key) -> bool:
    return any(has_unknown(part) for part in (key if isinstance(key, tuple) else (key,)))


def _link_variants(model: ResourceModel) -> None:
    """Which variant has a scalable target, with targets indexed by (dimension, endpoint) so a
    template of thousands of endpoints is linked in linear time."""
    variant_targets = [t for t in model.scalable_targets if t.condition_off is None
                       and t.dimension in (VARIANT_INSTANCES, VARIANT_PROVISIONED_CONCURRENCY)]
    conditional = {}
    for target in model.scalable_targets:
        if target.condition_off is not None and target.endpoint_key is not None:
            conditional.setdefault((target.dimension, target.endpoint_key, target.variant_key), target.condition_off)
    unresolved = any(t.target_kind is None and t.resource_id_problem is None for t in variant_targets) or any(
        t.namespace == "sagemaker" and t.dimension not in SAGEMAKER_DIMENSIONS for t in model.scalable_targets
    )
    targets_by_endpoint: dict = {}
    for target in variant_targets:
        if target.endpoint_key is not None:
            targets_by_endpoint.setdefault((target.dimension, target.endpoint_key), []).append(target)
    variants_by_endpoint = {}
    for variant in model.variants:
        if variant.endpoint_key is not None:
            variants_by_endpoint.setdefault(variant.endpoint_key, []).append(variant)
    for variant in model.variants:
        if variant.endpoint_key is None:
            variant.has_scalable_target = None
            continue
        name = f"<{variant.endpoint}>" if has_unknown(variant.endpoint_key) else variant.endpoint_key
        variant.scaling_resource_id = f"endpoint/{name}/variant/{variant.variant_name}"
        if has_unknown(variant.endpoint_key) and variant_targets:
            variant.has_scalable_target = None  # no target can be shown to be (or not be) this variant's
            continue
        wanted = VARIANT_PROVISIONED_CONCURRENCY if variant.kind == "serverless" else VARIANT_INSTANCES
        matched = False
        uncertain = unresolved
        for target in targets_by_endpoint.get((wanted, variant.endpoint_key), ()):
            if target.variant_key == variant.variant_key:
                matched = True
            elif has_unknown(target.variant_key) or variant.variant_key is None:
                uncertain = True
        variant.has_scalable_target = True if matched else (None if uncertain else False)
        if variant.has_scalable_target is False:
            variant.conditional_scaling = conditional.get((wanted, variant.endpoint_key, variant.variant_key))
        for target in targets_by_endpoint.get((wanted, variant.endpoint_key), ()):
            if target.variant_key == variant.variant_key and variant.kind is not None:
                target.scales_async = variant.kind == "async"
    for target in variant_targets:
        if target.target_kind != "variant" or target.resource_id_problem:
            continue
        siblings = variants_by_endpoint.get(target.endpoint_key)
        if not siblings:
            continue
        names = [v.variant_key for v in siblings]
        if any(name is None or not isinstance(name, str) for name in names) or not isinstance(target.variant_key, str):
            continue
        if target.variant_key not in names:
            listed = ", ".join(sorted(set(names)))
            target.resource_id_problem = (
                f"endpoint {siblings[0].endpoint} has no variant named {target.variant_key} (its variants: {listed})"
            )


def _link_components(model: ResourceModel) -> None:
    component_targets = [t for t in model.scalable_targets
                         if t.dimension == COMPONENT_COPIES and t.condition_off is None]
    unresolved = any(t.target_kind is None and t.resource_id_problem is None for t in component_targets)
    for component in model.inference_components:
        if component.key is None:
            component.has_scalable_target = None if component_targets else False
            continue
        if any(t.component_key == component.key for t in component_targets):
            component.has_scalable_target = True
        else:
            component.has_scalable_target = None if unresolved else False


def _link_concurrency(model: ResourceModel) -> None:
    """Which provisioned concurrency a Lambda target scales, and targets that name no alias or version."""
    targets = [t for t in model.scalable_targets if t.dimension == LAMBDA_CONCURRENCY and t.condition_off is None]
    unresolved = any(t.function_key is None and t.resource_id_problem is None for t in targets)
    for concurrency in model.provisioned_concurrency:
        if concurrency.qualifier_kind == "latest":
            continue
        if has_unknown(concurrency.function_key) or has_unknown(concurrency.qualifier_key):
            concurrency.has_scalable_target = None if targets else False
            continue
        matched = any(t.function_key == concurrency.function_key and t.qualifier_key == concurrency.qualifier_key
                      for t in targets)
        concurrency.has_scalable_target = True if matched else (None if unresolved else False)
    published = {function.key: function.qualifier_keys for function in model.functions
                 if function.key is not None and function.qualifier_keys is not None}
    for target in targets:
        qualifiers = published.get(target.function_key)
        if target.resource_id_problem or qualifiers is None or any(has_unknown(q) for q in qualifiers):
            continue
        if target.qualifier_key not in qualifiers:
            names = ", ".join(sorted(str(q) for q in qualifiers)) or "none"
            target.resource_id_problem = (f"the function publishes no alias or version {target.qualifier_key} "
                                          f"(it publishes: {names})")
