"""Live Lambda functions: what each runs, what waits on it, its provisioned concurrency and what that costs idle.

The facts are those the template reader (:mod:`.cfn_lambda`) gives, read from the Lambda API:

- ``ListFunctions`` (50 a page): each function's package type, memory and SnapStart setting;
- ``ListProvisionedConcurrencyConfigs``, one per function (Lambda has no region-wide listing): the aliases and
  versions kept warm, and ``GetFunctionConfiguration`` of each of those for the memory and architecture that are
  billed (an alias's version need not have $LATEST's memory);
- Application Auto Scaling's ``lambda`` namespace (targets, policies, scheduled actions), read the way the
  ``sagemaker`` one is, only where the region has functions;
- the callers that wait for an answer, only for a function SW401 could judge (a container image, or at least
  ``model_memory_mb`` of memory, with neither provisioned concurrency nor SnapStart): its resource policy
  (``GetPolicy``) letting ``apigateway.amazonaws.com`` or ``elasticloadbalancing.amazonaws.com`` invoke it, else its
  function URLs (``ListFunctionUrlConfigs``);
- CloudWatch's peak ``ProvisionedConcurrencyUtilization`` of each alias or version, in the region's GetMetricData
  batches.

So one call per function, one per provisioned concurrency configuration, and one or two per function that serves a
model with nothing warm. A read that is denied is one error line for every function it failed on; what depends on
it stays unknown and the rules stay silent. Not read: permissions granted on an alias only (``GetPolicy`` without a
qualifier reads the function's own), the aliases and versions a function publishes (``qualifier_keys`` stays
``None``, so SW403's "no such alias" is the template's alone), and tags (one ``ListTags`` per function).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from .. import catalog
from ..model import Function, ProvisionedConcurrency
from . import aws as live
from .cfn_lambda import PRINCIPALS

NAMESPACE = "lambda"
PAGE = 50
"""ListFunctions, ListProvisionedConcurrencyConfigs and ListFunctionUrlConfigs return at most 50 items a page."""
INVOKE = "lambda:InvokeFunction"
SECONDS_PER_MONTH = catalog.HOURS_PER_MONTH * 3600


@functools.lru_cache(maxsize=1)
def prices_per_gb_second() -> dict:
    """Architecture -> USD per GB-second of provisioned concurrency (``data/provisioned_concurrency_prices.json``)."""
    path = Path(__file__).resolve().parent.parent / "data" / "provisioned_concurrency_prices.json"
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["lambda"]["per_gb_second"]


def collect(clients, scope, settings, model) -> list:
    """Read the region's functions, their provisioned concurrency and its scaling into ``model``.

    Returns the CloudWatch evidence (utilization, and with it the idle cost) for the caller's metric batches.
    """
    client = clients.awslambda
    listed = live._listed(scope, lambda: live._pages(client, "list_functions", "Functions", MaxItems=PAGE))
    if not listed:
        return []
    configs = live._read_each(scope, [function["FunctionName"] for function in listed], lambda name: list(live._pages(
        client, "list_provisioned_concurrency_configs", "ProvisionedConcurrencyConfigs", FunctionName=name,
        MaxItems=PAGE)), "functions")
    functions, warm = [], []
    for described in listed:
        name = described["FunctionName"]
        found = configs[name]
        if found is live.GONE:
            continue  # deleted since it was listed
        functions.append(_function(described, found, scope))
        warm += [concurrency for config in found or () if (concurrency := _concurrency(name, config, scope))]
    _read_callers(client, scope, settings, functions)
    model.functions.extend(functions)
    model.provisioned_concurrency.extend(warm)
    targets, actions = live._scalable_targets(clients.autoscaling, scope, settings.now, NAMESPACE)
    model.scalable_targets.extend(targets)
    model.scheduled_actions.extend(actions)
    model.scaling_policies.extend(policy for policy, _ in live._scaling_policies(clients.autoscaling, scope, NAMESPACE))
    billed = live._read_each(scope, [(c.function, c.qualifier) for c in warm],
                             lambda key: client.get_function_configuration(FunctionName=key[0], Qualifier=key[1]),
                             "aliases and versions", subject=":".join)
    return [_Utilization(concurrency, billed[(concurrency.function, concurrency.qualifier)]) for concurrency in warm]


def _function(described: dict, configs: list | None, scope) -> Function:
    """``configs``: its provisioned concurrency configurations, ``None`` when they could not be read."""
    return Function(
        source=live.SOURCE,
        location=scope.location(described["FunctionArn"]),
        name=described["FunctionName"],
        key=described["FunctionName"],
        package_type=described.get("PackageType"),
        memory_mb=described.get("MemorySize"),
        provisioned_concurrency=None if configs is None else bool(configs),
        snap_start=(described.get("SnapStart") or {}).get("ApplyOn") == "PublishedVersions",
    )


def qualifier_of(function_arn: str) -> str | None:
    """The alias or version a qualified function ARN names (``arn:aws:lambda:<region>:<account>:function:f:live`` ->
    ``live``); ``None`` for an unqualified one. Shared by the audit and remediation's reading of a configuration's
    ``FunctionArn``, so that both pick the same configurations."""
    parts = function_arn.split(":")
    return parts[7] if len(parts) == 8 else None


def _concurrency(name: str, config: dict, scope) -> ProvisionedConcurrency | None:
    """One alias's or version's provisioned concurrency; ``None`` for a configuration whose ARN names no qualifier
    (the API never gives one: provisioned concurrency is set on a qualifier)."""
    arn = config["FunctionArn"]
    qualifier = qualifier_of(arn)
    if qualifier is None:
        return None
    kind = "latest" if qualifier == "$LATEST" else "version" if qualifier.isdigit() else "alias"
    return ProvisionedConcurrency(
        source=live.SOURCE,
        location=scope.location(arn),
        function=name,
        function_key=name,
        qualifier=qualifier,
        qualifier_key=qualifier,
        qualifier_kind=kind,
        executions=config.get("RequestedProvisionedConcurrentExecutions"),
        scaling_resource_id=f"function:{name}:{qualifier}",
    )


def _read_callers(client, scope, settings, functions: list) -> None:
    """``synchronous_trigger`` of the functions SW401 could judge: a resource policy letting API Gateway or a load
    balancer invoke it, else a function URL. Functions it cannot judge cost no call."""
    threshold = settings.model_memory_mb
    judged = [function for function in functions if function.provisioned_concurrency is False
              and not function.snap_start and (function.package_type == "Image" or threshold is None
                                               or (function.memory_mb is not None and function.memory_mb >= threshold))]
    policies = live._read_each(scope, [function.name for function in judged],
                               lambda name: client.get_policy(FunctionName=name)["Policy"], "functions")
    for function in judged:
        policy = policies[function.name]
        function.synchronous_trigger = policy_trigger(policy) if isinstance(policy, str) else None
    unanswered = [function for function in judged if function.synchronous_trigger is None]
    urls = live._read_each(scope, [function.name for function in unanswered], lambda name: list(live._pages(
        client, "list_function_url_configs", "FunctionUrlConfigs", FunctionName=name, MaxItems=PAGE)), "functions")
    for function in unanswered:
        if isinstance(urls[function.name], list) and urls[function.name]:
            function.synchronous_trigger = "a function URL"


def policy_trigger(document: str) -> str | None:
    """What a function's resource policy lets invoke it and wait for the answer: ``API Gateway`` or ``a load
    balancer`` (the services whose invoke permissions the template reader reads too), else ``None``."""
    try:
        policy = json.loads(document)
    except ValueError:
        return None
    for statement in _as_list(policy.get("Statement") if isinstance(policy, dict) else None):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow" \
                or INVOKE not in _as_list(statement.get("Action")):
            continue
        principal = statement.get("Principal")
        for service in _as_list(principal.get("Service") if isinstance(principal, dict) else principal):
            if service in PRINCIPALS:
                return PRINCIPALS[service]
    return None


def _as_list(value) -> list:
    """IAM policy elements hold one value or a list of them."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class _Utilization:
    """Peak ``ProvisionedConcurrencyUtilization`` of one alias or version, and what its idle warm capacity costs.

    Provisioned concurrency bills every configured GB-second (memory x executions), used or not. The share of it
    that stayed idle even at the busiest minute of the window, ``1 - peak``, is capacity nothing used: its monthly
    price is the finding's cost (a lower bound of what sits idle the rest of the day). A complete series without a
    datapoint is a window in which nothing ran on the warm capacity (CloudWatch publishes Lambda's metrics when
    invocations happen), so its peak is 0.
    """

    def __init__(self, concurrency: ProvisionedConcurrency, billed):
        self.concurrency = concurrency
        self.monthly_usd = _monthly_price(concurrency.executions, billed)
        resource = f"{concurrency.function}:{concurrency.qualifier}"
        self.queries = [live._Query("AWS/Lambda", "ProvisionedConcurrencyUtilization", "Maximum",
                                    (("FunctionName", concurrency.function), ("Resource", resource)))]

    def apply(self, results: dict, settings) -> None:
        values = results[self.queries[0]]
        if values is None:
            return
        peak = min(max(values, default=0.0), 1.0)
        self.concurrency.utilization = round(peak, 3)
        if self.monthly_usd is not None:
            self.concurrency.monthly_cost_usd = round(self.monthly_usd * (1 - peak), 2)


def _monthly_price(executions, billed) -> float | None:
    """A month of ``executions`` warm environments of the configuration ``billed`` (GetFunctionConfiguration of the
    alias or version): ``None`` without it, or for an architecture with no recorded price."""
    if not isinstance(billed, dict) or not isinstance(executions, int):
        return None
    memory, architectures = billed.get("MemorySize"), billed.get("Architectures") or ["x86_64"]  # Lambda's default
    price = prices_per_gb_second().get(architectures[0])
    if not isinstance(memory, int) or price is None:
        return None
    return executions * memory / 1024 * SECONDS_PER_MONTH * price
