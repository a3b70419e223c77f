"""Live source: what one AWS account and region runs, as the normalized resource model.

The audit evaluates the same rule files as lint, so this module's only job is translation: boto3
responses become the :mod:`auditor.model` objects a template would have produced, located by ARN
(``Location.scope`` is ``account/region``), plus the evidence only a live account has: invocation
counts and utilization peaks from CloudWatch, endpoint age, what a smaller instance would save, and
the ``sagewise:ignore`` tags that suppress findings the way template Metadata does.

Cost of a region, in API calls:

- SageMaker ``Search`` returns endpoints with their variant summaries, shadow variants and tags, and
  training jobs with their full details and tags, 100 a page (training jobs newest first, so paging
  stops at the first page that reaches past ``training_days``);
- one ``DescribeEndpointConfig`` per distinct config (instance types are only there);
- ``DescribeModel`` only for a variant whose summary reports no deployed image (AWS reports them for
  running variants; moto never does);
- paginated listings of scalable targets, scaling policies and scheduled actions;
- CloudWatch ``DescribeAlarms`` for the alarms that trigger step scaling policies, up to 100 alarm
  names a call, only when some step policy has alarms;
- one ``ListMetrics`` (the variant names an endpoint's invocations were published under) and one
  ``GetMetricData`` per 500 metric queries;
- inference components (a listing and one describe each) only where an endpoint hosts them;
- Lambda functions and EC2 Auto Scaling groups, read by :mod:`.aws_lambda` and
  :mod:`.aws_auto_scaling_groups` (their docstrings count their calls).

So about one call per endpoint against AWS, and a constant number per region otherwise. Where
``Search`` is denied, endpoints and training jobs are listed and described one by one instead, with
a warning (their tags are then not read). Describes run a few at a time (:data:`DESCRIBES_IN_FLIGHT`).

Nothing here guesses: a fact that needs a response that is missing or incomplete stays ``None``,
and the rules stay silent on it. A resource that was deleted since it was listed is skipped; one
that may not be read (a name- or tag-scoped IAM policy) is an error of the scope that names it,
and the rest of the region is still read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import ClientError

from .. import catalog, faults, images, linking, scaling, schedules
from ..batching import batches
from ..model import (
    Alarm,
    Endpoint,
    InferenceComponent,
    Location,
    ResourceModel,
    ScalableTarget,
    ScalingPolicy,
    ScheduledAction,
    Suppression,
    TrainingJob,
    Variant,
)
from ..rightsizing import Headroom, Utilization, is_gpu, suggest_smaller_type
from . import aws_auto_scaling_groups, aws_lambda  # they read through this module's helpers, at call time

SOURCE = "aws"
NAMESPACE = "sagemaker"
SEARCH_PAGE = 100
"""Search's largest page."""
METRIC_QUERIES_PER_CALL = 500
"""GetMetricData's limit on queries in one request."""
ALARM_NAMES_PER_CALL = 100
"""DescribeAlarms' limit on AlarmNames in one request."""
DAY_SECONDS = 86_400
DESCRIBES_IN_FLIGHT = 8
"""Concurrent describe requests within one scope. botocore clients are thread-safe and keep up to 10
connections (``max_pool_connections``), so this stays under 10; standard retries absorb throttling."""
JUDGED_STATUSES = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"})
"""Endpoint statuses in which the endpoint serves (and bills): rules on scaling and cost judge only
these. ``Creating``, ``Failed``, ``Deleting`` and ``OutOfService`` endpoints are counted, not judged."""
JUDGED_COMPONENT_STATUSES = frozenset({"InService", "Updating"})
IGNORE_TAG = "sagewise:ignore"
"""Tag whose value names rules (ids or names, separated by spaces or commas) not to report on the resource."""
REASON_TAG = "sagewise:ignore-reason"
"""Tag holding why; without it the ignore suppresses nothing (SW002), as in templates."""


@dataclass(frozen=True)
class RegionClients:
    """The clients one account x region scope reads through, created once by the caller.

    ``autoscaling`` is Application Auto Scaling; ``ec2_autoscaling`` is EC2 Auto Scaling. The audit's opener
    makes them all, for the audit and for remediation (:func:`auditor.audit.open_scopes`). The last four default
    to ``None`` so that a test of SageMaker and its scaling can leave them out: the scope then reads no Lambda
    functions, nor Auto Scaling groups (which also need ``ec2`` and ``ecs``).
    """

    sagemaker: Any
    autoscaling: Any
    cloudwatch: Any
    awslambda: Any = None
    ec2_autoscaling: Any = None
    ec2: Any = None
    ecs: Any = None


@dataclass(frozen=True)
class CollectSettings:
    lookback_days: int
    """Window of the CloudWatch evidence (SW303's ``lookback_days``)."""
    training_days: int
    """Training jobs created in this many past days are read."""
    headroom: Headroom | None
    """``None``: no smaller instance type is suggested."""
    spot_discount: float | None = None
    """Share of the on-demand price managed spot training is assumed to save (SW203's ``spot_discount``);
    ``None``: on-demand training jobs get no estimated saving."""
    model_memory_mb: int | None = None
    """A Zip-packaged Lambda function with at least this much memory loads a model (SW401's ``min_memory_mb``):
    only such functions, and container-image ones, have their callers read. ``None``: every function's are."""
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass
class Collected:
    """What one scope yielded: the linked model, and what could not be read without failing the scope."""

    model: ResourceModel
    errors: list = field(default_factory=list)
    """One line each: a resource that could not be read (the rest of the region was)."""
    warnings: list = field(default_factory=list)
    """One line each: something read a slower or less complete way (``Search`` denied)."""


def collect(clients: RegionClients, account: str, region: str, settings: CollectSettings) -> Collected:
    """Read one account and region into a linked :class:`ResourceModel`."""
    scope = _Scope(account, region)
    model = ResourceModel()
    hosting = _Hosting(clients.sagemaker, scope, settings.now)
    records = hosting.endpoints()
    for record in records:
        model.endpoints.append(record.endpoint)
        model.variants.extend(record.variants)
        model.suppressions.extend(record.suppressions)
    components = hosting.inference_components(records)
    model.inference_components.extend(components)
    targets, actions = _scalable_targets(clients.autoscaling, scope, settings.now)
    model.scalable_targets.extend(targets)
    model.scheduled_actions.extend(actions)
    policies = _scaling_policies(clients.autoscaling, scope)
    model.scaling_policies.extend(policy for policy, _ in policies)
    model.alarms.extend(_step_alarms(clients.cloudwatch, policies, scope))
    for job, suppressions in _training_jobs(clients.sagemaker, scope, settings):
        model.training_jobs.append(job)
        model.suppressions.extend(suppressions)
    function_evidence = aws_lambda.collect(clients, scope, settings, model) if clients.awslambda else []
    if clients.ec2_autoscaling:
        aws_auto_scaling_groups.collect(clients, scope, model)
    _attach_metrics(clients.cloudwatch, records, components, settings, function_evidence)
    linking.link(model)
    _owned_by_endpoints(model)
    return Collected(model, scope.errors, scope.warnings)


def _owned_by_endpoints(model: ResourceModel) -> None:
    """An endpoint owns the scaling of its variants: a ``sagewise:ignore`` tag on the endpoint covers findings on
    their scalable targets, policies and scheduled actions, as it covers the variants' own (scalable targets have
    tags of their own, but reading them would cost a call per target)."""
    arns = {endpoint.name: endpoint.location.resource for endpoint in model.endpoints}
    owners_of: dict = {}
    for target in model.scalable_targets:
        arn = arns.get(target.endpoint_key) if target.namespace == "sagemaker" else None
        if arn:
            target.owners = owners_of[target.resource_id] = (arn,)
    for item in (*model.scaling_policies, *model.scheduled_actions):
        item.owners = owners_of.get(item.resource_id, item.owners)


@dataclass
class _Scope:
    account: str
    region: str
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

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


def _describe_all(call: Callable, parameter: str, names: list, scope: _Scope) -> list:
    return _concurrently(lambda name: _describe(call, scope, name, **{parameter: name}), names)


def _describe(call: Callable, scope: _Scope, subject: str, **params) -> dict | None:
    """A describe call's response, or ``None`` when the resource is gone or may not be read.

    As :func:`faults.resource_fault` classifies the failure: gone is silent, refused is an error of the
    scope naming the resource (the caller carries on without its facts), anything else fails the scope.
    """
    try:
        return call(**params)
    except ClientError as exc:
        fault = faults.resource_fault(exc)
        if fault is None:
            raise
        if fault == faults.REFUSED:
            scope.errors.append(faults.explain(exc, resource=subject))
        return None


GONE = object()
"""What :func:`_read_each` gives for a resource deleted since it was listed (or, for Lambda's ``GetPolicy``, that has
no policy: the same ``ResourceNotFoundException``)."""


def _read_each(scope: _Scope, items: list, read: Callable, what: str, subject: Callable = str) -> dict:
    """Item -> ``read(item)``, :data:`GONE`, or ``None`` when it may not be read, a few items at a time.

    Denials and refused requests are one error line for all the items they hit (``Operation first and 11 other
    functions: ...``): a permission missing from the policy would otherwise repeat once per resource. Anything
    else fails the scope, as in :func:`_describe`.
    """
    def attempt(item):
        try:
            return read(item), None
        except ClientError as exc:
            fault = faults.resource_fault(exc)
            if fault is None:
                raise
            return (GONE, None) if fault == faults.GONE else (None, exc)

    answers = _concurrently(attempt, items)
    failed = [(item, exc) for item, (_, exc) in zip(items, answers, strict=True) if exc is not None]
    if failed:
        item, exc = failed[0]
        others = f" and {len(failed) - 1} other {what}" if len(failed) > 1 else ""
        scope.errors.append(faults.explain(exc, resource=subject(item) + others))
    return {item: value for item, (value, _) in zip(items, answers, strict=True)}


def _listed(scope: _Scope, read: Callable) -> list | None:
    """``read()``'s items, or ``None`` (one error line) when the listing is denied: what depends on it stays
    unknown and the rest of the region is still read."""
    try:
        return list(read())
    except ClientError as exc:
        if not faults.is_denied(exc):
            raise
        scope.errors.append(faults.explain(exc))
        return None


def _searched(sagemaker, resource: str, **params) -> Iterator[list]:
    """Pages of ``resource`` records (the record's own dicts) from SageMaker ``Search``."""
    for page in sagemaker.get_paginator("search").paginate(Resource=resource, MaxResults=SEARCH_PAGE, **params):
        yield [record[resource] for record in page.get("Results", ()) if resource in record]


def _search_denied(exc: ClientError, scope: _Scope, what: str) -> None:
    """Record the fallback's warning, or re-raise what is not a denial of ``sagemaker:Search``."""
    if not faults.is_denied(exc) or exc.operation_name != "Search":
        raise exc
    scope.warnings.append(f"sagemaker:Search is denied, so {what} are listed and described one by one and their "
                          f"{IGNORE_TAG} tags are not read ({faults.explain(exc)})")


def _located(location: Location, paths: dict) -> dict:
    """Field name -> Location of that field, from field name -> property path under ``location``."""
    prefix = f"{location.path}." if location.path else ""
    return {name: location.at(prefix + path) for name, path in paths.items()}


def _tag_suppressions(tags, location: Location) -> list[Suppression]:
    """``sagewise:ignore`` / ``sagewise:ignore-reason`` tags as suppressions of the tagged resource's findings.

    AWS tag values cannot hold commas in every service, so rules may be separated by spaces too.
    """
    values = {tag.get("Key"): tag.get("Value") or "" for tag in tags or ()}
    if IGNORE_TAG not in values:
        return []
    reason = values.get(REASON_TAG, "").strip() or None
    return [Suppression(rule=rule, reason=reason, location=location.at(f"Tags[{IGNORE_TAG}][{rule}]"))
            for rule in dict.fromkeys(re.split(r"[\s,]+", values[IGNORE_TAG].strip())) if rule]


# --- Endpoints, variants, inference components --------------------------------------------------


@dataclass
class _EndpointRecord:
    """An endpoint with its variants, as the later steps (components, metrics) need them together."""

    endpoint: Endpoint
    variants: list
    suppressions: list

    @property
    def hosts_components(self) -> bool:
        return any(variant.hosts_inference_components for variant in self.variants)


class _Hosting:
    """SageMaker hosting reads for one region, each endpoint config and model described once.

    Describes go out in waves (distinct configs, then the endpoints whose config is gone, then the
    distinct models whose images the endpoints do not report), each :data:`DESCRIBES_IN_FLIGHT`
    requests at a time: against AWS a describe is a network round trip, and a region with hundreds
    of endpoints would otherwise spend its time waiting on them one by one.
    """

    def __init__(self, sagemaker, scope: _Scope, now: datetime):
        self.sagemaker = sagemaker
        self.scope = scope
        self.now = now
        self._configs: dict[str, dict | None] = {}
        self._described: dict[str, dict] = {}
        """Endpoint name -> DescribeEndpoint response, where one was read."""
        self._model_images: dict[str, list | None] = {}

    def endpoints(self) -> list[_EndpointRecord]:
        listed = self._listed_endpoints()
        config_names = list(dict.fromkeys(e["EndpointConfigName"] for e in listed if e.get("EndpointConfigName")))
        self._configs.update(zip(config_names, _describe_all(self.sagemaker.describe_endpoint_config,
                                                             "EndpointConfigName", config_names, self.scope),
                                 strict=True))
        orphans = [e["EndpointName"] for e in listed if self._needs_describe(e)]
        for endpoint in _describe_all(self.sagemaker.describe_endpoint, "EndpointName", orphans, self.scope):
            if endpoint is not None:
                self._described[endpoint["EndpointName"]] = endpoint
        model_names = list(dict.fromkeys(self._models_without_reported_images(listed)))
        self._model_images.update(zip(model_names, _concurrently(self._read_model_images, model_names), strict=True))
        return [self._record(endpoint) for endpoint in listed]

    def _listed_endpoints(self) -> list[dict]:
        """Endpoints with their variant summaries: from Search, or ListEndpoints + DescribeEndpoint."""
        try:
            return [endpoint for page in _searched(self.sagemaker, "Endpoint") for endpoint in page]
        except ClientError as exc:
            _search_denied(exc, self.scope, "endpoints")
        names = [summary["EndpointName"]
                 for summary in _pages(self.sagemaker, "list_endpoints", "Endpoints", MaxResults=100)]
        described = [endpoint for endpoint in _describe_all(self.sagemaker.describe_endpoint, "EndpointName", names,
                                                            self.scope) if endpoint is not None]
        self._described.update((endpoint["EndpointName"], endpoint) for endpoint in described)
        return described

    def _config_of(self, endpoint: dict) -> dict | None:
        return self._configs.get(endpoint.get("EndpointConfigName"))

    def _needs_describe(self, endpoint: dict) -> bool:
        """An endpoint whose config is gone still has a kind: DescribeEndpoint says whether it is async.

        Only worth a call for a variant that serves a model (it reports deployed images): one without
        them may host inference components, which nothing left can tell.
        """
        if self._config_of(endpoint) is not None or endpoint["EndpointName"] in self._described:
            return False
        return any(_deployed_images(live) for live in _live_variants(endpoint))

    def _models_without_reported_images(self, listed: list) -> Iterator[str]:
        for endpoint in listed:
            configured = _configured_variants(self._config_of(endpoint))
            for live, key in _live_variants_with_keys(endpoint):
                model = (configured.get(key) or {}).get("ModelName")
                if model and not _deployed_images(live):
                    yield model

    def _read_model_images(self, name: str) -> list | None:
        """Images of a model's containers; ``None`` when the model cannot be read (gone or denied)."""
        described = _describe(self.sagemaker.describe_model, self.scope, name, ModelName=name)
        if described is None:
            return None
        containers = [described["PrimaryContainer"]] if "PrimaryContainer" in described \
            else described.get("Containers", [])
        return [container["Image"] for container in containers if container.get("Image")]

    def _images_of_model(self, name: str) -> list | None:
        if name not in self._model_images:
            self._model_images[name] = self._read_model_images(name)
        return self._model_images[name]

    def _record(self, listed: dict) -> _EndpointRecord:
        name = listed["EndpointName"]
        arn = listed["EndpointArn"]
        status = listed.get("EndpointStatus")
        judged = status is None or status in JUDGED_STATUSES
        config = self._config_of(listed)
        configured = _configured_variants(config)
        described = self._described.get(name)
        if config is not None:
            is_async = "AsyncInferenceConfig" in config
        elif described is not None:
            is_async = "AsyncInferenceConfig" in described
        else:
            is_async = None
        variants = [self._variant(live, configured.get(key), key, endpoint_name=name, endpoint_arn=arn,
                                  is_async=is_async, judged=judged)
                    for live, key in _live_variants_with_keys(listed)]
        kinds = {variant.kind for variant in variants}
        cost = _rounded(_sum_or_none(variant.monthly_cost_usd for variant in variants))
        location = self.scope.location(arn)
        endpoint = Endpoint(
            source=SOURCE,
            location=location,
            name=name,
            status=status,
            kind=kinds.pop() if len(kinds) == 1 else None,
            age_days=_age_days(listed.get("CreationTime"), self.now),
            instance_count=_sum_or_none(variant.instance_count for variant in variants),
            monthly_cost_usd=cost,
            monthly_savings_usd=cost,
            judged=judged,
        )
        return _EndpointRecord(endpoint, variants, _tag_suppressions(listed.get("Tags"), location))

    def _variant(self, live: dict, configured: dict | None, key: tuple, *, endpoint_name: str, endpoint_arn: str,
                 is_async: bool | None, judged: bool) -> Variant:
        """A variant as the endpoint runs it (``live``) and as its config declares it (``None``: config not read)."""
        list_name, variant_name = key
        location = self.scope.location(endpoint_arn, f"{list_name}[{variant_name}]")
        serverless = "CurrentServerlessConfig" in live or (configured is not None and "ServerlessConfig" in configured)
        if serverless:
            kind = "serverless"
        elif is_async is None or (configured is None and not _deployed_images(live)):
            kind = None  # config not read, and nothing shows the variant serves a model rather than components
        else:
            kind = "async" if is_async else "real-time"
        instance_type = configured.get("InstanceType") if configured else None
        facts = catalog.lookup(instance_type)
        managed = (live.get("ManagedInstanceScaling") or (configured or {}).get("ManagedInstanceScaling") or {})
        count = live.get("CurrentInstanceCount", (configured or {}).get("InitialInstanceCount"))
        # What runs now where the endpoint reports it, else what the config asks for.
        serverless_config = live.get("CurrentServerlessConfig") or (configured or {}).get("ServerlessConfig") or {}
        container_images = self._variant_images(live, configured)
        return Variant(
            source=SOURCE,
            location=location,
            field_locations=_located(location, {
                "instance_type": "InstanceType", "instance_count": "CurrentInstanceCount",
                "managed_instance_scaling": "ManagedInstanceScaling",
                "provisioned_concurrency": "ServerlessConfig.ProvisionedConcurrency",
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
            shadow=list_name == "ShadowProductionVariants",
            judged=judged,
            images=container_images or [],
            cpu_only_image=None if container_images is None else images.cpu_only(container_images),
            provisioned_concurrency=serverless_config.get("ProvisionedConcurrency"),
            max_concurrency=serverless_config.get("MaxConcurrency"),
            monthly_cost_usd=None if serverless else _monthly_cost(facts, count),
        )

    def _variant_images(self, live: dict, configured: dict | None) -> list | None:
        """Images from the endpoint's own report when it gives one, else from the variant's model.

        ``None`` when the model's images could not be read (so ``cpu_only_image`` stays unknown).
        """
        deployed = _deployed_images(live)
        if deployed:
            return deployed
        if configured and configured.get("ModelName"):
            model_images = self._images_of_model(configured["ModelName"])
            return None if model_images is None else list(model_images)
        return []

    def inference_components(self, records: list[_EndpointRecord]) -> list[InferenceComponent]:
        """Components of the region, read only when some endpoint is built for them.

        An endpoint hosts inference components only when its variants name no model, so a region
        without such endpoints costs no call (and an API that lacks the operation is never asked).
        Each component's images join its variant's, so ``cpu_only_image`` covers what really runs.
        """
        if not any(record.hosts_components for record in records):
            return []
        variants = {(v.endpoint_key, v.variant_key): v for record in records for v in record.variants}
        endpoints = {record.endpoint.name: record.endpoint for record in records}
        components = []
        unreadable = set()
        for summary in _pages(self.sagemaker, "list_inference_components", "InferenceComponents", MaxResults=100):
            name = summary["InferenceComponentName"]
            key = (summary.get("EndpointName"), summary.get("VariantName"))
            described = _describe(self.sagemaker.describe_inference_component, self.scope, name,
                                  InferenceComponentName=name)
            runtime = (described or {}).get("RuntimeConfig", {})
            status = summary.get("InferenceComponentStatus") or (described or {}).get("InferenceComponentStatus")
            endpoint = endpoints.get(summary.get("EndpointName"))
            components.append(InferenceComponent(
                source=SOURCE,
                location=self.scope.location(summary["InferenceComponentArn"]),
                name=name,
                key=name,
                endpoint=summary.get("EndpointName"),
                variant_name=summary.get("VariantName"),
                status=status,
                copy_count=runtime.get("CurrentCopyCount"),
                age_days=_age_days(summary.get("CreationTime"), self.now),
                judged=(status is None or status in JUDGED_COMPONENT_STATUSES)
                and (endpoint is None or endpoint.judged),
            ))
            variant = variants.get(key)
            if variant is None:
                continue
            variant.hosts_inference_components = True
            component_images = self._component_images(described)
            if component_images:
                variant.images = variant.images + component_images
            else:
                unreadable.add(key)
            # One image that cannot be read leaves the variant's cpu_only_image unknown.
            variant.cpu_only_image = None if key in unreadable else images.cpu_only(variant.images)
        return components

    def _component_images(self, described: dict | None) -> list:
        """Images a component runs (its container's, or its model's); empty when they cannot be read."""
        if described is None:
            return []
        specification = described.get("Specification", {})
        image = specification.get("Container", {}).get("DeployedImage", {}).get("SpecifiedImage")
        if image:
            return [image]
        if specification.get("ModelName"):
            return list(self._images_of_model(specification["ModelName"]) or ())
        return []


def _live_variants_with_keys(endpoint: dict) -> Iterator[tuple[dict, tuple]]:
    """Each production and shadow variant summary with its key: (list it is in, variant name)."""
    for list_name in ("ProductionVariants", "ShadowProductionVariants"):
        for live in endpoint.get(list_name) or ():
            yield live, (list_name, live["VariantName"])


def _live_variants(endpoint: dict) -> Iterator[dict]:
    return (live for live, _ in _live_variants_with_keys(endpoint))


def _configured_variants(config: dict | None) -> dict:
    """(list name, variant name) -> the config's declaration of that variant."""
    return {(list_name, variant["VariantName"]): variant
            for list_name in ("ProductionVariants", "ShadowProductionVariants")
            for variant in (config or {}).get(list_name) or ()}


def _deployed_images(live: dict) -> list:
    """The images SageMaker reports for a running variant (absent in some responses, e.g. moto's)."""
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


def _scalable_targets(autoscaling, scope: _Scope, now: datetime,
                      service_namespace: str = NAMESPACE) -> tuple[list[ScalableTarget], list[ScheduledAction]]:
    """The region's scalable targets of ``service_namespace``, and their scheduled actions (listed first: a target
    counts its own)."""
    listed = list(_pages(autoscaling, "describe_scheduled_actions", "ScheduledActions",
                         ServiceNamespace=service_namespace, MaxResults=50))
    actions: dict[tuple, int] = {}
    for action in listed:
        triple = (action["ResourceId"], action["ScalableDimension"])
        actions[triple] = actions.get(triple, 0) + 1
    targets = []
    for item in _pages(autoscaling, "describe_scalable_targets", "ScalableTargets",
                       ServiceNamespace=service_namespace, MaxResults=50):
        resource_id, dimension = item["ResourceId"], item["ScalableDimension"]
        namespace = item["ServiceNamespace"]
        # Older responses carry no ARN; the target's composite ID (what CloudFormation's Ref gives) names it.
        location = scope.location(item.get("ScalableTargetARN") or f"{resource_id}|{dimension}|{namespace}")
        targets.append(ScalableTarget(
            source=SOURCE,
            location=location,
            field_locations=_located(location, {
                "resource_id": "ResourceId", "min_capacity": "MinCapacity", "max_capacity": "MaxCapacity",
                "suspended": "SuspendedState",
            }),
            resource_id=resource_id,
            namespace=namespace,
            dimension=dimension,
            min_capacity=item.get("MinCapacity"),
            max_capacity=item.get("MaxCapacity"),
            scheduled_action_count=actions.get((resource_id, dimension), 0),
            key=[("triple", resource_id, dimension, namespace)],
            suspended=scaling.suspended_text(item.get("SuspendedState") or {}),
            **linking.parse_target_resource_id(service_namespace, resource_id, dimension),
        ))
    return targets, [_scheduled_action(action, scope, now) for action in listed]


def _scheduled_action(action: dict, scope: _Scope, now: datetime) -> ScheduledAction:
    capacity = action.get("ScalableTargetAction") or {}
    fields = {
        "schedule": action["Schedule"],
        "timezone": action.get("Timezone"),
        "start_time": _iso(action.get("StartTime")),
        "end_time": _iso(action.get("EndTime")),
        "min_capacity": capacity.get("MinCapacity"),
        "max_capacity": capacity.get("MaxCapacity"),
    }
    return ScheduledAction(
        source=SOURCE,
        location=scope.location(action["ScheduledActionARN"]),
        name=action["ScheduledActionName"],
        resource_id=action["ResourceId"],
        problem=schedules.problem(**fields, now=now),
        **fields,
    )


def _iso(moment: datetime | None) -> str | None:
    """A time as the ISO text :func:`auditor.schedules.problem` reads (and messages show), in UTC."""
    return None if moment is None else moment.astimezone(timezone.utc).isoformat()


def _scaling_policies(autoscaling, scope: _Scope,
                      service_namespace: str = NAMESPACE) -> list[tuple[ScalingPolicy, list]]:
    """Each scaling policy of ``service_namespace``, with the names of the alarms that trigger it when it is a step
    policy.

    A step policy's ``Alarms`` are every CloudWatch alarm whose actions name it (target tracking lists
    the alarms it made itself, which no rule reads): their count is ``alarm_count``, their names are
    what :func:`_step_alarms` describes.
    """
    policies = []
    tracking_path, step_path = "TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration"
    # DescribeScalingPolicies returns at most 10 policies a page.
    for item in _pages(autoscaling, "describe_scaling_policies", "ScalingPolicies",
                       ServiceNamespace=service_namespace, MaxResults=10):
        tracking = item.get(tracking_path, {})
        predefined = tracking.get("PredefinedMetricSpecification", {})
        customized = tracking.get("CustomizedMetricSpecification")
        step = item.get(step_path)
        is_step = item.get("PolicyType") == "StepScaling"
        alarm_names = [alarm["AlarmName"] for alarm in item.get("Alarms") or ()] if is_step else []
        location = scope.location(item["PolicyARN"])
        metric_path = f"{tracking_path}.CustomizedMetricSpecification" if customized is not None \
            else f"{tracking_path}.PredefinedMetricSpecification.PredefinedMetricType"
        policies.append((ScalingPolicy(
            source=SOURCE,
            location=location,
            field_locations=_located(location, {
                "metric_type": metric_path,
                "target_value": f"{tracking_path}.TargetValue",
                "scale_in_cooldown": f"{tracking_path}.ScaleInCooldown",
                "scale_out_cooldown": f"{tracking_path}.ScaleOutCooldown",
                "step_adjustments": f"{step_path}.StepAdjustments",
            }),
            name=item["PolicyName"],
            policy_type=item.get("PolicyType"),
            target_key=("triple", item["ResourceId"], item["ScalableDimension"], item["ServiceNamespace"]),
            resource_id=item["ResourceId"],
            namespace=item["ServiceNamespace"],
            dimension=item["ScalableDimension"],
            metric_type=predefined.get("PredefinedMetricType"),
            customized_metric=customized is not None,
            target_value=tracking.get("TargetValue"),
            scale_in_cooldown=tracking.get("ScaleInCooldown"),
            scale_out_cooldown=tracking.get("ScaleOutCooldown"),
            # Only target tracking has these cooldowns; a step policy's are not "defaulted", they do not exist.
            scale_in_cooldown_defaulted=bool(tracking) and "ScaleInCooldown" not in tracking,
            scale_out_cooldown_defaulted=bool(tracking) and "ScaleOutCooldown" not in tracking,
            disable_scale_in=tracking.get("DisableScaleIn", False) if tracking else None,
            # A metric-math specification (Metrics) has no single metric: its name stays None, and SW105 silent.
            customized_metric_name=(customized or {}).get("MetricName"),
            customized_namespace=(customized or {}).get("Namespace"),
            customized_statistic=(customized or {}).get("Statistic"),
            customized_dimensions=None if customized is None else [
                dimension["Name"] for dimension in customized.get("Dimensions") or ()],
            adjustment_type=(step or {}).get("AdjustmentType"),
            metric_aggregation_type=(step or {}).get("MetricAggregationType"),
            step_adjustments=None if step is None else [
                {"lower": adjustment.get("MetricIntervalLowerBound"),
                 "upper": adjustment.get("MetricIntervalUpperBound"),
                 "adjustment": adjustment.get("ScalingAdjustment")}
                for adjustment in step.get("StepAdjustments") or ()],
            alarm_count=len(alarm_names) if is_step else None,
            key=item["PolicyARN"],  # what an alarm's AlarmActions hold
        ), alarm_names))
    return policies


def _step_alarms(cloudwatch, policies: list[tuple[ScalingPolicy, list]], scope: _Scope) -> list[Alarm]:
    """The CloudWatch alarms that trigger step policies: their metric (SW107) and direction (SW109).

    Described by name, up to :data:`ALARM_NAMES_PER_CALL` a call, and only when some step policy has
    alarms, so a region without step scaling costs no call. Where ``DescribeAlarms`` is denied, the
    error is the scope's and those policies' alarms become unknown: without a key linking ties no alarm
    to them and their ``alarm_count`` stays ``None``, so the rules that read alarms stay silent on them.
    """
    names = list(dict.fromkeys(name for _, alarm_names in policies for name in alarm_names))
    described = _listed(scope, lambda: (alarm for batch in batches(names, ALARM_NAMES_PER_CALL)
                                        for alarm in _pages(cloudwatch, "describe_alarms", "MetricAlarms",
                                                            AlarmNames=batch)))
    if described is None:
        for policy, alarm_names in policies:
            if alarm_names:
                policy.key = policy.alarm_count = None
        return []
    return [_alarm(alarm, scope) for alarm in described]


def _alarm(alarm: dict, scope: _Scope) -> Alarm:
    return Alarm(
        source=SOURCE,
        location=scope.location(alarm["AlarmArn"]),
        name=alarm["AlarmName"],
        namespace=alarm.get("Namespace"),
        metric_name=alarm.get("MetricName"),
        dimensions=[dimension["Name"] for dimension in alarm.get("Dimensions") or ()],
        comparison=alarm.get("ComparisonOperator"),
        threshold=alarm.get("Threshold"),
        action_keys=list(alarm.get("AlarmActions") or ()),
        actions_enabled=alarm.get("ActionsEnabled") is not False,
    )


# --- Training jobs ------------------------------------------------------------------------------


def _training_jobs(sagemaker, scope: _Scope, settings: CollectSettings) -> list[tuple[TrainingJob, list]]:
    """Every training job created in the last ``training_days``, spot or not, with its tag suppressions.

    Search returns full job details and tags, newest first, 100 a page: an account that ran
    thousands of tuning jobs costs one call per 100 recent jobs, and paging stops at the first page
    whose oldest job is older than the window. (CreationTime filters are not used: moto does not
    implement them, and the sort does the same work.)
    """
    since = settings.now - timedelta(days=settings.training_days)
    try:
        jobs = []
        for page in _searched(sagemaker, "TrainingJob", SortBy="CreationTime", SortOrder="Descending"):
            jobs += [job for job in page if job.get("CreationTime") and job["CreationTime"] >= since]
            if page and page[-1].get("CreationTime") and page[-1]["CreationTime"] < since:
                break
    except ClientError as exc:
        _search_denied(exc, scope, "training jobs")
        names = [summary["TrainingJobName"] for summary in _pages(sagemaker, "list_training_jobs",
                                                                  "TrainingJobSummaries", CreationTimeAfter=since,
                                                                  MaxResults=100)]
        jobs = [job for job in _describe_all(sagemaker.describe_training_job, "TrainingJobName", names, scope)
                if job is not None]
    return [(_training_job(job, scope, settings.spot_discount),
             _tag_suppressions(job.get("Tags"), scope.location(job["TrainingJobArn"])))
            for job in jobs]


def _training_job(described: dict, scope: _Scope, spot_discount: float | None) -> TrainingJob:
    stopping = described.get("StoppingCondition", {})
    resources = described.get("ResourceConfig", {})
    groups = resources.get("InstanceGroups")
    # Heterogeneous clusters are judged by their first group's type, and cost what all their groups cost.
    instance_type = resources.get("InstanceType") or (groups or [{}])[0].get("InstanceType")
    cluster = groups or [{"InstanceType": instance_type, "InstanceCount": resources.get("InstanceCount")}]
    counts = [group.get("InstanceCount") for group in cluster]
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
        spot=bool(described.get("EnableManagedSpotTraining")),
        has_checkpoint=bool(described.get("CheckpointConfig", {}).get("S3Uri")),
        max_runtime_seconds=stopping.get("MaxRuntimeInSeconds"),
        max_wait_seconds=stopping.get("MaxWaitTimeInSeconds"),
        max_wait_set="MaxWaitTimeInSeconds" in stopping,
        **catalog.instance_fields(instance_type),
        billable_seconds=described.get("BillableTimeInSeconds"),
        instance_count=None if None in counts else sum(counts),
        spot_saving_usd=_spot_saving(described, cluster, spot_discount),
    )


def _spot_saving(described: dict, cluster: list, spot_discount: float | None) -> float | None:
    """What managed spot would have saved on an on-demand run (SW203): its billable time (per instance) x
    each instance group's count x the catalog's on-demand price x ``spot_discount``.

    ``None`` for a spot job, a job not billed yet (running), or a cluster with a type the catalog has no
    price for: no saving rather than a guess.
    """
    billable = described.get("BillableTimeInSeconds")
    if described.get("EnableManagedSpotTraining") or billable is None or spot_discount is None:
        return None
    hourly = 0.0
    for group in cluster:
        facts = catalog.lookup(group.get("InstanceType"))
        if facts is None or facts.price_per_hour is None or group.get("InstanceCount") is None:
            return None
        hourly += facts.price_per_hour * group["InstanceCount"]
    return round(billable / 3600 * hourly * spot_discount, 2)


# --- CloudWatch evidence ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    """One daily statistic of one metric with its dimensions ((name, value) pairs)."""

    namespace: str
    metric: str
    stat: str
    dimensions: tuple


def _variant_dimensions(endpoint: str, variant: str) -> tuple:
    return (("EndpointName", endpoint), ("VariantName", variant))


_CPU_METRICS = ("CPUUtilization", "MemoryUtilization")
_GPU_METRICS = ("GPUUtilization", "GPUMemoryUtilization")


class _Invocations:
    """Invocations of a real-time endpoint over the window, summed over every variant name it had.

    A variant renamed by an endpoint update publishes under its new name from then on; its old
    name's invocations still count (names come from ``ListMetrics`` as well as from the endpoint).
    Asynchronous endpoints do not publish ``Invocations`` at all (SageMaker async-inference
    monitoring docs), so they are not judged. CloudWatch publishes no datapoint for a minute without
    requests, so a complete empty series is zero.
    """

    def __init__(self, record: _EndpointRecord, seen_variants: set):
        self.endpoint = record.endpoint
        names = dict.fromkeys([variant.variant_name for variant in record.variants] + sorted(seen_variants))
        self.queries = [_Query("AWS/SageMaker", "Invocations", "Sum", _variant_dimensions(record.endpoint.name, name))
                        for name in names]

    @staticmethod
    def applies(record: _EndpointRecord) -> bool:
        return record.endpoint.kind == "real-time" and not record.hosts_components

    def apply(self, results: dict, settings: CollectSettings) -> None:
        self.endpoint.lookback_days = settings.lookback_days
        series = [results[query] for query in self.queries]
        self.endpoint.invocations = None if None in series else sum(sum(values) for values in series)


class _ComponentInvocations:
    """Invocations of one inference component (SageMaker counts them per ``InferenceComponentName``)."""

    def __init__(self, component: InferenceComponent):
        self.component = component
        self.queries = [_Query("AWS/SageMaker", "Invocations", "Sum", (("InferenceComponentName", component.name),))]

    def apply(self, results: dict, settings: CollectSettings) -> None:
        self.component.lookback_days = settings.lookback_days
        values = results[self.queries[0]]
        self.component.invocations = None if values is None else sum(values)


class _Utilization:
    """Peaks of one instance variant (CloudWatch sums CPU and GPU over cores and GPUs: divided here)."""

    def __init__(self, variant: Variant, facts: catalog.InstanceFacts):
        self.variant = variant
        self.facts = facts
        metrics = _CPU_METRICS + (_GPU_METRICS if is_gpu(facts) else ())
        dimensions = _variant_dimensions(variant.endpoint, variant.variant_name)
        self.by_metric = {metric: _Query("/aws/sagemaker/Endpoints", metric, "Maximum", dimensions)
                          for metric in metrics}
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


def _attach_metrics(cloudwatch, records: list[_EndpointRecord], components: list[InferenceComponent],
                    settings: CollectSettings, extra: list = ()) -> None:
    """Fill invocations, peaks and downsizing on the records' endpoints, variants and components, and apply the
    ``extra`` evidence other readers built (Lambda's): every query of the region goes into the same batches."""
    plain = [record for record in records if _Invocations.applies(record)]
    seen = _invocation_variant_names(cloudwatch) if plain else {}
    evidence: list = [_Invocations(record, seen.get(record.endpoint.name, set())) for record in plain]
    evidence += [_ComponentInvocations(component) for component in components]
    evidence += extra
    for record in records:
        for variant in record.variants:
            facts = _Utilization.facts_of(variant)
            if facts is not None:
                evidence.append(_Utilization(variant, facts))
    queries = list(dict.fromkeys(query for item in evidence for query in item.queries))
    end = settings.now.replace(minute=0, second=0, microsecond=0)
    results = _daily_values(cloudwatch, queries, end - timedelta(days=settings.lookback_days), end)
    for item in evidence:
        item.apply(results, settings)
    for record in records:  # an endpoint of components served what they served (nothing, with none left)
        endpoint = record.endpoint
        if endpoint.kind == "real-time" and record.hosts_components:
            served = [component.invocations for component in components if component.endpoint == endpoint.name]
            endpoint.lookback_days = settings.lookback_days
            endpoint.invocations = None if None in served else sum(served)


def _invocation_variant_names(cloudwatch) -> dict[str, set]:
    """Endpoint name -> every variant name its ``Invocations`` were published under.

    ListMetrics covers the past two weeks; within the window the current variant names are queried
    anyway, so only a rename older than two weeks inside a longer ``lookback_days`` can be missed.
    """
    seen: dict[str, set] = {}
    for metric in _pages(cloudwatch, "list_metrics", "Metrics", Namespace="AWS/SageMaker", MetricName="Invocations"):
        dimensions = {item.get("Name"): item.get("Value") for item in metric.get("Dimensions", ())}
        if set(dimensions) == {"EndpointName", "VariantName"}:
            seen.setdefault(dimensions["EndpointName"], set()).add(dimensions["VariantName"])
    return seen


def _daily_values(cloudwatch, queries: list[_Query], start: datetime, end: datetime) -> dict:
    """Query -> its daily values, or ``None`` when CloudWatch could not give them all.

    Runs GetMetricData in batches of 500 queries, following NextToken within a batch.
    """
    results: dict = {}
    for batch in batches(queries, METRIC_QUERIES_PER_CALL):
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
                        "Dimensions": [{"Name": name, "Value": value} for name, value in query.dimensions],
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
