"""Configuration: ``[tool.sagewise]`` in pyproject.toml or ``.sagewise.yaml`` found upward from the working
directory, ``--config FILE``, strict validation, per-path ignores, rule parameters and severities."""

from __future__ import annotations

import json
import textwrap

import pytest

TEMPLATE = textwrap.dedent("""\
    AWSTemplateFormatVersion: "2010-09-09"
    Resources:
      Config:
        Type: AWS::SageMaker::EndpointConfig
        Properties:
          ProductionVariants:
            - VariantName: Big
              ModelName: my-model
              InstanceType: ml.m5.12xlarge
              InitialInstanceCount: 1
            - VariantName: Old
              ModelName: my-model
              InstanceType: ml.m4.2xlarge
              InitialInstanceCount: 1
      Endpoint:
        Type: AWS::SageMaker::Endpoint
        Properties:
          EndpointName: my-endpoint
          EndpointConfigName: !GetAtt Config.EndpointConfigName
    """)
# Without configuration: SW101 on both variants, SW302 on the ml.m4 one.
DEFAULT = [("SW101", "Big"), ("SW101", "Old"), ("SW302", "Old")]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """tmp/project/{templates/endpoint.yaml, deep/er/}; the working directory is the project root."""
    root = tmp_path / "project"
    (root / "templates").mkdir(parents=True)
    (root / "templates" / "endpoint.yaml").write_text(TEMPLATE)
    (root / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(root)
    return root


def _findings(result) -> list:
    assert "Traceback" not in result.output
    document = json.loads(result.stdout)
    return sorted((f["rule_id"], f["path"].split("[")[1].split("]")[0] if "[" in f["path"] else f["resource"])
                  for f in document["findings"])


def _lint(sagewise, *args):
    return sagewise("lint", *args, "--format", "json")


# -- discovery ----------------------------------------------------------------------------------------------

def test_no_configuration(project, sagewise):
    assert _findings(_lint(sagewise, "templates")) == DEFAULT


def test_pyproject_found_upward(project, monkeypatch, sagewise):
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.sagewise]\nignore = ["SW302"]\n')
    monkeypatch.chdir(project / "deep" / "er")
    assert _findings(_lint(sagewise, "../../templates")) == [("SW101", "Big"), ("SW101", "Old")]


def test_pyproject_without_a_sagewise_table_is_skipped(project, monkeypatch, sagewise):
    (project / ".sagewise.yaml").write_text("ignore: [SW302]\n")
    (project / "deep" / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    monkeypatch.chdir(project / "deep" / "er")
    assert _findings(_lint(sagewise, "../../templates")) == [("SW101", "Big"), ("SW101", "Old")]


def test_sagewise_yaml_preferred_in_the_same_directory(project, sagewise):
    (project / "pyproject.toml").write_text('[tool.sagewise]\nignore = ["SW302"]\n')
    (project / ".sagewise.yaml").write_text("ignore: [SW101]\n")
    assert _findings(_lint(sagewise, "templates")) == [("SW302", "Old")]


def test_nearest_configuration_wins(project, monkeypatch, sagewise):
    (project / ".sagewise.yaml").write_text("ignore: [SW101]\n")
    (project / "deep" / "pyproject.toml").write_text('[tool.sagewise]\nignore = ["SW302"]\n')
    monkeypatch.chdir(project / "deep")
    assert _findings(_lint(sagewise, "../templates")) == [("SW101", "Big"), ("SW101", "Old")]


def test_isolated_ignores_configuration(project, sagewise):
    (project / ".sagewise.yaml").write_text("ignore: [SW101]\n")
    assert _findings(_lint(sagewise, "templates", "--isolated")) == DEFAULT


def test_sagewise_yml_is_found_too(project, monkeypatch, sagewise):
    (project / ".sagewise.yml").write_text("ignore: [SW101]\n")
    monkeypatch.chdir(project / "deep")
    assert _findings(_lint(sagewise, "../templates")) == [("SW302", "Old")]


@pytest.mark.parametrize("name, text", [
    ("ci.yaml", "ignore: [SW101]\n"),
    ("ci.yml", "ignore:\n  - endpoint-without-autoscaling\n"),
    ("pyproject.toml", '[tool.sagewise]\nignore = ["SW101"]\n'),
    ("sagewise.toml", 'ignore = ["SW101"]\n'),
])
def test_explicit_config_file(project, sagewise, name, text):
    (project / "conf").mkdir()
    (project / "conf" / name).write_text(text)
    (project / ".sagewise.yaml").write_text("ignore: [SW302]\n")  # not used when --config is given
    assert _findings(_lint(sagewise, "templates", "--config", f"conf/{name}")) == [("SW302", "Old")]


def test_explicit_config_file_missing(project, sagewise):
    result = sagewise("lint", "templates", "--config", "nope.yaml")
    assert result.exit_code == 2
    assert "nope.yaml" in result.stderr


# -- validation ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, text, words", [
    (".sagewise.yaml", "ignore: [SW302]\nselekt: [SW1]\n", ("selekt",)),
    (".sagewise.yaml", "fail_on: error\n", ("fail_on",)),
    ("pyproject.toml", '[tool.sagewise]\nper_path_ignores = {"a" = ["SW1"]}\n', ("per_path_ignores",)),
    ("pyproject.toml", '[tool.sagewise]\nignore = "SW1"\n\n[tool.sagewise.rule]\nSW301 = {}\n', ("rule",)),
])
def test_unknown_key_is_exit_2_naming_file_and_key(project, sagewise, name, text, words):
    (project / name).write_text(text)
    result = sagewise("lint", "templates")
    assert result.exit_code == 2
    assert name in result.stderr
    for word in words:
        assert word in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("text, words", [
    ("fail-on: sometimes\n", ("fail-on",)),
    ("select: 5\n", ("select",)),
    ("ignore: [[SW101]]\n", ("ignore",)),
    ("per-path-ignores: [SW101]\n", ("per-path-ignores",)),
    ("rules: [SW101]\n", ("rules",)),
    ("rules:\n  SW101: error\n", ("rules",)),
    ("rules:\n  SW999: {severity: error}\n", ("SW999",)),
    ("rules:\n  SW101: {severity: fatal}\n", ("severity",)),
    ("- a list\n", ()),
    ("ignore: [SW101\n", ()),  # invalid YAML
])
def test_invalid_values_are_exit_2(project, sagewise, text, words):
    (project / ".sagewise.yaml").write_text(text)
    result = sagewise("lint", "templates")
    assert result.exit_code == 2
    assert ".sagewise.yaml" in result.stderr
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.output


def test_invalid_toml_is_exit_2(project, sagewise):
    (project / "pyproject.toml").write_text('[tool.sagewise]\nignore = ["SW101"\n')
    result = sagewise("lint", "templates")
    assert result.exit_code == 2
    assert "pyproject.toml" in result.stderr


def test_unknown_selector_in_config_is_exit_2(project, sagewise):
    (project / ".sagewise.yaml").write_text("ignore: [SW9]\n")
    result = sagewise("lint", "templates")
    assert result.exit_code == 2
    assert "SW9" in result.stderr


# -- selection and fail-on ------------------------------------------------------------------------------------

def test_select_and_extend_select_from_config(project, sagewise):
    (project / ".sagewise.yaml").write_text("select: [SW3]\nextend-select: [SW101]\nignore: [SW301]\n")
    assert _findings(_lint(sagewise, "templates")) == DEFAULT
    (project / ".sagewise.yaml").write_text("select: SW3\n")  # a comma-separated string is accepted too
    assert _findings(_lint(sagewise, "templates")) == [("SW302", "Old")]


def test_cli_select_replaces_config_select(project, sagewise):
    (project / ".sagewise.yaml").write_text("select: [SW3]\n")
    assert _findings(_lint(sagewise, "templates", "--select", "SW101")) == [("SW101", "Big"), ("SW101", "Old")]


def test_cli_ignore_adds_to_config_ignore(project, sagewise):
    (project / ".sagewise.yaml").write_text("ignore: [SW302]\n")
    assert _findings(_lint(sagewise, "templates", "--ignore", "SW101")) == []


def test_fail_on_from_config_and_cli_override(project, sagewise):
    (project / ".sagewise.yaml").write_text("fail-on: error\n")
    assert sagewise("lint", "templates").exit_code == 0
    assert sagewise("lint", "templates", "--fail-on", "info").exit_code == 1
    (project / ".sagewise.yaml").write_text("fail-on: never\n")
    assert sagewise("lint", "templates").exit_code == 0


# -- per-path-ignores and exclude ---------------------------------------------------------------------------

def test_per_path_ignores(project, sagewise):
    (project / "legacy").mkdir()
    (project / "legacy" / "old.yaml").write_text(TEMPLATE)
    (project / ".sagewise.yaml").write_text(textwrap.dedent("""\
        per-path-ignores:
          "legacy/*.yaml": [SW1, previous-generation-instance]
          "templates/endpoint.yaml": [SW302]
        """))
    result = sagewise("lint", ".", "--format", "json")
    findings = sorted((f["file"], f["rule_id"]) for f in json.loads(result.stdout)["findings"])
    assert findings == [("templates/endpoint.yaml", "SW101"), ("templates/endpoint.yaml", "SW101")]


def test_per_path_ignores_are_relative_to_the_config_file(project, monkeypatch, sagewise):
    # The same config must mean the same thing wherever sagewise is started below it.
    (project / ".sagewise.yaml").write_text('per-path-ignores:\n  "templates/*.yaml": [SW302]\n')
    monkeypatch.chdir(project / "templates")
    assert _findings(_lint(sagewise, ".")) == [("SW101", "Big"), ("SW101", "Old")]


def test_exclude_is_relative_to_the_config_file(project, monkeypatch, sagewise):
    (project / "templates" / "legacy").mkdir()
    (project / "templates" / "legacy" / "old.yaml").write_text(TEMPLATE)
    (project / ".sagewise.yaml").write_text('exclude: ["templates/legacy"]\n')
    assert {f["file"] for f in json.loads(_lint(sagewise, ".").stdout)["findings"]} == {"templates/endpoint.yaml"}
    monkeypatch.chdir(project / "templates")
    assert {f["file"] for f in json.loads(_lint(sagewise, ".").stdout)["findings"]} == {"endpoint.yaml"}


def test_per_path_ignores_with_unknown_selector_is_exit_2(project, sagewise):
    (project / ".sagewise.yaml").write_text('per-path-ignores:\n  "templates/*": [SW9]\n')
    result = sagewise("lint", "templates")
    assert result.exit_code == 2
    assert "SW9" in result.stderr


def test_exclude(project, sagewise):
    (project / "generated").mkdir()
    (project / "generated" / "copy.yaml").write_text(TEMPLATE)
    (project / "templates" / "endpoint.generated.yaml").write_text(TEMPLATE)
    (project / ".sagewise.yaml").write_text('exclude: ["generated", "*.generated.yaml"]\n')
    result = sagewise("lint", ".", "--format", "json")
    assert {f["file"] for f in json.loads(result.stdout)["findings"]} == {"templates/endpoint.yaml"}
    # --exclude adds to the configured patterns
    result = sagewise("lint", ".", "--format", "json", "--exclude", "templates")
    assert json.loads(result.stdout)["findings"] == []


# -- rule settings ------------------------------------------------------------------------------------------

def test_max_instance_size_enables_the_ceiling(project, sagewise):
    assert "SW301" not in {rule for rule, _ in _findings(_lint(sagewise, "templates"))}
    (project / ".sagewise.yaml").write_text("rules:\n  SW301: {max_instance_size: 4xlarge}\n")
    result = _lint(sagewise, "templates")
    assert _findings(result) == sorted(DEFAULT + [("SW301", "Big")])
    sw301 = next(f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "SW301")
    assert "ml.m5.12xlarge" in sw301["message"] and "4xlarge" in sw301["message"]
    assert sw301["line"] == 9  # the InstanceType line


def test_max_instance_size_by_rule_name_in_toml(project, sagewise):
    (project / "pyproject.toml").write_text(
        '[tool.sagewise.rules.oversized-instance]\nmax_instance_size = "xlarge"\n')
    assert _findings(_lint(sagewise, "templates")) == sorted(DEFAULT + [("SW301", "Big"), ("SW301", "Old")])


def test_severity_override(project, sagewise):
    (project / ".sagewise.yaml").write_text("rules:\n  SW101: {severity: error}\n  SW302: {severity: warning}\n")
    result = _lint(sagewise, "templates")
    severities = {(f["rule_id"], f["severity"]) for f in json.loads(result.stdout)["findings"]}
    assert severities == {("SW101", "error"), ("SW302", "warning")}
    assert sagewise("lint", "templates", "--fail-on", "error").exit_code == 1


def test_wrong_parameter_name_is_exit_2(project, sagewise):
    (project / ".sagewise.yaml").write_text("rules:\n  SW301: {max_size: 4xlarge}\n")
    result = sagewise("lint", "templates")
    assert result.exit_code == 2
    assert ".sagewise.yaml" in result.stderr and "max_size" in result.stderr
    assert "max_instance_size" in result.stderr  # the valid names are listed


@pytest.mark.parametrize("value", ['"x"', "true", "[20]"])
def test_wrong_parameter_type_is_exit_2(project, sagewise, value):
    (project / ".sagewise.yaml").write_text(f"rules:\n  SW301: {{cpu_threshold_per_vcpu: {value}}}\n")
    result = sagewise("lint", "templates")
    assert result.exit_code == 2
    assert "cpu_threshold_per_vcpu" in result.stderr


@pytest.mark.parametrize("value", ["4", "huge", "4XL", "[4xlarge]"])
def test_invalid_max_instance_size_is_exit_2(project, sagewise, value):
    # A value that is not an instance size must not silently disable the check (or crash the evaluation).
    (project / ".sagewise.yaml").write_text(f"rules:\n  SW301: {{max_instance_size: {value}}}\n")
    result = sagewise("lint", "templates")  # raises on a traceback
    assert result.exit_code == 2
    assert ".sagewise.yaml" in result.stderr and "max_instance_size" in result.stderr


# -- extra rules --------------------------------------------------------------------------------------------

CUSTOM_RULE = textwrap.dedent("""\
    id: ACME201
    name: single-instance-variant
    severity: warning
    sources: [cloudformation]
    summary: A variant starts with a single instance
    checks:
      - resource: variants
        when: instance_count == `1`
        message: Variant {variant_name} starts with one instance
    fix:
      safety: manual
      summary: Start with two instances
    docs:
      what_it_checks: A variant with InitialInstanceCount 1.
      why_it_matters: One instance is one availability zone.
      example: "InitialInstanceCount: 1"
      fix: "InitialInstanceCount: 2"
      references: [https://docs.aws.amazon.com/sagemaker/latest/dg/best-practice-endpoint-security.html]
    """)


def test_extra_rules_relative_to_the_config_file(project, monkeypatch, sagewise):
    (project / "policies").mkdir()
    (project / "policies" / "ACME201.yaml").write_text(CUSTOM_RULE)
    (project / ".sagewise.yaml").write_text("extra-rules: [policies]\nselect: [ACME]\n")
    monkeypatch.chdir(project / "deep" / "er")
    assert _findings(_lint(sagewise, "../../templates")) == [("ACME201", "Big"), ("ACME201", "Old")]


def test_extra_rules_missing_directory_is_exit_2(project, sagewise):
    (project / ".sagewise.yaml").write_text("extra-rules: [policies]\n")
    result = sagewise("lint", "templates")
    assert result.exit_code == 2
    assert "policies" in result.stderr


def test_extra_rules_invalid_rule_is_exit_2(project, sagewise):
    (project / "policies").mkdir()
    (project / "policies" / "ACME201.yaml").write_text(CUSTOM_RULE.replace("severity: warning", "severity: warn"))
    (project / ".sagewise.yaml").write_text("extra-rules: [policies]\n")
    result = sagewise("lint", "templates")
    assert result.exit_code == 2
    assert "ACME201.yaml" in result.stderr and "severity" in result.stderr


def test_rule_settings_for_extra_rules(project, sagewise):
    (project / "policies").mkdir()
    (project / "policies" / "ACME201.yaml").write_text(CUSTOM_RULE)
    (project / ".sagewise.yaml").write_text(
        "extra-rules: [policies]\nselect: [ACME201]\nrules:\n  single-instance-variant: {severity: info}\n")
    result = _lint(sagewise, "templates")
    assert {f["severity"] for f in json.loads(result.stdout)["findings"]} == {"info"}
    assert result.exit_code == 0
