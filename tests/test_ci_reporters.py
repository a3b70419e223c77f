"""The CI reporters (JUnit, GitHub workflow commands, Markdown), ``--output-dir``, and what rendering imports."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from xml.etree import ElementTree

import pytest
from sample_templates import CLEAN, FIXED_TARGET, M4_ENDPOINT, with_resources

from auditor.findings import Finding, InputError
from auditor.model import Location
from auditor.reporters import FILE_NAMES, FORMATS, Report, render
from auditor.reporters.github import escape_data, escape_property
from auditor.reporters.markdown import escape, github_link_base
from auditor.rules import load_rules

TEMPLATE = with_resources(FIXED_TARGET)
BROKEN = 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  A: [\n'


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    (tmp_path / "clean.yaml").write_text(CLEAN)
    (tmp_path / "broken.yaml").write_text(BROKEN)
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def live_finding(rule_id="SW303", severity="warning", message="Endpoint idle served no invocations", *,
                 region="us-east-1", name="idle", cost=None, saving=None, evidence=None) -> Finding:
    arn = f"arn:aws:sagemaker:{region}:123456789012:endpoint/{name}"
    location = Location(f"123456789012/{region}", arn, "", account="123456789012", region=region)
    return Finding(rule_id, "idle-endpoint", severity, message, location, monthly_cost_usd=cost,
                   monthly_savings_usd=saving, evidence=evidence or {}, subject=(location.scope, arn, ""))


# -- every format ---------------------------------------------------------------------------------------------


def test_the_formats_are_listed_once_and_each_renders(project, sagewise):
    assert FORMATS == ("text", "json", "sarif", "junit", "github", "markdown", "html")
    assert set(FILE_NAMES) == set(FORMATS) - {"text", "github"}
    for output_format in FORMATS:
        result = sagewise("lint", "template.yaml", "broken.yaml", "--format", output_format, "--isolated")
        assert result.exit_code == 2, (output_format, result.output)
        assert "SW103" in result.stdout and "broken.yaml" in result.stdout, output_format
    with pytest.raises(ValueError, match="unknown report format 'yaml'"):
        render(Report("lint", [], [], []), "yaml")


def test_rendering_every_format_imports_neither_boto3_nor_cfnlint(project, subprocess_env):
    script = textwrap.dedent("""\
        import sys
        import auditor.cli, auditor.lint
        from auditor.reporters import FORMATS, Report, render
        from auditor.rules import load_rules
        rules = load_rules()
        result = auditor.lint.lint_paths(["template.yaml", "broken.yaml"], rules)
        report = Report("lint", result.findings, result.errors, rules, counts={"files": result.files},
                        checked=list(result.checked))
        for output_format in FORMATS:
            assert render(report, output_format)
        print(",".join(sorted(name for name in sys.modules if name.split(".")[0] in ("boto3", "botocore", "cfnlint"))))
        """)
    completed = subprocess.run([sys.executable, "-c", script], cwd=project, env=subprocess_env,
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == ""


# -- JUnit ----------------------------------------------------------------------------------------------------

COUNTS = ("tests", "failures", "errors")


def check_junit(text: str) -> ElementTree.Element:
    """The structure the Ant/Surefire JUnit schema (what Jenkins, GitLab and GitHub's test-report actions read)
    requires, and counts that add up."""
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ElementTree.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    totals = dict.fromkeys(COUNTS, 0)
    for suite in root:
        assert suite.tag == "testsuite"
        assert {"name", "tests", "failures", "errors", "skipped", "time"} <= set(suite.attrib), suite.attrib
        assert suite.get("name")
        counted = dict.fromkeys(COUNTS, 0)
        for case in suite:
            assert case.tag == "testcase", case.tag
            assert case.get("name") and case.get("classname") == suite.get("name")
            float(case.get("time"))
            outcomes = list(case)
            assert len(outcomes) <= 1 and all(o.tag in ("failure", "error") for o in outcomes), outcomes
            counted["tests"] += 1
            for outcome in outcomes:
                assert outcome.get("message") and outcome.get("type") and outcome.text
                counted["failures" if outcome.tag == "failure" else "errors"] += 1
        for key in COUNTS:
            assert int(suite.get(key)) == counted[key], (suite.get("name"), key)
            totals[key] += counted[key]
        assert suite.get("skipped") == "0"
    for key in COUNTS:
        assert int(root.get(key)) == totals[key], key
    return root


def _cases(root) -> dict:
    return {(suite.get("name"), case.get("name").split()[0]): case for suite in root for case in suite}


def test_junit_has_a_case_per_rule_and_file_and_fails_where_something_was_found(project, sagewise):
    result = sagewise("lint", ".", "--format", "junit", "--isolated")
    assert result.exit_code == 2
    root = check_junit(result.stdout)
    assert [suite.get("name") for suite in root] == ["broken.yaml", "clean.yaml", "template.yaml"]
    template_rules = sorted(rule.id for rule in load_rules() if set(rule.sources) - {"aws"}
                            and rule.selected_by_default)
    cases = _cases(root)
    assert sorted(rule for suite, rule in cases if suite == "clean.yaml") == template_rules
    assert not any(len(case) for (suite, _), case in cases.items() if suite == "clean.yaml")
    failed = {rule: case[0] for (suite, rule), case in cases.items() if suite == "template.yaml" and len(case)}
    assert set(failed) == {"SW101", "SW102", "SW103", "SW302"}
    assert failed["SW101"].get("type") == "warning" and failed["SW302"].get("type") == "info"
    assert "template.yaml:7:11: SW101 [warning] Config: Variant AllTraffic" in failed["SW101"].text
    assert [case.get("name") for case in root[0]] == ["read"]
    assert root[0][0][0].tag == "error" and "broken.yaml:4:" in root[0][0][0].text


def test_junit_lists_every_finding_of_a_rule_in_one_failure():
    rules = load_rules()
    findings = [live_finding(name=name, message=f"Endpoint {name} is idle") for name in ("a", "b")]
    root = check_junit(render(Report("audit", findings, [], rules), "junit"))
    (failure,) = [case[0] for case in root.iter("testcase") if len(case)]
    assert failure.get("message") == "Endpoint a is idle (and 1 more)"
    assert failure.text.count("SW303 [warning]") == 2
    assert root[0].get("name") == "123456789012/us-east-1"


def test_junit_of_a_clean_audit_still_has_passing_cases_and_errors_are_errors():
    rules = load_rules()
    root = check_junit(render(Report("audit", [], [], rules), "junit"))
    assert [suite.get("name") for suite in root] == ["sagewise audit"]
    assert {case.get("name").split()[0] for case in root[0]} == {rule.id for rule in rules if "aws" in rule.sources}
    denied = InputError("AccessDenied on Search", account="123456789012", region="eu-west-1")
    root = check_junit(render(Report("audit", [], [denied], rules), "junit"))
    assert [(suite.get("name"), [case.get("name") for case in suite]) for suite in root] == \
        [("123456789012/eu-west-1", ["read"])]


def test_junit_replaces_what_xml_cannot_hold():
    finding = live_finding(message="bell \x07 and <tags> & \"quotes\"")
    root = check_junit(render(Report("audit", [finding], [], load_rules()), "junit"))
    (failure,) = [case[0] for case in root.iter("testcase") if len(case)]
    assert failure.get("message") == "bell \ufffd and <tags> & \"quotes\""


# -- GitHub workflow commands ------------------------------------------------------------------------------------


def test_workflow_command_escaping():
    assert escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert escape_property("dir:a,b%\n") == "dir%3Aa%2Cb%25%0A"


def test_github_annotations_grouped_per_file(project, sagewise):
    result = sagewise("lint", "template.yaml", "broken.yaml", "--format", "github", "--isolated")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0] == "::group::broken.yaml (1 problem)"
    assert lines[1].startswith("::error file=broken.yaml,line=4,col=")
    assert lines[1].endswith(",title=sagewise%3A input could not be read::" + lines[1].split("::")[-1])
    assert lines[2] == "::endgroup::"
    assert lines[3] == "::group::template.yaml (4 problems)"
    assert lines[4] == ("::warning file=template.yaml,line=7,col=11,title=SW101 endpoint-without-autoscaling::"
                        "Config: Variant AllTraffic of endpoint my-endpoint has no scalable target on "
                        "endpoint/my-endpoint/variant/AllTraffic; its instance count never follows the load")
    assert lines[5].startswith("::notice file=template.yaml,line=9,col=")
    assert "title=SW302 previous-generation-instance::" in lines[5]
    assert lines[8] == "::endgroup::"
    assert lines[-1].startswith("Found 4 findings") and "1 input could not be read" in lines[-1]


def test_github_annotation_data_cannot_break_out_of_the_command():
    finding = live_finding(severity="error", message="first line\n::error::injected 100%")
    output = render(Report("audit", [finding], [], load_rules()), "github")
    (annotation,) = [line for line in output.splitlines() if line.startswith("::error")]
    assert annotation == ("::error title=SW303 idle-endpoint::arn:aws:sagemaker:us-east-1:123456789012:endpoint/idle: "
                          "first line%0A::error::injected 100%25")
    assert output.count("\n") == 4  # group, annotation, endgroup, summary: the newline did not start a command
    template = Finding("SW101", "endpoint-without-autoscaling", "warning", "m",
                       Location("a,b:c.yaml", "Config", "", 3, 5, file="a,b:c.yaml"))
    assert "::warning file=a%2Cb%3Ac.yaml,line=3,col=5," in render(Report("lint", [template], [], []), "github")


def test_github_format_writes_the_job_summary_when_github_asks_for_one(project, sagewise, monkeypatch):
    summary = project / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert sagewise("lint", "template.yaml", "--format", "github", "--isolated").exit_code == 1
    written = summary.read_text()
    assert written.startswith("earlier step\n## sagewise lint: 4 findings (3 warnings, 1 info)")
    assert "| SW103 `fixed-capacity-range` | 0 | 1 | 0 | 1 |" in written
    assert sagewise("lint", "template.yaml", "--format", "text", "--isolated").exit_code == 1
    assert summary.read_text() == written  # only the github format writes it

    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(project / "no-such-dir" / "summary.md"))
    result = sagewise("lint", "template.yaml", "--format", "github", "--isolated")
    assert result.exit_code == 1
    assert "warning: cannot write the job summary to $GITHUB_STEP_SUMMARY" in result.stderr


# -- Markdown ---------------------------------------------------------------------------------------------------


def test_markdown_escapes_what_would_render_as_markup():
    assert escape("<unresolved> ${Endpoint} a|b *x* @team [l](u) `c` & ~s~") == \
        r"\<unresolved\> \${Endpoint} a\|b \*x\* \@team \[l\](u) \`c\` \& \~s\~"
    assert escape("two\nlines") == "two lines"


def test_markdown_report_for_a_pull_request(project, sagewise, monkeypatch):
    result = sagewise("lint", "template.yaml", "--format", "markdown", "--isolated")
    assert result.exit_code == 1
    text = result.stdout
    assert text.startswith("## sagewise lint: 4 findings (3 warnings, 1 info)\n\n1 file checked.\n")
    assert "| **total** | 0 | 3 | 1 | 4 |" in text
    assert "| 🟠 warning | SW101 | template.yaml:7 Config | Variant AllTraffic of endpoint my\\-endpoint" not in text
    assert "| 🟠 warning | SW101 | template.yaml:7 Config | Variant AllTraffic of endpoint my-endpoint" in text
    rows = [line for line in text.splitlines() if line.startswith(("| 🟠", "| 🔵"))]
    assert [row.split(" | ")[1] for row in rows][-1] == "SW302"  # most severe first


def test_markdown_links_each_finding_to_its_line_in_the_pull_request(project, sagewise, monkeypatch):
    event = project / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"sha": "abc123"}}}))
    (project / "infra").mkdir()
    (project / "infra" / "t.yaml").write_text(M4_ENDPOINT)
    monkeypatch.chdir(project / "infra")
    for name, value in {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com",
                        "GITHUB_REPOSITORY": "acme/ml", "GITHUB_WORKSPACE": str(project), "GITHUB_SHA": "merge1",
                        "GITHUB_EVENT_PATH": str(event)}.items():
        monkeypatch.setenv(name, value)
    text = sagewise("lint", "t.yaml", "--format", "markdown", "--isolated").stdout
    assert "[t.yaml:7 Config](https://github.com/acme/ml/blob/abc123/infra/t.yaml#L7)" in text

    environ = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/ml",
               "GITHUB_WORKSPACE": str(project), "GITHUB_SHA": "merge1"}
    assert github_link_base(environ, str(project)) == "https://github.com/acme/ml/blob/merge1/"
    assert github_link_base(environ, str(project.parent)) is None
    assert github_link_base({**environ, "GITHUB_REPOSITORY": ""}, str(project)) is None


def test_markdown_lists_the_top_findings_and_the_money_at_stake():
    findings = [live_finding(name=f"e{index}", cost=100.0 + index, saving=100.0 + index) for index in range(25)]
    findings.append(live_finding("SW106", "error", "broken target", name="x"))
    text = render(Report("audit", findings, [], load_rules(), counts={"scopes": 1, "endpoints": 26}), "markdown")
    assert "1 scope, 26 endpoints checked; estimated monthly cost at stake: **$2,800**;" in text
    assert "### Top 20 findings" in text and "… and 6 more" in text
    rows = [line for line in text.splitlines() if line.startswith(("| 🔴", "| 🟠"))]
    assert len(rows) == 20 and rows[0].startswith("| 🔴 error | SW106 |")
    assert "endpoint/e24 | Endpoint idle served no invocations (saves ~$124/month) |" in rows[1]


# -- --output-dir -----------------------------------------------------------------------------------------------


def test_output_dir_writes_every_format_of_one_run(project, sagewise):
    result = sagewise("lint", "template.yaml", "--output-dir", "reports/today", "--isolated")
    assert result.exit_code == 1
    assert result.stdout.startswith("template.yaml:7:11: SW101")  # the chosen format still goes to stdout
    written = {path.name: path.read_text() for path in (project / "reports" / "today").iterdir()}
    assert set(written) == set(FILE_NAMES.values())
    document = json.loads(written["sagewise.json"])
    assert document["summary"]["findings"] == 4
    assert len(json.loads(written["sagewise.sarif"])["runs"][0]["results"]) == 4
    assert check_junit(written["sagewise.junit.xml"]).get("failures") == "4"
    assert written["sagewise.md"].startswith("## sagewise lint: 4 findings")
    assert written["sagewise.html"].startswith("<!DOCTYPE html>") and "SW103" in written["sagewise.html"]


def test_output_dir_with_fix_reports_what_remains(project, sagewise):
    result = sagewise("fix", "template.yaml", "--output-dir", "out", "--isolated")
    document = json.loads((project / "out" / "sagewise.json").read_text())
    assert document["summary"]["fixed"]["findings"] >= 1
    finding_lines = [line for line in result.stdout.splitlines() if line.startswith("template.yaml:")]
    assert document["summary"]["findings"] == len(document["findings"]) == len(finding_lines)


def test_output_dir_that_cannot_be_written_is_a_usage_error(project, sagewise):
    (project / "taken").write_text("a file, not a directory")
    result = sagewise("lint", "template.yaml", "--output-dir", "taken/reports", "--isolated")
    assert result.exit_code == 2
    assert result.stderr == "sagewise: error: taken/reports: cannot create the directory: Not a directory\n"
