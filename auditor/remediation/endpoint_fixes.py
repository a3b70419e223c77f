"""Live fixes that change or remove an endpoint's instances: unsafe, planned only with ``--unsafe-fixes``.

**SW301, SW302: a new instance type.** An endpoint config cannot be changed, so the step creates a
copy of the endpoint's config with only the instance types changed, named from the old config and
the change (the same change always gives the same name, so undoing and applying again reuses it).
``UpdateEndpoint`` fails on a variant registered with Application Auto Scaling whose instance type
changes (aws-ml-facts gotcha 15), so the endpoint's scalable targets are taken down first (policies,
scheduled actions, registration) and put back as they were once the endpoint is ``InService`` on the
new config. The update keeps the instance counts and weights the variants run
(``RetainAllVariantProperties``; without it they fall back to the config's initial counts, gotcha
17). Undo updates the endpoint back to the old config, which is kept; the new one is kept too.

**SW303: park an idle endpoint.** The step takes its scaling down and deletes the endpoint; its
endpoint config and models stay. Undo creates the endpoint again from that config with its tags
(the journal holds them, as the plan read them) and puts its scaling back.

An endpoint that a CloudFormation stack owns is left to its template: a change made here would
drift from the stack, and the next deployment would undo it or fail.
"""

from __future__ import annotations

import copy
import hashlib

from .. import catalog, rightsizing
from ..scaling import VARIANT_INSTANCES
from .autoscaling_fixes import restore, teardown
from .fixing import Context, Unplannable, new_step, refuse_if_stack_owned, target_probe
from .state import VARIANT_LISTS, config_request
from .steps import (
    ENDPOINT,
    ENDPOINT_CONFIG,
    ENDPOINT_TAGS,
    INCLUDES,
    SAGEMAKER,
    Call,
    Change,
    Expectation,
    Probe,
    Step,
)

CONFIG_NAME_LENGTH = 63
"""SageMaker's limit on an endpoint config name."""


def suggested_type(finding, params: dict) -> str | None:
    """The instance type a SW301 or SW302 finding's variant should move to, as its check suggests it.

    SW301 asks :func:`auditor.rightsizing.suggested_type`, as ``sagewise fix`` does; SW302 names the
    current-generation equivalent.
    """
    variant = finding.model_object
    if finding.rule_id == "SW302":
        return variant.suggested_instance_type
    return rightsizing.suggested_type(variant, params["SW301"].get("max_instance_size"))


def change_instances(findings: list, context: Context) -> tuple:
    """One step moving the variants of one endpoint that ``findings`` (SW301, SW302) name, and the findings
    it leaves out with the reason, as ``(step, [(finding, reason)])``."""
    first = findings[0]
    name = first.model_object.endpoint
    reader = context.reader(first)
    endpoint_probe = Probe(ENDPOINT, name)
    endpoint, _ = _serving_endpoint(reader, name)
    old_name = endpoint["EndpointConfigName"]
    config = reader.read(Probe(ENDPOINT_CONFIG, old_name))
    if config is None:
        raise Unplannable(f"its endpoint config {old_name} is gone, so there is nothing to copy")
    moves, left_out = _moves(findings, context.params)
    if not moves:
        raise Unplannable(left_out[0][1])
    new_config = copy.deepcopy(config)
    for (list_name, variant), (_, new_type) in moves.items():
        new_config[list_name][variant]["InstanceType"] = new_type
    new_name = config_name(old_name, [new_type for _, new_type in moves.values()])
    new_probe = Probe(ENDPOINT_CONFIG, new_name)
    existing = reader.read(new_probe)
    if existing is not None and existing != new_config:
        raise Unplannable(f"an endpoint config named {new_name} exists with other settings")
    targets = _targets(reader, name, endpoint)
    on_old = (Expectation(endpoint_probe, ("EndpointConfigName",), old_name),
              Expectation(endpoint_probe, ("EndpointStatus",), "InService"))
    on_new = (Expectation(endpoint_probe, ("EndpointConfigName",), new_name),
              Expectation(endpoint_probe, ("EndpointStatus",), "InService"))
    update = {"EndpointName": name, "RetainAllVariantProperties": True}
    calls = [Call(SAGEMAKER, "CreateEndpointConfig", config_request(new_config, new_name),
                  expect=(Expectation(new_probe, (), None),), leaves=(Expectation(new_probe, (), new_config, INCLUDES),),
                  idempotent=True, kept=f"endpoint config {new_name} is kept (undo moves the endpoint back to "
                                        f"{old_name}, which is kept too)")]
    calls += [call for probe, state in targets for call in teardown(probe, state)]
    calls.append(Call(SAGEMAKER, "UpdateEndpoint", {**update, "EndpointConfigName": new_name},
                      expect=on_old, leaves=on_new, wait="endpoint_in_service",
                      undo=Call(SAGEMAKER, "UpdateEndpoint", {**update, "EndpointConfigName": old_name},
                                expect=on_new, leaves=on_old, wait="endpoint_in_service")))
    calls += [call for probe, state in targets for call in restore(probe, state)]
    left = {id(finding) for finding, _ in left_out}
    resolved = [finding for finding in findings if id(finding) not in left]
    savings = sum(finding.monthly_savings_usd or 0 for finding in resolved)
    changes = [Change("create", "endpoint config", new_name,
                      tuple((f"{list_name}[{variant}].InstanceType", old, new)
                            for (list_name, variant), (old, new) in moves.items()),
                      f"a copy of {old_name}, which is kept"),
               Change("update", "endpoint", name, (("EndpointConfigName", old_name, new_name),),
                      "instance counts and weights are kept (RetainAllVariantProperties)"
                      + (f"; saves ~${savings:,.0f}/month" if savings else ""))]
    changes += [Change("update", "scalable target", probe.name, (), _scaling_note(state, "deregistered for the update, "
                                                                                     "then registered again"))
                for probe, state in targets]
    shown = ", ".join(f"{variant} {old} -> {new}" for (_, variant), (old, new) in moves.items())
    step = new_step(resolved, "unsafe", f"change the instance type of endpoint {name} ({shown})", calls, changes)
    return step, left_out


def _moves(findings: list, params: dict) -> tuple:
    """(list, variant) -> (old type, new type), SW301's suggestion before SW302's for the same variant, and the
    findings left out with why (a SW302 finding the SW301 move of its variant settles is not left out)."""
    moves, left_out = {}, []
    for finding in sorted(findings, key=lambda finding: finding.rule_id):
        variant = finding.model_object
        key = ("ShadowProductionVariants" if variant.shadow else "ProductionVariants", variant.variant_name)
        if key in moves:
            new_facts = catalog.lookup(moves[key][1])
            if finding.rule_id == "SW302" and new_facts is not None and new_facts.previous_generation:
                reason = f"this step moves the variant to {moves[key][1]}, itself of a previous generation; plan " \
                         "again after applying it"
                left_out.append((finding, reason))
            continue
        new_type = suggested_type(finding, params)
        if new_type is None or catalog.lookup(new_type) is None:
            left_out.append((finding, f"no instance type to move {variant.instance_type} to is known"))
            continue
        moves[key] = (variant.instance_type, new_type)
    return moves, left_out


def config_name(old: str, new_types: list) -> str:
    """The new config's name: the old one and the new types (``churn-config-m5-xlarge``), within 63
    characters (a hash of that name replaces its end when it is longer)."""
    name = "-".join([old] + [new_type.removeprefix("ml.").replace(".", "-") for new_type in new_types])
    if len(name) <= CONFIG_NAME_LENGTH:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{old[:CONFIG_NAME_LENGTH - len(digest) - 1].rstrip('-')}-{digest}"


def park(finding, context: Context) -> Step:
    """Delete an idle endpoint after taking down its scaling; keep its config and models for undo."""
    name = finding.model_object.name
    scope = finding.location.scope
    if any(v.hosts_inference_components for v in context.model.variants
           if v.location.scope == scope and v.endpoint == name):
        raise Unplannable("it hosts inference components: set their copy counts to 0 or delete them instead")
    reader = context.reader(finding)
    endpoint, tags = _serving_endpoint(reader, name)
    tags_probe = Probe(ENDPOINT_TAGS, name)
    if tags is None:
        raise Unplannable("its tags cannot be read (SageMaker Search does not list it yet), so undo could not "
                          "restore them")
    kept_config = endpoint["EndpointConfigName"]
    config_probe = Probe(ENDPOINT_CONFIG, kept_config)
    config = reader.read(config_probe)
    if config is None:
        raise Unplannable(f"its endpoint config {kept_config} is gone, so undo could not create it again")
    targets = _targets(reader, name, endpoint)
    endpoint_probe = Probe(ENDPOINT, name)
    kept_tags = {key: value for key, value in tags.items() if not key.startswith("aws:")}
    serving = (Expectation(endpoint_probe, ("EndpointConfigName",), kept_config),
               Expectation(endpoint_probe, ("EndpointStatus",), "InService"))
    create = {"EndpointName": name, "EndpointConfigName": kept_config}
    if kept_tags:
        create["Tags"] = [{"Key": key, "Value": value} for key, value in kept_tags.items()]
    delete = Call(SAGEMAKER, "DeleteEndpoint", {"EndpointName": name}, wait="endpoint_deleted",
                  expect=serving + (Expectation(tags_probe, (), tags),),
                  leaves=(Expectation(endpoint_probe, (), None),),
                  undo=Call(SAGEMAKER, "CreateEndpoint", create, wait="endpoint_in_service",
                            expect=(Expectation(endpoint_probe, (), None), Expectation(config_probe, (), config, INCLUDES)),
                            leaves=serving + (Expectation(tags_probe, (), kept_tags, INCLUDES),)))
    calls = [call for probe, state in targets for call in teardown(probe, state)] + [delete]
    counts = ", ".join(f"{variant} {values.get('CurrentInstanceCount')} x {config[list_name][variant].get('InstanceType')}"
                       for list_name in VARIANT_LISTS for variant, values in endpoint.get(list_name, {}).items()
                       if variant in config.get(list_name, {}))
    saving = f"; saves ~${finding.monthly_savings_usd:,.0f}/month" if finding.monthly_savings_usd else ""
    changes = [Change("delete", "endpoint", name, (("EndpointConfigName", kept_config, None),
                                                   ("instances", counts, None)),
                      f"endpoint config {kept_config} and its models are kept; undo creates the endpoint again with "
                      f"its tags and scaling{saving}")]
    changes += [Change("delete", "scalable target", probe.name, (), _scaling_note(state, "undo registers it again"))
                for probe, state in targets]
    return new_step([finding], "unsafe", f"park idle endpoint {name} (delete it, keep endpoint config {kept_config})",
                    calls, changes)


def _serving_endpoint(reader, name: str) -> tuple:
    """The state and tags of an endpoint a step may change: in service, and not a CloudFormation stack's."""
    endpoint = reader.read(Probe(ENDPOINT, name))
    if endpoint is None:
        raise Unplannable(f"endpoint {name} is gone")
    if endpoint["EndpointStatus"] != "InService":
        raise Unplannable(f"endpoint {name} is {endpoint['EndpointStatus']}, not InService")
    tags = reader.read(Probe(ENDPOINT_TAGS, name))
    refuse_if_stack_owned("endpoint", name, tags, "sagewise fix --unsafe-fixes")
    return endpoint, tags


def _targets(reader, name: str, endpoint: dict) -> list:
    """(probe, state) of each registered scalable target of the endpoint's variants."""
    found = []
    for list_name in VARIANT_LISTS:
        for variant in endpoint.get(list_name, {}):
            probe = target_probe(f"endpoint/{name}/variant/{variant}", VARIANT_INSTANCES)
            state = reader.read(probe)
            if state is not None:
                found.append((probe, state))
    return found


def _scaling_note(state: dict, what: str) -> str:
    policies, actions = len(state["Policies"]), len(state["ScheduledActions"])
    return (f"{what}, with its {policies} polic{'y' if policies == 1 else 'ies'} and {actions} scheduled "
            f"action{'' if actions == 1 else 's'}")
