"""Every rule against its fixtures: each file must produce exactly the findings its folder lists.

``fixtures/<rule-id>/expected.yaml`` maps each fixture file to the findings of that rule it must
produce (``SW101:15`` = rule and line). A missing finding fails, and so does an unexpected one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from auditor import engine
from auditor.lint import read_model
from auditor.rules import load_rules

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RULES = {rule.id: rule for rule in load_rules()}


def fixture_cases():
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        expected = yaml.safe_load((folder / "expected.yaml").read_text())
        for name, findings in expected.items():
            yield pytest.param(folder.name, folder / name, sorted(findings), id=f"{folder.name}/{name}")


def findings_of(rule_id: str, path: Path):
    model = read_model(path)
    assert model is not None, f"{path} is not read as a template or definition"
    return [f for f in engine.evaluate(model, list(RULES.values())) if f.rule_id == rule_id]


@pytest.mark.parametrize(("rule_id", "path", "expected"), list(fixture_cases()))
def test_fixture_produces_exactly_the_expected_findings(rule_id, path, expected):
    actual = sorted(f"{f.rule_id}:{f.location.line}" for f in findings_of(rule_id, path))
    assert actual == expected


def test_every_fixture_file_is_listed():
    for folder in (p for p in FIXTURES.iterdir() if p.is_dir()):
        listed = set(yaml.safe_load((folder / "expected.yaml").read_text()))
        present = {p.name for p in folder.iterdir() if p.name != "expected.yaml" and p.suffix != ".fixed"}
        assert present == listed, f"{folder.name}: files and expected.yaml disagree"


def test_findings_name_what_they_point_at():
    """A finding's message is complete text: no unfilled placeholder and no 'unknown' left in it."""
    for folder in (p for p in FIXTURES.iterdir() if p.is_dir()):
        for path in folder.iterdir():
            if path.name == "expected.yaml":
                continue
            for finding in findings_of(folder.name, path):
                assert "{" not in finding.message.replace("${", "")
                assert "unknown" not in finding.message, finding.message
                assert "${?}" not in finding.message and "<unresolved>" not in finding.message, finding.message
                # A name CloudFormation generates is shown as the logical ID, not as ${X.EndpointName}.
                assert not re.search(r"endpoint \$\{\w+\.EndpointName\}", finding.message), finding.message


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*/good-*")), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_good_fixtures_have_no_finding_of_any_rule(path):
    """A file named good-* shows correct configuration: no rule at all may fire on it, not only its folder's."""
    model = read_model(path)
    assert model is not None
    findings = engine.evaluate(model, list(RULES.values()))
    assert [f"{f.rule_id}:{f.location.line} {f.message}" for f in findings] == []


def test_a_cooldown_that_was_not_written_is_shown_as_the_default():
    (omitted,) = findings_of("SW104", FIXTURES / "SW104" / "bad-omitted-scale-out.json")
    assert "scale-in cooldown of 120s, shorter than its scale-out cooldown of 300s (default)" in omitted.message
    (written,) = findings_of("SW104", FIXTURES / "SW104" / "bad-short-scale-in.yaml")
    assert "(default)" not in written.message
