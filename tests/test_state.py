"""--state: consecutive runs continue one another, a killed run changes nothing, foreign files are refused."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from playbook_engine.cli import cli
from playbook_engine.plugins import load_registry
from tests.conftest import ROOT, write_jsonl

EXAMPLE = ROOT / "examples" / "events.jsonl"


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args), obj={"registry": load_registry(entrypoints=False)})
    return result


def run_tasks(events: Path, state: Path | None = None) -> list[dict]:
    args = ["run", str(ROOT / "playbooks"), "--events", str(events), "--format", "jsonl"]
    if state is not None:
        args += ["--state", str(state)]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def slices(tmp_path: Path, count: int) -> list[Path]:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    size = -(-len(lines) // count)
    paths = []
    for index in range(count):
        path = tmp_path / f"slice{index}.jsonl"
        path.write_text("".join(lines[index * size:(index + 1) * size]), encoding="utf-8")
        paths.append(path)
    return paths


def test_three_consecutive_state_runs_plan_what_one_run_plans(tmp_path):
    whole = run_tasks(EXAMPLE)
    state = tmp_path / "ops.db"
    pieces = [task for piece in slices(tmp_path, 3) for task in run_tasks(piece, state)]
    assert sorted(pieces, key=lambda t: t["id"]) == sorted(whole, key=lambda t: t["id"])
    assert len(whole) > 10


def test_a_rerun_over_the_same_events_plans_nothing_again(tmp_path):
    state = tmp_path / "ops.db"
    assert run_tasks(EXAMPLE, state)
    result = invoke("run", str(ROOT / "playbooks"), "--events", str(EXAMPLE), "--format", "jsonl", "--state", str(state))
    assert result.stdout == ""
    assert "292 条已处理过（`--state` 水位线）" in result.stderr  # the shipped community is zh-CN


def test_the_state_keeps_each_printed_task_as_the_jsonl_line_it_was_printed_as(tmp_path):
    """tasks.data is the task's whole record (what `playbook deliver` shows), and only printed
    tasks have one: a task merged into another is a row for the guardrails, not a message."""
    import sqlite3

    state = tmp_path / "ops.db"
    first, second = slices(tmp_path, 2)
    printed = [line for piece in (first, second) for line in invoke("run", str(ROOT / "playbooks"), "--events", str(piece), "--format", "jsonl", "--state", str(state)).stdout.splitlines()]
    kept = dict(sqlite3.connect(state).execute("SELECT id, data FROM tasks WHERE data IS NOT NULL").fetchall())
    assert sorted(kept.values()) == sorted(printed)
    assert {json.loads(line)["id"] for line in printed} == set(kept)
    assert len(printed) > 10


def test_state_show_describes_a_member(tmp_path):
    # Two weeks of the example: 老李's `asked-why` (7 days from 03-12) has not come off yet.
    half = tmp_path / "two-weeks.jsonl"
    half.write_text("".join(line for line in EXAMPLE.read_text(encoding="utf-8").splitlines(keepends=True) if json.loads(line)["ts"] < "2026-03-15"), encoding="utf-8")
    run_tasks(half, tmp_path / "two-weeks.db")
    result = invoke("state", "show", "--state", str(tmp_path / "two-weeks.db"), "--member", "m03")
    shown = json.loads(result.stdout)
    assert (shown["name"], shown["messages"], shown["last_message_at"]) == ("老李", 2, "2026-03-02T09:36:03+08:00")
    assert [task["rule"] for task in shown["planned_tasks"]] == ["silent-member-care/nudge", "silent-member-care/ask-why"]
    # ask-why's `tag: {tags: asked-why, for: 7d}`: when it comes off, in local time, and its timer
    assert shown["marks"]["@tag-expiry"] == {"asked-why": "2026-03-19T09:36:03+08:00"}
    assert {"due": "2026-03-19T09:36:03+08:00", "handler": "@tag-expiry"} in shown["pending_timers"]
    state = tmp_path / "ops.db"
    run_tasks(EXAMPLE, state)
    summary = invoke("state", "show", "--state", str(state)).stdout
    assert "成员：    29" in summary and "水位线：  2026-04-02T" in summary  # the community that wrote it is zh-CN
    assert "报告用：  51 次阶段变化，12 个提问（3 个有人回答），31 天的计数" in summary


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"name,age\nlily,3\n", id="csv-text"),
        pytest.param(b"SQLite format 3\x00" + bytes(range(256)) * 8, id="damaged-sqlite"),
        pytest.param(b"", id="empty"),  # truncated: starting over would welcome everyone again
    ],
)
def test_a_corrupt_state_file_is_refused_and_left_untouched(tmp_path, content):
    state = tmp_path / "ops.db"
    state.write_bytes(content)
    before = _digest(state)
    result = invoke("run", str(ROOT / "playbooks"), "--events", str(EXAMPLE), "--state", str(state))
    assert result.exit_code == 1
    assert "left untouched" in str(result.exception) or "left untouched" in result.output
    assert _digest(state) == before


def test_a_foreign_sqlite_database_is_refused_and_left_untouched(tmp_path):
    import sqlite3

    state = tmp_path / "crm.db"
    connection = sqlite3.connect(state)
    connection.execute("CREATE TABLE customers (id INTEGER)")
    connection.commit()
    connection.close()
    before = _digest(state)
    process = subprocess.run([sys.executable, "-m", "playbook_engine.cli", "run", str(ROOT / "playbooks"), "--events", str(EXAMPLE), "--state", str(state)], capture_output=True, text=True)
    assert process.returncode == 1
    assert process.stderr.strip() == f"error: {state}: an SQLite database of another program, not a playbook state — it was left untouched; give --state a new file name"
    assert _digest(state) == before


def _busy_history(path: Path, members: int = 1200) -> Path:
    """Enough events that a run takes a noticeable time, so a kill lands mid-run."""
    events = []
    for day in range(1, 15):
        for number in range(members):
            if (number * 7 + day) % 5 == 0:
                events.append({"ts": f"2026-03-{day:02d}T{8 + number % 12:02d}:{number % 60:02d}:00+08:00", "type": "message", "group": f"g{number % 3}", "member": f"m{number}", "text": "hi"})
    events.sort(key=lambda event: event["ts"])
    return write_jsonl(path, events)


def test_a_killed_state_run_changes_nothing_and_the_rerun_plans_exactly_the_same(tmp_path):
    history = _busy_history(tmp_path / "busy.jsonl")
    lines = history.read_text(encoding="utf-8").splitlines(keepends=True)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    second.write_text("".join(lines[len(lines) // 2:]), encoding="utf-8")
    base = tmp_path / "base.db"
    run_tasks(first, base)
    reference = tmp_path / "reference.db"
    shutil.copy(base, reference)
    expected = run_tasks(second, reference)
    assert expected

    command = [sys.executable, "-m", "playbook_engine.cli", "run", str(ROOT / "playbooks"), "--events", str(second), "--format", "jsonl", "--out"]
    started = time.monotonic()
    subprocess.run(command + [str(tmp_path / "timing.jsonl"), "--state", str(tmp_path / "timing.db")], check=True, capture_output=True)
    duration = time.monotonic() - started
    chooser = random.Random(20261125)
    for attempt in range(5):
        state = tmp_path / f"killed{attempt}.db"
        shutil.copy(base, state)
        process = subprocess.Popen(command + [str(tmp_path / f"out{attempt}.jsonl"), "--state", str(state)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(chooser.uniform(0.05, duration * 1.1))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        rerun = run_tasks(second, state)
        written = tmp_path / f"out{attempt}.jsonl"
        delivered = [json.loads(line) for line in written.read_text(encoding="utf-8").splitlines()] if written.exists() else []
        if rerun:
            # Killed before the commit: nothing of that run counts; the rerun plans it all.
            assert rerun == expected, f"attempt {attempt}: the killed run left the state changed"
        else:
            # The run got as far as its commit: its own output already held every task.
            assert delivered == expected, f"attempt {attempt}: committed without delivering its tasks"


def test_the_state_records_the_tasks_capacity_kept_where_it_put_them_and_not_those_it_dropped(tmp_path):
    import sqlite3
    from datetime import datetime

    books = tmp_path / "books"
    books.mkdir()
    (books / "community.yaml").write_text(
        "community:\n  name: t\n  timezone: Asia/Shanghai\n  max_delay: 1d\n  operators:\n    - {id: op, groups: [g1], capacity: 2}\n", encoding="utf-8")
    (books / "p.yaml").write_text('playbook: p\nrules:\n  - id: r\n    when: {event: message}\n    deadline: 7d\n    do:\n      - dm: "hi"\n', encoding="utf-8")
    events = write_jsonl(tmp_path / "e.jsonl", [
        {"ts": f"2026-03-01T0{hour}:00:00+08:00", "type": "message", "group": "g1", "member": f"m{hour}", "text": "hi"} for hour in range(1, 8)
    ])
    state = tmp_path / "ops.db"
    result = invoke("run", str(books), "--events", str(events), "--format", "jsonl", "--state", str(state))
    assert result.exit_code == 0, result.output
    planned = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(planned) == 4 and "3 suppressed (capacity 3)" in result.stderr  # 2 on 03-01, 2 moved to 03-02
    with sqlite3.connect(state) as db:
        saved = {task_id: due for task_id, due in db.execute("SELECT id, due FROM tasks")}
    assert saved == {task["id"]: datetime.fromisoformat(task["due"]).timestamp() for task in planned}


def test_lazy_members_load_saved_members_together_and_remember_the_ones_not_saved(tmp_path):
    from playbook_engine.contract import Member
    from playbook_engine.state import LazyMembers, StateStore, dumps, member_record

    store = StateStore.open(str(tmp_path / "ops.db"))
    saved = {member_id: Member(member_id, name=name, groups={"g1"}, tags={"vip"}, daily=[739736, 2, 739740, 1]) for member_id, name in [("m1", "Ann"), ("m2", "Bo"), ("m3", "Cy")]}
    with store.transaction():
        store.connection.executemany("INSERT INTO members VALUES (?, ?)", [(member_id, dumps(member_record(member))) for member_id, member in saved.items()])
    queries: list[str] = []
    store.connection.set_trace_callback(queries.append)
    members = LazyMembers(store)

    members.prefetch(["m1", "m3", "new", "m1"])
    assert sorted(members) == ["m1", "m3"]
    assert members["m3"] == saved["m3"]
    assert len(queries) == 1
    assert members.get("new") is None and "new" not in members
    assert len(queries) == 1  # known not to be saved: not looked up again
    assert members.get("m2") == saved["m2"]
    assert len(queries) == 2
    members.prefetch(["m1", "m2", "new"])
    assert len(queries) == 2  # all loaded or known absent: no query


def test_a_member_reads_back_the_same_from_its_record_and_from_the_object_version_2_saved():
    from playbook_engine.contract import Member
    from playbook_engine.jsontext import dumps, loads
    from playbook_engine.state import member_from_data, member_record

    member = Member("m1", name="Ann", groups={"g2", "g1"}, group="g2", joined_at=1772326800.0, messages=3, tags={"vip", "a"}, attributes={"city": "杭州"}, stage="growth", daily=[739736, 2, 739740, 1], revision=4, marks={"r#fired": 1.5})
    record = dumps(member_record(member))
    assert record.startswith('["Ann",["g1","g2"],"g2",1772326800.0,')
    assert member_from_data("m1", loads(record)) == member
    version_2 = dumps({
        "name": "Ann", "groups": ["g1", "g2"], "group": "g2", "joined_at": 1772326800.0, "left": False, "last_message_at": None,
        "messages": 3, "questions": 0, "replies": 0, "mentions_received": 0, "activities": 0, "points": 0, "tags": ["a", "vip"],
        "attributes": {"city": "杭州"}, "stage": "growth", "stage_since": None, "daily": [[739736, 2], [739740, 1]], "marks": {"r#fired": 1.5}, "revision": 4,
    })
    assert member_from_data("m1", loads(version_2)) == member


def _welcome_books(tmp_path: Path) -> Path:
    books = tmp_path / "books"
    books.mkdir()
    (books / "community.yaml").write_text("community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: []\n", encoding="utf-8")
    (books / "p.yaml").write_text('playbook: p\nrules:\n  - id: hi\n    when: {event: message}\n    do:\n      - dm: "hi {{ member.name }}"\n', encoding="utf-8")
    return books


def _books_run(books: Path, events: Path, state: Path) -> tuple[list[str], str]:
    result = invoke("run", str(books), "--events", str(events), "--format", "jsonl", "--state", str(state))
    assert result.exit_code == 0, result.output
    return [json.loads(line)["member"] for line in result.stdout.splitlines()], result.stderr


def test_a_run_that_ends_within_a_second_is_continued_by_the_next_one(tmp_path):
    """Exports often end and begin within one second: the next run reads the rest of that
    second, and what the first read of it again is known as read."""
    books = _welcome_books(tmp_path)
    second = [{"ts": "2026-03-01T09:00:00+08:00", "type": "message", "group": "g1", "member": f"m{number}", "id": f"msg-{number}", "text": "hi"} for number in range(1, 4)]
    first = write_jsonl(tmp_path / "first.jsonl", second[:2])
    rest = write_jsonl(tmp_path / "rest.jsonl", second[1:])  # m2 again, then m3 of the same second
    state = tmp_path / "ops.db"
    assert _books_run(books, first, state)[0] == ["m1", "m2"]
    planned, said = _books_run(books, rest, state)
    assert planned == ["m3"]
    assert "1 already processed (--state watermark)" in said
    again, said = _books_run(books, rest, state)  # and once more: all of that second is known
    assert again == [] and "2 already processed" in said


def test_a_second_run_on_a_state_in_use_is_refused_and_changes_nothing(tmp_path):
    """Two runs on one state would both print the same tasks (and one would then fail)."""
    from playbook_engine.state import StateStore

    state = tmp_path / "ops.db"
    first = StateStore.open(str(state))  # a run in progress holds the state
    try:
        command = [sys.executable, "-m", "playbook_engine.cli", "run", str(ROOT / "playbooks"), "--events", str(EXAMPLE), "--format", "jsonl", "--state", str(state)]
        result = subprocess.run(command, capture_output=True, text=True)
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr.startswith(f"error: {state}: another run is using this state right now — wait for it to finish")
        assert "Traceback" not in result.stderr
        shown = invoke("state", "show", "--state", str(state))  # reading only: allowed meanwhile
        assert shown.exit_code == 0, shown.output
    finally:
        first.close()
    assert run_tasks(EXAMPLE, state)  # once it is done, the next run goes ahead


@pytest.mark.parametrize(("damage", "said"), [
    ("DROP TABLE timers", "has no timers table"),
    ("UPDATE meta SET value = 'soon' WHERE key = 'watermark'", "watermark `soon` is not a number"),
    ("UPDATE members SET data = '[1, 2' WHERE id = (SELECT min(id) FROM members)", "is damaged in the state"),
])
def test_a_state_damaged_by_hand_is_refused_in_one_line_and_left_untouched(tmp_path, damage, said):
    import sqlite3

    state = tmp_path / "ops.db"
    first, rest = slices(tmp_path, 2)
    assert run_tasks(first, state)
    with sqlite3.connect(state) as db:
        db.execute(damage)
    db.close()
    before = _digest(state)
    command = [sys.executable, "-m", "playbook_engine.cli", "run", str(ROOT / "playbooks"), "--events", str(rest), "--format", "jsonl", "--state", str(state)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1
    assert said in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert _digest(state) == before
