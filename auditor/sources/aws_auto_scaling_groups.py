"""Live EC2 Auto Scaling groups: the instance types they launch, how much of them is Spot, and what scales them.

The facts and their defaults are those the template reader (:mod:`.cfn_auto_scaling_groups`) gives, read from the
APIs:

- ``DescribeAutoScalingGroups`` (100 a page, without their instances): each group's mixed instances policy, launch
  template or launch configuration, ``CapacityRebalance``, load balancers and tags;
- ``DescribeLaunchTemplateVersions``, one per distinct launch template the groups need, naming every version they
  use (a number, ``$Latest`` or ``$Default``): instance type, attribute-based requirements, market options;
  ``DescribeLaunchConfigurations`` (50 names a call): a launch configuration's type and ``SpotPrice``;
- ``DescribePolicies`` and ``DescribeScheduledActions`` (100 a page, the whole region at once): what sizes each
  group; ECS ``DescribeCapacityProviders`` (10 a page) only when some group has no enabled policy, no schedule and
  no cluster autoscaler tag: the groups an ECS capacity provider with managed scaling sizes.

A region without groups costs one call; one with groups a constant number plus one per launch template, never one
per group or instance. A read that is denied is one error line, and what depends on it stays unknown: the instance
types (and so Spot and accelerators) of the groups using that template or configuration, what scales the groups
when policies, schedules or capacity providers cannot be read. ``sagewise:ignore`` tags on a group suppress its
findings, as on endpoints.
"""

from __future__ import annotations

from collections import Counter

from ..ec2_types import (
    CLUSTER_AUTOSCALER_TAG,
    DEFAULT_ON_DEMAND_PERCENTAGE,
    DEFAULT_SPOT_ALLOCATION,
    asks_for_accelerators,
    group_facts,
)
from ..model import AutoScalingGroup
from . import aws as live

PAGE = 100
"""DescribeAutoScalingGroups', DescribePolicies' and DescribeScheduledActions' largest page."""
CONFIGURATION_NAMES_PER_CALL = 50
CAPACITY_PROVIDERS_PAGE = 10
DEFAULT_VERSION = "$Default"
"""The launch template version a group uses when it names none (EC2 Auto Scaling's API reference)."""
STRATEGY_PATH = "MixedInstancesPolicy.InstancesDistribution.SpotAllocationStrategy"
ECS_MANAGED = "an ECS capacity provider"
CLUSTER_AUTOSCALER = "the Kubernetes cluster autoscaler"


def collect(clients, scope, model) -> None:
    """Read the region's Auto Scaling groups into ``model`` (with the suppressions their tags declare)."""
    autoscaling = clients.ec2_autoscaling
    described = live._listed(scope, lambda: live._pages(autoscaling, "describe_auto_scaling_groups",
                                                         "AutoScalingGroups", IncludeInstances=False, MaxRecords=PAGE))
    if not described:
        return
    templates = _launch_templates(clients.ec2, scope, described)
    configurations = _launch_configurations(autoscaling, scope, described)
    policies = _per_group(scope, lambda: live._pages(autoscaling, "describe_policies", "ScalingPolicies",
                                                      MaxRecords=PAGE),
                          counts=lambda policy: policy.get("Enabled") is not False)  # a disabled policy sizes nothing
    schedules = _per_group(scope, lambda: live._pages(autoscaling, "describe_scheduled_actions",
                                                       "ScheduledUpdateGroupActions", MaxRecords=PAGE))
    groups = []
    for group in described:
        name = group["AutoScalingGroupName"]
        scaled = None if policies is None or schedules is None else policies[name] + schedules[name]
        groups.append(_group(group, templates, configurations, scaled, scope))
        model.suppressions.extend(live._tag_suppressions(group.get("Tags"), groups[-1].location))
    unscaled = [group for group in groups if group.policy_count == 0 and group.scaled_by is None]
    if unscaled:
        managed = _ecs_managed(clients.ecs, scope)
        for group in unscaled:
            if managed is None:
                group.policy_count = None  # an ECS capacity provider may size it: unknown, not "nothing"
            elif group.location.resource in managed:
                group.scaled_by = ECS_MANAGED
    model.auto_scaling_groups.extend(groups)


def _group(described: dict, templates: dict, configurations: dict, scaled: int | None, scope) -> AutoScalingGroup:
    types, attribute_based, requirements_accelerated, template_data = _instance_types(described, templates,
                                                                                      configurations)
    mixed = described.get("MixedInstancesPolicy")
    distribution = _distribution(mixed) if mixed else {}
    location = scope.location(described["AutoScalingGroupARN"])
    tags = {tag.get("Key") for tag in described.get("Tags") or ()}
    return AutoScalingGroup(
        source=live.SOURCE,
        location=location,
        field_locations=live._located(location, {"spot_allocation_strategy": STRATEGY_PATH}) if mixed else {},
        name=described["AutoScalingGroupName"],
        key=described["AutoScalingGroupName"],
        min_size=described.get("MinSize"),
        max_size=described.get("MaxSize"),
        capacity_rebalance=described.get("CapacityRebalance") is True,
        serves_traffic=bool(described.get("TargetGroupARNs") or described.get("LoadBalancerNames")
                            or described.get("TrafficSources")),
        policy_count=scaled,
        scaled_by=CLUSTER_AUTOSCALER if CLUSTER_AUTOSCALER_TAG in tags else None,
        spot=_spot(described, distribution, template_data, configurations),
        **group_facts(types, attribute_based, requirements_accelerated),
        **distribution,
    )


# --- instance types --------------------------------------------------------------------------------------------


def _instance_types(described: dict, templates: dict, configurations: dict) -> tuple[list, bool, bool, dict | None]:
    """(instance types, attribute-based selection, its requirements ask for accelerators, the launch template data
    the types came from); a type that cannot be known is in the list as ``None``."""
    mixed = described.get("MixedInstancesPolicy")
    if mixed:
        launch = mixed.get("LaunchTemplate") or {}
        overrides = [override for override in launch.get("Overrides") or () if isinstance(override, dict)]
        if any("InstanceRequirements" in override for override in overrides):
            return [], True, any(asks_for_accelerators(o.get("InstanceRequirements")) for o in overrides), None
        if overrides:
            return [override.get("InstanceType") for override in overrides], False, False, None
        return _from_template(templates.get(_template_version(launch.get("LaunchTemplateSpecification"))))
    if described.get("LaunchTemplate"):
        return _from_template(templates.get(_template_version(described["LaunchTemplate"])))
    configuration = configurations.get(described.get("LaunchConfigurationName"))
    return [configuration.get("InstanceType") if configuration else None], False, False, None


def _from_template(data: dict | None) -> tuple[list, bool, bool, dict | None]:
    if data is None:
        return [None], False, False, None
    if "InstanceRequirements" in data:
        return [], True, asks_for_accelerators(data.get("InstanceRequirements")), data
    return [data.get("InstanceType")], False, False, data


def _template_version(specification) -> tuple | None:
    """((``LaunchTemplateId`` or ``LaunchTemplateName``, its value), version) a specification names; ``None`` when
    it names no template. AWS answers with both; the ID is used when there is one."""
    if not isinstance(specification, dict):
        return None
    for parameter in ("LaunchTemplateId", "LaunchTemplateName"):
        if specification.get(parameter):
            return (parameter, specification[parameter]), specification.get("Version") or DEFAULT_VERSION
    return None


def _needed_template_versions(described: list) -> dict:
    """Launch template (as :func:`_template_version` names it) -> the versions whose data gives a group's instance
    types or market."""
    wanted: dict = {}
    for group in described:
        mixed = group.get("MixedInstancesPolicy")
        if mixed:
            launch = mixed.get("LaunchTemplate") or {}
            if launch.get("Overrides"):
                continue  # the overrides give the types, the distribution the Spot share
            key = _template_version(launch.get("LaunchTemplateSpecification"))
        else:
            key = _template_version(group.get("LaunchTemplate"))
        if key is not None:
            wanted.setdefault(key[0], set()).add(key[1])
    return wanted


def _launch_templates(ec2, scope, described: list) -> dict:
    """(template, version) -> its ``LaunchTemplateData``, or ``None`` when it cannot be read: one
    DescribeLaunchTemplateVersions per template, naming every version the groups use."""
    wanted = _needed_template_versions(described)

    def read(template: tuple) -> list:
        parameter, value = template
        return list(live._pages(ec2, "describe_launch_template_versions", "LaunchTemplateVersions",
                                Versions=sorted(wanted[template]), **{parameter: value}))

    answers = live._read_each(scope, list(wanted), read, "launch templates", subject=lambda template: template[1])
    resolved = {}
    for template, versions in wanted.items():
        answer = answers[template] if isinstance(answers[template], list) else []
        by_number = {str(version.get("VersionNumber")): version for version in answer}
        default = next((version for version in answer if version.get("DefaultVersion")), None)
        # $Latest was asked for with the others, and the latest version has the highest number of them all.
        latest = max(answer, key=lambda version: version.get("VersionNumber", 0), default=None)
        for version in versions:
            found = {"$Latest": latest, DEFAULT_VERSION: default}.get(version) or by_number.get(version)
            resolved[(template, version)] = (found or {}).get("LaunchTemplateData") if found else None
    return resolved


def _launch_configurations(autoscaling, scope, described: list) -> dict:
    """Launch configuration name -> the configuration, for the groups that launch from one (none when denied)."""
    names = sorted({group["LaunchConfigurationName"] for group in described
                    if group.get("LaunchConfigurationName") and not group.get("MixedInstancesPolicy")
                    and not group.get("LaunchTemplate")})

    def read():
        for offset in range(0, len(names), CONFIGURATION_NAMES_PER_CALL):
            yield from live._pages(autoscaling, "describe_launch_configurations", "LaunchConfigurations",
                                   LaunchConfigurationNames=names[offset:offset + CONFIGURATION_NAMES_PER_CALL],
                                   MaxRecords=PAGE)

    configurations = live._listed(scope, read) if names else []
    return {configuration["LaunchConfigurationName"]: configuration for configuration in configurations or ()}


# --- Spot ------------------------------------------------------------------------------------------------------


def _distribution(mixed: dict) -> dict:
    """The On-Demand/Spot split and allocation strategy of a mixed instances policy, with EC2 Auto Scaling's defaults
    (AWS fills them in its answers; the text says when a value is the default because none was given)."""
    written = mixed.get("InstancesDistribution") or {}
    strategy = written.get("SpotAllocationStrategy")
    return {
        "mixed_instances": True,
        "on_demand_base": written.get("OnDemandBaseCapacity", 0),
        "on_demand_percentage": written.get("OnDemandPercentageAboveBaseCapacity", DEFAULT_ON_DEMAND_PERCENTAGE),
        "spot_allocation_strategy": strategy or DEFAULT_SPOT_ALLOCATION,
        "spot_allocation_text": strategy or f"{DEFAULT_SPOT_ALLOCATION} (the default)",
    }


def _spot(described: dict, distribution: dict, template_data: dict | None, configurations: dict) -> bool | None:
    """Whether the group launches Spot instances: above the On-Demand base of a mixed instances policy, or all of
    them through a launch template's market options or a launch configuration's SpotPrice."""
    if distribution:
        maximum, base = described.get("MaxSize"), distribution["on_demand_base"]
        return distribution["on_demand_percentage"] < 100 and (maximum is None or maximum > base)
    if described.get("LaunchTemplate"):
        if template_data is None:
            return None
        return (template_data.get("InstanceMarketOptions") or {}).get("MarketType") == "spot"
    configuration = configurations.get(described.get("LaunchConfigurationName"))
    return None if configuration is None else "SpotPrice" in configuration


# --- what sizes a group ----------------------------------------------------------------------------------------


def _per_group(scope, read, counts=lambda item: True) -> Counter | None:
    """Group name -> how many of ``read()``'s items (policies or scheduled actions) name it; ``None`` when denied."""
    items = live._listed(scope, read)
    if items is None:
        return None
    return Counter(item["AutoScalingGroupName"] for item in items if counts(item))


def _ecs_managed(ecs, scope) -> set | None:
    """ARNs of the groups an active ECS capacity provider with managed scaling sizes; ``None`` when denied.

    DescribeCapacityProviders without names describes them all, 10 a page (botocore has no paginator for it).
    """
    def read():
        token = None
        while True:
            page = ecs.describe_capacity_providers(maxResults=CAPACITY_PROVIDERS_PAGE,
                                                   **({"nextToken": token} if token else {}))
            yield from page.get("capacityProviders") or ()
            token = page.get("nextToken")
            if not token:
                return

    providers = live._listed(scope, read)
    if providers is None:
        return None
    managed = set()
    for provider in providers:
        group = provider.get("autoScalingGroupProvider") or {}
        if provider.get("status") != "INACTIVE" and (group.get("managedScaling") or {}).get("status") == "ENABLED":
            managed.add(group.get("autoScalingGroupArn"))
    return managed
