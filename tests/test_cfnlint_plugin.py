"""sagewise inside the real cfn-lint, as the README wires it: ``cfn-lint t.yaml --append-rules "$(sagewise
cfnlint-rules)"``, or ``append_rules`` in ``.cfnlintrc``.

cfn-lint must report what ``sagewise lint`` reports (the same rule files through sagewise's engine), under
cfn-lint ids, with cfn-lint's formats, suppressions and exit codes (a bit per level: 2 error, 4 warning, 8 info).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = (ROOT / "examples" / "templates" / "churn.yaml").read_text().replace("ml.m5.xlarge", "ml.m4.xlarge")
"""The README's example with an ml.m4 variant: SW101 (warning), SW302 (info) and SW106 (error); clean for
cfn-lint's own rules."""


@pytest.fixture
def cfn_lint(tmp_path, subprocess_env):
    pytest.importorskip("cfnlint", reason="cfn-lint is not installed (pip install -e '.[test]')")
    found = shutil.which("cfn-lint") or str(Path(sys.executable).with_name("cfn-lint"))
    if not os.path.exists(found):
        pytest.skip("the cfn-lint command is not installed (pip install -e '.[test]')")

    def run(*arguments, stdin=None) -> subprocess.CompletedProcess:
        return subprocess.run([found, *map(str, arguments)], cwd=tmp_path, env=subprocess_env, input=stdin,
                              capture_output=True, text=True, timeout=300)

    (tmp_path / "t.yaml").write_text(TEMPLATE)
    return run


@pytest.fixture
def rules_directory(sagewise) -> str:
    result = sagewise("cfnlint-rules")
    assert result.exit_code == 0
    return result.stdout.strip()


def _sagewise_findings(sagewise, folder: Path, *options) -> set:
    previous = os.getcwd()
    os.chdir(folder)
    try:
        document = json.loads(sagewise("lint", "t.yaml", "--format", "json", *options).stdout)
    finally:
        os.chdir(previous)
    return {(f["rule_id"], f["severity"], f["line"], f["column"], f"{f['rule_id']} {f['rule_name']}: {f['message']}")
            for f in document["findings"]}


def _matches(output: str) -> set:
    levels = {"Error": "error", "Warning": "warning", "Informational": "info"}
    return {("SW" + match["Rule"]["Id"][2:], levels[match["Level"]], match["Location"]["Start"]["LineNumber"],
             match["Location"]["Start"]["ColumnNumber"], match["Message"])
            for match in json.loads(output)}


def test_the_command_prints_the_packaged_directory_without_importing_cfn_lint(rules_directory, subprocess_env):
    assert Path(rules_directory) == ROOT / "auditor" / "cfnlint_rules"
    assert (Path(rules_directory) / "sagewise_rules.py").is_file()
    script = textwrap.dedent("""\
        import sys
        from auditor.cli import main
        try:
            main(["cfnlint-rules"])
        except SystemExit as exit:
            assert exit.code in (0, None), exit.code
        print(",".join(sorted(name for name in sys.modules if name.split(".")[0] == "cfnlint")), file=sys.stderr)
        """)
    completed = subprocess.run([sys.executable, "-c", script], env=subprocess_env, capture_output=True, text=True,
                               timeout=60)
    assert completed.returncode == 0 and completed.stderr.strip() == "", completed.stderr
    assert completed.stdout.strip() == rules_directory


def test_cfn_lint_reports_exactly_what_sagewise_reports(cfn_lint, rules_directory, sagewise, tmp_path):
    result = cfn_lint("t.yaml", "--append-rules", rules_directory, "--include-checks", "I", "--format", "json")
    assert result.returncode == 2 | 4 | 8, result.stderr  # an error, a warning and an info
    reported = _matches(result.stdout)
    assert reported == _sagewise_findings(sagewise, tmp_path, "--isolated")
    assert {(rule, severity) for rule, severity, *_ in reported} == {
        ("SW101", "warning"), ("SW302", "info"), ("SW106", "error")}
    ids = {match["Rule"]["Id"] for match in json.loads(result.stdout)}
    assert ids == {"W9101", "I9302", "E9106"}


def test_cfn_lint_suppressions_and_formats_apply(cfn_lint, rules_directory, tmp_path):
    (tmp_path / "t.yaml").write_text(TEMPLATE.replace(
        "  EndpointConfig:\n    Type: AWS::SageMaker::EndpointConfig\n",
        "  EndpointConfig:\n    Type: AWS::SageMaker::EndpointConfig\n"
        "    Metadata:\n      cfn-lint:\n        config:\n          ignore_checks: [W9101]\n"))
    result = cfn_lint("--append-rules", rules_directory, "--ignore-checks", "E9106", "--format", "parseable",
                      "--", "t.yaml")
    assert result.returncode == 0, result.stdout + result.stderr  # info is not reported unless included
    assert result.stdout == ""
    shown = cfn_lint("--append-rules", rules_directory, "--include-checks", "I", "--format", "parseable", "--",
                     "t.yaml")
    assert shown.returncode == 2 | 8
    assert shown.stdout.splitlines() == [
        "t.yaml:23:11:23:12:I9302:SW302 previous-generation-instance: Variant AllTraffic uses previous-generation "
        "ml.m4.xlarge; ml.m5.xlarge is the current equivalent",
        "t.yaml:38:7:38:8:E9106:SW106 malformed-scaling-resource-id: Scalable target ResourceId "
        "endpoint/${Endpoint}/variant/AllTraffic is wrong: ${Endpoint} is the ARN of Endpoint (Ref of a SageMaker "
        "resource returns its ARN), not its name; use ${Endpoint.EndpointName}",
    ]


def test_cfnlintrc_names_the_module_and_a_template_can_come_on_standard_input(cfn_lint, tmp_path):
    (tmp_path / ".cfnlintrc").write_text("append_rules:\n  - auditor.cfnlint_rules.sagewise_rules\n")
    result = cfn_lint("--format", "parseable", stdin=TEMPLATE)
    assert result.returncode == 2 | 4, result.stdout + result.stderr
    # From standard input sagewise reads the decoded template, and cfn-lint places each finding on its resource.
    assert [line.split(":")[1] + ":" + line.split(":")[5] for line in result.stdout.splitlines()] == \
        ["13:W9101", "29:E9106"]


def test_the_sagewise_configuration_applies_inside_cfn_lint(cfn_lint, rules_directory, sagewise, tmp_path):
    (tmp_path / ".sagewise.yaml").write_text("ignore: [SW302]\nrules:\n  SW101: {severity: error}\n")
    result = cfn_lint("t.yaml", "--append-rules", rules_directory, "--include-checks", "I", "--format", "json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert {match["Rule"]["Id"] for match in json.loads(result.stdout)} == {"E9101", "E9106"}
    assert _matches(result.stdout) == _sagewise_findings(sagewise, tmp_path)


def test_what_keeps_sagewise_from_judging_a_template_is_e9000(cfn_lint, rules_directory, tmp_path):
    (tmp_path / ".sagewise.yaml").write_text("selec: [SW101]\n")
    result = cfn_lint("t.yaml", "--append-rules", rules_directory, "--format", "parseable")
    assert result.returncode == 2
    (line,) = result.stdout.splitlines()
    assert line.startswith("t.yaml:1:1:1:2:E9000:sagewise cannot run: ")
    assert ".sagewise.yaml" in line and "selec" in line


def test_the_readme_example_is_the_real_output(cfn_lint, tmp_path, subprocess_env):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```console\n\$ (cfn-lint examples/\S+ --append-rules \"\$\(sagewise cfnlint-rules\)\")\n"
                      r"(.*?)```\n", readme, re.DOTALL)
    assert block, "the README's cfn-lint example is missing"
    shim = tmp_path / "bin" / "sagewise"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m auditor "$@"\n')
    shim.chmod(0o755)
    cfn_lint_dir = str(Path(shutil.which("cfn-lint") or Path(sys.executable).with_name("cfn-lint")).parent)
    env = {**subprocess_env, "PATH": os.pathsep.join((str(shim.parent), cfn_lint_dir, os.environ["PATH"]))}
    result = subprocess.run(["bash", "-c", block.group(1)], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2 | 4, result.stderr
    assert result.stdout == block.group(2)
