"""Application Auto Scaling semantics for SageMaker: dimensions, metric types, default cooldowns.

The tables follow ../shared/reference/aws-ml-facts.md sections 1.5, 2.1 and 2.2 (botocore's
Application Auto Scaling model and the SageMaker Developer Guide).
"""

from __future__ import annotations

VARIANT_INSTANCES = "sagemaker:variant:DesiredInstanceCount"
VARIANT_PROVISIONED_CONCURRENCY = "sagemaker:variant:DesiredProvisionedConcurrency"
COMPONENT_COPIES = "sagemaker:inference-component:DesiredCopyCount"
SAGEMAKER_DIMENSIONS = (VARIANT_INSTANCES, VARIANT_PROVISIONED_CONCURRENCY, COMPONENT_COPIES)

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
}
"""Cooldown applied when a target-tracking policy omits one. Inference components: not documented."""


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
    if metric_type not in METRIC_DIMENSION:
        candidate = _closest(metric_type)
        if candidate is not None and metric_type not in OTHER_SERVICE_METRICS \
                and METRIC_DIMENSION[candidate] == dimension:
            return "metric_type", candidate
        return None
    is_number = isinstance(target_value, (int, float)) and not isinstance(target_value, bool)
    if metric_type in FRACTION_METRICS and is_number and 1 < target_value <= 100:
        return "target_value", round(target_value / 100, 4)
    return None
