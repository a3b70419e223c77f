"""Live fixes of the autoscaling rules, and the scaling calls the endpoint fixes make around an update.

- SW101: register the variant's (or inference component's) scalable target and put a target-tracking
  policy on it;
- SW102: put that policy on a target that has none;
- SW104: put the policy again with its scale-in cooldown equal to its scale-out cooldown;
- SW402: register a Lambda alias's or version's provisioned concurrency as a target and put a policy tracking its
  utilization; SW404: the same for a serverless variant's provisioned concurrency;
- SW403: put a Lambda policy again with its percentage target written as the fraction it means (70 -> 0.7).

The capacity range, metric, target value and cooldowns come from :mod:`auditor.scaling_fixes` with the
configured rule parameters, exactly as ``sagewise fix`` writes them into a template; a live variant's
minimum is the instance count it runs now (a template's is its ``InitialInstanceCount``), provisioned
concurrency's the executions configured now. Every call names the target's own namespace (its dimension's:
``sagemaker``, ``lambda``).

A fixer reads the finding's model object (what the audit linked: a target's variant, a policy's
effective cooldowns) and the resource's state now (:class:`.state.Reader`), and returns a
:class:`~.steps.Step`, or raises :class:`~.fixing.Unplannable` with the reason it leaves the finding to a person.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from .. import scaling, scaling_fixes
from ..model import InferenceComponent, ScalingPolicy
from ..scaling import COMPONENT_COPIES, LAMBDA_CONCURRENCY, VARIANT_INSTANCES, VARIANT_PROVISIONED_CONCURRENCY
from .fixing import Context, LeftToPeople, Unplannable, new_step, target_probe
from .state import Reader
from .steps import AUTOSCALING, ENDPOINT, INCLUDES, PROVISIONED_CONCURRENCY, Call, Change, Expectation, Probe, Step

TARGET_TRACKING = "TargetTrackingScaling"
TRACKING = "TargetTrackingScalingPolicyConfiguration"
POLICIES, ACTIONS = "Policies", "ScheduledActions"
MEMBERS = {POLICIES: ("PolicyName", "PutScalingPolicy", "DeleteScalingPolicy"),
           ACTIONS: ("ScheduledActionName", "PutScheduledAction", "DeleteScheduledAction")}
"""What a target holds besides its capacity, as :mod:`.state` keys it -> the parameter naming one, the operation
that puts one and the one that deletes it."""


def _target_params(probe: Probe) -> dict:
    return {"ServiceNamespace": probe.namespace, "ResourceId": probe.name, "ScalableDimension": probe.dimension}


# --- SW101 -----------------------------------------------------------------------------------------------


def add_autoscaling(finding, context: Context) -> Step:
    subject = finding.model_object
    if isinstance(subject, InferenceComponent):
        return _component_autoscaling(finding, context, subject)
    if subject.hosts_inference_components:
        raise Unplannable("enabling ManagedInstanceScaling takes a new endpoint config: set it where the config is "
                          "defined (`sagewise fix` does it in templates)")
    if subject.burstable:
        raise Unplannable(f"SageMaker does not autoscale burstable {subject.instance_type} variants: move the variant "
                          "to a current type first (SW302, --unsafe-fixes), then plan again")
    count = subject.instance_count
    if not count:
        raise Unplannable("the variant's current instance count is not known")
    try:
        name, configuration = scaling_fixes.variant_policy(context.params, subject.kind, subject.endpoint)
    except ValueError as exc:
        raise Unplannable(str(exc)) from None
    probe = target_probe(subject.scaling_resource_id, VARIANT_INSTANCES)
    _still_unregistered(context.reader(finding), probe)
    endpoint = Probe(ENDPOINT, subject.endpoint)
    variants = "ShadowProductionVariants" if subject.shadow else "ProductionVariants"
    serving = (Expectation(endpoint, ("EndpointStatus",), "InService"),
               Expectation(endpoint, (variants, subject.variant_name, "CurrentInstanceCount"), count))
    title = f"autoscale variant {subject.variant_name} of endpoint {subject.endpoint}"
    return _target_and_policy(finding, probe, count, scaling_fixes.max_capacity(context.params, count), name,
                              configuration, serving, title)


def _component_autoscaling(finding, context: Context, component: InferenceComponent) -> Step:
    count = component.copy_count
    if not count:
        raise Unplannable("the component runs no copies now; a target that scales from zero needs a step policy "
                          "woken by an alarm, which sagewise does not add")
    probe = target_probe(f"inference-component/{component.name}", COMPONENT_COPIES)
    _still_unregistered(context.reader(finding), probe)
    name, configuration = scaling_fixes.component_policy(context.params)
    title = f"autoscale the copies of inference component {component.name}"
    return _target_and_policy(finding, probe, count, scaling_fixes.max_capacity(context.params, count), name,
                              configuration, (), title)


def _still_unregistered(reader: Reader, probe: Probe) -> None:
    if reader.read(probe) is not None:
        raise Unplannable(f"{probe.label()} was registered after the audit read the account; plan again")


def _target_and_policy(finding, probe: Probe, minimum: int, maximum: int, name: str, configuration: dict,
                       serving: tuple, title: str, note: str | None = None) -> Step:
    capacity = {"MinCapacity": minimum, "MaxCapacity": maximum}
    policy = {"PolicyType": TARGET_TRACKING, TRACKING: configuration}
    calls = [register(probe, capacity, serving), put_member(POLICIES, probe, name, policy, capacity)]
    changes = [Change("create", "scalable target", probe.name, (("MinCapacity", None, minimum),
                                                                 ("MaxCapacity", None, maximum)), note),
               Change("create", "scaling policy", f"{name} on {probe.name}", policy_attributes(None, policy))]
    return new_step([finding], "safe", f"{title} ({minimum}..{maximum}, {name})", calls, changes)


# --- SW102 -----------------------------------------------------------------------------------------------


def add_policy(finding, context: Context) -> Step:
    target = finding.model_object
    name, configuration = _policy_for(target, finding, context)
    probe = target_probe(target.resource_id, target.dimension)
    state = context.reader(finding).read(probe)
    if state is None:
        raise Unplannable(f"{probe.label()} was deregistered after the audit read the account")
    if state["Policies"] or state["ScheduledActions"]:
        raise Unplannable(f"{probe.label()} got a policy or scheduled action after the audit read the account")
    capacity = {"MinCapacity": state["MinCapacity"], "MaxCapacity": state["MaxCapacity"]}
    alone = (Expectation(probe, ("Policies",), {}), Expectation(probe, ("ScheduledActions",), {}))
    policy = {"PolicyType": TARGET_TRACKING, TRACKING: configuration}
    change = Change("create", "scaling policy", f"{name} on {probe.name}", policy_attributes(None, policy))
    return new_step([finding], "safe", f"add scaling policy {name} to {probe.name}",
                    [put_member(POLICIES, probe, name, policy, capacity, alone)], [change])


def _policy_for(target, finding, context: Context) -> tuple[str, dict]:
    """(name, configuration) of the policy ``sagewise fix`` would add to ``target``, from what it scales."""
    scope = finding.location.scope
    if target.dimension == COMPONENT_COPIES:
        if not any(c.location.scope == scope and c.key == target.component_key for c in context.model.inference_components):
            raise Unplannable(f"no inference component {target.component_key} runs here: the target scales nothing")
        return scaling_fixes.component_policy(context.params)
    if target.dimension not in (VARIANT_INSTANCES, VARIANT_PROVISIONED_CONCURRENCY) or target.target_kind != "variant":
        raise Unplannable("the target's ResourceId names no SageMaker variant or inference component (see SW106)")
    variants = [v for v in context.model.variants if v.location.scope == scope and v.endpoint_key == target.endpoint_key
                and v.variant_key == target.variant_key]
    if not variants:
        raise Unplannable(f"no endpoint {target.endpoint_key} with a variant {target.variant_key} runs here: the "
                          "target scales nothing, so a policy on it would do nothing")
    variant = variants[0]
    if variant.kind is None or (variant.kind == "serverless") != (target.dimension == VARIANT_PROVISIONED_CONCURRENCY):
        raise Unplannable(f"the target's dimension {target.dimension} does not fit the {variant.kind} variant it names")
    try:
        return scaling_fixes.variant_policy(context.params, variant.kind, variant.endpoint)
    except ValueError as exc:
        raise Unplannable(str(exc)) from None


# --- SW402, SW404: provisioned concurrency ------------------------------------------------------------------

WARM_FLOOR_NOTE = ("MinCapacity is the provisioned concurrency configured now: registering a target moves provisioned "
                   "concurrency outside [MinCapacity, MaxCapacity] into that range at once, so this one changes "
                   "nothing until its policy acts; undo deletes the policy and deregisters the target, and provisioned "
                   "concurrency stays where scaling left it")
"""Lowering MinCapacity is what saves the night's cost; it is a capacity decision, left to a person (SW402's fix)."""


def add_concurrency_autoscaling(finding, context: Context) -> Step:
    """SW402: a target on ``function:<name>:<qualifier>`` from the executions configured now, and a policy tracking
    LambdaProvisionedConcurrencyUtilization at SW402's ``fix_target_utilization``."""
    concurrency = finding.model_object
    executions = concurrency.executions
    if not isinstance(executions, int) or executions < 1:
        raise Unplannable("the executions configured for it are not known")
    probe = target_probe(concurrency.scaling_resource_id, LAMBDA_CONCURRENCY)
    reader = context.reader(finding)
    _still_unregistered(reader, probe)
    warm = Probe(PROVISIONED_CONCURRENCY, f"{concurrency.function}:{concurrency.qualifier}")
    configured = {"RequestedProvisionedConcurrentExecutions": executions}
    if reader.read(warm) != configured:
        raise Unplannable(f"{warm.label()} changed after the audit read the account; plan again")
    name, configuration = scaling_fixes.concurrency_policy(context.params)
    maximum = scaling_fixes.max_capacity(context.params, executions)
    title = f"autoscale the provisioned concurrency of {concurrency.function}:{concurrency.qualifier}"
    return _target_and_policy(finding, probe, executions, maximum, name, configuration,
                              (Expectation(warm, (), configured),), title, WARM_FLOOR_NOTE)


def add_serverless_concurrency_autoscaling(finding, context: Context) -> Step:
    """SW404: a target on the variant's DesiredProvisionedConcurrency from what it keeps warm now up to
    :func:`~auditor.scaling_fixes.serverless_capacity`, and the serverless variant's policy."""
    variant = finding.model_object
    if not isinstance(variant.provisioned_concurrency, int) or not isinstance(variant.max_concurrency, int):
        raise Unplannable("its provisioned concurrency or MaxConcurrency is not known")
    try:
        minimum, maximum = scaling_fixes.serverless_capacity(context.params, variant.provisioned_concurrency,
                                                             variant.max_concurrency)
        name, configuration = scaling_fixes.variant_policy(context.params, "serverless", variant.endpoint)
    except ValueError as exc:
        raise Unplannable(str(exc)) from None
    probe = target_probe(variant.scaling_resource_id, VARIANT_PROVISIONED_CONCURRENCY)
    _still_unregistered(context.reader(finding), probe)
    endpoint = Probe(ENDPOINT, variant.endpoint)
    current = ("ProductionVariants", variant.variant_name, "CurrentServerlessConfig")
    serving = (Expectation(endpoint, ("EndpointStatus",), "InService"),
               Expectation(endpoint, current + ("ProvisionedConcurrency",), minimum),
               Expectation(endpoint, current + ("MaxConcurrency",), variant.max_concurrency))
    title = f"autoscale the provisioned concurrency of serverless variant {variant.variant_name} of endpoint " \
            f"{variant.endpoint}"
    return _target_and_policy(finding, probe, minimum, maximum, name, configuration, serving, title, WARM_FLOOR_NOTE)


# --- SW104, SW403: a policy put again with one setting changed ----------------------------------------------


def balance_cooldowns(finding, context: Context) -> Step:
    policy = finding.model_object
    if not isinstance(policy.scale_out_cooldown, int):
        raise Unplannable("the policy's scale-out cooldown is not known")
    return _put_again(finding, context, "ScaleInCooldown", policy.scale_out_cooldown,
                      f"set ScaleInCooldown of {policy.name} to {policy.scale_out_cooldown}s")


def fraction_target(finding, context: Context) -> Step:
    """SW403: only a percentage given to a utilization fraction has one right answer (``scaling.metric_correction``,
    as ``sagewise fix`` applies it); an alias on $LATEST, a target naming no alias, a step policy are people's."""
    policy = finding.model_object
    if not isinstance(policy, ScalingPolicy):
        raise LeftToPeople("Lambda provisioned concurrency and its targets name a published alias or version: "
                           "publish a version, point the alias at it, and register the target on "
                           "function:<name>:<alias or version>")
    correction = scaling.metric_correction(policy.metric_type, policy.dimension, policy.target_value)
    if policy.metric_type != scaling.LAMBDA_UTILIZATION or correction is None or correction[0] != "target_value":
        raise LeftToPeople("replace the policy with target tracking on LambdaProvisionedConcurrencyUtilization, its "
                           "TargetValue a fraction of 1 (0.7 for 70 %)")
    return _put_again(finding, context, "TargetValue", correction[1],
                      f"set TargetValue of {policy.name} to {correction[1]:g}", expected=policy.target_value)


def _put_again(finding, context: Context, setting: str, value, title: str, expected=None) -> Step:
    """``PutScalingPolicy`` of the target-tracking policy as it is, but for ``setting`` (``expected`` there, when
    given); undo puts it back as it was."""
    policy = finding.model_object
    probe = target_probe(policy.resource_id, policy.dimension)
    state = context.reader(finding).read(probe)
    old = (state or {}).get("Policies", {}).get(policy.name)
    if old is None or old.get("PolicyType") != TARGET_TRACKING:
        raise Unplannable(f"target-tracking policy {policy.name} is gone from {probe.label()}")
    if expected is not None and old[TRACKING].get(setting) != expected:
        raise Unplannable(f"{setting} of {policy.name} changed after the audit read the account; plan again")
    new = copy.deepcopy(old)
    new[TRACKING][setting] = value
    path = ("Policies", policy.name)
    params = {"PolicyName": policy.name, **_target_params(probe)}
    call = Call(AUTOSCALING, "PutScalingPolicy", {**params, **new},
                expect=(Expectation(probe, path, old),), leaves=(Expectation(probe, path, new, INCLUDES),),
                undo=Call(AUTOSCALING, "PutScalingPolicy", {**params, **old},
                          expect=(Expectation(probe, path, new, INCLUDES),),
                          leaves=(Expectation(probe, path, old, INCLUDES),)))
    change = Change("update", "scaling policy", f"{policy.name} on {probe.name}",
                    ((setting, old[TRACKING].get(setting), value),))
    return new_step([finding], "safe", title, [call], [change])


# --- Calls on a target, each with its undo -----------------------------------------------------------------


def register(probe: Probe, capacity: dict, also_expect: tuple = ()) -> Call:
    """Register a target with ``capacity`` (MinCapacity, MaxCapacity and perhaps SuspendedState); undo deregisters."""
    return replace(_register(probe, capacity, also_expect), undo=_deregister(probe, capacity))


def deregister(probe: Probe, capacity: dict) -> Call:
    """Deregister a target that has no policy or scheduled action left; undo registers it again as it was."""
    return replace(_deregister(probe, capacity), undo=_register(probe, capacity))


def _register(probe: Probe, capacity: dict, also_expect: tuple = ()) -> Call:
    return Call(AUTOSCALING, "RegisterScalableTarget", {**_target_params(probe), **capacity},
                expect=(Expectation(probe, (), None),) + also_expect,
                leaves=(Expectation(probe, (), capacity, INCLUDES),))


def _deregister(probe: Probe, capacity: dict) -> Call:
    return Call(AUTOSCALING, "DeregisterScalableTarget", _target_params(probe),
                expect=(Expectation(probe, (), capacity, INCLUDES), Expectation(probe, ("Policies",), {}),
                        Expectation(probe, ("ScheduledActions",), {})),
                leaves=(Expectation(probe, (), None),))


def put_member(kind: str, probe: Probe, name: str, member: dict, capacity: dict, also_expect: tuple = ()) -> Call:
    """Put a new policy or scheduled action (``kind``: :data:`POLICIES`, :data:`ACTIONS`) on a registered target
    (``member``: its request less the names, as :mod:`.state` reads it); undo deletes it."""
    return replace(_put(kind, probe, name, member, capacity, also_expect), undo=_delete(kind, probe, name, member))


def delete_member(kind: str, probe: Probe, name: str, member: dict, capacity: dict) -> Call:
    """Delete a target's policy or scheduled action; undo puts it back as it was."""
    return replace(_delete(kind, probe, name, member), undo=_put(kind, probe, name, member, capacity))


def _put(kind: str, probe: Probe, name: str, member: dict, capacity: dict, also_expect: tuple = ()) -> Call:
    name_key, operation, _ = MEMBERS[kind]
    path = (kind, name)
    return Call(AUTOSCALING, operation, {name_key: name, **_target_params(probe), **member},
                expect=(Expectation(probe, (), capacity, INCLUDES), Expectation(probe, path, None)) + also_expect,
                leaves=(Expectation(probe, path, member, INCLUDES),))


def _delete(kind: str, probe: Probe, name: str, member: dict) -> Call:
    name_key, _, operation = MEMBERS[kind]
    path = (kind, name)
    return Call(AUTOSCALING, operation, {name_key: name, **_target_params(probe)},
                expect=(Expectation(probe, path, member, INCLUDES),), leaves=(Expectation(probe, path, None),))


def capacity_of(state: dict) -> dict:
    """What registering a target again needs of its state: capacity range and suspended state."""
    return {key: state[key] for key in ("MinCapacity", "MaxCapacity", "SuspendedState") if key in state}


def teardown(probe: Probe, state: dict) -> list[Call]:
    """Delete a target's policies and scheduled actions, then deregister it (what an instance type change and
    parking an endpoint need first); undone in reverse, so the target comes back as it was.

    A step scaling policy is refused: the CloudWatch alarms that trigger it name its ARN, and a policy put
    again gets a new one.
    """
    stepped = [name for name, policy in state["Policies"].items() if policy.get("PolicyType") != TARGET_TRACKING]
    if stepped:
        raise Unplannable(f"{probe.label()} has step scaling policy {stepped[0]}, whose CloudWatch alarms name its "
                          "ARN; deleting and putting it again would change the ARN and orphan the alarms")
    capacity = capacity_of(state)
    return ([delete_member(kind, probe, name, member, capacity) for kind in (POLICIES, ACTIONS)
             for name, member in state[kind].items()]
            + [deregister(probe, capacity)])


def restore(probe: Probe, state: dict) -> list[Call]:
    """Register a target again as :func:`teardown` found it, with its scheduled actions and policies."""
    capacity = capacity_of(state)
    return ([register(probe, capacity)]
            + [put_member(kind, probe, name, member, capacity) for kind in (ACTIONS, POLICIES)
               for name, member in state[kind].items()])


def policy_attributes(old: dict | None, new: dict) -> tuple:
    """A policy's settings as (name, before, after) rows, its configuration flattened (``TargetValue``,
    ``PredefinedMetricSpecification.PredefinedMetricType``)."""
    before, after = _flat(old or {}), _flat(new)
    return tuple((name, before.get(name), after.get(name)) for name in dict.fromkeys([*before, *after])
                 if before.get(name) != after.get(name))


def _flat(policy: dict) -> dict:
    rows = {}

    def walk(value, prefix):
        if isinstance(value, dict) and value:
            for key, item in value.items():
                walk(item, f"{prefix}.{key}" if prefix else key)
        else:
            rows[prefix] = value

    for key, value in policy.items():
        walk(value, "" if key.endswith("PolicyConfiguration") else key)
    return rows
