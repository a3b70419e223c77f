"""Facts about ``ml.*`` instance types: family, size, accelerators, generation, estimated price.

The figures live in ``data/instances.json`` (with their source and date) so that updating a price
or adding a family is a data change. Unknown types yield ``None`` facts: rules stay silent on a
type they know nothing about rather than guess.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path


HOURS_PER_MONTH = 730
_TYPE = re.compile(r"^ml\.([a-z0-9-]+)\.([a-z0-9]+)$")


@dataclass(frozen=True)
class InstanceFacts:
    family: str
    size: str
    size_rank: int | None
    known_family: bool
    burstable: bool
    accelerated: bool | None
    accelerator: str | None
    previous_generation: bool | None
    successor: str | None
    vcpus: int | None
    memory_gib: float | None
    accelerators: int | None
    price_per_hour: float | None

    @property
    def monthly_cost_usd(self) -> float | None:
        return None if self.price_per_hour is None else round(self.price_per_hour * HOURS_PER_MONTH, 2)


@functools.lru_cache(maxsize=1)
def _catalog() -> dict:
    with open(Path(__file__).parent / "data" / "instances.json", encoding="utf-8") as handle:
        return json.load(handle)


def size_rank(size: str) -> int | None:
    """Order sizes within a family: medium=1, large=2, xlarge=4, 2xlarge=8, 12xlarge=48..."""
    if size == "medium":
        return 1
    if size == "large":
        return 2
    if size == "xlarge":
        return 4
    match = re.fullmatch(r"(\d+)xlarge", size)
    return int(match.group(1)) * 4 if match else None


@functools.lru_cache(maxsize=512)
def lookup(instance_type) -> InstanceFacts | None:
    """Facts about an ``ml.*`` type, or ``None`` when the value is not an instance type string."""
    if not isinstance(instance_type, str):
        return None
    match = _TYPE.match(instance_type)
    if not match:
        return None
    family, size = match.groups()
    catalog = _catalog()
    family_facts = catalog["families"].get(family)
    type_facts = catalog["types"].get(instance_type, {})
    known = family_facts is not None
    previous = None if not known else family_facts.get("generation") == "previous"
    return InstanceFacts(
        family=family,
        size=size,
        size_rank=size_rank(size),
        known_family=known,
        burstable=re.fullmatch(r"t\d+[a-z]?", family) is not None,
        accelerated=None if not known else bool(family_facts.get("accelerator")),
        accelerator=family_facts.get("accelerator") if known else None,
        previous_generation=previous,
        successor=_successor(instance_type, family, size, family_facts) if previous else None,
        vcpus=type_facts.get("vcpus"),
        memory_gib=type_facts.get("memory_gib"),
        accelerators=type_facts.get("accelerators"),
        price_per_hour=type_facts.get("price_per_hour"),
    )


def _successor(instance_type: str, family: str, size: str, family_facts: dict) -> str | None:
    explicit = _catalog()["successors"].get(instance_type)
    if explicit:
        return explicit
    successor_family = family_facts.get("successor")
    if successor_family:
        candidate = f"ml.{successor_family}.{size}"
        if candidate in _catalog()["types"]:
            return candidate
    return None


def instance_fields(instance_type) -> dict:
    """The instance facts every model object with an instance type carries (all None when unknown).

    One place, so a template variant, a live variant and a training job describe the same type alike.
    """
    facts = lookup(instance_type)
    return {
        "instance_type": instance_type if isinstance(instance_type, str) else None,
        "instance_family": facts.family if facts else None,
        "burstable": facts.burstable if facts else None,
        "accelerated": facts.accelerated if facts else None,
        "accelerator": facts.accelerator if facts else None,
        "previous_generation": facts.previous_generation if facts else None,
        "suggested_instance_type": facts.successor if facts else None,
        "size_rank": facts.size_rank if facts else None,
    }


def family_types(family: str) -> list[str]:
    """Every catalogued type of a family, smallest first."""
    types = [name for name in _catalog()["types"] if name.split(".")[1] == family]
    return sorted(types, key=lambda name: size_rank(name.split(".")[2]) or 0)

