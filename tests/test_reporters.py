"""Output contracts: the JSON document, SARIF 2.1.0 (validated against the OASIS schema) and the text lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sample_templates import CLEAN, FIXED_TARGET, with_resources

TEMPLATE = with_resources(FIXED_TARGET)


FINDING_KEYS = {"rule_id", "rule_name", "severity", "message", "file", "line", "column", "resource", "path",
                "fingerprint", "fix"}
ERROR_KEYS = {"file", "line", "message"}


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    (tmp_path / "broken.yaml").write_text('AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  A: [\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _report(sagewise, *args) -> dict:
    result = sagewise("lint", *args, "--format", "json", "--isolated")
    return json.loads(result.stdout)


# -- JSON ---------------------------------------------------------------------------------------------------


def test_json_document_shape(project, sagewise):
    result = sagewise("lint", "template.yaml", "broken.yaml", "--format", "json", "--isolated")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["version"] == 1
    assert {"version", "findings", "errors", "summary"} <= set(document)
    assert document["findings"], "the template has findings"
    for finding in document["findings"]:
        assert FINDING_KEYS <= set(finding), FINDING_KEYS - set(finding)
        assert re.fullmatch(r"SW\d{3}", finding["rule_id"])
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", finding["rule_name"])
        assert finding["severity"] in ("error", "warning", "info")
        assert finding["file"] == "template.yaml"
        assert isinstance(finding["line"], int) and finding["line"] >= 1
        assert isinstance(finding["column"], int) and finding["column"] >= 1
        assert finding["resource"] in ("Config", "Endpoint", "Target")
        assert isinstance(finding["path"], str)
        assert re.fullmatch(r"[0-9a-f]{16,64}", finding["fingerprint"])
        assert finding["fix"] is None or finding["fix"]["safety"] in ("safe", "unsafe", "manual")
        assert finding["message"] and "{" not in finding["message"]  # no unformatted placeholders
    assert len(document["errors"]) == 1
    error = document["errors"][0]
    assert ERROR_KEYS <= set(error)
    assert error["file"] == "broken.yaml" and error["line"] == 4 and error["message"]
    summary = document["summary"]
    assert summary["findings"] == len(document["findings"])
    assert summary["errors"] == 1
    assert sum(summary["by_severity"].values()) == len(document["findings"])
    assert summary["by_rule"] == {rule: sum(f["rule_id"] == rule for f in document["findings"])
                                  for rule in {f["rule_id"] for f in document["findings"]}}
    assert summary["files"] == 1


def test_json_expected_findings(project, sagewise):
    findings = {(f["rule_id"], f["resource"], f["line"]) for f in _report(sagewise, "template.yaml")["findings"]}
    assert findings == {
        ("SW101", "Config", 7),  # no target on endpoint/my-endpoint/variant/AllTraffic
        ("SW302", "Config", 9),  # ml.m4 is previous generation
        ("SW102", "Target", 16),  # the target has no policy
        ("SW103", "Target", 23),  # min == max
    }


def test_json_is_valid_and_empty_when_clean(tmp_path, monkeypatch, sagewise):
    (tmp_path / "clean.yaml").write_text(CLEAN)
    monkeypatch.chdir(tmp_path)
    result = sagewise("lint", "clean.yaml", "--format", "json", "--isolated")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["findings"] == [] and document["errors"] == []
    assert document["summary"]["findings"] == 0


# -- fingerprints ---------------------------------------------------------------------------------------------


def _by_identity(report: dict) -> dict:
    return {(f["rule_id"], f["resource"], f["path"]): f for f in report["findings"]}


def test_fingerprint_survives_moved_lines(project, sagewise):
    before = _by_identity(_report(sagewise, "template.yaml"))
    moved = TEMPLATE.replace(
        "Resources:\n",
        "Description: >-\n  now with a description\n\n# a comment block\n# that moves everything down\n\nResources:\n"
        "  Topic:\n    Type: AWS::SNS::Topic\n\n",
    ).replace("  Target:\n", "\n\n  # the scaling target\n  Target:\n")
    (project / "template.yaml").write_text(moved)
    after = _by_identity(_report(sagewise, "template.yaml"))
    assert set(before) == set(after) and before
    for identity, finding in before.items():
        assert after[identity]["fingerprint"] == finding["fingerprint"], identity
        assert after[identity]["line"] != finding["line"], identity


def test_fingerprint_survives_reordered_variants(tmp_path, monkeypatch, sagewise):
    variants = ["        - {VariantName: Blue, ModelName: m, InstanceType: ml.m4.xlarge, InitialInstanceCount: 1}",
                "        - {VariantName: Green, ModelName: m, InstanceType: ml.c4.xlarge, InitialInstanceCount: 1}"]
    base = TEMPLATE.split("  Target:\n")[0]
    monkeypatch.chdir(tmp_path)
    reports = []
    for order in (variants, variants[::-1]):
        text, replaced = re.subn(r"        - VariantName: AllTraffic\n(          .*\n)+", "\n".join(order) + "\n", base)
        assert replaced == 1
        (tmp_path / "template.yaml").write_text(text)
        reports.append(_by_identity(_report(sagewise, "template.yaml")))
    assert {(rule, path) for rule, _, path in reports[0]} == {
        ("SW101", "Properties.ProductionVariants[Blue]"), ("SW101", "Properties.ProductionVariants[Green]"),
        ("SW302", "Properties.ProductionVariants[Blue].InstanceType"),
        ("SW302", "Properties.ProductionVariants[Green].InstanceType")}
    for identity, finding in reports[0].items():
        assert reports[1][identity]["fingerprint"] == finding["fingerprint"]
        assert reports[1][identity]["line"] != finding["line"]


def test_fingerprint_differs_between_resources_and_rules(tmp_path, monkeypatch, sagewise):
    second = TEMPLATE.split("  Target:\n")[0].split("Resources:\n", 1)[1]
    for old, new in (("  Config:", "  Config2:"), ("!GetAtt Config.", "!GetAtt Config2."),
                     ("  Endpoint:", "  Endpoint2:"), ("my-endpoint", "my-endpoint-2")):
        second = second.replace(old, new)
    (tmp_path / "template.yaml").write_text(TEMPLATE + second)
    monkeypatch.chdir(tmp_path)
    findings = _report(sagewise, "template.yaml")["findings"]
    sw101 = [f for f in findings if f["rule_id"] == "SW101"]
    assert {f["resource"] for f in sw101} == {"Config", "Config2"}
    fingerprints = [f["fingerprint"] for f in findings]
    assert len(set(fingerprints)) == len(fingerprints)


def test_fingerprint_does_not_depend_on_severity_or_message(project, sagewise):
    plain = _by_identity(_report(sagewise, "template.yaml"))
    (project / ".sagewise.yaml").write_text("rules:\n  SW101: {severity: error}\n")
    escalated = _by_identity(json.loads(sagewise("lint", "template.yaml", "--format", "json").stdout))
    key = next(k for k in plain if k[0] == "SW101")
    assert escalated[key]["severity"] == "error" and plain[key]["severity"] == "warning"
    assert escalated[key]["fingerprint"] == plain[key]["fingerprint"]


# -- SARIF --------------------------------------------------------------------------------------------------


@pytest.fixture
def sarif_schema(shared):
    path = shared / "reference" / "sarif-schema-2.1.0.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return json.loads(path.read_text(encoding="utf-8"))


def _validate_sarif(document: dict, schema: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator_class = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_class(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, [(list(e.absolute_path), e.message) for e in errors[:5]]


def test_sarif_validates_against_the_schema(project, sagewise, sarif_schema):
    result = sagewise("lint", "template.yaml", "broken.yaml", "--format", "sarif", "--isolated")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    _validate_sarif(document, sarif_schema)
    assert document["version"] == "2.1.0"
    run = document["runs"][0]
    results = run["results"]
    report = _report(sagewise, "template.yaml")
    assert len(results) == len(report["findings"])
    fingerprints = {f["fingerprint"] for f in report["findings"]}
    rules = run["tool"]["driver"]["rules"]
    for item in results:
        assert item["partialFingerprints"], item
        assert set(item["partialFingerprints"].values()) <= fingerprints
        assert item["level"] in ("error", "warning", "note")
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"]
        region = item["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1
        assert item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "template.yaml"
    lines = {(f["rule_id"], f["line"]) for f in report["findings"]}
    assert {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results} == lines
    notifications = run["invocations"][0]["toolExecutionNotifications"]
    assert run["invocations"][0]["executionSuccessful"] is False
    assert [n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notifications] == ["broken.yaml"]


def test_sarif_rules_carry_help(project, sagewise):
    document = json.loads(sagewise("lint", "template.yaml", "--format", "sarif", "--isolated").stdout)
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert {rule["id"] for rule in rules} >= {"SW101", "SW102", "SW103", "SW302"}
    for rule in rules:
        assert rule["help"]["text"].strip()
        assert "What it checks" in rule["help"]["markdown"] and "Fix" in rule["help"]["markdown"]
        assert rule["shortDescription"]["text"].strip()
        assert rule["helpUri"].startswith("https://")
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")


def test_sarif_with_no_findings_validates(tmp_path, monkeypatch, sagewise, sarif_schema):
    (tmp_path / "clean.yaml").write_text(CLEAN)
    monkeypatch.chdir(tmp_path)
    document = json.loads(sagewise("lint", "clean.yaml", "--format", "sarif", "--isolated").stdout)
    _validate_sarif(document, sarif_schema)
    assert document["runs"][0]["results"] == []


_URI_REFERENCE = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")  # RFC 3986 characters only


def test_sarif_uri_is_a_valid_uri_reference(tmp_path, monkeypatch, sagewise):
    # artifactLocation.uri has format "uri-reference" in the schema (RFC 3986): a space must be %20.
    (tmp_path / "my templates").mkdir()
    (tmp_path / "my templates" / "end point.yaml").write_text(TEMPLATE)
    monkeypatch.chdir(tmp_path)
    document = json.loads(sagewise("lint", "my templates", "--format", "sarif", "--isolated").stdout)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in document["runs"][0]["results"]}
    assert uris, "findings expected"
    for uri in uris:
        assert _URI_REFERENCE.match(uri), f"not a URI reference: {uri!r}"
    assert uris == {"my%20templates/end%20point.yaml"}


# -- text ---------------------------------------------------------------------------------------------------

TEXT_FINDING = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<rule>SW\d{3}) "
                          r"\[(?P<severity>error|warning|info)\] (?P<resource>\w+): (?P<message>\S.*)$")


def test_text_lines(project, sagewise):
    result = sagewise("lint", "template.yaml", "broken.yaml", "--isolated")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    report = _report(sagewise, "template.yaml")
    finding_lines = [line for line in lines if TEXT_FINDING.match(line)]
    assert len(finding_lines) == len(report["findings"])
    for line, finding in zip(finding_lines, report["findings"]):
        match = TEXT_FINDING.match(line)
        assert match["file"] == "template.yaml"
        assert (match["rule"], int(match["line"]), int(match["column"]), match["severity"], match["resource"],
                match["message"]) == (finding["rule_id"], finding["line"], finding["column"], finding["severity"],
                                      finding["resource"], finding["message"])
    assert "broken.yaml:4:" in result.stdout and ": error: " in result.stdout
    assert re.match(r"Found \d+ findings", lines[-1]) and "1 input could not be read" in lines[-1]
    assert "\x1b[" not in result.stdout  # no colour when not a terminal


def test_text_sw101_line_format(project, sagewise):
    stdout = sagewise("lint", "template.yaml", "--select", "SW101", "--isolated").stdout
    assert stdout.splitlines()[0].startswith("template.yaml:7:11: SW101 [warning] Config: Variant AllTraffic")


def test_text_clean_run(tmp_path, monkeypatch, sagewise):
    (tmp_path / "clean.yaml").write_text(CLEAN)
    monkeypatch.chdir(tmp_path)
    result = sagewise("lint", "clean.yaml", "--isolated")
    assert result.exit_code == 0
    assert result.stdout.strip().startswith("All checks passed")


def test_output_paths_use_forward_slashes_relative_to_cwd(tmp_path, monkeypatch, sagewise):
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "t.yaml").write_text(TEMPLATE)
    monkeypatch.chdir(tmp_path)
    report = json.loads(sagewise("lint", str(Path("deep") / "er"), "--format", "json", "--isolated").stdout)
    assert {f["file"] for f in report["findings"]} == {"deep/er/t.yaml"}


# -- money totals ---------------------------------------------------------------------------------------------


def test_summary_counts_each_resources_cost_once():
    """SW101, SW301 and SW302 on one variant carry its cost once; an endpoint's figure covers its variants."""
    from auditor.findings import Finding
    from auditor.model import Location
    from auditor.reporters import Report

    endpoint = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud"
    other = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn"

    def finding(rule, resource, path, cost, saving=None):
        location = Location("123456789012/us-east-1", resource, path)
        return Finding(rule, rule.lower(), "warning", "m", location, monthly_cost_usd=cost,
                       monthly_savings_usd=saving, subject=(location.scope, resource, path))

    findings = [
        finding("SW101", endpoint, "ProductionVariants[A]", 100.0),
        finding("SW302", endpoint, "ProductionVariants[A]", 100.0),
        finding("SW301", endpoint, "ProductionVariants[A]", 100.0, saving=40.0),
        finding("SW101", endpoint, "ProductionVariants[B]", 50.0),
        finding("SW303", other, "", 300.0, saving=300.0),
        finding("SW101", other, "ProductionVariants[A]", 300.0),
    ]
    summary = Report("audit", findings, [], []).summary()
    assert summary["monthly_cost_usd"] == 450.0
    assert summary["monthly_savings_usd"] == 340.0


def test_text_markdown_and_html_say_what_was_read_in_the_same_words():
    from auditor.reporters import Report, render

    report = Report("lint", [], [], [], counts={"files": 1204, "skipped": 3})
    assert render(report, "text") == "All checks passed! (1,204 files checked, 3 skipped as not templates)\n"
    assert "\n1,204 files checked.\n" in render(report, "markdown")
    assert "1,204 files checked · sagewise" in render(report, "html")
