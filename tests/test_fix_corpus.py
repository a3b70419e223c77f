"""``sagewise fix --unsafe-fixes`` over a copy of the real-world corpus (``../shared/corpus``).

Nobody here wrote these files, so they are the honest test of minimal edits: every file the fix changes
must still parse, lose no line it did not touch (comments included), come out the same from a second fix,
and give cfn-lint no error it did not have; every file it does not change stays byte-identical.
"""

from __future__ import annotations

import difflib
import shutil
from collections import Counter
from pathlib import Path

import pytest

from auditor.fixers.apply import FixOptions
from auditor.lint import lint_paths
from auditor.rules import load_rules

RULES = load_rules()
PARAMS = {rule.id: rule.default_params() for rule in RULES}


@pytest.fixture(scope="module")
def fixed(tmp_path_factory):
    corpus = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    if not corpus.is_dir():
        pytest.skip(f"{corpus} is absent: the shared corpus checkout must sit beside the repository")
    copy = tmp_path_factory.mktemp("corpus") / "corpus"
    shutil.copytree(corpus, copy)
    result = lint_paths([str(copy)], RULES, fixing=FixOptions(unsafe=True, params=PARAMS), root=copy)
    return corpus, copy, result


def _changed(fixed) -> list[Path]:
    corpus, copy, _ = fixed
    return sorted(path.relative_to(copy) for path in copy.rglob("*")
                  if path.is_file() and path.read_bytes() != (corpus / path.relative_to(copy)).read_bytes())


def test_the_fix_changes_the_files_it_reports_and_no_other(fixed):
    _, copy, result = fixed
    reported = sorted(Path(shown).resolve().relative_to(copy.resolve()) for shown, _ in result.fixed)
    assert _changed(fixed) == reported
    assert len(reported) >= 5  # the corpus has fixable findings: this is not a test of nothing


def test_changed_files_keep_every_line_they_did_not_touch(fixed):
    corpus, copy, _ = fixed
    for name in _changed(fixed):
        before = (corpus / name).read_text(encoding="utf-8").splitlines(keepends=True)
        after = (copy / name).read_text(encoding="utf-8").splitlines(keepends=True)
        changes = difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes()
        removed = [line for tag, i1, i2, _, _ in changes if tag in ("replace", "delete") for line in before[i1:i2]]
        # Only scalars are replaced (an instance type, a cooldown, a ResourceId): one line each, never a comment.
        assert all("#" not in line.split(":", 1)[0] for line in removed), (name, removed)
        assert len(removed) <= 6, (name, removed)


def test_a_second_fix_changes_nothing(fixed):
    _, copy, _ = fixed
    again = lint_paths([str(copy)], RULES, fixing=FixOptions(unsafe=True, params=PARAMS), root=copy)
    assert again.fixed == []


def test_cfn_lint_finds_no_new_error_in_a_fixed_corpus_file(fixed):
    pytest.importorskip("cfnlint")
    from cfnlint.api import ManualArgs, lint

    def errors(text: str) -> Counter:
        return Counter(match.rule.id for match in lint(text, config=ManualArgs(regions=["us-east-1"]))
                       if match.rule.id.startswith("E"))

    corpus, copy, _ = fixed
    for name in _changed(fixed):
        if name.suffix not in (".yaml", ".yml", ".json", ".template") or ".asl." in name.name:
            continue
        new = errors((copy / name).read_text(encoding="utf-8")) - errors((corpus / name).read_text(encoding="utf-8"))
        assert new == Counter(), (name, dict(new))
