"""The organization report: per-scope JSON reports merged with totals, and rendered again in every format."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from auditor import aggregate
from auditor.findings import Finding, InputError
from auditor.model import Location
from auditor.reporters import FORMATS, Report, distinct_total, render
from auditor.rules import load_rules

RULES = load_rules()
A, B = "111111111111", "222222222222"


def live_finding(rule_id: str, account: str, region: str, endpoint: str, *, path: str = "", severity="warning",
                 cost: float | None = None, savings: float | None = None, subject: str | None = None) -> Finding:
    rule = next(rule for rule in RULES if rule.id == rule_id)
    arn = f"arn:aws:sagemaker:{region}:{account}:endpoint/{endpoint}"
    location = Location(scope=f"{account}/{region}", resource=arn, path=path, account=account, region=region)
    return Finding(rule_id, rule.name, severity, f"{rule_id} on {endpoint}", location,
                   fix={"safety": rule.fix["safety"], "summary": rule.fix["summary"]},
                   evidence={"invocations": 0} if rule_id == "SW303" else {}, monthly_cost_usd=cost,
                   monthly_savings_usd=savings, source="aws",
                   subject=(location.scope, arn, path if subject is None else subject))


def scope_document(findings: list, errors: list = (), *, endpoints: int = 1) -> dict:
    report = Report("audit", findings, list(errors), RULES,
                    counts={"scopes": 1, "endpoints": endpoints, "endpoints_by_status": {"InService": endpoints}})
    return json.loads(render(report, "json"))


@pytest.fixture
def documents() -> list:
    return [
        scope_document([live_finding("SW303", A, "us-east-1", "idle", severity="warning", cost=300.0, savings=300.0),
                        live_finding("SW101", A, "us-east-1", "idle", path="ProductionVariants[AllTraffic]",
                                     cost=300.0)], endpoints=2),
        scope_document([live_finding("SW302", B, "eu-west-1", "old", path="ProductionVariants[AllTraffic]",
                                     severity="info", cost=120.0)],
                       [InputError("DescribeModel was denied", account=B, region="eu-west-1")]),
        scope_document([], endpoints=0),
    ]


def test_totals_add_up_the_scopes_and_count_again(documents):
    merged = aggregate.merge(documents)
    summary = merged["summary"]
    assert (summary["findings"], summary["errors"], summary["scopes"], summary["endpoints"]) == (3, 1, 3, 3)
    assert summary["by_severity"] == {"info": 1, "warning": 2, "error": 0}
    assert summary["by_rule"] == {"SW101": 1, "SW302": 1, "SW303": 1}
    assert summary["endpoints_by_status"] == {"InService": 3}
    # Each scope's report counted its endpoint's $300 once (SW101 and SW303 share it); the merge adds the scopes.
    assert (summary["monthly_cost_usd"], summary["monthly_savings_usd"]) == (420.0, 300.0)
    assert summary["by_account"] == {
        A: {"findings": 2, "errors": 0, "by_severity": {"info": 0, "warning": 2, "error": 0}},
        B: {"findings": 1, "errors": 1, "by_severity": {"info": 1, "warning": 0, "error": 0}},
    }
    assert [(f["account"], f["rule_id"]) for f in merged["findings"]] == [(A, "SW101"), (A, "SW303"), (B, "SW302")]


def test_runs_that_wrote_no_report_are_errors(documents):
    failed = {"message": "the scheduled audit of this scope failed: States.Timeout", "account": A,
              "region": "eu-west-1"}
    merged = aggregate.merge(documents, errors=[failed])
    assert merged["summary"]["errors"] == 2
    assert merged["errors"][0] == {"file": None, "line": None, "column": None, **failed}
    assert merged["summary"]["by_account"][A]["errors"] == 1


def test_the_same_scope_twice_is_refused_rather_than_counted_twice(documents):
    with pytest.raises(aggregate.ReportError, match=f"report 1 and report 4 both cover {A}/us-east-1"):
        aggregate.merge(documents + [documents[0]])
    # Errors carry no money: every run of a night denied the same way is simply listed.
    only_errors = scope_document([], [InputError("denied", account=A, region="us-east-1")])
    assert aggregate.merge([only_errors, only_errors])["summary"]["errors"] == 2


@pytest.mark.parametrize("document, message", [
    ({"findings": []}, "report 1 is not a sagewise JSON report"),
    ({"version": 1, "tool": {}, "findings": {}, "errors": [], "summary": {}}, "report 1 has no 'findings' list"),
    ("[]", "report 1 is not a sagewise JSON report"),
])
def test_what_is_not_a_report_is_one_line(document, message):
    with pytest.raises(aggregate.ReportError, match=message):
        aggregate.merge([document])


def test_nothing_to_merge_is_an_empty_report():
    merged = aggregate.merge([])
    assert (merged["findings"], merged["errors"], merged["summary"]["findings"]) == ([], [], 0)


def test_the_merged_document_renders_back_to_itself_and_to_every_format(documents):
    merged = aggregate.merge(documents)
    report = aggregate.to_report(merged, RULES)
    assert json.loads(render(report, "json")) == merged
    sarif = json.loads(render(report, "sarif"))
    results = sarif["runs"][0]["results"]
    assert [result["partialFingerprints"]["sagewise/v1"] for result in results] == \
        [finding["fingerprint"] for finding in merged["findings"]]
    for output_format in FORMATS:
        assert render(report, output_format)


def test_findings_read_back_count_each_objects_money_once_as_the_run_did():
    variant = "ProductionVariants[{}]"
    findings = [
        # One variant: SW101 points at it, SW301 and SW302 at its InstanceType; its $500 counts once.
        live_finding("SW101", A, "us-east-1", "scoring", path=variant.format("A"), cost=500.0),
        live_finding("SW301", A, "us-east-1", "scoring", path=variant.format("A") + ".InstanceType", cost=500.0,
                     savings=250.0, subject=variant.format("A")),
        live_finding("SW302", A, "us-east-1", "scoring", path=variant.format("A") + ".InstanceType", cost=500.0,
                     severity="info", subject=variant.format("A")),
        # Its shadow variant costs as much, and counts as a second part.
        live_finding("SW101", A, "us-east-1", "scoring", path=variant.format("AB"), cost=500.0),
        # The whole endpoint of another: the larger of it and its parts.
        live_finding("SW303", A, "us-east-1", "idle", cost=300.0, savings=300.0),
        live_finding("SW101", A, "us-east-1", "idle", path=variant.format("A"), cost=300.0),
    ]
    document = scope_document(findings)
    assert document["summary"]["monthly_cost_usd"] == 1300.0
    report = aggregate.to_report(document, RULES)
    assert distinct_total(report.findings, "monthly_cost_usd") == 1300.0
    assert distinct_total(report.findings, "monthly_savings_usd") == document["summary"]["monthly_savings_usd"] == 550.0


def test_the_readmes_merge_of_split_runs_works(documents, tmp_path, subprocess_env):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### Locally, from cron or a CI schedule", 1)[1]
    snippet = next(block for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL) if "sagewise merge" in block)
    for index, document in enumerate(documents):
        (tmp_path / f"job-{index}").mkdir()
        (tmp_path / f"job-{index}" / "sagewise.json").write_text(json.dumps(document))
    script = snippet.replace("/srv/sagewise/2026-08-07", str(tmp_path)).replace(
        "sagewise merge", f"{shlex.quote(sys.executable)} -m auditor merge")
    completed = subprocess.run(["bash", "-c", script], env=subprocess_env, capture_output=True, text=True,
                               cwd=tmp_path, timeout=120)
    assert completed.returncode == 2, completed.stderr  # one of the scopes carries an error
    assert json.loads((tmp_path / "organization" / "sagewise.json").read_text()) == aggregate.merge(documents)
    assert (tmp_path / "organization" / "sagewise.html").read_text().startswith("<!DOCTYPE html>")


# --- sagewise merge: the same aggregation from the command line ----------------------------------------------------


def write_reports(folder: Path, documents: list) -> list:
    paths = []
    for index, document in enumerate(documents):
        path = folder / f"job-{index}" / "sagewise.json"
        path.parent.mkdir()
        path.write_text(json.dumps(document), encoding="utf-8")
        paths.append(path)
    return paths


def test_merge_renders_one_report_of_split_runs(sagewise, tmp_path, documents):
    paths = write_reports(tmp_path, documents[:1] + documents[2:])  # the scope with an error is left out
    result = sagewise("merge", *paths, "--format", "json", "--output-dir", tmp_path / "organization", "--isolated")
    assert result.exit_code == 1  # a warning reaches the default --fail-on
    merged = json.loads(result.output)
    assert merged == json.loads((tmp_path / "organization" / "sagewise.json").read_text())
    assert (merged["summary"]["findings"], merged["summary"]["scopes"], merged["summary"]["monthly_cost_usd"]) == (
        2, 2, 300.0)
    assert sorted(p.name for p in (tmp_path / "organization").iterdir()) == sorted(
        ["sagewise.json", "sagewise.sarif", "sagewise.junit.xml", "sagewise.md", "sagewise.html"])


def test_merge_exit_codes_follow_fail_on_and_errors(sagewise, tmp_path, documents):
    paths = write_reports(tmp_path, documents)
    assert sagewise("merge", *paths[2:], "--isolated").exit_code == 0
    assert sagewise("merge", *paths[:1], "--fail-on", "error", "--isolated").exit_code == 0
    # A scope its audit could not read is an error, as it was for that audit.
    errored = sagewise("merge", *paths, "--fail-on", "never", "--isolated")
    assert errored.exit_code == 2 and "DescribeModel was denied" in errored.output


@pytest.mark.parametrize("content, problem", [
    (None, "cannot read it"),
    ("{not json", "not a JSON report"),
    ('{"findings": []}', "is not a sagewise JSON report"),
])
def test_merge_names_the_report_it_cannot_use(sagewise, tmp_path, documents, content, problem):
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    [good] = write_reports(tmp_path, documents[:1])
    result = sagewise("merge", good, bad, "--isolated")
    assert result.exit_code == 2
    assert str(bad) in result.output and problem in result.output


def test_merge_refuses_two_reports_of_one_scope(sagewise, tmp_path, documents):
    first, second = write_reports(tmp_path, [documents[0], documents[0]])
    result = sagewise("merge", first, second, "--isolated")
    assert result.exit_code == 2
    assert f"{first} and {second} both cover {A}/us-east-1" in result.output
