"""A remediation plan: the steps that fix an audit's findings on live accounts, and what is left to people.

:func:`make_plan` turns an audit (its findings with the model objects they matched, the linked
model, and the audit's read-only clients) into :class:`~.steps.Step`\\ s, reading each resource a
step changes through the same guarded clients. Nothing is changed: the plan is data, written as
JSON (:meth:`Plan.to_json`) with a version, and applied later by :mod:`.apply`.

Steps are ordered so that none undoes another's premise: endpoints parked first (nothing else is
planned on them), then instance type changes (which take an endpoint's scaling down and put it back
as it was), then the scaling fixes. A finding without a live fix goes into ``manual`` with what a
person should change, one whose live fix does not apply here into ``skipped`` with the reason.

:func:`load_plan` reads a plan file and refuses one that is not exactly what sagewise writes: the
schema (``auditor/data/plan.schema.json``), every call's parameters against botocore's service
model, and every call among those the remediation may make (:data:`auditor.iam.REMEDIATE_ACTIONS`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from .. import __version__, faults, iam
from ..model import Endpoint, ScalableTarget, ScalingPolicy, TrainingJob, Variant
from ..scaling_fixes import DEFAULT_RUNTIME_SECONDS, max_wait_seconds
from . import autoscaling_fixes, endpoint_fixes, group_fixes
from .fixing import Context, LeftToPeople, Unplannable
from .state import Reader
from .steps import WAITERS, Step, finding_record, subject

VERSION = 1
KIND = "sagewise-remediation-plan"
SCALING_FIXES = {
    "SW101": autoscaling_fixes.add_autoscaling,
    "SW102": autoscaling_fixes.add_policy,
    "SW104": autoscaling_fixes.balance_cooldowns,
    "SW402": autoscaling_fixes.add_concurrency_autoscaling,
    "SW403": autoscaling_fixes.fraction_target,
    "SW404": autoscaling_fixes.add_serverless_concurrency_autoscaling,
    "SW501": group_fixes.spot_allocation,
    "SW503": group_fixes.capacity_rebalance,
}
"""Rule id -> live fixer of one finding (Application Auto Scaling's, then Auto Scaling groups'), in the order their
steps run (after parking and instance changes)."""
INSTANCE_RULES = ("SW301", "SW302")
PARK_RULE = "SW303"


class PlanError(Exception):
    """A plan file that cannot be used; the message names the file and what is wrong."""


@dataclass
class Plan:
    steps: list
    manual: list = field(default_factory=list)
    """``{"account", "region", "finding", "advice"}``: findings with no live fix, and what to change."""
    skipped: list = field(default_factory=list)
    """``{"account", "region", "finding", "reason"}``: findings whose live fix is not planned, and why."""
    unsafe_fixes: bool = False
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    tool: str = f"sagewise {__version__}"

    @property
    def scopes(self) -> list:
        return sorted({step.scope for step in self.steps})

    def to_json(self) -> dict:
        return {"version": VERSION, "kind": KIND, "tool": self.tool, "created": self.created,
                "unsafe_fixes": self.unsafe_fixes, "steps": [step.to_json() for step in self.steps],
                "manual": self.manual, "skipped": self.skipped}

    def text(self) -> str:
        """The plan as JSON, as it is written to a file."""
        return json.dumps(self.to_json(), indent=2) + "\n"

    @property
    def digest(self) -> str:
        """What a journal records to tell which plan it belongs to (the content, whatever the file's layout)."""
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    @classmethod
    def from_json(cls, data: dict) -> Plan:
        return cls(steps=[Step.from_json(step) for step in data["steps"]], manual=data["manual"],
                   skipped=data["skipped"], unsafe_fixes=data["unsafe_fixes"], created=data["created"],
                   tool=data["tool"])


def make_plan(result, params: dict, *, unsafe: bool) -> tuple[Plan, list]:
    """The plan for an audit's findings (``params``: rule id -> parameters with defaults), and one line for
    each resource whose state could not be read (its finding is skipped)."""
    context = Context(result.model, params, {scope: Reader(clients) for scope, clients in result.clients.items()})
    plan = Plan(steps=[], unsafe_fixes=unsafe)
    errors: list[str] = []
    planned = defaultdict(list)
    """PARK_RULE -> findings; (scope, endpoint) -> instance findings of the endpoint; scaling rule -> findings."""
    for finding in sorted(result.findings, key=lambda finding: finding.sort_key()):
        thing, rule = finding.model_object, finding.rule_id
        if rule == PARK_RULE and isinstance(thing, Endpoint):
            key = PARK_RULE
        elif rule in INSTANCE_RULES and isinstance(thing, Variant) and thing.endpoint:
            key = (finding.location.scope, thing.endpoint)
        elif rule in SCALING_FIXES:
            key = rule
        else:
            plan.manual.append(_note(finding, "advice", _advice(finding, params)))
            continue
        if finding.fix["safety"] == "unsafe" and not unsafe:
            plan.skipped.append(_note(finding, "reason", "an unsafe fix: planned only with --unsafe-fixes"))
        else:
            planned[key].append(finding)
    parks = planned.pop(PARK_RULE, [])
    scaling = {rule: planned.pop(rule, []) for rule in SCALING_FIXES}
    instances = planned
    parked = set()
    for finding in parks:
        if _planned(plan, errors, finding, functools.partial(endpoint_fixes.park, finding, context)):
            parked.add((finding.location.scope, finding.model_object.name))
    for (scope, endpoint), findings in instances.items():
        if (scope, endpoint) in parked:
            plan.skipped += [_note(finding, "reason", f"this plan parks endpoint {endpoint}") for finding in findings]
            continue
        try:
            step, left_out = endpoint_fixes.change_instances(findings, context)
        except (Unplannable, ClientError, BotoCoreError) as exc:
            plan.skipped += [_note(finding, "reason", _reason(exc, errors, finding)) for finding in findings]
            continue
        plan.steps.append(step)
        plan.skipped += [_note(finding, "reason", reason) for finding, reason in left_out]
    for rule, fixer in SCALING_FIXES.items():
        for finding in scaling[rule]:
            endpoint = _endpoint_of(finding.model_object)
            if (finding.location.scope, endpoint) in parked:
                plan.skipped.append(_note(finding, "reason", f"this plan parks endpoint {endpoint}"))
                continue
            _planned(plan, errors, finding, functools.partial(fixer, finding, context))
    return plan, errors


def _planned(plan: Plan, errors: list, finding, build) -> bool:
    try:
        plan.steps.append(build())
        return True
    except LeftToPeople as exc:
        plan.manual.append(_note(finding, "advice", str(exc)))
        return False
    except (Unplannable, ClientError, BotoCoreError) as exc:
        plan.skipped.append(_note(finding, "reason", _reason(exc, errors, finding)))
        return False


def _reason(exc: Exception, errors: list, finding) -> str:
    if isinstance(exc, Unplannable):
        return str(exc)
    reason = f"its state could not be read: {faults.explain(exc)}"
    errors.append(f"{finding.location.account}/{finding.location.region}: {subject(finding)}: {reason}")
    return reason


def _endpoint_of(thing) -> str | None:
    if isinstance(thing, Variant):
        return thing.endpoint
    if isinstance(thing, ScalableTarget):
        return thing.endpoint_key
    if isinstance(thing, ScalingPolicy) and isinstance(thing.resource_id, str) and thing.resource_id.startswith(
            "endpoint/"):
        return thing.resource_id.split("/")[1]
    return None


def _note(finding, key: str, text: str) -> dict:
    location = finding.location
    return {"account": location.account, "region": location.region, "finding": finding_record(finding), key: text}


def _advice(finding, params: dict) -> str:
    """What a person should change for a finding sagewise does not fix live."""
    thing, rule = finding.model_object, finding.rule_id
    if isinstance(thing, TrainingJob):
        started = "a started training job cannot be changed: in what starts it (state machine, pipeline or script), "
        if rule == "SW201":
            return started + ("add CheckpointConfig.S3Uri (for example the output path followed by /checkpoints/) and "
                              "save checkpoints to /opt/ml/checkpoints in the training code")
        if rule == "SW202":
            wait = max_wait_seconds(params, thing.max_runtime_seconds or DEFAULT_RUNTIME_SECONDS)
            return started + f"set StoppingCondition.MaxWaitTimeInSeconds to {wait}"
        if rule in INSTANCE_RULES and thing.suggested_instance_type:
            return started + f"set ResourceConfig.InstanceType to {thing.suggested_instance_type}"
    summary = finding.fix["summary"].strip().rstrip(".") if finding.fix else "see `sagewise explain`"
    if finding.fix and finding.fix["safety"] in ("safe", "unsafe"):
        summary += " (sagewise has no live fix for it; `sagewise fix` applies it to templates)"
    return summary


# --- Plan files ------------------------------------------------------------------------------------------------


def load_plan(path) -> tuple[Plan, str]:
    """The plan in ``path`` and its digest; :class:`PlanError` naming the file and the problem otherwise."""
    path = Path(path)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise PlanError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PlanError(f"{path}: not a sagewise plan (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise PlanError(f"{path}: not a sagewise plan (invalid JSON at line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise PlanError(f"{path}: not a sagewise plan (no \"kind\": \"{KIND}\")")
    if data.get("version") != VERSION:
        raise PlanError(f"{path}: plan version {data.get('version')!r} is not one this sagewise reads ({VERSION})")
    problem = schema_problem(data, "plan")
    if problem:
        raise PlanError(f"{path}: {problem}")
    plan = Plan.from_json(data)
    ids = [step.id for step in plan.steps]
    if len(set(ids)) != len(ids):
        raise PlanError(f"{path}: two steps have the same id")
    for number, (step, written) in enumerate(zip(plan.steps, data["steps"], strict=True), 1):
        for call in step.calls:
            problem = call_problem(call)
            if problem:
                raise PlanError(f"{path}: step {number}: {problem}")
        if written["permissions"] != step.permissions:
            raise PlanError(f"{path}: step {number}: its permissions are not those its calls need")
    return plan, plan.digest


def call_problem(call) -> str | None:
    """Why a call (or its undo) is not one the remediation makes, or has parameters botocore would refuse."""
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    for each in (call, call.undo) if call.undo else (call,):
        if each.action not in iam.REMEDIATE_ACTIONS or each.operation.startswith(("Describe", "List", "Search")):
            return f"{each.action} is not a call of sagewise's fixes"
        if each.wait and "EndpointName" not in each.params:
            return f"{each.operation} waits on {each.wait} without an EndpointName"
        if each.wait and each.wait not in WAITERS:
            return f"{each.wait} is not a waiter sagewise uses"
        try:
            validate_parameters(each.params, _service_model(each.service).operation_model(each.operation).input_shape)
        except ParamValidationError as exc:
            return f"{each.operation}: " + " ".join(str(exc).split())
    return None


@functools.lru_cache(maxsize=None)
def _service_model(service: str):
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    return json.loads((Path(__file__).resolve().parents[1] / "data" / "plan.schema.json").read_text())


def schema_problem(data, definition: str) -> str | None:
    """The first way ``data`` breaks the schema's ``definition`` (``plan`` or ``journal-entry``), located."""
    import jsonschema  # deferred: the lint path never loads it

    schema = _schema()
    validator = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]})
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return None
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
    return f"{where.lstrip('.') or 'top level'}: {error.message}"
