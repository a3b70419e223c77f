"""Inputs that cannot be read: one clear error each (file and line where there is one), exit code 2, never a
traceback or a hang, and the other files of the run are still reported.

Every input is generated in ``tmp_path``; nothing large is committed.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from sample_templates import M4_ENDPOINT

from auditor.lint import lint_paths
from auditor.rules import load_rules

# A valid template with two known findings, linted beside every bad input to prove the run goes on.
GOOD = M4_ENDPOINT
GOOD_FINDINGS = {("SW101", 7), ("SW302", 9)}

MIB = 1024 * 1024


def _alias_bomb() -> str:
    """Billion laughs: nine levels of nine aliases each (9**9 strings once expanded)."""
    lines = ['AWSTemplateFormatVersion: "2010-09-09"', "Metadata:", "  a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    lines += ["Resources:", "  Topic:", "    Type: AWS::SNS::Topic", "    Metadata:", "      laughs: *i"]
    return "\n".join(lines) + "\n"


# name -> (file name, content, expected line (None: the error has no line), words the message must contain)
CASES = {
    "malformed-yaml": (
        "broken.yaml",
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n'
        "    Properties:\n      TopicName: [unclosed, list\n  Queue:\n    Type: AWS::SQS::Queue\n",
        7, (),
    ),
    "malformed-json": (
        "broken.json",
        '{\n  "AWSTemplateFormatVersion": "2010-09-09",\n  "Resources": {\n'
        '    "Topic": {"Type": "AWS::SNS::Topic",}\n  }\n}\n',
        4, ("JSON",),
    ),
    "duplicate-key-yaml": (
        "dup.yaml",
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n'
        "  Queue:\n    Type: AWS::SQS::Queue\n  Topic:\n    Type: AWS::SNS::Topic\n",
        7, ("duplicate", "Topic"),
    ),
    "duplicate-key-json": (
        "dup.json",
        '{\n  "AWSTemplateFormatVersion": "2010-09-09",\n  "Resources": {\n'
        '    "Topic": {"Type": "AWS::SNS::Topic"},\n    "Queue": {"Type": "AWS::SQS::Queue"},\n'
        '    "Topic": {"Type": "AWS::SNS::Topic"}\n  }\n}\n',
        6, ("duplicate", "Topic"),
    ),
    "duplicate-nested-key": (
        "dup-nested.yaml",
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n'
        "    Properties:\n      TopicName: a\n      DisplayName: b\n      TopicName: c\n",
        8, ("duplicate", "TopicName"),
    ),
    "custom-tag": (
        "tag.yaml",
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n'
        "    Properties:\n      TopicName: !Foo bar\n",
        6, ("!Foo",),
    ),
    "python-tag": (
        "python.yaml",
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n'
        "    Properties:\n      TopicName: !!python/object/apply:os.system [echo pwned]\n",
        6, ("tag",),
    ),
    # CloudFormation supports YAML 1.1 except "the binary, omap, pairs, set, and timestamp tags, aliases and
    # hash merges" (AWS CloudFormation User Guide, Template formats).
    "yaml-set-tag": (
        "set.yaml",
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n'
        "    Metadata:\n      owners: !!set {alice, bob}\n",
        6, ("set",),
    ),
    "yaml-binary-tag": (
        "binary-tag.yaml",
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n'
        "    Metadata:\n      blob: !!binary aGVsbG8=\n",
        6, ("binary",),
    ),
    "merge-key": (
        "merge.yaml",
        'AWSTemplateFormatVersion: "2010-09-09"\nMetadata:\n  base: &base {Type: AWS::SNS::Topic}\n'
        "Resources:\n  Topic:\n    <<: *base\n",
        6, ("<<",),
    ),
    # The alias bomb runs in a child process with a timeout (test_alias_bomb_does_not_hang).
    "binary-file": ("blob.yaml", b'AWSTemplateFormatVersion: "2010-09-09"\x00\x01\x02\xff\xfe' * 64, None,
                    ("binary",)),
    "not-utf8": (
        "latin1.yaml",
        'AWSTemplateFormatVersion: "2010-09-09"\nDescription: "Caf\xe9 endpoint"\nResources:\n'
        "  Topic:\n    Type: AWS::SNS::Topic\n".encode("latin-1"),
        2, ("UTF-8",),
    ),
    "resources-is-a-list": (
        "list.yaml",
        'AWSTemplateFormatVersion: "2010-09-09"\nDescription: x\nResources:\n  - Type: AWS::SNS::Topic\n',
        3, ("Resources",),
    ),
    "resources-is-a-string": (
        "string.yaml", 'AWSTemplateFormatVersion: "2010-09-09"\nResources: nothing\n', 2, ("Resources",),
    ),
    "two-documents": (
        "two.yaml",
        'AWSTemplateFormatVersion: "2010-09-09"\nResources: {}\n---\nAWSTemplateFormatVersion: "2010-09-09"\n',
        3, (),
    ),
}


def _write(path, content) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def _json_report(result) -> dict:
    assert "Traceback" not in result.output
    return json.loads(result.stdout)


def _check_one_error(report: dict, name: str, line, words) -> dict:
    errors = [error for error in report["errors"] if error["file"] == name]
    assert len(errors) == 1, report["errors"]
    assert len(report["errors"]) == 1, report["errors"]
    error = errors[0]
    if line is None:
        assert error["line"] is None or error["line"] >= 1
    else:
        assert error["line"] == line, error
    for word in words:
        assert word.lower() in error["message"].lower(), error
    assert "Traceback" not in error["message"] and "Error(" not in error["message"]
    return error


def _good_findings(report: dict) -> set:
    return {(f["rule_id"], f["line"]) for f in report["findings"] if f["file"] == "good.yaml"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clear_error_and_the_run_goes_on(case, tmp_path, monkeypatch, sagewise):
    name, content, line, words = CASES[case]
    _write(tmp_path / name, content)
    (tmp_path / "good.yaml").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    result = sagewise("lint", name, "good.yaml", "--format", "json", "--isolated")
    report = _json_report(result)
    _check_one_error(report, name, line, words)
    assert _good_findings(report) == GOOD_FINDINGS
    assert report["summary"]["files"] == 1
    assert result.exit_code == 2


@pytest.mark.parametrize("case", ["malformed-yaml", "duplicate-key-json", "not-utf8", "resources-is-a-list"])
def test_text_output_names_file_and_line(case, tmp_path, monkeypatch, sagewise):
    name, content, line, _ = CASES[case]
    _write(tmp_path / name, content)
    monkeypatch.chdir(tmp_path)
    result = sagewise("lint", name, "--isolated")
    assert result.exit_code == 2
    error_lines = [text for text in result.stdout.splitlines() if ": error: " in text]
    assert len(error_lines) == 1, result.stdout
    assert error_lines[0].startswith(f"{name}:{line}:")
    assert "1 input could not be read" in result.stdout


def test_huge_file_is_refused_without_reading_it_as_yaml(tmp_path, monkeypatch, sagewise):
    huge = tmp_path / "huge.yaml"
    header = b'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\nMetadata:\n'
    filler = b"  # " + b"x" * 1020 + b"\n"
    with open(huge, "wb") as handle:
        handle.write(header)
        for _ in range(21 * 1024):
            handle.write(filler)
    assert huge.stat().st_size > 20 * MIB
    (tmp_path / "good.yaml").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    report = _json_report(sagewise("lint", "huge.yaml", "good.yaml", "--format", "json", "--isolated"))
    error = _check_one_error(report, "huge.yaml", None, ("MiB",))
    assert "20" in error["message"]
    assert _good_findings(report) == GOOD_FINDINGS


def test_alias_bomb_does_not_hang(tmp_path, run_module):
    (tmp_path / "bomb.yaml").write_text(_alias_bomb())
    (tmp_path / "good.yaml").write_text(GOOD)
    completed = run_module("lint", "bomb.yaml", "good.yaml", "--format", "json", "--isolated", cwd=tmp_path,
                           timeout=60)
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    report = json.loads(completed.stdout)
    _check_one_error(report, "bomb.yaml", None, ("alias",))
    assert _good_findings(report) == GOOD_FINDINGS


# 100000 unclosed brackets overflow libyaml's recursive composer (a segfault) unless refused beforehand, so
# these run in a child process: a crash fails the test instead of killing pytest.
DEEP = {
    "deep.yaml": "AWSTemplateFormatVersion: '2010-09-09'\nResources: " + "[" * 100_000 + "\n",
    "deep-closed.yaml": (
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  X: " + "[" * 100_000 + "]" * 100_000 + "\n"
    ),
    "deep.json": '{"AWSTemplateFormatVersion": "2010-09-09",\n "Resources": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
    "deep-mappings.yaml": "AWSTemplateFormatVersion: '2010-09-09'\nResources: " + "{a: " * 100_000 + "\n",
}


@pytest.mark.parametrize("name", sorted(DEEP))
def test_deep_nesting_is_an_error_not_a_crash(name, tmp_path, run_module):
    (tmp_path / name).write_text(DEEP[name])
    (tmp_path / "good.yaml").write_text(GOOD)
    completed = run_module("lint", name, "good.yaml", "--format", "json", "--isolated", cwd=tmp_path, timeout=60)
    assert completed.returncode == 2, (completed.returncode, completed.stderr[-2000:])
    assert "Traceback" not in completed.stderr
    report = json.loads(completed.stdout)
    error = _check_one_error(report, name, None, ("nesting",))
    assert error["line"] is not None and error["line"] >= 1, f"no line for a nesting error: {error}"
    assert _good_findings(report) == GOOD_FINDINGS


def test_nonexistent_named_file(tmp_path, monkeypatch, sagewise):
    (tmp_path / "good.yaml").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    result = sagewise("lint", "missing.yaml", "good.yaml", "--format", "json", "--isolated")
    assert result.exit_code == 2
    report = _json_report(result)
    error = _check_one_error(report, "missing.yaml", None, ())
    assert "no such file" in error["message"].lower() or "not found" in error["message"].lower()
    assert _good_findings(report) == GOOD_FINDINGS


def test_directory_walk_skips_non_templates_but_reports_broken_templates(tmp_path, monkeypatch, sagewise):
    repo = tmp_path / "repo"
    (repo / "ci").mkdir(parents=True)
    (repo / "ci" / "build.yml").write_text(textwrap.dedent("""\
        name: build
        on: [push]
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: make test
        """))
    (repo / "ci" / "compose.yaml").write_text("services:\n  web: {image: nginx\n")  # broken, but not a template
    (repo / "package.json").write_text('{"name": "x", "version": "1.0.0", "dependencies": {}}\n')
    (repo / "tsconfig.json").write_text('{"compilerOptions": {"strict": true,}}\n')  # not JSON either
    (repo / "empty.yaml").write_text("")
    (repo / "templates").mkdir()
    (repo / "templates" / "good.yaml").write_text(GOOD)
    (repo / "templates" / "broken.template").write_text(
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n   Bad: indent\n')
    monkeypatch.chdir(tmp_path)
    result = sagewise("lint", "repo", "--format", "json", "--isolated")
    report = _json_report(result)
    assert [error["file"] for error in report["errors"]] == ["repo/templates/broken.template"]
    assert report["errors"][0]["line"] == 5
    assert {(f["file"], f["rule_id"]) for f in report["findings"]} == {
        ("repo/templates/good.yaml", "SW101"), ("repo/templates/good.yaml", "SW302")}
    assert report["summary"]["files"] == 1
    assert result.exit_code == 2


def test_named_non_template_file_is_not_an_error(tmp_path, monkeypatch, sagewise):
    (tmp_path / "workflow.yml").write_text("name: build\non: [push]\njobs: {}\n")
    monkeypatch.chdir(tmp_path)
    result = sagewise("lint", "workflow.yml", "--format", "json", "--isolated")
    report = _json_report(result)
    assert report["errors"] == [] and report["findings"] == []
    assert result.exit_code == 0


# -- valid input that must not be reported as unreadable -----------------------------------------------------

VALID = {
    # Python's json.dumps escapes characters outside the BMP as surrogate pairs (ensure_ascii=True by default),
    # so a Description with an emoji written by troposphere or a script reads like this. It is valid JSON.
    "surrogate-pair.json": (
        '{"AWSTemplateFormatVersion": "2010-09-09", "Description": "Fraud model \\ud83d\\ude80",\n'
        ' "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}\n'
    ),
    # Rule functions have short forms too (cfn-lint's own good/conditions/and.yaml uses !Contains).
    "rule-functions.yaml": textwrap.dedent("""\
        AWSTemplateFormatVersion: "2010-09-09"
        Parameters:
          InstanceType: {Type: String, Default: ml.m5.large}
          Subnets: {Type: "List<AWS::EC2::Subnet::Id>"}
        Rules:
          SupportedInstance:
            Assertions:
              - Assert: !Contains [[ml.m5.large, ml.c5.large], !Ref InstanceType]
              - Assert: !EachMemberIn [!ValueOfAll ["AWS::EC2::Subnet::Id", VpcId], !RefAll "AWS::EC2::VPC::Id"]
              - Assert: !EachMemberEquals [!ValueOf [Subnets, VpcId], vpc-123]
        Resources:
          Topic:
            Type: AWS::SNS::Topic
        """),
    "bom.yaml": "\ufeffAWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n",
    "unquoted-date.yaml": "AWSTemplateFormatVersion: 2010-09-09\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n",
    "crlf.yaml": "AWSTemplateFormatVersion: '2010-09-09'\r\nResources:\r\n  Topic:\r\n    Type: AWS::SNS::Topic\r\n",
    "tabs.json": '{\n\t"Resources": {\n\t\t"Topic": {\n\t\t\t"Type": "AWS::SNS::Topic"\n\t\t}\n\t}\n}\n',
    "compact.json": '{"Resources":{"Topic":{"Type":"AWS::SNS::Topic","Properties":{"TopicName":"a\\/b"}}}}',
    "anchor-without-alias.yaml": (
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Topic: &topic\n    Type: AWS::SNS::Topic\n"
    ),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_input_is_not_an_error(name, tmp_path, monkeypatch):
    (tmp_path / name).write_text(VALID[name], encoding="utf-8", newline="")
    monkeypatch.chdir(tmp_path)
    result = lint_paths([name], load_rules())
    assert result.errors == [], [(e.file, e.line, e.message) for e in result.errors]
    assert result.files == 1


# -- valid YAML/JSON whose values have the wrong type: reported or ignored, never a crash ---------------------

def _target(resource_id: str) -> str:
    return textwrap.dedent(f"""\
        AWSTemplateFormatVersion: "2010-09-09"
        Resources:
          Target:
            Type: AWS::ApplicationAutoScaling::ScalableTarget
            Properties:
              ResourceId: {resource_id}
              ScalableDimension: sagemaker:variant:DesiredInstanceCount
              ServiceNamespace: sagemaker
              MinCapacity: 1
              MaxCapacity: 2
        """)


WRONG_TYPES = {
    "resource-id-number": _target("12345"),
    "resource-id-list": _target("[endpoint, my-endpoint, variant, AllTraffic]"),
    "resource-id-typo-function": _target("{'Fn:Join': ['/', [endpoint, my-endpoint, variant, AllTraffic]]}"),
    "resource-id-condition": _target("!Condition IsProd"),
    "config-name-mapping": textwrap.dedent("""\
        Resources:
          Config:
            Type: AWS::SageMaker::EndpointConfig
            Properties:
              EndpointConfigName: {'Fn:Sub': '${AWS::StackName}-config'}
              ProductionVariants:
                - {VariantName: A, ModelName: m, InstanceType: ml.m5.large, InitialInstanceCount: 1}
        """),
    "model-name-list": textwrap.dedent("""\
        Resources:
          Model:
            Type: AWS::SageMaker::Model
            Properties:
              ModelName: [a, b]
              PrimaryContainer: {Image: img}
        """),
    "endpoint-name-mapping": textwrap.dedent("""\
        Resources:
          Endpoint:
            Type: AWS::SageMaker::Endpoint
            Properties:
              EndpointName: {'Fn:Sub': 'x'}
              EndpointConfigName: !GetAtt Config.EndpointConfigName
          Config:
            Type: AWS::SageMaker::EndpointConfig
            Properties:
              ProductionVariants:
                - {VariantName: A, ModelName: m, InstanceType: ml.m5.large, InitialInstanceCount: 1}
          Target:
            Type: AWS::ApplicationAutoScaling::ScalableTarget
            Properties:
              ResourceId: endpoint/x/variant/A
              ScalableDimension: sagemaker:variant:DesiredInstanceCount
              ServiceNamespace: sagemaker
              MinCapacity: 1
              MaxCapacity: 2
        """),
    "policy-resource-id-mapping": textwrap.dedent("""\
        Resources:
          Policy:
            Type: AWS::ApplicationAutoScaling::ScalingPolicy
            Properties:
              PolicyName: p
              PolicyType: TargetTrackingScaling
              ResourceId: {'Fn:Sub': 'endpoint/x/variant/A'}
              ScalableDimension: sagemaker:variant:DesiredInstanceCount
              ServiceNamespace: sagemaker
              TargetTrackingScalingPolicyConfiguration: {TargetValue: 5}
        """),
    "properties-if-novalue": textwrap.dedent("""\
        Conditions:
          IsProd: !Equals [!Ref "AWS::StackName", prod]
        Resources:
          Target:
            Type: AWS::ApplicationAutoScaling::ScalableTarget
            Properties: !If
              - IsProd
              - {ResourceId: endpoint/x/variant/A, ScalableDimension: "sagemaker:variant:DesiredInstanceCount",
                 ServiceNamespace: sagemaker, MinCapacity: 1, MaxCapacity: 2}
              - !Ref AWS::NoValue
        """),
    "asl-branches-number.asl.json": json.dumps({
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": 1, "End": True}},
    }),
    "asl-training-parameters-list.asl.json": json.dumps({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                         "Parameters": [1, 2], "End": True}},
    }),
    "pipeline-steps-strings.json": json.dumps({"Version": "2020-12-01", "Steps": ["a", 1, None]}),
}


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_wrong_typed_values_never_crash_the_run(case, tmp_path, monkeypatch):
    name = case if case.endswith(".json") else f"{case}.yaml"
    (tmp_path / name).write_text(WRONG_TYPES[case])
    (tmp_path / "good.yaml").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    result = lint_paths([name, "good.yaml"], load_rules())  # must not raise
    assert {(f.rule_id, f.location.line) for f in result.findings if f.location.file == "good.yaml"} \
        == GOOD_FINDINGS
    assert all(error.file == name for error in result.errors)
