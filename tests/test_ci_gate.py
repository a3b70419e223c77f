"""The CI gate as a user wires it: ``examples/github-actions.yml`` run step by step against the repository's
examples, and the ``sagewise-fix`` pre-commit hook under the real ``pre-commit``.

The workflow cannot run on GitHub here, so its ``sagewise`` commands run as the runner would run them (bash, the
workflow's environment, GitHub's variables), with ``sagewise`` being this checkout; the steps that are GitHub's
own actions are checked to be given the files those commands write.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sample_templates import M4_ENDPOINT

from auditor.reporters import FILE_NAMES

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_FILE = ROOT / "examples" / "github-actions.yml"


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW_FILE.read_text())


def steps() -> list:
    (job,) = workflow()["jobs"].values()
    return job["steps"]


def step(name_starts: str) -> dict:
    (found,) = [s for s in steps() if s.get("name", "").startswith(name_starts)]
    return found


def test_the_workflow_lints_pull_requests_and_uploads_sarif_to_code_scanning():
    document = workflow()
    triggers = document.get("on", document.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in triggers
    assert document["permissions"]["security-events"] == "write"
    for entry in steps():
        if "uses" in entry:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", entry["uses"]), entry["uses"]
    lint = step("Lint")["run"]
    output_dir = re.search(r"--output-dir (\S+)", lint).group(1)
    baseline = re.search(r"--baseline (\S+)", lint).group(1)
    assert "--format github" in lint
    upload = step("Upload to code scanning")
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == f"{output_dir}/{FILE_NAMES['sarif']}"
    assert f"--body-file {output_dir}/{FILE_NAMES['markdown']}" in step("Comment")["run"]
    assert step("Keep the reports")["with"]["path"].rstrip("/") == output_dir
    header = WORKFLOW_FILE.read_text().split("\nname:", 1)[0]
    assert f"sagewise baseline infra/ -o {baseline}" in header


@pytest.fixture
def runner(tmp_path, subprocess_env):
    """A checkout of a repository whose ``infra/`` holds the README's examples, and a ``sagewise`` on PATH."""
    workspace = tmp_path / "workspace"
    shutil.copytree(ROOT / "examples" / "templates", workspace / "infra" / "templates")
    shutil.copytree(ROOT / "examples" / "pipelines", workspace / "infra" / "pipelines")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    command = bin_dir / "sagewise"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m auditor "$@"\n')
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": "feedbeef"}}}))
    (job,) = workflow()["jobs"].values()
    env = {**subprocess_env, **job.get("env", {}), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/ml",
           "GITHUB_WORKSPACE": str(workspace), "GITHUB_SHA": "merge0", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}

    def run(script: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-e", "-c", script], cwd=workspace, env=env, capture_output=True, text=True,
                              timeout=120)

    return workspace, run


def test_the_workflow_fails_only_on_findings_that_are_not_in_the_baseline(runner, tmp_path):
    workspace, run = runner
    header = WORKFLOW_FILE.read_text().split("\nname:", 1)[0]
    (create,) = re.findall(r"^#\s+(sagewise baseline .*)$", header, re.MULTILINE)
    created = run(create)
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("Wrote 3 findings to .sagewise-baseline.json")

    lint = step("Lint")["run"]
    passed = run(lint)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "::warning" not in passed.stdout and "::error" not in passed.stdout
    assert passed.stdout.endswith("No new findings (2 files checked). 3 baselined findings not shown.\n")
    reports = workspace / re.search(r"--output-dir (\S+)", lint).group(1)
    sarif = json.loads((reports / FILE_NAMES["sarif"]).read_text())
    assert sarif["runs"][0]["results"] == []
    assert (reports / FILE_NAMES["markdown"]).read_text().startswith("## sagewise lint: no new findings")
    assert (tmp_path / "summary.md").read_text().startswith("## sagewise lint: no new findings")

    (workspace / "infra" / "templates" / "scoring.yaml").write_text(M4_ENDPOINT)
    failed = run(lint)
    assert failed.returncode == 1
    annotations = [line for line in failed.stdout.splitlines() if line.startswith("::warning")]
    assert annotations == [
        "::warning file=infra/templates/scoring.yaml,line=7,col=11,title=SW101 endpoint-without-autoscaling::Config: "
        "Variant AllTraffic of endpoint my-endpoint has no scalable target on endpoint/my-endpoint/variant/AllTraffic;"
        " its instance count never follows the load"]
    sarif = json.loads((reports / FILE_NAMES["sarif"]).read_text())
    assert [result["ruleId"] for result in sarif["runs"][0]["results"]] == ["SW101", "SW302"]
    comment = (reports / FILE_NAMES["markdown"]).read_text()
    assert comment.startswith("## sagewise lint: 2 new findings (1 warning, 1 info)")
    assert "(https://github.com/acme/ml/blob/feedbeef/infra/templates/scoring.yaml#L7)" in comment


# -- the sagewise-fix pre-commit hook -----------------------------------------------------------------------------


def readme_fix_configuration() -> str:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- pre-commit-fix:start -->\n", 1)[1].split("<!-- pre-commit-fix:end -->", 1)[0]
    return block.removeprefix("```yaml\n").removesuffix("```\n")


def test_the_readme_fix_hook_is_the_published_one():
    (hook,) = yaml.safe_load(readme_fix_configuration())["repos"][0]["hooks"]
    published = {entry["id"]: entry for entry in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(published) == {"sagewise", "sagewise-fix"}
    for key in ("id", "name", "entry", "types_or", "require_serial"):
        assert hook[key] == published["sagewise-fix"][key], key
    assert published["sagewise-fix"]["entry"].startswith("sagewise fix")


def test_the_fix_hook_fixes_then_fails_as_formatters_do_and_passes_once_fixed(tmp_path, subprocess_env):
    found = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
    if not os.path.exists(found):
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    repo = tmp_path / "repo"
    (repo / "infra").mkdir(parents=True)
    (repo / "infra" / "endpoint.yaml").write_text(M4_ENDPOINT)
    (repo / "notes.json").write_text('{"not": "a template"}\n')
    pasted = readme_fix_configuration()
    entry = yaml.safe_load(pasted)["repos"][0]["hooks"][0]["entry"]
    (repo / ".pre-commit-config.yaml").write_text(
        pasted.replace(f"entry: {entry}\n", f"entry: {sys.executable} -m auditor {entry.removeprefix('sagewise ')}\n"))
    env = {**subprocess_env, "HOME": str(tmp_path), "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}

    def run(*command) -> subprocess.CompletedProcess:
        return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=300)

    assert run("git", "init", "-q").returncode == 0
    assert run("git", "add", "-A").returncode == 0
    first = run(found, "run")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    fixed = (repo / "infra" / "endpoint.yaml").read_text()
    assert "AWS::ApplicationAutoScaling::ScalableTarget" in fixed and fixed.startswith(M4_ENDPOINT)
    assert (repo / "notes.json").read_text() == '{"not": "a template"}\n'

    assert run("git", "add", "infra/endpoint.yaml").returncode == 0
    second = run(found, "run")  # SW302 remains (an unsafe fix): the lint hook's to report, not this one's
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Passed" in second.stdout
    assert (repo / "infra" / "endpoint.yaml").read_text() == fixed
