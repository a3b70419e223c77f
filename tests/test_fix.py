"""``sagewise fix`` on every rule fixture: the result is exact, parses, no longer has the finding, is fixed
again to itself, keeps every untouched line byte for byte, and gives cfn-lint nothing new to complain about.

Each ``fixtures/<rule>/bad-*`` file whose finding a fixer can resolve has its expected result beside it as
``bad-*.fixed`` (that rule selected; ``--unsafe-fixes`` when the rule's fix is unsafe). A bad fixture without
one must be left unchanged (its fix stays manual there). After a deliberate change to a fixer, rewrite them with
``SAGEWISE_UPDATE_FIXED=1 python -m pytest tests/test_fix.py`` and read the diff.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from auditor import engine
from auditor.fixers import apply as applier
from auditor.fixers.edits import SAFE, UNSAFE
from auditor.fixers.template import FIXERS
from auditor.lint import read_text
from auditor.rules import load_rules
from auditor.sources import cloudformation
from auditor.sources.loader import decode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RULES = {rule.id: rule for rule in load_rules()}
PARAMS = {rule.id: rule.default_params() for rule in RULES.values()}
UPDATE = os.environ.get("SAGEWISE_UPDATE_FIXED") == "1"


def bad_fixtures():
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        expected = yaml.safe_load((folder / "expected.yaml").read_text())
        for name, findings in sorted(expected.items()):
            if findings:
                yield pytest.param(folder.name, folder / name, id=f"{folder.name}/{name}")


def only(*rule_ids: str):
    """Findings of these rules; every rule runs (SW001 judges the others' suppressions), only these are fixed."""
    return lambda model: [f for f in engine.evaluate(model, list(RULES.values()), PARAMS) if f.rule_id in rule_ids]


def fix(path: Path, rule_id: str, text: str | None = None):
    text = decode(path.read_bytes()) if text is None else text
    return applier.fix_text(text, path, scope=path.name, shown=path.name, evaluate=only(rule_id), params=PARAMS,
                            unsafe=RULES[rule_id].fix["safety"] == UNSAFE)


def untouched_lines_survive(original: str, outcome) -> None:
    """Every line of the original that no edit touched is in the result, in order, byte for byte."""
    touched = set()
    for fix_ in outcome.applied:
        for edit in fix_.edits:
            first = original.count("\n", 0, edit.start)
            last = original.count("\n", 0, max(edit.end - 1, edit.start))
            touched.update(range(first, last + 1))
    lines = original.splitlines(keepends=True)
    kept = [line for number, line in enumerate(lines) if number not in touched]
    fixed = iter(outcome.text.splitlines(keepends=True))
    for line in kept:
        assert any(candidate == line for candidate in fixed), f"lost or changed: {line!r}"


@pytest.mark.parametrize(("rule_id", "path"), list(bad_fixtures()))
def test_fixture_fix(rule_id, path):
    outcome = fix(path, rule_id)
    snapshot = path.with_name(path.name + ".fixed")
    if UPDATE:
        if outcome.changed:
            snapshot.write_text(outcome.text, encoding="utf-8", newline="")
        elif snapshot.exists():
            snapshot.unlink()
    if not snapshot.exists():
        assert not outcome.changed, f"{path.name} is fixed but has no {snapshot.name}"
        return
    assert outcome.text == snapshot.read_text(encoding="utf-8")
    # It parses, and what was fixed is gone from it.
    read = read_text(outcome.text, path)
    after = {f.identity for f in engine.evaluate(read.model, list(RULES.values()), PARAMS)}
    assert not after & {fix_.finding.identity for fix_ in outcome.applied}
    assert not fix(path, rule_id, outcome.text).changed  # fixing again changes nothing
    untouched_lines_survive(decode(path.read_bytes()), outcome)


def test_every_snapshot_belongs_to_a_fixture():
    for snapshot in FIXTURES.glob("*/*.fixed"):
        assert snapshot.with_suffix("").exists(), f"{snapshot} has no fixture"


@pytest.mark.parametrize("rule", [r for r in RULES.values() if r.fix["safety"] in (SAFE, UNSAFE)],
                         ids=lambda rule: rule.id)
def test_every_rule_with_a_fix_class_has_a_fixer_and_a_fixed_fixture(rule):
    if rule.sources == ("aws",):
        pytest.skip("live accounts are fixed by sagewise remediate")
    assert rule.id in FIXERS
    assert list((FIXTURES / rule.id).glob("*.fixed")), f"{rule.id}: no fixture shows its fix"


def _cfn_lint_errors(text: str):
    from collections import Counter

    from cfnlint.api import ManualArgs, lint

    return Counter(match.rule.id for match in lint(text, config=ManualArgs(regions=["us-east-1"]))
                   if match.rule.id.startswith("E"))


def _is_template(snapshot: Path) -> bool:
    original = snapshot.with_suffix("")
    return cloudformation.is_template(read_text(decode(original.read_bytes()), original).document)


TEMPLATE_SNAPSHOTS = sorted(p for p in FIXTURES.glob("*/*.fixed") if _is_template(p))


@pytest.mark.parametrize("snapshot", TEMPLATE_SNAPSHOTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_cfn_lint_finds_no_new_error_in_a_fixed_template(snapshot):
    """cfn-lint (a test dependency, never on the lint path) judges the result as CloudFormation would."""
    pytest.importorskip("cfnlint")
    before = _cfn_lint_errors(snapshot.with_suffix("").read_text(encoding="utf-8"))
    after = _cfn_lint_errors(snapshot.read_text(encoding="utf-8"))
    assert after - before == {}, f"new cfn-lint errors: {dict(after - before)}"


@pytest.mark.parametrize("rule", [r for r in RULES.values() if r.fix["safety"] in (SAFE, UNSAFE)
                                  and r.sources != ("aws",)], ids=lambda rule: rule.id)
def test_the_diff_in_the_rule_docs_is_what_the_tool_does(rule):
    """``sagewise explain`` shows each fix as a diff on one of the rule's fixtures; it must be the real one."""
    diff = rule.fix.get("diff")
    assert diff, f"{rule.id}: fix.diff is missing"
    name = diff.splitlines()[0].removeprefix("--- a/")
    assert fix(FIXTURES / rule.id / name, rule.id).diff(name) == diff


def _policies(count: int) -> str:
    """A template of ``count`` target-tracking policies, each scaling in faster than out (SW104 on each)."""
    policy = """\
  Policy{n:02}:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties:
      PolicyName: invocations{n}
      PolicyType: TargetTrackingScaling
      ScalingTargetId: target{n}
      TargetTrackingScalingPolicyConfiguration:
        PredefinedMetricSpecification:
          PredefinedMetricType: SageMakerVariantInvocationsPerInstance
        TargetValue: 70
        ScaleInCooldown: 60
        ScaleOutCooldown: 300
"""
    return "Resources:\n" + "".join(policy.format(n=n) for n in range(1, count + 1))


def test_one_faulty_fix_spoils_no_other(tmp_path, monkeypatch):
    """A fix whose result does not check out is refused, and the other nineteen are all applied."""
    real = FIXERS["SW104"]

    def faulty_on_policy_01(finding, context):
        fix_ = real(finding, context)
        if finding.location.resource != "Policy01":
            return fix_
        [edit] = fix_.edits
        return replace(fix_, edits=(replace(edit, text="61"),))  # still shorter than 300: the finding stays

    monkeypatch.setitem(FIXERS, "SW104", faulty_on_policy_01)
    path = tmp_path / "policies.yaml"
    outcome = fix(path, "SW104", _policies(20))
    assert sorted(fix_.finding.location.resource for fix_ in outcome.applied) == [f"Policy{n:02}" for n in range(2, 21)]
    assert [f.location.resource for f in outcome.findings] == ["Policy01"]
    assert [(finding.location.resource, why) for finding, why in outcome.not_applied] == [("Policy01", applier.REFUSED)]
    assert outcome.text.count("ScaleInCooldown: 300") == 19 and "ScaleInCooldown: 60\n" in outcome.text


def test_a_fix_still_waiting_when_the_passes_run_out_says_so(monkeypatch):
    """Moving a variant off ml.t2 (SW302) is what lets SW101 add its scaling, one pass later: with a single
    pass that fix is not applied, and the finding says why rather than nothing."""
    monkeypatch.setattr(applier, "MAX_PASSES", 1)
    path = FIXTURES / "SW101" / "bad-burstable.yaml"
    outcome = applier.fix_text(decode(path.read_bytes()), path, scope=path.name, shown=path.name,
                               evaluate=only("SW101", "SW302"), params=PARAMS, unsafe=True)
    assert [fix_.finding.rule_id for fix_ in outcome.applied] == ["SW302"]
    assert [(finding.rule_id, why) for finding, why in outcome.not_applied] == [("SW101", applier.OUT_OF_PASSES)]


def test_sw403_fixes_only_a_percentage_target_of_lambda_utilization(tmp_path):
    """A Lambda policy tracking a SageMaker fraction metric at 70 has a percentage too, but the metric is what is
    wrong: the fix is not tried (it would not resolve the finding), and the reason says what the policy needs."""
    original = FIXTURES / "SW403" / "bad-percent-target.yaml"
    text = decode(original.read_bytes()).replace("LambdaProvisionedConcurrencyUtilization",
                                                 "SageMakerVariantProvisionedConcurrencyUtilization")
    outcome = fix(tmp_path / "sagemaker-metric.yaml", "SW403", text)
    assert not outcome.changed
    [(finding, why)] = outcome.not_applied
    assert finding.location.resource == "ScorerUtilization"
    assert why.startswith("only a percentage target of LambdaProvisionedConcurrencyUtilization has one right fix")


def test_sw501_says_why_a_group_that_may_replace_its_instances_is_left():
    outcome = fix(FIXTURES / "SW501" / "bad-rolling-update.yaml", "SW501")
    assert not outcome.changed
    [(_, why)] = outcome.not_applied
    assert why.startswith("its UpdatePolicy (AutoScalingRollingUpdate) may replace its instances")
