"""The ``sagewise`` command line: exit codes, rule selection, output, rules/explain, suppressions, rule dirs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from sample_templates import with_resources

# SW302 (info) only: an ml.m4 variant with a target and a target-tracking policy.
INFO_ONLY = with_resources("""\
    Target:
      Type: AWS::ApplicationAutoScaling::ScalableTarget
      Properties:
        ResourceId: !Sub endpoint/${Endpoint.EndpointName}/variant/AllTraffic
        ScalableDimension: sagemaker:variant:DesiredInstanceCount
        ServiceNamespace: sagemaker
        MinCapacity: 1
        MaxCapacity: 4
    Policy:
      Type: AWS::ApplicationAutoScaling::ScalingPolicy
      Properties:
        PolicyName: invocations
        PolicyType: TargetTrackingScaling
        ScalingTargetId: !Ref Target
        TargetTrackingScalingPolicyConfiguration:
          TargetValue: 100
          PredefinedMetricSpecification:
            PredefinedMetricType: SageMakerVariantInvocationsPerInstance
    """)
# SW101 (warning) + SW302 (info): no target.
WARNING = INFO_ONLY.split("  Target:\n")[0]
# SW106 (error): the ResourceId uses the endpoint's Ref, which is its ARN; so SW101 and SW302 too.
ERROR = INFO_ONLY.replace("${Endpoint.EndpointName}", "${Endpoint}")
CLEAN = 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n'


@pytest.fixture
def project(tmp_path, monkeypatch):
    for name, text in (("info.yaml", INFO_ONLY), ("warning.yaml", WARNING), ("error.yaml", ERROR),
                       ("clean.yaml", CLEAN)):
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _rules(result) -> list:
    return sorted(f["rule_id"] for f in json.loads(result.stdout)["findings"])


def test_the_templates_have_the_expected_findings(project, sagewise):
    assert _rules(sagewise("lint", "info.yaml", "--format", "json", "--isolated")) == ["SW302"]
    assert _rules(sagewise("lint", "warning.yaml", "--format", "json", "--isolated")) == ["SW101", "SW302"]
    assert _rules(sagewise("lint", "error.yaml", "--format", "json", "--isolated")) == ["SW101", "SW106", "SW302"]


# -- exit codes ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, fail_on, code", [
    ("clean.yaml", None, 0),
    ("info.yaml", None, 0),  # default --fail-on warning
    ("warning.yaml", None, 1),
    ("error.yaml", None, 1),
    ("clean.yaml", "info", 0),
    ("info.yaml", "info", 1),
    ("info.yaml", "warning", 0),
    ("warning.yaml", "warning", 1),
    ("warning.yaml", "error", 0),
    ("error.yaml", "error", 1),
    ("error.yaml", "never", 0),
    ("warning.yaml", "never", 0),
])
def test_exit_codes_and_fail_on(project, sagewise, name, fail_on, code):
    args = ["lint", name, "--isolated"] + (["--fail-on", fail_on] if fail_on else [])
    assert sagewise(*args).exit_code == code


def test_unreadable_input_is_exit_2_whatever_fail_on(project, sagewise):
    (project / "broken.yaml").write_text('AWSTemplateFormatVersion: "2010-09-09"\nResources: [\n')
    for fail_on in ("error", "warning", "info", "never"):
        result = sagewise("lint", "broken.yaml", "warning.yaml", "--isolated", "--fail-on", fail_on)
        assert result.exit_code == 2
        assert "warning.yaml:7:" in result.stdout  # the other file is still reported


def test_invalid_fail_on_is_a_usage_error(project, sagewise):
    assert sagewise("lint", "clean.yaml", "--fail-on", "sometimes", "--isolated").exit_code == 2


def test_default_path_is_the_working_directory(project, sagewise):
    result = sagewise("lint", "--format", "json", "--isolated")
    files = {f["file"] for f in json.loads(result.stdout)["findings"]}
    assert files == {"info.yaml", "warning.yaml", "error.yaml"}


# -- selection ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("options, expected", [
    (["--select", "SW101"], ["SW101"]),
    (["--select", "endpoint-without-autoscaling"], ["SW101"]),
    (["--select", "SW1"], ["SW101", "SW106"]),
    (["--select", "SW101,SW302"], ["SW101", "SW302"]),
    (["--select", "SW101", "--select", "previous-generation-instance"], ["SW101", "SW302"]),
    (["--select", "SW3"], ["SW302"]),
    (["--select", "ALL"], ["SW101", "SW106", "SW302"]),
    (["--ignore", "SW302"], ["SW101", "SW106"]),
    (["--ignore", "previous-generation-instance"], ["SW101", "SW106"]),
    (["--ignore", "SW1"], ["SW302"]),
    (["--ignore", "SW1,SW3"], []),
    (["--select", "SW3", "--extend-select", "SW106"], ["SW106", "SW302"]),
    (["--select", "SW3", "--extend-select", "malformed-scaling-resource-id"], ["SW106", "SW302"]),
    (["--select", "SW1", "--ignore", "SW106"], ["SW101"]),
    (["--extend-select", "SW101"], ["SW101", "SW106", "SW302"]),
])
def test_select_extend_select_ignore(project, sagewise, options, expected):
    result = sagewise("lint", "error.yaml", "--format", "json", "--isolated", "--fail-on", "never", *options)
    assert result.exit_code == 0
    assert _rules(result) == expected


@pytest.mark.parametrize("option", ["--select", "--extend-select", "--ignore"])
@pytest.mark.parametrize("selector", ["SW999", "endpoint-without-autoscalin", "sw101", "XX1"])
def test_unknown_selector_is_exit_2(project, sagewise, option, selector):
    result = sagewise("lint", "warning.yaml", "--isolated", option, selector)
    assert result.exit_code == 2
    assert selector in result.stderr
    assert "unknown" in result.stderr.lower()
    assert "Traceback" not in result.output
    assert result.stdout == ""  # no report on a usage error


# -- output -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("output_format", ["text", "json", "sarif"])
def test_output_file(project, sagewise, output_format):
    result = sagewise("lint", "warning.yaml", "--isolated", "--format", output_format, "--output", "report.out")
    assert result.exit_code == 1
    assert result.stdout == ""
    written = (project / "report.out").read_text(encoding="utf-8")
    if output_format == "text":
        assert written.startswith("warning.yaml:7:11: SW101 [warning] ")
    else:
        document = json.loads(written)
        assert document["version"] in (1, "2.1.0")
    assert not [p.name for p in project.iterdir() if "sagewise-tmp" in p.name]


def test_output_file_in_missing_directory_is_exit_2(project, sagewise):
    result = sagewise("lint", "warning.yaml", "--isolated", "--output", "missing/dir/report.txt")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# -- rules, explain, version --------------------------------------------------------------------------------

def test_rules_table(sagewise):
    from auditor.rules import load_rules

    result = sagewise("rules")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "NAME", "SEVERITY"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    for rule in load_rules():
        assert rows[rule.id][1:3] == [rule.name, rule.severity]
    assert {"SW101", "SW102", "SW103", "SW104", "SW105", "SW106", "SW201", "SW202", "SW301", "SW302"} <= set(rows)


def test_rules_json(sagewise):
    result = sagewise("rules", "--format", "json")
    assert result.exit_code == 0
    rules = json.loads(result.stdout)
    by_id = {rule["id"]: rule for rule in rules}
    assert by_id["SW101"]["name"] == "endpoint-without-autoscaling"
    assert by_id["SW105"]["severity"] == "error"
    assert "max_instance_size" in by_id["SW301"]["params"]
    for rule in rules:
        assert {"id", "name", "severity", "sources", "summary"} <= set(rule)
        assert rule["fix_safety"] in ("safe", "unsafe", "manual")


def test_explain_prints_every_docs_section(sagewise):
    from auditor.rules import load_rules

    rule = next(r for r in load_rules() if r.id == "SW101")
    result = sagewise("explain", "SW101")
    assert result.exit_code == 0
    text = result.stdout
    assert text.startswith("# SW101 endpoint-without-autoscaling")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    for title in ("What it checks", "Why it matters", "Example", "Fix", "References"):
        assert f"## {title}" in headings, headings
    for key in ("what_it_checks", "why_it_matters", "example", "fix"):
        assert rule.docs[key].strip() in text
    for reference in rule.docs["references"]:
        assert reference in text
    assert "warning" in text and "safe" in text  # severity and fix safety


def test_explain_by_name_and_with_params(sagewise):
    result = sagewise("explain", "oversized-instance")
    assert result.exit_code == 0
    assert result.stdout.startswith("# SW301 oversized-instance")
    assert "max_instance_size" in result.stdout


@pytest.mark.parametrize("rule", ["sw101", " SW101", "Endpoint-Without-Autoscaling"])
def test_explain_ignores_case_and_spaces(sagewise, rule):
    result = sagewise("explain", rule)
    assert result.exit_code == 0
    assert result.stdout.startswith("# SW101 endpoint-without-autoscaling")


@pytest.mark.parametrize("rule", ["SW999", "no-such-rule", "SW10"])
def test_explain_unknown_rule_is_exit_2(sagewise, rule):
    result = sagewise("explain", rule)
    assert result.exit_code == 2
    assert rule in result.stderr
    assert result.stdout == ""


def test_version(sagewise):
    import auditor

    result = sagewise("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"sagewise, version {auditor.__version__}"


# -- suppressions -------------------------------------------------------------------------------------------

def _with_ignores(entries: str) -> str:
    return WARNING.replace(
        "    Type: AWS::SageMaker::EndpointConfig\n",
        "    Type: AWS::SageMaker::EndpointConfig\n    Metadata:\n      sagewise:\n        ignore:\n"
        + textwrap.indent(textwrap.dedent(entries), " " * 10),
        1,
    )


def _lint_json(sagewise, name, *options) -> dict:
    return json.loads(sagewise("lint", name, "--format", "json", "--isolated", *options).stdout)


def test_suppression_with_reason(project, sagewise):
    (project / "t.yaml").write_text(_with_ignores("""\
        - id: SW101
          reason: batch-like traffic, a fixed fleet on purpose
        """))
    report = _lint_json(sagewise, "t.yaml")
    assert sorted(f["rule_id"] for f in report["findings"]) == ["SW302"]
    assert sagewise("lint", "t.yaml", "--isolated").exit_code == 0


def test_suppression_by_rule_name(project, sagewise):
    (project / "t.yaml").write_text(_with_ignores("""\
        - id: previous-generation-instance
          reason: reserved instances until Q3
        """))
    assert sorted(f["rule_id"] for f in _lint_json(sagewise, "t.yaml")["findings"]) == ["SW101"]


def test_suppression_without_reason_is_sw002_and_does_not_suppress(project, sagewise):
    (project / "t.yaml").write_text(_with_ignores("""\
        - id: SW101
        - id: SW302
          reason: "   "
        - SW302
        """))
    findings = _lint_json(sagewise, "t.yaml")["findings"]
    rules = sorted(f["rule_id"] for f in findings)
    assert rules == ["SW002", "SW002", "SW002", "SW101", "SW302"]
    sw002 = [f for f in findings if f["rule_id"] == "SW002"]
    assert all(f["resource"] == "Config" and f["line"] >= 8 for f in sw002)
    assert len({f["fingerprint"] for f in sw002}) == 2  # the two ignores of SW302 have one identity
    assert any("SW101" in f["message"] for f in sw002)


def test_unused_suppression_is_sw001(project, sagewise):
    (project / "t.yaml").write_text(_with_ignores("""\
        - id: SW101
          reason: fixed fleet
        - id: SW103
          reason: was needed before the target was removed
        """))
    findings = _lint_json(sagewise, "t.yaml")["findings"]
    assert sorted(f["rule_id"] for f in findings) == ["SW001", "SW302"]
    sw001 = next(f for f in findings if f["rule_id"] == "SW001")
    assert "SW103" in sw001["message"] and sw001["severity"] == "info" and sw001["line"] == 10


def test_suppression_of_unselected_rule_is_not_judged(project, sagewise):
    (project / "t.yaml").write_text(_with_ignores("""\
        - id: SW103
          reason: not evaluated in this run
        """))
    findings = _lint_json(sagewise, "t.yaml", "--select", "SW101,SW001")["findings"]
    assert sorted(f["rule_id"] for f in findings) == ["SW101"]


def test_suppression_of_nonexistent_rule_is_reported(project, sagewise):
    # A typo ("SW1O1") suppresses nothing: it must not pass silently.
    (project / "t.yaml").write_text(_with_ignores("""\
        - id: SW1O1
          reason: typo of SW101
        """))
    findings = _lint_json(sagewise, "t.yaml")["findings"]
    assert "SW001" in [f["rule_id"] for f in findings], findings


def test_variant_findings_can_be_ignored_on_the_endpoint_that_serves_them(project, sagewise):
    text = WARNING.replace(
        "    Type: AWS::SageMaker::Endpoint\n",
        "    Type: AWS::SageMaker::Endpoint\n    Metadata:\n      sagewise:\n        ignore:\n"
        "          - {id: SW101, reason: fixed fleet for batch scoring}\n", 1)
    assert text != WARNING
    (project / "t.yaml").write_text(text)
    assert sorted(f["rule_id"] for f in _lint_json(sagewise, "t.yaml")["findings"]) == ["SW302"]


def test_template_level_ignore_covers_the_whole_file(project, sagewise):
    root = "Metadata:\n  sagewise:\n    ignore:\n{entries}Resources:\n"
    entries = ("      - {id: SW302, reason: frozen stack until the migration}\n"
               "      - {id: SW103, reason: no longer needed}\n"
               "      - {id: SW101}\n")
    (project / "t.yaml").write_text(WARNING.replace("Resources:\n", root.format(entries=entries), 1))
    findings = _lint_json(sagewise, "t.yaml")["findings"]
    assert sorted((f["rule_id"], f["resource"]) for f in findings) == [
        ("SW001", ""), ("SW002", ""), ("SW101", "Config")]
    unused = next(f for f in findings if f["rule_id"] == "SW001")
    assert "at the template's root" in unused["message"] and "SW103" in unused["message"]


def test_text_output_names_the_resource_an_ignore_belongs_to(project, sagewise):
    (project / "t.yaml").write_text(WARNING)
    lines = sagewise("lint", "t.yaml", "--isolated").stdout.splitlines()
    assert all(" [warning] Config: " in line or " [info] Config: " in line for line in lines[:-1])


def test_suppression_only_applies_to_its_resource(project, sagewise):
    text = WARNING + (
        "  Other:\n"
        "    Type: AWS::SNS::Topic\n"
        "    Metadata:\n"
        "      sagewise:\n"
        "        ignore:\n"
        "          - id: SW101\n"
        "            reason: wrong resource\n"
    )
    (project / "t.yaml").write_text(text)
    findings = _lint_json(sagewise, "t.yaml")["findings"]
    assert sorted((f["rule_id"], f["resource"]) for f in findings) == [
        ("SW001", "Other"), ("SW101", "Config"), ("SW302", "Config")]


# -- --rules-dir ----------------------------------------------------------------------------------------------

CUSTOM_RULE = textwrap.dedent("""\
    id: ACME101
    name: small-max-capacity
    severity: error
    sources: [cloudformation]
    summary: A SageMaker scalable target's MaxCapacity is below the house minimum
    params:
      minimum:
        default: 8
        description: Smallest MaxCapacity allowed.
    checks:
      - resource: scalable_targets
        when: namespace == 'sagemaker' && max_capacity != null && max_capacity < params.minimum
        at: max_capacity
        message: Scalable target {resource_id} has MaxCapacity {max_capacity}, below {params[minimum]}
    fix:
      safety: manual
      summary: Raise MaxCapacity
    docs:
      what_it_checks: |
        MaxCapacity below a house minimum.
      why_it_matters: |
        Peaks need headroom.
      example: |
        MaxCapacity: 4
      fix: |
        MaxCapacity: 8
      references:
        - https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
    """)


def test_rules_dir_with_a_custom_rule(project, sagewise):
    (project / "house").mkdir()
    (project / "house" / "ACME101-small-max-capacity.yaml").write_text(CUSTOM_RULE)
    result = sagewise("lint", "info.yaml", "--isolated", "--rules-dir", "house", "--format", "json")
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    custom = [f for f in findings if f["rule_id"] == "ACME101"]
    assert len(custom) == 1
    assert custom[0]["severity"] == "error" and custom[0]["line"] == 23
    assert custom[0]["message"] == \
        "Scalable target endpoint/my-endpoint/variant/AllTraffic has MaxCapacity 4, below 8"
    # selectable like the built-in rules
    only = sagewise("lint", "info.yaml", "--isolated", "--rules-dir", "house", "--select", "ACME", "--format", "json")
    assert _rules(only) == ["ACME101"]
    listed = sagewise("rules", "--rules-dir", "house", "--format", "json")
    assert "ACME101" in {rule["id"] for rule in json.loads(listed.stdout)}
    explained = sagewise("explain", "ACME101", "--rules-dir", "house")
    assert explained.exit_code == 0 and "house minimum" in explained.stdout


@pytest.mark.parametrize("mutation, key", [
    (lambda text: text.replace("severity: error\n", "severity: error\nowner: platform-team\n"), "owner"),
    (lambda text: text.replace("    at: max_capacity\n", "    at: max_capacity\n    level: high\n"), "level"),
    (lambda text: text.replace("  safety: manual\n", "  safety: manual\n  fixer: raise-max\n"), "fixer"),
    (lambda text: text.replace("  references:\n", "  see_also: x\n  references:\n"), "see_also"),
])
def test_rules_dir_with_an_unknown_key(project, sagewise, mutation, key):
    (project / "house").mkdir()
    (project / "house" / "ACME101.yaml").write_text(mutation(CUSTOM_RULE))
    result = sagewise("lint", "info.yaml", "--isolated", "--rules-dir", "house")
    assert result.exit_code == 2
    assert "ACME101.yaml" in result.stderr and key in result.stderr
    assert "Traceback" not in result.output
    for command in (["rules"], ["explain", "SW101"]):
        other = sagewise(*command, "--rules-dir", "house")
        assert other.exit_code == 2 and key in other.stderr


@pytest.mark.parametrize("mutation, words", [
    (lambda text: text.replace("severity: error", "severity: fatal"), ("severity",)),
    (lambda text: text.replace("id: ACME101", "id: SW101"), ("SW101",)),  # duplicate id
    (lambda text: text.replace("resource: scalable_targets", "resource: buckets"), ("resource",)),
    (lambda text: text + "  - [unclosed\n", ("ACME101",)),
])
def test_rules_dir_with_an_invalid_rule(project, sagewise, mutation, words):
    (project / "house").mkdir()
    (project / "house" / "ACME101.yaml").write_text(mutation(CUSTOM_RULE))
    result = sagewise("lint", "info.yaml", "--isolated", "--rules-dir", "house")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr


def test_rules_dir_that_does_not_exist(project, sagewise):
    result = sagewise("lint", "info.yaml", "--isolated", "--rules-dir", "nowhere")
    assert result.exit_code == 2
    assert "nowhere" in result.stderr


@pytest.mark.parametrize("expression", [
    "max_capacity <",  # JMESPath syntax error
    "max_capacity[",
    "nope(max_capacity) == `1`",  # unknown function
])
def test_invalid_when_expression_is_a_clear_error(project, sagewise, expression):
    (project / "house").mkdir()
    (project / "house" / "ACME101.yaml").write_text(CUSTOM_RULE.replace(
        "when: namespace == 'sagemaker' && max_capacity != null && max_capacity < params.minimum",
        f"when: {json.dumps(expression)}"))
    result = sagewise("lint", "info.yaml", "--isolated", "--rules-dir", "house")  # raises on a traceback
    assert result.exit_code == 2
    assert "ACME101.yaml" in result.stderr and "when" in result.stderr


@pytest.mark.parametrize("message, words", [
    ("below {params.minimum}", ("{params[minimum]}",)),
    ("below {params[minimun]}", ("no parameter minimun", "minimum")),
    ("below {max_capacity.real}", ("{max_capacity}",)),
    ("below {max_capacity!r}", ("conversions",)),
    ("below {max_capacity:.2q}", ("format",)),
    ("below {", ("brace",)),
])
def test_message_references_are_checked_when_the_rule_loads(project, sagewise, message, words):
    (project / "house").mkdir()
    (project / "house" / "ACME101.yaml").write_text(CUSTOM_RULE.replace("below {params[minimum]}", message))
    result = sagewise("lint", "info.yaml", "--isolated", "--rules-dir", "house")
    assert result.exit_code == 2
    assert "ACME101.yaml" in result.stderr and "message" in result.stderr
    for word in words:
        assert word in result.stderr


def test_a_rule_that_fails_at_run_time_is_reported_against_the_rule_not_the_template(project, sagewise):
    """A condition can be valid JMESPath and still fail on the data (here: abs() of a string)."""
    (project / "house").mkdir()
    (project / "house" / "ACME101.yaml").write_text(CUSTOM_RULE.replace(
        "when: namespace == 'sagemaker' && max_capacity != null && max_capacity < params.minimum",
        "when: abs(resource_id) > `1`"))
    result = sagewise("lint", "info.yaml", "warning.yaml", "--isolated", "--rules-dir", "house", "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 2
    assert [error["file"] for error in report["errors"]] == ["house/ACME101.yaml"]
    assert "checks.0" in report["errors"][0]["message"]
    assert report["summary"]["files"] == 2
    assert {f["rule_id"] for f in report["findings"]} >= {"SW101", "SW302"}


def test_message_with_an_unknown_field_is_a_clear_error(project, sagewise):
    (project / "house").mkdir()
    (project / "house" / "ACME101.yaml").write_text(CUSTOM_RULE.replace("{resource_id}", "{resource_idd}"))
    result = sagewise("lint", "info.yaml", "--isolated", "--rules-dir", "house")  # raises on a traceback
    assert result.exit_code == 2
    assert "ACME101.yaml" in result.stderr and "resource_idd" in result.stderr


# -- a real process --------------------------------------------------------------------------------------------

def test_python_dash_m_auditor(project, subprocess_env):
    completed = subprocess.run([sys.executable, "-m", "auditor", "lint", "warning.yaml", "--isolated"],
                               cwd=project, env=subprocess_env, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1, completed.stderr
    assert completed.stdout.startswith("warning.yaml:7:11: SW101 [warning] ")
    assert completed.stderr == ""


def test_lint_path_does_not_import_boto3(project, subprocess_env):
    script = textwrap.dedent("""\
        import sys
        import auditor.cli, auditor.lint
        from auditor.reporters import Report, render
        from auditor.rules import load_rules
        rules = load_rules()
        result = auditor.lint.lint_paths(["warning.yaml", "error.yaml"], rules)
        assert result.findings
        for output_format in ("text", "json", "sarif"):
            render(Report("lint", result.findings, result.errors, rules, counts={"files": result.files}), output_format)
        heavy = sorted(name for name in sys.modules if name.split(".")[0] in ("boto3", "botocore", "cfnlint", "moto"))
        print(",".join(heavy))
        """)
    completed = subprocess.run([sys.executable, "-c", script], cwd=project, env=subprocess_env,
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == ""


def test_cli_lint_command_does_not_import_boto3(project, subprocess_env):
    script = textwrap.dedent("""\
        import sys
        from auditor.cli import main
        try:
            main(["lint", "warning.yaml", "--isolated", "--format", "json"])
        except SystemExit as exit:
            assert exit.code == 1, exit.code
        print(",".join(sorted(n for n in sys.modules if n.split(".")[0] in ("boto3", "botocore"))), file=sys.stderr)
        """)
    completed = subprocess.run([sys.executable, "-c", script], cwd=project, env=subprocess_env,
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.strip() == ""


# -- Ctrl-C ---------------------------------------------------------------------------------------------------

def test_ctrl_c_is_exit_130_without_a_traceback(project, sagewise, monkeypatch):
    import auditor.lint

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(auditor.lint, "lint_paths", interrupted)
    result = sagewise("lint", "warning.yaml", "--isolated")
    assert result.exit_code == 130
    assert result.stderr == "sagewise: interrupted\n"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT cannot be sent to a child process on Windows")
def test_sigint_stops_a_long_run_promptly(tmp_path, subprocess_env):
    import signal
    import time

    endpoints = "".join(textwrap.dedent(f"""\
          Config{index}:
            Type: AWS::SageMaker::EndpointConfig
            Properties:
              ProductionVariants:
                - {{VariantName: AllTraffic, ModelName: m, InstanceType: ml.m5.large, InitialInstanceCount: 1}}
          Endpoint{index}:
            Type: AWS::SageMaker::Endpoint
            Properties: {{EndpointConfigName: !GetAtt Config{index}.EndpointConfigName}}
        """) for index in range(3000))
    for copy in range(4):
        (tmp_path / f"big{copy}.yaml").write_text("Resources:\n" + endpoints)
    child = subprocess.Popen([sys.executable, "-m", "auditor", "lint", "--isolated", "."], cwd=tmp_path,
                             env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # past start-up (imports), well inside the run
    if child.poll() is not None:  # a very fast machine: decided before the signal, not from the exit code
        stdout, stderr = child.communicate()
        pytest.skip(f"the run finished (exit {child.returncode}) before the signal could be sent")
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=20)
    assert child.returncode == 130, stderr
    assert stderr == "sagewise: interrupted\n"


# -- opt-in rules ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("options, runs", [
    ((), False),
    (("--select", "SW203"), True),
    (("--select", "training-without-spot"), True),
    (("--select", "SW2"), True),
    (("--select", "ALL"), True),
    (("--extend-select", "SW203"), True),
    (("--select", "ALL", "--ignore", "SW203"), False),
])
def test_an_opt_in_rule_runs_only_when_a_selection_names_it(tmp_path, monkeypatch, sagewise, options, runs):
    (tmp_path / "job.yaml").write_text(textwrap.dedent("""\
        Resources:
          Job:
            Type: AWS::SageMaker::TrainingJob
            Properties:
              RoleArn: arn:aws:iam::123456789012:role/sagemaker
              ResourceConfig: {InstanceType: ml.m5.xlarge, InstanceCount: 1, VolumeSizeInGB: 30}
              OutputDataConfig: {S3OutputPath: s3://models/job/}
        """))
    monkeypatch.chdir(tmp_path)
    report = json.loads(sagewise("lint", "job.yaml", "--isolated", "--format", "json", *options).stdout)
    assert ("SW203" in {f["rule_id"] for f in report["findings"]}) is runs
