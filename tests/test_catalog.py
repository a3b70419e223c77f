"""The instance catalog (auditor/data/instances.json) against the SageMaker API's own list of types.

botocore's SageMaker service model names every type SageMaker accepts (ProductionVariantInstanceType for
hosting, TrainingInstanceType for training jobs), so it is the reference for what the catalog must know
and must not invent. Prices are only as good as their source: each one names its Price List read, and a
type without one gives no cost figure anywhere.
"""

from __future__ import annotations

import re
import warnings

import pytest

from auditor import catalog, rightsizing

botocore_session = pytest.importorskip("botocore.session")
botocore = pytest.importorskip("botocore")

ACCEPTED_GAPS: set[str] = set()
"""Hosting families the catalog knowingly does not describe yet (none today)."""

TYPE_KEYS = {"vcpus", "memory_gib", "accelerators", "price_per_hour", "price_source"}


def _enum(shape: str) -> set[str]:
    model = botocore_session.get_session().get_service_model("sagemaker")
    return set(model.shape_for(shape).enum)


HOSTING = _enum("ProductionVariantInstanceType")
TRAINING = _enum("TrainingInstanceType")
DATA = catalog._catalog()
TYPES = DATA["types"]
FAMILIES = DATA["families"]
BUILT_FROM = re.match(r"botocore (\S+) ", DATA["fact_sources"]["types"]).group(1)
"""The botocore whose SageMaker model the catalog was built from (its ``fact_sources``)."""


def differs(what: str, names) -> None:
    """A difference between the catalog and the installed service model: against the botocore the catalog was
    built from, a failure; against another (CI installs the newest, and AWS adds types every month), a warning
    that the catalog wants refreshing. A type the catalog does not know is never judged, so it is not a bug."""
    if not names:
        return
    message = f"{what}: {sorted(names)}"
    if botocore.__version__ == BUILT_FROM:
        pytest.fail(message)
    warnings.warn(f"botocore {botocore.__version__} (the catalog was built from {BUILT_FROM}): {message}; "
                  "refresh auditor/data/instances.json", stacklevel=2)


def _family(instance_type: str) -> str:
    return instance_type.split(".")[1]


def test_every_hosting_family_is_known():
    differs("hosting families missing from instances.json",
            {_family(name) for name in HOSTING} - set(FAMILIES) - ACCEPTED_GAPS)


def test_every_training_family_is_known():
    differs("training families missing from instances.json", {_family(name) for name in TRAINING} - set(FAMILIES))


def test_nothing_is_catalogued_that_sagemaker_does_not_accept():
    differs("types SageMaker does not accept", set(TYPES) - HOSTING - TRAINING)
    differs("families SageMaker does not accept", set(FAMILIES) - {_family(name) for name in HOSTING | TRAINING})


def test_a_family_says_when_only_one_job_kind_accepts_it():
    hosting = {_family(name) for name in HOSTING}
    training = {_family(name) for name in TRAINING}
    wrong = set()
    for family, facts in FAMILIES.items():
        only = "hosting" if family in hosting else "training"
        expected = None if family in hosting and family in training else only
        if facts.get("only") != expected:
            wrong.add(family)
    differs("families whose 'only' no longer matches the job kinds that accept them", wrong)


def test_a_newer_service_model_warns_instead_of_failing(monkeypatch):
    monkeypatch.setattr(botocore, "__version__", "999.0.0")
    with pytest.warns(UserWarning, match="refresh auditor/data/instances.json"):
        differs("hosting families missing from instances.json", {"z9"})
    monkeypatch.setattr(botocore, "__version__", BUILT_FROM)
    with pytest.raises(pytest.fail.Exception, match="z9"):
        differs("hosting families missing from instances.json", {"z9"})


def test_r4_is_not_a_sagemaker_type():
    assert not any(_family(name) == "r4" for name in HOSTING | TRAINING)
    facts = catalog.lookup("ml.r4.xlarge")
    assert facts.known_family is False and facts.price_per_hour is None


def test_type_rows_have_only_known_keys_and_sane_facts():
    for name, row in TYPES.items():
        assert set(row) <= TYPE_KEYS, name
        assert row["vcpus"] > 0 and row["memory_gib"] > 0, name
        assert isinstance(row["accelerators"], int), name


def test_every_price_names_a_dated_source():
    sources = DATA["price_sources"]
    assert all(source.get("read") and source.get("what") for source in sources.values())
    priced = {name: row for name, row in TYPES.items() if "price_per_hour" in row}
    assert priced, "no type is priced at all"
    for name, row in priced.items():
        assert row["price_per_hour"] > 0, name
        assert row.get("price_source") in sources, f"{name} has no known price_source"
    assert all("price_per_hour" in row for row in TYPES.values() if "price_source" in row)
    assert {row["price_source"] for row in priced.values()} == set(sources), "unused price source"


def test_accelerated_families_have_accelerators_on_every_type():
    for name, row in TYPES.items():
        facts = catalog.lookup(name)
        if facts.accelerated:
            assert row["accelerators"] > 0, name
        else:
            assert row["accelerators"] == 0, name


@pytest.mark.parametrize("instance_type, accelerator, count", [
    ("ml.p6-b200.48xlarge", "NVIDIA B200", 8),
    ("ml.p6-b300.48xlarge", "NVIDIA B300", 8),
    ("ml.p6e-gb200.36xlarge", "NVIDIA GB200", 4),
    ("ml.g6e.xlarge", "NVIDIA L40S", 1),
    ("ml.p5.4xlarge", "NVIDIA H100", 1),
    ("ml.trn2.48xlarge", "AWS Trainium2", 16),
    ("ml.inf2.48xlarge", "AWS Inferentia2", 12),
])
def test_new_accelerated_families(instance_type, accelerator, count):
    facts = catalog.lookup(instance_type)
    assert (facts.known_family, facts.accelerated, facts.accelerator, facts.accelerators) == (
        True, True, accelerator, count)
    assert facts.previous_generation is False


@pytest.mark.parametrize("instance_type", ["ml.c7g.xlarge", "ml.m8g.medium", "ml.r7gd.large", "ml.c6in.large",
                                           "ml.r5d.xlarge", "ml.m7i.large"])
def test_graviton_and_other_cpu_families_are_current_and_not_accelerated(instance_type):
    facts = catalog.lookup(instance_type)
    assert (facts.known_family, facts.accelerated, facts.previous_generation, facts.accelerators) == (
        True, False, False, 0)


def test_successors_exist_for_hosting():
    for old, new in DATA["successors"].items():
        assert old in TYPES and new in TYPES and new in HOSTING, (old, new)
    for family, facts in FAMILIES.items():
        if facts.get("successor"):
            assert facts["successor"] in FAMILIES and facts["generation"] == "previous", family
    for name in TYPES:
        facts = catalog.lookup(name)
        if facts.successor is not None:
            assert facts.previous_generation and facts.successor in HOSTING, name


@pytest.mark.parametrize("family", ["t2", "m4", "c4", "p2", "p3"])
def test_previous_generation_families(family):
    assert FAMILIES[family]["generation"] == "previous"


def test_a_type_without_a_sourced_price_has_no_cost():
    facts = catalog.lookup("ml.c5.xlarge")
    assert facts.known_family and facts.vcpus == 4 and facts.memory_gib == 8
    assert facts.price_per_hour is None and facts.monthly_cost_usd is None
    headroom = rightsizing.Headroom(cpu_per_vcpu=20, memory=40, gpu_per_gpu=20)
    assert rightsizing.suggest_smaller_type("ml.c5.4xlarge", rightsizing.Utilization(1, 1), headroom, None) is None


def test_a_sourced_price_gives_a_monthly_cost():
    facts = catalog.lookup("ml.inf2.xlarge")
    assert facts.price_per_hour == 0.99  # SageMaker's Hosting price, not EC2's inf2.xlarge price
    assert facts.monthly_cost_usd == pytest.approx(0.99 * catalog.HOURS_PER_MONTH)
