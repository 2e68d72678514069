"""`playbook forecast`: from a real --state database (a real nightly `playbook run --state` of the
shipped playbooks over the first week of the example book club, Lily's capacity cut to 3 a day,
one task marked done), each operator's tasks per day with no new events — the same a later real
run plans with the clock moved on and no events — against capacity; the days over it named;
the state left byte for byte as it was."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from playbook_engine import hookimpl
from playbook_engine.cli import cli, main
from playbook_engine.forecast import forecast
from playbook_engine.loading import load_config
from playbook_engine.plugins import Registry, get_plugin_manager, load_registry
from playbook_engine.runner import run
from playbook_engine.state import SCHEMA_VERSION, StateStore
from tests.conftest import ROOT, records, write_jsonl

CAPACITY = 3
GIVEN = "data IS NOT NULL AND status NOT IN ('stale', 'displaced')"
LOCAL_DAY = "date(due, 'unixepoch', '+8 hours')"  # the example community is in Asia/Shanghai


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(entrypoints=False)


def playbooks(directory: Path, capacity: int | None, language: str = "zh-CN") -> Path:
    """The shipped playbooks, Lily's capacity set to ``capacity`` (None: none), in ``language``."""
    shutil.copytree(ROOT / "playbooks", directory)
    community = (directory / "community.yaml").read_text(encoding="utf-8")
    assert "capacity: 40," in community and "language: zh-CN" in community
    community = community.replace("capacity: 40,", f"capacity: {capacity}," if capacity is not None else "").replace("language: zh-CN", f"language: {language}")
    # Nobody else's: Lily's the only capacity, as the figures below count hers.
    community = re.sub(r"(\{id: op-(?:may|kai),[^}]*?) capacity: \d+,", r"\1", community)
    if capacity is None:
        assert not re.search(r"\{id: op-[^}]* capacity:", community)
    (directory / "community.yaml").write_text(community, encoding="utf-8")
    return directory


def invoke(registry: Registry, *args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), obj={"registry": registry})
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def club(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> tuple[Path, Path]:
    """(playbooks, state): one nightly run over the club's first week, then a task marked done."""
    folder = tmp_path_factory.mktemp("club")
    events = [json.loads(line) for line in (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    week = write_jsonl(folder / "week1.jsonl", [event for event in events if event["ts"] < "2026-03-08"])
    directory, state = playbooks(folder / "pb", CAPACITY), folder / "ops.db"
    invoke(registry, "run", str(directory), "--events", str(week), "--state", str(state), "--format", "jsonl")
    with sqlite3.connect(state) as db:
        (marked,) = db.execute(f"SELECT id FROM tasks WHERE {GIVEN} ORDER BY due DESC, id LIMIT 1").fetchone()
    invoke(registry, "tasks", "mark", "--state", str(state), marked, "--status", "done", "--at", "2026-03-07 22:00")
    return directory, state


def forecast_json(registry: Registry, directory: Path, state: Path, days: int = 14) -> dict[str, Any]:
    return json.loads(invoke(registry, "forecast", str(directory), "--state", str(state), "--days", str(days), "--format", "json").stdout)


def given_by_day(state: Path, start: str, end: str) -> Counter[tuple[str, str, str]]:
    """(local day, operator, playbook) → the tasks the state holds as given, due in [start, end)."""
    with sqlite3.connect(state) as db:
        rows = db.execute(f"SELECT {LOCAL_DAY}, assignee, rule FROM tasks WHERE {GIVEN} AND {LOCAL_DAY} >= ? AND {LOCAL_DAY} < ?", (start, end)).fetchall()
    return Counter((day, assignee, rule.split("/")[0]) for day, assignee, rule in rows)


def later_run(registry: Registry, tmp_path: Path, state: Path, directory: Path, until: str) -> Path:
    """A real run on a copy of ``state`` with no new events, the clock moved on to ``until``."""
    copy = tmp_path / "later.db"
    shutil.copyfile(state, copy)
    empty = tmp_path / "none.jsonl"
    empty.write_text("", encoding="utf-8")
    invoke(registry, "run", str(directory), "--events", str(empty), "--state", str(copy), "--until", until, "--format", "jsonl")
    return copy


def test_the_forecast_counts_what_a_later_run_with_no_events_plans_before_capacity(club: tuple[Path, Path], tmp_path: Path, registry: Registry) -> None:
    """Per day, operator and playbook, the forecast is what a real run with the clock moved on
    to its end and no events leaves the state holding as given, capacity taken away: the tasks
    marked or printed before and the ones the timers add, each on its day."""
    directory, state = club
    found = forecast_json(registry, directory, state)
    assert found["from"] == "2026-03-07T21:49:55+08:00" and found["until"] == "2026-03-21T00:00:00+08:00"
    days = [row["day"] for row in found["load"]]
    assert days[0] == "2026-03-07" and len(set(days)) == 14
    copy = later_run(registry, tmp_path, state, playbooks(tmp_path / "uncapped", None), found["until"])
    expected = given_by_day(copy, days[0], "2026-03-21")
    forecast = Counter({(row["day"], row["operator"], playbook): count for row in found["load"] for playbook, count in row["playbooks"].items()})
    assert forecast == expected
    assert sum(expected.values()) > 20  # silence nudges, stage moves, festivals, scheduled posts …
    assert len({playbook for _, _, playbook in expected}) >= 5
    assert all(row["tasks"] == sum(row["playbooks"].values()) for row in found["load"])
    # The first (partial) day is counted as the later run counts it. (The task marked done is
    # the week's last, due before the forecast starts: silent-member-care waits 7 days before its
    # first nudge, so the club's first week may leave nothing due on the 7th.)
    assert sum(row["tasks"] for row in found["load"] if row["day"] == "2026-03-07") == sum(count for (day, _, _), count in expected.items() if day == "2026-03-07")


def generated_history(seed: int) -> list[dict[str, Any]]:
    """1,500 events of 300 members in two groups over 20 days (bench/generate.py)."""
    import io
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from generate import Options
    from generate import write as generate

    stream = io.StringIO()
    generate(Options(events=1_500, members=300, groups=2, days=20, seed=seed), stream)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


TWO_OPERATORS = {
    "    - {id: op-lily, name: Lily, groups: [g1, g4], capacity: 40,": "    - {id: op-ben, name: Ben, groups: [g2], capacity: 4}\n    - {id: op-lily, name: Lily, groups: [g1], capacity: 6, pace: 20m,",
}
OTHER_OPERATORS = re.compile(r"^    - \{id: op-(may|kai),.*\n", re.MULTILINE)  # the shipped community's: not in this test


@pytest.mark.parametrize(("seed", "cut"), [(1, "2026-03-09"), (2, "2026-03-14T13"), (5, "2026-03-17")], ids=["day-9", "day-14-noon", "day-17"])
def test_on_a_generated_history_two_operators_with_pace_get_what_a_later_run_plans(tmp_path: Path, registry: Registry, seed: int, cut: str) -> None:
    """The equivalence again, where more is at stake: 300 members, two groups with an operator
    each, one with a pace, capacity already binding when the history stops (days the last run
    left open, tasks moved and dropped), two nights of history before it."""
    directory = tmp_path / "pb"
    shutil.copytree(ROOT / "playbooks", directory)
    community = (directory / "community.yaml").read_text(encoding="utf-8")
    community = OTHER_OPERATORS.sub("", community)
    for old, new in TWO_OPERATORS.items():
        assert old in community
        community = community.replace(old, new)
    (directory / "community.yaml").write_text(community, encoding="utf-8")
    config = load_config([directory], registry)
    events = generated_history(seed)
    state = tmp_path / "ops.db"
    middle = "2026-03-05"
    for part in ([event for event in events if event["ts"] < middle], [event for event in events if middle <= event["ts"] < cut]):
        store = StateStore.open(str(state))
        run(config, records(part), state=store).save_state()
        store.close()
    before = state.read_bytes()
    store = StateStore.open(str(state), read_only=True)
    found = forecast(config, store, 10)
    store.close()
    assert state.read_bytes() == before
    # The real run: a copy of the state, no events, the clock moved on, no capacities.
    copy = tmp_path / "later.db"
    shutil.copyfile(state, copy)
    uncapped = load_config([directory], registry)
    for operator in uncapped.community.operators:
        operator.capacity = None
    store = StateStore.open(str(copy))
    run(uncapped, [], until=found.until, state=store).save_state()
    store.close()
    first, end = found.days[0].isoformat(), found.days[-1].isoformat() + "~"
    expected = given_by_day(copy, first, end)
    assert Counter({(load.day.isoformat(), load.operator, playbook): count for load in found.loads for playbook, count in load.playbooks.items()}) == expected
    per_operator = Counter(operator for _, operator, _ in expected.elements())
    assert per_operator["op-ben"] > 10 and per_operator["op-lily"] > 10
    assert found.over()  # capacity would bind: the days are named


def test_each_day_over_capacity_is_one_a_real_run_fills_to_capacity(club: tuple[Path, Path], tmp_path: Path, registry: Registry) -> None:
    """The days the forecast finds over capacity are those the real plan (capacity kept) fills to
    the brim; no day of the real plan is over it."""
    directory, state = club
    found = forecast_json(registry, directory, state)
    over = {row["day"] for row in found["over_capacity"]}
    assert over and over == {row["day"] for row in found["load"] if row["operator"] == "op-lily" and row["tasks"] > CAPACITY}
    assert all(row["over"] == row["tasks"] - CAPACITY and row["capacity"] == CAPACITY for row in found["over_capacity"])
    copy = later_run(registry, tmp_path, state, directory, found["until"])
    planned = Counter(day for day, operator, _ in given_by_day(copy, "2026-03-07", "2026-03-21").elements() if operator == "op-lily")
    assert max(planned.values()) <= CAPACITY
    assert all(planned[day] == CAPACITY for day in over)


def test_the_table_names_the_days_over_capacity_and_what_fills_them(club: tuple[Path, Path], registry: Registry) -> None:
    directory, state = club
    found = forecast_json(registry, directory, state)
    result = invoke(registry, "forecast", str(directory), "--state", str(state), "--days", "14")
    out = result.stdout
    assert out.startswith("读书会：未来 14 天每位运营的任务量（从状态库水位线 2026-03-07 21:49 起，只算已设定的定时器，没有新事件）\n")
    assert "日期" in out and "容量" in out and "3月8日 周日" in out
    named = out.split("超出容量的日子：\n")[1].splitlines()
    assert len(named) == len(found["over_capacity"])
    for line, row in zip(named, found["over_capacity"], strict=True):
        day = datetime.fromisoformat(row["day"])
        weekday = "一二三四五六日"[day.weekday()]
        ranked = list(row["playbooks"].items())
        shown = "、".join(f"{name} {count}" for name, count in ranked[:3]) + (f"、其他 {sum(count for _, count in ranked[3:])}" if len(ranked) > 3 else "")
        assert line == f"{day.month}月{day.day}日 周{weekday}：Lily {row['tasks']}/{CAPACITY}，超出 {row['over']}；主要来自 {shown}"
        (in_table,) = [text.strip() for text in out.splitlines() if text.strip().startswith(f"{day.month}月{day.day}日 周{weekday} ")]
        assert in_table.split(None, 6)[2:] == ["Lily", str(row["tasks"]), str(CAPACITY), str(row["over"]), shown]
    assert result.stderr.splitlines()[-1] == f"预测：14 天共 {sum(row['tasks'] for row in found['load'])} 个任务，{len(named)} 个运营日超出容量；状态库没有改动"


def test_the_json_gives_every_day_of_every_operator(club: tuple[Path, Path], registry: Registry) -> None:
    directory, state = club
    found = forecast_json(registry, directory, state, days=3)
    assert set(found) == {"community", "timezone", "from", "until", "days", "operators", "load", "over_capacity"}
    assert found["community"] == "读书会" and found["timezone"] == "Asia/Shanghai" and found["days"] == 3
    assert found["operators"] == [{"id": "op-lily", "name": "Lily"}, {"id": "op-may", "name": "阿May"}, {"id": "op-kai", "name": "小凯"}]
    assert [(row["day"], row["operator"]) for row in found["load"]] == [(day, operator) for day in ("2026-03-07", "2026-03-08", "2026-03-09") for operator in ("op-lily", "op-may", "op-kai")]
    assert found["until"] == "2026-03-10T00:00:00+08:00"
    assert found["over_capacity"] == [row for row in found["load"] if row["over"] > 0]
    for row in found["load"]:
        assert set(row) == {"day", "operator", "tasks", "capacity", "over", "playbooks"}
        assert list(row["playbooks"].values()) == sorted(row["playbooks"].values(), reverse=True)


def test_the_state_is_left_byte_for_byte_as_it_was(club: tuple[Path, Path], registry: Registry) -> None:
    """Nothing is saved: the run goes on in memory, on a connection SQLite refuses to write with."""
    directory, state = club
    before = state.read_bytes()
    files = sorted(path.name for path in state.parent.iterdir())
    forecast_json(registry, directory, state, days=30)
    invoke(registry, "forecast", str(directory), "--state", str(state))
    assert state.read_bytes() == before
    assert sorted(path.name for path in state.parent.iterdir()) == files  # no journal left either


def test_an_english_community_gets_english_words(tmp_path: Path, registry: Registry) -> None:
    directory, state = playbooks(tmp_path / "pb", 2, language="en"), tmp_path / "ops.db"
    events = [json.loads(line) for line in (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    week = write_jsonl(tmp_path / "week1.jsonl", [event for event in events if event["ts"] < "2026-03-08"])
    invoke(registry, "run", str(directory), "--events", str(week), "--state", str(state), "--format", "jsonl")
    result = invoke(registry, "forecast", str(directory), "--state", str(state), "--days", "7")
    out = result.stdout
    assert out.startswith("读书会: each operator's tasks in the next 7 days (from the state's watermark 2026-03-07 21:49, the timers already set, no new events)\n")
    assert "Sun Mar 8" in out and "capacity" in out and "Days over capacity:\n" in out
    assert "\nSun Mar 8: Lily 6/2, 4 over; mostly from kol-discovery 3, " in out, out
    assert "容量" not in out and "超出" not in out
    assert result.stderr.splitlines()[-1].startswith("forecast: ")


def test_without_capacities_there_is_nothing_to_be_over(tmp_path: Path, registry: Registry) -> None:
    directory, state = playbooks(tmp_path / "pb", None), tmp_path / "ops.db"
    invoke(registry, "run", str(directory), "--events", str(ROOT / "examples" / "events.jsonl"), "--state", str(state), "--format", "jsonl")
    out = invoke(registry, "forecast", str(directory), "--state", str(state), "--days", "5").stdout
    assert out.rstrip().endswith("community.yaml 没有给任何运营设容量（capacity），无从比较。")
    assert "超出容量的日子" not in out


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    code = exit_info.value.code
    assert isinstance(code, int)
    return code, capsys.readouterr().err


def test_without_a_state_it_says_what_to_give(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_main(capsys, "forecast", str(ROOT / "playbooks"))
    assert code == 1  # one line, as every error
    assert err == "error: forecast runs on from what a --state database holds (its timers, members and planned tasks) — give it: --state ops.db, the file the nightly `playbook run … --state ops.db` keeps (see `playbook forecast -h`)\n"


def test_a_missing_state_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.db"
    code, err = run_main(capsys, "forecast", str(ROOT / "playbooks"), "--state", str(missing))
    assert (code, err) == (1, f"error: {missing}: no such state file — run `playbook run PATHS --events FILE --state {missing}` first, or check the path\n")
    assert not missing.exists()


def test_a_state_with_no_watermark_is_one_line_and_exit_1(tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    state, empty = tmp_path / "ops.db", tmp_path / "none.jsonl"
    empty.write_text("", encoding="utf-8")
    invoke(registry, "run", str(ROOT / "playbooks"), "--events", str(empty), "--state", str(state), "--format", "jsonl")
    code, err = run_main(capsys, "forecast", str(ROOT / "playbooks"), "--state", str(state))
    assert (code, err) == (1, f"error: {state}: the state has no watermark yet (no run has read an event into it), so no timer is set — run `playbook run PATHS --events FILE --state {state}` first\n")


def test_a_state_of_an_earlier_version_is_refused_untouched(club: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Opening an older state upgrades it, which is a write: the forecast refuses instead."""
    directory, state = club
    old = tmp_path / "old.db"
    shutil.copyfile(state, old)
    with sqlite3.connect(old) as db:
        db.execute("UPDATE meta SET value = '6' WHERE key = 'version'")
    db.close()
    before = old.read_bytes()
    code, err = run_main(capsys, "forecast", str(directory), "--state", str(old))
    assert (code, err) == (1, f"error: {old}: state version 6, written by an earlier engine — it was left untouched; run `playbook run PATHS --events FILE --state {old}` once to bring it to version {SCHEMA_VERSION}, then again\n")
    assert old.read_bytes() == before


def test_the_forecast_command_has_help_ending_in_an_example() -> None:
    result = CliRunner().invoke(cli, ["forecast", "--help"])
    assert result.exit_code == 0
    assert result.output.split("Options:")[0].rstrip().splitlines()[-1].strip() == "Example: playbook forecast playbooks --state ops.db --days 14"


class Observer:
    """A plugin that watches the planned tasks (to forward them, say)."""

    def __init__(self) -> None:
        self.observed: list[str] = []

    @hookimpl
    def task_planned(self, task: Any) -> None:
        self.observed.append(task.id)


def test_the_plugins_observing_planned_tasks_are_not_told_of_forecast_ones(club: tuple[Path, Path], tmp_path: Path) -> None:
    """An observer may forward what it sees: a forecast plans nothing to forward."""
    directory, state = club
    pm = get_plugin_manager(entrypoints=False)
    observer = Observer()
    pm.register(observer, name="observer")
    try:
        watched = Registry.collect(pm)
        found = forecast_json(watched, directory, state)
        assert found["load"] and observer.observed == []
        copy = later_run(watched, tmp_path, state, directory, found["until"])  # a real run is observed
        assert copy.exists() and observer.observed
    finally:
        pm.unregister(observer)


def test_while_a_run_uses_the_state_the_forecast_stops_with_one_line(club: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    directory, state = club
    running = StateStore.open(str(state))  # holds the lock, as a run does until it has saved
    try:
        code, err = run_main(capsys, "forecast", str(directory), "--state", str(state))
    finally:
        running.close()
    assert code == 1
    assert err == f"error: {state}: another run is using this state right now — wait for it to finish, then run again (two runs on one state would plan the same tasks twice)\n"


def test_a_state_a_run_stopped_saving_is_refused_untouched(club: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run killed while saving leaves its journal: putting the state back is a write, for the
    next run to do; the forecast says so (not "damaged") and leaves both files as they are."""
    directory, state = club
    source, stopped = tmp_path / "source.db", tmp_path / "stopped.db"
    shutil.copyfile(state, source)
    db = sqlite3.connect(source, isolation_level=None)
    db.execute("PRAGMA cache_size = 1")  # the save's pages reach the file before it commits
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO meta VALUES ('padding', ?)", ("x" * 200_000,))
    shutil.copyfile(source, stopped)  # as the machine left them when the run was killed
    shutil.copyfile(f"{source}-journal", f"{stopped}-journal")
    db.execute("ROLLBACK")
    db.close()
    before = (stopped.read_bytes(), Path(f"{stopped}-journal").read_bytes())
    code, err = run_main(capsys, "forecast", str(directory), "--state", str(stopped))
    assert (code, err) == (1, f"error: {stopped}: a run stopped half-way through saving (its journal {stopped}-journal is still there) — it was left untouched; the next `playbook run … --state {stopped}` puts it back as it was before that run, then try again\n")
    assert (stopped.read_bytes(), Path(f"{stopped}-journal").read_bytes()) == before
