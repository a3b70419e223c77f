"""The README's example output is what the tool prints on the repository's own examples."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_opening_example_is_the_real_output(sagewise, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```console\n\$ sagewise lint examples/\n(.*?)```\n", readme, re.DOTALL)
    assert block, "the README's opening example is missing"
    monkeypatch.chdir(ROOT)
    result = sagewise("lint", "examples/", "--isolated")
    assert result.exit_code == 1
    assert result.stdout == block.group(1)


def test_the_fix_diff_example_is_the_real_output(sagewise, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- fix-diff:start -->\n", 1)[1].split("<!-- fix-diff:end -->", 1)[0]
    expected = block.removeprefix("```console\n$ sagewise fix --diff examples/\n").removesuffix("```\n")
    monkeypatch.chdir(ROOT)
    result = sagewise("fix", "--diff", "examples/", "--isolated")
    assert result.exit_code == 1
    assert result.stdout + result.stderr == expected
    assert (ROOT / "examples" / "templates" / "churn.yaml").read_text().count("${Endpoint}") == 1  # nothing written
