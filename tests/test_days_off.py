"""Holidays and weekends: `not_on:` (遇节假日顺延) and a silence's `not_counting:` (不算节假日).

Review 13 ran the nightly routine over a winter with 春节: 115 group @ "好几天没看到你啦" and 22
"最近比较忙吗？" DMs went out on 初一–初六, their "已沉默 7 天" counting the holiday. The 2026
calendar is the one the `holidays` package has with its 调休: the 春节 break is 02-15 (Sunday)
to 02-23 (Monday), and Saturday 02-14 and 02-28 are working days.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_engine.festivals import OffDays
from playbook_engine.localtime import local_time
from playbook_engine.output import render_explanation
from tests.conftest import plan, task_keys
from tests.test_daily_texts import held
from tests.test_guardrails import capacity_community, community, one_rule

TZ = ZoneInfo("Asia/Shanghai")
HOLIDAYS = frozenset({"holidays"})
WEEKENDS = frozenset({"weekends"})


def day(text: str) -> int:
    return date.fromisoformat(text).toordinal()


def midnight(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


def event(ts: str, member: str = "m1", kind: str = "message", **extra: str) -> dict:
    return {"ts": f"{ts}+08:00", "type": kind, "group": "g1", "member": member, "text": "hi", **extra}


def test_the_spring_festival_break_is_its_days_off_and_the_weekend_days_they_join():
    off = OffDays(HOLIDAYS)
    assert [off.name(day(f"2026-02-{d:02d}")) for d in range(13, 26)] == [
        None, None,  # Friday; Saturday 02-14, worked in place of a day off (调休)
        *["春节假期"] * 9,  # Sunday 02-15 to Monday 02-23
        None, None,
    ]
    assert off.name(day("2026-03-07")) is None  # an ordinary Saturday is no holiday
    assert off.name(day("2026-10-01")) == "国庆节假期"
    assert date.fromordinal(off.next_open(day("2026-02-17"))) == date(2026, 2, 24)
    assert date.fromordinal(off.next_off(day("2026-02-01"))) == date(2026, 2, 15)
    assert OffDays(HOLIDAYS, language="en").name(day("2026-02-17")) == "Chinese New Year holidays"


def test_weekends_are_saturdays_and_sundays_not_worked():
    off = OffDays(WEEKENDS)
    assert off.name(day("2026-03-07")) == "周末"
    assert off.name(day("2026-02-14")) is None  # 调休上班
    assert off.name(day("2026-02-17")) is None  # a Tuesday of 春节: a holiday, not a weekend
    both = OffDays(HOLIDAYS | WEEKENDS)
    assert both.name(day("2026-03-07")) == "周末" and both.name(day("2026-02-17")) == "春节假期"
    assert date.fromordinal(both.next_open(day("2026-03-07"))) == date(2026, 3, 9)


def test_a_task_due_in_the_break_moves_to_the_same_time_of_the_first_working_day(make_config):
    config = make_config({"p.yaml": one_rule("{event: message}", "    not_on: holidays\n")}, community("  language: zh-CN\n"))
    events = [event("2026-02-12T10:00:00"), event("2026-02-17T15:30:00", "m2")]
    result = plan(config, events, explain=True)
    assert task_keys(result, "member", "due") == [("m1", "2026-02-12T10:00:00+08:00"), ("m2", "2026-02-24T15:30:00+08:00")]
    moved = result.tasks[1]
    assert moved.deadline == datetime(2026, 2, 25, 15, 30, tzinfo=TZ).timestamp()  # 24 hours after, as before the move
    assert moved.moved == ["春节假期不发：从 2026-02-17 15:30 顺延到 2026-02-24 15:30"]
    assert result.planner.moved["not_on"] == 1
    assert "顺延：遇节假日顺延 1" in result.summary("zh-CN")
    assert "春节假期不发" in render_explanation(result, config.community.tz)


def test_a_rule_without_not_on_is_due_on_holidays(make_config):
    config = make_config({"p.yaml": one_rule("{event: message}")}, community())
    assert task_keys(plan(config, [event("2026-02-17T15:30:00")]), "due") == [("2026-02-17T15:30:00+08:00",)]


def test_a_task_moved_past_the_break_is_checked_again_there(make_config):
    """One who wrote during the break is no longer silent on the first working day: that nudge is
    stale (the silence that began with the message has its own, three days later)."""
    config = make_config({"p.yaml": one_rule("{silence: 3d}", "    not_on: holidays\n")}, community())
    quiet = plan(config, [event("2026-02-12T10:00:00")], until=midnight("2026-02-26"))
    assert task_keys(quiet, "due") == [("2026-02-24T10:00:00+08:00",)]
    wrote = plan(config, [event("2026-02-12T10:00:00"), event("2026-02-20T21:00:00")], until=midnight("2026-02-26"), explain=True)
    assert task_keys(wrote, "due") == [("2026-02-24T21:00:00+08:00",)]
    assert [(item.guardrail, item.task.due) for item in wrote.suppressed] == [("stale", midnight("2026-02-24") + 10 * 3600)]


def test_capacity_carries_a_task_over_the_break_without_counting_it_as_delay(make_config):
    """A task capacity moves off 02-14 (a working Saturday) lands on 02-24, not in the break, and
    is not dropped for max_delay (3 days) by the nine days off it waited out."""
    files = {"p.yaml": one_rule("{event: message}", "    not_on: holidays\n    deadline: 2d\n")}
    config = make_config(files, capacity_community())
    events = [event("2026-02-14T09:00:00", f"m{n}") for n in range(1, 4)]
    result = plan(config, events, explain=True)
    assert task_keys(result, "member", "due") == [
        ("m1", "2026-02-14T09:00:00+08:00"), ("m2", "2026-02-14T09:00:00+08:00"), ("m3", "2026-02-24T09:00:00+08:00"),
    ]
    assert result.suppressed == []
    # The capacity's move first, then the days off it skipped; counted as both.
    assert result.tasks[2].moved == [
        "capacity of op full: moved from 2026-02-14 09:00 to 2026-02-15 09:00",
        "not sent on Chinese New Year holidays: moved from 2026-02-15 09:00 to 2026-02-24 09:00",
    ]
    assert result.planner.moved == {"capacity": 1, "not_on": 1}


def test_a_silence_does_not_count_the_break(make_config):
    files = {"p.yaml": one_rule("{silence: 7d, not_counting: holidays}")}
    config = make_config(files, community("  language: zh-CN\n"))
    result = plan(config, [event("2026-02-12T09:00:00")], until=midnight("2026-03-05"))
    # 02-12 09:00 to 02-14 24:00 is 2 days 15 hours; the other 4 days 9 hours from 02-24.
    assert task_keys(result, "due") == [("2026-02-28T09:00:00+08:00",)]
    assert result.tasks[0].reason == "已沉默 7 天（不算节假日），自 2026-02-12 09:00（最后一次发言）起"
    plain = plan(config, [event("2026-03-02T09:00:00")], until=midnight("2026-03-12"))
    assert task_keys(plain, "due") == [("2026-03-09T09:00:00+08:00",)]
    assert plain.tasks[0].reason == "已沉默 7 天，自 2026-03-02 09:00（最后一次发言）起"  # no day off in between: said as before


def test_an_unknown_not_on_or_country_is_a_validate_error(make_config):
    from playbook_engine.errors import InvalidPlaybooks

    with pytest.raises(InvalidPlaybooks, match="not_on"):
        make_config({"p.yaml": one_rule("{event: message}", "    not_on: sundays\n")}, community())
    with pytest.raises(InvalidPlaybooks, match="unknown country `XX`"):
        make_config({"p.yaml": one_rule("{event: message}")}, community("  country: XX\n"))


def test_validate_warns_of_a_not_on_that_skips_most_of_a_rules_tasks(make_config):
    """`not_on: holidays` put on a festival greeting skips the 春节 greeting (worth nothing after
    its day: not moved); a Saturday post with `not_on: weekends` is never sent. Said by
    validate, with the rule's place; a greeting of festivals that are no days off, or one with a
    `deadline:` (moved, not skipped), is not warned of."""
    from playbook_engine.loading import off_day_warnings

    greeting = one_rule("{holiday: [春节, 元宵节, 中秋节], each: member}", "    not_on: holidays\n")
    lantern = one_rule("{holiday: 元宵节, each: member}", "    not_on: holidays\n", playbook="q")
    moved = one_rule("{holiday: 春节, each: member}", "    not_on: holidays\n    deadline: 20d\n", playbook="s")
    saturday = one_rule('{schedule: "0 10 * * 6"}', "    not_on: weekends\n", action="post", playbook="t")
    monday = one_rule('{schedule: "0 10 * * 1"}', "    not_on: [holidays, weekends]\n", action="post", playbook="u")
    config = make_config({"p.yaml": greeting, "q.yaml": lantern, "s.yaml": moved, "t.yaml": saturday, "u.yaml": monday}, community())
    warnings = off_day_warnings(config)
    assert len(warnings) == 2, warnings
    assert warnings[0].endswith("take `not_on` off this rule, or give it a `deadline:` to send them after the break")
    assert "p.yaml:3: rule `r` greets on 春节、中秋节, days its `not_on: holidays` keeps tasks off" in warnings[0]
    assert "t.yaml:3: rule `r`'s schedule falls on days its `not_on: weekends` keeps tasks off (" in warnings[1]


def test_playbook_validate_prints_the_not_on_warning(tmp_path):
    from click.testing import CliRunner

    from playbook_engine.cli import cli
    from playbook_engine.plugins import load_registry

    (tmp_path / "community.yaml").write_text(community(), encoding="utf-8")
    (tmp_path / "t.yaml").write_text(one_rule('{schedule: "0 10 * * 6"}', "    not_on: weekends\n", action="post", playbook="t"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)], obj={"registry": load_registry(entrypoints=False)})
    assert result.exit_code == 0  # a warning: the playbooks load and run
    assert result.stderr.startswith(f"warning: {tmp_path / 't.yaml'}:3: rule `r`'s schedule falls on days its `not_on: weekends` keeps tasks off")


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 1, 31)),
    days=st.integers(min_value=1, max_value=30),
    kinds=st.sampled_from([HOLIDAYS, WEEKENDS, HOLIDAYS | WEEKENDS]),
)
def test_a_silence_deadline_counts_exactly_its_duration_of_days_not_kept_off(start, days, kinds):
    """Walked an hour at a time: the counted hours between the last message (or, written on a day
    off, the same time of the first day after it that is not) and the deadline are the duration,
    and the deadline is no later than it must be."""
    from playbook_engine.triggers.silence import SilenceTrigger

    class Run:
        local = local_time(TZ)

    class Community:
        country, language, tz = "CN", "zh", TZ
        days_silent_not_counting: frozenset[str] = frozenset()
        silent_days = None

    class Context:
        key = "p/r"
        community = Community()

    trigger = SilenceTrigger(f"{days}d", {"not_counting": sorted(kinds)}, Context())  # type: ignore[arg-type]
    since = start.replace(minute=0, second=0, microsecond=0, tzinfo=TZ).timestamp()
    deadline = trigger.deadline(Run(), since)  # type: ignore[arg-type]
    off = OffDays(kinds)
    local = Run.local
    first = local.day(since)
    # A stretch that began on a day off counts from the same time of the first day that is not.
    start = since if off.name(first) is None else local.midnight(off.next_open(first)) + (since - local.midnight(first))
    counted, t = 0, start
    while t < deadline:
        if off.name(Run.local.day(t)) is None:
            counted += 3600
        t += 3600
    assert counted == days * 86400
    assert off.name(Run.local.day(deadline - 1)) is None  # the last hour counted: not a day off
    assert (deadline - since == days * 86400) == all(off.name(day) is None for day in range(Run.local.day(since), Run.local.day(since + days * 86400 - 1) + 1))


def test_silences_that_began_in_the_break_keep_their_time_of_day(make_config):
    """Review 14: everyone who last wrote during 国庆 came due at 00:00 of the same day, 30
    identical @ at 08:00 sharp in one group. Each now counts from the same time of the first
    working day: 10-03 15:20 → from 10-08 15:20 (10-08 is a working day in the 2026 table)."""
    config = make_config({"p.yaml": one_rule("{silence: 3d, not_counting: holidays}")}, community())
    events = [event("2026-10-03T15:20:00", "m1"), event("2026-10-05T09:05:00", "m2")]
    result = plan(config, events, until=midnight("2026-10-14"))
    assert task_keys(result, "member", "due") == [("m2", "2026-10-11T09:05:00+08:00"), ("m1", "2026-10-11T15:20:00+08:00")]


def test_a_post_worth_only_its_day_is_skipped_on_a_day_off_not_moved(make_config):
    """Review 14: a weekly post with `not_on` moved after 春节 went out beside the next week's, and
    "周末愉快！" on a Tuesday. A task due by the end of its day (a schedule's, with no `deadline:`)
    is skipped on a day off; with a `deadline:` it is moved, as the rule then says it keeps — and
    where it lands on the day of the rule's next post, that one goes out alone."""
    post = 'playbook: p\nrules:\n  - id: weekly\n    when: {schedule: "0 10 * * 2"}\n    not_on: holidays\n%s    do:\n      - post: 本周书目\n'
    events = [event("2026-02-10T09:00:00"), event("2026-02-25T09:00:00")]
    config = make_config({"p.yaml": post % ""}, community("  language: zh-CN\n"))
    result = plan(config, events, explain=True)
    assert task_keys(result, "due") == [("2026-02-10T10:00:00+08:00",), ("2026-02-24T10:00:00+08:00",)]
    assert [(item.guardrail, item.reason) for item in result.suppressed] == [
        ("off_day", "春节假期不发：这条只在当天有用，跳过（要顺延到节后，给规则写 deadline:）"),  # 02-17, 初一
    ]
    assert "节假日不发 1" in result.summary("zh-CN")
    kept = plan(make_config({"p.yaml": post % "    deadline: 10d\n"}, community()), events, explain=True)
    assert task_keys(kept, "due") == [("2026-02-10T10:00:00+08:00",), ("2026-02-24T10:00:00+08:00",)]
    assert [item.guardrail for item in kept.suppressed] == ["superseded"]  # 02-17's, moved onto 02-24's own post


def test_daily_runs_carry_a_task_over_the_break_as_one_run_does(make_config, tmp_path):
    """Review 14: with capacity 1, six joiners of Friday 02-13 (deadline 10d): one run keeps four
    (02-13, 02-14, 02-24, 02-25) and drops two at max_delay. Run night by night, the settling of
    each night's open days had moved their deadlines and waited days on twice: the nightly plan
    kept six, and stored deadlines before the due times (listed as late)."""

    rule = one_rule("{event: member_joined}", "    deadline: 10d\n    not_on: holidays\n")
    config = make_config({"p.yaml": rule}, capacity_community().replace("capacity: 2", "capacity: 1"))
    joins = [event(f"2026-02-13T10:0{n}:00", f"m{n}", "member_joined") for n in range(6)]
    days = [[event(f"2026-02-{day:02d}T12:00:00", "m99")] for day in range(13, 29)]
    whole = plan(config, joins + [item for piece in days for item in piece])
    assert task_keys(whole, "member", "due") == [
        ("m0", "2026-02-13T10:00:00+08:00"), ("m1", "2026-02-14T10:01:00+08:00"),
        ("m2", "2026-02-24T10:02:00+08:00"), ("m3", "2026-02-25T10:03:00+08:00"),
    ]
    assert [task.deadline for task in whole.tasks[2:]] == [midnight("2026-03-04") + 10 * 3600 + 120, midnight("2026-03-04") + 10 * 3600 + 180]
    assert held(config, [joins + days[0], *days[1:]], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_days_silent_without_holidays_moves_stages_becomes_and_texts_together(make_config):
    """Review 14: the silences skipped 春节 but the stages did not, so those silent from before the
    break reached 衰退期 (14 calendar days) before any nudge, and the win-back DM came first.
    With `days_silent: {not_counting: holidays}` one count serves them all: silent from 02-12
    09:00, 2 days 15 hours before the break, the rest after it."""
    settings = community("  days_silent: {not_counting: holidays}\n  lifecycle:\n    - {stage: decline, label: 衰退期, if: \"member.days_silent >= 14\"}\n    - {stage: growth, label: 成长期, if: \"true\"}\n")
    files = {
        "a.yaml": one_rule("{stage: decline}", playbook="a"),
        "b.yaml": one_rule('{becomes: "member.days_silent >= 5"}', playbook="b", action="notify").replace('hi {{ member.name }}', '沉默 {{ member.days_silent }} 天'),
        "c.yaml": one_rule("{silence: 7d}", playbook="c"),
    }
    result = plan(make_config(files, settings), [event("2026-02-12T09:00:00")], until=midnight("2026-03-10"))
    assert task_keys(result, "playbook", "due") == [
        ("b", "2026-02-26T09:00:00+08:00"),  # 5 days: 63 hours before the break, 57 after
        ("c", "2026-02-28T09:00:00+08:00"),  # the silence follows the community's count
        ("a", "2026-03-07T09:00:00+08:00"),  # 14 days
    ]
    assert result.tasks[0].text == "沉默 5 天"
    calendar = plan(make_config(files, community("  lifecycle:\n    - {stage: decline, label: 衰退期, if: \"member.days_silent >= 14\"}\n    - {stage: growth, label: 成长期, if: \"true\"}\n")), [event("2026-02-12T09:00:00")], until=midnight("2026-03-10"))
    assert task_keys(calendar, "playbook", "due") == [("b", "2026-02-17T09:00:00+08:00"), ("c", "2026-02-19T09:00:00+08:00"), ("a", "2026-02-26T09:00:00+08:00")]


def test_a_message_soon_after_one_on_a_day_off_can_bring_a_becomes_sooner(make_config):
    """Fuzzing (seed 95104): weekends do not count. 小王 writes on Sunday 23:33 — silent from
    Monday 23:33 on, two days on Wednesday 23:33 — and again on Monday 16:04: two days on
    Wednesday 16:04, sooner. The Monday message changed no day count (it was 0), so `becomes`
    kept its check for 23:33, after the history's end: the nudge was never planned."""
    settings = community("  days_silent: {not_counting: weekends}\n")
    rule = one_rule('{becomes: "member.days_silent >= 2"}', action="notify").replace("hi {{ member.name }}", "沉默 {{ member.days_silent }} 天")
    history = [event("2026-03-08T23:33:00"), event("2026-03-09T16:04:00"), event("2026-03-11T22:21:00", "m9")]
    result = plan(make_config({"p.yaml": rule}, settings), history)
    assert task_keys(result, "member", "due", "text") == [("m1", "2026-03-11T16:04:00+08:00", "沉默 2 天")]


def test_a_dm_a_message_took_past_the_weekend_keeps_the_moved_deadline_in_the_next_run(make_config, tmp_path):
    """Fuzzing (seed 145281): 小王's DM of Thursday night (two days to go) and her invite, which
    keeps off weekends, are one message at Friday 08:00; Lily's one slot of Friday goes to an
    urgent warning, so the message waits out the weekend, its deadline with it, to Monday. 小王
    writes on Sunday, the invite is stale, and the DM goes on alone with that deadline (Monday
    23:00): 小李's DM due by Monday 19:00 comes first on Monday, and 小王's cannot wait for
    Tuesday. The --state run that ended on Sunday saved the DM without the moved deadline: the
    next run gave it its own (Saturday 23:00) — first of all — and dropped 小李's instead."""

    rules = {
        "a.yaml": 'playbook: a\nrules:\n  - id: ask\n    when: {event: message, keywords: [书]}\n    deadline: 2d\n    do: [{dm: "A：最近读什么？"}]\n'
                  '  - id: hurry\n    when: {event: message, keywords: [急]}\n    deadline: 12h\n    do: [{dm: "A：马上来"}]\n'
                  '  - id: spam\n    when: {event: message, keywords: [广告]}\n    priority: urgent\n    do: [{warn: 请勿发广告}]\n',
        "b.yaml": 'playbook: b\nrules:\n  - id: back\n    when: {silence: 1h}\n    cooldown: 7d\n    not_on: weekends\n    do: [{invite: {group: g2, text: "B：来二群"}}]\n',
    }
    settings = "community:\n  name: t\n  timezone: Asia/Shanghai\n  quiet_hours: \"22:00-08:00\"\n  merge: [dm, invite]\n  groups: [{id: g1}, {id: g2}]\n  operators:\n    - {id: op, groups: [g1], capacity: 1}\n"
    config = make_config(rules, settings)
    first = [event("2026-03-05T23:00:00", text="书"), event("2026-03-06T08:00:00", "m3", text="广告"), event("2026-03-08T12:00:00", text="hi")]
    later = [event("2026-03-09T07:00:00", "m2", text="急"), event("2026-03-11T12:00:00", "m9")]
    whole = plan(config, first + later, explain=True)
    assert [(task.member, task.rule, task.record(config.community.tz)["due"]) for task in whole.tasks if task.rule in ("ask", "hurry")] == [("m2", "hurry", "2026-03-09T08:00:00+08:00")]
    assert [(item.task.member, item.task.rule, item.guardrail) for item in whole.suppressed if item.task.rule in ("ask", "hurry")] == [("m1", "ask", "deadline")]
    assert held(config, [first, later], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 1, 31)),
    days=st.integers(min_value=1, max_value=40),
    minutes=st.integers(min_value=1, max_value=60 * 24 * 60),
    kinds=st.sampled_from([HOLIDAYS, WEEKENDS, HOLIDAYS | WEEKENDS]),
)
def test_days_silent_and_its_thresholds_agree(start, days, minutes, kinds):
    """What `member.days_silent` says and when the lifecycle expects it to cross a threshold are
    one count: the day count is N exactly from the instant `after` gives for N days, N - 1 a
    second before; and the count never goes down as time passes."""
    from playbook_engine.festivals import SilentDays

    silent = SilentDays(OffDays(kinds), local_time(TZ))
    since = start.replace(tzinfo=TZ).timestamp()
    crossing = silent.after(since, days * 86400)
    assert silent.days(since, crossing) == days
    assert silent.days(since, crossing - 1) == days - 1
    later = since + minutes * 60
    assert silent.days(since, later) <= silent.days(since, later + 3600) <= silent.days(since, later) + 1
    assert silent.seconds(since, later) <= later - since


def test_the_kinds_of_days_may_be_written_in_chinese(make_config):
    """`not_on: 节假日`, `not_counting: [节假日, 周末]`: what an operator writes first is understood."""
    config = make_config({"p.yaml": one_rule("{event: message}", "    not_on: 节假日\n"), "q.yaml": one_rule("{silence: 1d, not_counting: [节假日, 周末]}", playbook="q")}, community())
    result = plan(config, [event("2026-02-17T15:30:00")], until=midnight("2026-02-27"))
    assert task_keys(result, "playbook", "due") == [("p", "2026-02-24T15:30:00+08:00"), ("q", "2026-02-25T15:30:00+08:00")]


def test_a_printed_task_a_later_run_moves_over_the_break_is_stored_with_its_moved_deadline(make_config, tmp_path):
    """Review 15: printed for 09-30 by one night's run, moved by the next night's capacity to
    10-01 (国庆) and on to 10-08, a DM was stored with its first deadline (10-01) and listed as
    late a week before its day."""
    import sqlite3

    from playbook_engine.state import StateStore

    files = {
        "p.yaml": one_rule("{event: member_left}", "    delay: 1d\n    deadline: 2d\n    not_on: holidays\n"),
        "q.yaml": one_rule("{event: message, keywords: [急]}", playbook="q", priority="high"),
    }
    config = make_config(files, capacity_community().replace("capacity: 2", "capacity: 1"))
    nights = [
        [event("2026-09-29T17:24:00", "m1", "member_left")],
        [event("2026-09-30T10:00:00", "m2", text="急")],
    ]
    path = tmp_path / "ops.db"
    for night in nights:
        store = StateStore.open(str(path))
        plan(config, night, state=store).save_state()
        store.close()
    rows = sqlite3.connect(path).execute("SELECT member, due, deadline FROM tasks WHERE status = 'todo' ORDER BY due").fetchall()
    assert [(member, due <= deadline) for member, due, deadline in rows] == [("m2", True), ("m1", True)]
    assert rows[1][1] == midnight("2026-10-08") + 17 * 3600 + 24 * 60


def _counted_slowly(off: OffDays, local, since: float, now: float) -> float:
    """Counted seconds day by day, the obvious way: the reference for SilentDays."""
    day = local.day(since)
    if off.name(day) is not None:  # begun on a day off: from the same wall-clock time of the next open day
        wall = datetime.fromtimestamp(since, local.tz).time()
        since = datetime.combine(date.fromordinal(off.next_open(day)), wall, local.tz).timestamp()
    counted = 0.0
    for current in range(local.day(since), local.day(now) + 1):
        if off.name(current) is None:
            counted += max(0.0, min(now, local.midnight(current + 1)) - max(since, local.midnight(current)))
    return counted


SHARED: dict[str, object] = {}  # one SilentDays per zone across examples, as a run keeps one: its caches are on trial too


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from([("Asia/Shanghai", "CN"), ("America/New_York", "US")]),
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 6, 1)),
    length=st.floats(min_value=0, max_value=600 * 86400),
    days=st.integers(min_value=1, max_value=60),
)
def test_silent_days_agree_with_a_day_by_day_count(zone, start, length, days):
    """Review 16: a silence of more than 400 days read -6 days (the count's cache restarted
    between its two reads), and "the same time" moved by an hour across a DST change. Any
    order of questions, two zones, silences of up to 600 days: the count is the day-by-day one,
    and a threshold is crossed exactly where the count reaches it."""
    from playbook_engine.festivals import SilentDays

    name, country = zone
    tz = ZoneInfo(name)
    silent = SHARED.setdefault(name, SilentDays(OffDays(HOLIDAYS | WEEKENDS, country, "en"), local_time(tz)))
    assert isinstance(silent, SilentDays)
    since = start.replace(tzinfo=tz).timestamp()
    now = since + length
    assert abs(silent.seconds(since, now) - _counted_slowly(silent.off, silent.local, since, now)) < 1e-6
    crossing = silent.after(since, days * 86400)
    assert silent.seconds(since, crossing) == pytest.approx(days * 86400)
    assert silent.days(since, crossing) == days and silent.days(since, crossing - 1) == days - 1


def test_pace_does_not_push_a_task_into_the_break(make_config):
    """Review 16: an operator's pace laid an evening's overflow out on the next morning, 02-15,
    the first day off, for a rule kept off holidays; it goes on to the first working day."""
    pace = "community:\n  name: t\n  timezone: Asia/Shanghai\n  quiet_hours: \"22:00-08:00\"\n  merge: []\n  operators:\n    - {id: op, groups: [g1], pace: 30m}\n"
    config = make_config({"p.yaml": one_rule("{event: message}", "    deadline: 3d\n    not_on: holidays\n")}, pace)
    result = plan(config, [event(f"2026-02-14T21:{10 + n * 5}:00", f"m{n}") for n in range(4)])
    assert task_keys(result, "member", "due") == [
        ("m0", "2026-02-14T21:10:00+08:00"), ("m1", "2026-02-14T21:40:00+08:00"),
        ("m2", "2026-02-24T08:00:00+08:00"), ("m3", "2026-02-24T08:30:00+08:00"),
    ]


def test_days_off_a_task_waited_out_still_count_for_no_max_delay_after_pace_moves_it(make_config, tmp_path):
    """Fuzzing (c6969078): capacity carried m3's DM off 04-30, past 劳动节 (05-01 to 05-05, five
    days that count for no max_delay), to 05-06 23:50; pace carried it into 05-07, full, and on
    to 05-08. Kept on 05-06, it had forgotten the days off it waited out: one run dropped it for
    a delay of seven days (max_delay 3d), the nightly runs kept it (two days' delay)."""

    rules = (
        "playbook: p\nrules:\n"
        "  - id: ask\n    when: {event: message, keywords: [书]}\n    deadline: 10d\n    not_on: holidays\n    do: [{dm: 问问}]\n"
        "  - id: hot\n    when: {event: message, keywords: [急]}\n    priority: urgent\n    do: [{notify: 急}]\n"
    )
    settings = capacity_community().replace("capacity: 2", "capacity: 2, pace: 1h")
    config = make_config({"p.yaml": rules}, settings)
    before = [event(f"2026-04-30T{time}:00", member, text="书") for time, member in (("22:00", "m1"), ("22:10", "m2"), ("23:50", "m3"))]
    after = [event("2026-05-06T23:30:00", "m4", text="急"), event("2026-05-07T09:00:00", "m5", text="急"), event("2026-05-07T09:10:00", "m6", text="急")]
    last = [event("2026-05-08T12:00:00", "m7")]
    whole = plan(config, before + after + last, explain=True)
    assert task_keys(whole, "rule", "member", "due") == [
        ("ask", "m1", "2026-04-30T22:00:00+08:00"), ("ask", "m2", "2026-04-30T23:00:00+08:00"),
        ("hot", "m4", "2026-05-06T23:30:00+08:00"), ("hot", "m5", "2026-05-07T09:00:00+08:00"), ("hot", "m6", "2026-05-07T10:00:00+08:00"),
        ("ask", "m3", "2026-05-08T00:30:00+08:00"),
    ]
    assert whole.tasks[-1].moved[-2:] == [
        "pace of op: moved from 2026-05-06 23:50 to 2026-05-07 00:30",
        "capacity of op full: moved from 2026-05-07 00:30 to 2026-05-08 00:30",
    ]
    assert whole.suppressed == []
    assert held(config, [before, after, last], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_merged_message_waits_for_every_part_kept_off_the_break(make_config):
    """Review 16: a welcome (any day) that a DM kept off holidays had joined went out, with it,
    on 02-15 when capacity carried it there: the message keeps the days every part keeps."""
    rules = (
        "playbook: p\nrules:\n"
        "  - id: hello\n    when: {event: member_joined}\n    deadline: 3d\n    do: [{dm: 欢迎}]\n"
        "  - id: ask\n    when: {event: message, keywords: [书]}\n    deadline: 3d\n    delay: 20m\n    not_on: holidays\n    do: [{dm: 问问书}]\n"
        "  - id: hot\n    when: {event: message, keywords: [急]}\n    priority: urgent\n    do: [{notify: 急}]\n"
    )
    settings = capacity_community().replace("capacity: 2", "capacity: 1").replace("merge: []", "merge: [dm]")
    events = [event("2026-02-14T08:50:00", "m1", text="书"), event("2026-02-14T09:00:00", "m1", "member_joined"), event("2026-02-14T09:20:00", "m2", text="急")]
    result = plan(make_config({"p.yaml": rules}, settings), events)
    assert task_keys(result, "rule", "member", "due", "text") == [
        ("hot", "m2", "2026-02-14T09:20:00+08:00", "急"),
        ("hello", "m1", "2026-02-24T09:00:00+08:00", "欢迎\n\n问问书"),
    ]


def test_a_merged_message_goes_out_on_the_weekend_once_the_part_kept_off_it_is_past_its_deadline(make_config, tmp_path):
    """Fuzzing (c6969088): capacity carried Friday's welcome, with the DM kept off weekends merged
    into it, to Saturday, and on to Monday for that DM; past its deadline, the DM dropped, and the
    welcome still waited for Monday, with the deadline moved for the weekend it no longer waits
    out. A nightly run, settling Friday again without the DM, planned it for Saturday."""

    rules = (
        "playbook: p\nrules:\n"
        "  - id: hello\n    when: {event: member_joined}\n    deadline: 3d\n    do: [{dm: 欢迎}]\n"
        "  - id: ask\n    when: {event: member_joined}\n    delay: 10m\n    deadline: 12h\n    not_on: weekends\n    do: [{dm: 问问书}]\n"
        "  - id: hot\n    when: {event: message, keywords: [急]}\n    priority: urgent\n    do: [{notify: 急}]\n"
    )
    settings = capacity_community().replace("capacity: 2", "capacity: 1").replace("merge: []", "merge: [dm]")
    config = make_config({"p.yaml": rules}, settings)
    friday = [event("2026-11-20T09:00:00", "m1", "member_joined"), event("2026-11-20T09:20:00", "m2", text="急")]
    saturday = [event("2026-11-21T12:00:00", "m3")]
    whole = plan(config, friday + saturday, explain=True)
    assert task_keys(whole, "rule", "member", "due", "text") == [
        ("hot", "m2", "2026-11-20T09:20:00+08:00", "急"),
        ("hello", "m1", "2026-11-21T09:00:00+08:00", "欢迎"),
    ]
    assert whole.tasks[1].deadline == midnight("2026-11-23") + 9 * 3600
    assert [(item.task.source.rule.id, item.guardrail) for item in whole.suppressed] == [("ask", "deadline")]  # type: ignore[union-attr]
    assert held(config, [friday, saturday], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_the_same_time_on_the_clock_across_a_dst_change(make_config):
    """Review 16: "the same time of the next open day" was an hour off across a DST change."""
    settings = "community:\n  name: t\n  timezone: America/New_York\n  country: US\n  merge: []\n  operators:\n    - {id: op, groups: [g1]}\n"
    config = make_config({"p.yaml": one_rule("{event: message}", "    not_on: weekends\n")}, settings)
    message = {"ts": "2026-11-01T10:00:00-05:00", "type": "message", "group": "g1", "member": "m1", "text": "hi"}  # Sunday, clocks back at 02:00
    assert task_keys(plan(config, [message]), "due") == [("2026-11-02T10:00:00-05:00",)]


WEEKLY = 'playbook: p\nrules:\n  - id: r\n    when: {schedule: "0 10 * * 1"}\n    deadline: 7d\n    not_on: holidays\n    do:\n      - post: "本周话题"\n'


def test_a_post_moved_onto_the_day_of_its_rules_next_post_is_superseded(make_config, tmp_path):
    """A weekly post with `deadline: 7d` and `not_on: holidays`: the posts of Monday 02-16 and
    Monday 02-23 both wait for the end of 春节, and came out on 02-24 at the same minute — two
    posts of one rule in one group. The newer one goes out; the older is `superseded`, said by
    --explain and counted; nightly runs give the same."""

    config = make_config({"p.yaml": WEEKLY}, community())
    days = [[event(f"2026-02-{day:02d}T12:00:00", "m99")] for day in range(10, 28)]
    whole = plan(config, [item for piece in days for item in piece])
    assert task_keys(whole, "due") == [("2026-02-24T10:00:00+08:00",)]
    assert whole.tasks[0].trigger_at == midnight("2026-02-23") + 10 * 3600  # the newer
    newer = whole.tasks[0].id
    assert [(item.guardrail, item.reason) for item in whole.suppressed] == [("superseded", f"superseded: the same rule's newer task {newer} (of 2026-02-23 10:00) is due on 2026-02-24 too; only the newer one is sent")]
    assert whole.planner.suppressed_counts["superseded"] == 1
    assert held(config, days, tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_daily_post_capacity_carries_over_is_superseded_by_the_next_days_own(make_config):
    """The same without holidays: a daily post (`deadline: 3d`) that a full day carried over
    goes out beside the next day's post — the older one goes. Two posts a rule plans for one
    day (10:00 and 16:00) both stay."""
    daily = 'playbook: p\nrules:\n  - id: r\n    when: {schedule: "0 10 * * *"}\n    deadline: 3d\n    do:\n      - post: "今日话题"\n'
    urgent = 'playbook: q\nrules:\n  - id: r\n    when: {event: message}\n    priority: high\n    do:\n      - mention: "hi {{ member.name }}"\n'
    config = make_config({"p.yaml": daily, "q.yaml": urgent}, capacity_community().replace("capacity: 2", "capacity: 1"))
    result = plan(config, [event("2026-03-02T09:00:00", "m1")], until=midnight("2026-03-04"))
    assert task_keys(result, "playbook", "due") == [("q", "2026-03-02T09:00:00+08:00"), ("p", "2026-03-03T10:00:00+08:00")]
    assert result.tasks[1].trigger_at == midnight("2026-03-03") + 10 * 3600  # 03-02's post, carried here, is superseded
    assert [item.guardrail for item in result.suppressed] == ["superseded"]
    twice = make_config({"p.yaml": daily.replace("0 10 * * *", "0 10,16 * * *")}, community())
    posts = [task.due for task in plan(twice, [event("2026-03-02T09:00:00", "m1")], until=midnight("2026-03-03")).tasks if task.playbook == "p"]
    assert posts == [midnight("2026-03-02") + 10 * 3600, midnight("2026-03-02") + 16 * 3600]



def test_the_parts_of_a_message_superseded_by_the_next_days_go_with_it(make_config, tmp_path):
    """Fuzzing (seed 156123): a daily DM to each member with a reward merged in (one message);
    Lily's one slot a day carries 小李's message of the 2nd to the 3rd, where that day's own
    supersedes it — and its reward with it ("superseded", counted once): it was left "merged
    into" a message nobody sends, and its row, held out with it, took a slot in later runs."""
    daily = 'playbook: p\nrules:\n  - id: r\n    when: {schedule: "0 10 * * *", each: member}\n    deadline: 3d\n    do:\n      - dm: "{{ member.name }}，今天读了吗"\n      - reward: {points: 5, text: "打卡奖励"}\n'
    config = make_config({"p.yaml": daily}, capacity_community().replace("capacity: 2", "capacity: 1").replace("merge: []", "merge: [dm, reward]"))
    events = [event("2026-03-01T09:00:00", "m1"), event("2026-03-01T09:30:00", "m2")]
    result = plan(config, events, until=midnight("2026-03-04"), explain=True)
    superseded = [item.task for item in result.suppressed if item.guardrail == "superseded"]
    assert superseded and sorted(task.action for task in superseded) == ["dm"] * (len(superseded) // 2) + ["reward"] * (len(superseded) // 2)
    gone = {(task.member, task.trigger_at) for task in superseded}
    assert [(task.member, task.trigger_at) for task in superseded if task.action == "reward"] == [(task.member, task.trigger_at) for task in superseded if task.action == "dm"]
    assert not [item for item in result.suppressed if item.guardrail == "merged" and (item.task.member, item.task.trigger_at) in gone]
    assert result.planner.suppressed_counts["superseded"] == len(superseded)

def test_what_is_left_of_a_message_that_waited_out_the_break_keeps_its_moved_deadline(make_config, tmp_path):
    """Fuzzing (seed 152486): 小李's message of 02-14 is her welcome (no `not_on`) with the DM of
    a rule that keeps off holidays merged in; capacity carries it off 02-14 and, for that DM, past
    the Spring Festival break to 02-24, its deadline moved with it. There the welcome no longer
    holds (stale) and the DM goes on as the message — with its own deadline of 02-15 it was listed
    due nine days after it. It keeps the message's moved deadline instead."""
    files = {
        "a.yaml": 'playbook: a\nrules:\n  - id: wechat\n    when: {event: message, keywords: [加微信]}\n    delay: 1h\n    not_on: holidays\n    do: [{dm: "好的，加你"}]\n',
        "b.yaml": 'playbook: b\nrules:\n  - id: regular\n    when: {becomes: "member.messages_7d >= 2"}\n    do: [{dm: "欢迎常来"}]\n',
    }
    config = make_config(files, capacity_community().replace("merge: []", "merge: [dm]"))
    events = [event("2026-02-14T09:00:00", "m1", text="加微信"), event("2026-02-14T09:00:00", "m2", text="加微信"), event("2026-02-14T12:00:00", "m3"), event("2026-02-14T13:32:00", "m3", text="加微信")]
    result = plan(config, events, explain=True)
    tz = config.community.tz
    late = [task for task in result.tasks if task.member == "m3"]
    assert [(task.rule, task.record(tz)["due"]) for task in late] == [("wechat", "2026-02-24T13:32:00+08:00")]
    assert all(task.due <= task.deadline for task in result.tasks)
    assert [suppressed.guardrail for suppressed in result.suppressed if suppressed.task.member == "m3"] == ["stale"]
    nights = [events, [event("2026-02-20T10:00:00", "m9")], [event("2026-02-25T10:00:00", "m9")]]
    assert held(config, nights, tmp_path / "ops.db") == sorted(task_keys(plan(config, [item for night in nights for item in night]), "id", "due", "text"))
