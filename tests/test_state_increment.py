"""--state runs read what the increment needs: timers as they come due, history as far back as
the guardrails look; and still equal one run over everything, down to the saved state."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from playbook_engine.clock import Clock, Timer
from playbook_engine.loading import load_config
from playbook_engine.planner import Sent
from playbook_engine.plugins import load_registry
from playbook_engine.runner import run
from playbook_engine.state import SCHEMA_VERSION, LazyMembers, Lookback, StateStore
from tests.conftest import ROOT, config_from, records
from tests.test_clock_properties import COMMUNITY, START, events_from  # the same community and event shapes

DAY = 86400

PLAYBOOK = """\
playbook: mix
rules:
  - id: hello
    when: {event: member_joined}
    do: [{mention: "hi {{ member.name }}"}]
  - id: quiet
    when: {silence: 2d}
    cooldown: 5d
    do: [{dm: "still there?"}]
  - id: later
    when: {after_join: 1d}
    if: member.messages == 0
    delay: 2d
    deadline: 3d
    do: [{dm: "say something"}]
  - id: sla
    when: {unanswered: 30m}
    do: [{notify: "answer {{ member.name }}"}]
  - id: chatty
    when: {event: message}
    cooldown: 1d
    do: [{dm: "thanks for writing"}]
  - id: regular
    when: {becomes: "member.active_days_30d >= 3"}
    do: [{tag: regular}]
  - id: daily
    when: {schedule: "0 21 * * *", each: member}
    if: member.messages_7d >= 2
    do: [{reward: {points: 1}}]
  - id: fading
    when: {stage: decline}
    do: [{dm: "we miss you"}]
"""
# A group's age counts from its first event (``Group.since``, saved), the members' purchases are saved.
AGED = """\
  - id: perk
    when: {group_age: [2, 5], every: 1w, at: "20:00", each: member}
    if: member.purchases == 0
    do: [{reward: {coupon: early-bird}}]
"""


CONFIG = config_from({"mix.yaml": PLAYBOOK + AGED}, COMMUNITY)
# Texts in turn: which one each group got last is kept a row per group (since version 10).
VARIED = """\
  - id: notice
    when: {schedule: "0 9 * * *"}
    do: [{post: ["公告一", "公告二", "公告三"]}]
"""
# An upgraded state counts its groups' age from its watermark (see below): the rest continues the same.
UPGRADE_CONFIG = config_from({"mix.yaml": PLAYBOOK + VARIED}, COMMUNITY)
TABLES = ("members", "groups", "timers", "trigger_state", "trigger_entries", "tasks", "meta")


def _runs(config, pieces: list[list[dict]], path: Path, until: float | None = None) -> list:
    """Consecutive --state runs over ``pieces``, the way the CLI does them; the tasks of all as
    the operator holds them: a task printed again replaces its earlier version, and those a later
    run took back (stale when due, displaced) are left out."""
    tasks: dict[str, object] = {}
    for number, piece in enumerate(pieces):
        store = StateStore.open(str(path))
        result = run(config, records(piece), state=store, until=until if number == len(pieces) - 1 else None)
        result.save_state()
        store.close()
        for task_id in result.planner.taken_back():
            tasks.pop(task_id, None)
        tasks.update((task.id, task) for task in result.tasks)
    return list(tasks.values())


def _tables(path: Path) -> dict[str, list[tuple]]:
    connection = sqlite3.connect(path)
    try:
        tables = {table: connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in TABLES}
        # Not the tasks each run found overtaken as it ended (what the morning's lists leave out):
        # one run finds those of its own last day, split runs those of each of theirs — no plan.
        tables["meta"] = [row for row in tables["meta"] if row[0] != "overtaken"]
        return tables
    finally:
        connection.close()


def _as_one_run_saves(tables: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """``tables`` less the records of withdrawn tasks: split runs printed such a task (and keep
    the record it was printed with) before a later run found it stale; one run never printed it."""
    status, data = 7, 8  # tasks (id, rule, member, action, trigger_at, due, assignee, status, data, …)
    return {**tables, "tasks": [(*row[:data], None, *row[data + 1 :]) if row[status] == "stale" else row for row in tables["tasks"]]}


gaps = st.sampled_from([0, 60, 1500, 2400, 5 * 3600, DAY, 2 * DAY + 3600, 3 * DAY, 9 * DAY]) | st.integers(0, 4 * DAY)
kinds = st.sampled_from(["message", "message", "message", "question", "answer", "member_joined", "member_left", "purchase"])
steps = st.lists(st.tuples(gaps, st.sampled_from(["m1", "m2", "m3", "m4"]), kinds), min_size=2, max_size=30)


@settings(max_examples=60, deadline=None)
@given(drawn=steps, cuts=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=3), until=st.booleans())
@example(drawn=[(0, "m1", "message"), (4 * DAY, "m1", "message"), (0, "m2", "member_joined"), (9 * DAY, "m1", "message")], cuts=[0.5], until=True)
# m1's second silence fires after the watermark, within the first's 5-day cooldown, beyond the 3-day limits
@example(drawn=[(0, "m1", "message"), (4 * DAY, "m1", "message"), (DAY + DAY // 2, "m2", "message"), (2 * DAY + DAY // 2, "m2", "message")], cuts=[0.75], until=False)
# m2's silence task, printed by the first run, is withdrawn by the second (m2 wrote before it was due)
@example(drawn=[(46800, "m2", "message"), (176400, "m1", "message"), (60, "m2", "message")], cuts=[0.5], until=False)
def test_consecutive_state_runs_plan_and_save_what_one_run_does(drawn, cuts, until):
    """Split anywhere, over weeks (so old history falls outside every window): the same tasks, and
    byte-for-byte the same members, timers, trigger memory and history in the state file."""
    events = events_from(drawn)
    end = events[-1]["ts"] + 10 * DAY if until else None
    # A cut between two events of one instant is not a day's boundary: the watermark would count
    # the second as processed. Cut after the instant instead.
    bounds = {0, len(events)}
    for fraction in cuts:
        cut = round(fraction * len(events))
        while 0 < cut < len(events) and events[cut]["ts"] == events[cut - 1]["ts"]:
            cut += 1
        bounds.add(cut)
    bounds = sorted(bounds)
    pieces = [events[low:high] for low, high in pairwise(bounds) if high > low]
    with tempfile.TemporaryDirectory() as directory:
        one, many = Path(directory) / "one.db", Path(directory) / "many.db"
        whole = _runs(CONFIG, [events], one, until=end)
        split = _runs(CONFIG, pieces, many, until=end)
        tz = CONFIG.community.tz
        assert {task.id: task.record(tz) for task in split} == {task.id: task.record(tz) for task in whole}
        assert _as_one_run_saves(_tables(many)) == _tables(one)


def test_three_runs_over_the_example_leave_the_state_one_run_leaves(tmp_path):
    """The shipped playbooks over the example in three --state runs: the same state file content."""
    import json

    config = load_config([ROOT / "playbooks"], load_registry(entrypoints=False))
    events = [json.loads(line) for line in (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    third = -(-len(events) // 3)
    _runs(config, [events], tmp_path / "one.db")
    _runs(config, [events[:third], events[third : 2 * third], events[2 * third :]], tmp_path / "three.db")
    assert _as_one_run_saves(_tables(tmp_path / "three.db")) == _tables(tmp_path / "one.db")


def test_a_nightly_runs_members_by_stage_count_the_whole_community_as_one_run_does(tmp_path):
    """A --state run loads only the members its events and timers touch: the example's last night
    (阿珍's one message) still says how many members each stage holds, as one run over the whole
    history says it — not 成熟期 1."""
    from playbook_engine.output import render_summary

    config = load_config([ROOT / "playbooks"], load_registry(entrypoints=False))
    events = [json.loads(line) for line in (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    whole = render_summary(run(config, records(events)), config.community).splitlines()[1]
    _runs(config, [events[:-1]], tmp_path / "ops.db")
    store = StateStore.open(str(tmp_path / "ops.db"))
    try:
        last_night = run(config, records(events[-1:]), state=store)
        last_night.save_state()
        assert render_summary(last_night, config.community).splitlines()[1] == whole
    finally:
        store.close()


def test_every_nights_members_by_stage_are_one_runs_up_to_that_night_and_cost_no_scan_of_the_members(tmp_path):
    """Nightly runs over the example, one local day each: every night's stage line is the one a
    run over the history up to that night prints. The totals are carried in the state from
    night to night (meta `stage_counts`); a state without them (an older engine's) counts them
    once from its records, and then carries them as well."""
    import sqlite3

    from playbook_engine.output import render_summary

    config = load_config([ROOT / "playbooks"], load_registry(entrypoints=False))
    events = [json.loads(line) for line in (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    nights: dict[str, list[dict]] = {}
    for event in events:
        nights.setdefault(event["ts"][:10], []).append(event)
    seen: list[dict] = []
    for number, night in enumerate(nights.values()):
        seen += night
        if number == 12:  # as an engine before the totals left it
            with sqlite3.connect(tmp_path / "ops.db") as db:
                db.execute("DELETE FROM meta WHERE key = 'stage_counts'")
        store = StateStore.open(str(tmp_path / "ops.db"))
        try:
            result = run(config, records(night), state=store)
            result.save_state()
            line = render_summary(result, config.community).splitlines()[1]
        finally:
            store.close()
        assert line == render_summary(run(config, records(seen)), config.community).splitlines()[1], night[0]["ts"]


# -- timers -------------------------------------------------------------------------------


class _Saved:
    """Saved timers as StateStore.timers serves them, counting what was read."""

    def __init__(self, timers: list[Timer]):
        self.timers = sorted(timers)
        self.read = 0

    def __call__(self, after: tuple[float, int] | None, limit: int) -> list[Timer]:
        rest = [timer for timer in self.timers if after is None or (timer.due, timer.seq) > after][:limit]
        self.read += len(rest)
        return rest


def test_saved_and_new_timers_come_due_together_in_due_then_seq_order():
    saved = _Saved([Timer(10.0, 1, "a", "m1", None), Timer(20.0, 3, "a", "m2", None), Timer(20.0, 5, "b", "m3", None), Timer(40.0, 2, "a", "m4", None)])
    clock = Clock()
    clock.restore(saved, 5)
    clock.schedule(20.0, "c", "m5")  # seq 6: after the saved timers of the same instant
    clock.schedule(15.0, "c", "m6")  # seq 7
    fired = []
    while clock.next_due() is not None and clock.next_due() <= 30:
        fired.append([(due, seq) for due, seq, *_ in clock.pop_instant()])
    assert fired == [[(10.0, 1)], [(15.0, 7)], [(20.0, 3), (20.0, 5), (20.0, 6)]]
    assert clock.consumed == (20.0, 5)  # the saved timers up to here came due: the save deletes them
    assert clock.new_pending() == []
    assert [(timer.due, timer.seq) for timer in clock.pending()] == [(40.0, 2)]


def test_saved_timers_are_read_a_batch_at_a_time_as_they_come_due():
    saved = _Saved([Timer(float(number), number, "a", f"m{number}", None) for number in range(1, 5001)])
    clock = Clock()
    clock.restore(saved, 5000)
    while clock.next_due() is not None and clock.next_due() <= 100:
        clock.pop_instant()
    assert clock.fired == 100
    assert saved.read == clock.read <= Clock.BATCH
    assert clock.consumed == (100.0, 100)
    clock.schedule(1.0, "late", "m0")  # scheduled in the past: fires next, before the saved ones
    assert clock.next_due() == 1.0 and clock.seq == 5001


def test_a_run_reads_the_timers_due_before_its_last_event_not_every_saved_one(tmp_path):
    """A long history leaves one silence timer per member, due over weeks; a day's run reads few."""
    config = CONFIG
    history = [{"ts": START + number * 600, "type": "message", "group": "g1", "member": f"m{number}", "text": "hi"} for number in range(2000)]
    path = tmp_path / "ops.db"
    _runs(config, [history], path)
    pending_before = sqlite3.connect(path).execute("SELECT count(*) FROM timers").fetchone()[0]
    store = StateStore.open(str(path))
    read = []
    original = store.timers

    def counting(after, limit):
        batch = original(after, limit)
        read.extend(batch)
        return batch

    store.timers = counting
    day = [{"ts": history[-1]["ts"] + 60, "type": "message", "group": "g1", "member": "m1", "text": "back"}]
    result = run(config, records(day), state=store)
    result.save_state()
    store.close()
    assert pending_before > 2000
    assert len(read) <= Clock.BATCH
    assert sqlite3.connect(path).execute("SELECT count(*) FROM timers").fetchone()[0] >= pending_before - len(read)


# Tables that grow with the history: a daily run reads them by an index, never whole.
_GROWING = ("tasks", "timers", "members", "deliveries", "day_counts", "stage_moves", "questions", "holdouts")


class _Recording:
    """A connection that keeps every statement run through it, with its first parameters."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection
        self.statements: list[tuple[str, tuple]] = []

    def execute(self, sql, parameters=()):
        self.statements.append((sql, tuple(parameters)))
        return self.connection.execute(sql, parameters)

    def executemany(self, sql, rows):
        rows = list(rows)
        if rows:
            self.statements.append((sql, tuple(rows[0])))
        return self.connection.executemany(sql, rows)

    def __getattr__(self, name):
        return getattr(self.connection, name)


def test_a_daily_run_reads_the_tables_that_grow_with_history_by_index_not_whole(tmp_path):
    """Every statement of a day's run, from opening the state to saving it, is asked for its
    query plan: no full scan of tasks, timers, members, deliveries, holdouts' exposures or the
    report's records (the read of saved timers, in due order a batch at a time, walks their index)."""
    config = config_from({"mix.yaml": PLAYBOOK.replace("playbook: mix\n", "playbook: mix\nholdout: 50%\n") + AGED}, COMMUNITY)  # and its exposures
    history = [{"ts": START + number * 5400, "type": "message", "group": "g1", "member": f"m{number % 40}", "text": "hi"} for number in range(16 * 30)]
    path = tmp_path / "ops.db"
    _runs(config, [history], path)
    assert sqlite3.connect(path).execute("SELECT count(*) FROM holdouts").fetchone()[0] > 0
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO deliveries VALUES ('op', '2026-03-20', 1, 'wecom', 'x', '[\"t-1\"]', 0)")
    connection.commit()
    connection.close()
    store = StateStore.open(str(path))
    recording = store.connection = _Recording(store.connection)
    day = [{"ts": history[-1]["ts"] + 3600 * hour, "type": "message", "group": "g1", "member": f"m{hour}", "text": "back"} for hour in range(1, 12)]
    result = run(config, records(day), state=store)
    result.save_state()
    store.reopenable([{"v": 2, "id": "t-1", "printed": "{}", "due": history[-1]["ts"]}])  # which of the open tasks were delivered
    plans = {
        " ".join(sql.split()): [row[3] for row in recording.connection.execute(f"EXPLAIN QUERY PLAN {sql}", parameters)]
        for sql, parameters in recording.statements if sql.split()[0].upper() not in ("BEGIN", "COMMIT")
    }
    store.close()
    for index in ("tasks_by_trigger_at", "deliveries_by_date", "holdouts_by_due"):
        assert any(index in " ".join(plan) for plan in plans.values()), index
    scans = {sql: plan for sql, plan in plans.items() if any(step.startswith(f"SCAN {table}") and not (table == "timers" and sql.endswith("LIMIT ?")) for step in plan for table in _GROWING)}
    assert scans == {}


def test_a_keyed_store_is_read_by_key_and_saves_what_changed(tmp_path):
    """``@variants`` (KEYED_STORES) behaves as the dict it was, each entry read when asked for,
    and the save writes the entries set to something new and deletes those taken out."""
    from playbook_engine.state import KeyedStore

    path = tmp_path / "ops.db"
    store = StateStore.open(str(path))
    with store.transaction():
        store.connection.executemany("INSERT INTO trigger_entries VALUES ('@variants', ?, ?)", [(f"k{number}", json.dumps([number, 0], separators=(",", ":"))) for number in range(5)])
    memory = store.trigger_state()["@variants"]
    assert isinstance(memory, KeyedStore) and dict.__len__(memory) == 0  # nothing read yet
    assert memory.get("k1") == [1, 0] and memory["k2"] == [2, 0] and "k3" in memory and "k9" not in memory and memory.get("k9") is None
    with pytest.raises(KeyError):
        memory["k9"]
    assert memory.setdefault("k4", []) == [4, 0] and memory.setdefault("k8", [8, 1]) == [8, 1]
    memory["k1"] = [1, 1]  # changed
    assert memory.pop("k2") == [2, 0]
    del memory["k3"]
    with pytest.raises(KeyError):
        del memory["k3"]
    assert dict.__len__(memory) == 3  # k1, k4, k8: k0 never read
    assert sorted(memory.changed()) == [("@variants", "k1", "[1,1]"), ("@variants", "k8", "[8,1]")]
    assert memory.removed == {"k2", "k3"}
    with store.transaction():
        from playbook_engine.state import _save_trigger_state

        _save_trigger_state(store.connection, {"@variants": memory}, {})
    assert dict(store.connection.execute("SELECT key, data FROM trigger_entries")) == {"k0": "[0,0]", "k1": "[1,1]", "k4": "[4,0]", "k8": "[8,1]"}
    store.close()


# -- history ------------------------------------------------------------------------------


def _store_with_tasks(path: Path, watermark: float, tasks: list[Sent]) -> StateStore:
    store = StateStore.open(str(path))
    with store.transaction():
        store.connection.execute("INSERT INTO meta VALUES ('watermark', ?)", (repr(watermark),))
        store.connection.executemany("INSERT INTO tasks (id, rule, member, action, trigger_at, due, assignee, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ((s.id, s.rule, s.member, s.action, s.trigger_at, s.due, s.assignee, s.status) for s in tasks))
    return store


def test_history_holds_what_the_guardrails_can_still_consult(tmp_path):
    now = START + 100 * DAY
    tasks = {
        "limit-window": Sent("t-1", "p/any", "m1", "dm", now - 2 * DAY, now - 2 * DAY, None),
        "too-old-for-limits": Sent("t-2", "p/any", "m1", "dm", now - 5 * DAY, now - 5 * DAY, None),  # a limit's window and a day (the last day is settled again)
        "limit-window-of-the-day-settled-again": Sent("t-8", "p/any", "m1", "dm", now - 4 * DAY + 3600, now - 4 * DAY + 3600, None),
        "cooldown-window": Sent("t-3", "p/slow", "m1", "dm", now - 9 * DAY, now - 9 * DAY, None),
        "too-old-for-cooldown": Sent("t-4", "p/slow", "m1", "dm", now - 11 * DAY, now - 11 * DAY, None),
        "due-today": Sent("t-5", "p/any", "m2", "dm", now - 20 * DAY, now - 3600, "op"),
        "group-task": Sent("t-6", "p/any", None, "post", now - 2 * DAY, now - 2 * DAY, "op"),
        "last-second": Sent("t-7", "p/any", None, "post", now - 0.4, now - 0.4, None),
    }
    store = _store_with_tasks(tmp_path / "ops.db", now, list(tasks.values()))
    kept = {sent.id for sent in store.history(Lookback(limits=3 * DAY, cooldowns={"p/slow": 10 * DAY}))}
    assert kept == {tasks[name].id for name in ("limit-window", "limit-window-of-the-day-settled-again", "cooldown-window", "due-today", "last-second")}
    assert {sent.id for sent in store.history()} == {sent.id for sent in tasks.values()}
    assert [sent.trigger_at for sent in store.history(Lookback())] == sorted(sent.trigger_at for sent in store.history(Lookback()))


def test_capacity_used_by_an_earlier_run_today_still_counts(make_config):
    """The day's first run fills the operator's capacity; the second run's task moves to tomorrow."""
    config = make_config(
        {"hi.yaml": "playbook: hi\nrules:\n  - id: hi\n    when: {event: message}\n    do: [{mention: hi}]\n"},
        "community:\n  name: t\n  timezone: Asia/Shanghai\n  operators:\n    - {id: op, name: Op, capacity: 2}\n",
    )
    events = [{"ts": START + 40 * DAY + number * 3600, "type": "message", "group": "g1", "member": f"m{number}", "text": "hi"} for number in range(3)]
    early = [{"ts": START + number * DAY, "type": "message", "group": "g1", "member": "m9", "text": "hi"} for number in range(30)]
    with tempfile.TemporaryDirectory() as directory:
        whole = _runs(config, [early + events], Path(directory) / "one.db")
        split = _runs(config, [early + events[:2], events[2:]], Path(directory) / "two.db")
    tz = config.community.tz
    assert [task.record(tz) for task in split] == [task.record(tz) for task in whole]
    assert whole[-1].moved and whole[-1].member == "m2"


def test_lookback_of_a_config_names_its_cooldowns_and_longest_limit():
    assert Lookback.of(CONFIG) == Lookback(limits=3 * DAY, cooldowns={"mix/quiet": 5 * DAY, "mix/chatty": DAY})


# -- the file ---------------------------------------------------------------------------


def _as_older_version(path: Path, version: int) -> None:
    """Rewrite a state file as an older engine wrote it: members as objects with named fields
    (versions 1 and 2) or arrays (3), as text; no indexes (version 1); no task status and no
    table of re-checks (before 5); no task records and no table of deliveries (before 6); no
    deadline, outcome or mark on tasks (before 7); no records for the report: stage moves, counts
    by day, questions (before 8); no purchases on members, no first event on groups (before 9);
    no index of deliveries by date or of exposures by due time, the texts' turns in one row (before 10).
    (Timers of version 3 kept per silence rule: tests/test_silence.py.)"""
    from playbook_engine.state import member_from_data, member_to_data

    connection = sqlite3.connect(path)
    # Before 10: no index of deliveries by date nor of exposures by due time; the texts' turns in one row of trigger_state.
    connection.execute("DROP INDEX deliveries_by_date")
    connection.execute("DROP INDEX holdouts_by_due")
    turns = {key: json.loads(data) for key, data in connection.execute("SELECT key, data FROM trigger_entries WHERE store = '@variants'")}
    assert turns
    connection.execute("INSERT INTO trigger_state VALUES ('@variants', ?)", (json.dumps(turns),))
    connection.execute("DROP TABLE trigger_entries")
    if version == 9:
        connection.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(version),))
        connection.commit()
        connection.close()
        return
    members = connection.execute("SELECT id, data FROM members").fetchall()
    # Before 9: arrays end before purchases and spent, groups have no `since`.
    members = [(member_id, json.dumps(json.loads(data)[:-2], separators=(",", ":")).encode("utf-8")) for member_id, data in members]
    groups = connection.execute("SELECT id, data FROM groups").fetchall()
    connection.executemany("UPDATE groups SET data = ? WHERE id = ?", [(json.dumps({key: value for key, value in json.loads(data).items() if key != "since"}), group_id) for group_id, data in groups])
    if version < 3:
        connection.executemany("UPDATE members SET data = ? WHERE id = ?", [(json.dumps(member_to_data(member_from_data(member_id, json.loads(data))), sort_keys=True), member_id) for member_id, data in members])
    else:
        connection.executemany("UPDATE members SET data = ? WHERE id = ?", [(data.decode("utf-8"), member_id) for member_id, data in members])
    if version == 1:
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'").fetchall():
            connection.execute(f"DROP INDEX {name}")
    if version < 8:  # nothing kept for the report but the tasks
        for table in ("stage_moves", "day_counts", "open_counts", "questions"):
            connection.execute(f"DROP TABLE {table}")
        connection.execute("DELETE FROM meta WHERE key = 'stages'")
    if version < 7:  # no deadline, outcome or mark kept
        for column in ("deadline", "outcome", "outcome_at", "marked_at", "note"):
            connection.execute(f"ALTER TABLE tasks DROP COLUMN {column}")
    if version < 6:  # tasks kept as rule, member, action and times only; nothing delivered
        connection.execute("ALTER TABLE tasks DROP COLUMN data")
        connection.execute("DROP TABLE deliveries")
    if version < 5:  # no task status, no re-checks left for a later run
        assert connection.execute("SELECT count(*) FROM tasks WHERE status != 'todo'").fetchone()[0] == 0
        connection.execute("ALTER TABLE tasks DROP COLUMN status")
        connection.execute("DROP TABLE rechecks")
    connection.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(version),))
    connection.commit()
    connection.close()


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6, 7, 8, 9])
def test_an_older_state_is_upgraded_in_place_and_continues_the_same(tmp_path, version):
    events = events_from([(0, "m1", "message"), (3 * DAY, "m2", "member_joined"), (5 * DAY, "m3", "message"), (DAY, "m1", "question"), (6 * DAY, "m2", "message")])
    reference, old = tmp_path / "reference.db", tmp_path / "old.db"
    _runs(UPGRADE_CONFIG, [events[:3]], reference)
    _runs(UPGRADE_CONFIG, [events[:3]], old)
    planned_before = {task_id for (task_id,) in sqlite3.connect(old).execute("SELECT id FROM tasks")}
    assert planned_before
    _as_older_version(old, version)
    tz = UPGRADE_CONFIG.community.tz
    continued = [task.record(tz) for task in _runs(UPGRADE_CONFIG, [events[3:]], old)]
    assert continued == [task.record(tz) for task in _runs(UPGRADE_CONFIG, [events[3:]], reference)]
    upgraded, expected = _tables(old), _tables(reference)
    # A member the run did not change would keep its old record: compare the members read back.
    store, reference_store = StateStore.open(str(old)), StateStore.open(str(reference))
    ids = [member_id for member_id, _ in expected.pop("members")]
    assert [LazyMembers(store)[member_id] for member_id in ids] == [LazyMembers(reference_store)[member_id] for member_id in ids]
    store.close(), reference_store.close()
    del upgraded["members"]
    # A group saved before version 9 counts its age from the watermark of the upgraded state:
    # the first instant the engine saw it and remembered (the older state never kept its first event).
    watermark = events[2]["ts"]  # where the first run ended
    upgraded_groups, expected_groups = upgraded.pop("groups"), expected.pop("groups")
    if version == 9:  # it kept its groups' first events
        assert upgraded_groups == expected_groups
    else:
        assert [(group_id, json.loads(data)["since"]) for group_id, data in upgraded_groups] == [(group_id, watermark) for group_id, _ in expected_groups]
    assert [(group_id, {**json.loads(data), "since": None}) for group_id, data in upgraded_groups] == [(group_id, {**json.loads(data), "since": None}) for group_id, data in expected_groups]
    # The tasks the old version planned keep no record (NULL) before 6 and no deadline before 7;
    # those planned since have theirs.
    upgraded_tasks, expected_tasks = upgraded.pop("tasks"), expected.pop("tasks")
    data, deadline = 8, 9  # tasks (id, rule, member, action, trigger_at, due, assignee, status, data, deadline, …)
    lost = set() if version >= 7 else {deadline} if version == 6 else {data, deadline}
    assert [row[:data] + row[deadline + 1 :] for row in upgraded_tasks] == [row[:data] + row[deadline + 1 :] for row in expected_tasks]
    for old_row, new_row in zip(upgraded_tasks, expected_tasks, strict=True):
        for column in (data, deadline):
            assert old_row[column] == (None if old_row[0] in planned_before and column in lost else new_row[column])
    # The records for the report start with the first run of version 8: the moves it made.
    query = "SELECT * FROM stage_moves ORDER BY at, member"
    moves, all_moves = sqlite3.connect(old).execute(query).fetchall(), sqlite3.connect(reference).execute(query).fetchall()
    assert moves and moves == [move for move in all_moves if version >= 8 or move[4] >= events[3]["ts"]]
    assert any(row[0] not in planned_before and row[data] and row[deadline] for row in upgraded_tasks)
    assert upgraded == expected
    connection = sqlite3.connect(old)
    assert connection.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert connection.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0  # the table is there, empty
    assert {"timers_by_due", "tasks_by_trigger_at", "tasks_by_due", "deliveries_by_date", "holdouts_by_due"} <= {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_a_state_of_a_newer_version_is_refused_and_left_untouched(tmp_path):
    import hashlib

    path = tmp_path / "ops.db"
    _runs(CONFIG, [events_from([(0, "m1", "message")])], path)
    connection = sqlite3.connect(path)
    connection.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(SCHEMA_VERSION + 1),))
    connection.commit()
    connection.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(Exception, match=f"state version {SCHEMA_VERSION + 1}, this engine reads version {SCHEMA_VERSION}"):
        StateStore.open(str(path))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_save_writes_the_members_a_run_changed_or_met_not_those_it_only_looked_at(tmp_path):
    from playbook_engine.state import LazyMembers, _changed_members

    path = tmp_path / "ops.db"
    _runs(CONFIG, [events_from([(0, "m1", "message"), (60, "m2", "message")])], path)
    store = StateStore.open(str(path))
    members = LazyMembers(store)
    members["m1"].messages += 1
    assert members["m2"].messages == 1  # looked at only
    members["m3"] = type(members["m1"])("m3")  # met for the first time
    assert [member_id for member_id, _ in _changed_members(members)] == ["m1", "m3"]
    store.close()


def test_members_are_stored_as_json_bytes_and_a_text_record_is_read_the_same(tmp_path):
    """Members written by orjson are BLOBs of UTF-8 JSON; a TEXT record (as engines before it
    wrote them) reads back as the same member, and is rewritten as a BLOB by the first run that loads it."""
    from playbook_engine.state import LazyMembers, _changed_members, member_record

    path = tmp_path / "ops.db"
    _runs(CONFIG, [events_from([(0, "m1", "message"), (60, "m2", "message")])], path)
    connection = sqlite3.connect(path)
    assert {type(data) for (data,) in connection.execute("SELECT data FROM members")} == {bytes}
    blob = connection.execute("SELECT data FROM members WHERE id = 'm2'").fetchone()[0]
    connection.execute("UPDATE members SET data = ? WHERE id = 'm2'", (blob.decode("utf-8"),))
    connection.commit()
    connection.close()
    store = StateStore.open(str(path))
    members = LazyMembers(store)
    assert member_record(members["m2"]) == json.loads(blob)
    assert list(_changed_members(members)) == [("m2", blob)]  # only its storage differs: written once, as bytes
    members["m1"]  # loaded from a BLOB, unchanged: not written
    assert [member_id for member_id, _ in _changed_members(members)] == ["m2"]
    store.close()


def test_timers_of_a_rule_removed_since_are_dropped_and_said(tmp_path):
    """A --state run saves the timers of its rules; a later run whose playbooks no longer have
    the rule cannot answer them: it says how many it dropped, and whose."""
    later = "playbook: mix\nrules:\n  - id: later\n    when: {after_join: 1d}\n    do: [{dm: \"say something\"}]\n"
    hello = "playbook: mix\nrules:\n  - id: hello\n    when: {event: member_joined}\n    do: [{mention: \"hi\"}]\n"
    path = str(tmp_path / "state.db")
    for number, (playbooks, events) in enumerate(((later, [(0, "m1", "member_joined")]), (hello, [(2 * DAY, "m2", "message")]))):
        store = StateStore.open(path)
        result = run(config_from({"mix.yaml": playbooks}, COMMUNITY, tmp_path / f"pb{number}"), records(events_from(events)), state=store)
        result.save_state()
        store.close()
    assert result.evaluation.matcher.orphans == {"mix/later": 1}
    assert "1 timer(s) of rules no longer in the playbooks dropped (mix/later)" in result.summary()
