"""The values sagewise's fixes set, the same for a template fix and a live remediation.

``sagewise fix`` writes these shapes into templates and ``sagewise remediate`` sends them to
Application Auto Scaling (``PutScalingPolicy`` takes the same ``TargetTrackingScalingPolicyConfiguration``
as CloudFormation), so a capacity range, a metric and a target value are decided in one place, from
SW101's documented ``fix_*`` parameters. The Spot values (a training job's wait, a group's allocation
strategy) are decided here for the same reason.
"""

from __future__ import annotations

SCALE_OUT_COOLDOWN, SCALE_IN_COOLDOWN = 60, 300
"""Cooldowns of an added policy: add capacity within a minute, remove it only after five."""
PARAMETERS_OF = "SW101"
"""The rule whose parameters set what is added (SW102's fix adds the same policies)."""
LAMBDA_PARAMETERS_OF = "SW402"
"""The rule whose parameters set the policy added to Lambda provisioned concurrency."""


def max_capacity(params: dict, minimum: int) -> int:
    """MaxCapacity for a target starting at ``minimum``: ``fix_max_capacity_factor`` times it, at least one more."""
    return max(minimum * int(params[PARAMETERS_OF]["fix_max_capacity_factor"]), minimum + 1)


def serverless_capacity(params: dict, provisioned: int, max_concurrency: int) -> tuple[int, int]:
    """(MinCapacity, MaxCapacity) for a serverless variant's provisioned concurrency: from what it keeps warm now up to
    ``fix_max_capacity_factor`` times that, at most its MaxConcurrency (the service's ceiling for it). ``ValueError``
    when MaxConcurrency leaves no room to grow: a target pinned at one value would scale nothing."""
    maximum = min(max_capacity(params, provisioned), max_concurrency)
    if maximum <= provisioned:
        raise ValueError("MaxConcurrency leaves provisioned concurrency no room to grow")
    return provisioned, maximum


def tracking(metric: str | None, target_value, customized: dict | None = None) -> dict:
    """A ``TargetTrackingScalingPolicyConfiguration`` on a predefined metric (or a customized one)."""
    configuration = {}
    if customized is not None:
        configuration["CustomizedMetricSpecification"] = customized
    else:
        configuration["PredefinedMetricSpecification"] = {"PredefinedMetricType": metric}
    configuration["TargetValue"] = target_value
    configuration["ScaleInCooldown"] = SCALE_IN_COOLDOWN
    configuration["ScaleOutCooldown"] = SCALE_OUT_COOLDOWN
    return configuration


def variant_policy(params: dict, kind: str, endpoint_name) -> tuple[str, dict]:
    """(policy name, configuration) that scale a variant of ``kind``: the async backlog, the serverless
    provisioned-concurrency utilization, or invocations per instance.

    ``endpoint_name`` is what the async backlog metric's ``EndpointName`` dimension holds (a name, or
    a template's ``!GetAtt Endpoint.EndpointName``); ``None`` when it is not known (async is then refused).
    """
    values = params[PARAMETERS_OF]
    if kind == "async":
        if endpoint_name is None:
            raise ValueError("the asynchronous endpoint's name is not known")
        customized = {"MetricName": "ApproximateBacklogSizePerInstance", "Namespace": "AWS/SageMaker",
                      "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name}], "Statistic": "Average"}
        return "backlog-per-instance", tracking(None, values["fix_target_backlog_per_instance"], customized)
    if kind == "serverless":
        return "provisioned-concurrency-utilization", tracking(
            "SageMakerVariantProvisionedConcurrencyUtilization",
            values["fix_target_provisioned_concurrency_utilization"])
    return "invocations-per-instance", tracking(
        "SageMakerVariantInvocationsPerInstance", values["fix_target_invocations_per_instance"])


def component_policy(params: dict) -> tuple[str, dict]:
    """(policy name, configuration) that scale an inference component's copies."""
    return "invocations-per-copy", tracking("SageMakerInferenceComponentInvocationsPerCopy",
                                            params[PARAMETERS_OF]["fix_target_invocations_per_copy"])


def concurrency_policy(params: dict) -> tuple[str, dict]:
    """(policy name, configuration) that scale Lambda provisioned concurrency (a utilization fraction)."""
    return "provisioned-concurrency-utilization", tracking(
        "LambdaProvisionedConcurrencyUtilization", params[LAMBDA_PARAMETERS_OF]["fix_target_utilization"])


# --- Spot capacity ------------------------------------------------------------------------------------------------

MAX_JOB_SECONDS = 2_419_200
"""28 days: the longest MaxRuntimeInSeconds SageMaker accepts, and the cap of a written MaxWaitTimeInSeconds."""
DEFAULT_RUNTIME_SECONDS = 86_400
"""MaxRuntimeInSeconds when a request leaves it out (one day, CreateTrainingJob's documented default)."""
SPOT_ALLOCATION = "price-capacity-optimized"
"""The Spot allocation strategy SW501's fix sets: the pools least likely to be interrupted, the cheapest of those."""


def max_wait_seconds(params: dict, runtime: int) -> int:
    """SW202's MaxWaitTimeInSeconds for a run time: ``fix_max_wait_multiple`` times it, at most 28 days, never below
    the run time (SageMaker refuses a wait shorter than the run time)."""
    return max(min(runtime * int(params["SW202"]["fix_max_wait_multiple"]), MAX_JOB_SECONDS), runtime)
