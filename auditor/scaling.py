"""Application Auto Scaling semantics for SageMaker: dimensions, metric types, default cooldowns.

The tables follow ../shared/reference/aws-ml-facts.md sections 1.5, 2.1 and 2.2 (botocore's
Application Auto Scaling model and the SageMaker Developer Guide).
"""

from __future__ import annotations

VARIANT_INSTANCES = "sagemaker:variant:DesiredInstanceCount"
VARIANT_PROVISIONED_CONCURRENCY = "sagemaker:variant:DesiredProvisionedConcurrency"
COMPONENT_COPIES = "sagemaker:inference-component:DesiredCopyCount"
SAGEMAKER_DIMENSIONS = (VARIANT_INSTANCES, VARIANT_PROVISIONED_CONCURRENCY, COMPONENT_COPIES)
LAMBDA_CONCURRENCY = "lambda:function:ProvisionedConcurrency"
LAMBDA_UTILIZATION = "LambdaProvisionedConcurrencyUtilization"


def namespace_of(dimension: str) -> str:
    """The service namespace of a scalable dimension: every dimension in botocore's Application Auto Scaling model
    is ``<namespace>:<resource type>:<property>`` (``lambda:function:ProvisionedConcurrency``), and the service
    refuses a ServiceNamespace that is not its dimension's."""
    return dimension.split(":", 1)[0]

METRIC_DIMENSION = {
    "SageMakerVariantInvocationsPerInstance": VARIANT_INSTANCES,
    "SageMakerVariantConcurrentRequestsPerModelHighResolution": VARIANT_INSTANCES,
    "SageMakerVariantProvisionedConcurrencyUtilization": VARIANT_PROVISIONED_CONCURRENCY,
    "SageMakerInferenceComponentInvocationsPerCopy": COMPONENT_COPIES,
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution": COMPONENT_COPIES,
}
"""Each SageMaker predefined metric type and the only dimension it can drive."""

FRACTION_METRICS = frozenset(
    {"SageMakerVariantProvisionedConcurrencyUtilization", "LambdaProvisionedConcurrencyUtilization"}
)
"""Metric types whose target value is a fraction of 1 (0.7 means 70 %)."""

OTHER_SERVICE_METRICS = frozenset(
    {
        "DynamoDBReadCapacityUtilization",
        "DynamoDBWriteCapacityUtilization",
        "ALBRequestCountPerTarget",
        "RDSReaderAverageCPUUtilization",
        "RDSReaderAverageDatabaseConnections",
        "EC2SpotFleetRequestAverageCPUUtilization",
        "EC2SpotFleetRequestAverageNetworkIn",
        "EC2SpotFleetRequestAverageNetworkOut",
        "ECSServiceAverageCPUUtilization",
        "ECSServiceAverageMemoryUtilization",
        "AppStreamAverageCapacityUtilization",
        "ComprehendInferenceUtilization",
        "LambdaProvisionedConcurrencyUtilization",
        "CassandraReadCapacityUtilization",
        "CassandraWriteCapacityUtilization",
        "KafkaBrokerStorageUtilization",
        "ElastiCachePrimaryEngineCPUUtilization",
        "ElastiCacheReplicaEngineCPUUtilization",
        "ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage",
        "ElastiCacheDatabaseCapacityUsageCountedForEvictPercentage",
        "NeptuneReaderAverageCPUUtilization",
        "WorkSpacesAverageUserSessionsCapacityUtilization",
    }
)

DEFAULT_COOLDOWN_SECONDS = {
    VARIANT_INSTANCES: 300,
    VARIANT_PROVISIONED_CONCURRENCY: 300,
    LAMBDA_CONCURRENCY: 0,
}
"""Cooldown applied when a target-tracking policy omits one (facts section 2.1: 0 s for Lambda provisioned
concurrency). Inference components: not documented."""


def metric_problem(metric_type, dimension, target_value) -> str | None:
    """Why a predefined metric cannot drive ``dimension`` (or its target value is in the wrong unit)."""
    if not isinstance(metric_type, str):
        return None
    expected = METRIC_DIMENSION.get(metric_type)
    if expected is None:
        if metric_type in OTHER_SERVICE_METRICS:
            return f"{metric_type} is a metric of another service and cannot scale a SageMaker target"
        suggestion = _closest(metric_type)
        hint = f" (did you mean {suggestion}?)" if suggestion else ""
        return f"{metric_type} is not a predefined metric type{hint}"
    if isinstance(dimension, str) and dimension != expected:
        return f"{metric_type} only drives {expected}, not {dimension}"
    if metric_type in FRACTION_METRICS and isinstance(target_value, (int, float)) and not isinstance(
        target_value, bool
    ):
        if target_value > 1:
            return (
                f"{metric_type} is a fraction between 0 and 1, so a target of {target_value:g} can never be "
                f"reached (write {target_value / 100:g} for {target_value:g} %)"
            )
    return None


def _closest(metric_type: str) -> str | None:
    lowered = metric_type.lower()
    for candidate in METRIC_DIMENSION:
        if candidate.lower().endswith(lowered) or lowered.endswith(candidate.lower()):
            return candidate
    return None


def metric_correction(metric_type, dimension, target_value) -> tuple[str, object] | None:
    """The one unambiguous correction of a policy's metric, as (``metric_type`` | ``target_value``, new value).

    A predefined metric type that is a known one with its prefix missing or added (AWS's own MME
    example writes ``InvocationsPerInstance``) becomes that type when it drives ``dimension``; a
    fraction metric given a percentage (70 for 70 %) becomes the fraction. Anything else (another
    service's metric, a metric for another dimension) has no single right answer: ``None``.
    """
    if not isinstance(metric_type, str):
        return None
    is_number = isinstance(target_value, (int, float)) and not isinstance(target_value, bool)
    if metric_type in FRACTION_METRICS and is_number and 1 < target_value <= 100:
        return "target_value", round(target_value / 100, 4)
    if metric_type not in METRIC_DIMENSION:
        candidate = _closest(metric_type)
        if candidate is not None and metric_type not in OTHER_SERVICE_METRICS \
                and METRIC_DIMENSION[candidate] == dimension:
            return "metric_type", candidate
    return None


ADJUSTMENT_TYPES = ("ChangeInCapacity", "PercentChangeInCapacity", "ExactCapacity")
AGGREGATION_TYPES = ("Average", "Minimum", "Maximum")


def step_problem(steps, adjustment_type, aggregation, directions=()) -> str | None:
    """Why a step scaling configuration cannot work (StepAdjustment's rules in the API reference), or ``None``.

    ``steps`` are ``{"lower", "upper", "adjustment"}`` (``None`` bounds are open); ``directions`` are
    ``up``/``down`` for the alarms that trigger the policy, to catch a scale-out alarm wired to steps
    that only remove capacity (and the reverse).
    """
    if adjustment_type is not None and adjustment_type not in ADJUSTMENT_TYPES:
        return f"AdjustmentType {adjustment_type} is not one of {', '.join(ADJUSTMENT_TYPES)}"
    if aggregation is not None and aggregation not in AGGREGATION_TYPES:
        return f"MetricAggregationType {aggregation} is not one of {', '.join(AGGREGATION_TYPES)}"
    if steps is None:
        return None
    if not steps:
        return "it has no step adjustments"
    for step in steps:
        if step["lower"] is None and step["upper"] is None:
            return "a step has neither a lower nor an upper bound"
        if step["lower"] is not None and step["upper"] is not None and step["upper"] <= step["lower"]:
            return f"a step's upper bound {step['upper']:g} is not above its lower bound {step['lower']:g}"
        if adjustment_type == "ExactCapacity" and step["adjustment"] is not None and step["adjustment"] < 0:
            return f"ExactCapacity needs a non-negative adjustment, not {step['adjustment']:g}"
    if sum(step["lower"] is None for step in steps) > 1:
        return "more than one step has no lower bound"
    if sum(step["upper"] is None for step in steps) > 1:
        return "more than one step has no upper bound"
    if any(step["lower"] is not None and step["lower"] < 0 for step in steps) and \
            not any(step["lower"] is None for step in steps):
        return "a step has a negative lower bound, so one step must have no lower bound"
    if any(step["upper"] is not None and step["upper"] > 0 for step in steps) and \
            not any(step["upper"] is None for step in steps):
        return "a step has a positive upper bound, so one step must have no upper bound"
    ordered = sorted(steps, key=lambda step: float("-inf") if step["lower"] is None else step["lower"])
    for first, second in zip(ordered, ordered[1:]):
        if first["upper"] is None or second["lower"] is None or first["upper"] != second["lower"]:
            overlap = first["upper"] is None or (second["lower"] is not None and first["upper"] > second["lower"])
            return f"the steps {_interval(first)} and {_interval(second)} {'overlap' if overlap else 'leave a gap'}"
    if adjustment_type in ("ChangeInCapacity", "PercentChangeInCapacity"):
        adjustments = [step["adjustment"] for step in steps if step["adjustment"] is not None]
        if "up" in directions and adjustments and all(value < 0 for value in adjustments):
            return "an alarm that fires when its metric rises (scale-out) triggers steps that only remove capacity"
        if "down" in directions and adjustments and all(value > 0 for value in adjustments):
            return "an alarm that fires when its metric falls (scale-in) triggers steps that only add capacity"
    return None


def _interval(step) -> str:
    lower = "-inf" if step["lower"] is None else f"{step['lower']:g}"
    upper = "+inf" if step["upper"] is None else f"{step['upper']:g}"
    return f"[{lower}, {upper})"


def alarm_direction(comparison) -> str | None:
    """``up`` for an alarm that fires when its metric rises, ``down`` when it falls."""
    if not isinstance(comparison, str):
        return None
    if comparison.startswith("GreaterThan"):
        return "up"
    if comparison.startswith("LessThan"):
        return "down"
    return None


UTILIZATION_METRICS = ("CPUUtilization", "MemoryUtilization", "GPUUtilization", "GPUMemoryUtilization")
INVOCATION_METRICS = ("Invocations", "InvocationsPerInstance")
ENDPOINT_INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"


def customized_metric_problem(name, namespace, statistic, dimensions, target_value, dimension) -> str | None:
    """Why a customized metric can never drive a SageMaker variant's instance count, or ``None``.

    Instance utilization lives in ``/aws/sagemaker/Endpoints`` in percent (summed over cores and GPUs),
    per ``EndpointName`` and ``VariantName``; invocation counts live in ``AWS/SageMaker``. A target at or
    below 1 on a percent metric is a fraction written where a percentage is meant.
    """
    if dimension != VARIANT_INSTANCES or not isinstance(name, str):
        return None
    if name in UTILIZATION_METRICS:
        if namespace == "AWS/SageMaker":
            return f"{name} is published in {ENDPOINT_INSTANCE_NAMESPACE}, not AWS/SageMaker"
        if isinstance(target_value, (int, float)) and not isinstance(target_value, bool) and 0 < target_value <= 1:
            return (f"{name} is a percentage (0-100 per core or GPU), so a target of {target_value:g} means "
                    f"{target_value:g} % (write {target_value * 100:g} for {target_value * 100:g} %)")
        if statistic in ("Sum", "SampleCount"):
            return f"the {statistic} of {name} grows with the instance count it should drive; use Average"
        if dimensions is not None and not {"EndpointName", "VariantName"} <= set(dimensions):
            return f"{name} is published per EndpointName and VariantName; without both dimensions it has no data"
    if name in INVOCATION_METRICS and namespace == ENDPOINT_INSTANCE_NAMESPACE:
        return f"{name} is published in AWS/SageMaker, not {ENDPOINT_INSTANCE_NAMESPACE}"
    return None


def lambda_policy_problem(policy_type, metric_type, target_value) -> str | None:
    """Why a policy cannot scale Lambda provisioned concurrency: step scaling is not supported for it, and
    its utilization metric is a fraction in (0, 1]."""
    if policy_type == "StepScaling":
        return "Application Auto Scaling does not support step scaling for Lambda provisioned concurrency"
    if metric_type == LAMBDA_UTILIZATION and isinstance(target_value, (int, float)) \
            and not isinstance(target_value, bool) and not 0 < target_value <= 1:
        hint = f" (write {target_value / 100:g} for {target_value:g} %)" if 1 < target_value <= 100 else ""
        return f"{LAMBDA_UTILIZATION} is a fraction between 0 and 1, so a target of {target_value:g} cannot work{hint}"
    if isinstance(metric_type, str) and metric_type != LAMBDA_UTILIZATION and metric_type in METRIC_DIMENSION:
        return f"{metric_type} is a SageMaker metric and cannot scale a Lambda function"
    return None


SUSPENSION_FLAGS = (("scale-in", "DynamicScalingInSuspended"), ("scale-out", "DynamicScalingOutSuspended"))
"""The ``SuspendedState`` flags that turn dynamic scaling off, and the direction each one stops."""


def suspended_text(flags: dict) -> str | None:
    """Which dynamic scaling a ``SuspendedState`` (flag -> True, False or unknown) turns off, in words the same for
    every source; ``None`` when none. Paused scheduled scaling is not included: pausing schedules is a choice."""
    return " and ".join(direction for direction, flag in SUSPENSION_FLAGS if flags.get(flag) is True) or None
