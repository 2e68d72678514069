"""The corpus of broken playbooks: each case prints exactly its expected problems, exit 1, no traceback.

Each directory under tests/corpus/ is one case: the files to validate and `expected.txt`,
the exact standard error of `playbook validate` run inside that directory. A case without
its own community.yaml is validated with the corpus's valid one (`../community.yaml`).

After a deliberate change of wording, regenerate with
``PLAYBOOK_REGEN_CORPUS=1 pytest tests/test_validate_corpus.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from playbook_engine.cli import main

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(path for path in CORPUS.iterdir() if path.is_dir())


def validate_in(directory: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    monkeypatch.chdir(directory)
    monkeypatch.delenv("PLAYBOOK_DEBUG", raising=False)
    args = ["validate", "."] if (directory / "community.yaml").exists() else ["validate", "../community.yaml", "."]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_broken_file_gets_exactly_the_expected_problems(case: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = validate_in(case, monkeypatch, capsys)
    expected_file = case / "expected.txt"
    if os.environ.get("PLAYBOOK_REGEN_CORPUS") == "1":
        expected_file.write_text(err, encoding="utf-8")
    assert "Traceback" not in err
    assert (status, out) == (1, "")
    assert err == expected_file.read_text(encoding="utf-8")


def test_the_corpus_covers_at_least_forty_broken_files() -> None:
    assert len(CASES) >= 40


def test_the_shared_community_of_the_corpus_is_valid(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(CORPUS)
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "community.yaml"])
    assert exit_info.value.code == 0, capsys.readouterr().err
