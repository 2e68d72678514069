"""`playbook run … --report FILE`: the report written after the run — of the --state when one
is given, else of this run alone — the same page `playbook report` writes from that state."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from playbook_engine.cli import cli, main
from playbook_engine.plugins import Registry
from tests.conftest import ROOT, write_jsonl

PLAYBOOKS = str(ROOT / "playbooks")
EVENTS = str(ROOT / "examples" / "events.jsonl")


def invoke(registry: Registry, *argv: str) -> str:
    result = CliRunner().invoke(cli, list(argv), obj={"registry": registry})
    assert result.exit_code == 0, result.output
    return result.output


def test_without_state_the_report_is_that_of_the_run_saved_to_a_state(tmp_path: Path, registry: Registry) -> None:
    """The README's one command: no state file is left behind, and the page is the one
    `playbook report` writes from a state this run would have saved."""
    invoke(registry, "run", PLAYBOOKS, "--events", EVENTS, "--format", "jsonl", "--report", str(tmp_path / "run.html"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run.html"]
    invoke(registry, "run", PLAYBOOKS, "--events", EVENTS, "--format", "jsonl", "--state", str(tmp_path / "ops.db"))
    invoke(registry, "report", PLAYBOOKS, "--state", str(tmp_path / "ops.db"), "--out", str(tmp_path / "report.html"))
    page = (tmp_path / "run.html").read_text(encoding="utf-8")
    assert page == (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "社群运营报告" in page and "状态库不保存容量" not in page  # the run knows the playbooks: capacities drawn


def test_with_state_the_report_covers_every_night_the_state_holds(tmp_path: Path, registry: Registry) -> None:
    state = str(tmp_path / "ops.db")
    events = [json.loads(line) for line in Path(EVENTS).read_text(encoding="utf-8").splitlines() if line.strip()]
    first = write_jsonl(tmp_path / "week1.jsonl", [event for event in events if event["ts"] < "2026-03-08"])
    second = write_jsonl(tmp_path / "week2.jsonl", [event for event in events if event["ts"] >= "2026-03-08"])
    invoke(registry, "run", PLAYBOOKS, "--events", str(first), "--state", state, "--format", "jsonl")
    output = invoke(registry, "run", PLAYBOOKS, "--events", str(second), "--state", state, "--format", "jsonl", "--report", str(tmp_path / "run.html"))
    assert f"{tmp_path / 'run.html'}：报告已写好" in output  # the example community is zh-CN
    invoke(registry, "report", PLAYBOOKS, "--state", state, "--out", str(tmp_path / "report.html"))
    assert (tmp_path / "run.html").read_text(encoding="utf-8") == (tmp_path / "report.html").read_text(encoding="utf-8")


def test_without_the_report_extra_the_run_stops_before_it_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Found missing after a long run, the extra would cost the run: it is looked for first."""
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # import vl_convert: ImportError
    state = tmp_path / "ops.db"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", PLAYBOOKS, "--events", EVENTS, "--format", "jsonl", "--state", str(state), "--report", str(tmp_path / "report.html")])
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "error: the report needs Altair, vl-convert and statsmodels — install them with: pip install 'playbook-engine[report]'\n"
    assert not state.exists() and not (tmp_path / "report.html").exists()


def test_a_report_that_cannot_be_written_fails_the_run_after_its_tasks_and_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "no-such-folder" / "report.html"
    state = tmp_path / "ops.db"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", PLAYBOOKS, "--events", EVENTS, "--format", "jsonl", "--state", str(state), "--report", str(out)])
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert captured.out.count("\n") > 20  # the tasks were printed…
    assert state.exists()  # …and saved: the next night goes on from them
    assert captured.err.endswith(f"error: {out}: No such file or directory — write the report to a folder that exists and can be written\n")
