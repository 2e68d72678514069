"""Group-level methods: seed groups (`seed: true`, `group.seed`), how much history a ranking's
window covers (`trigger.history_days`), teams ranked by a member attribute (`by:`), and a
group's health (`group.member_messages_7d`, `group.staff_share_7d` …)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_engine.errors import InvalidPlaybooks
from playbook_engine.runner import run
from playbook_engine.state import StateStore
from tests.conftest import config_from, plan, records, task_keys

START = 1772326800.0  # 2026-03-01T09:00:00+08:00, a Sunday
DAY = 86400
MIDNIGHT = START - 9 * 3600  # 2026-03-01T00:00:00+08:00

GROUPS = """\
community:
  name: 测试群
  timezone: Asia/Shanghai
  channel: wechat
  groups:
    - {id: g1, name: 一群}
    - {id: g2, name: 二群}
    - {id: g9, name: 种子群, seed: true}
  staff: [boss]
  operators:
    - {id: op-lily, name: Lily, groups: [g1, g2, g9]}
"""


def message(t: float, member: str, group: str = "g1", **extra: object) -> dict:
    return {"ts": t, "type": "message", "group": group, "member": member, "text": "在", **extra}


def rules(text: str) -> dict[str, str]:
    return {"p.yaml": "playbook: p\nrules:\n" + text}


# -- seed groups -----------------------------------------------------------------------------


def test_group_seed_is_true_only_in_groups_marked_seed():
    config = config_from(rules('  - id: r\n    when: {event: message}\n    if: group.seed\n    do:\n      - post: "{{ group.name }}"\n'), GROUPS)
    result = plan(config, [message(START, "a", "g1"), message(START + 60, "a", "g9")])
    assert task_keys(result, "group", "text") == [("g9", "种子群")]


def test_seed_must_be_true_or_false():
    with pytest.raises(InvalidPlaybooks) as raised:
        config_from(rules('  - id: r\n    when: {event: message}\n    do:\n      - post: "x"\n'), GROUPS.replace("seed: true", 'seed: "是"'))
    assert "community.yaml:8:33: community.groups[2].seed: `是` should be true or false — e.g. `seed: true`" in str(raised.value)


def test_an_invite_into_a_group_community_yaml_does_not_declare_is_an_error_with_the_groups_named():
    text = '  - id: r\n    when: {event: message}\n    do:\n      - invite: {group: 种子用户群, text: "来吧"}\n'
    with pytest.raises(InvalidPlaybooks) as raised:
        config_from(rules(text), GROUPS)
    assert "p.yaml:6:25: rules[0].do[0].invite.group: group `种子用户群` is not in community.yaml `groups:` — did you mean `种子群`?" in str(raised.value)
    # By its name or its id, it is the declared group.
    for name in ("种子群", "g9"):
        config_from(rules(text.replace("种子用户群", name)), GROUPS)


def test_a_leaderboard_of_seed_groups_ranks_there_a_member_top_elsewhere_too():
    """Without `seed: true` a member top in two groups fires once, in the first: a rule about
    the seed group would never see them."""
    when = '{leaderboard: {metric: messages, window: 7d, top: 1, every: "0 20 * * *"%s}}'
    events = [message(START, "a", "g1"), message(START + 60, "a", "g1"), message(START + 120, "a", "g9")]
    for option, expected in (("", [("g1", "a")]), (", seed: true", [("g9", "a")])):
        config = config_from(rules(f'  - id: r\n    when: {when % option}\n    do:\n      - dm: "hi"\n'), GROUPS)
        assert task_keys(plan(config, events, until=START + 12 * 3600), "group", "member") == expected


# -- how much history a ranking covers -----------------------------------------------------------

TOP = '  - id: top\n    when: {leaderboard: {metric: active_days, window: 30d, top: 1, every: "0 20 * * *"}}\n    do:\n      - dm: "{{ trigger.history_days }}/{{ trigger.window_days }}"\n'


def test_history_days_counts_the_days_since_the_group_s_first_counted_day_up_to_the_window():
    config = config_from(rules(TOP), GROUPS)
    events = [message(START + day * DAY, "a") for day in range(40)]
    texts = [text for (text,) in task_keys(plan(config, events, until=START + 40 * DAY), "text")]
    assert texts[:3] == ["1/30", "2/30", "3/30"]
    assert texts[28:31] == ["29/30", "30/30", "30/30"]
    assert texts[-1] == "30/30"


def test_history_days_is_the_group_s_own_a_group_seen_later_starts_later():
    config = config_from(rules(TOP.replace("top: 1", "top: 2")), GROUPS)
    events = [message(START, "a", "g1"), message(START + 5 * DAY, "b", "g2")]
    result = plan(config, events, until=START + 5 * DAY + 12 * 3600)
    assert task_keys(result, "group", "text")[-2:] == [("g1", "6/30"), ("g2", "1/30")]


# -- teams ------------------------------------------------------------------------------------

TEAMS = """\
  - id: standing
    when: {leaderboard: {metric: active_days, window: 7d, top: 5, by: team, every: "0 20 * * 0"}, each: group}
    do:
      - post: "{% for item in trigger.top %}{{ item.rank }}.{{ item.team }} {{ item.value }}/{{ item.active }} {% endfor %}"
  - id: winners
    when: {leaderboard: {metric: active_days, window: 7d, top: 1, by: team, every: "0 20 * * 0"}}
    do:
      - reward: {points: 5, text: "{{ trigger.team }} {{ trigger.rank }} {{ trigger.value }} {{ trigger.member_value }}"}
"""


def profile(t: float, member: str, team: str) -> dict:
    return {"ts": t, "type": "profile", "member": member, "attributes": {"team": team}}


def test_teams_score_their_members_active_days_not_messages_and_the_winners_members_fire():
    config = config_from(rules(TEAMS), GROUPS)
    events = [profile(START, "r1", "红队"), profile(START, "r2", "红队"), profile(START, "b1", "蓝队"), profile(START, "boss", "蓝队")]
    events += [message(START + DAY * day, "r1") for day in (1, 2, 3)]
    events += [message(START + DAY * 2 + 60, "r2")]
    events += [message(START + DAY * 2 + 120 + i, "b1") for i in range(30)]  # floods on one day
    events += [message(START + DAY * day + 180, "boss") for day in (1, 2, 3, 4, 5)]  # staff: not counted
    events += [message(START + DAY * day + 240, "lone") for day in (1, 2, 3, 4, 5)]  # no team: not counted
    result = plan(config, sorted(events, key=lambda event: event["ts"]), until=START + 7 * DAY + 12 * 3600)
    assert task_keys(result, "rule", "member", "text") == [
        ("standing", None, "1.红队 4/2 2.蓝队 1/1"),
        ("winners", "r1", "红队 1 4 3"),
        ("winners", "r2", "红队 1 4 1"),
    ]
    assert result.evaluation.members["r1"].points == 5


def test_teams_tied_are_ranked_by_their_names_characters_and_a_group_without_teams_has_no_standing():
    config = config_from(rules(TEAMS), GROUPS)
    events = [profile(START, "x", "乙队"), profile(START, "y", "甲队"), message(START + DAY, "x"), message(START + DAY + 60, "y"), message(START + DAY + 120, "z", "g2")]
    result = plan(config, events, until=START + 7 * DAY + 12 * 3600)
    assert task_keys(result, "rule", "group", "member") == [("standing", "g1", None), ("winners", "g1", "x")]
    assert result.tasks[0].text == "1.乙队 1/1 2.甲队 1/1"  # 乙 U+4E59 before 甲 U+7532: stable, if arbitrary


# -- a group's health -------------------------------------------------------------------------

HEALTH = '  - id: health\n    when: {schedule: "0 10 * * *"}\n    do:\n      - notify: "{{ group.member_messages_7d }} {{ group.staff_messages_7d }} {{ group.staff_share_7d }} {{ group.active_members_7d }} {{ group.history_days }}"\n'


def test_group_health_counts_the_seven_whole_days_before_today_members_and_staff_apart():
    config = config_from(rules(HEALTH), GROUPS)
    events = [message(START - 3600, "a")]  # 2026-03-01 08:00: the group's first day
    events += [message(START + DAY * day, member) for day in range(1, 9) for member in ("a", "b", "boss")]
    events += [message(START + DAY * 9 - 3600, "c")]  # 2026-03-10 08:00: today's, not yet counted at 10:00
    result = plan(config, events, until=START + 9 * DAY + 3600)
    texts = [text for (text,) in task_keys(result, "text")]
    assert texts[0] == "0 0 None 0 0"  # 2026-03-01 10:00: the group's first morning, no whole day before it
    # 2026-03-10 10:00: 3–9 March (the 2nd has left the week), members a and b 14 messages, staff 7
    # (a third); 9 whole days seen; c's message this morning is today's.
    assert texts[-1] == "14 7 0.3333333333333333 2 9"


def test_a_week_nobody_wrote_has_no_staff_share():
    config = config_from(rules(HEALTH.replace('"0 10 * * *"', '"0 10 20 3 *"') + "    if: group.staff_share_7d < 0.5 or group.staff_share_7d >= 0.5\n"), GROUPS)
    result = plan(config, [message(START, "a"), message(START + 19 * DAY + 7200, "a")], until=START + 20 * DAY)
    assert result.tasks == []


def test_the_group_counts_cost_nothing_when_no_rule_reads_them():
    config = config_from(rules('  - id: r\n    when: {schedule: "0 10 * * *"}\n    if: group.messages > 0\n    do:\n      - notify: "{{ group.name }} {{ group.seed }}"\n'), GROUPS)
    result = plan(config, [message(START, "a"), message(START + DAY, "a")])
    assert result.evaluation.group_counts is None
    assert not any(key.startswith("@group") for key in result.evaluation.trigger_state)
    assert [task.text for task in result.tasks] == ["一群 False"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20 * 24 - 1), st.sampled_from(["a", "b", "c", "boss"]), st.sampled_from(["g1", "g2"])), min_size=1, max_size=60))
def test_group_health_figures_equal_a_count_of_the_events(drawn):
    """The counts kept by day against a plain count of the events before each check."""
    config = config_from(rules(HEALTH), GROUPS)
    events = sorted((message(START + hour * 3600 + index, member, group) for index, (hour, member, group) in enumerate(drawn)), key=lambda event: event["ts"])
    result = plan(config, events, until=START + 21 * DAY)
    for task in result.tasks:
        due_day = int((task.due - MIDNIGHT) // DAY)  # local days since 2026-03-01
        start_of_day = MIDNIGHT + due_day * DAY
        before = [event for event in events if event["group"] == task.group and event["ts"] < start_of_day]
        week = [event for event in before if event["ts"] >= start_of_day - 7 * DAY]
        members = [event for event in week if event["member"] != "boss"]
        staff = len(week) - len(members)
        share = staff / len(week) if week else None
        first = min(event["ts"] for event in events if event["group"] == task.group)
        seen = due_day - int((first - MIDNIGHT) // DAY)
        assert task.text == f"{len(members)} {staff} {share} {len({event['member'] for event in members})} {seen}"


# -- daily --state runs see what one run sees ---------------------------------------------------------

MONTHLY = TOP.replace("every: \"0 20 * * *\"", "every: \"0 20 1,16 * *\"").replace("top: 1", "top: 3") + "    if:\n      - group.seed\n      - trigger.history_days >= trigger.window_days\n" + HEALTH.replace("- id: health", "- id: health\n    if: group.history_days >= 7 and group.member_messages_7d < 10") + TEAMS


@settings(max_examples=10, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40 * 24 - 1), st.sampled_from(["a", "b", "c", "d", "boss"]), st.sampled_from(["g1", "g9"])), min_size=5, max_size=80),
    st.lists(st.integers(1, 39), min_size=1, max_size=4, unique=True),
)
def test_daily_state_runs_plan_what_one_run_plans(drawn, cuts):
    config = config_from(rules(MONTHLY), GROUPS)
    events = [profile(START - 7200, "a", "红队"), profile(START - 7200, "b", "蓝队"), profile(START - 7200, "c", "红队")]
    events += sorted((message(START + hour * 3600 + index, member, group) for index, (hour, member, group) in enumerate(drawn)), key=lambda event: event["ts"])
    until = START + 41 * DAY
    whole = {(task.id, task.due, task.text) for task in plan(config, events, until=until).tasks}
    bounds = [START + day * DAY for day in sorted(cuts)]
    pieces = [[event for event in events if low <= event["ts"] < high] for low, high in zip([0.0, *bounds], [*bounds, until], strict=True)]
    found = set()
    with tempfile.TemporaryDirectory() as directory:
        path = str(Path(directory) / "state.db")
        for index, piece in enumerate(pieces):
            store = StateStore.open(path)
            result = run(config, records(piece), state=store, until=bounds[index] if index < len(bounds) else until)
            result.save_state()
            store.close()
            found.update((task.id, task.due, task.text) for task in result.tasks)
    assert found == whole
