"""What sagewise knows about EC2 instance types (Auto Scaling groups launch these, not ``ml.*`` types).

Only what the rules need: whether a type carries GPUs or other accelerators. The families are those the
EC2 documentation lists under accelerated computing
(https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html), plus retired ones still found in
templates; a type outside them is taken as unaccelerated only when its family looks like an EC2 family.

An Auto Scaling group's instance facts (:func:`group_facts`) and EC2 Auto Scaling's defaults are here too,
so templates and live groups are described alike.
"""

from __future__ import annotations

import re

ACCELERATED_FAMILIES = frozenset({
    "dl1", "dl2q", "f1", "f2", "g2", "g3", "g3s", "g4ad", "g4dn", "g5", "g5g", "g6", "g6e", "g6f", "gr6", "gr6f",
    "inf1", "inf2", "p2", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200",
    "trn1", "trn1n", "trn2", "trn2u", "vt1",
})
_TYPE = re.compile(r"^([a-z][a-z0-9-]*)\.([a-z0-9-]+)$")

DEFAULT_SPOT_ALLOCATION = "lowest-price"
"""``InstancesDistribution.SpotAllocationStrategy`` when not written (facts section 3.3)."""
DEFAULT_ON_DEMAND_PERCENTAGE = 100
CLUSTER_AUTOSCALER_TAG = "k8s.io/cluster-autoscaler/enabled"
ATTRIBUTE_SELECTION = "chosen by InstanceRequirements"


def accelerated(instance_type) -> bool | None:
    """True for a GPU, Inferentia, Trainium, Gaudi or FPGA type; False for another EC2 type; ``None`` when
    ``instance_type`` is not a known value of that shape."""
    match = _TYPE.match(instance_type) if isinstance(instance_type, str) else None
    if match is None:
        return None
    return match.group(1) in ACCELERATED_FAMILIES


def asks_for_accelerators(requirements) -> bool:
    """Whether attribute-based selection (``InstanceRequirements``) asks for at least one accelerator: the same
    ``AcceleratorCount.Min`` in a template, a launch template and an Auto Scaling group's overrides."""
    count = requirements.get("AcceleratorCount") if isinstance(requirements, dict) else None
    minimum = count.get("Min") if isinstance(count, dict) else None
    return isinstance(minimum, int) and not isinstance(minimum, bool) and minimum >= 1


def all_accelerated(types: list, attribute_based: bool, requirements_accelerated: bool) -> bool | None:
    """Whether every instance type a group can launch is accelerated; ``None`` when a type is not known, or when
    attribute-based selection does not ask for accelerators (it might still pick them)."""
    if attribute_based:
        return True if requirements_accelerated else None
    verdicts = [accelerated(t) for t in types]
    if not verdicts or None in verdicts:
        return None
    return all(verdicts)


def group_facts(types: list, attribute_based: bool, requirements_accelerated: bool) -> dict:
    """An Auto Scaling group's instance facts from what its launch settings say: the instance types (``None`` for
    one not known), whether attribute-based selection picks them, and whether its requirements ask for accelerators."""
    written = [t for t in types if isinstance(t, str)]
    known = list(dict.fromkeys(written))
    return {
        "instance_types": known,
        "instance_selection": ATTRIBUTE_SELECTION if attribute_based else ", ".join(known) or None,
        "instance_type_count": len(known) if types and len(written) == len(types) else None,
        "attribute_based": attribute_based,
        "accelerated": all_accelerated(types, attribute_based, requirements_accelerated),
    }
