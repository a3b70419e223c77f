"""The IAM permissions sagewise needs, written once.

``sagewise audit`` refuses, before a request is built, every operation that is not in
:data:`AUDIT_ACTIONS`, and ``sagewise iam-policy`` prints the same statements as a policy for the
user's partition and role name. One list serves both, so the guard and the policy cannot drift
apart (a test also checks the list against every call a full audit makes).

A policy is a tuple of :class:`Statement`; the remediation policy (:data:`REMEDIATE`: what
``sagewise remediate --apply`` and ``sagewise undo`` may call, behind a guard of their own) is a
second tuple beside :data:`AUDIT`, printed by the same command with ``--remediate``. This module does
not import boto3: printing a policy must work where the audit's dependencies are not installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .constants import (  # noqa: F401 (the role names and patterns are read as iam.<name>)
    ACCOUNT_PATTERN,
    DEFAULT_REMEDIATION_ROLE_NAME,
    DEFAULT_ROLE_NAME,
    DEFAULT_ROLE_SESSION_NAME,
    EXTERNAL_ID_PATTERN,
    PARTITIONS,
    ROLE_NAME_PATTERN,
    ROLE_SESSION_NAME_PATTERN,
)


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: tuple
    resources: tuple = ("*",)
    """ARN patterns; ``{partition}`` and ``{role_name}`` are filled in when the policy is printed."""


AUDIT = (
    Statement("ListSageMakerResources", (
        "sagemaker:Search",
        "sagemaker:ListEndpoints",
        "sagemaker:ListInferenceComponents",
        "sagemaker:ListTrainingJobs",
    )),
    Statement("DescribeSageMakerResources", (
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DescribeInferenceComponent",
        "sagemaker:DescribeModel",
        "sagemaker:DescribeTrainingJob",
    ), (
        "arn:{partition}:sagemaker:*:*:endpoint/*",
        "arn:{partition}:sagemaker:*:*:endpoint-config/*",
        "arn:{partition}:sagemaker:*:*:inference-component/*",
        "arn:{partition}:sagemaker:*:*:model/*",
        "arn:{partition}:sagemaker:*:*:training-job/*",
    )),
    Statement("ReadSageMakerAutoScaling", (
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:DescribeScheduledActions",
    )),
    Statement("ReadEndpointMetrics", (
        "cloudwatch:GetMetricData",
        "cloudwatch:ListMetrics",
    )),
    # The alarms that trigger step scaling policies: their metric and direction.
    Statement("ReadScalingAlarms", ("cloudwatch:DescribeAlarms",), ("arn:{partition}:cloudwatch:*:*:alarm:*",)),
    # Lambda functions that serve models: provisioned concurrency, what it keeps warm, who waits for an answer.
    Statement("ListFunctions", ("lambda:ListFunctions",)),
    Statement("ReadFunctions", (
        "lambda:GetFunctionConfiguration",
        "lambda:GetPolicy",
        "lambda:ListFunctionUrlConfigs",
        "lambda:ListProvisionedConcurrencyConfigs",
    ), ("arn:{partition}:lambda:*:*:function:*",)),
    # EC2 Auto Scaling groups: instance types, Spot share, and what sizes them.
    Statement("ReadAutoScalingGroups", (
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeLaunchConfigurations",
        "autoscaling:DescribePolicies",
        "autoscaling:DescribeScheduledActions",
        "ec2:DescribeLaunchTemplateVersions",
    )),
    Statement("ReadCapacityProviders", ("ecs:DescribeCapacityProviders",),
              ("arn:{partition}:ecs:*:*:capacity-provider/*",)),
    Statement("FindScopes", (
        "ec2:DescribeRegions",
        "organizations:ListAccounts",
        "sts:GetCallerIdentity",
    )),
    # Belongs to the identity that starts the audit; the member accounts' role needs the rest.
    Statement("AssumeTheAuditRoleInEachAccount", ("sts:AssumeRole",), ("arn:{partition}:iam::*:role/{role_name}",)),
)
"""What ``sagewise audit`` calls: List/Search for listings, Describe for details, and nothing that writes."""

AUDIT_ACTIONS = frozenset(action for statement in AUDIT for action in statement.actions)
"""Every IAM action (``service:Operation``) the audit may call; the read-only guard allows exactly these."""

DEFAULT_IMPORT_ROLE_NAME = "SagewiseSecurityHubImport"
"""The role a scheduled run assumes in each member account to import that account's findings into Security Hub
(``BatchImportFindings`` only accepts findings of the calling account); the audit role stays read-only."""

SCHEDULED_RUNNER = (
    Statement("WriteReports", ("s3:PutObject",), ("arn:{partition}:s3:::{bucket}/*",)),
    Statement("ReadReports", ("s3:GetObject",), ("arn:{partition}:s3:::{bucket}/*",)),
    Statement("PublishSummaries", ("sns:Publish",), ("{topic}",)),
    Statement("IdentifyTheRunner", ("sts:GetCallerIdentity",)),
    # Belongs to the runner; each member account's import role needs SECURITY_HUB_IMPORT.
    Statement("AssumeTheImportRoleInEachAccount", ("sts:AssumeRole",),
              ("arn:{partition}:iam::*:role/{import_role_name}",)),
)
"""What a scheduled run (:mod:`auditor.lambda_handler`) does besides the audit: write its reports to S3 and read
them back to aggregate, publish a summary to SNS, and reach each account's Security Hub. ``{bucket}`` and
``{topic}`` are the deployment's own (``deploy/scheduled-audit.yaml`` fills them in)."""

SECURITY_HUB_IMPORT = (
    # Security Hub's findings actions are not scoped to a resource here: the role that holds them does nothing else.
    Statement("ImportSagewiseFindings", (
        "securityhub:BatchImportFindings",
        "securityhub:BatchUpdateFindings",
        "securityhub:GetFindings",
    )),
)
"""Import findings, read back sagewise's own to see which are gone, and mark those resolved
(:mod:`auditor.securityhub`)."""

RUNNER_ACTIONS = frozenset(action for statement in SCHEDULED_RUNNER + SECURITY_HUB_IMPORT
                           for action in statement.actions)
"""Every action the scheduled run's own clients may call (the audit's clients keep :data:`AUDIT_ACTIONS`)."""


def policy_document(statements: tuple, *, role_name: str = DEFAULT_ROLE_NAME, partition: str = "aws") -> dict:
    """An IAM policy document granting ``statements`` in ``partition``, assuming roles named ``role_name``."""
    if partition not in PARTITIONS:
        raise ValueError(f"unknown partition {partition!r} (one of {', '.join(PARTITIONS)})")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": statement.sid,
                "Effect": "Allow",
                "Action": list(statement.actions),
                "Resource": _resources([r.format(partition=partition, role_name=role_name)
                                        for r in statement.resources]),
            }
            for statement in statements
        ],
    }


def _resources(resources: list):
    return resources[0] if len(resources) == 1 else resources


_ENDPOINTS = ("arn:{partition}:sagemaker:*:*:endpoint/*",)
_ENDPOINTS_AND_CONFIGS = _ENDPOINTS + ("arn:{partition}:sagemaker:*:*:endpoint-config/*",)
_FUNCTIONS = ("arn:{partition}:lambda:*:*:function:*",)
"""Functions, their aliases and their versions (``function:<name>:<qualifier>`` matches the pattern too)."""

REMEDIATE = (
    Statement("ReadWhatRemediationChecks", (
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
    ), _ENDPOINTS_AND_CONFIGS),
    Statement("ReadEndpointTags", ("sagemaker:Search",)),
    Statement("ReadProvisionedConcurrency", ("lambda:ListProvisionedConcurrencyConfigs",), _FUNCTIONS),
    Statement("ReadAutoScalingGroups", ("autoscaling:DescribeAutoScalingGroups",)),
    Statement("ReadApplicationAutoScaling", (
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:DescribeScheduledActions",
    )),
    Statement("ChangeApplicationAutoScaling", (
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:DeregisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DeleteScalingPolicy",
        "application-autoscaling:PutScheduledAction",
        "application-autoscaling:DeleteScheduledAction",
    )),
    # Application Auto Scaling creates its role for SageMaker (or Lambda) on the first registration there, with the
    # caller's rights.
    Statement("CreateTheScalingServiceLinkedRoles", ("iam:CreateServiceLinkedRole",), (
        "arn:{partition}:iam::*:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
        "arn:{partition}:iam::*:role/aws-service-role/lambda.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency")),
    # Application Auto Scaling refuses a registration or a policy unless the caller could make the changes it will make
    # itself: the target service's, and the CloudWatch alarms of target tracking (its user guide, "Permissions
    # validation for API calls on target resources").
    Statement("WhatApplicationAutoScalingChecksOnEndpoints", ("sagemaker:UpdateEndpointWeightsAndCapacities",),
              _ENDPOINTS),
    Statement("WhatApplicationAutoScalingChecksOnFunctions", (
        "lambda:GetProvisionedConcurrencyConfig",
        "lambda:PutProvisionedConcurrencyConfig",
        "lambda:DeleteProvisionedConcurrencyConfig",
    ), _FUNCTIONS),
    Statement("WhatApplicationAutoScalingChecksOnAlarms", (
        "cloudwatch:DescribeAlarms",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DeleteAlarms",
    ), ("arn:{partition}:cloudwatch:*:*:alarm:*",)),
    Statement("ChangeEndpointInstances", (
        "sagemaker:CreateEndpointConfig",
        "sagemaker:UpdateEndpoint",
    ), _ENDPOINTS_AND_CONFIGS),
    # SageMaker checks AddTags when CreateEndpoint carries tags (the parked endpoint's, recreated by undo).
    Statement("ParkAndRecreateEndpoints", (
        "sagemaker:DeleteEndpoint",
        "sagemaker:CreateEndpoint",
        "sagemaker:AddTags",
    ), _ENDPOINTS_AND_CONFIGS),
    # The Spot allocation strategy and Capacity Rebalancing; an update that names no launch template is not checked
    # against launching from one (auditor/remediation/group_fixes.py).
    Statement("ChangeSpotAutoScalingGroups", ("autoscaling:UpdateAutoScalingGroup",),
              ("arn:{partition}:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*",)),
    Statement("IdentifyTheCaller", ("sts:GetCallerIdentity",)),
    # Belongs to the identity that applies a plan; the role in each other account needs the rest.
    Statement("AssumeTheRemediationRoleInEachAccount", ("sts:AssumeRole",),
              ("arn:{partition}:iam::*:role/{role_name}",)),
)
"""What ``sagewise remediate --apply`` and ``sagewise undo`` call: the reads that check a step's expected state
(the same reads that plan it), the writes of the live fixes, and identity. Planning is an audit, under the
audit's policy."""

AUTHORIZED_NOT_CALLED = frozenset({
    "iam:CreateServiceLinkedRole",
    "sagemaker:AddTags",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "lambda:GetProvisionedConcurrencyConfig",
    "lambda:PutProvisionedConcurrencyConfig",
    "lambda:DeleteProvisionedConcurrencyConfig",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:DeleteAlarms",
})
"""Actions of :data:`REMEDIATE` that AWS checks on the caller's behalf inside another call; sagewise never
calls them itself, so its guard refuses them."""

REMEDIATE_ACTIONS = frozenset(action for statement in REMEDIATE for action in statement.actions) \
    - AUTHORIZED_NOT_CALLED
"""Every IAM action the clients of ``remediate --apply`` and ``undo`` may call; their guard allows exactly these."""
