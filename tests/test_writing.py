"""Reports written with ``-o``: atomic replacement for regular files only; links, devices and streams kept."""

from __future__ import annotations

import os
import stat

import pytest

from sample_templates import M4_ENDPOINT

from auditor.writing import WriteError, write_atomically, write_output


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "good.yaml").write_text(M4_ENDPOINT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _leftovers(directory) -> list:
    return [path.name for path in directory.iterdir() if "sagewise-tmp" in path.name]


def test_a_symlink_is_written_through_and_stays_a_symlink(project, sagewise):
    (project / "reports").mkdir()
    (project / "reports" / "lint.txt").write_text("old report\n")
    (project / "latest.txt").symlink_to("reports/lint.txt")
    assert sagewise("lint", "good.yaml", "--isolated", "-o", "latest.txt").exit_code == 1
    assert (project / "latest.txt").is_symlink()
    assert (project / "reports" / "lint.txt").read_text().startswith("good.yaml:7:11: SW101")
    assert _leftovers(project) == [] and _leftovers(project / "reports") == []


def test_a_dangling_symlink_creates_its_target(project, sagewise):
    (project / "latest.txt").symlink_to("new-report.txt")
    sagewise("lint", "good.yaml", "--isolated", "-o", "latest.txt")
    assert (project / "latest.txt").is_symlink()
    assert (project / "new-report.txt").read_text().startswith("good.yaml:7:11: SW101")


def test_a_character_device_is_written_in_place_not_replaced(project, sagewise):
    """What happened with ``-o /dev/null`` as root: the device node became a regular file. Here on a private
    copy of /dev/null's device numbers, so a regression cannot damage the machine's own."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("creating a device node needs root")
    null = project / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    assert sagewise("lint", "good.yaml", "--isolated", "-o", str(null)).exit_code == 1
    assert stat.S_ISCHR(os.stat(null).st_mode)
    assert _leftovers(project) == []


def test_dev_stdout_is_written_in_place(project, run_module):
    if not os.path.exists("/dev/stdout"):
        pytest.skip("no /dev/stdout")
    completed = run_module("lint", "good.yaml", "--isolated", "-o", "/dev/stdout", cwd=project)
    assert completed.returncode == 1
    assert completed.stdout.startswith("good.yaml:7:11: SW101")


def test_a_directory_is_refused(project, sagewise):
    (project / "out").mkdir()
    result = sagewise("lint", "good.yaml", "--isolated", "-o", "out")
    assert result.exit_code == 2
    assert "is a directory" in result.stderr


def test_replacing_keeps_the_file_mode(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("{}")
    target.chmod(0o640)
    write_atomically(target, b'{"new": true}')
    assert target.read_bytes() == b'{"new": true}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_new_file_gets_the_umask_mode(tmp_path):
    previous = os.umask(0o022)
    try:
        write_output(tmp_path / "new.txt", "x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644


def test_a_failed_write_leaves_the_original_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "report.txt"
    target.write_text("original")

    def failing_replace(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(WriteError, match="No space left on device"):
        write_output(target, "new")
    assert target.read_text() == "original"
    assert _leftovers(tmp_path) == []
