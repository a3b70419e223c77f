"""``sagewise fix`` and ``sagewise lint --fix`` as a user runs them: what is written, what is printed, exit codes,
and the guarantees on files (byte-exact elsewhere, mode kept, atomic, never over a file changed meanwhile)."""

from __future__ import annotations

import json
import os
import stat
import textwrap

import pytest

from sample_templates import M4_ENDPOINT

# SW101 (safe: a target and a policy are added) and SW302 (unsafe: ml.m4 -> ml.m5), with comments everywhere.
COMMENTED = textwrap.dedent("""\
    # Churn model endpoint.   Owned by the ML platform team.
    AWSTemplateFormatVersion: "2010-09-09"
    Resources:
      Model:                      # the model
        Type: AWS::SageMaker::Model
        Properties:
          ExecutionRoleArn: arn:aws:iam::123456789012:role/sagemaker
          PrimaryContainer: {Image: "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"}

      Config:
        Type: AWS::SageMaker::EndpointConfig
        Properties:
          ProductionVariants:
            - VariantName: AllTraffic   # one variant
              ModelName: !GetAtt Model.ModelName
              InstanceType: 'ml.m4.xlarge'  # old, see ticket 123
              InitialInstanceCount: 2

      Endpoint:
        Type: AWS::SageMaker::Endpoint
        Properties:
          EndpointName: churn
          EndpointConfigName: !GetAtt Config.EndpointConfigName
    # end of resources
    Outputs:
      Name: {Value: !GetAtt Endpoint.EndpointName}
    """)


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "endpoint.yaml").write_text(COMMENTED)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_fix_applies_safe_fixes_in_place_and_reports_what_remains(project, sagewise):
    result = sagewise("fix", "endpoint.yaml", "--isolated")
    fixed = (project / "endpoint.yaml").read_text()
    assert "EndpointAllTrafficScalableTarget:" in fixed and "ml.m4.xlarge" in fixed
    lines = result.stdout.splitlines()
    assert lines[0].startswith("endpoint.yaml:16:") and " SW302 [info] " in lines[0]
    assert lines[-2] == "Fixed 1 finding in 1 file. 1 more can be fixed with --unsafe-fixes."
    assert lines[-1] == "Found 1 finding (1 info) (1 file checked)."
    assert result.exit_code == 0  # an info finding is below --fail-on warning


def test_everything_the_fix_did_not_touch_is_byte_identical(project, sagewise):
    sagewise("fix", "endpoint.yaml", "--isolated", "--unsafe-fixes")
    fixed = (project / "endpoint.yaml").read_text()
    assert fixed.startswith(COMMENTED.replace("'ml.m4.xlarge'", "'ml.m5.xlarge'").split("# end of resources")[0])
    assert fixed.endswith("# end of resources\nOutputs:\n  Name: {Value: !GetAtt Endpoint.EndpointName}\n")
    # New resources join Resources in the file's own style: blank line between, two-space steps, short tags.
    assert "\n\n  EndpointAllTrafficScalableTarget:\n    Type: AWS::ApplicationAutoScaling::ScalableTarget\n" in fixed
    assert "      ResourceId: !Sub endpoint/${Endpoint.EndpointName}/variant/AllTraffic\n" in fixed


def test_unsafe_fixes_only_when_asked(project, sagewise):
    result = sagewise("fix", "endpoint.yaml", "--isolated", "--unsafe-fixes", "--format", "json")
    report = json.loads(result.stdout)
    assert report["findings"] == []
    fixed = report["summary"]["fixed"]
    assert (fixed["findings"], fixed["files"], fixed["unsafe_available"]) == (2, 1, 0)
    assert [(fix["rule_id"], fix["resource"]) for fix in fixed["applied"]] == [("SW302", "Config"), ("SW101", "Config")]
    assert fixed["applied"][0]["description"] == "change variant AllTraffic from ml.m4.xlarge to ml.m5.xlarge"
    assert "'ml.m5.xlarge'  # old, see ticket 123" in (project / "endpoint.yaml").read_text()


def test_diff_prints_the_change_and_writes_nothing(project, sagewise):
    result = sagewise("fix", "endpoint.yaml", "--isolated", "--diff")
    assert result.exit_code == 1
    assert result.stdout.startswith("--- a/endpoint.yaml\n+++ b/endpoint.yaml\n@@ ")
    assert "+  EndpointAllTrafficScalingPolicy:\n" in result.stdout
    assert result.stderr == "Would fix 1 finding in 1 file (1 more with --unsafe-fixes).\n"
    assert (project / "endpoint.yaml").read_text() == COMMENTED


def test_diff_with_nothing_to_fix_is_exit_0(project, sagewise):
    sagewise("fix", "endpoint.yaml", "--isolated", "--unsafe-fixes")
    result = sagewise("fix", "endpoint.yaml", "--isolated", "--unsafe-fixes", "--diff")
    assert (result.exit_code, result.stdout) == (0, "")


def test_lint_fix_is_the_same_as_fix(project, sagewise, tmp_path):
    (project / "copy.yaml").write_text(COMMENTED)
    fixed = sagewise("fix", "endpoint.yaml", "--isolated")
    linted = sagewise("lint", "--fix", "copy.yaml", "--isolated")
    assert (project / "endpoint.yaml").read_text() == (project / "copy.yaml").read_text()
    assert linted.stdout.replace("copy.yaml", "endpoint.yaml") == fixed.stdout
    assert linted.exit_code == fixed.exit_code


def test_select_limits_what_is_fixed(project, sagewise):
    result = sagewise("fix", "endpoint.yaml", "--isolated", "--unsafe-fixes", "--select", "SW302")
    fixed = (project / "endpoint.yaml").read_text()
    assert "ml.m5.xlarge" in fixed and "ScalableTarget" not in fixed
    assert result.exit_code == 0


def test_the_file_mode_is_kept(project, sagewise):
    path = project / "endpoint.yaml"
    path.chmod(0o640)
    sagewise("fix", "endpoint.yaml", "--isolated")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in project.iterdir()] == ["endpoint.yaml"]


def test_a_symlinked_template_is_fixed_in_its_target_and_stays_a_link(project, sagewise):
    (project / "infra").mkdir()
    (project / "endpoint.yaml").rename(project / "infra" / "endpoint.yaml")
    (project / "endpoint.yaml").symlink_to("infra/endpoint.yaml")
    sagewise("fix", "endpoint.yaml", "--isolated")
    assert (project / "endpoint.yaml").is_symlink()
    assert "EndpointAllTrafficScalableTarget:" in (project / "infra" / "endpoint.yaml").read_text()


def test_a_file_changed_while_it_was_fixed_is_not_written(project, sagewise, monkeypatch):
    from auditor.fixers import apply

    real = apply.fix_text

    def edited_meanwhile(*args, **kwargs):
        outcome = real(*args, **kwargs)
        (project / "endpoint.yaml").write_text(COMMENTED + "# someone's edit\n")
        return outcome

    monkeypatch.setattr(apply, "fix_text", edited_meanwhile)
    result = sagewise("fix", "endpoint.yaml", "--isolated", "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 2
    assert "changed on disk while it was being fixed; not written" in report["errors"][0]["message"]
    assert (project / "endpoint.yaml").read_text() == COMMENTED + "# someone's edit\n"


def test_a_failed_write_leaves_the_original(project, sagewise, monkeypatch):
    def no_space(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    result = sagewise("fix", "endpoint.yaml", "--isolated")
    assert result.exit_code == 2 and "No space left on device" in result.stdout
    assert (project / "endpoint.yaml").read_text() == COMMENTED
    assert [p.name for p in project.iterdir()] == ["endpoint.yaml"]


def test_new_logical_ids_never_collide(project, sagewise):
    taken = COMMENTED.replace("# end of resources", "  EndpointAllTrafficScalableTarget:\n"
                              "    Type: AWS::SNS::Topic\n# end of resources")
    (project / "endpoint.yaml").write_text(taken)
    sagewise("fix", "endpoint.yaml", "--isolated")
    fixed = (project / "endpoint.yaml").read_text()
    assert "  EndpointAllTrafficScalableTarget2:\n" in fixed
    assert "ScalingTargetId: !Ref EndpointAllTrafficScalableTarget2\n" in fixed


@pytest.mark.parametrize("name, content, check", [
    ("crlf.yaml", M4_ENDPOINT.replace("\n", "\r\n"), lambda data: b"\n" not in data.replace(b"\r\n", b"")),
    ("bom.yaml", "\ufeff" + M4_ENDPOINT, lambda data: data.startswith(b"\xef\xbb\xbf")),
])
def test_line_endings_and_byte_order_mark_are_kept(name, content, check, tmp_path, monkeypatch, sagewise):
    (tmp_path / name).write_bytes(content.encode("utf-8"))
    monkeypatch.chdir(tmp_path)
    result = sagewise("fix", name, "--isolated", "--unsafe-fixes")
    assert result.stdout.startswith("Fixed 2 findings in 1 file."), result.stdout
    data = (tmp_path / name).read_bytes()
    assert check(data)
    assert data.count(b"ScalableTarget:") == 1


def test_a_json_template_keeps_its_indentation(tmp_path, monkeypatch, sagewise):
    variant = {"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.c5.xlarge", "InitialInstanceCount": 1}
    template = {"Resources": {
        "Config": {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {"ProductionVariants": [variant]}},
        "Endpoint": {"Type": "AWS::SageMaker::Endpoint",
                     "Properties": {"EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}}}}}
    (tmp_path / "t.json").write_text(json.dumps(template, indent="\t") + "\n")
    monkeypatch.chdir(tmp_path)
    sagewise("fix", "t.json", "--isolated")
    fixed = (tmp_path / "t.json").read_text()
    assert '\n\t\t"EndpointAllTrafficScalableTarget": {\n\t\t\t"Type": "AWS::ApplicationAutoScaling::ScalableTarget",' \
        in fixed
    assert json.loads(fixed)["Resources"]["EndpointAllTrafficScalingPolicy"]["Properties"]["ScalingTargetId"] == \
        {"Ref": "EndpointAllTrafficScalableTarget"}


def test_a_resource_read_through_fn_if_is_never_edited(tmp_path, monkeypatch, sagewise):
    """With a variant list built by Fn::If, the model's list indexes are not the file's: no fix may guess."""
    template = textwrap.dedent("""\
        Conditions:
          Canary: !Equals [!Ref "AWS::StackName", canary]
        Resources:
          Config:
            Type: AWS::SageMaker::EndpointConfig
            Properties:
              ProductionVariants:
                - {VariantName: A, ModelName: m, InstanceType: ml.m5.large, InitialInstanceCount: 1}
                - !If [Canary, {VariantName: B, ModelName: m, InstanceType: ml.m5.large, InitialInstanceCount: 1},
                       !Ref "AWS::NoValue"]
                - {VariantName: C, ModelName: m, InstanceType: ml.m4.xlarge, InitialInstanceCount: 1}
        """)
    (tmp_path / "t.yaml").write_text(template)
    monkeypatch.chdir(tmp_path)
    result = sagewise("fix", "t.yaml", "--isolated", "--unsafe-fixes", "--select", "SW302")
    assert (tmp_path / "t.yaml").read_text() == template
    assert "SW302" in result.stdout


def test_a_finding_whose_fix_cannot_apply_says_why(tmp_path, sagewise):
    """A rule with a safe fix whose right change the file does not say (provisioned concurrency from SAM Globals,
    an ml.t2 variant) is left as written, and the run says why instead of leaving the user to guess."""
    template = tmp_path / "template.yaml"
    template.write_text(textwrap.dedent("""\
        Transform: AWS::Serverless-2016-10-31
        Globals:
          Function:
            AutoPublishAlias: live
            ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 4}
        Resources:
          Scorer:
            Type: AWS::Serverless::Function
            Properties: {PackageType: Image, ImageUri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/s:1}
        """), encoding="utf-8")
    result = sagewise("fix", template, "--select", "SW402", "--isolated")
    assert result.exit_code == 1
    assert template.read_text(encoding="utf-8").count("ScalableTarget") == 0
    assert "1 finding was left as written, although the rule has a fix:" in result.stdout
    assert ":7:3: SW402: its provisioned concurrency comes from the template's Globals" in result.stdout
    diff = sagewise("fix", template, "--select", "SW402", "--diff", "--isolated")
    assert ":7:3: SW402 not fixed: its provisioned concurrency comes from the template's Globals" in diff.stderr
    report = json.loads(sagewise("fix", template, "--select", "SW402", "--format", "json", "--isolated").stdout)
    [entry] = report["summary"]["fixed"]["not_applied"]
    assert (entry["rule_id"], entry["line"]) == ("SW402", 7) and "Globals" in entry["reason"]


def test_diff_places_an_input_it_cannot_read_at_its_line(project, sagewise):
    """The errors of --diff are placed as every report places them: file:line:column, not the file alone."""
    (project / "broken.yaml").write_text('AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  A: [\n')
    result = sagewise("fix", "broken.yaml", "--diff", "--isolated")
    assert result.exit_code == 2
    assert result.stderr.startswith("broken.yaml:4:1: error: did not find expected node content")


@pytest.mark.parametrize("command", [("fix", "--diff"), ("lint", "--diff"), ("lint", "--fix", "--diff")])
@pytest.mark.parametrize("options, named", [
    (("--format", "json"), "--format"),
    (("--output", "report.txt"), "--output"),
    (("--output-dir", "reports"), "--output-dir"),
    (("--baseline", "baseline.json"), "--baseline"),
    (("--fail-on", "never"), "--fail-on"),
    (("--fail-on", "never", "-o", "report.txt"), "--output, --fail-on"),
])
def test_diff_refuses_the_options_of_a_report_it_does_not_write(project, sagewise, command, options, named):
    result = sagewise(*command, "endpoint.yaml", "--isolated", *options)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"sagewise: error: --diff prints the fixes, not a report: it does not go with {named}\n"
    assert (project / "endpoint.yaml").read_text() == COMMENTED
    assert sorted(path.name for path in project.iterdir()) == ["endpoint.yaml"]


def test_lint_refuses_unsafe_fixes_without_fix_or_diff(project, sagewise):
    result = sagewise("lint", "endpoint.yaml", "--isolated", "--unsafe-fixes")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "sagewise: error: --unsafe-fixes goes with --fix or --diff\n"
    assert (project / "endpoint.yaml").read_text() == COMMENTED
    assert "ml.m5.xlarge" in sagewise("lint", "endpoint.yaml", "--isolated", "--unsafe-fixes", "--diff").stdout
