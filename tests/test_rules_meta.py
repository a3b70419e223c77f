"""Meta-tests over the rule catalog: schema, docs, fixtures and tests for every source a rule claims."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from auditor import engine
from auditor.lint import read_model
from auditor.rules import RuleError, builtin_rules_dir, load_file, load_rules, validate

ROOT = Path(__file__).resolve().parents[1]
RULES = load_rules(check_builtin=True)
ENGINE_RULES = {engine.UNUSED_SUPPRESSION, engine.SUPPRESSION_WITHOUT_REASON, engine.MALFORMED_SUPPRESSION}


def _rule_ids_in_code_strings(paths) -> set[str]:
    """Rule ids in the string literals of the code of ``paths``: docstrings and comments do not count."""
    ids = set()
    for path in paths:
        tree = ast.parse(path.read_text(), filename=str(path))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                ids |= set(re.findall(r"\bSW\d{3}\b", node.value))
    return ids


AUDIT_TEST_IDS = _rule_ids_in_code_strings(sorted((ROOT / "tests").glob("test_audit_*.py")))


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_rule_file_is_named_after_its_id_and_name(rule):
    assert rule.path.name == f"{rule.id}-{rule.name}.yaml"


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_rule_has_every_docs_section(rule):
    for section in ("what_it_checks", "why_it_matters", "example", "fix"):
        assert rule.docs[section].strip(), f"{rule.id}: empty {section}"
    assert rule.docs["references"], f"{rule.id}: no references"


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_rule_has_good_and_bad_fixtures(rule):
    folder = ROOT / "fixtures" / rule.id
    if "cloudformation" not in rule.sources and "stepfunctions" not in rule.sources \
            and "sagemaker-pipeline" not in rule.sources:
        pytest.skip(f"{rule.id} applies only to live accounts; see tests/test_audit_*.py")
    expected = yaml.safe_load((folder / "expected.yaml").read_text())
    assert any(findings for findings in expected.values()), f"{rule.id}: no bad fixture"
    assert any(not findings for findings in expected.values()), f"{rule.id}: no good fixture"


@pytest.mark.parametrize("rule", [r for r in RULES if r.id not in ENGINE_RULES and set(r.sources) - {"aws"}],
                         ids=lambda rule: rule.id)
def test_every_template_source_a_rule_claims_has_a_bad_fixture(rule):
    """A rule that claims a source must be shown to fire on a fixture read through that source."""
    seen = set()
    folder = ROOT / "fixtures" / rule.id
    for path in folder.iterdir():
        if path.name == "expected.yaml":
            continue
        model = read_model(path)
        seen |= {f.source for f in engine.evaluate(model, [rule])}
    claimed = set(rule.sources) - {"aws"}
    assert claimed <= seen, f"{rule.id}: no bad fixture for {sorted(claimed - seen)}"


@pytest.mark.parametrize("rule", [r for r in RULES if "aws" in r.sources and r.id not in ENGINE_RULES],
                         ids=lambda rule: rule.id)
def test_every_rule_claiming_live_accounts_is_tested_against_them(rule):
    """The audit tests compare findings by rule id ("SW401" in an expected set): the id must be in such a string of
    code, not in a docstring or a comment, or deleting a rule's live test would go unnoticed."""
    assert rule.id in AUDIT_TEST_IDS, f"{rule.id} claims the aws source but no audit test compares its findings"


def test_ids_and_names_are_unique():
    assert len({rule.id for rule in RULES}) == len(RULES)
    assert len({rule.name for rule in RULES}) == len(RULES)


def test_checks_reference_fields_of_their_collection():
    """A typo in a condition's field name would make JMESPath return null and the rule never fire."""
    from auditor.model import COLLECTIONS
    from dataclasses import fields

    for rule in RULES:
        for check in rule.checks:
            known = {f.name for f in fields(COLLECTIONS[check.collection])} | {"params", "null"}
            text = re.sub(r"'[^']*'|`[^`]*`", "", check.when)
            for name in re.findall(r"(?<![.\w])([a-z_][a-z0-9_]*)\b(?!\s*\()", text):
                assert name in known, f"{rule.id}: unknown field {name!r} in {check.when!r}"
            for name in re.findall(r"\{([a-z_][a-z0-9_]*)", check.message):
                assert name in known, f"{rule.id}: unknown field {name!r} in message"


def test_a_rule_file_with_an_unknown_key_fails_with_file_and_key(tmp_path):
    source = (builtin_rules_dir() / "SW103-fixed-capacity-range.yaml").read_text()
    bad = tmp_path / "SW900-bad.yaml"
    bad.write_text(source.replace("severity: warning", "severity: warning\nseverity_level: high"))
    with pytest.raises(RuleError, match=r"SW900-bad.yaml: \(top level\): Additional properties"):
        load_file(bad, check=True)


def test_a_rule_with_an_unknown_collection_fails(tmp_path):
    document = yaml.safe_load((builtin_rules_dir() / "SW103-fixed-capacity-range.yaml").read_text())
    document["checks"][0]["resource"] = "lambdas"
    with pytest.raises(RuleError, match=r"checks.0.resource"):
        validate(document, tmp_path / "x.yaml")


def test_readme_rule_table_is_generated_from_the_rules():
    from auditor.cli import rules_markdown

    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- rules:start -->\n", 1)[1].split("\n<!-- rules:end -->", 1)[0]
    assert table == rules_markdown(RULES), "README rule table is stale: run `sagewise rules --format markdown`"
