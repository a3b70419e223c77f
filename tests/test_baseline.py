"""Baselines: ``sagewise baseline``, ``lint --baseline``, ``audit --baseline-out`` and ``--baseline``.

A baseline records findings by fingerprint; a run against it reports and fails only on the findings it does not
hold, and says how many of its findings are gone. The fingerprints must survive what people do to templates
that does not change a finding: moving lines, renaming other resources, running from another directory.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from xml.etree import ElementTree

import pytest
from sample_templates import FIXED_TARGET, M4_ENDPOINT, with_resources

from auditor import baseline as baselines
from auditor.findings import Finding
from auditor.model import Location

TEMPLATE = with_resources(FIXED_TARGET)
"""SW101 and SW302 on Config, SW102 and SW103 on Target."""


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "endpoint.yaml").write_text(TEMPLATE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _json(result) -> dict:
    return json.loads(result.stdout)


def test_baseline_records_findings_by_fingerprint_for_people_too(project, sagewise):
    result = sagewise("baseline", "infra", "--isolated")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Wrote 4 findings to .sagewise-baseline.json (1 file checked).\n"
    document = json.loads((project / ".sagewise-baseline.json").read_text())
    assert document["version"] == 1 and document["tool"]["name"] == "sagewise" and document["tool"]["version"]
    entries = document["findings"]
    assert [(e["rule_id"], e["file"], e["resource"]) for e in entries] == [
        ("SW101", "infra/endpoint.yaml", "Config"), ("SW302", "infra/endpoint.yaml", "Config"),
        ("SW102", "infra/endpoint.yaml", "Target"), ("SW103", "infra/endpoint.yaml", "Target")]
    report = _json(sagewise("lint", "infra", "--format", "json", "--isolated"))
    assert Counter(e["fingerprint"] for e in entries) == Counter(f["fingerprint"] for f in report["findings"])
    again = sagewise("baseline", "infra", "-o", "second.json", "--isolated")
    assert again.exit_code == 0
    assert (project / "second.json").read_text() == (project / ".sagewise-baseline.json").read_text()


def test_lint_against_the_baseline_reports_only_new_findings(project, sagewise):
    sagewise("baseline", "infra", "--isolated")
    same = sagewise("lint", "infra", "--baseline", ".sagewise-baseline.json", "--isolated")
    assert same.exit_code == 0
    assert same.stdout == "No new findings (1 file checked). 4 baselined findings not shown.\n"

    (project / "infra" / "more.yaml").write_text(M4_ENDPOINT)
    new = sagewise("lint", "infra", "--baseline", ".sagewise-baseline.json", "--isolated")
    assert new.exit_code == 1
    lines = new.stdout.splitlines()
    assert [line.split(": ")[1].split()[0] for line in lines[:-1]] == ["SW101", "SW302"]
    assert all(line.startswith("infra/more.yaml:") for line in lines[:-1])
    assert lines[-1] == ("Found 2 new findings (1 info, 1 warning) (2 files checked). "
                         "4 baselined findings not shown.")
    document = _json(sagewise("lint", "infra", "--baseline", ".sagewise-baseline.json", "--format", "json",
                              "--isolated"))
    assert document["summary"]["baseline"] == {"file": ".sagewise-baseline.json", "unchanged": 4, "gone": 0}
    assert document["summary"]["findings"] == 2
    sarif = json.loads(sagewise("lint", "infra", "--baseline", ".sagewise-baseline.json", "--format", "sarif",
                                "--isolated").stdout)
    assert len(sarif["runs"][0]["results"]) == 2


def test_lint_says_how_many_baselined_findings_are_gone(project, sagewise):
    sagewise("baseline", "infra", "--isolated")
    (project / "infra" / "endpoint.yaml").write_text(TEMPLATE.replace("MinCapacity: 2", "MinCapacity: 1"))
    result = sagewise("lint", "infra", "--baseline", ".sagewise-baseline.json", "--isolated")
    assert result.exit_code == 0
    assert result.stdout == ("No new findings (1 file checked). 3 baselined findings not shown. "
                             "1 baselined finding is gone: update the baseline to drop it.\n")


def test_fingerprints_survive_moved_lines_and_renamed_unrelated_resources(project, sagewise):
    sagewise("baseline", "infra", "--isolated")
    before = {(f["rule_id"], f["resource"]): f["line"] for f in _json(sagewise("lint", "infra", "--format", "json",
                                                                               "--isolated"))["findings"]}
    edited = (TEMPLATE
              .replace("Resources:\n", "Description: now described\n\n# comments move every line\n\nResources:\n"
                       "  Topic:\n    Type: AWS::SNS::Topic\n\n")
              .replace("  Endpoint:\n", "  ChurnEndpoint:\n")  # the endpoint the findings are not on
              .replace("  Target:\n", "\n  # the scaling target\n  Target:\n"))
    (project / "infra" / "endpoint.yaml").write_text(edited)
    moved = _json(sagewise("lint", "infra", "--format", "json", "--isolated"))
    after = {(f["rule_id"], f["resource"]): f["line"] for f in moved["findings"]}
    assert set(after) == set(before) and all(after[key] != line for key, line in before.items())
    result = sagewise("lint", "infra", "--baseline", ".sagewise-baseline.json", "--isolated")
    assert result.exit_code == 0, result.stdout
    assert result.stdout == "No new findings (1 file checked). 4 baselined findings not shown.\n"

    renamed = edited.replace("  Target:\n", "  ScalingTarget:\n")  # the resource the findings are on: new findings
    (project / "infra" / "endpoint.yaml").write_text(renamed)
    document = _json(sagewise("lint", "infra", "--baseline", ".sagewise-baseline.json", "--format", "json",
                              "--isolated"))
    assert {(f["rule_id"], f["resource"]) for f in document["findings"]} == {("SW102", "ScalingTarget"),
                                                                            ("SW103", "ScalingTarget")}
    assert document["summary"]["baseline"]["gone"] == 2


def test_the_baseline_matches_from_any_working_directory_of_the_project(project, sagewise, monkeypatch):
    assert subprocess.run(["git", "init", "-q"], cwd=project).returncode == 0  # the project root
    sagewise("baseline", "infra", "--isolated")
    monkeypatch.chdir(project / "infra")
    result = sagewise("lint", ".", "--baseline", "../.sagewise-baseline.json", "--isolated")
    assert result.exit_code == 0, result.stdout
    assert "No new findings" in result.stdout


def test_linting_some_files_does_not_call_the_others_gone(project, sagewise):
    (project / "infra" / "second.yaml").write_text(M4_ENDPOINT)
    sagewise("baseline", "infra", "--isolated")
    result = sagewise("lint", "infra/second.yaml", "--baseline", ".sagewise-baseline.json", "--isolated")
    assert result.stdout == "No new findings (1 file checked). 2 baselined findings not shown.\n"


def test_matching_counts_each_fingerprint_as_often_as_it_is_listed():
    def finding(resource):
        return Finding("SW101", "endpoint-without-autoscaling", "warning", "m", Location("t.yaml", resource, "p",
                                                                                           file="t.yaml"))

    twice = [finding("A"), finding("A")]
    baseline = baselines.Baseline("b.json", [{"fingerprint": twice[0].fingerprint, "file": "t.yaml"}])
    comparison = baselines.compare(baseline, twice, {"t.yaml"})
    assert (len(comparison.new), comparison.unchanged, comparison.gone) == (1, 1, 0)
    listed_twice = baselines.Baseline("b.json", [{"fingerprint": twice[0].fingerprint, "file": "t.yaml"}] * 2)
    comparison = baselines.compare(listed_twice, twice[:1], {"t.yaml"})
    assert (len(comparison.new), comparison.unchanged, comparison.gone) == (0, 1, 1)
    assert baselines.compare(listed_twice, [], set()).gone == 0  # that file was not checked
    assert baselines.compare(listed_twice, [], None).gone == 2  # not told what was read: all of it is gone
    live = {"fingerprint": twice[0].fingerprint, "account": "123456789012", "region": "eu-west-1"}
    assert baselines.compare(baselines.Baseline("b.json", [live]), [], {"123456789012/eu-west-1"}).gone == 1
    assert baselines.compare(baselines.Baseline("b.json", [live]), [], {"123456789012/us-east-1"}).gone == 0


@pytest.mark.parametrize("content, message", [
    (None, "baseline.json: baseline not found (create it with `sagewise baseline`)"),
    ("{", "baseline.json:1:2: not a sagewise baseline: invalid JSON"),
    ('{"runs": []}', "baseline.json: not a sagewise baseline (expected an object"),
    ('{"version": 2, "findings": []}', "baseline.json: baseline version 2 is not supported"),
    ('{"version": 1, "findings": {}}', "baseline.json: findings: expected a list"),
    ('{"version": 1, "findings": ["x"]}', "baseline.json: findings[0]: expected an object"),
    ('{"version": 1, "findings": [{"rule_id": "SW101"}]}', "baseline.json: findings[0].fingerprint: expected"),
    (b"\xff\xfe", "baseline.json: not a sagewise baseline (not UTF-8 text)"),
])
def test_an_unusable_baseline_is_a_usage_error_naming_the_file(project, sagewise, content, message):
    if isinstance(content, bytes):
        (project / "baseline.json").write_bytes(content)
    elif content is not None:
        (project / "baseline.json").write_text(content)
    result = sagewise("lint", "infra", "--baseline", "baseline.json", "--isolated")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"sagewise: error: {message}"), result.stderr


def test_no_baseline_is_written_when_an_input_cannot_be_read(project, sagewise):
    (project / "infra" / "broken.yaml").write_text('AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  A: [\n')
    result = sagewise("baseline", "infra", "--isolated")
    assert result.exit_code == 2
    assert "infra/broken.yaml:4:" in result.stderr
    assert "sagewise: error: .sagewise-baseline.json was not written: 1 input could not be read" in result.stderr
    assert not (project / ".sagewise-baseline.json").exists()


# -- audit ----------------------------------------------------------------------------------------------------


def test_audit_records_a_baseline_and_reports_only_new_findings_against_it(tmp_path, monkeypatch, sagewise):
    moto = pytest.importorskip("moto")
    import audit_scenario as scenario

    scenario.isolate_environment(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    with moto.mock_aws():
        c = scenario.clients("us-east-1")
        scenario.add_model(c, "custom")
        scenario.add_endpoint(c, "churn", "ml.m5.large")
        first = sagewise("audit", "--region", "us-east-1", "--baseline-out", "live.json", "--format", "json")
        assert first.exit_code == 1, first.output
        found = _json(first)["findings"]
        assert {f["rule_id"] for f in found} == {"SW101"}
        recorded = json.loads((tmp_path / "live.json").read_text())["findings"]
        assert [(e["rule_id"], e["account"], e["region"], e["resource"]) for e in recorded] == [
            ("SW101", scenario.ACCOUNT, "us-east-1", scenario.endpoint_arn("churn"))]

        scenario.add_endpoint(c, "fraud", "ml.m5.large")
        second = sagewise("audit", "--region", "us-east-1", "--baseline", "live.json", "--format", "json")
        assert second.exit_code == 1
        document = _json(second)
        assert [f["resource"] for f in document["findings"]] == [scenario.endpoint_arn("fraud")]
        assert document["summary"]["baseline"] == {"file": "live.json", "unchanged": 1, "gone": 0}

        c.sagemaker.delete_endpoint(EndpointName="churn")
        c.sagemaker.delete_endpoint(EndpointName="fraud")
        elsewhere = sagewise("audit", "--region", "eu-west-1", "--baseline", "live.json")
        assert elsewhere.stdout == "No new findings (1 scope, 0 endpoints checked). 0 baselined findings not shown.\n"
        third = sagewise("audit", "--region", "us-east-1", "--baseline", "live.json", "--format", "junit")
        assert third.exit_code == 0
        suites = ElementTree.fromstring(third.stdout.encode())
        assert [suite.get("name") for suite in suites] == [f"{scenario.ACCOUNT}/us-east-1"]
        assert suites.get("tests") != "0" and suites.get("failures") == "0"
        assert "1 baselined finding is gone" in sagewise("audit", "--region", "us-east-1", "--baseline",
                                                         "live.json").stdout


def test_audit_writes_no_baseline_when_a_scope_could_not_be_read(tmp_path, monkeypatch, sagewise):
    moto = pytest.importorskip("moto")
    import audit_scenario as scenario

    scenario.isolate_environment(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    faults = scenario.install_faults(monkeypatch)
    with moto.mock_aws():
        faults.add("application-auto-scaling", "DescribeScalableTargets", "AccessDeniedException")
        result = sagewise("audit", "--region", "us-east-1", "--baseline-out", "live.json")
    assert result.exit_code == 2
    assert "live.json was not written: 1 input could not be read" in result.stderr
    assert not (tmp_path / "live.json").exists()
