"""Helpers of the remediation tests: plans from an in-process moto account, and the account's scaling state.

The account is :func:`audit_scenario.seed_rule_scenario`'s (or a smaller one); plans are made the way
``sagewise remediate`` makes them (an audit, then :func:`auditor.remediation.plan.make_plan`).
"""

from __future__ import annotations

import audit_scenario as scenario
from auditor.audit import AuditOptions, run_audit
from auditor.remediation.plan import make_plan
from auditor.rules import load_rules, select

REGION = "us-east-1"
ACCOUNT = scenario.ACCOUNT


def all_params(overrides: dict | None = None) -> dict:
    return {rule.id: {**rule.default_params(), **(overrides or {}).get(rule.id, {})} for rule in load_rules()}


def audit(selected: list | None = None, overrides: dict | None = None):
    rules = select(load_rules(), select=selected)
    return run_audit(AuditOptions(regions=(REGION,)), rules, overrides or {}, {})


def plan(selected: list | None = None, *, unsafe: bool = False, overrides: dict | None = None):
    """(plan, unreadable) of the moto account as ``sagewise remediate`` makes it."""
    return make_plan(audit(selected, overrides), all_params(overrides), unsafe=unsafe)


def scaling_state(c) -> dict:
    """Every SageMaker scalable target with its policies and scheduled actions, as AWS describes them, less what
    AWS assigns on creation (ARNs, times, alarm names): equal before and after an undo means restored exactly."""
    volatile = {"ScalableTargetARN", "PolicyARN", "ScheduledActionARN", "CreationTime", "Alarms"}

    def kept(item: dict) -> dict:
        return {key: value for key, value in item.items() if key not in volatile}

    autoscaling = c.autoscaling
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    policies = [policy for page in autoscaling.get_paginator("describe_scaling_policies")
                .paginate(ServiceNamespace="sagemaker") for policy in page["ScalingPolicies"]]
    actions = autoscaling.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"]
    return {
        "targets": sorted((kept(target) for target in targets), key=lambda item: item["ResourceId"]),
        "policies": sorted((kept(policy) for policy in policies), key=lambda item: (item["ResourceId"],
                                                                                   item["PolicyName"])),
        "actions": sorted((kept(action) for action in actions), key=lambda item: item["ScheduledActionName"]),
    }


def endpoints(c) -> dict:
    """Endpoint name -> (config name, status, tags) of every endpoint."""
    found = {}
    for summary in c.sagemaker.list_endpoints()["Endpoints"]:
        name = summary["EndpointName"]
        described = c.sagemaker.describe_endpoint(EndpointName=name)
        tags = c.sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
        found[name] = (described["EndpointConfigName"], described["EndpointStatus"],
                       sorted((tag["Key"], tag["Value"]) for tag in tags))
    return found

