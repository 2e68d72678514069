"""A history cut into --state runs anywhere gives the plan one run gives (issue 19, point 2).

tests/test_daily_texts.py checks this on generated fortnights of the shipped playbooks; here a
few members do what makes a plan's bookkeeping cross a run's end — a condition that flips
before a task is due, capacity and pace that carry tasks into the next day, deadlines that
drop them there, cooldowns, merged DMs, a daily limit, quiet hours, silence, leaving and
joining, a spammer's removal with its note (an effect at its due time, before capacity settles
the day), two operators — at drawn moments, and the history is cut at drawn places, mid-day
included.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from playbook_engine.state import StateStore
from tests.conftest import config_from, plan, task_keys
from tests.test_daily_texts import held

RULES = {
    "p.yaml": """\
        playbook: p
        rules:
          - id: first
            when: {event: message, keywords: [早]}
            priority: high
            do: [{notify: "看一下 {{ member.name }}"}]
          - id: ask
            when: {event: message, keywords: [书]}
            if: "member.attributes.get('tier') == 'A'"
            priority: low
            delay: 20h
            deadline: 1d
            cooldown: 3d
            do: [{dm: "问问 {{ member.name }}"}]
          - id: nudge
            when: {silence: 2d}
            do: [{dm: "好久不见 {{ member.name }}"}]
          - id: hello
            when: {event: member_joined}
            delay: 1h
            do: [{mention: "欢迎 {{ member.name }}"}]
          - id: chatty
            when: {becomes: "member.messages >= 3"}
            priority: normal
            do: [{notify: "{{ member.name }} 开始活跃了"}]
          - id: kick
            when: {event: message, keywords: [广告]}
            do:
              - remove: 发广告
              - notify: 先截图
        """,
}

COMMUNITY = """\
    community:
      name: t
      timezone: Asia/Shanghai
      quiet_hours: "22:00-08:00"
      merge: [dm]
      operators:
        - {id: op, groups: [g1], capacity: %d%s}
        - {id: kai, groups: [g2], capacity: 1}
      limits:
        - {actions: [dm], max: 2, per: 1d}
    """

START = datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=8)))
KINDS = ["早", "书", "hi", "A", "B", "join", "leave", "广告"]


def event(minute: int, member: int, group: int, kind: str) -> dict[str, Any]:
    base: dict[str, Any] = {"ts": (START + timedelta(minutes=minute)).isoformat(), "group": f"g{group}", "member": f"m{member}"}
    if kind in ("A", "B"):
        return base | {"type": "profile", "attributes": {"tier": kind}}
    if kind in ("join", "leave"):
        return base | {"type": "member_joined" if kind == "join" else "member_left"}
    return base | {"type": "message", "text": kind}


histories = st.lists(
    st.tuples(st.integers(0, 8 * 1440), st.integers(1, 4), st.integers(1, 2), st.sampled_from(KINDS)),
    min_size=1, max_size=40, unique_by=lambda drawn: drawn[0],
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Found by many more examples than CI draws (kept here so each stays found):
# a nudge and a removal both held by quiet hours until 08:00, the history cut between them;
@example(drawn=[(113, 3, 1, "广告"), (357, 3, 1, "早"), (1540, 2, 2, "广告"), (1586, 1, 1, "join"), (2025, 1, 1, "书"), (3799, 2, 2, "广告"), (3815, 1, 2, "A"), (4322, 1, 1, "B"), (5029, 2, 1, "广告"), (5563, 4, 2, "leave"), (6453, 1, 2, "hi"), (7477, 4, 2, "早"), (9099, 4, 2, "join"), (9310, 2, 2, "join")], cuts=[1, 2, 10], capacity=3, pace="")
# a `becomes` task and a removal due at once at the instant a run ends;
@example(drawn=[(12, 4, 2, "广告"), (702, 3, 2, "早"), (1803, 3, 1, "hi"), (2131, 2, 2, "hi"), (2655, 3, 1, "广告"), (3103, 3, 1, "leave"), (3596, 4, 2, "广告")], cuts=[2, 5], capacity=3, pace="")
# two removals held by quiet hours until one 08:00 on a day of one slot (the first planned takes it);
@example(drawn=[(139, 4, 1, "B"), (249, 3, 2, "join"), (656, 1, 2, "B"), (836, 4, 2, "leave"), (1181, 1, 2, "hi"), (1272, 1, 1, "leave"), (1273, 1, 2, "广告"), (1412, 2, 2, "B"), (1658, 4, 1, "A"), (1721, 4, 2, "广告"), (2766, 4, 1, "广告"), (2774, 3, 1, "广告"), (4352, 1, 2, "早"), (4407, 1, 1, "广告"), (4546, 1, 2, "早"), (4642, 1, 2, "hi"), (5196, 2, 1, "B"), (5719, 1, 1, "早"), (5881, 1, 2, "广告"), (5941, 2, 1, "B"), (6321, 3, 1, "早"), (6552, 1, 2, "join"), (6718, 3, 2, "广告"), (6968, 4, 1, "join"), (7020, 3, 2, "B"), (7109, 1, 2, "广告"), (7158, 4, 1, "join"), (7470, 2, 2, "早"), (8671, 3, 1, "join"), (8678, 4, 1, "书"), (8866, 3, 1, "join"), (9095, 3, 1, "join"), (9207, 4, 2, "早"), (9215, 2, 1, "join"), (9296, 1, 1, "A"), (9929, 4, 1, "早"), (10059, 4, 1, "早"), (11012, 2, 2, "广告"), (11407, 4, 1, "早"), (11415, 2, 1, "hi")], cuts=[8, 12, 18, 27, 28, 37], capacity=1, pace="")
# two removals on a day of one slot, a task moved past a rejoin.
@example(drawn=[(921, 1, 1, "广告"), (992, 4, 2, "hi"), (1243, 3, 2, "A"), (1293, 3, 1, "leave"), (1687, 2, 1, "leave"), (1746, 3, 2, "leave"), (1765, 1, 1, "B"), (3003, 2, 1, "书"), (3186, 4, 2, "早"), (3939, 1, 1, "hi"), (4157, 4, 2, "书"), (5058, 3, 1, "hi"), (5565, 3, 1, "hi"), (5817, 3, 1, "leave"), (7701, 2, 1, "书"), (7759, 4, 2, "B"), (8003, 4, 1, "leave"), (8051, 2, 1, "B"), (8209, 1, 2, "广告"), (8943, 1, 2, "join"), (10313, 1, 1, "早"), (10338, 4, 2, "B"), (10787, 2, 1, "广告"), (10803, 2, 1, "join")], cuts=[4, 7, 11, 13, 14, 19], capacity=2, pace="")
@given(drawn=histories, cuts=st.lists(st.integers(1, 39), max_size=6, unique=True), capacity=st.integers(1, 3), pace=st.sampled_from(["", ", pace: 30m"]))
def test_runs_cut_anywhere_hold_the_plan_of_one_run(tmp_path_factory, drawn, cuts, capacity, pace):
    config = config_from(RULES, COMMUNITY % (capacity, pace), tmp_path_factory.mktemp("pb"))
    events = [event(*item) for item in sorted(drawn)]
    bounds = [0, *sorted(cut for cut in cuts if cut < len(events)), len(events)]
    pieces = [events[start:end] for start, end in itertools.pairwise(bounds) if end > start]
    whole = plan(config, events)
    assert_invariants(whole, events, {"op": capacity, "kai": 1}, 1800 if pace else 0)
    assert held(config, pieces, tmp_path_factory.mktemp("state") / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def assert_invariants(result: Any, events: list[dict[str, Any]], capacity: dict[str, int], pace: int) -> None:
    """What issue 19 says of any plan, on this one: capacity per operator and day, quiet hours,
    the daily DM limit, one merged DM per member, operator and day (two operators may each write
    to a member of both their groups), pace, deadlines, and nothing for a
    member in a group after the plan removed them from it until they join it again (but the
    removal's own note)."""
    local = result.evaluation.local
    per_day: dict[tuple[str | None, int], int] = {}
    dms: dict[tuple[str | None, str | None, int], int] = {}
    for task in result.tasks:
        day = local.day(task.due)
        per_day[(task.assignee, day)] = per_day.get((task.assignee, day), 0) + 1
        if task.action == "dm":
            dms[(task.member, task.assignee, day)] = dms.get((task.member, task.assignee, day), 0) + 1
        hour = datetime.fromtimestamp(task.due, START.tzinfo).hour
        assert 8 <= hour < 22, (task.id, hour)
        assert task.due <= task.deadline, task.id
    assert all(count <= capacity[assignee] for (assignee, _), count in per_day.items() if assignee is not None), per_day
    assert all(count <= 1 for count in dms.values()), dms  # merged: one message a day (the limit is 2)
    if pace:
        dues = sorted(task.due for task in result.tasks if task.assignee == "op")
        assert all(later - earlier >= pace for earlier, later in itertools.pairwise(dues)), dues
    joins = [(item["member"], item["group"], datetime.fromisoformat(item["ts"]).timestamp()) for item in events if item["type"] == "member_joined"]
    removals = [task for task in result.tasks if task.action == "remove"]
    for removal in removals:
        for task in result.tasks:
            if task.member != removal.member or task.group != removal.group or task.due <= removal.due or task.trigger_at == removal.trigger_at:
                continue
            assert any(member == task.member and group == task.group and removal.due < at <= task.due for member, group, at in joins), (removal.id, task.id)


# The same over the 2026 春节 break (02-15 to 02-23, 02-14 a working Saturday), with rules that
# keep their tasks off the holidays (`not_on`) and a silence that does not count them: a task
# moved past the break, its deadline with it, and capacity's moves over the break (no
# `max_delay`) must come out of daily runs as out of one.
HOLIDAY_RULES = {
    "p.yaml": """\
        playbook: p
        rules:
          - id: first
            when: {event: message, keywords: [早]}
            priority: high
            not_on: holidays
            do: [{notify: "看一下 {{ member.name }}"}]
          - id: ask
            when: {event: message, keywords: [书]}
            delay: 20h
            deadline: 1d
            not_on: [holidays, weekends]
            do: [{dm: "问问 {{ member.name }}"}]
          - id: nudge
            when: {silence: 2d, not_counting: holidays}
            not_on: holidays
            do: [{dm: "好久不见 {{ member.name }}"}]
          - id: hello
            when: {event: member_joined}
            do: [{mention: "欢迎 {{ member.name }}"}]
          - id: chat
            when: {event: message, keywords: [hi]}
            delay: 20h
            do: [{dm: "聊聊 {{ member.name }}"}]
        """,
}
HOLIDAY_START = datetime(2026, 2, 11, tzinfo=timezone(timedelta(hours=8)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Two notes of 初一 moved to 02-24, one carried by capacity to 02-25 — in the next run, with the
# deadline that moved with it (from 02-18).
@example(drawn=[(9240, 1, 1, "早"), (9241, 2, 1, "早"), (19320, 3, 1, "hi")], cuts=[2], capacity=1)
@given(drawn=st.lists(st.tuples(st.integers(0, 16 * 1440), st.integers(1, 4), st.integers(1, 2), st.sampled_from(["早", "书", "hi", "join", "leave"])), min_size=1, max_size=30, unique_by=lambda drawn: drawn[0]), cuts=st.lists(st.integers(1, 29), max_size=5, unique=True), capacity=st.integers(1, 3))
def test_runs_cut_anywhere_over_a_holiday_hold_the_plan_of_one_run(tmp_path_factory, drawn, cuts, capacity):
    config = config_from(HOLIDAY_RULES, COMMUNITY % (capacity, ""), tmp_path_factory.mktemp("pb"))
    events = [event(minute + int((HOLIDAY_START - START).total_seconds()) // 60, member, group, kind) for minute, member, group, kind in sorted(drawn)]
    bounds = [0, *sorted(cut for cut in cuts if cut < len(events)), len(events)]
    pieces = [events[start:end] for start, end in itertools.pairwise(bounds) if end > start]
    whole = plan(config, events)
    assert_invariants(whole, events, {"op": capacity, "kai": 1}, 0)
    off = {day for day in range(HOLIDAY_START.toordinal() + 4, HOLIDAY_START.toordinal() + 13)}  # 02-15 … 02-23
    rules_off = {"first", "ask", "nudge"}
    assert not [task.id for task in whole.tasks if task.rule in rules_off and whole.evaluation.local.day(task.due) in off]
    assert held(config, pieces, tmp_path_factory.mktemp("state") / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def one_operator(operator: str, *settings: str) -> str:
    """community.yaml with one operator (``operator``, its line) and ``settings`` (lines under `community:`)."""
    return "community:\n  name: t\n  timezone: Asia/Shanghai\n" + "".join(f"  {line}\n" for line in settings) + f"  operators:\n    - {operator}\n"


def test_a_message_moved_past_the_break_keeps_its_deadline_in_the_next_run(tmp_path):
    """m1, silent since 02-10, is due two DMs at 02-12 10:00, one a day-off rule's: one message.
    Capacity (one a day, high-priority notes first) carries it to 02-15, 初一, so it waits for
    02-24, its deadline moved with it (the parts' own stay as they were); 02-24 is full too, and
    it goes on to 02-25, within its moved deadline. A run that ends on 02-20 leaves 02-24 open:
    the next run settles it again with the message's deadline as it stood, not the parts'
    earliest, which would drop it as past its deadline."""
    rules = {"p.yaml": """\
        playbook: p
        rules:
          - id: first
            when: {event: message, keywords: [早]}
            priority: high
            do: [{notify: "看一下 {{ member.name }}"}]
          - id: nudge
            when: {silence: 2d}
            deadline: 5d
            not_on: holidays
            do: [{dm: "好久不见 {{ member.name }}"}]
          - id: miss
            when: {silence: 2d}
            deadline: 5d
            do: [{dm: "想你了 {{ member.name }}"}]
        """}
    community = one_operator("{id: op, groups: [g1], capacity: 1}", "merge: [dm]", "max_delay: 7d")
    config = config_from(rules, community, tmp_path / "pb")

    def at(day: int, hour: int, member: str, text: str) -> dict[str, Any]:
        return {"ts": datetime(2026, 2, day, hour, tzinfo=START.tzinfo).isoformat(), "type": "message", "group": "g1", "member": member, "text": text}

    first = [at(10, 10, "m1", "hi"), *(at(day, 9, "m2", "早") for day in (12, 13, 14)), at(20, 9, "m3", "hi")]
    later = [at(24, 9, "m2", "早"), at(27, 9, "m3", "hi")]
    whole = plan(config, first + later)
    message = [task for task in whole.tasks if task.member == "m1"]
    assert [(datetime.fromtimestamp(task.due, START.tzinfo).isoformat(), len(task.parts)) for task in message] == [("2026-02-25T10:00:00+08:00", 2)]
    assert held(config, [first, later], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_task_settled_again_by_the_next_run_keeps_the_name_its_member_had_when_planned(tmp_path):
    """新人小A joins at 10:00 and is 小A by 10:05; her DM, planned at the join, is due the next
    day, which the run ending at 10:05 leaves open. The next run brings an urgent note for that
    day's one slot, and the DM goes a day later: printed again, it still names her 新人小A, as one
    run names her in the task (the name it was planned with), not 小A."""
    rules = {"p.yaml": """\
        playbook: p
        rules:
          - id: hello
            when: {event: member_joined}
            delay: 1d
            deadline: 3d
            do: [{dm: "欢迎来玩"}]
          - id: urgent
            when: {event: message, keywords: [急]}
            priority: urgent
            do: [{notify: "看一下"}]
        """}
    community = one_operator("{id: op, groups: [g1], capacity: 1}")
    config = config_from(rules, community, tmp_path / "pb")
    first = [
        {"ts": "2026-03-01T10:00:00+08:00", "type": "member_joined", "group": "g1", "member": "m1", "name": "新人小A"},
        {"ts": "2026-03-01T10:05:00+08:00", "type": "message", "group": "g1", "member": "m1", "name": "小A", "text": "大家好"},
    ]
    later = [{"ts": "2026-03-02T09:00:00+08:00", "type": "message", "group": "g1", "member": "m2", "text": "急"}]
    fields = ("id", "due", "member_name", "text")
    whole = task_keys(plan(config, first + later), *fields)
    assert [key[1:3] for key in whole if key[3] == "欢迎来玩"] == [("2026-03-03T10:00:00+08:00", "新人小A")]
    printed: dict[str, tuple[Any, ...]] = {}
    for piece in (first, later):
        store = StateStore.open(str(tmp_path / "ops.db"))
        result = plan(config, piece, state=store)
        result.save_state()
        store.close()
        printed.update((key[0], key) for key in task_keys(result, *fields))
    assert sorted(printed.values()) == sorted(whole)


def test_a_removal_done_on_its_day_and_paced_into_the_next_holds_a_slot_there(tmp_path):
    """Two spammers at 21:00 and 21:10: both removed then (their effects take the day's two
    slots), but at a pace of an hour the second is listed at 08:00 the next morning, after quiet
    hours. That morning's list holds it, so of the next day's two spammers only the first can be
    removed when due: the second finds no slot. Had the second been removed too, capacity would
    have carried a removal done that morning on to the day after, listed a day after the member
    was out. A run cut between the two days plans the same."""
    rules = {"p.yaml": """\
        playbook: p
        rules:
          - id: kick
            when: {event: message, keywords: [广告]}
            do: [{remove: 发广告}]
        """}
    community = one_operator("{id: op, groups: [g1], capacity: 2, pace: 1h}", 'quiet_hours: "22:00-08:00"')
    config = config_from(rules, community, tmp_path / "pb")

    def spam(day: int, hour: int, minute: int, member: str) -> dict[str, Any]:
        return {"ts": datetime(2026, 3, day, hour, minute, tzinfo=START.tzinfo).isoformat(), "type": "message", "group": "g1", "member": member, "text": "广告"}

    first = [spam(2, 21, 0, "m1"), spam(2, 21, 10, "m2"), {**spam(2, 23, 0, "m9"), "text": "晚安"}]
    later = [spam(3, 9, 0, "m3"), spam(3, 9, 30, "m4"), {**spam(5, 10, 0, "m9"), "text": "早"}]
    whole = plan(config, first + later)
    listed = sorted((datetime.fromtimestamp(task.due, START.tzinfo).strftime("%m-%d %H:%M"), task.member) for task in whole.tasks)
    assert listed == [("03-02 21:00", "m1"), ("03-03 08:00", "m2"), ("03-03 09:00", "m3")]
    assert held(config, [first, later], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_dm_merged_into_its_firings_reward_and_the_two_into_the_next_days_message_is_kept_by_the_next_run(tmp_path):
    """Fuzzing (review 21, c6363095): 小王's reward and DM of one firing are one message on a full
    day; capacity carries it to the next, into that day's DM. A run ending on the first day
    settles both days as it ends: the next run, settling them again, lost the DM — it was kept as
    merged into the reward, which was merged on, and was reopened with neither."""
    rules = {"p.yaml": """\
        playbook: p
        rules:
          - id: first
            when: {event: message, keywords: [急]}
            priority: high
            do: [{notify: "看一下 {{ member.name }}"}]
          - id: ask
            when: {event: message, keywords: [问]}
            delay: 1d
            do: [{dm: "问问你"}]
          - id: pair
            when: {event: message, keywords: [书]}
            deadline: 3d
            do: [{reward: {points: 5, text: "送你积分"}}, {dm: "书单发你"}]
        """}
    community = one_operator("{id: op, groups: [g1], capacity: 1}", "merge: [dm, reward]")
    config = config_from(rules, community, tmp_path / "pb")

    def said(day: int, hour: int, member: str, text: str) -> dict[str, Any]:
        return {"ts": datetime(2026, 3, day, hour, tzinfo=START.tzinfo).isoformat(), "type": "message", "group": "g1", "member": member, "name": "小王" if member == "m1" else member, "text": text}

    first = [said(2, 8, "m1", "问"), said(2, 9, "m2", "急"), said(2, 10, "m1", "书"), said(2, 12, "m9", "hi")]
    later = [said(4, 10, "m9", "hi")]
    whole = plan(config, first + later)
    (message,) = [task for task in whole.tasks if task.member == "m1"]
    assert (message.text, [part["rule"] for part in message.parts]) == ("问问你\n\n送你积分\n\n书单发你", ["p/ask", "p/pair", "p/pair"])
    assert held(config, [first, later], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_schedules_note_in_each_group_goes_with_that_groups_post_and_leaves_no_slot_empty(tmp_path):
    """Fuzzing (/tmp/fuzz seed 61): a Monday 21:00 schedule posts and notes in each of three
    groups, six tasks for an operator of four a day. Each group's note was filed as the note
    of one firing, the last group's overwriting the others, so capacity gave that note a slot
    before its post: the post was dropped (its day full, its deadline that night), the note
    with it — one slot of four left empty while another group's post had been dropped for it;
    and the next --state run, settling that day again without the post, planned the note alone."""
    rules = {"p.yaml": """\
        playbook: p
        rules:
          - id: weekly
            when: {schedule: "0 21 * * 1"}
            do: [{notify: 发话题了吗}, {post: 本周话题}]
        """}
    config = config_from(rules, one_operator("{id: op, groups: [g1, g2, g3], capacity: 4}"), tmp_path / "pb")

    def said(day: int, hour: int, group: str) -> dict[str, Any]:
        return {"ts": datetime(2026, 3, day, hour, tzinfo=START.tzinfo).isoformat(), "type": "message", "group": group, "member": f"m{group}", "text": "hi"}

    first = [said(2, 9, "g1"), said(2, 10, "g2"), said(2, 11, "g3"), said(2, 23, "g1")]
    later = [said(3, 10, "g2")]
    whole = plan(config, first + later)
    assert len(whole.tasks) == 4  # the day's four slots
    for task in whole.tasks:  # a note only beside its own group's post
        assert task.action == "post" or any(other.action == "post" and other.group == task.group for other in whole.tasks), task.group
    assert held(config, [first, later], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def said_at(day: int, clock: str, member: str, group: str = "g1", **extra: Any) -> dict[str, Any]:
    """A message of March 2026 (``clock``: "HH:MM")."""
    hour, minute = map(int, clock.split(":"))
    return {"ts": datetime(2026, 3, day, hour, minute, tzinfo=START.tzinfo).isoformat(), "type": "message", "group": group, "member": member, "text": extra.pop("text", "hi"), **extra}


NIGHTLY_POST = {"p.yaml": """\
    playbook: p
    rules:
      - id: nightly
        when: {schedule: "30 23 * * *"}
        priority: urgent
        deadline: 1d
        do: [{post: 本周话题}, {notify: 发话题了吗}]
    """}


def test_a_task_superseded_on_a_day_a_run_leaves_open_stays_superseded_when_the_next_run_settles_it(tmp_path):
    """Fuzzing (seeds 20239, 20493, 70): at a pace of 2h, the 2nd's 23:30 note in g1 is listed
    at 01:30 on the 3rd, where the 3rd's own 23:30 note of g1 supersedes it; that one is dropped
    by capacity (two a day: the 3rd's two posts). The run that ends at 23:40 on the 3rd left
    the superseding note out of the open day (no later run could keep it), so the next run,
    settling the 3rd again, found nothing to supersede the older note, and gave it g2's slot."""
    community = one_operator("{id: op, groups: [g1, g2], capacity: 2, pace: 2h}", "max_delay: 12h")
    config = config_from(NIGHTLY_POST, community, tmp_path / "pb")
    pieces = [[said_at(2, "02:00", "m1")], [said_at(3, "19:00", "m2", "g2"), said_at(3, "23:40", "m2", "g2")], [said_at(4, "02:30", "m1")]]
    whole = plan(config, [event for piece in pieces for event in piece])
    listed = [(datetime.fromtimestamp(task.due, START.tzinfo).strftime("%d %H:%M"), task.action, task.group) for task in whole.tasks]
    assert listed == [("02 23:30", "post", "g1"), ("03 23:30", "post", "g1"), ("04 01:30", "post", "g2")]
    assert held(config, pieces, tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


@pytest.mark.parametrize("ends", ["09:00", "23:40"])
def test_a_task_a_later_offer_may_supersede_is_one_that_may_go_from_a_day_a_run_leaves_open(tmp_path, ends):
    """Fuzzing (seed 20493): the 2nd's 23:30 note, paced to 01:30 on the 3rd, takes the 3rd's
    second slot when the run ends at 09:00 (the first: a newcomer's removal, done at 00:06),
    and her welcome post is left over. Due before the run's end, it was taken to be out of
    reach of any later run — but the note may still go: the 3rd's own 23:30 note supersedes
    it, and one run gives the welcome that slot (where it goes stale, as pace lists it after
    the removal). A run ending at 23:40 sees that note, dropped by capacity with its post: it
    must still be kept open, though its post is out of reach, to supersede the older one."""
    rules = {"p.yaml": NIGHTLY_POST["p.yaml"].rstrip(" ") + """\
      - id: spam
        when: {event: member_joined}
        priority: urgent
        do: [{remove: 发广告}, {post: "欢迎 {{ member.name }}"}]
    """}
    config = config_from(rules, one_operator("{id: op, groups: [g1], capacity: 2, pace: 2h}", "max_delay: 12h"), tmp_path / "pb")
    joined = {**said_at(3, "00:06", "m2"), "type": "member_joined"}
    pieces = [[said_at(2, "02:00", "m9")], [joined, said_at(3, ends, "m9")], [said_at(10, "12:00", "m9")]]
    whole = plan(config, [event for piece in pieces for event in piece])
    assert held(config, pieces, tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_note_dropped_with_its_post_past_the_deadline_frees_its_place_in_the_pace(tmp_path):
    """Fuzzing (seeds 7506, 20622): at a pace of 2h, the 2nd's 23:30 note is laid out at 23:30
    and its post at 01:30, past the end of its day (its deadline): the post is dropped, and the
    note with it. The 3rd's first task, m1's urgent warning at 00:08, was still laid out two
    hours after the dropped note, at 01:30 — and at 00:08 by the next --state run, which
    settles the 3rd again without it. No task is due within 2h of 00:08: it is due then."""
    rules = {"p.yaml": """\
        playbook: p
        rules:
          - id: nightly
            when: {schedule: "30 23 * * *"}
            do: [{notify: 发话题了吗}, {post: 本周话题}]
          - id: warn
            when: {event: message, keywords: [滚]}
            priority: urgent
            do: [{warn: "{{ member.name }} 注意言辞"}]
        """}
    config = config_from(rules, one_operator("{id: op, groups: [g1], capacity: 2, pace: 2h}"), tmp_path / "pb")
    pieces = [[said_at(2, "23:10", "m9")], [said_at(3, "00:08", "m1", text="滚")], [said_at(4, "01:04", "m9")]]
    whole = plan(config, [event for piece in pieces for event in piece])
    listed = [(datetime.fromtimestamp(task.due, START.tzinfo).strftime("%d %H:%M"), task.rule) for task in whole.tasks]
    assert listed == [("03 00:08", "warn"), ("03 23:30", "nightly")]
    assert held(config, pieces, tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_note_whose_firing_already_sent_a_task_stays_when_the_next_run_drops_another(tmp_path):
    """Fuzzing (seeds 20458, 20722): m1 asks for the book list at 22:00; at a pace of 2h the
    survey goes at 22:00, the note to the operator at 00:00 and the post at 02:00, past the
    rule's 3h deadline: dropped. The note stays — the firing's survey went out — in one run,
    and in a --state run that ends after 00:00. The next run, settling the 3rd again with the
    note and the post but not the survey (final the day before), dropped the note with the
    post, as if nothing of its firing were sent."""
    rules = {"p.yaml": """\
        playbook: p
        rules:
          - id: books
            when: {event: message, keywords: [书单]}
            deadline: 3h
            do:
              - survey: {form: "https://f.example/1", text: 书单问卷}
              - notify: "已发问卷给 {{ member.name }}"
              - post: 本周书单
        """}
    config = config_from(rules, one_operator("{id: op, groups: [g1], capacity: 6, pace: 2h}"), tmp_path / "pb")
    pieces = [[said_at(2, "22:00", "m1", text="书单"), said_at(3, "00:30", "m9")], [said_at(4, "10:00", "m9")]]
    whole = plan(config, [event for piece in pieces for event in piece])
    assert [task.action for task in whole.tasks] == ["survey", "notify"]
    assert held(config, pieces, tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_note_goes_out_of_reach_with_its_firings_task_merged_into_a_message_out_of_reach(tmp_path):
    """Fuzzing (seed 20230): m8's @ of the silence after rejoining is merged into the @ of her
    earlier silence, and the message is dropped on a full day, out of reach of any later run;
    the firing's note goes with it. The note, left open alone (its firing's task was a part of
    that message, not a task of the open days), was printed by the next run."""
    rules = {"p.yaml": """\
        playbook: p
        rules:
          - id: quiet
            when: {silence: 1d}
            do: [{notify: 好久不见}, {mention: 好久不见}]
        """}
    config = config_from(rules, one_operator("{id: op, groups: [g1, g2, g3], capacity: 2, pace: 1h}", "merge: [mention]"), tmp_path / "pb")
    first = [
        said_at(1, "04:28", "m7", "g2"), said_at(1, "06:44", "m13", "g2"), said_at(1, "08:04", "m12", "g3"),
        said_at(1, "11:43", "m2"), said_at(1, "12:16", "m8", "g3"), {**said_at(2, "22:07", "m8", "g3"), "type": "member_joined"},
    ]
    pieces = [first, [said_at(5, "23:47", "m14", "g2")], [said_at(6, "00:26", "m14", "g2")]]
    whole = plan(config, [event for piece in pieces for event in piece])
    assert "m8" not in [task.member for task in whole.tasks]
    assert held(config, pieces, tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_task_moved_on_as_a_run_ends_is_settled_again_as_it_was_checked_on_its_day(tmp_path):
    """Fuzzing (seeds 7101, 7500, 7453): one DM a day; m2's DM of 00:07 on the 2nd (checked
    then) is moved to the 3rd as the run ending at 06:58 settles the 2nd, and checked there
    with what is known at 06:58 — her message of 06:58 among it. The next run, settling the
    2nd again, put it back at 00:07 with what that check saw: her 06:58 message, as if it had
    been written before, which let the 06:58 DM join it. It is settled again as it was checked
    when due: what a run's end checks of a task it moves on is not what it was on its day."""
    rules = {"p.yaml": """\
        playbook: p
        rules:
          - id: hello
            when: {event: message}
            if: member.messages > 0
            do: [{dm: "欢迎 {{ member.name }}"}]
        """}
    config = config_from(rules, one_operator("{id: op, groups: [g1], capacity: 1, pace: 2h}"), tmp_path / "pb")
    pieces = [
        [said_at(1, "15:22", "m2", name="小李"), said_at(1, "21:26", "m2", name="小王")],
        [said_at(2, "00:07", "m2"), said_at(2, "06:58", "m2", name="m2名")],
        [said_at(18, "19:04", "m5")],
    ]
    whole = plan(config, [event for piece in pieces for event in piece])
    assert [(datetime.fromtimestamp(task.due, START.tzinfo).strftime("%d %H:%M"), len(task.parts)) for task in whole.tasks] == [("01 15:22", 0), ("02 06:58", 2), ("03 00:07", 0), ("18 19:04", 0)]
    assert held(config, pieces, tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_part_reopened_in_its_message_and_dropped_with_it_did_not_go_out_on_its_own(tmp_path):
    """Fuzzing (seeds 20944, 20208, 7623): 老张's two silence DMs are one message, carried from
    day to day by a daily note of one slot a day. A run reopens the message with its part and
    drops it past its deadline: the part, reopened, was not marked dropped with it, and was
    saved as if it had gone out on its own — so the next run, finding no such task printed,
    did not reopen the message at all, and kept the note of the 11th in its place."""
    rules = {"p.yaml": """\
        playbook: p
        rules:
          - id: count
            when: {silence: 12h, not_counting: weekends}
            do: [{dm: "看一下 {{ member.name }}，{{ member.messages }} 条"}]
          - id: miss
            when: {silence: 12h}
            do: [{dm: 好久不见}]
          - id: daily
            when: {schedule: "15 12 * * *"}
            deadline: 1d
            do: [{notify: 本周话题}]
        """}
    config = config_from(rules, one_operator("{id: op, groups: [g1, g2, g3], capacity: 1, pace: 30m}"), tmp_path / "pb")

    def at(ts: str, member: str, group: str, **extra: Any) -> dict[str, Any]:
        return {"ts": f"2026-04-{ts}+08:00", "type": "message", "group": group, "member": member, "text": "hi", **extra}

    pieces = [[at("08T05:13:55", "m10", "g3", name="老张")], [at("09T23:57:00", "m5", "g1")], [at("10T15:55:00", "m13", "g2")], [{**at("12T00:14:00", "m4", "g1"), "type": "member_left"}]]
    whole = plan(config, [event for piece in pieces for event in piece])
    assert [task.member for task in whole.tasks if task.action == "dm"] == ["m10", "m5", "m13"]
    assert held(config, pieces, tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_task_merged_into_a_part_that_carried_its_message_on_is_reopened_with_that_message(tmp_path):
    """Fuzzing (seed 40052, a fresh range): m11's silence DM of the 14th is merged into that of
    the 13th, whose message capacity drops past its deadline on the 15th; the 14th's DM carries
    it on to the 16th, where the leaderboard's reward of the 15th joins it. The run that ends
    that night left the reward open as merged into the 14th's DM — a part of the 13th's message,
    not a message of its own — and the next run, reopening only what was merged into a message
    it reopens, lost the reward: "欢迎 m11" went out without "好久不见"."""
    rules = {"p.yaml": """\
        playbook: p
        rules:
          - id: hello
            when: {silence: 12h}
            recheck: false
            do: [{dm: "欢迎 {{ member.name }}"}]
          - id: top
            when:
              leaderboard: {metric: questions, window: 7d, top: 1, every: "0 20 * * 0"}
            priority: urgent
            deadline: 3d
            do: [{reward: {points: 5, text: 好久不见}}]
        """}
    community = one_operator("{id: op, groups: [g1, g2], capacity: 1}", 'quiet_hours: "22:00-08:00"', "merge: [dm, reward]")
    config = config_from(rules, community, tmp_path / "pb")
    pieces = [
        [{**said_at(11, "06:01", "m25", "g2"), "type": "member_joined"}, said_at(11, "07:21", "m13")],
        [said_at(12, "04:10", "m25", "g2", text="请问怎么报名？"), said_at(12, "08:34", "m5", "g2", name="老张"), said_at(12, "15:52", "m11", "g2", text="请问怎么报名？")],
        [said_at(13, "17:20", "m11", "g2", text="请问怎么报名？")],
        [said_at(14, "22:56", "m13"), said_at(14, "23:53", "m13", text="请问怎么报名？")],
        [said_at(15, "23:40", "m22", "g2")],
        [said_at(16, "00:22", "m11", "g2", name="小李")],
    ]
    whole = plan(config, [event for piece in pieces for event in piece])
    assert [task.text for task in whole.tasks if task.member == "m11"] == ["欢迎 m11\n\n好久不见"]
    assert held(config, pieces, tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_task_capacity_dropped_as_a_run_ended_holds_no_limit_once_its_operators_day_is_settled(tmp_path):
    """Fuzzing (seed 85629): one @ or DM in twelve hours. 小王's @ in g2, carried from the 1st
    by Mike's full day, and her DM in g1 offered on the 2nd, are both due at 09:00 then. Lily's
    one slot goes to 小李's urgent warning and the DM cannot wait past its deadline: capacity
    drops it when Lily's day is settled — before Mike's (operators' days are settled in the
    order of their ids), whose carried @ is then within the limit. A --state run that ended that
    morning keeps the dropped DM's place among 小王's limits for the next run, which settles
    the day again: it let it go only when the whole day was over, and took the @ back."""
    rules = {"p.yaml": """\
        playbook: p
        rules:
          - id: ask
            when: {event: message, keywords: [书]}
            deadline: 12h
            do: [{dm: 最近读什么？}]
          - id: hello
            when: {event: message, keywords: [早]}
            deadline: 3d
            do: [{mention: 早}]
          - id: spam
            when: {event: message, keywords: [广告]}
            priority: urgent
            do: [{warn: 请勿发广告}]
        """}
    community = one_operator("{id: a-lily, groups: [g1], capacity: 1}", "limits:", "  - {actions: [dm, mention], max: 1, per: 12h}")
    community += "    - {id: b-mike, groups: [g2], capacity: 1}\n"
    config = config_from(rules, community, tmp_path / "pb")
    pieces = [
        [said_at(1, "08:00", "m5", "g2", text="广告"), said_at(1, "09:00", "m1", "g2", text="早"),
         said_at(2, "08:00", "m2", text="广告"), said_at(2, "09:00", "m1", text="书"), said_at(2, "10:00", "m3")],
        [said_at(4, "10:00", "m3")],
    ]
    whole = plan(config, [event for piece in pieces for event in piece], explain=True)
    assert [(task.member, task.action, datetime.fromtimestamp(task.due, START.tzinfo).strftime("%d %H:%M")) for task in whole.tasks] == [
        ("m5", "warn", "01 08:00"), ("m2", "warn", "02 08:00"), ("m1", "mention", "02 09:00"),
    ]
    assert [(item.task.action, item.guardrail) for item in whole.suppressed] == [("dm", "deadline")]
    assert held(config, pieces, tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))
