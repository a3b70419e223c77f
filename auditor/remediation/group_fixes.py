"""Live fixes of Spot Auto Scaling groups: the Spot allocation strategy (SW501) and Capacity Rebalancing (SW503).

Each is one ``UpdateAutoScalingGroup`` naming only what changes (the API leaves every property it is not given as it
is), the change ``sagewise fix`` writes into templates:

- SW501 sends ``MixedInstancesPolicy.InstancesDistribution`` as the group has it, with ``SpotAllocationStrategy``
  ``price-capacity-optimized`` and without ``SpotInstancePools`` (valid with ``lowest-price`` only). EC2 Auto Scaling's
  API reference (``InstancesDistribution``): changing the Spot allocation strategy, pools or maximum price "does not
  deploy any changes across the running EC2 instances in the group"; the instances launched from then on follow it.
  The policy's ``LaunchTemplate`` is left out: both members of ``MixedInstancesPolicy`` are optional in botocore's
  model and the API reference (an older one: the launch template is "not required when updating the group"), and an
  update that names a launch template has EC2 Auto Scaling check that the caller may launch from it
  (``ec2:RunInstances``, and ``iam:PassRole`` or ``ec2:CreateTags`` as the template needs), which no generic policy
  can scope. Not confirmed on a live account: were a distribution alone refused, the call fails and changes nothing.
  Undo sends the distribution as it was, its strategy written out (a default left implicit comes back explicit).
- SW503 sets ``CapacityRebalance`` to true, undo to false. Nothing is replaced by the call; from then on, when EC2
  flags a Spot instance at elevated risk of interruption, EC2 Auto Scaling launches its replacement first and then
  terminates it.

A group that a CloudFormation stack owns is left to its template, as an endpoint is: the same change made here would
drift from the stack.
"""

from __future__ import annotations

from ..scaling_fixes import SPOT_ALLOCATION
from ..ec2_types import DEFAULT_SPOT_ALLOCATION
from .fixing import Context, Unplannable, new_step, refuse_if_stack_owned
from .steps import AUTO_SCALING_GROUP, EC2_AUTOSCALING, INCLUDES, Call, Change, Expectation, Probe, Step

DISTRIBUTION = "InstancesDistribution"
STRATEGY = "SpotAllocationStrategy"
POOLS = "SpotInstancePools"
REBALANCE = "CapacityRebalance"


def spot_allocation(finding, context: Context) -> Step:
    """SW501: the group's Spot capacity from the pools least likely to be interrupted, the cheapest among those."""
    group = finding.model_object
    probe, state = _own_group(finding, context)
    old = state.get(DISTRIBUTION)
    if old is None:
        raise Unplannable(f"Auto Scaling group {group.name} has no mixed instances policy any more")
    strategy = old.get(STRATEGY, DEFAULT_SPOT_ALLOCATION)
    if strategy != group.spot_allocation_strategy:
        raise Unplannable(f"the Spot allocation strategy of {group.name} changed after the audit read the account; "
                          "plan again")
    new = {key: value for key, value in old.items() if key != POOLS} | {STRATEGY: SPOT_ALLOCATION}
    restored = {**old, STRATEGY: strategy}
    call = Call(EC2_AUTOSCALING, "UpdateAutoScalingGroup", _update(group.name, new),
                expect=(Expectation(probe, (DISTRIBUTION,), old),),
                leaves=(Expectation(probe, (DISTRIBUTION, STRATEGY), SPOT_ALLOCATION),),
                undo=Call(EC2_AUTOSCALING, "UpdateAutoScalingGroup", _update(group.name, restored),
                          expect=(Expectation(probe, (DISTRIBUTION, STRATEGY), SPOT_ALLOCATION),),
                          leaves=(Expectation(probe, (DISTRIBUTION,), restored, INCLUDES),)))
    attributes = ((f"{DISTRIBUTION}.{STRATEGY}", old.get(STRATEGY), SPOT_ALLOCATION),)
    if POOLS in old:
        attributes += ((f"{DISTRIBUTION}.{POOLS}", old[POOLS], None),)
    change = Change("update", "Auto Scaling group", group.name, attributes,
                    "running instances stay; the instances launched from now on come from the pools least likely "
                    "to be interrupted")
    return new_step([finding], "safe", f"set the Spot allocation strategy of Auto Scaling group {group.name} to "
                                       f"{SPOT_ALLOCATION}", [call], [change])


def capacity_rebalance(finding, context: Context) -> Step:
    """SW503: replace a Spot instance when EC2 first signals the risk, not after it is reclaimed."""
    group = finding.model_object
    probe, state = _own_group(finding, context)
    if state[REBALANCE]:
        raise Unplannable(f"Auto Scaling group {group.name} got Capacity Rebalancing after the audit read the account")
    path = (REBALANCE,)
    call = Call(EC2_AUTOSCALING, "UpdateAutoScalingGroup", {"AutoScalingGroupName": group.name, REBALANCE: True},
                expect=(Expectation(probe, path, False),), leaves=(Expectation(probe, path, True),),
                undo=Call(EC2_AUTOSCALING, "UpdateAutoScalingGroup",
                          {"AutoScalingGroupName": group.name, REBALANCE: False},
                          expect=(Expectation(probe, path, True),), leaves=(Expectation(probe, path, False),)))
    change = Change("update", "Auto Scaling group", group.name, ((REBALANCE, False, True),),
                    "nothing is replaced now; a Spot instance EC2 flags at elevated risk of interruption gets its "
                    "replacement launched before it is terminated")
    return new_step([finding], "safe", f"turn on Capacity Rebalancing for Auto Scaling group {group.name}", [call],
                    [change])


def _own_group(finding, context: Context) -> tuple[Probe, dict]:
    """The group's probe and state: still there, and no CloudFormation stack's."""
    name = finding.model_object.name
    probe = Probe(AUTO_SCALING_GROUP, name)
    state = context.reader(finding).read(probe)
    if state is None:
        raise Unplannable(f"Auto Scaling group {name} is gone")
    refuse_if_stack_owned("Auto Scaling group", name, state["Tags"], "sagewise fix")
    return probe, state


def _update(name: str, distribution: dict) -> dict:
    return {"AutoScalingGroupName": name, "MixedInstancesPolicy": {DISTRIBUTION: distribution}}
