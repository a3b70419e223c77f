"""Live source: what one AWS account and region runs, as the normalized resource model.

The audit evaluates the same rule files as lint, so this module's only job is translation: boto3
responses become the :mod:`auditor.model` objects a template would have produced, located by ARN
(``Location.scope`` is ``account/region``), plus the evidence only a live account has: invocation
counts and utilization peaks from CloudWatch, endpoint age, and what a smaller instance would save.

Cost of a region, in API calls: a constant number of paginated listings (endpoints, scalable
targets, policies, scheduled actions, training jobs, one ``GetMetricData`` per 500 metric queries),
plus one ``DescribeEndpoint`` per endpoint, one ``DescribeEndpointConfig`` per distinct config,
``DescribeModel`` only for models whose images the endpoint does not report (AWS reports them as
``DeployedImages``), and one ``DescribeTrainingJob`` per recent job (listings do not say which used
spot). Describes run a few at a time (:data:`DESCRIBES_IN_FLIGHT`).

Nothing here guesses: a fact that needs a response that is missing or incomplete stays ``None``,
and the rules stay silent on it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from .. import catalog, images, linking
from ..rightsizing import Headroom, Utilization, is_gpu, suggest_smaller_type
from ..model import (Endpoint, InferenceComponent, Location, ResourceModel, ScalableTarget, ScalingPolicy,
                     TrainingJob, Variant)

SOURCE = "aws"
NAMESPACE = "sagemaker"
METRIC_QUERIES_PER_CALL = 500
"""GetMetricData's limit on queries in one request."""
DAY_SECONDS = 86_400
DESCRIBES_IN_FLIGHT = 8
"""Concurrent describe requests within one scope. botocore clients are thread-safe and keep up to 10
connections (``max_pool_connections``), so this stays under 10; standard retries absorb throttling."""
_NOT_FOUND_CODES = frozenset({"ValidationException", "ResourceNotFound", "ResourceNotFoundException"})
"""What SageMaker answers for a name that no longer exists (deleted between listing and describing)."""


@dataclass(frozen=True)
class RegionClients:
    """The three clients one account x region scope reads through, created once by the caller."""

    sagemaker: Any
    autoscaling: Any
    cloudwatch: Any


@dataclass(frozen=True)
class CollectSettings:
    lookback_days: int
    """Window of the CloudWatch evidence (SW303's ``lookback_days``)."""
    training_days: int
    """Training jobs created in this many past days are read."""
    headroom: Headroom | None
    """``None``: no smaller instance type is suggested."""
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def collect(clients: RegionClients, account: str, region: str, settings: CollectSettings) -> ResourceModel:
    """Read one account and region into a linked :class:`ResourceModel`."""
    scope = _Scope(account, region)
    model = ResourceModel()
    hosting = _Hosting(clients.sagemaker, settings.now)
    records = hosting.endpoints(scope)
    for record in records:
        model.endpoints.append(record.endpoint)
        model.variants.extend(record.variants)
    model.inference_components.extend(hosting.inference_components(scope, records))
    model.scalable_targets.extend(_scalable_targets(clients.autoscaling, scope))
    model.scaling_policies.extend(_scaling_policies(clients.autoscaling, scope))
    model.training_jobs.extend(_spot_training_jobs(clients.sagemaker, scope, settings))
    _attach_metrics(clients.cloudwatch, records, settings)
    linking.link(model)
    return model


@dataclass(frozen=True)
class _Scope:
    account: str
    region: str

    def location(self, arn: str, path: str = "") -> Location:
        return Location(scope=f"{self.account}/{self.region}", resource=arn, path=path,
                        account=self.account, region=self.region)


def _pages(client, operation: str, result_key: str, **params) -> Iterator[dict]:
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(result_key, ())


def _concurrently(function: Callable, items: list) -> list:
    """``function`` of every item, :data:`DESCRIBES_IN_FLIGHT` at a time, results in the order of ``items``."""
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=DESCRIBES_IN_FLIGHT) as pool:
        return list(pool.map(function, items))


def _describe_all(call: Callable, parameter: str, names: list) -> list:
    return _concurrently(lambda name: _describe(call, **{parameter: name}), names)


def _describe(call: Callable, **params) -> dict | None:
    """A describe call's response, or ``None`` when the resource vanished since it was listed."""
    try:
        return call(**params)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _NOT_FOUND_CODES:
            return None
        raise


def _located(location: Location, paths: dict) -> dict:
    """Field name -> Location of that field, from field name -> property path under ``location``."""
    prefix = f"{location.path}." if location.path else ""
    return {name: location.at(prefix + path) for name, path in paths.items()}


# --- Endpoints, variants, inference components --------------------------------------------------


@dataclass
class _EndpointRecord:
    """An endpoint with its variants, as the later steps (components, metrics) need them together."""

    endpoint: Endpoint
    variants: list

    @property
    def hosts_components(self) -> bool:
        return any(variant.hosts_inference_components for variant in self.variants)


class _Hosting:
    """SageMaker hosting reads for one region, each endpoint config and model described once.

    Describes go out in three waves (endpoints, then their distinct configs, then the distinct
    models whose images the endpoints do not report), each wave :data:`DESCRIBES_IN_FLIGHT`
    requests at a time: against AWS a describe is a network round trip, and a region with
    hundreds of endpoints would otherwise spend its time waiting on them one by one.
    """

    def __init__(self, sagemaker, now: datetime):
        self.sagemaker = sagemaker
        self.now = now
        self._configs: dict[str, dict | None] = {}
        self._model_images: dict[str, list] = {}

    def endpoints(self, scope: _Scope) -> list[_EndpointRecord]:
        names = [summary["EndpointName"]
                 for summary in _pages(self.sagemaker, "list_endpoints", "Endpoints", MaxResults=100)]
        described = [endpoint for endpoint in _describe_all(self.sagemaker.describe_endpoint, "EndpointName", names)
                     if endpoint is not None]
        config_names = list(dict.fromkeys(endpoint["EndpointConfigName"] for endpoint in described))
        self._configs.update(zip(config_names, _describe_all(self.sagemaker.describe_endpoint_config,
                                                             "EndpointConfigName", config_names), strict=True))
        model_names = list(dict.fromkeys(self._models_without_reported_images(described)))
        self._model_images.update(zip(model_names, _concurrently(self._read_model_images, model_names), strict=True))
        return [self._record(endpoint, scope) for endpoint in described]

    def _models_without_reported_images(self, described: list) -> Iterator[str]:
        for endpoint in described:
            configured = {v["VariantName"]: v for v in (self._configs[endpoint["EndpointConfigName"]] or {})
                          .get("ProductionVariants", ())}
            for live in endpoint.get("ProductionVariants", ()):
                model = configured.get(live["VariantName"], {}).get("ModelName")
                if model and not _deployed_images(live):
                    yield model

    def _read_model_images(self, name: str) -> list:
        described = _describe(self.sagemaker.describe_model, ModelName=name)
        if described is None:
            return []
        containers = [described["PrimaryContainer"]] if "PrimaryContainer" in described \
            else described.get("Containers", [])
        return [container["Image"] for container in containers if container.get("Image")]

    def _images_of_model(self, name: str) -> list:
        if name not in self._model_images:
            self._model_images[name] = self._read_model_images(name)
        return self._model_images[name]

    def _record(self, described: dict, scope: _Scope) -> _EndpointRecord:
        name = described["EndpointName"]
        arn = described["EndpointArn"]
        config = self._configs[described["EndpointConfigName"]] or {}
        config_variants = {v["VariantName"]: v for v in config.get("ProductionVariants", ())}
        is_async = "AsyncInferenceConfig" in config or "AsyncInferenceConfig" in described
        variants = []
        for live in described.get("ProductionVariants", ()):
            configured = config_variants.get(live["VariantName"])
            variants.append(self._variant(live, configured, endpoint_name=name, endpoint_arn=arn, is_async=is_async,
                                          scope=scope))
        kinds = {variant.kind for variant in variants}
        cost = _rounded(_sum_or_none(variant.monthly_cost_usd for variant in variants))
        endpoint = Endpoint(
            source=SOURCE,
            location=scope.location(arn),
            name=name,
            status=described.get("EndpointStatus"),
            kind=kinds.pop() if len(kinds) == 1 else None,
            age_days=_age_days(described.get("CreationTime"), self.now),
            instance_count=_sum_or_none(variant.instance_count for variant in variants),
            monthly_cost_usd=cost,
            monthly_savings_usd=cost,
        )
        return _EndpointRecord(endpoint, variants)

    def _variant(self, live: dict, configured: dict | None, *, endpoint_name: str, endpoint_arn: str, is_async: bool,
                 scope: _Scope) -> Variant:
        """A variant as the endpoint runs it (``live``) and as its config declares it (``None``: config gone)."""
        variant_name = live["VariantName"]
        location = scope.location(endpoint_arn, f"ProductionVariants[{variant_name}]")
        serverless = "CurrentServerlessConfig" in live or (configured is not None and "ServerlessConfig" in configured)
        if serverless:
            kind = "serverless"
        elif configured is None:
            kind = None  # the endpoint config was deleted: whether the variant is async is unknown
        else:
            kind = "async" if is_async else "real-time"
        instance_type = configured.get("InstanceType") if configured else None
        facts = catalog.lookup(instance_type)
        managed = (live.get("ManagedInstanceScaling") or (configured or {}).get("ManagedInstanceScaling") or {})
        count = live.get("CurrentInstanceCount", (configured or {}).get("InitialInstanceCount"))
        container_images = self._variant_images(live, configured)
        return Variant(
            source=SOURCE,
            location=location,
            field_locations=_located(location, {
                "instance_type": "InstanceType", "instance_count": "CurrentInstanceCount",
                "managed_instance_scaling": "ManagedInstanceScaling",
            }),
            endpoint=endpoint_name,
            endpoint_key=endpoint_name,
            variant_name=variant_name,
            variant_key=variant_name,
            kind=kind,
            instance_count=None if serverless else count,
            **catalog.instance_fields(instance_type),
            managed_instance_scaling=managed.get("Status") == "ENABLED",
            hosts_inference_components=_hosts_components(configured, serverless),
            images=container_images,
            cpu_only_image=images.cpu_only(container_images),
            monthly_cost_usd=None if serverless else _monthly_cost(facts, count),
        )

    def _variant_images(self, live: dict, configured: dict | None) -> list:
        """Images from the endpoint's own report when it gives one, else from the variant's model."""
        deployed = _deployed_images(live)
        if deployed:
            return deployed
        if configured and configured.get("ModelName"):
            return list(self._images_of_model(configured["ModelName"]))
        return []

    def inference_components(self, scope: _Scope, records: list[_EndpointRecord]) -> list[InferenceComponent]:
        """Components of the region, read only when some endpoint is built for them.

        An endpoint hosts inference components only when its variants name no model, so a region
        without such endpoints costs no call (and an API that lacks the operation is never asked).
        Each component's images join its variant's, so ``cpu_only_image`` covers what really runs.
        """
        if not any(record.hosts_components for record in records):
            return []
        variants = {(v.endpoint_key, v.variant_key): v for record in records for v in record.variants}
        components = []
        unreadable = set()
        for summary in _pages(self.sagemaker, "list_inference_components", "InferenceComponents", MaxResults=100):
            name = summary["InferenceComponentName"]
            components.append(InferenceComponent(
                source=SOURCE,
                location=scope.location(summary["InferenceComponentArn"]),
                name=name,
                key=name,
                endpoint=summary.get("EndpointName"),
                variant_name=summary.get("VariantName"),
            ))
            key = (summary.get("EndpointName"), summary.get("VariantName"))
            variant = variants.get(key)
            if variant is None:
                continue
            variant.hosts_inference_components = True
            component_images = self._component_images(name)
            if component_images:
                variant.images = variant.images + component_images
            else:
                unreadable.add(key)
            # One image that cannot be read leaves the variant's cpu_only_image unknown.
            variant.cpu_only_image = None if key in unreadable else images.cpu_only(variant.images)
        return components

    def _component_images(self, name: str) -> list:
        """Images a component runs (its container's, or its model's); empty when they cannot be read."""
        described = _describe(self.sagemaker.describe_inference_component, InferenceComponentName=name)
        if described is None:
            return []
        specification = described.get("Specification", {})
        image = specification.get("Container", {}).get("DeployedImage", {}).get("SpecifiedImage")
        if image:
            return [image]
        if specification.get("ModelName"):
            return list(self._images_of_model(specification["ModelName"]))
        return []


def _deployed_images(live: dict) -> list:
    """The images DescribeEndpoint reports for a variant (absent in some responses, e.g. moto's)."""
    return [image["SpecifiedImage"] for image in live.get("DeployedImages", ()) if image.get("SpecifiedImage")]


def _hosts_components(configured: dict | None, serverless: bool) -> bool:
    """A variant built for inference components names no model (its models come from the components)."""
    return configured is not None and not serverless and not configured.get("ModelName")


def _age_days(created: datetime | None, now: datetime) -> float | None:
    if created is None:
        return None
    return round((now - created).total_seconds() / DAY_SECONDS, 2)


def _sum_or_none(values):
    values = list(values)
    return None if not values or any(value is None for value in values) else sum(values)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _monthly_cost(facts: catalog.InstanceFacts | None, count: int | None) -> float | None:
    """Estimated on-demand cost of ``count`` instances for a month (catalog prices are estimates)."""
    if facts is None or facts.price_per_hour is None or count is None:
        return None
    return round(facts.price_per_hour * catalog.HOURS_PER_MONTH * count, 2)


# --- Application Auto Scaling -------------------------------------------------------------------


def _scalable_targets(autoscaling, scope: _Scope) -> list[ScalableTarget]:
    actions: dict[tuple, int] = {}
    for action in _pages(autoscaling, "describe_scheduled_actions", "ScheduledActions",
                         ServiceNamespace=NAMESPACE, MaxResults=50):
        triple = (action["ResourceId"], action["ScalableDimension"])
        actions[triple] = actions.get(triple, 0) + 1
    targets = []
    for item in _pages(autoscaling, "describe_scalable_targets", "ScalableTargets",
                       ServiceNamespace=NAMESPACE, MaxResults=50):
        resource_id, dimension = item["ResourceId"], item["ScalableDimension"]
        namespace = item["ServiceNamespace"]
        # Older responses carry no ARN; the target's composite ID (what CloudFormation's Ref gives) names it.
        location = scope.location(item.get("ScalableTargetARN") or f"{resource_id}|{dimension}|{namespace}")
        targets.append(ScalableTarget(
            source=SOURCE,
            location=location,
            field_locations=_located(location, {
                "resource_id": "ResourceId", "min_capacity": "MinCapacity", "max_capacity": "MaxCapacity",
            }),
            resource_id=resource_id,
            namespace=namespace,
            dimension=dimension,
            min_capacity=item.get("MinCapacity"),
            max_capacity=item.get("MaxCapacity"),
            scheduled_action_count=actions.get((resource_id, dimension), 0),
            key=[("triple", resource_id, dimension, namespace)],
            **linking.parse_resource_id(resource_id, dimension),
        ))
    return targets


def _scaling_policies(autoscaling, scope: _Scope) -> list[ScalingPolicy]:
    policies = []
    tracking_path = "TargetTrackingScalingPolicyConfiguration"
    # DescribeScalingPolicies returns at most 10 policies a page.
    for item in _pages(autoscaling, "describe_scaling_policies", "ScalingPolicies",
                       ServiceNamespace=NAMESPACE, MaxResults=10):
        tracking = item.get(tracking_path, {})
        predefined = tracking.get("PredefinedMetricSpecification", {})
        location = scope.location(item["PolicyARN"])
        policies.append(ScalingPolicy(
            source=SOURCE,
            location=location,
            field_locations=_located(location, {
                "metric_type": f"{tracking_path}.PredefinedMetricSpecification.PredefinedMetricType",
                "target_value": f"{tracking_path}.TargetValue",
                "scale_in_cooldown": f"{tracking_path}.ScaleInCooldown",
                "scale_out_cooldown": f"{tracking_path}.ScaleOutCooldown",
            }),
            name=item["PolicyName"],
            policy_type=item.get("PolicyType"),
            target_key=("triple", item["ResourceId"], item["ScalableDimension"], item["ServiceNamespace"]),
            resource_id=item["ResourceId"],
            namespace=item["ServiceNamespace"],
            dimension=item["ScalableDimension"],
            metric_type=predefined.get("PredefinedMetricType"),
            customized_metric="CustomizedMetricSpecification" in tracking,
            target_value=tracking.get("TargetValue"),
            scale_in_cooldown=tracking.get("ScaleInCooldown"),
            scale_out_cooldown=tracking.get("ScaleOutCooldown"),
            # Only target tracking has these cooldowns; a step policy's are not "defaulted", they do not exist.
            scale_in_cooldown_defaulted=bool(tracking) and "ScaleInCooldown" not in tracking,
            scale_out_cooldown_defaulted=bool(tracking) and "ScaleOutCooldown" not in tracking,
            disable_scale_in=tracking.get("DisableScaleIn", False) if tracking else None,
        ))
    return policies


# --- Training jobs ------------------------------------------------------------------------------


def _spot_training_jobs(sagemaker, scope: _Scope, settings: CollectSettings) -> list[TrainingJob]:
    since = settings.now - timedelta(days=settings.training_days)
    names = [summary["TrainingJobName"] for summary in _pages(sagemaker, "list_training_jobs", "TrainingJobSummaries",
                                                              CreationTimeAfter=since, MaxResults=100)]
    return [_training_job(described, scope)
            for described in _describe_all(sagemaker.describe_training_job, "TrainingJobName", names)
            if described is not None and described.get("EnableManagedSpotTraining")]


def _training_job(described: dict, scope: _Scope) -> TrainingJob:
    stopping = described.get("StoppingCondition", {})
    resources = described.get("ResourceConfig", {})
    groups = resources.get("InstanceGroups") or [{}]  # heterogeneous clusters: judged by their first group
    instance_type = resources.get("InstanceType") or groups[0].get("InstanceType")
    location = scope.location(described["TrainingJobArn"])
    return TrainingJob(
        source=SOURCE,
        location=location,
        field_locations=_located(location, {
            "spot": "EnableManagedSpotTraining", "has_checkpoint": "CheckpointConfig",
            "stopping_condition": "StoppingCondition",
            "max_wait_seconds": "StoppingCondition.MaxWaitTimeInSeconds",
            "instance_type": "ResourceConfig.InstanceType",
        }),
        name=described["TrainingJobName"],
        container="training job",
        spot=True,
        has_checkpoint=bool(described.get("CheckpointConfig", {}).get("S3Uri")),
        max_runtime_seconds=stopping.get("MaxRuntimeInSeconds"),
        max_wait_seconds=stopping.get("MaxWaitTimeInSeconds"),
        max_wait_set="MaxWaitTimeInSeconds" in stopping,
        **catalog.instance_fields(instance_type),
    )


# --- CloudWatch evidence ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    """One daily statistic of one metric of one endpoint variant."""

    namespace: str
    metric: str
    stat: str
    endpoint: str
    variant: str


_CPU_METRICS = ("CPUUtilization", "MemoryUtilization")
_GPU_METRICS = ("GPUUtilization", "GPUMemoryUtilization")


class _Invocations:
    """Invocations of a real-time endpoint over the window, summed over its variants.

    Only real-time endpoints without inference components qualify: asynchronous endpoints do not
    publish ``Invocations`` at all (SageMaker async-inference monitoring docs), and component
    endpoints count theirs per component, so a missing series there proves nothing. CloudWatch
    publishes no datapoint for a minute without requests, so a complete empty series is zero.
    """

    def __init__(self, record: _EndpointRecord):
        self.endpoint = record.endpoint
        self.queries = [_Query("AWS/SageMaker", "Invocations", "Sum", record.endpoint.name, variant.variant_name)
                        for variant in record.variants]

    @staticmethod
    def applies(record: _EndpointRecord) -> bool:
        return record.endpoint.kind == "real-time" and not record.hosts_components

    def apply(self, results: dict, settings: CollectSettings) -> None:
        self.endpoint.lookback_days = settings.lookback_days
        series = [results[query] for query in self.queries]
        self.endpoint.invocations = None if None in series else sum(sum(values) for values in series)


class _Utilization:
    """Peaks of one instance variant (CloudWatch sums CPU and GPU over cores and GPUs: divided here)."""

    def __init__(self, variant: Variant, facts: catalog.InstanceFacts):
        self.variant = variant
        self.facts = facts
        metrics = _CPU_METRICS + (_GPU_METRICS if is_gpu(facts) else ())
        self.by_metric = {metric: _Query("/aws/sagemaker/Endpoints", metric, "Maximum", variant.endpoint,
                                         variant.variant_name) for metric in metrics}
        self.queries = list(self.by_metric.values())

    @staticmethod
    def facts_of(variant: Variant) -> catalog.InstanceFacts | None:
        """Catalog facts of a variant whose instances publish utilization, else ``None``."""
        if variant.kind not in ("real-time", "async") or variant.hosts_inference_components:
            return None
        return catalog.lookup(variant.instance_type)

    def apply(self, results: dict, settings: CollectSettings) -> None:
        """Per-unit peaks, and (with every metric over the whole window) a smaller type and its saving."""
        series = {metric: results[query] or [] for metric, query in self.by_metric.items()}
        peak = {metric: max(values) if values else None for metric, values in series.items()}
        variant, facts = self.variant, self.facts
        variant.peak_cpu_per_vcpu = _per_unit(peak["CPUUtilization"], facts.vcpus)
        variant.peak_memory = None if peak["MemoryUtilization"] is None else round(peak["MemoryUtilization"], 1)
        variant.peak_gpu_per_gpu = _per_unit(peak.get("GPUUtilization"), facts.accelerators)
        variant.peak_gpu_memory_per_gpu = _per_unit(peak.get("GPUMemoryUtilization"), facts.accelerators)
        variant.utilization_days = len(series["CPUUtilization"]) or None
        count = variant.instance_count
        full_window = all(len(values) >= settings.lookback_days for values in series.values())
        if settings.headroom is None or not full_window or not count or facts.price_per_hour is None:
            return
        observed = Utilization(variant.peak_cpu_per_vcpu, variant.peak_memory, variant.peak_gpu_per_gpu,
                               variant.peak_gpu_memory_per_gpu)
        smaller = suggest_smaller_type(variant.instance_type, observed, settings.headroom, variant.cpu_only_image)
        if smaller is not None:
            saving = facts.price_per_hour - catalog.lookup(smaller).price_per_hour
            variant.downsize_to = smaller
            variant.monthly_savings_usd = round(saving * catalog.HOURS_PER_MONTH * count, 2)


def _attach_metrics(cloudwatch, records: list[_EndpointRecord], settings: CollectSettings) -> None:
    """Fill invocations, peaks and downsizing on the records' endpoints and variants."""
    evidence = [_Invocations(record) for record in records if _Invocations.applies(record)]
    for record in records:
        for variant in record.variants:
            facts = _Utilization.facts_of(variant)
            if facts is not None:
                evidence.append(_Utilization(variant, facts))
    queries = [query for item in evidence for query in item.queries]
    end = settings.now.replace(minute=0, second=0, microsecond=0)
    results = _daily_values(cloudwatch, queries, end - timedelta(days=settings.lookback_days), end)
    for item in evidence:
        item.apply(results, settings)


def _daily_values(cloudwatch, queries: list[_Query], start: datetime, end: datetime) -> dict:
    """Query -> its daily values, or ``None`` when CloudWatch could not give them all.

    Runs GetMetricData in batches of 500 queries, following NextToken within a batch.
    """
    results: dict = {}
    for offset in range(0, len(queries), METRIC_QUERIES_PER_CALL):
        batch = queries[offset:offset + METRIC_QUERIES_PER_CALL]
        by_id = {f"q{index}": query for index, query in enumerate(batch)}
        values: dict[str, list] = {query_id: [] for query_id in by_id}
        status: dict[str, str] = {}
        request = [
            {
                "Id": query_id,
                "MetricStat": {
                    "Metric": {
                        "Namespace": query.namespace,
                        "MetricName": query.metric,
                        "Dimensions": [{"Name": "EndpointName", "Value": query.endpoint},
                                       {"Name": "VariantName", "Value": query.variant}],
                    },
                    "Period": DAY_SECONDS,
                    "Stat": query.stat,
                },
                "ReturnData": True,
            }
            for query_id, query in by_id.items()
        ]
        for result in _pages(cloudwatch, "get_metric_data", "MetricDataResults", MetricDataQueries=request,
                             StartTime=start, EndTime=end):
            values[result["Id"]].extend(result.get("Values", ()))
            status[result["Id"]] = result.get("StatusCode")
        for query_id, query in by_id.items():
            results[query] = values[query_id] if status.get(query_id) == "Complete" else None
    return results


def _per_unit(total: float | None, units: int | None) -> float | None:
    if total is None or not units:
        return None
    return round(total / units, 1)
