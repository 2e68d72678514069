"""Capacity across --state runs: a task an earlier run printed, not yet sent or marked, gives way
to a later, higher-priority one (``displaced``), so that daily runs keep the plan one run keeps
even when an operator's capacity binds."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from playbook_engine.output import render_explanation
from playbook_engine.runner import run
from playbook_engine.state import StateStore
from tests.conftest import config_from, plan, records, task_keys
from tests.test_clock_properties import START, events_from
from tests.test_triggers import msg

DAY = 86400

COMMUNITY = """\
community:
  name: t
  timezone: Asia/Shanghai
  quiet_hours: "22:00-08:00"
  max_delay: 2d
  operators:
    - {id: op, name: Op, capacity: %(capacity)d}
"""

PLAYBOOK = """\
playbook: mix
rules:
  - id: hello
    when: {event: member_joined}
    priority: low
    deadline: 3d
    do: [{mention: "hi {{ member.name }}"}]
  - id: quiet
    when: {silence: 2d}
    do: [{dm: "still there?"}]
  - id: later
    when: {after_join: 1d}
    if: member.messages == 0
    delay: 6h
    deadline: 4d
    do: [{dm: "say something"}]
  - id: sla
    when: {unanswered: 30m}
    priority: urgent
    deadline: 2d
    do: [{notify: "answer {{ member.name }}"}]
  - id: chatty
    when: {event: message}
    cooldown: 1d
    priority: low
    deadline: 2d
    do: [{post: "thanks for writing, {{ member.name }}"}]
  - id: left
    when: {event: member_left}
    priority: high
    delay: 1h
    do: [{dm: "why did you go?"}]
"""


def _config(capacity: int):
    return config_from({"mix.yaml": PLAYBOOK}, COMMUNITY % {"capacity": capacity})


CONFIGS = {capacity: _config(capacity) for capacity in (1, 2, 3)}


def _runs(config, pieces: list[list[dict]], path: Path) -> tuple[dict[str, dict], list]:
    """Consecutive --state runs: the plan as the operator holds it after each (a task printed
    again replaces its earlier version; withdrawn and displaced ones are taken out), and the
    results."""
    tz = config.community.tz
    plan: dict[str, dict] = {}
    results = []
    for piece in pieces:
        store = StateStore.open(str(path))
        result = run(config, records(piece), state=store)
        result.save_state()
        store.close()
        for task_id in result.planner.taken_back():
            plan.pop(task_id, None)
        plan.update((task.id, task.record(tz)) for task in result.tasks)
        results.append(result)
    return plan, results


gaps = st.sampled_from([0, 60, 1500, 2400, 5 * 3600, 14 * 3600, DAY, 2 * DAY + 3600]) | st.integers(0, 3 * DAY)
kinds = st.sampled_from(["message", "message", "question", "answer", "member_joined", "member_joined", "member_left"])
steps = st.lists(st.tuples(gaps, st.sampled_from(["m1", "m2", "m3", "m4", "m5"]), kinds), min_size=2, max_size=30)


def _pieces(events: list[dict], cuts: list[float]) -> list[list[dict]]:
    bounds = {0, len(events)}
    for fraction in cuts:
        cut = round(fraction * len(events))
        while 0 < cut < len(events) and events[cut]["ts"] == events[cut - 1]["ts"]:
            cut += 1  # not between two events of one instant (the watermark's second)
        bounds.add(cut)
    return [events[low:high] for low, high in pairwise(sorted(bounds)) if high > low]


@settings(max_examples=80, deadline=None)
@given(drawn=steps, cuts=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=4), capacity=st.sampled_from([1, 2, 3]))
@example(drawn=[(0, "m1", "member_joined"), (0, "m2", "member_joined"), (3600, "m3", "question"), (600, "m1", "member_left")], cuts=[0.5], capacity=1)
def test_runs_split_anywhere_keep_the_plan_one_run_keeps_when_capacity_binds(drawn, cuts, capacity):
    config = CONFIGS[capacity]
    events = events_from(drawn)
    with tempfile.TemporaryDirectory() as directory:
        whole, _ = _runs(config, [events], Path(directory) / "one.db")
        split, _ = _runs(config, _pieces(events, cuts), Path(directory) / "many.db")
    assert split == whole


def _day_pieces(events: list[dict]) -> list[list[dict]]:
    """One piece per local day (Asia/Shanghai), as a nightly run reads them."""
    pieces: dict[int, list[dict]] = {}
    for event in events:
        pieces.setdefault(int((event["ts"] + 8 * 3600) // DAY), []).append(event)
    return list(pieces.values())


def test_daily_runs_keep_the_urgent_tasks_one_run_keeps(tmp_path):
    """The issue's case: many low-priority tasks fill the coming days first; the urgent ones
    planned by later days' runs take their place instead of being dropped."""
    events = []
    for day in range(10):
        base = START + day * DAY
        events += [{"ts": base + 60 * n, "type": "message", "group": "g1", "member": f"m{n}", "text": "hi"} for n in range(6)]
        events += [{"ts": base + 3600 * 5 + 60 * n, "type": "message", "group": "g1", "member": f"q{n}", "text": "请问怎么报名？", "id": f"q{day}-{n}"} for n in range(2)]
    config = CONFIGS[2]
    whole, _ = _runs(config, [events], tmp_path / "one.db")
    daily, results = _runs(config, _day_pieces(events), tmp_path / "daily.db")
    assert daily == whole
    urgent = [task for task in whole.values() if task["priority"] == "urgent"]
    assert len(urgent) == 18  # 2 a day; the last day's are not 30 minutes old when the history ends
    displaced = sum(len(result.planner.displaced) for result in results)
    assert displaced > 0
    summaries = " ".join(result.summary() for result in results)
    assert "displaced by higher-priority tasks" in summaries and "do not send them" in summaries
    statuses = dict(sqlite3.connect(tmp_path / "daily.db").execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall())
    assert statuses.get("displaced") == displaced


@pytest.mark.parametrize("how", ["marked", "delivered"])
def test_a_task_marked_done_or_delivered_is_never_displaced(tmp_path, how):
    """A task the operator marked, or that `deliver` sent to their inbox, keeps its slot: later
    tasks move instead."""
    config = CONFIGS[1]
    first = [{"ts": START, "type": "message", "group": "g1", "member": "m1", "text": "hi"}]
    path = tmp_path / "s.db"
    _, (result,) = _runs(config, [first], path)
    (posted,) = [task for task in result.tasks if task.rule == "chatty"]
    connection = sqlite3.connect(path)
    if how == "marked":
        connection.execute("UPDATE tasks SET status = 'done' WHERE id = ?", (posted.id,))
    else:
        connection.execute("INSERT INTO deliveries VALUES ('op', '2026-03-01', 1, 'wecom', 'x', ?, 0)", (json.dumps(["t-0000000000", posted.id]),))
    connection.commit()
    connection.close()
    later = [{"ts": START + 3600, "type": "message", "group": "g1", "member": "m2", "text": "请问怎么报名？", "id": "q"},
             {"ts": START + 7200, "type": "message", "group": "g1", "member": "m2", "text": "还在吗", "reply_to": "q"}]
    _, (second,) = _runs(config, [later], path)
    assert second.planner.displaced == []
    (urgent,) = [task for task in second.tasks if task.rule == "sla"]
    assert urgent.due > START + DAY - 9 * 3600  # moved to the next day: today's one slot is taken


def test_a_displaced_task_is_said_in_the_summary_explained_and_marked_in_the_state(tmp_path):
    rules = PLAYBOOK.replace("priority: low\n    deadline: 2d\n    do: [{post", "priority: low\n    deadline: 2h\n    do: [{post")
    config = config_from({"mix.yaml": rules}, COMMUNITY % {"capacity": 1}, tmp_path / "pb")
    path = tmp_path / "s.db"
    _, (first,) = _runs(config, [[{"ts": START, "type": "message", "group": "g1", "member": "m1", "text": "hi"}]], path)
    (posted,) = first.tasks
    later = [
        {"ts": START + 600, "type": "message", "group": "g1", "member": "m2", "text": "请问怎么报名？", "id": "q"},
        {"ts": START + 3000, "type": "message", "group": "g1", "member": "m2", "text": "在吗", "reply_to": "q"},
    ]
    store = StateStore.open(str(path))
    second = run(config, records(later), state=store, explain=True)
    second.save_state()
    store.close()
    assert [task.rule for task in second.tasks] == ["sla"]
    assert [(task_id, member) for _, task_id, member, _ in second.planner.displaced] == [(posted.id, "m1")]
    assert f"1 planned by an earlier run displaced by higher-priority tasks ({posted.id}): do not send them" in second.summary()
    explained = render_explanation(second, config.community.tz)
    assert f"mix/chatty post → m1  [{posted.id}] printed by an earlier run: do not send it" in explained
    assert "displaced: a task that comes first took its place — deadline: capacity of Op on 2026-03-01 full (1 a day); moved to 2026-03-02 09:00, it would be after its deadline 2026-03-01 11:00" in explained
    status = sqlite3.connect(path).execute("SELECT status FROM tasks WHERE id = ?", (posted.id,)).fetchone()
    assert status == ("displaced",)
    # A third run does not bring it back, nor count it.
    _, (third,) = _runs(config, [[{"ts": START + 4000, "type": "message", "group": "g1", "member": "m2", "text": "好的", "id": "z"}]], path)
    assert posted.id not in {task.id for task in third.tasks} and third.planner.displaced == []


def test_a_printed_task_whose_rule_is_gone_keeps_its_slot(tmp_path):
    """The playbooks changed between two runs: a task the first printed that the second cannot
    make again stays as printed and still holds its day's slot."""
    path = tmp_path / "s.db"
    _, (first,) = _runs(CONFIGS[1], [[{"ts": START, "type": "message", "group": "g1", "member": "m1", "text": "hi"}]], path)
    assert [task.rule for task in first.tasks] == ["chatty"]
    without = config_from({"mix.yaml": PLAYBOOK.split("  - id: chatty")[0] + "  - id: left" + PLAYBOOK.split("  - id: left")[1]}, COMMUNITY % {"capacity": 1}, tmp_path / "pb")
    later = [{"ts": START + 600, "type": "message", "group": "g1", "member": "m2", "text": "请问怎么报名？", "id": "q"},
             {"ts": START + 7200, "type": "message", "group": "g1", "member": "m2", "text": "还在吗", "reply_to": "q"}]
    _, (second,) = _runs(without, [later], path)
    (urgent,) = second.tasks
    assert (urgent.rule, second.planner.displaced) == ("sla", [])
    assert urgent.due > START + DAY - 9 * 3600  # the 1st's one slot is the post's


def test_a_part_that_went_out_on_its_own_as_the_run_ended_is_displaced_by_the_next_run(make_config, tmp_path):
    """Fuzzing (c7070002): m1's DM (deadline 30h) and reward (2 days) of the 1st are one message,
    carried to the 2nd, whose one slot an urgent task takes. The run that ended on the 2nd at
    10:00 settled the day: the DM past its deadline dropped, the reward went on alone to the
    3rd, printed. The next run brings the 3rd's own urgent task: one run drops the reward (the
    4th is past its deadline). The message had been left out of the days kept open (it could
    only be dropped), and the printed reward with it: the next run kept it as printed, in the
    3rd's slot, and moved the urgent task to the 4th."""
    from tests.test_daily_texts import held

    rules = (
        "playbook: p\nrules:\n"
        "  - id: ask\n    when: {event: message, keywords: [问]}\n    deadline: 30h\n    do: [{dm: 问问}]\n"
        "  - id: gift\n    when: {event: message, keywords: [问]}\n    delay: 10m\n    deadline: 2d\n    do: [{reward: {points: 5, text: 送你积分}}]\n"
        "  - id: hot\n    when: {event: message, keywords: [急]}\n    priority: urgent\n    do: [{notify: 急}]\n"
    )
    config = make_config({"p.yaml": rules}, "community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: [dm, reward]\n  operators:\n    - {id: op, groups: [g1], capacity: 1}\n")
    first = [msg("01T08:00:00", "m2", text="急"), msg("01T09:00:00", "m1", text="问"), msg("02T08:00:00", "m3", text="急"), msg("02T10:00:00", "m5")]
    later = [msg("03T08:00:00", "m4", text="急"), msg("04T12:00:00", "m6")]
    whole = plan(config, first + later)
    assert task_keys(whole, "rule", "member", "due") == [
        ("hot", "m2", "2026-03-01T08:00:00+08:00"), ("hot", "m3", "2026-03-02T08:00:00+08:00"), ("hot", "m4", "2026-03-03T08:00:00+08:00"),
    ]
    path = tmp_path / "ops.db"
    assert held(config, [first, later], path) == sorted(task_keys(whole, "id", "due", "text"))
    (gift,) = [task for task in plan(config, first).tasks if task.rule == "gift"]  # what the first run printed
    assert sqlite3.connect(path).execute("SELECT status FROM tasks WHERE id = ?", (gift.id,)).fetchone() == ("displaced",)
    # Marked done after the first run, the reward keeps its slot, as any printed task does.
    marked = tmp_path / "marked.db"
    store = StateStore.open(str(marked))
    plan(config, first, state=store).save_state()
    store.close()
    with sqlite3.connect(marked) as connection:
        connection.execute("UPDATE tasks SET status = 'done' WHERE id = ?", (gift.id,))
    store = StateStore.open(str(marked))
    second = plan(config, later, state=store)
    assert (task_keys(second, "rule", "member", "due"), second.planner.displaced) == ([("hot", "m4", "2026-03-04T08:00:00+08:00")], [])
    store.close()


def test_a_task_of_a_firing_that_went_out_dropped_by_the_next_run_keeps_the_rules_cooldown(make_config, tmp_path):
    """Fuzzing (c7070027): m1's 书 on the 1st fires `hello` (cooldown 7d): its DM goes out that
    day, its mention (the day's one slot taken) waits for the 2nd, where the run that ended on
    the 2nd at 06:00 left it open. The next run drops it there for an urgent task: the firing's
    DM went out, so the cooldown holds and m1's 书 on the 3rd plans nothing, as in one run — the
    reopened mention alone in its firing had let it go, and a second welcome went out."""
    from tests.test_daily_texts import held

    rules = (
        "playbook: p\nrules:\n"
        "  - id: hello\n    when: {event: message, keywords: [书]}\n    cooldown: 7d\n    deadline: 30h\n    do: [{dm: 你好}, {mention: 在吗}]\n"
        "  - id: hot\n    when: {event: message, keywords: [急]}\n    priority: urgent\n    do: [{notify: 急}]\n"
    )
    config = make_config({"p.yaml": rules}, "community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: []\n  operators:\n    - {id: op, groups: [g1], capacity: 1}\n")
    first = [msg("01T10:00:00", "m1", text="书"), msg("02T06:00:00", "m9")]
    later = [msg("02T08:00:00", "m2", text="急"), msg("03T12:00:00", "m1", text="书"), msg("04T12:00:00", "m9")]
    whole = plan(config, first + later)
    assert task_keys(whole, "rule", "action", "member", "due") == [("hello", "dm", "m1", "2026-03-01T10:00:00+08:00"), ("hot", "notify", "m2", "2026-03-02T08:00:00+08:00")]
    assert held(config, [first, later], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_message_found_stale_as_the_run_ended_is_reopened_once_with_the_part_that_carried_it_on(make_config, tmp_path):
    """Fuzzing (seed 41858): m1's silence reward (21:00) and DM (22:00) of the 1st are one
    message, which the day's one slot (m2's urgent task) carries to the 2nd. The run ending on
    the 2nd at 09:00 checks it there and then: m1 wrote at 09:00, the reward is stale, and the
    DM carries the message on. That run kept two rows for the next run: the message with its
    DM (to be checked again), and the DM on its own. The next run reopened the DM twice; its
    two copies met in the 2nd's list and the run crashed (KeyError in ``_carry_over``/``_keep``)."""
    from tests.test_daily_texts import held

    rules = (
        "playbook: p\nrules:\n"
        "  - id: nudge\n    when: {silence: 12h}\n    do: [{reward: {points: 5, text: 好久不见}}]\n"
        "  - id: ask\n    when: {event: message, keywords: [问]}\n    delay: 13h\n    deadline: 3d\n    do: [{dm: 问问}]\n"
        "  - id: hot\n    when: {event: message, keywords: [急]}\n    priority: urgent\n    do: [{notify: 急}]\n"
    )
    config = make_config({"p.yaml": rules}, "community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: [dm, reward]\n  operators:\n    - {id: op, groups: [g1], capacity: 1}\n")
    first = [msg("01T08:00:00", "m2", text="急"), msg("01T09:00:00", "m1", text="问"), msg("02T09:00:00", "m1", text="好")]
    later = [msg("03T12:00:00", "m9")]
    whole = plan(config, first + later)
    # The DM goes out on the 2nd, with the reward of m1's next silence (from 09:00) in it.
    assert task_keys(whole, "rule", "member", "due", "text") == [
        ("hot", "m2", "2026-03-01T08:00:00+08:00", "急"), ("ask", "m1", "2026-03-02T21:00:00+08:00", "问问\n\n好久不见"), ("nudge", "m2", "2026-03-03T20:00:00+08:00", "好久不见"),
    ]
    assert held(config, [first, later], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_task_a_later_offer_can_take_into_its_message_is_kept_open_as_the_run_ends(make_config, tmp_path):
    """Fuzzing (seed 41233): the run ending on the 1st at 10:00 settles the day (one slot): m2's
    and m3's 急 come first, and m1's survey (due 22:00, deadline 23:00) was left out of the days
    kept open, as no later run could keep it: new tasks only push it further down. But m1's
    silence DM of 21:00, offered by the next run, takes it into its message, with the survey's
    deadline — first in the day. One run sends that message; the next run had only the DM."""
    from tests.test_daily_texts import held

    rules = (
        "playbook: p\nrules:\n"
        "  - id: nudge\n    when: {silence: 11h}\n    groups: [g2]\n    priority: high\n    do: [{dm: 好久不见}]\n"
        "  - id: form\n    when: {event: message, keywords: [问]}\n    delay: 12h\n    deadline: 13h\n    do: [{survey: {form: 'https://f.example/1', text: 填一下}}]\n"
        "  - id: hot\n    when: {event: message, keywords: [急]}\n    priority: high\n    do: [{notify: 急}]\n"
    )
    config = make_config({"p.yaml": rules}, "community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: [dm, survey]\n  operators:\n    - {id: op, groups: [g1, g2], capacity: 1}\n")
    first = [msg("01T09:00:00", "m2", text="急"), msg("01T09:30:00", "m3", text="急"), msg("01T10:00:00", "m1", group="g2", text="问")]
    later = [msg("02T12:00:00", "m9")]
    whole = plan(config, first + later)
    assert task_keys(whole, "rule", "member", "due", "text") == [("nudge", "m1", "2026-03-01T21:00:00+08:00", "好久不见\n\n填一下"), ("hot", "m2", "2026-03-02T09:00:00+08:00", "急")]
    assert held(config, [first, later], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_message_that_took_in_a_task_as_the_run_ended_is_kept_open_with_it(make_config, tmp_path):
    """Fuzzing (seed 80244): m2's welcome takes the 1st's one slot; m1's post and DM of 20:35
    wait for the 2nd. The run ending on the 2nd at 23:59 settles that day: the DM takes in the
    answer DM of 16:45 (one message a day), m1's post gets the slot, and the message goes (the
    DM past its deadline, the answer 12 h late). That message was left out of the open days, as
    no later run could keep it (a light row), but the answer, saved on its own, was reopened
    beside it: counted apart by the limit (2 a 12 h), the two pushed m1's post out, and the
    answer went out in its slot."""
    from tests.test_daily_texts import held

    rules = (
        "playbook: p\nrules:\n"
        "  - id: hello\n    when: {event: message}\n    do: [{post: 欢迎}, {dm: 看一下}]\n"
        "  - id: answer\n    when: {unanswered: 10m}\n    delay: 20h\n    do: [{dm: 回答}]\n"
    )
    community = (
        'community:\n  name: t\n  timezone: Asia/Shanghai\n  quiet_hours: "22:00-08:00"\n  max_delay: 12h\n'
        "  limits:\n    - {actions: any, max: 2, per: 12h}\n  operators:\n    - {id: op, groups: [g1], capacity: 1, pace: 2h}\n"
    )
    config = make_config({"p.yaml": rules}, community)
    first = [msg("01T19:25:00", "m2", text="书"), msg("01T20:35:00", "m1", text="请问怎么报名？")]
    second = [msg("02T23:59:00", "m9", group="g2")]
    third = [msg("03T00:35:00", "m9", group="g2")]
    whole = plan(config, first + second + third)
    assert task_keys(whole, "rule", "action", "member", "due")[:2] == [("hello", "post", "m2", "2026-03-01T19:25:00+08:00"), ("hello", "post", "m1", "2026-03-02T08:00:00+08:00")]
    assert held(config, [first, second, third], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))
