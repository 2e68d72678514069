"""`playbook run --runner beam` prints the local runner's plan, byte for byte (issue 26).

Apache Beam's FnApiRunner, in this process (never Prism: it downloads a binary). Skipped unless
the beam extra is installed (`pip install -e '.[beam]'`); .ci/run installs it, so these run there.
"""

from __future__ import annotations

import io
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from playbook_engine.cli import cli
from playbook_engine.events import parse_jsonl
from playbook_engine.loading import load_config
from playbook_engine.plugins import load_registry
from playbook_engine.runner import run

pytest.importorskip("apache_beam", reason="the beam extra is not installed: pip install -e '.[beam]'")
pytestmark = pytest.mark.beam

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("jsonl", "json", "csv", "md", "table")


def playbook(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), obj={"no_entrypoints": True}, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result


def same_run(playbooks: Path | str, events: Path | str, *options: str) -> tuple[Result, Result]:
    local = playbook("run", str(playbooks), "--events", str(events), *options)
    beam = playbook("run", str(playbooks), "--events", str(events), "--runner", "beam", *options)
    assert beam.stdout == local.stdout
    beam_lines = [line for line in beam.stderr.splitlines() if not line.startswith("playbook: --runner beam:")]
    assert beam_lines == local.stderr.splitlines()  # rejects, warnings, the summary
    return local, beam


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_example_in_every_format(fmt: str) -> None:
    local, beam = same_run(ROOT / "playbooks", ROOT / "examples" / "events.jsonl", "--format", fmt)
    assert local.stdout.strip()
    assert "playbook: --runner beam: 3 parts" in beam.stderr


def test_a_generated_stream_of_ten_thousand_events(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import teams
    from generate import Options

    options = Options(events=2_500, members=250, groups=3, days=45, seed=7)
    with open(tmp_path / "events.jsonl", "w", encoding="utf-8") as stream:
        count = teams.write(4, options, stream)
    assert count >= 10_000
    teams.write_playbooks(tmp_path / "playbooks", 4, options, capacity=6)
    local, beam = same_run(tmp_path / "playbooks", tmp_path / "events.jsonl", "--format", "jsonl")
    assert len(local.stdout.splitlines()) > 500
    parts = int(beam.stderr.split("playbook: --runner beam: ")[1].split(" part")[0])
    assert parts >= 2


COMMUNITY = """\
community:
  name: 两队
  timezone: Asia/Shanghai
  language: zh-CN
  channel: wechat
  groups:
    - {id: a1, name: 甲队一群}
    - {id: b1, name: 乙队一群}
  operators:
    - {id: op-a, name: 甲, groups: [a1], capacity: 1}
    - {id: op-b, name: 乙, groups: [b1], capacity: 1}
"""

CARE = """\
playbook: care
title: 沉默关怀
description: 沉默两天的成员，私信问候；测试用。
rules:
  - id: nudge
    title: 沉默 2 天：私信
    description: 两天没说话就私信问候：容量一天一条，多的顺延到第二天，到期前又说话了就不用再发。
    when: {silence: 2d}
    deadline: 4d
    do:
      - dm: "{{ member.name }}，最近好吗？"
"""


def scenario_events() -> list[dict[str, Any]]:
    """Per team: three members write on day 1 and fall silent (silence timers on day 3); the
    third writes again on day 4, before the task capacity moved to day 5 is due; the history
    goes on to day 8."""
    events = []
    for team in ("a", "b"):
        for index, minute in enumerate((0, 5, 10), 1):
            events.append({"ts": f"2026-03-01T10:{minute:02d}:00+08:00", "type": "message", "group": f"{team}1", "member": f"{team}{index}", "name": f"{team.upper()}{index}", "text": "大家好"})
        events.append({"ts": "2026-03-04T09:00:00+08:00", "type": "message", "group": f"{team}1", "member": f"{team}3", "text": "我回来了"})
        events.append({"ts": "2026-03-08T09:00:00+08:00", "type": "message", "group": f"{team}1", "member": f"{team}1", "text": "早"})
    events.sort(key=lambda event: event["ts"])
    return events


def test_timers_a_capacity_spill_and_a_due_time_recheck(tmp_path: Path) -> None:
    (tmp_path / "community.yaml").write_text(COMMUNITY, encoding="utf-8")
    (tmp_path / "care.yaml").write_text(textwrap.dedent(CARE), encoding="utf-8")
    lines = "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in scenario_events())
    (tmp_path / "events.jsonl").write_text(lines, encoding="utf-8")
    local, beam = same_run(tmp_path, tmp_path / "events.jsonl", "--format", "jsonl")
    assert "playbook: --runner beam: 2 parts" in beam.stderr
    # What the local plan is, so that the equality above is about a plan with all three in it.
    config = load_config([tmp_path], load_registry(entrypoints=False))
    result = run(config, parse_jsonl(io.StringIO(lines)))
    planned = {(task.member, task.due) for task in result.tasks}
    tz = config.community.tz
    from datetime import datetime

    days = {member: datetime.fromtimestamp(due, tz).day for member, due in planned}
    assert days["a1"] == 3 and days["a2"] == 4 and days["b2"] == 4  # the second of the day's two moved to the next day (capacity 1)
    # The third was moved too, and had written again (day 4) before it was due: dropped as stale;
    # the silence that began then is the one planned for (day 6).
    assert days["a3"] == 6 and days["b3"] == 6
    assert result.planner is not None and result.planner.suppressed_counts["stale"] == 2
    assert sorted(json.loads(line)["member"] for line in local.stdout.splitlines()) == ["a1", "a2", "a3", "b1", "b2", "b3"]


def test_parts_joined_after_a_first_pipeline_are_run_in_a_second(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import teams
    from generate import Options

    from tests.test_partition import DESK

    options = Options(events=400, members=40, groups=2, days=12, seed=5)
    teams.write_playbooks(tmp_path / "playbooks", 3, options, capacity=2)
    (tmp_path / "playbooks" / "member-desk.yaml").write_text(DESK, encoding="utf-8")
    with open(tmp_path / "events.jsonl", "w", encoding="utf-8") as stream:
        teams.write(3, options, stream)
    _, beam = same_run(tmp_path / "playbooks", tmp_path / "events.jsonl", "--format", "csv")
    assert "joined and run again: 1 round" in beam.stderr


def test_a_run_leaves_no_folders_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shards and outcomes go to a temporary folder; a run removes what it made, in its own
    folder (the default) and inside a `temp_location` the user gives."""
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    example = [str(ROOT / "playbooks"), "--events", str(ROOT / "examples" / "events.jsonl")]
    playbook("run", *example, "--runner", "beam")
    assert list(scratch.iterdir()) == []
    given = tmp_path / "given"
    given.mkdir()
    playbook("run", *example, "--runner", "beam", "--beam-option", f"temp_location={given}")
    assert list(given.iterdir()) == []
