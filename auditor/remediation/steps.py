"""A live fix as data: the API calls of a step, the state each expects and leaves, and the call that undoes it.

A :class:`Step` remedies one finding (or several on one endpoint) with a list of :class:`Call`\\ s in
order. Each call names the state it relies on (:attr:`Call.expect`) and the state it produces
(:attr:`Call.leaves`) as :class:`Expectation`\\ s over :class:`Probe`\\ s, the resources
:mod:`.state` reads. The applier checks ``expect`` right before a call and ``leaves`` right after
it, so a plan that went stale is refused instead of applied, and a call that did not do what it
should stops its step. The inverse call (:attr:`Call.undo`) expects what the forward call left and
leaves what it found, so ``sagewise undo`` refuses a resource someone changed since.

Everything here is plain data with a JSON form, written into plan files and journals; nothing
here calls AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model import (
    AutoScalingGroup,
    Endpoint,
    InferenceComponent,
    ProvisionedConcurrency,
    ScalableTarget,
    ScalingPolicy,
    TrainingJob,
    Variant,
)
from ..scaling import namespace_of

AUTOSCALING = "application-autoscaling"
EC2_AUTOSCALING = "autoscaling"
"""EC2 Auto Scaling, as botocore (and IAM) name it."""
SAGEMAKER = "sagemaker"


@dataclass(frozen=True)
class Waiter:
    """What running a botocore waiter takes."""

    read: str
    """The IAM action of the read it polls with."""
    attempts: int
    """Polls before it gives up (:data:`.apply.WAIT_DELAY_SECONDS` apart)."""


WAITERS = {"endpoint_in_service": Waiter("sagemaker:DescribeEndpoint", 120),
           "endpoint_deleted": Waiter("sagemaker:DescribeEndpoint", 60)}
"""botocore waiters a call may wait on after it returns (the plan schema's ``wait`` names them too): an hour for an
endpoint to serve (botocore's default), half one to go."""

TARGET, ENDPOINT, ENDPOINT_TAGS, ENDPOINT_CONFIG = "scalable-target", "endpoint", "endpoint-tags", "endpoint-config"
PROVISIONED_CONCURRENCY, AUTO_SCALING_GROUP = "provisioned-concurrency", "auto-scaling-group"
PROBE_READS = {
    TARGET: ("application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
             "application-autoscaling:DescribeScheduledActions"),
    ENDPOINT: ("sagemaker:DescribeEndpoint",),
    ENDPOINT_TAGS: ("sagemaker:Search",),
    ENDPOINT_CONFIG: ("sagemaker:DescribeEndpointConfig",),
    PROVISIONED_CONCURRENCY: ("lambda:ListProvisionedConcurrencyConfigs",),
    AUTO_SCALING_GROUP: ("autoscaling:DescribeAutoScalingGroups",),
}
"""The IAM actions reading each kind of probe takes (:mod:`.state`)."""

EQUALS, INCLUDES = "equals", "includes"


@dataclass(frozen=True)
class Probe:
    """A resource whose state a step relies on: a scalable target (with its policies and scheduled actions),
    an endpoint, an endpoint's tags, an endpoint config, a Lambda alias's or version's provisioned concurrency, or an
    EC2 Auto Scaling group."""

    kind: str
    name: str
    """ResourceId of a target, name of an endpoint, endpoint config or Auto Scaling group, ``<function>:<qualifier>``
    of provisioned concurrency."""
    dimension: str | None = None
    """Scalable targets only."""

    @property
    def namespace(self) -> str:
        """A scalable target's service namespace (``sagemaker``, ``lambda``), the one its dimension names."""
        return namespace_of(self.dimension)

    def label(self) -> str:
        if self.kind == TARGET:
            return f"scalable target {self.name}"
        if self.kind == ENDPOINT_TAGS:
            return f"tags of endpoint {self.name}"
        if self.kind == PROVISIONED_CONCURRENCY:
            return f"provisioned concurrency of {self.name}"
        if self.kind == AUTO_SCALING_GROUP:
            return f"Auto Scaling group {self.name}"
        return f"{self.kind.replace('-', ' ')} {self.name}"

    def to_json(self) -> dict:
        data = {"kind": self.kind, "name": self.name}
        if self.dimension is not None:
            data["dimension"] = self.dimension
        return data

    @classmethod
    def from_json(cls, data: dict) -> Probe:
        return cls(data["kind"], data["name"], data.get("dimension"))


@dataclass(frozen=True)
class Expectation:
    """The value at ``path`` in a probe's state: ``None`` means absent.

    ``equals`` compares the whole value; ``includes`` only the keys the expected value names (at every
    depth), for state read back after a write, where AWS may add defaults the request did not carry.
    """

    probe: Probe
    path: tuple = ()
    value: Any = None
    match: str = EQUALS

    def to_json(self) -> dict:
        data = {"probe": self.probe.to_json(), "path": list(self.path), "value": self.value}
        if self.match != EQUALS:
            data["match"] = self.match
        return data

    @classmethod
    def from_json(cls, data: dict) -> Expectation:
        return cls(Probe.from_json(data["probe"]), tuple(data["path"]), data["value"], data.get("match", EQUALS))

    def overlaps(self, other: Expectation) -> bool:
        """Whether the two speak of the same part of the same resource (one path is a prefix of the other)."""
        shortest = min(len(self.path), len(other.path))
        return self.probe == other.probe and self.path[:shortest] == other.path[:shortest]


@dataclass(frozen=True)
class Call:
    """One API call with its exact parameters (botocore's names), what it expects, what it leaves, its undo."""

    service: str
    operation: str
    params: dict
    expect: tuple = ()
    leaves: tuple = ()
    wait: str | None = None
    """A botocore waiter (:data:`WAITERS`) run after the call, with the call's ``EndpointName``."""
    idempotent: bool = False
    """When what the call leaves is there already, the call is skipped (and never undone): creating an
    endpoint config that an earlier apply created and undo kept."""
    undo: Call | None = None
    kept: str | None = None
    """Why a call has no undo (what it created stays)."""

    @property
    def action(self) -> str:
        return f"{self.service}:{self.operation}"

    def actions(self) -> set:
        """IAM actions this call, its wait, its checks and its undo take."""
        found = {self.action}
        if self.wait:
            found.add(WAITERS[self.wait].read)
        for expectation in self.expect + self.leaves:
            found.update(PROBE_READS[expectation.probe.kind])
        if self.undo is not None:
            found |= self.undo.actions()
        return found

    def to_json(self) -> dict:
        data = {
            "service": self.service,
            "operation": self.operation,
            "params": self.params,
            "expect": [expectation.to_json() for expectation in self.expect],
            "leaves": [expectation.to_json() for expectation in self.leaves],
        }
        if self.wait:
            data["wait"] = self.wait
        if self.idempotent:
            data["idempotent"] = True
        if self.undo is not None:
            data["undo"] = self.undo.to_json()
        if self.kept:
            data["kept"] = self.kept
        return data

    @classmethod
    def from_json(cls, data: dict) -> Call:
        return cls(
            service=data["service"],
            operation=data["operation"],
            params=data["params"],
            expect=tuple(Expectation.from_json(item) for item in data["expect"]),
            leaves=tuple(Expectation.from_json(item) for item in data["leaves"]),
            wait=data.get("wait"),
            idempotent=data.get("idempotent", False),
            undo=cls.from_json(data["undo"]) if data.get("undo") else None,
            kept=data.get("kept"),
        )


@dataclass(frozen=True)
class Change:
    """What a step does to one resource, for people: ``create``, ``update`` or ``delete``, and the attributes
    that change (name, value before, value after; ``None`` for absent)."""

    action: str
    type: str
    name: str
    attributes: tuple = ()
    note: str | None = None

    def to_json(self) -> dict:
        data = {"action": self.action, "type": self.type, "name": self.name,
                "attributes": [list(attribute) for attribute in self.attributes]}
        if self.note:
            data["note"] = self.note
        return data

    @classmethod
    def from_json(cls, data: dict) -> Change:
        return cls(data["action"], data["type"], data["name"], tuple(tuple(item) for item in data["attributes"]),
                   data.get("note"))


@dataclass
class Step:
    """The calls that remedy one finding (or the findings of one endpoint), in one account and region."""

    id: str
    """The fingerprint of the step's first finding: the same finding always gives the same step id."""
    account: str
    region: str
    safety: str
    title: str
    findings: list
    """``{"rule_id", "severity", "resource", "path", "fingerprint", "message"}`` of each finding remedied."""
    calls: list
    changes: list = field(default_factory=list)

    @property
    def scope(self) -> tuple:
        return self.account, self.region

    @property
    def permissions(self) -> list:
        return sorted(set().union(*(call.actions() for call in self.calls)))

    def before(self) -> list:
        """What must hold before the first call: each call's expectations that no earlier call establishes
        (idempotent calls' own expectations aside: what they create may be there already)."""
        established: list = []
        before: list = []
        for call in self.calls:
            if not call.idempotent:
                before += [e for e in call.expect if not any(e.overlaps(done) for done in established)]
            established += call.leaves
        return before

    def after(self) -> list:
        """What holds once every call is made: what each call leaves, later calls overriding earlier ones."""
        return left_by(self.calls)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "account": self.account,
            "region": self.region,
            "safety": self.safety,
            "title": self.title,
            "findings": self.findings,
            "changes": [change.to_json() for change in self.changes],
            "permissions": self.permissions,
            "calls": [call.to_json() for call in self.calls],
        }

    @classmethod
    def from_json(cls, data: dict) -> Step:
        return cls(id=data["id"], account=data["account"], region=data["region"], safety=data["safety"],
                   title=data["title"], findings=data["findings"],
                   calls=[Call.from_json(item) for item in data["calls"]],
                   changes=[Change.from_json(item) for item in data["changes"]])


def left_by(calls) -> list:
    """The state a sequence of calls leaves: each call's ``leaves``, replacing earlier ones on the same part."""
    state: list = []
    for call in calls:
        for expectation in call.leaves:
            state = [kept for kept in state if not kept.overlaps(expectation)] + [expectation]
    return state


def finding_record(finding) -> dict:
    """The part of a finding a plan carries: which one it is (fingerprint), why, and what it is about in
    words (``subject``: moto and AWS give targets and policies opaque ARNs)."""
    location = finding.location
    record = {"rule_id": finding.rule_id, "severity": finding.severity, "subject": subject(finding),
              "resource": location.resource, "path": location.path, "fingerprint": finding.fingerprint,
              "message": finding.message}
    if finding.monthly_savings_usd:
        record["monthly_savings_usd"] = finding.monthly_savings_usd
    return record


def subject(finding) -> str:
    """What a finding is about, by name: ``endpoint churn``, ``scaling policy p on endpoint/churn/variant/A``."""
    thing = finding.model_object
    if isinstance(thing, Variant) and thing.endpoint:
        return f"endpoint {thing.endpoint}, variant {thing.variant_name}"
    if isinstance(thing, (Endpoint, TrainingJob, InferenceComponent)) and thing.name:
        kind = {Endpoint: "endpoint", TrainingJob: "training job", InferenceComponent: "inference component"}
        return f"{kind[type(thing)]} {thing.name}"
    if isinstance(thing, ScalableTarget) and thing.resource_id:
        return f"scalable target {thing.resource_id}"
    if isinstance(thing, ScalingPolicy) and thing.name:
        return f"scaling policy {thing.name} on {thing.resource_id}"
    if isinstance(thing, ProvisionedConcurrency) and thing.function:
        return f"provisioned concurrency of {thing.function}:{thing.qualifier}"
    if isinstance(thing, AutoScalingGroup) and thing.name:
        return f"Auto Scaling group {thing.name}"
    return finding.location.resource
