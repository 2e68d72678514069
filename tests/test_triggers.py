"""Each trigger kind: when it fires, and when it must not."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_engine.errors import InvalidPlaybooks
from playbook_engine.model import DEFAULT_QUESTION_PATTERNS
from playbook_engine.patterns import compile_pattern
from playbook_engine.triggers.common import any_pattern
from tests.conftest import COMMUNITY, plan, task_keys

END = 4_000_000_000.0  # far future: run every timer


def playbook(when: str, extra: str = "", do: str = '- dm: "{{ member.name }}"') -> dict[str, str]:
    return {"p.yaml": f"playbook: p\nrules:\n  - id: r\n    when: {when}\n{extra}    do:\n      {do}\n"}


def msg(ts: str, member: str = "m1", group: str = "g1", **extra) -> dict:
    return {"ts": f"2026-03-{ts}+08:00", "type": "message", "group": group, "member": member, "text": extra.pop("text", "hi"), **extra}


def joined(ts: str, member: str = "m1", group: str = "g1") -> dict:
    return {"ts": f"2026-03-{ts}+08:00", "type": "member_joined", "group": group, "member": member}


def left(ts: str, member: str = "m1", group: str = "g1") -> dict:
    return {"ts": f"2026-03-{ts}+08:00", "type": "member_left", "group": group, "member": member}


# -- event ---------------------------------------------------------------------------------


def test_event_regex_matches_text(make_config):
    config = make_config(playbook(r'{event: message, regex: "https?://"}'))
    result = plan(config, [msg("01T09:00:00", text="看这个 http://spam.example"), msg("01T09:01:00", "m2", text="没有链接")])
    assert task_keys(result, "member") == [("m1",)]
    assert "matching “http://”" in result.tasks[0].reason


def test_event_exclude_keeps_what_regex_catches_but_means_no_harm(make_config):
    config = make_config(playbook(r'{event: message, regex: "白痴|滚蛋", exclude: "我[^你]{0,4}白痴|滚蛋吧肿瘤君"}'))
    texts = {"m1": "我真是白痴，又忘了打卡", "m2": "滚蛋吧肿瘤君 这本书看哭了", "m3": "你是白痴吗", "m4": "我看你是白痴"}
    result = plan(config, [msg(f"01T09:0{index}:00", member, text=text) for index, (member, text) in enumerate(texts.items())])
    assert task_keys(result, "member") == [("m3",), ("m4",)]


def test_event_exclude_alone_narrows_every_event_of_the_type(make_config):
    config = make_config(playbook(r'{event: message, exclude: "^打卡"}'))
    assert task_keys(plan(config, [msg("01T09:00:00", text="打卡：40页"), msg("01T09:01:00", "m2", text="早")]), "member") == [("m2",)]


def test_a_bad_exclude_pattern_is_a_validation_error(make_config):
    with pytest.raises(InvalidPlaybooks, match=r"when\.exclude: exclude is not a valid regular expression"):
        make_config(playbook(r'{event: message, exclude: "(白痴"}'))


def test_a_plain_event_rule_plans_alike_checked_together_or_alone(make_config):
    """A rule with no keywords, regex or exclude has its firing built by the grouped event
    triggers, without match(); a rule on every type (``"*"``) keeps them apart, each matched:
    the same tasks, reasons included, either way (a profile line has no group: its member's)."""
    rules = "playbook: p\nrules:\n" + "".join(f"  - id: {kind}\n    when: {{event: {kind}}}\n    do:\n      - dm: hi\n" for kind in ("message", "profile"))
    every = '  - id: every\n    when: {event: "*"}\n    if: "false"\n    do:\n      - dm: hi\n'
    events = [msg("01T09:00:00"), {"ts": "2026-03-01T09:05:00+08:00", "type": "profile", "member": "m1", "tags": ["vip"]}, msg("01T09:10:00", "m2", group="g2")]
    fields = ("rule", "member", "group", "due", "reason")
    together = task_keys(plan(make_config({"p.yaml": rules}), events), *fields)
    alone = task_keys(plan(make_config({"p.yaml": rules + every}), events), *fields)
    assert together == alone
    assert [(rule, group) for rule, _, group, _, _ in together] == [("message", "g1"), ("profile", "g1"), ("message", "g2")]


def test_unknown_event_types_can_trigger_rules(make_config):
    config = make_config(playbook("{event: checkin}"))
    result = plan(config, [{"ts": "2026-03-01T09:00:00+08:00", "type": "checkin", "member": "m1", "group": "g1"}])
    assert task_keys(result, "member") == [("m1",)]


# -- silence / after_join --------------------------------------------------------------------


def test_silence_after_rejoin_counts_from_the_rejoin(make_config):
    config = make_config(playbook("{silence: 3d}"))
    events = [msg("01T09:00:00"), left("02T09:00:00"), joined("05T09:00:00")]
    assert task_keys(plan(config, events, until=END), "due") == [("2026-03-08T09:00:00+08:00",)]


def test_after_join_fires_once(make_config):
    config = make_config(playbook("{after_join: 3d}"))
    assert task_keys(plan(config, [joined("01T09:00:00")], until=END), "due") == [("2026-03-04T09:00:00+08:00",)]


def test_after_join_does_not_fire_for_a_member_who_joined_and_left_within_a_minute(make_config):
    config = make_config(playbook("{after_join: 1d}"))
    assert plan(config, [joined("01T09:00:00"), left("01T09:00:30")], until=END).tasks == []


def test_after_join_counts_from_the_latest_join(make_config):
    config = make_config(playbook("{after_join: 3d}"))
    events = [joined("01T09:00:00"), left("02T09:00:00"), joined("02T10:00:00")]
    assert task_keys(plan(config, events, until=END), "due") == [("2026-03-05T10:00:00+08:00",)]


# -- unanswered ------------------------------------------------------------------------------


QUESTION = {"id": "q1", "text": "请问活动在哪？"}


def test_an_unanswered_question_fires_after_the_duration(make_config):
    config = make_config(playbook("{unanswered: 30m}", do='- notify: "{{ member.name }} 问：{{ event.text }}"'))
    result = plan(config, [msg("01T09:00:00", **QUESTION), msg("01T09:20:00", "m2", text="早")], until=END)  # after answer_window: no answer
    assert task_keys(result, "due", "action", "text") == [("2026-03-01T09:30:00+08:00", "notify", "m1 问：请问活动在哪？")]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"reply_to": "q1", "text": "在3楼"}, id="reply"),
        pytest.param({"mentions": ["m1"], "text": "@m1 在3楼"}, id="mention-of-asker"),
    ],
)
def test_a_reply_or_a_mention_of_the_asker_answers_the_question(make_config, answer):
    config = make_config(playbook("{unanswered: 30m}"))
    assert plan(config, [msg("01T09:00:00", **QUESTION), msg("01T09:20:00", "m2", **answer)], until=END).tasks == []


def test_the_asker_replying_to_themselves_is_not_an_answer(make_config):
    config = make_config(playbook("{unanswered: 30m}"))
    result = plan(config, [msg("01T09:00:00", **QUESTION), msg("01T09:05:00", "m1", reply_to="q1", text="顶一下")], until=END)
    assert len(result.tasks) == 1


def test_an_answer_after_the_deadline_is_too_late(make_config):
    config = make_config(playbook("{unanswered: 30m}"))
    result = plan(config, [msg("01T09:00:00", **QUESTION), msg("01T09:45:00", "m2", reply_to="q1")], until=END)
    assert len(result.tasks) == 1


def test_a_statement_is_not_a_question(make_config):
    config = make_config(playbook("{unanswered: 30m}"))
    assert plan(config, [msg("01T09:00:00", text="今天天气不错")], until=END).tasks == []


# -- stage -----------------------------------------------------------------------------------


def test_stage_entry_fires_for_joiners_but_not_for_members_present_before_the_history(make_config):
    config = make_config(playbook("{stage: newbie}"))
    result = plan(config, [msg("01T09:00:00", "old"), joined("01T10:00:00", "new")], until=END)
    assert task_keys(result, "member") == [("new",)]


def test_stage_decline_is_entered_as_time_passes(make_config):
    config = make_config(playbook("{stage: decline}"))
    result = plan(config, [msg("01T09:00:00")], until=END)
    assert task_keys(result, "due") == [("2026-03-15T09:00:00+08:00",)]
    assert result.evaluation.members["m1"].stage == "churn"


STAGES_BY_JOIN = COMMUNITY + """\
  lifecycle:
    - {stage: churn, label: 流失, if: "member.left"}
    - {stage: newbie, label: 新手, if: "member.days_since_join < 3"}
    - {stage: growth, label: 成长, if: "true"}
"""


def test_time_alone_does_not_move_a_member_who_left(make_config):
    # Left while a newbie: the check armed for the third day of membership still comes due,
    # and does nothing (churn here reads `left`, which the leave itself already assessed).
    community = STAGES_BY_JOIN.replace('if: "member.left"', 'if: "false"')
    config = make_config(playbook("{stage: growth}"), community)
    result = plan(config, [joined("01T09:00:00"), left("01T10:00:00")], until=END)
    assert task_keys(result, "member") == []
    assert result.evaluation.members["m1"].stage == "newbie"


def test_a_member_an_action_removed_is_assessed_at_their_next_check(make_config):
    files = {"p.yaml": (
        "playbook: p\nrules:\n"
        "  - id: ad\n    when: {event: message, keywords: [广告]}\n    do:\n      - remove: 发广告\n"
        "  - id: gone\n    when: {stage: churn}\n    do:\n      - notify: \"{{ member.name }} 已移出\"\n"
    )}
    result = plan(make_config(files, STAGES_BY_JOIN), [joined("01T09:00:00"), msg("01T10:00:00", text="看广告")], until=END)
    assert task_keys(result, "rule", "due") == [("ad", "2026-03-01T10:00:00+08:00"), ("gone", "2026-03-04T09:00:00+08:00")]


# -- schedule --------------------------------------------------------------------------------


def test_schedule_fires_once_per_group_at_each_cron_instant(make_config):
    config = make_config(playbook('{schedule: "0 9 * * *"}', do='- post: "早安 {{ group.id }}"'))
    events = [msg("01T08:00:00", group="g1"), msg("01T08:30:00", "m2", group="g2"), msg("02T12:00:00")]
    result = plan(config, events)
    assert task_keys(result, "due", "group", "member") == [
        ("2026-03-01T09:00:00+08:00", "g1", None),
        ("2026-03-01T09:00:00+08:00", "g2", None),
        ("2026-03-02T09:00:00+08:00", "g1", None),
        ("2026-03-02T09:00:00+08:00", "g2", None),
    ]


def test_schedule_each_member_fans_out_to_current_members(make_config):
    config = make_config(playbook('{schedule: "0 9 * * *", each: member}'))
    events = [msg("01T08:00:00", "m1"), msg("01T08:10:00", "m2"), left("01T08:20:00", "m2"), msg("01T10:00:00", "m3")]
    assert task_keys(plan(config, events), "member") == [("m1",)]


def test_a_cron_instant_exactly_on_an_event_fires_once_and_sees_that_event(make_config):
    config = make_config(playbook('{schedule: "0 9 * * *", each: member}', extra="    if: member.messages >= 1\n"))
    result = plan(config, [msg("01T09:00:00"), msg("01T09:30:00", "m2")])
    assert task_keys(result, "due", "member") == [("2026-03-01T09:00:00+08:00", "m1")]


def test_schedule_follows_daylight_saving_time(make_config):
    community = "community:\n  name: t\n  timezone: America/New_York\n"
    config = make_config(playbook('{schedule: "0 9 * * *"}', do='- post: "hi"'), community=community)
    events = [{"ts": "2026-03-07T08:00:00-05:00", "type": "message", "group": "g1", "member": "m1"}]
    result = plan(config, events, until=1773144000.0)  # 2026-03-10 08:00 -04:00
    assert task_keys(result, "due") == [("2026-03-07T09:00:00-05:00",), ("2026-03-08T09:00:00-04:00",), ("2026-03-09T09:00:00-04:00",)]


def test_a_bad_cron_expression_is_a_validation_error(make_config):
    with pytest.raises(InvalidPlaybooks, match=r"p.yaml:4:\d+: rules\[0\]\.when\.schedule: `every monday` is not a cron expression"):
        make_config(playbook('{schedule: "every monday"}'))


# -- group_age -------------------------------------------------------------------------------

AGED_GROUPS = COMMUNITY + """\
  groups:
    - {id: g1}
    - {id: g2, created: 2026-02-27}
"""


def test_group_age_counts_each_group_from_its_first_event_or_its_declared_creation(make_config):
    """g1 starts with its first event (3月10日, day 0); g2 declares it was created on 2月27日,
    whatever its first event in the history: each gets its own days, not the calendar's."""
    config = make_config(playbook('{group_age: [1, 3], at: "12:30"}', do='- post: "第 {{ trigger.age_days }} 天"'), community=AGED_GROUPS)
    events = [msg("10T20:00:00", group="g1"), msg("01T08:00:00", "m2", group="g2")]
    result = plan(config, sorted_events(events), until=1773936000.0)  # 2026-03-20
    assert task_keys(result, "due", "group", "text") == [
        ("2026-03-02T12:30:00+08:00", "g2", "第 3 天"),  # 2月27日 + 3; day 1 came before the history
        ("2026-03-11T12:30:00+08:00", "g1", "第 1 天"),
        ("2026-03-13T12:30:00+08:00", "g1", "第 3 天"),
    ]


def sorted_events(events: list[dict]) -> list[dict]:
    return sorted(events, key=lambda event: event["ts"])


def test_group_age_every_repeats_the_cycle_and_fans_out_only_in_the_groups_whose_day_it_is(make_config):
    config = make_config(playbook('{group_age: 2, every: 1w, at: "20:00", each: member}'), community=COMMUNITY)
    events = [msg("01T08:00:00", "m1", group="g1"), msg("03T08:00:00", "m2", group="g2"), msg("03T09:00:00", "m3", group="g1")]
    result = plan(config, events, until=1773936000.0)  # 2026-03-20
    assert task_keys(result, "due", "member") == [
        ("2026-03-03T20:00:00+08:00", "m1"),  # g1, day 2: its members then (m3 wrote in it that morning)
        ("2026-03-03T20:00:00+08:00", "m3"),
        ("2026-03-05T20:00:00+08:00", "m2"),  # g2, day 2
        ("2026-03-10T20:00:00+08:00", "m1"),  # g1, day 9 = 2 + 7
        ("2026-03-10T20:00:00+08:00", "m3"),
        ("2026-03-12T20:00:00+08:00", "m2"),
        ("2026-03-17T20:00:00+08:00", "m1"),
        ("2026-03-17T20:00:00+08:00", "m3"),
        ("2026-03-19T20:00:00+08:00", "m2"),
    ]


def test_a_group_declared_as_created_later_has_no_age_before_then(make_config):
    community = COMMUNITY + "  groups:\n    - {id: g1, created: 2026-03-05}\n"
    config = make_config(playbook("{group_age: [0, 1]}", do='- post: "hi"'), community=community)
    result = plan(config, [msg("01T08:00:00")], until=1772899200.0)  # 2026-03-08
    assert task_keys(result, "due") == [("2026-03-05T09:00:00+08:00",), ("2026-03-06T09:00:00+08:00",)]


@pytest.mark.parametrize(
    "when, message",
    [
        ("{group_age: -1}", r"`-1` is too small — write at least 0"),
        ('{group_age: "7d"}', r"`7d` should be a whole number or a list"),
        ("{group_age: 3, every: 36h}", r"`36h` is not a whole number of days — write the cycle's length in days, e\.g\. 28d or 4w"),
        ("{group_age: [1, 30], every: 4w}", r"day 30 is not within a cycle of 28 days \(days 0–27\)"),
        ('{group_age: 1, at: "25:00"}', r"`25:00` is not a time of day"),
        ("{schedule: \"0 9 * * *\", every: 7d}", r"`every` is an option of the `group_age` trigger"),
    ],
)
def test_a_bad_group_age_is_a_validation_error(make_config, when, message):
    with pytest.raises(InvalidPlaybooks, match=r"p\.yaml:4:\d+: rules\[0\]\.when\.\w+: .*" + message):
        make_config(playbook(when, do='- post: "hi"'))


@pytest.mark.parametrize(
    "created, message",
    [
        ("2026-02-30", r"community\.yaml:8:\d+: community\.groups\[0\]\.created: `2026-02-30` is not a date — write the day the group was created as YYYY-MM-DD"),
        ("20.3.2026", r"community\.yaml:8:\d+: community\.groups\[0\]\.created: `20\.3\.2026` is not in the expected form"),
    ],
)
def test_a_created_date_that_is_not_a_date_is_a_validation_error(make_config, created, message):
    community = COMMUNITY + f"  groups:\n    - {{id: g1, created: {created}}}\n"
    with pytest.raises(InvalidPlaybooks, match=message):
        make_config(playbook("{group_age: 1}", do='- post: "hi"'), community=community)


def test_purchases_and_spent_count_the_member_s_purchase_events(make_config):
    """`member.purchases` counts `purchase` events, `member.spent` sums their amounts (a purchase
    without an amount counts, adding nothing)."""
    config = make_config(playbook("{event: message}", extra="    if: member.purchases >= 1\n", do='- dm: "{{ member.purchases }} 次，共 {{ member.spent }} 元"'))
    events = [
        msg("01T08:00:00"),
        {"ts": "2026-03-01T09:00:00+08:00", "type": "purchase", "member": "m1", "amount": 99.5},
        msg("02T08:00:00"),
        {"ts": "2026-03-03T09:00:00+08:00", "type": "purchase", "member": "m1"},
        {"ts": "2026-03-03T09:30:00+08:00", "type": "purchase", "group": "g1", "member": "m1", "amount": 200},
        msg("04T08:00:00"),
        msg("04T08:00:00", "m2"),
    ]
    assert task_keys(plan(config, events), "member", "text") == [("m1", "1 次，共 99.5 元"), ("m1", "3 次，共 299.5 元")]


# -- holiday ---------------------------------------------------------------------------------


def test_holiday_fires_on_the_festival_day(make_config):
    config = make_config(playbook("{holiday: [中秋节, national_day], each: member}", do='- dm: "{{ trigger.holiday_name }}快乐"'))
    events = [{"ts": "2026-09-20T10:00:00+08:00", "type": "message", "group": "g1", "member": "m1"}]
    result = plan(config, events, until=1791216000.0)  # 2026-10-06
    assert task_keys(result, "due", "text") == [("2026-09-25T09:00:00+08:00", "中秋节快乐"), ("2026-10-01T09:00:00+08:00", "国庆节快乐")]


def test_holiday_of_another_country(make_config):
    config = make_config(playbook('{holiday: "Independence Day", country: US, at: "10:00"}', do='- post: "Happy 4th"'))
    events = [{"ts": "2026-07-01T10:00:00+08:00", "type": "message", "group": "g1", "member": "m1"}]
    assert task_keys(plan(config, events, until=1783900000.0), "due") == [("2026-07-04T10:00:00+08:00",)]


def test_an_unknown_holiday_is_a_validation_error_with_a_suggestion(make_config):
    with pytest.raises(InvalidPlaybooks, match="unknown holiday `mid_autum` — did you mean `mid_autumn`"):
        make_config(playbook("{holiday: mid_autum}"))


# -- leaderboard -----------------------------------------------------------------------------


def test_leaderboard_picks_the_top_members_of_each_group_over_the_window(make_config):
    when = '{leaderboard: {metric: messages, window: 7d, top: 2, every: "0 20 * * 0"}}'
    config = make_config(playbook(when, do='- reward: {points: 10, text: "第{{ trigger.rank }}名"}'))
    events = (
        [msg("01T10:00:00", "old")] * 5  # outside the 7-day window at 2026-03-08 and after
        + [msg(f"10T1{i}:00:00", "a") for i in range(3)]
        + [msg(f"11T1{i}:00:00", "b") for i in range(3)]
        + [msg("12T10:00:00", "c")]
        + [msg("15T10:00:00", "d", group="g2")]
    )
    result = plan(config, events, until=1773576001.0)  # just after 2026-03-15 20:00
    assert task_keys(result, "due", "group", "member", "text") == [
        ("2026-03-01T20:00:00+08:00", "g1", "old", "第1名"),
        ("2026-03-15T20:00:00+08:00", "g1", "a", "第1名"),
        ("2026-03-15T20:00:00+08:00", "g1", "b", "第1名"),  # as many as a: they share the place
        ("2026-03-15T20:00:00+08:00", "g2", "d", "第1名"),
    ]
    assert result.evaluation.members["a"].points == 10


def test_leaderboard_each_group_announces_the_whole_list(make_config):
    when = '{leaderboard: {metric: messages, top: 3, every: "0 20 * * *"}, each: group}'
    do = '- post: "{% for item in trigger.top %}{{ item.rank }}.{{ item.name }} {% endfor %}"'
    config = make_config(playbook(when, do=do))
    events = [msg("01T10:00:00", "a", name="阿"), msg("01T10:01:00", "a"), msg("01T11:00:00", "b", name="贝")]
    assert task_keys(plan(config, events, until=1772370001.0), "text") == [("1.阿 2.贝",)]


@pytest.mark.parametrize(
    ("counts", "board"),
    [
        # Tied with the 2nd: they share the place, whatever their ids.
        ({"m9": 3, "m10": 2, "m2": 2}, "1.m9(3) 2.m10(2) 2.m2(2)"),
        ({"m9": 2, "m10": 2, "m2": 2, "m5": 1}, "1.m10(2) 1.m2(2) 1.m9(2)"),
        # Five tied for the 2nd place of a top 2: more than twice 2, so none of them is in.
        ({"m9": 3, "m1": 1, "m2": 1, "m3": 1, "m4": 1, "m5": 1}, "1.m9(3)"),
        # No tie at the cut: the top 2 as always.
        ({"m9": 3, "m10": 2, "m2": 1}, "1.m9(3) 2.m10(2)"),
    ],
)
def test_leaderboard_ties_share_a_place_and_are_never_cut_by_id(make_config, counts, board):
    """m10 sorts before m2 as text: a reward that went to one and not the other by that would be
    what members complain about in the group."""
    when = '{leaderboard: {metric: messages, window: 7d, top: 2, every: "0 20 * * *"}, each: group}'
    do = '- post: "{% for item in trigger.top %}{{ item.rank }}.{{ item.member }}({{ item.value }}) {% endfor %}"'
    config = make_config(playbook(when, do=do))
    events = sorted((msg(f"01T1{i}:0{n}:00", member) for n, (member, count) in enumerate(counts.items()) for i in range(count)), key=lambda event: event["ts"])
    assert [task.text.strip() for task in plan(config, events, until=1772366401.0).tasks] == [board]  # 2026-03-01 20:00:01


def test_a_shared_place_says_so_in_the_reason_and_to_texts(make_config):
    when = '{leaderboard: {metric: messages, window: 7d, top: 2, every: "0 20 * * *"}}'
    config = make_config(playbook(when, do='- reward: {points: 10, text: "{% if trigger.tied %}并列{% endif %}第{{ trigger.rank }}名"}'), COMMUNITY.replace("  channel: wechat\n", "  channel: wechat\n  language: zh-CN\n"))
    events = [msg("01T10:00:00", "m1"), msg("01T10:01:00", "m1"), msg("01T10:02:00", "m2"), msg("01T10:03:00", "m3")]
    result = plan(config, events, until=1772366401.0)  # 2026-03-01 20:00:01
    assert [(task.member, task.text, task.reason) for task in result.tasks] == [
        ("m1", "第1名", "g1 近 7 天发言数第 1 名（2）"),
        ("m2", "并列第2名", "g1 近 7 天发言数并列第 2 名（1）"),
        ("m3", "并列第2名", "g1 近 7 天发言数并列第 2 名（1）"),
    ]


# -- milestone / activity_ended ----------------------------------------------------------------


def test_milestone_fires_once_when_first_reached(make_config):
    config = make_config(playbook("{milestone: {metric: messages, at: [2, 3]}}", do='- post: "{{ trigger.milestone }}"'))
    events = [msg(f"01T1{i}:00:00") for i in range(4)]
    assert task_keys(plan(config, events), "text") == [("2",), ("3",)]


@pytest.mark.parametrize("participated, expected", [(True, ["m1", "m3"]), (False, ["m2"])])
def test_activity_ended_splits_members_by_participation(make_config, participated, expected):
    config = make_config(playbook(f"{{activity_ended: {{participated: {str(participated).lower()}}}}}", do='- survey: {form: "https://f.example/{{ event.activity }}"}'))
    events = [
        msg("01T09:00:00", "m1"), msg("01T09:00:01", "m2"), msg("01T09:00:02", "m3"),
        {"ts": "2026-03-01T10:00:00+08:00", "type": "activity_started", "group": "g1", "activity": "a1", "participants": ["m3"]},
        {"ts": "2026-03-01T10:05:00+08:00", "type": "activity_joined", "group": "g1", "member": "m1", "activity": "a1"},
        {"ts": "2026-03-01T12:00:00+08:00", "type": "activity_ended", "group": "g1", "activity": "a1"},
    ]
    result = plan(config, events)
    assert [task.member for task in result.tasks] == expected
    assert all(task.params == {"form": "https://f.example/{{ event.activity }}"} for task in result.tasks)


@pytest.mark.parametrize(("key", "started", "ended", "called"), [
    *((key, "三月线下读书会", None, "三月线下读书会") for key in ("title", "text")),
    *((key, None, "共读分享会", "共读分享会") for key in ("title", "text")),
    ("title", "旧名", "新名", "新名"),  # renamed: the end's title
    ("text", "第3期线上共读", "活动结束，感谢参与", "第3期线上共读"),  # an end's text is more often that than a name
    *((key, None, None, "a1") for key in ("title", "text")),
    *((key, "  ", None, "a1") for key in ("title", "text")),
])
def test_an_activity_is_named_in_the_reason_by_its_title(make_config, started, ended, called, key):
    """The reason names the activity by the `title` its end (else its start) carries — or,
    in an export that writes no `title`, its start's `text`, else its end's: an operator knows
    三月线下读书会, not `a1`."""
    config = make_config(playbook("{activity_ended: {participated: true}}", do='- survey: {form: "https://f.example/x"}'))
    titled = lambda title: {key: title} if title else {}  # noqa: E731
    events = [
        msg("01T09:00:00", "m1"),
        {"ts": "2026-03-01T10:00:00+08:00", "type": "activity_started", "group": "g1", "activity": "a1", "participants": ["m1"], **titled(started)},
        {"ts": "2026-03-01T12:00:00+08:00", "type": "activity_ended", "group": "g1", "activity": "a1", **titled(ended)},
    ]
    (task,) = plan(config, events).tasks
    assert task.reason == f"took part in activity {called} (ended 2026-03-01 12:00)"


def test_activity_ended_top_takes_the_most_active_and_leaves_staff_out(make_config):
    """At most ``top`` members per activity: most messages in 7 days, then in 30, then id."""
    community = COMMUNITY.replace("community:\n", "community:\n  staff: [m9]\n", 1)
    config = make_config(playbook("{activity_ended: {participated: false, top: 2}}"), community)
    events = [msg("01T08:00:00", "m4")]  # m4: one message, but 10 days before the activity
    events += [msg(f"11T09:0{index}:00", member) for index, member in enumerate(["m1", "m2", "m2", "m3", "m3", "m9", "m9", "m9", "m5"])]
    events += [{"ts": "2026-03-11T12:00:00+08:00", "type": "activity_ended", "group": "g1", "activity": "a1", "participants": ["m5"]}]
    assert sorted(task.member for task in plan(config, events).tasks) == ["m2", "m3"]
    config = make_config(playbook("{activity_ended: {participated: false, top: 3}}"), community)
    assert sorted(task.member for task in plan(config, events).tasks) == ["m1", "m2", "m3"]


def test_stages_on_a_group_wide_rule_is_a_validation_error(make_config):
    with pytest.raises(InvalidPlaybooks, match=r"`stages:` filters members, but this trigger fires once per group"):
        make_config(playbook('{schedule: "0 9 * * *"}', extra="    stages: [growth]\n", do='- post: "hi"'))


def test_a_playbook_wide_stages_list_does_not_silence_its_group_wide_rules(make_config):
    files = {"p.yaml": 'playbook: p\nstages: [growth]\nrules:\n  - id: r\n    when: {schedule: "0 9 * * *"}\n    do:\n      - post: "早"\n'}
    result = plan(make_config(files), [msg("01T08:00:00")], until=1772330400.0)  # 2026-03-01 10:00
    assert task_keys(result, "due", "group") == [("2026-03-01T09:00:00+08:00", "g1")]


# -- becomes ---------------------------------------------------------------------------------


def test_becomes_fires_when_a_window_metric_falls_as_time_passes(make_config):
    config = make_config(playbook('{becomes: "member.active_days_30d < 2 and member.messages >= 3"}', do='- notify: "{{ member.active_days_30d }}"'))
    events = [msg("01T09:00:00"), msg("02T09:00:00"), msg("03T09:00:00")]
    result = plan(config, events, until=1775000000.0)  # 2026-04-01
    # Active on 03-01..03; the first of those days leaves the 30-day window at midnight 03-31.
    assert task_keys(result, "due", "text") == [("2026-04-01T00:00:00+08:00", "1")]
    assert result.tasks[0].reason == "active days in 30 days is 1 (below 2), messages is 3 (at least 3)"


def test_becomes_fires_when_a_tag_for_a_while_lapses_not_at_the_next_message(make_config):
    """Review 6: "no 打卡 for two days" written as a tag given for 2d and `becomes:` on its
    absence was planned at the member's next message (16 hours late), or never if she stayed
    silent. The tag's time being up is a change of the member: the condition is asked then."""
    files = {
        "p.yaml": "playbook: p\nrules:\n"
        "  - id: checked-in\n    when: {event: message, keywords: [打卡]}\n    do: [{tag: {tags: 打过卡, for: 2d}}]\n"
        "  - id: remind\n    when: {becomes: \"member.messages >= 1 and '打过卡' not in member.tags\"}\n    if: member.messages >= 2\n    do: [{dm: 这两天没看到你打卡啦}]\n",
    }
    events = [msg("01T09:00:00", text="大家好"), msg("01T20:00:00", text="#打卡 第一天"), msg("04T12:00:00", text="今天有点忙")]
    result = plan(make_config(files), events, until=1772985600.0)  # 2026-03-09
    assert task_keys(result, "rule", "due") == [("remind", "2026-03-03T20:00:00+08:00")]  # when the tag lapsed, not 03-04 12:00


@pytest.mark.parametrize(
    ("condition", "language", "reason"),
    [
        ("member.purchases >= 1 and member.active_days_30d < 3", "zh-CN", "付费次数为 1（达到 1），近 30 天有发言的天数为 1（少于 3）"),
        ("member.spent > 99.5", "zh-CN", "消费金额为 120（超过 99.5）"),
        # Anything but plain comparisons of the member's numbers is said as written, with the values it read.
        ("member.purchases >= 1 or member.spent > 99.5", "zh-CN", "`member.purchases >= 1 or member.spent > 99.5` 成立（member.purchases = 1, member.spent = 120）"),
        ("member.purchases >= 1 and 'vip' not in member.tags", "en", "`member.purchases >= 1 and 'vip' not in member.tags` became true (member.purchases = 1, member.tags = [])"),
    ],
)
def test_a_becomes_reason_says_plain_comparisons_in_words(make_config, condition, language, reason):
    """The reason column is read by the operator: `member.active_days_30d < 3` is code to her."""
    config = make_config(playbook(f'{{becomes: "{condition}"}}'), COMMUNITY.replace("  channel: wechat\n", f"  channel: wechat\n  language: {language}\n"))
    event = {"ts": "2026-03-01T09:00:00+08:00", "type": "purchase", "group": "g1", "member": "m1", "amount": 120}
    result = plan(config, [msg("01T08:00:00"), event])
    assert [task.reason for task in result.tasks] == [reason]


def test_becomes_fires_again_only_after_turning_false_in_between(make_config):
    config = make_config(playbook('{becomes: "member.days_silent >= 2"}'))
    events = [msg("01T09:00:00"), msg("02T09:00:00"), msg("06T09:00:00")]
    result = plan(config, events, until=1773100000.0)  # 2026-03-10 07:46
    assert task_keys(result, "due") == [("2026-03-04T09:00:00+08:00",), ("2026-03-08T09:00:00+08:00",)]


def test_becomes_checks_on_events_for_event_driven_fields(make_config):
    config = make_config(playbook('{becomes: "member.messages >= 2"}'))
    assert task_keys(plan(config, [msg("01T09:00:00"), msg("01T10:00:00"), msg("01T11:00:00")]), "due") == [("2026-03-01T10:00:00+08:00",)]


def test_becomes_costs_timers_per_crossing_not_members_times_days(make_config):
    config = make_config(playbook('{becomes: "member.active_days_30d < 1"}', do='- notify: "x"'))
    events = [msg("01T09:00:00", f"m{number}") for number in range(50)]
    result = plan(config, events, until=1780000000.0)  # ~2 months
    assert len(result.tasks) == 50
    assert result.evaluation.clock.fired <= 50 * 8  # lifecycle checks included; 60 days would be 3000


def test_becomes_sees_a_tag_an_action_gave_on_the_members_next_event(make_config):
    # The next message changes no field the condition reads (tags); the member's revision,
    # bumped by the tag action, is what makes the check run again.
    files = {"p.yaml": (
        "playbook: p\nrules:\n"
        "  - id: tagger\n    when: {event: message, keywords: [vip]}\n    do:\n      - tag: vip\n"
        "  - id: watch\n    when: {becomes: \"'vip' in member.tags\"}\n    do:\n      - notify: \"{{ member.name }} is vip\"\n"
    )}
    result = plan(make_config(files), [msg("01T09:00:00", text="我是 vip"), msg("01T10:00:00"), msg("01T11:00:00")])
    assert task_keys(result, "rule", "due") == [("watch", "2026-03-01T10:00:00+08:00")]


def test_several_becomes_rules_share_one_timer_and_one_mark_per_member(make_config):
    files = {"p.yaml": "playbook: p\nrules:\n" + "".join(
        f"  - id: r{n}\n    when: {{becomes: \"member.active_days_30d < {n}\"}}\n    do:\n      - notify: \"{n}\"\n" for n in (1, 2, 3)
    )}
    events = [msg("01T09:00:00"), msg("02T09:00:00"), msg("03T09:00:00")]
    result = plan(make_config(files), events, until=1775000000.0)  # 2026-04-01
    # First seen with 1 active day: r2 and r3 hold at once; each turns false as days add up,
    # and true again as they slide out of the 30-day window.
    assert task_keys(result, "rule", "due") == [
        ("r2", "2026-03-01T09:00:00+08:00"), ("r3", "2026-03-01T09:00:00+08:00"),
        ("r3", "2026-03-31T00:00:00+08:00"), ("r2", "2026-04-01T00:00:00+08:00"),
    ]
    marks = result.evaluation.members["m1"].marks
    assert [key for key in marks if key.startswith("@becomes")] == ["@becomes#held", "@becomes#due"]
    assert set(marks["@becomes#held"][0]) == {"p/r2", "p/r3"}


def test_a_member_top_in_two_groups_fires_once(make_config):
    when = '{leaderboard: {metric: messages, top: 1, every: "0 20 * * *"}}'
    config = make_config(playbook(when))
    events = [msg("01T10:00:00", "a", group="g1"), msg("01T10:01:00", "a", group="g2")]
    result = plan(config, events, until=1772370001.0)
    assert task_keys(result, "member", "group") == [("a", "g1")]
    assert result.suppressed == []


# -- one search for many patterns (event: rules with regex, question patterns) --------------------

_PATTERNS = [*DEFAULT_QUESTION_PATTERNS, r"https?://|www\.|加[vV微]", "傻[逼Bb比]|滚蛋", r"^\d+$", r"(a|b)+1", "(?i)X", "x"]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="？?吗请问怎么如何 ab1x加v微傻逼滚蛋httpswww.:/\n", max_size=12), chosen=st.lists(st.sampled_from(_PATTERNS), min_size=1, max_size=5))
def test_one_pattern_matches_exactly_when_one_of_them_does(text, chosen):
    patterns = [compile_pattern(pattern) for pattern in chosen]
    combined = any_pattern(patterns)
    assert (combined.search(text) is not None) == any(re.search(pattern, text) for pattern in chosen)


def test_a_pattern_s_own_flags_stay_its_own_when_combined():
    combined = any_pattern([compile_pattern("a"), compile_pattern("(?i)b")])
    assert combined.search("B") is not None and combined.search("A") is None


def test_a_branch_s_leading_flags_keep_the_alternation_in_python_s_engine():
    """`(?i)` at the start of one pattern is scoped to it (`(?i:…)`), so bounded patterns still
    make one Python alternation — the default `question.solved` ends with such a pattern, and is
    searched in every message of an asker whose question waits."""
    from playbook_engine.model import DEFAULT_SOLVED_PATTERNS

    combined = any_pattern([compile_pattern(pattern) for pattern in DEFAULT_SOLVED_PATTERNS])
    assert isinstance(combined, re.Pattern)
    for text in ("找到了，谢谢", "I SOLVED it", "never mind", "已解决", "看不懂了", "解决了吗", "resolved", "有人知道吗？先谢谢了"):
        assert (combined.search(text) is not None) == any(re.search(pattern, text) for pattern in DEFAULT_SOLVED_PATTERNS), text
    assert isinstance(any_pattern([compile_pattern("(?im)^b"), compile_pattern("a")]), re.Pattern)
