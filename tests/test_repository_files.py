"""The files a real repository holds, as a pre-commit hook names them: most are not templates, some are not
even regular files. Templates are linted; everything else is skipped (and counted) or, when it looks like a
template and cannot be read, one error for that file. Nothing blocks, nothing aborts the run.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import textwrap
import threading

import pytest

from sample_templates import M4_ENDPOINT, NOT_TEMPLATES

GOOD_FINDINGS = {("SW101", 7), ("SW302", 9)}



def _report(result) -> dict:
    assert "Traceback" not in result.output
    return json.loads(result.stdout)


def _repository(root) -> list[str]:
    for name, content in NOT_TEMPLATES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    (root / "infra").mkdir()
    (root / "infra" / "endpoint.yaml").write_text(M4_ENDPOINT)
    return sorted(NOT_TEMPLATES) + ["infra/endpoint.yaml"]


def test_named_files_that_are_not_templates_are_skipped_and_counted(tmp_path, monkeypatch, sagewise):
    names = _repository(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = sagewise("lint", *names, "--format", "json", "--isolated")
    report = _report(result)
    assert report["errors"] == []
    assert {(f["rule_id"], f["line"]) for f in report["findings"]} == GOOD_FINDINGS
    assert report["summary"]["files"] == 1
    assert report["summary"]["skipped"] == len(NOT_TEMPLATES)
    assert result.exit_code == 1
    text = sagewise("lint", *names, "--isolated").stdout.splitlines()[-1]
    assert text.endswith(f"(1 file checked, {len(NOT_TEMPLATES)} skipped as not templates).")


def test_a_named_file_that_looks_like_a_template_and_cannot_be_read_is_an_error(tmp_path, monkeypatch, sagewise):
    (tmp_path / "broken.yaml").write_text('AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  X: [unclosed\n')
    (tmp_path / "anchors.yaml").write_text(
        "Resources:\n  Base: &base\n    Type: AWS::SNS::Topic\n  Copy:\n    <<: *base\n")
    (tmp_path / "machine.asl.yaml").write_text("StartAt: Train\nStates:\n  Train: {Type: Task, End: true\n")
    monkeypatch.chdir(tmp_path)
    report = _report(sagewise("lint", "broken.yaml", "anchors.yaml", "machine.asl.yaml", "--format", "json",
                              "--isolated"))
    assert sorted((error["file"], error["line"]) for error in report["errors"]) == [
        ("anchors.yaml", 5), ("broken.yaml", 4), ("machine.asl.yaml", 4)]


@pytest.mark.parametrize("option", ["--exclude", "config"])
def test_exclude_applies_to_named_files(option, tmp_path, monkeypatch, sagewise):
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "stack.yaml").write_text(M4_ENDPOINT)
    (tmp_path / "endpoint.yaml").write_text(M4_ENDPOINT)
    monkeypatch.chdir(tmp_path)
    if option == "config":
        (tmp_path / ".sagewise.yaml").write_text("exclude: ['generated/*']\n")
        arguments = []
    else:
        arguments = ["--exclude", "generated/*", "--isolated"]
    report = _report(sagewise("lint", "generated/stack.yaml", "endpoint.yaml", "--format", "json", *arguments))
    assert {f["file"] for f in report["findings"]} == {"endpoint.yaml"}
    assert report["summary"]["files"] == 1


def test_yaml_state_machines_and_pipelines_are_found_by_the_walk(tmp_path, monkeypatch, sagewise):
    (tmp_path / "train.asl.yaml").write_text(textwrap.dedent("""\
        StartAt: Train
        States:
          Train:
            Type: Task
            Resource: arn:aws:states:::sagemaker:createTrainingJob.sync
            Parameters:
              EnableManagedSpotTraining: true
              StoppingCondition: {MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200}
              ResourceConfig: {InstanceType: ml.m5.xlarge, InstanceCount: 1, VolumeSizeInGB: 30}
            End: true
        """))
    (tmp_path / "pipeline.yml").write_text(textwrap.dedent("""\
        Version: "2020-12-01"
        Steps:
          - Name: Train
            Type: Training
            Arguments:
              EnableManagedSpotTraining: true
              ResourceConfig: {InstanceType: ml.p3.2xlarge, InstanceCount: 1, VolumeSizeInGB: 30}
        """))
    monkeypatch.chdir(tmp_path)
    report = _report(sagewise("lint", ".", "--format", "json", "--isolated"))
    assert sorted((f["file"], f["rule_id"]) for f in report["findings"]) == [
        ("pipeline.yml", "SW201"), ("pipeline.yml", "SW202"), ("pipeline.yml", "SW302"),
        ("train.asl.yaml", "SW201")]


# -- files that are not regular files -------------------------------------------------------------------------

@pytest.fixture
def fifo(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


def test_a_named_fifo_is_an_error_and_does_not_block(fifo, tmp_path, run_module):
    (tmp_path / "good.yaml").write_text(M4_ENDPOINT)
    completed = run_module("lint", fifo.name, "good.yaml", "--format", "json", "--isolated", cwd=tmp_path,
                           timeout=30)
    report = json.loads(completed.stdout)
    assert [(e["file"], e["message"]) for e in report["errors"]] == [("pipe.yaml", "not a regular file (a FIFO)")]
    assert {(f["rule_id"], f["line"]) for f in report["findings"]} == GOOD_FINDINGS
    assert completed.returncode == 2


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_named_device_is_an_error_and_is_not_read(run_module, tmp_path):
    completed = run_module("lint", "/dev/zero", "--format", "json", "--isolated", cwd=tmp_path, timeout=30)
    report = json.loads(completed.stdout)
    assert [e["message"] for e in report["errors"]] == ["not a regular file (a device)"]
    assert completed.returncode == 2


def test_special_files_and_dangling_links_are_skipped_in_a_walk(fifo, tmp_path, monkeypatch, sagewise):
    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("no Unix sockets on this platform")
    (tmp_path / "good.yaml").write_text(M4_ENDPOINT)
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "deleted.yaml")
    monkeypatch.chdir(tmp_path)
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind("sock.json")
        result = sagewise("lint", ".", "--format", "json", "--isolated")
    finally:
        server.close()
    report = _report(result)
    assert report["errors"] == []
    assert report["summary"]["files"] == 1


def test_a_symlinked_file_is_read_once(tmp_path, monkeypatch, sagewise):
    (tmp_path / "real.yaml").write_text(M4_ENDPOINT)
    (tmp_path / "alias.yaml").symlink_to("real.yaml")
    monkeypatch.chdir(tmp_path)
    for arguments in (["."], ["real.yaml", "alias.yaml"]):
        report = _report(sagewise("lint", *arguments, "--format", "json", "--isolated"))
        assert report["summary"]["files"] == 1
        assert len(report["findings"]) == len(GOOD_FINDINGS)


def test_a_named_dangling_symlink_is_an_error(tmp_path, monkeypatch, sagewise):
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "deleted.yaml")
    monkeypatch.chdir(tmp_path)
    report = _report(sagewise("lint", "gone.yaml", "--format", "json", "--isolated"))
    assert [(e["file"], e["message"]) for e in report["errors"]] == [("gone.yaml", "dangling symbolic link")]


# -- permissions ----------------------------------------------------------------------------------------------

needs_permissions = pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root (or Windows) reads files whatever their mode")


@needs_permissions
def test_an_unreadable_named_file_is_its_own_error(tmp_path, monkeypatch, sagewise):
    (tmp_path / "good.yaml").write_text(M4_ENDPOINT)
    secret = tmp_path / "secret.yaml"
    secret.write_text(M4_ENDPOINT)
    secret.chmod(0)
    monkeypatch.chdir(tmp_path)
    report = _report(sagewise("lint", "secret.yaml", "good.yaml", "--format", "json", "--isolated"))
    assert [(e["file"], e["message"]) for e in report["errors"]] == [("secret.yaml", "permission denied")]
    assert {(f["rule_id"], f["line"]) for f in report["findings"]} == GOOD_FINDINGS


@needs_permissions
def test_an_unreadable_directory_in_a_walk_is_an_error(tmp_path, monkeypatch, sagewise):
    (tmp_path / "good.yaml").write_text(M4_ENDPOINT)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked").chmod(0)
    monkeypatch.chdir(tmp_path)
    try:
        report = _report(sagewise("lint", ".", "--format", "json", "--isolated"))
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert [e["file"] for e in report["errors"]] == ["locked"]
    assert "cannot list" in report["errors"][0]["message"]


def test_permission_errors_are_per_file_even_as_root(tmp_path, monkeypatch, sagewise):
    """The same paths as above, with the operating system's refusals simulated (root is never refused)."""
    from auditor import discovery

    real_open, real_scandir = os.open, os.scandir

    def refusing_open(path, *args, **kwargs):
        if os.path.basename(path) == "secret.yaml":
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)

    def refusing_scandir(path="."):
        if os.path.basename(os.fspath(path)) == "locked":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    (tmp_path / "good.yaml").write_text(M4_ENDPOINT)
    (tmp_path / "secret.yaml").write_text(M4_ENDPOINT)
    (tmp_path / "locked").mkdir()
    monkeypatch.setattr(discovery.os, "open", refusing_open)
    monkeypatch.setattr(discovery.os, "scandir", refusing_scandir)
    monkeypatch.chdir(tmp_path)
    report = _report(sagewise("lint", ".", "--format", "json", "--isolated"))
    assert sorted((e["file"], e["message"]) for e in report["errors"]) == [
        ("locked", "cannot list this directory: Permission denied"), ("secret.yaml", "permission denied")]
    assert {(f["rule_id"], f["line"]) for f in report["findings"]} == GOOD_FINDINGS


# -- values CloudFormation rejects ------------------------------------------------------------------------------

HEADER = '{"AWSTemplateFormatVersion": "2010-09-09",\n "Resources": {"T": {"Type": "AWS::SNS::Topic", "Metadata": '


@pytest.mark.parametrize(("name", "content", "line", "words"), [
    ("nan.json", HEADER + '{"n": NaN}}}}\n', 2, ("NaN",)),
    ("infinity.json", HEADER + '{"n": [1, -Infinity]}}}}\n', 2, ("-Infinity",)),
    ("long-int.json", HEADER + '{"n": ' + "9" * 5000 + "}}}}\n", 2, ("5000 digits",)),
    ("long-int.yaml", 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  T:\n    Type: AWS::SNS::Topic\n'
                      "    Metadata:\n      n: " + "9" * 5000 + "\n", 6, ("5000 digits",)),
])
def test_values_python_reads_and_cloudformation_rejects(name, content, line, words, tmp_path, monkeypatch, sagewise):
    (tmp_path / name).write_text(content)
    monkeypatch.chdir(tmp_path)
    result = sagewise("lint", name, "--format", "json", "--isolated")
    report = _report(result)
    assert [(e["file"], e["line"]) for e in report["errors"]] == [(name, line)]
    assert all(word in report["errors"][0]["message"] for word in words)
    assert "internal error" not in report["errors"][0]["message"]
    assert result.exit_code == 2


def test_fifo_output_is_written_in_place(fifo, tmp_path, monkeypatch, sagewise):
    """``-o`` naming a FIFO writes into it (a reader gets the report) rather than replacing it with a file."""
    (tmp_path / "good.yaml").write_text(M4_ENDPOINT)
    monkeypatch.chdir(tmp_path)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    result = sagewise("lint", "good.yaml", "--isolated", "-o", str(fifo))
    reader.join(timeout=30)
    assert result.exit_code == 1
    assert received and received[0].startswith("good.yaml:7:11: SW101")
    assert fifo.is_fifo()
