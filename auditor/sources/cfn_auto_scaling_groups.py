"""EC2 Auto Scaling groups in templates: what instance types they launch, how much is Spot, what scales them.

A group's instance types come from its ``MixedInstancesPolicy`` overrides, else from the launch template
or launch configuration it names (when that is in the same template). Its Spot share comes from the
policy's ``InstancesDistribution`` (On-Demand above the base below 100 %), or from a launch template's
``InstanceMarketOptions`` or a launch configuration's ``SpotPrice``. What scales it: EC2 Auto Scaling
policies and scheduled actions naming it, an ECS capacity provider with managed scaling, or the Kubernetes
cluster autoscaler's discovery tag. A value only known at deployment leaves the fact unknown (``None``).
"""

from __future__ import annotations

from ..ec2_types import (
    CLUSTER_AUTOSCALER_TAG,
    DEFAULT_ON_DEMAND_PERCENTAGE,
    DEFAULT_SPOT_ALLOCATION,
    asks_for_accelerators,
    group_facts,
)
from ..model import AutoScalingGroup
from .intrinsics import Token, boolean, has_unknown, integer, literal, referenced
from .loader import locate

SOURCE = "cloudformation"
GROUP_TYPE = "AWS::AutoScaling::AutoScalingGroup"


class AutoScalingGroupReader:
    """Reads the Auto Scaling groups of one template into ``reader.model`` (``reader``: the template reader)."""

    def __init__(self, reader):
        self.reader = reader
        self.launch_templates = dict(reader.of_type("AWS::EC2::LaunchTemplate"))
        self.launch_configurations = dict(reader.of_type("AWS::AutoScaling::LaunchConfiguration"))

    def read(self) -> None:
        scaled = self.scaling()
        external = self.external_scaling()
        for logical_id, properties in self.reader.of_type(GROUP_TYPE):
            key = self.reader.resolver.ref(logical_id)
            distribution = self.distribution(properties)
            policies = scaled.get(key, 0) if not has_unknown(key) else None
            location = self.reader.resource_location(logical_id)
            self.reader.model.auto_scaling_groups.append(AutoScalingGroup(
                source=SOURCE,
                location=location,
                field_locations=self.field_locations(location, properties),
                document_path=self.reader.written_path(logical_id, properties),
                name=logical_id if isinstance(key, Token) else str(key),
                key=key,
                min_size=integer(self.reader.value(properties.get("MinSize"))),
                max_size=integer(self.reader.value(properties.get("MaxSize"))),
                capacity_rebalance=boolean(self.reader.value(properties.get("CapacityRebalance", False))),
                serves_traffic=bool(properties.get("TargetGroupARNs") or properties.get("LoadBalancerNames")),
                policy_count=None if scaled.get(None) and not policies else policies,
                scaled_by=external.get(key) or self.cluster_autoscaler(properties),
                **group_facts(*self.instance_types(properties)),
                **distribution,
                **self.spot(properties, distribution),
            ))

    @staticmethod
    def field_locations(location, properties: dict) -> dict:
        """Where the allocation strategy is written, or where it would be (its default applies there)."""
        path = ["MixedInstancesPolicy", "InstancesDistribution", "SpotAllocationStrategy"]
        node = properties
        for depth, step in enumerate(path):
            if not isinstance(node, dict) or step not in node:
                path = path[:depth]
                break
            node = node[step]
        if not path:
            return {}
        line, column = locate(properties, path)
        return {"spot_allocation_strategy": location.at("Properties." + ".".join(path), line, column)}

    # -- instance types ---------------------------------------------------------------------------

    def instance_types(self, properties: dict) -> tuple[list, bool, bool]:
        """(instance types, attribute-based selection, its requirements ask for accelerators); a type that
        cannot be resolved is in the list as ``None``."""
        mixed = properties.get("MixedInstancesPolicy")
        launch = mixed.get("LaunchTemplate") if isinstance(mixed, dict) else None
        if isinstance(launch, dict):
            overrides = launch.get("Overrides")
            overrides = [o for o in overrides if isinstance(o, dict)] if isinstance(overrides, list) else []
            if any("InstanceRequirements" in o for o in overrides):
                return [], True, any(asks_for_accelerators(o.get("InstanceRequirements")) for o in overrides)
            if overrides:
                return [self.instance_type(o.get("InstanceType")) for o in overrides], False, False
            return self.from_launch_template(launch.get("LaunchTemplateSpecification"))
        if "LaunchTemplate" in properties:
            return self.from_launch_template(properties.get("LaunchTemplate"))
        configuration = self.launch_configuration(properties.get("LaunchConfigurationName"))
        if configuration is not None:
            return [self.instance_type(configuration.get("InstanceType"))], False, False
        return [None], False, False

    def from_launch_template(self, specification) -> tuple[list, bool, bool]:
        data = self.launch_template_data(specification)
        if data is None:
            return [None], False, False
        if "InstanceRequirements" in data:
            return [], True, asks_for_accelerators(data.get("InstanceRequirements"))
        return [self.instance_type(data.get("InstanceType"))], False, False

    def instance_type(self, value):
        resolved = self.reader.value(value)
        return resolved if isinstance(resolved, str) else None

    def launch_template_data(self, specification) -> dict | None:
        """The ``LaunchTemplateData`` of the template's launch template that ``specification`` names."""
        if not isinstance(specification, dict):
            return None
        for logical_id in referenced(specification.get("LaunchTemplateId")) | referenced(
                specification.get("LaunchTemplateName")):
            if logical_id in self.launch_templates:
                return _data(self.launch_templates[logical_id])
        name = self.reader.value(specification.get("LaunchTemplateName"))
        for properties in self.launch_templates.values():
            if isinstance(name, str) and self.reader.value(properties.get("LaunchTemplateName")) == name:
                return _data(properties)
        return None

    def launch_configuration(self, value) -> dict | None:
        for logical_id in referenced(value):
            if logical_id in self.launch_configurations:
                return self.launch_configurations[logical_id]
        return None

    # -- spot -----------------------------------------------------------------------------------

    def distribution(self, properties: dict) -> dict:
        """The On-Demand/Spot split and allocation strategy a ``MixedInstancesPolicy`` sets (defaults filled)."""
        mixed = properties.get("MixedInstancesPolicy")
        if not isinstance(mixed, dict):
            return {}
        written = mixed.get("InstancesDistribution")
        written = written if isinstance(written, dict) else {}
        strategy = self.reader.value(written.get("SpotAllocationStrategy", DEFAULT_SPOT_ALLOCATION))
        defaulted = "SpotAllocationStrategy" not in written
        return {
            "mixed_instances": True,
            "on_demand_base": integer(self.reader.value(written.get("OnDemandBaseCapacity", 0))),
            "on_demand_percentage": integer(self.reader.value(
                written.get("OnDemandPercentageAboveBaseCapacity", DEFAULT_ON_DEMAND_PERCENTAGE))),
            "spot_allocation_strategy": strategy if isinstance(strategy, str) else None,
            "spot_allocation_text": f"{strategy} (the default)" if defaulted else literal(strategy),
        }

    def spot(self, properties: dict, distribution: dict) -> dict:
        """Whether the group launches Spot instances: ``None`` when that depends on unresolved values."""
        if distribution:
            percentage, base = distribution["on_demand_percentage"], distribution["on_demand_base"]
            maximum = integer(self.reader.value(properties.get("MaxSize")))
            if percentage is None:
                return {"spot": None}
            above_base = maximum is None or base is None or maximum > base
            return {"spot": percentage < 100 and above_base}
        if "LaunchTemplate" in properties:
            data = self.launch_template_data(properties.get("LaunchTemplate"))
            if data is None:
                return {"spot": None}
            options = data.get("InstanceMarketOptions")
            market = self.reader.value(options.get("MarketType")) if isinstance(options, dict) else None
            return {"spot": market == "spot" if market is None or isinstance(market, str) else None}
        configuration = self.launch_configuration(properties.get("LaunchConfigurationName"))
        if configuration is None:
            return {"spot": None}
        return {"spot": "SpotPrice" in configuration}

    # -- what scales it ---------------------------------------------------------------------------

    def scaling(self) -> dict:
        """Group key -> the scaling policies and scheduled actions naming it (``None`` key: one names a group
        that cannot be resolved, which might be any of them)."""
        counts: dict = {}
        for kind in ("AWS::AutoScaling::ScalingPolicy", "AWS::AutoScaling::ScheduledAction"):
            for _, properties in self.reader.of_type(kind):
                key = self.reader.value(properties.get("AutoScalingGroupName"))
                key = None if key is None or has_unknown(key) else key
                counts[key] = counts.get(key, 0) + 1
        return counts

    def external_scaling(self) -> dict:
        """Group key -> what else scales it: an ECS capacity provider with managed scaling."""
        found = {}
        for _, properties in self.reader.of_type("AWS::ECS::CapacityProvider"):
            provider = properties.get("AutoScalingGroupProvider")
            if not isinstance(provider, dict):
                continue
            managed = provider.get("ManagedScaling")
            status = self.reader.value(managed.get("Status")) if isinstance(managed, dict) else None
            if status == "ENABLED":
                found[self.reader.value(provider.get("AutoScalingGroupArn"))] = "an ECS capacity provider"
        return found

    def cluster_autoscaler(self, properties: dict) -> str | None:
        tags = properties.get("Tags")
        for tag in tags if isinstance(tags, list) else ():
            if isinstance(tag, dict) and self.reader.value(tag.get("Key")) == CLUSTER_AUTOSCALER_TAG:
                return "the Kubernetes cluster autoscaler"
        return None


def _data(properties: dict) -> dict:
    data = properties.get("LaunchTemplateData")
    return data if isinstance(data, dict) else {}
