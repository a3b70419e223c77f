"""Reading the state a step relies on, and comparing it with what the step expects.

One reader serves planning (through the audit's read-only clients), applying and undoing (through
the remediation's clients), so the state a plan records and the state an apply finds are read and
normalized the same way: plain JSON values, datetimes as ISO strings, variants and policies keyed by
name, identifiers and timestamps AWS assigns (ARNs, creation times, alarms) left out.

- a scalable target: ``None``, or its capacity range and suspended state, with its ``Policies`` and
  ``ScheduledActions`` by name (each as the request that would create it, less the names);
- an endpoint: ``None``, or its config name, status and each variant's current instance count (a serverless
  variant's current serverless config: its provisioned concurrency and MaxConcurrency);
- an endpoint's tags: ``None`` (no such endpoint in ``Search``), or tag key -> value;
- an endpoint config: ``None``, or the ``CreateEndpointConfig`` request that would make it again (less
  its name and tags), its variants keyed by name;
- a Lambda alias's or version's provisioned concurrency: ``None``, or the executions requested for it (what
  Application Auto Scaling changes; the executions allocated trail behind while Lambda prepares them);
- an EC2 Auto Scaling group: ``None``, or its ``CapacityRebalance``, its mixed instances policy's
  ``InstancesDistribution`` (when it has one) and its tags.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from .. import faults
from ..sources.aws_lambda import PAGE as LAMBDA_PAGE
from ..sources.aws_lambda import qualifier_of
from .steps import (
    AUTO_SCALING_GROUP,
    ENDPOINT,
    ENDPOINT_CONFIG,
    ENDPOINT_TAGS,
    EQUALS,
    PROVISIONED_CONCURRENCY,
    TARGET,
    Expectation,
    Probe,
)

VARIANT_LISTS = ("ProductionVariants", "ShadowProductionVariants")
_POLICY_FIELDS = ("PolicyType", "StepScalingPolicyConfiguration", "TargetTrackingScalingPolicyConfiguration",
                  "PredictiveScalingPolicyConfiguration")
_ACTION_FIELDS = ("Schedule", "Timezone", "StartTime", "EndTime", "ScalableTargetAction")


def plain(value):
    """``value`` as JSON has it: datetimes as ISO strings in UTC, tuples as lists."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


class Reader:
    """Reads probes through one scope's clients (an :class:`auditor.sources.aws.RegionClients`)."""

    def __init__(self, clients):
        self.clients = clients

    def read(self, probe: Probe):
        if probe.kind == TARGET:
            return self._target(probe)
        if probe.kind == ENDPOINT:
            return self._endpoint(probe.name)
        if probe.kind == ENDPOINT_TAGS:
            return self._tags(probe.name)
        if probe.kind == ENDPOINT_CONFIG:
            return self._config(probe.name)
        if probe.kind == PROVISIONED_CONCURRENCY:
            return self._provisioned_concurrency(probe.name)
        if probe.kind == AUTO_SCALING_GROUP:
            return self._group(probe.name)
        raise ValueError(f"unknown probe kind {probe.kind!r}")

    def snapshot(self, expectations) -> dict:
        """Probe -> state, each probe the expectations name read once."""
        return {probe: self.read(probe) for probe in dict.fromkeys(e.probe for e in expectations)}

    def _target(self, probe: Probe):
        autoscaling = self.clients.autoscaling
        where = {"ServiceNamespace": probe.namespace, "ScalableDimension": probe.dimension}
        targets = [target for target in autoscaling.describe_scalable_targets(ResourceIds=[probe.name], **where)
                   .get("ScalableTargets", ()) if _is(target, probe)]
        if not targets:
            return None
        target = targets[0]
        state = {"MinCapacity": target["MinCapacity"], "MaxCapacity": target["MaxCapacity"]}
        if "SuspendedState" in target:
            state["SuspendedState"] = target["SuspendedState"]
        policies = [policy for page in autoscaling.get_paginator("describe_scaling_policies")
                    .paginate(ResourceId=probe.name, **where) for policy in page.get("ScalingPolicies", ())]
        state["Policies"] = {policy["PolicyName"]: {key: policy[key] for key in _POLICY_FIELDS if key in policy}
                             for policy in policies if _is(policy, probe)}
        actions = [action for page in autoscaling.get_paginator("describe_scheduled_actions")
                   .paginate(ResourceId=probe.name, **where) for action in page.get("ScheduledActions", ())]
        state["ScheduledActions"] = {action["ScheduledActionName"]: {key: action[key] for key in _ACTION_FIELDS
                                                                     if key in action}
                                     for action in actions if _is(action, probe)}
        return plain(state)

    def _endpoint(self, name: str):
        described = _gone_is_none(self.clients.sagemaker.describe_endpoint, EndpointName=name)
        if described is None:
            return None
        state = {"EndpointConfigName": described.get("EndpointConfigName"),
                 "EndpointStatus": described.get("EndpointStatus")}
        for list_name in VARIANT_LISTS:
            if described.get(list_name):
                state[list_name] = {variant["VariantName"]: _variant(variant) for variant in described[list_name]}
        return plain(state)

    def _tags(self, name: str):
        """Tags from ``Search`` (the audit's own read; it has no ``ListTags``)."""
        expression = {"Filters": [{"Name": "EndpointName", "Operator": "Equals", "Value": name}]}
        for page in self.clients.sagemaker.get_paginator("search").paginate(Resource="Endpoint",
                                                                            SearchExpression=expression):
            for record in page.get("Results", ()):
                endpoint = record.get("Endpoint", {})
                if endpoint.get("EndpointName") == name:
                    return {tag["Key"]: tag.get("Value", "") for tag in endpoint.get("Tags", ())}
        return None

    def _provisioned_concurrency(self, name: str):
        """From ``ListProvisionedConcurrencyConfigs`` (the audit's read; ``GetProvisionedConcurrencyConfig`` is not)."""
        function, qualifier = name.rsplit(":", 1)
        pages = self.clients.awslambda.get_paginator("list_provisioned_concurrency_configs").paginate(
            FunctionName=function, MaxItems=LAMBDA_PAGE)
        try:
            configs = [config for page in pages for config in page.get("ProvisionedConcurrencyConfigs", ())]
        except ClientError as exc:
            if faults.is_gone(exc):
                return None
            raise
        for config in configs:
            if qualifier_of(config["FunctionArn"]) == qualifier:
                requested = "RequestedProvisionedConcurrentExecutions"
                return {requested: config.get(requested)}
        return None

    def _group(self, name: str):
        described = self.clients.ec2_autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[name], IncludeInstances=False).get("AutoScalingGroups", ())
        group = next((group for group in described if group.get("AutoScalingGroupName") == name), None)
        if group is None:
            return None
        state = {"CapacityRebalance": group.get("CapacityRebalance") is True,
                 "Tags": {tag["Key"]: tag.get("Value", "") for tag in group.get("Tags") or ()}}
        if group.get("MixedInstancesPolicy"):
            state["InstancesDistribution"] = group["MixedInstancesPolicy"].get("InstancesDistribution") or {}
        return plain(state)

    def _config(self, name: str):
        sagemaker = self.clients.sagemaker
        described = _gone_is_none(sagemaker.describe_endpoint_config, EndpointConfigName=name)
        if described is None:
            return None
        request = sagemaker.meta.service_model.operation_model("CreateEndpointConfig").input_shape.members
        state = {}
        for key, value in described.items():
            if key not in request or key in ("EndpointConfigName", "Tags") or value in ({}, []):
                continue  # an empty structure sets nothing (moto answers DataCaptureConfig: {} for none)
            if key in VARIANT_LISTS:
                value = {variant["VariantName"]: variant for variant in value}
            state[key] = value
        return plain(state)


def _variant(described: dict) -> dict:
    state = {"CurrentInstanceCount": described.get("CurrentInstanceCount")}
    if "CurrentServerlessConfig" in described:
        state["CurrentServerlessConfig"] = described["CurrentServerlessConfig"]
    return state


def _is(item: dict, probe: Probe) -> bool:
    # The ResourceId filters are prefix or substring matches in some implementations: compare exactly.
    return item.get("ResourceId") == probe.name and item.get("ScalableDimension") == probe.dimension


def _gone_is_none(call, **params):
    try:
        return call(**params)
    except ClientError as exc:
        if faults.is_gone(exc):
            return None
        raise


def config_request(state: dict, name: str) -> dict:
    """The ``CreateEndpointConfig`` parameters that make an endpoint config named ``name`` from a config's state."""
    request = {"EndpointConfigName": name}
    for key, value in state.items():
        request[key] = list(value.values()) if key in VARIANT_LISTS else value
    return request


def value_at(state, path):
    """The value at ``path`` in ``state``; ``None`` when anything on the way is missing."""
    for key in path:
        if not isinstance(state, dict) or key not in state:
            return None
        state = state[key]
    return state


def holds(expectation: Expectation, snapshot: dict) -> bool:
    found = value_at(snapshot[expectation.probe], expectation.path)
    if expectation.match == EQUALS or expectation.value is None:
        return found == expectation.value
    return _includes(found, expectation.value)


def _includes(found, expected) -> bool:
    if isinstance(expected, dict):
        return isinstance(found, dict) and all(
            key in found and _includes(found[key], value) for key, value in expected.items())
    return found == expected


def mismatches(expectations, snapshot: dict) -> list[str]:
    """One line per expectation that does not hold: where, what it expected and what is there (for two
    structures, only the fields that differ)."""
    lines = []
    for expectation in expectations:
        if holds(expectation, snapshot):
            continue
        found = value_at(snapshot[expectation.probe], expectation.path)
        differences = _differences(expectation.value, found, expectation.match, list(expectation.path))
        lines.append("; ".join(f"{_where(expectation.probe, path)}: expected {_shown(expected)}, found {_shown(actual)}"
                               for path, expected, actual in differences[:3]))
    return lines


def _differences(expected, found, match: str, path: list) -> list:
    if isinstance(expected, dict) and isinstance(found, dict) and expected:
        keys = list(expected) + ([key for key in found if key not in expected] if match == EQUALS else [])
        return [difference for key in keys
                for difference in _differences(expected.get(key), found.get(key), match, path + [key])
                if expected.get(key) != found.get(key)]
    return [] if expected == found else [(path, expected, found)]


def _where(probe, path) -> str:
    return probe.label() + (f" {'.'.join(str(key) for key in path)}" if path else "")


def _shown(value) -> str:
    if value is None:
        return "none"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."
