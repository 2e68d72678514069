"""Partition + run per part + merge gives the local runner's plan, byte for byte (issue 26).

This is the property the Beam runner (engine/beam.py) relies on: it runs the same three steps,
the middle one on its workers. Checked on the shipped example and on generated communities of
several operator teams (bench/teams.py), with members in two groups of their team, mentions,
joins, leaves, removals, capacity spills, pace, a staff account in every team's groups, and
input the local runner rejects (a broken line, an event out of order, a message repeated).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from playbook_engine.contract import Event
from playbook_engine.events import parse_jsonl
from playbook_engine.loading import load_config
from playbook_engine.model import Config
from playbook_engine.output import render_summary
from playbook_engine.partition import WHOLE, partition, run_split, screen
from playbook_engine.plugins import Registry, load_registry
from playbook_engine.runner import RunResult, run

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import teams  # noqa: E402
from generate import Options  # noqa: E402

FORMATS = ("jsonl", "json", "csv", "md", "table")
HORIZON = 86400.0  # the command line's --max-future 1d


def outputs(registry: Registry, config: Config, result: RunResult) -> dict[str, str]:
    """The plan in every format, the summary, the warnings and the rejects: what a run prints."""
    community = config.community
    context = {"tz": community.tz, "title": "计划", "width": None, "language": community.language, "actions": community.action_names}
    printed = {}
    for name in FORMATS:
        stream = io.StringIO()
        registry.formats[name].write(result.tasks, stream, context)
        printed[name] = stream.getvalue()
    printed["summary"] = render_summary(result, community)
    printed["warnings"] = f"{result.undeclared_groups(community)}\n{result.unassigned_groups(community)}"
    printed["rejected"] = "\n".join(f"{item.line}: {item.reason}: {item.text}" for item in result.rejected)
    return printed


def both(config: Config, text: str, **options: Any) -> tuple[RunResult, RunResult, int]:
    local = run(config, parse_jsonl(io.StringIO(text)), keep_suppressed=False, max_future=HORIZON, **options)
    split, parts = run_split(config, parse_jsonl(io.StringIO(text)), max_future=HORIZON, **options)
    assert parts.note is None
    return local, split, len(parts.parts)


def _epoch(day: Any) -> float:
    from datetime import UTC, datetime, time

    return datetime.combine(day, time(0), UTC).timestamp()


def split_rounds(config: Config, text: str) -> int:
    return run_split(config, parse_jsonl(io.StringIO(text)), max_future=HORIZON)[1].rounds


def without_staff_count(summary: str) -> str:
    """The summary less the count of firings about staff skipped: a staff account writing in
    several parts has, in each, a silence and a stage of that part alone (engine/partition.py)."""
    return " · ".join(part for part in summary.split(" · ") if "员工" not in part)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(entrypoints=False)


def test_the_example_is_two_parts_and_the_same_plan(registry: Registry) -> None:
    config = load_config([ROOT / "playbooks"], registry)
    text = (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8")
    local, split, count = both(config, text)
    assert count == 3  # Lily's g1/g4, 阿May's g2, 小凯's g3 (their members' profile lines plan nothing for Lily: checked after the run)
    assert local.tasks and outputs(registry, config, local) == outputs(registry, config, split)


def test_the_example_with_until_and_from(registry: Registry) -> None:
    config = load_config([ROOT / "playbooks"], registry)
    text = (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8")
    tz = config.community.tz
    from playbook_engine.events import parse_time

    local, split, _ = both(config, text, start=parse_time("2026-03-10", tz), until=parse_time("2026-03-20", tz))
    assert local.counts["after_until"] > 0
    assert outputs(registry, config, local) == outputs(registry, config, split)


# Every new member is registered by team 2's operator, whichever team's group they join: the
# teams' parts meet there, which only the run shows (engine/partition.py, ``joins``).
DESK = """\
playbook: member-desk
title: 新人登记
description: 新成员由乙队运营统一登记进会员表，不分队（测试分区合并用）。
rules:
  - id: log
    title: 新人入群：通知登记
    description: 会员表只有一份，由一个人统一登记，避免各队重复建档。
    when: {event: member_joined}
    assignee: op-2
    do:
      - notify: "{{ member.name }} 刚入群，请登记进会员表。"
"""


def history(team_count: int, per_team: int, days: int, seed: int, boss: bool, damage: bool) -> str:
    options = Options(events=per_team, members=max(12, per_team // 8), groups=2, days=days, seed=seed)
    lines = [json.dumps(record, ensure_ascii=False) for record in teams.records(team_count, options, boss)]
    if damage and len(lines) > 40:
        third = len(lines) // 3
        message = next(line for line in lines[third:] if '"type": "message"' in line and '"id"' in line)
        lines.insert(lines.index(message) + 1, message)  # the same message twice
        lines.insert(2 * third, lines[third])  # an event out of time order
        lines.insert(third, '{"ts": "not a time", "type": "message"}')
    return "\n".join(lines) + "\n"


@settings(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    team_count=st.integers(2, 5),
    per_team=st.integers(120, 260),
    days=st.integers(8, 16),
    seed=st.integers(0, 10_000),
    capacity=st.integers(1, 6),
    pace=st.sampled_from([None, "10m", "1h"]),
    boss=st.booleans(),
    damage=st.booleans(),
    desk=st.booleans(),
    cut=st.sampled_from([None, None, 0.5, 0.8]),
)
def test_several_teams_give_the_same_plan_part_by_part(tmp_path_factory: pytest.TempPathFactory, registry: Registry, team_count: int, per_team: int, days: int, seed: int, capacity: int, pace: str | None, boss: bool, damage: bool, desk: bool, cut: float | None) -> None:
    directory = tmp_path_factory.mktemp("teams")
    options = Options(events=per_team, members=max(12, per_team // 8), groups=2, days=days, seed=seed)
    teams.write_playbooks(directory, team_count, options, capacity, pace, boss)
    if desk:
        (directory / "member-desk.yaml").write_text(DESK, encoding="utf-8")
    config = load_config([directory], registry)
    text = history(team_count, per_team, days, seed, boss, damage)
    until = {} if cut is None else {"until": _epoch(options.start) + cut * days * 86400 + 1234}  # --until inside a day, before the end of the history
    local, split, count = both(config, text, **until)
    event(f"parts: {count}")  # fewer than the teams when tasks of two teams met at one operator: joined, run again
    mine, theirs = outputs(registry, config, local), outputs(registry, config, split)
    if boss:
        mine["summary"], theirs["summary"] = without_staff_count(mine["summary"]), without_staff_count(theirs["summary"])
    assert mine == theirs
    if damage:
        assert len(local.rejected) >= 3
    if desk and any(task.rule == "log" and task.group is not None and not task.group.startswith("t2-") for task in local.tasks):
        assert split_rounds(config, text) >= 1
    if capacity <= 2:
        assert local.planner is not None and local.planner.suppressed_counts  # the days are full: capacity drops or moves tasks


def test_partition_is_a_pure_function_of_config_and_events(registry: Registry) -> None:
    config = load_config([ROOT / "playbooks"], registry)
    text = (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8")
    events = screen(config, parse_jsonl(io.StringIO(text))).events
    first, second = partition(config, events), partition(config, list(events))
    assert first == second and list(first) == sorted(first)
    assert sorted(event.line for part in first.values() for event in part) == [event.line for event in events]  # no staff line with no group: each event once
    for part in first.values():
        assert [event.line for event in part] == sorted(event.line for event in part)  # in input order


def test_a_catch_all_operator_joins_the_groups_it_takes(registry: Registry, tmp_path: Path) -> None:
    import yaml

    options = Options(events=150, members=20, groups=2, days=6, seed=3)
    teams.write_playbooks(tmp_path, 3, options)
    community = tmp_path / "community.yaml"
    data = yaml.safe_load(community.read_text(encoding="utf-8"))
    del data["community"]["operators"][2]["groups"]  # op-3 takes every group no one else lists
    community.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    config = load_config([tmp_path], registry)
    lines = [json.dumps(record, ensure_ascii=False) for record in teams.records(3, options)]
    lines.append(json.dumps({"ts": "2026-03-06T23:59:00+08:00", "type": "message", "group": "new-g9", "member": "x1", "text": "大家好"}, ensure_ascii=False))
    events = screen(config, parse_jsonl(io.StringIO("\n".join(lines) + "\n"))).events
    parts = partition(config, events)
    with_new = [key for key, part in parts.items() if "new-g9" in part_groups(part)]
    assert len(with_new) == 1 and {"t3-g1", "t3-g2"} <= part_groups(parts[with_new[0]])  # an undeclared group is the catch-all's
    assert any(part_groups(part) == {"t2-g1", "t2-g2"} for part in parts.values())  # team 2 is still apart
    local, split, _ = both(config, "\n".join(lines) + "\n")
    assert outputs(registry, config, local) == outputs(registry, config, split)


def part_groups(events: list[Event]) -> set[str]:
    return {event.group for event in events if event.group is not None}


def test_a_plugin_trigger_makes_the_community_one_part(registry: Registry, tmp_path: Path) -> None:
    from playbook_engine.partition import unsplittable

    config = load_config([ROOT / "playbooks"], registry)
    assert unsplittable(config) is None
    rule = config.rules[0]
    foreign = type("Foreign", (type(rule.trigger),), {"__module__": "someone_else.triggers"})
    original = rule.trigger.__class__
    try:
        rule.trigger.__class__ = foreign
        why = unsplittable(config)
        assert why is not None and "plugin" in why
        events = screen(config, parse_jsonl(io.StringIO((ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8")))).events
        assert list(partition(config, events)) == [WHOLE]
    finally:
        rule.trigger.__class__ = original


def test_without_the_beam_extra_the_runner_says_how_to_install_it() -> None:
    import subprocess

    program = "import sys; sys.modules['apache_beam'] = None; from playbook_engine.cli import main; main()"  # None: `import apache_beam` fails, as when it is not installed
    done = subprocess.run([sys.executable, "-c", program, "run", str(ROOT / "playbooks"), "--events", str(ROOT / "examples" / "events.jsonl"), "--runner", "beam"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "install it with: pip install 'playbook-engine[beam]'" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(("option", "said"), [(["--state", "ops.db"], "run the daily `--state` runs with the local runner"), (["--explain"], "with the local runner"), (["--report", "r.html"], "playbook report"), (["--beam-option", "runner=FlinkRunner", "--runner", "local"], "only with --runner beam")])
def test_what_the_beam_runner_refuses_it_refuses_before_reading(tmp_path: Path, option: list[str], said: str) -> None:
    from click.testing import CliRunner

    from playbook_engine.cli import cli

    option = [str(tmp_path / item) if item in ("ops.db", "r.html") else item for item in option]
    arguments = ["run", str(ROOT / "playbooks"), "--events", str(ROOT / "examples" / "events.jsonl"), "--runner", "beam", *option]
    result = CliRunner().invoke(cli, arguments, obj={"no_entrypoints": True})
    assert result.exit_code == 2 and said in result.stderr
    assert not list(tmp_path.iterdir())  # no state opened, no report written


def test_a_long_chain_of_groups_is_one_part_and_two_chains_two(registry: Registry) -> None:
    config = load_config([ROOT / "playbooks"], registry)
    base = 1_772_330_000.0
    events = []
    for chain in ("x", "y"):  # member i writes in groups i-1 and i: each chain joins its 3,000 groups
        for index in range(3_000):
            for group in {max(index - 1, 0), index}:
                events.append(Event(t=base + len(events), type="message", group=f"{chain}g{group}", member=f"{chain}m{index}", line=len(events) + 1))
    parts = partition(config, events)
    assert sorted(parts) == ["xg0", "yg0"]
    assert [len(part) for part in parts.values()] == [len(events) // 2] * 2


def test_parts_whose_tasks_meet_at_one_operator_are_joined_and_run_again(registry: Registry, tmp_path: Path) -> None:
    options = Options(events=400, members=40, groups=2, days=12, seed=5)
    teams.write_playbooks(tmp_path, 3, options, capacity=2)
    (tmp_path / "member-desk.yaml").write_text(DESK, encoding="utf-8")
    config = load_config([tmp_path], registry)
    text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in teams.records(3, options))
    local, split, count = both(config, text)
    desk = [task for task in local.tasks if task.rule == "log"]
    assert {task.assignee for task in desk} == {"op-2"}
    assert any(not (task.group or "").startswith("t2-") for task in desk)  # from another team's group too
    rounds = run_split(config, parse_jsonl(io.StringIO(text)), max_future=HORIZON)[1].rounds
    assert rounds >= 1 and count < 3  # another team's joins went to op-2: its part was joined with team 2's
    assert outputs(registry, config, local) == outputs(registry, config, split)
    # Without the desk, the same teams are three parts, run once.
    (tmp_path / "member-desk.yaml").unlink()
    config = load_config([tmp_path], registry)
    alone = run_split(config, parse_jsonl(io.StringIO(text)), max_future=HORIZON)[1]
    assert alone.rounds == 0 and len(alone.parts) == 3


def test_the_workers_get_the_playbooks_texts_and_load_them_in_the_same_order(registry: Registry, tmp_path: Path) -> None:
    import pickle
    import shutil

    from playbook_engine.beam import _RunPart, bundle

    directory = tmp_path / "playbooks"
    shutil.copytree(ROOT / "playbooks", directory)
    work = pickle.loads(pickle.dumps(_RunPart(bundle([str(directory)]), False, None, None, None)))  # as Beam ships a DoFn
    shutil.rmtree(directory)  # a worker does not see the driver's disk
    work.setup()
    config = load_config([ROOT / "playbooks"], registry)
    assert [rule.key for rule in work.config.rules] == [rule.key for rule in config.rules]
    assert [rule.order for rule in work.config.rules] == [rule.order for rule in config.rules]
    assert work.config.community.content == config.community.content and work.config.community.content
