"""Rightsizing: which cheaper instance type would still carry an endpoint variant's observed peaks.

Pure arithmetic over the instance catalog (:mod:`auditor.catalog`) and the peaks the live source
reads from CloudWatch; no AWS calls, so it is tested on its own and reusable by any source of
utilization figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import catalog

IDLE_GPU_PERCENT = 1.0
"""A GPU whose peak utilization and memory stay at or below this is treated as unused."""


@dataclass(frozen=True)
class Headroom:
    """Utilization ceilings under which an instance counts as oversized (SW301's parameters).

    CPU and GPU are per core / per GPU (CloudWatch sums them over the instance, facts section 6);
    ``memory`` applies to instance memory and to GPU memory per GPU.
    """

    cpu_per_vcpu: float
    memory: float
    gpu_per_gpu: float


@dataclass(frozen=True)
class Utilization:
    """Observed peaks over the window: percent per vCPU, percent of memory, percent per GPU."""

    cpu_per_vcpu: float | None
    memory: float | None
    gpu_per_gpu: float | None = None
    gpu_memory_per_gpu: float | None = None


def suggest_smaller_type(instance_type: str, peaks: Utilization, headroom: Headroom,
                         cpu_only_image: bool | None) -> str | None:
    """The cheapest catalogued type that would carry the observed peaks under the ``headroom`` ceilings.

    A candidate's projected peak is the observed one scaled by the capacity ratio (16 vCPUs at 10 %
    per vCPU is 20 % per vCPU on 8), for vCPUs, memory, and on GPU instances GPUs and GPU memory.
    Candidates are the smaller, cheaper sizes of the same family, and, when the GPU sat unused
    (peaks at most :data:`IDLE_GPU_PERCENT`) and every image is CPU-only, current CPU families too.
    Keeping projections under the same ceilings that define "oversized" leaves the suggestion the
    headroom of an instance that would itself be flagged as oversized: a conservative step, never a
    type that would run hot. Returns ``None`` when a needed peak is unknown or nothing qualifies.
    """
    current = catalog.lookup(instance_type)
    if current is None or not _priced(current) or peaks.cpu_per_vcpu is None or peaks.memory is None:
        return None
    gpu = is_gpu(current)
    if gpu and (peaks.gpu_per_gpu is None or peaks.gpu_memory_per_gpu is None):
        return None
    if current.accelerated and not gpu:
        return None  # Inferentia and friends publish no utilization here: no evidence
    candidates = [name for name in catalog.family_types(current.family)
                  if (catalog.size_rank(name.split(".")[2]) or 0) < (current.size_rank or 0)]
    gpu_idle = gpu and peaks.gpu_per_gpu <= IDLE_GPU_PERCENT and peaks.gpu_memory_per_gpu <= IDLE_GPU_PERCENT
    if gpu_idle and cpu_only_image is True:
        candidates += _cpu_hosting_types()
    fitting = []
    for name in candidates:
        candidate = catalog.lookup(name)
        if not _priced(candidate) or candidate.price_per_hour >= current.price_per_hour:
            continue
        if _fits(current, candidate, peaks, headroom):
            fitting.append((candidate.price_per_hour, -candidate.vcpus, name))
    return min(fitting)[2] if fitting else None


def _priced(facts: catalog.InstanceFacts | None) -> bool:
    return facts is not None and None not in (facts.vcpus, facts.memory_gib, facts.accelerators, facts.price_per_hour)


def _fits(current: catalog.InstanceFacts, candidate: catalog.InstanceFacts, peaks: Utilization,
          headroom: Headroom) -> bool:
    if peaks.cpu_per_vcpu * current.vcpus / candidate.vcpus > headroom.cpu_per_vcpu:
        return False
    if peaks.memory * current.memory_gib / candidate.memory_gib > headroom.memory:
        return False
    if not is_gpu(current) or not candidate.accelerators:
        return True  # a CPU candidate is only offered when the GPU was idle
    ratio = current.accelerators / candidate.accelerators
    return peaks.gpu_per_gpu * ratio <= headroom.gpu_per_gpu and peaks.gpu_memory_per_gpu * ratio <= headroom.memory


CPU_FAMILIES = ("c5", "c6i", "m5", "m6i", "r5")
"""Current CPU hosting families a GPU endpoint with an idle GPU and a CPU-only image can move to:
compute-, general- and memory-optimized, so the cheapest one that fits the memory peak is found."""


def _cpu_hosting_types() -> list[str]:
    return [name for family in CPU_FAMILIES for name in catalog.family_types(family)]


def is_gpu(facts: catalog.InstanceFacts) -> bool:
    """NVIDIA instances publish GPUUtilization; Inferentia/Trainium/Gaudi report elsewhere."""
    return bool(facts.accelerator and facts.accelerator.startswith("NVIDIA"))


CPU_EQUIVALENT_FAMILY = "m5"
"""Where a variant that never used its accelerator moves: general purpose, current, priced."""


def cpu_equivalent(instance_type: str) -> str | None:
    """The smallest general-purpose CPU type with at least the vCPUs and memory of ``instance_type``.

    What the fix of a CPU-only model on a GPU moves to: the model keeps every core and byte it had,
    only the accelerator goes. ``None`` when the type's figures are unknown or nothing is as large.
    """
    current = catalog.lookup(instance_type)
    if current is None or current.vcpus is None or current.memory_gib is None:
        return None
    for name in catalog.family_types(CPU_EQUIVALENT_FAMILY):
        candidate = catalog.lookup(name)
        if candidate.vcpus is not None and candidate.memory_gib is not None \
                and candidate.vcpus >= current.vcpus and candidate.memory_gib >= current.memory_gib:
            return name
    return None


def suggested_type(variant, max_instance_size: str | None) -> str | None:
    """The instance type a SW301 finding's variant should move to, as the check that matched suggests.

    A CPU-only image on an accelerator moves to :func:`cpu_equivalent`; a variant whose live peaks leave
    room moves to the smaller type the live source found (``downsize_to``); one above the configured
    size ceiling moves to its family's type of that size, when the catalog has it. ``sagewise fix``
    and ``sagewise remediate`` both ask here, so a template and its live endpoint get the same answer.
    """
    if variant.accelerated and variant.cpu_only_image:
        return cpu_equivalent(variant.instance_type)
    if variant.downsize_to:
        return variant.downsize_to
    candidate = f"ml.{variant.instance_family}.{max_instance_size}" if max_instance_size else None
    return candidate if candidate in catalog.family_types(variant.instance_family) else None
