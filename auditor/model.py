"""The normalized resource model every source produces and every rule reads.

A template and a live account describe the same things (endpoint variants, scalable targets,
scaling policies, training jobs), so sources translate into these dataclasses and rules never
see where a resource came from. Each object carries a :class:`Location`: where it is (a file and
logical ID, or an account, region and ARN) and where each of its fields is, so a finding can
point at the exact property.

Values a source could not determine are ``None``; rules treat ``None`` as "cannot say" and stay
silent rather than guess. Facts that take more than a one-line condition to derive (which target
scales which variant, whether an image is CPU-only) are computed here or in :mod:`auditor.linking`
and :mod:`auditor.catalog`, so rule files stay declarative.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Location:
    """Where a resource (or one of its fields) is.

    ``resource`` is a logical ID for templates and an ARN for live resources. ``path`` is the
    logical property path inside it (``Properties.ProductionVariants[AllTraffic].InstanceType``);
    it names things rather than numbering them where it can, so it survives edits and can be part
    of a fingerprint. ``scope`` is the file for templates and ``account/region`` for live resources.
    """

    scope: str
    resource: str
    path: str = ""
    line: int = 0
    column: int = 0
    file: str | None = None
    account: str | None = None
    region: str | None = None

    def at(self, path: str, line: int = 0, column: int = 0) -> "Location":
        return Location(self.scope, self.resource, path, line or self.line, column or self.column,
                        self.file, self.account, self.region)


@dataclass
class Resource:
    """Fields shared by every model object. Subclasses add the facts rules read."""

    source: str
    location: Location
    field_locations: dict = field(default_factory=dict, repr=False)
    """Field name -> :class:`Location` of that field, for findings that point at one property."""
    owners: tuple = field(default=(), repr=False)
    """Other resources (logical IDs or ARNs, in the same scope) where an ignore of this object's
    findings may also be declared: a variant's endpoint, besides the endpoint config it is in."""
    document_path: tuple = field(default=(), repr=False)
    """Template sources: the keys and indexes leading to the object in its document (for fixes);
    inside a definition held in a string, the path within that definition."""
    definition_path: tuple | None = field(default=None, repr=False)
    """For objects inside a definition written as a string (``DefinitionString``,
    ``PipelineDefinitionBody``): the path of that string in the file; ``None`` otherwise."""

    def facts(self) -> dict[str, Any]:
        """The object as the plain dict that rule conditions are evaluated against."""
        return {name: getattr(self, name) for name in fact_names(type(self))}

    def location_of(self, field_name: str | None) -> Location:
        if field_name and field_name in self.field_locations:
            return self.field_locations[field_name]
        return self.location


_NOT_FACTS = frozenset({"location", "field_locations", "owners", "document_path", "definition_path"})


@functools.lru_cache(maxsize=None)
def fact_names(cls) -> tuple:
    """The fields of a model class that rule conditions and messages can read."""
    return tuple(f.name for f in fields(cls) if f.name not in _NOT_FACTS)


@dataclass
class Endpoint(Resource):
    name: str | None = None
    status: str | None = None
    kind: str | None = None
    """``real-time``, ``async`` or ``serverless``."""
    age_days: float | None = None
    invocations: float | None = None
    """Live only: invocations summed over the lookback window (``None`` when metrics were not read)."""
    lookback_days: int | None = None
    instance_count: int | None = None
    monthly_cost_usd: float | None = None
    monthly_savings_usd: float | None = None
    """What deleting the endpoint would save: its whole instance cost (the fix SW303 proposes)."""
    judged: bool = True
    """False for a live endpoint that is not serving (``Failed``, ``Creating``, ``Deleting``,
    ``OutOfService``): it is counted, but rules on scaling and cost skip it. Templates leave it True."""


@dataclass
class Variant(Resource):
    """A production variant of an endpoint (or of an endpoint config no endpoint in scope uses)."""

    endpoint: str | None = None
    """Display name of the endpoint, or ``None`` when no endpoint in scope uses the config."""
    endpoint_key: Any = field(default=None, repr=False)
    """Comparable identity of the endpoint's name (see :mod:`auditor.linking`)."""
    variant_name: str | None = None
    variant_key: Any = field(default=None, repr=False)
    scaling_resource_id: str | None = None
    """The ResourceId a scalable target of this variant must have (computed by linking; pieces known
    only at deploy time shown as the expression they come from, ``${Endpoint.EndpointName}``)."""
    kind: str | None = None
    """``real-time``, ``async`` or ``serverless``; ``None`` when it depends on unresolved values."""
    instance_type: str | None = None
    instance_family: str | None = None
    instance_count: int | None = None
    burstable: bool | None = None
    accelerated: bool | None = None
    """True on GPU, Inferentia or Trainium instances."""
    accelerator: str | None = None
    previous_generation: bool | None = None
    suggested_instance_type: str | None = None
    size_rank: int | None = None
    """Order of the instance size within its family (large=2, xlarge=4, 2xlarge=8...)."""
    managed_instance_scaling: bool = False
    hosts_inference_components: bool = False
    shadow: bool = False
    """A shadow variant (``ShadowProductionVariants``): it gets a copy of the traffic and bills like any other."""
    judged: bool = True
    """False when its endpoint is not serving (see ``Endpoint.judged``)."""
    images: list = field(default_factory=list)
    cpu_only_image: bool | None = None
    """True when every container image is known and CPU-only; ``None`` when any image is unknown."""
    has_scalable_target: bool | None = None
    """Computed by linking: True/False, or ``None`` when some target's resource ID could not be resolved."""
    conditional_scaling: str | None = None
    """Computed by linking: when its only scalable targets are off by default, why (their condition)."""
    provisioned_concurrency: int | None = None
    """Serverless variants: ``ServerlessConfig.ProvisionedConcurrency`` (warm capacity, billed while idle)."""
    max_concurrency: int | None = None
    """Serverless variants: ``ServerlessConfig.MaxConcurrency``."""
    # Live evidence (audit only).
    peak_cpu_per_vcpu: float | None = None
    peak_memory: float | None = None
    peak_gpu_per_gpu: float | None = None
    peak_gpu_memory_per_gpu: float | None = None
    utilization_days: int | None = None
    downsize_to: str | None = None
    monthly_cost_usd: float | None = None
    monthly_savings_usd: float | None = None


@dataclass
class InferenceComponent(Resource):
    name: str | None = None
    key: Any = field(default=None, repr=False)
    endpoint: str | None = None
    variant_name: str | None = None
    has_scalable_target: bool | None = None
    status: str | None = None
    copy_count: int | None = None
    """Live only: copies the component runs now (``RuntimeConfig.CurrentCopyCount``)."""
    invocations: float | None = None
    """Live only: invocations of the component over the lookback window (``None`` when not read)."""
    lookback_days: int | None = None
    age_days: float | None = None
    judged: bool = True
    """False when the component or its endpoint is not serving (see ``Endpoint.judged``)."""


@dataclass
class ScalableTarget(Resource):
    resource_id: str | None = None
    """Display form of the ResourceId (symbolic pieces shown as ``${...}``)."""
    namespace: str | None = None
    dimension: str | None = None
    min_capacity: int | None = None
    max_capacity: int | None = None
    scheduled_action_count: int = 0
    policy_count: int | None = None
    """Computed by linking; ``None`` when a policy's target could not be resolved."""
    target_kind: str | None = None
    """``variant``, ``inference-component`` or ``None`` (not SageMaker, or unresolvable)."""
    endpoint_key: Any = field(default=None, repr=False)
    variant_key: Any = field(default=None, repr=False)
    component_key: Any = field(default=None, repr=False)
    function_key: Any = field(default=None, repr=False)
    """Lambda targets (``function:<name>:<qualifier>``): the function's and the qualifier's identity."""
    qualifier_key: Any = field(default=None, repr=False)
    resource_id_problem: str | None = None
    """Why the ResourceId cannot name a real variant (see SW106) or alias (see SW403), or ``None``."""
    key: Any = field(default=None, repr=False)
    """How scaling policies refer to this target (a logical ID, or the resource triple)."""
    suspended: str | None = None
    """Dynamic scaling turned off by ``SuspendedState``: ``scale-in``, ``scale-out`` or ``scale-in and scale-out``."""
    condition_off: str | None = None
    """Templates: why the target does not exist by default (its ``Condition`` is false under the
    parameter defaults); such a target scales nothing (linking ignores it)."""
    scales_async: bool | None = None
    """Computed by linking: whether the variant it scales is on an asynchronous endpoint."""
    backlog_wake_up: bool | None = None
    """Computed by linking: a step policy of this target is triggered by an alarm on
    ``HasBacklogWithoutCapacity`` (``None`` when some policy's alarms cannot be known)."""


@dataclass
class ScalingPolicy(Resource):
    name: str | None = None
    policy_type: str | None = None
    target_key: Any = field(default=None, repr=False)
    resource_id: str | None = None
    namespace: str | None = None
    dimension: str | None = None
    """The scalable dimension of the target it scales (its own, or its target's via linking)."""
    metric_type: str | None = None
    customized_metric: bool = False
    target_value: float | None = None
    scale_in_cooldown: int | None = None
    """Effective scale-in cooldown in seconds. Sources set the explicit value (None when absent or
    unresolvable) and ``*_defaulted`` when it is absent; linking then fills in the service default."""
    scale_out_cooldown: int | None = None
    scale_in_cooldown_defaulted: bool = False
    scale_out_cooldown_defaulted: bool = False
    scale_in_cooldown_text: str | None = None
    """How messages show the effective cooldown: ``60s``, or ``300s (default)`` when it was not written."""
    scale_out_cooldown_text: str | None = None
    disable_scale_in: bool | None = None
    metric_problem: str | None = None
    """Why the metric cannot drive this dimension (see SW105), or ``None``."""
    customized_metric_name: str | None = None
    customized_namespace: str | None = None
    customized_statistic: str | None = None
    customized_dimensions: list | None = None
    """Names of the customized metric's dimensions (``None`` when not written plainly)."""
    adjustment_type: str | None = None
    metric_aggregation_type: str | None = None
    step_adjustments: list | None = None
    """Step scaling: ``{"lower", "upper", "adjustment"}`` per step (bounds ``None`` when open);
    ``None`` when not written plainly."""
    step_problem: str | None = None
    """Why the step adjustments cannot work (see SW109), or ``None``; computed by linking."""
    alarm_count: int | None = None
    """Step scaling: how many alarms trigger the policy (``None`` when that cannot be known)."""
    alarm_metrics: list = field(default_factory=list)
    """The metric names of the alarms that trigger it (``None`` for one on metric math or a name not known)."""
    alarm_directions: list = field(default_factory=list)
    """Per triggering alarm: ``up`` (fires when the metric rises) or ``down``; computed by linking."""
    condition_off: str | None = None
    """Templates: why the policy does not exist by default (see ``ScalableTarget.condition_off``)."""
    key: Any = field(default=None, repr=False)
    """How alarms' actions name this policy (a logical ID, or its ARN)."""


@dataclass
class ScheduledAction(Resource):
    """A scheduled action of a scalable target (a ``ScheduledActions`` item, or ``PutScheduledAction``)."""

    name: str | None = None
    schedule: str | None = None
    timezone: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    min_capacity: int | None = None
    max_capacity: int | None = None
    resource_id: str | None = None
    problem: str | None = None
    """Why the action never runs or is refused (see SW110), or ``None``."""


@dataclass
class Alarm(Resource):
    """A CloudWatch alarm whose actions include scaling policies."""

    name: str | None = None
    namespace: str | None = None
    metric_name: str | None = None
    dimensions: list = field(default_factory=list)
    """Dimension names."""
    comparison: str | None = None
    threshold: float | None = None
    action_keys: list = field(default_factory=list, repr=False)
    """How its ``AlarmActions`` name policies (logical IDs or ARNs); ``None`` entries are unresolved."""
    actions_enabled: bool = True
    """``ActionsEnabled: false`` silences its actions: it triggers no policy."""


@dataclass
class TrainingJob(Resource):
    name: str | None = None
    """The job's name where known, else the state or pipeline step that starts it."""
    container: str | None = None
    """What starts the job: ``state machine X`` / ``pipeline step Y`` / ``training job``."""
    spot: bool | None = None
    has_checkpoint: bool | None = None
    max_runtime_seconds: int | None = None
    max_wait_seconds: int | None = None
    max_wait_set: bool | None = None
    """True when MaxWaitTimeInSeconds is given, False when absent, None when it cannot be known."""
    instance_type: str | None = None
    instance_family: str | None = None
    burstable: bool | None = None
    accelerated: bool | None = None
    accelerator: str | None = None
    previous_generation: bool | None = None
    suggested_instance_type: str | None = None
    size_rank: int | None = None
    monthly_cost_usd: float | None = None
    billable_seconds: int | None = None
    """Live: the job's ``BillableTimeInSeconds`` (per instance)."""
    instance_count: int | None = None
    spot_saving_usd: float | None = None
    """Live, on-demand jobs: what managed spot would have saved on this run (see SW203)."""


@dataclass
class TransformJob(Resource):
    """A batch transform job (started by a state machine, or seen live)."""

    name: str | None = None
    container: str | None = None
    instance_type: str | None = None
    instance_family: str | None = None
    burstable: bool | None = None
    accelerated: bool | None = None
    accelerator: str | None = None
    previous_generation: bool | None = None
    suggested_instance_type: str | None = None
    size_rank: int | None = None


@dataclass
class Function(Resource):
    """A Lambda function: what package it runs, what calls it synchronously, whether it keeps warm capacity."""

    name: str | None = None
    key: Any = field(default=None, repr=False)
    """Comparable identity of its name (what ``function:<name>:<qualifier>`` ResourceIds hold)."""
    package_type: str | None = None
    """``Image`` or ``Zip``."""
    memory_mb: int | None = None
    synchronous_trigger: str | None = None
    """What invokes it and waits: ``API Gateway``, ``a function URL``, ``a load balancer``; ``None`` when none
    is seen."""
    provisioned_concurrency: bool | None = None
    """Whether any alias or version of it has provisioned concurrency (``None`` when that cannot be known)."""
    snap_start: bool = False
    """SnapStart restores published versions from a snapshot: the other cure for cold starts (and it cannot be
    combined with provisioned concurrency)."""
    qualifier_keys: Any = field(default=None, repr=False)
    """The aliases and versions published for it (``None`` when not known: a live function seen partly)."""
    monthly_cost_usd: float | None = None


@dataclass
class ProvisionedConcurrency(Resource):
    """Provisioned concurrency set on a Lambda alias or version (``$LATEST`` cannot have it)."""

    function: str | None = None
    function_key: Any = field(default=None, repr=False)
    qualifier: str | None = None
    qualifier_key: Any = field(default=None, repr=False)
    qualifier_kind: str | None = None
    """``alias``, ``version`` or ``latest``."""
    executions: int | None = None
    scaling_resource_id: str | None = None
    """The ResourceId a scalable target for it must have (``function:<name>:<qualifier>``)."""
    has_scalable_target: bool | None = None
    """Computed by linking, like a variant's."""
    utilization: float | None = None
    """Live: peak ``ProvisionedConcurrencyUtilization`` over the lookback window (a fraction)."""
    monthly_cost_usd: float | None = None
    """Live: what its warm capacity costs a month while idle: the share nothing used even at the window's peak,
    ``(1 - utilization)`` of every configured GB-second (see SW402); ``None`` without a verified price."""


@dataclass
class AutoScalingGroup(Resource):
    """An EC2 Auto Scaling group: its instance types, how much of it is Spot, and what scales it."""

    name: str | None = None
    key: Any = field(default=None, repr=False)
    min_size: int | None = None
    max_size: int | None = None
    instance_types: list = field(default_factory=list)
    instance_type_count: int | None = None
    """Distinct instance types it can launch (``None`` when one comes from a value not known)."""
    instance_selection: str | None = None
    """Its instance types as messages show them, or how they are chosen (attribute-based selection)."""
    attribute_based: bool = False
    """Its instance types are chosen by ``InstanceRequirements`` (attribute-based selection)."""
    spot: bool | None = None
    """Whether it launches Spot instances (above the On-Demand base of a mixed instances policy, or all of
    them through a launch template's market options or a launch configuration's SpotPrice)."""
    mixed_instances: bool = False
    """It has a ``MixedInstancesPolicy`` (the only way to choose a Spot allocation strategy)."""
    on_demand_base: int | None = None
    on_demand_percentage: int | None = None
    """``OnDemandPercentageAboveBaseCapacity`` (100, all On-Demand, when not written)."""
    spot_allocation_strategy: str | None = None
    """The effective Spot allocation strategy of a mixed instances policy (``lowest-price`` when not written)."""
    spot_allocation_text: str | None = None
    """The strategy as messages show it (``lowest-price (the default)`` when not written)."""
    capacity_rebalance: bool | None = None
    accelerated: bool | None = None
    """Whether its instance types carry GPUs or other accelerators (``None`` when a type is not known)."""
    serves_traffic: bool = False
    """It is behind a load balancer (target groups or classic load balancers)."""
    policy_count: int | None = None
    """Scaling policies and scheduled actions on it (``None`` when one names a group that cannot be known; live,
    when they, or the ECS capacity providers that might size it instead, could not be read)."""
    scaled_by: str | None = None
    """What else sizes it: an ECS capacity provider with managed scaling, the Kubernetes cluster autoscaler."""


COLLECTIONS = {
    "endpoints": Endpoint,
    "variants": Variant,
    "inference_components": InferenceComponent,
    "scalable_targets": ScalableTarget,
    "scaling_policies": ScalingPolicy,
    "scheduled_actions": ScheduledAction,
    "alarms": Alarm,
    "training_jobs": TrainingJob,
    "transform_jobs": TransformJob,
    "functions": Function,
    "provisioned_concurrency": ProvisionedConcurrency,
    "auto_scaling_groups": AutoScalingGroup,
}
"""Collection name (as rule files spell it) -> model class."""


@dataclass
class ResourceModel:
    """Everything one source unit (a file, or an account and region) contains."""

    endpoints: list = field(default_factory=list)
    variants: list = field(default_factory=list)
    inference_components: list = field(default_factory=list)
    scalable_targets: list = field(default_factory=list)
    scaling_policies: list = field(default_factory=list)
    scheduled_actions: list = field(default_factory=list)
    alarms: list = field(default_factory=list)
    training_jobs: list = field(default_factory=list)
    transform_jobs: list = field(default_factory=list)
    functions: list = field(default_factory=list)
    provisioned_concurrency: list = field(default_factory=list)
    auto_scaling_groups: list = field(default_factory=list)
    suppressions: list = field(default_factory=list)
    """:class:`Suppression` entries declared in the source (template Metadata)."""

    def collection(self, name: str) -> list:
        return getattr(self, name)

    def extend(self, other: "ResourceModel") -> None:
        for name in COLLECTIONS:
            self.collection(name).extend(other.collection(name))
        self.suppressions.extend(other.suppressions)


@dataclass
class Suppression:
    """An ``ignore`` entry in ``Metadata.sagewise`` of a resource, or of the template (``location.resource`` "")."""

    rule: str
    """The id or name the entry names."""
    reason: str | None
    location: Location
    used: bool = False
    problem: str | None = None
    """Why the declaration cannot be read as an ignore (reported as SW003); it then suppresses nothing."""
    document_path: tuple = ()
    """Keys and indexes of the entry in its template (for the fix that removes an unused one)."""
