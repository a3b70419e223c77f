"""The hook as pre-commit runs it: a real ``pre-commit run`` in a temporary git repository full of files that are
not templates, plus one template with a finding. The configuration is the README's, as a user pastes it, with
only its ``sagewise`` command pointed at this checkout's interpreter (a hook repository would install sagewise
from the network, which tests must not need); it must agree with the published ``.pre-commit-hooks.yaml``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sample_templates import M4_ENDPOINT, NOT_TEMPLATES

ROOT = Path(__file__).resolve().parents[1]

SCALED = M4_ENDPOINT + """\
  Target:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties:
      ServiceNamespace: sagemaker
      ScalableDimension: sagemaker:variant:DesiredInstanceCount
      ResourceId: !Sub endpoint/${Endpoint.EndpointName}/variant/AllTraffic
      MinCapacity: 1
      MaxCapacity: 4
  Policy:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties:
      PolicyName: invocations
      PolicyType: TargetTrackingScaling
      ScalingTargetId: !Ref Target
      TargetTrackingScalingPolicyConfiguration:
        PredefinedMetricSpecification:
          PredefinedMetricType: SageMakerVariantInvocationsPerInstance
        TargetValue: 70
        ScaleInCooldown: 600
        ScaleOutCooldown: 300
"""


def _pre_commit() -> list[str]:
    found = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
    if not os.path.exists(found):
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    return [found]


def readme_configuration() -> str:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- pre-commit:start -->\n", 1)[1].split("<!-- pre-commit:end -->", 1)[0]
    return block.removeprefix("```yaml\n").removesuffix("```\n")


def test_the_readme_hook_is_the_published_hook():
    (hook,) = yaml.safe_load(readme_configuration())["repos"][0]["hooks"]
    published = {entry["id"]: entry for entry in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}["sagewise"]
    for key in ("id", "entry", "types_or", "require_serial"):
        assert hook[key] == published[key], key
    assert published["require_serial"] is True


@pytest.fixture
def repository(tmp_path, subprocess_env):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**subprocess_env, "HOME": str(tmp_path), "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for name, content in NOT_TEMPLATES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)
    (repo / "infra").mkdir()
    (repo / "infra" / "endpoint.yaml").write_text(M4_ENDPOINT)
    (repo / ".sagewise.yaml").write_text("ignore: [SW302]\n")
    pasted = readme_configuration()
    assert "entry: sagewise lint\n" in pasted
    (repo / ".pre-commit-config.yaml").write_text(
        pasted.replace("entry: sagewise lint\n", f"entry: {sys.executable} -m auditor lint\n"))

    def run(*command) -> subprocess.CompletedProcess:
        return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=300)

    assert run("git", "init", "-q").returncode == 0
    assert run("git", "add", "-A").returncode == 0
    return repo, run


def test_the_hook_fails_on_the_finding_and_ignores_everything_else(repository):
    repo, run = repository
    hook = run(*_pre_commit(), "run")
    output = hook.stdout + hook.stderr
    assert hook.returncode == 1, output
    assert "infra/endpoint.yaml:7:11: SW101 [warning]" in output
    skipped = len(NOT_TEMPLATES) + 2  # and .pre-commit-config.yaml, .sagewise.yaml
    assert f"(1 file checked, {skipped} skipped as not templates)" in output
    assert "error" not in output.lower().replace("sw101 [warning]", "")

    (repo / "infra" / "endpoint.yaml").write_text(SCALED)
    assert run("git", "add", "infra/endpoint.yaml").returncode == 0
    fixed = run(*_pre_commit(), "run")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "Passed" in fixed.stdout
