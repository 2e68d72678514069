"""Staff are not members: `community.staff` and operators' `member` accounts are never the member
of a task nor ranked in a leaderboard, and not counted in the members by stage; their messages
still answer questions and count as group activity."""

from __future__ import annotations

import pytest

from playbook_engine.errors import InvalidPlaybooks
from tests.conftest import plan, task_keys
from tests.test_triggers import msg, playbook

STAFF_COMMUNITY = """\
community:
  name: 测试群
  timezone: Asia/Shanghai
  channel: wechat
  staff: [s1]
  operators:
    - {id: op-lily, name: Lily, groups: [g1], member: s2}
"""


# -- community.yaml -------------------------------------------------------------------------------


def test_staff_and_the_operators_own_accounts_are_the_communitys_staff(make_config):
    community = STAFF_COMMUNITY.replace("staff: [s1]", "staff: [s1, 10086, s1, s2]")
    config = make_config({}, community)
    assert config.community.staff == frozenset({"s1", "s2", "10086"})  # a number is read as its text, as in events
    assert config.community.operators[0].member == "s2"


def test_without_staff_nobody_is_staff(make_config):
    assert make_config({}).community.staff == frozenset()
@pytest.mark.parametrize(("written", "instead", "where", "message"), [
    ("staff: [s1]", "staff: s1", (5, 10, "community.staff"), "`s1` should be a list (items starting with `- `) — e.g. `staff: [m01, m02]`"),
    ("staff: [s1]", "staff: [{id: s1}]", (5, 11, "community.staff[0]"), "a mapping should be text or a whole number"),
    ("member: s2", "member: [s2]", (7, 55, "community.operators[0].member"), "a list should be text or a whole number — e.g. `member: m01`"),
], ids=["staff not a list", "staff id not an id", "member not an id"])
def test_a_wrong_type_is_a_validation_error_at_its_place(make_config, written, instead, where, message):
    with pytest.raises(InvalidPlaybooks) as raised:
        make_config({}, STAFF_COMMUNITY.replace(written, instead))
    (problem,) = raised.value.problems
    assert (problem.line, problem.column, problem.yaml_path, problem.message) == (*where, message)


# -- leaderboards ---------------------------------------------------------------------------------


def test_a_leaderboard_ranks_members_only_and_staff_take_no_place(make_config):
    when = '{leaderboard: {metric: messages, top: 2, every: "0 20 * * *"}}'
    config = make_config(playbook(when, do='- reward: {points: 10, text: "第{{ trigger.rank }}名"}'), STAFF_COMMUNITY)
    events = [msg(f"01T1{i}:00:00", "s1") for i in range(5)] + [msg(f"01T1{i}:30:00", "s2") for i in range(4)]
    events += [msg("01T16:00:00", "a"), msg("01T16:01:00", "a"), msg("01T16:02:00", "b"), msg("01T16:03:00", "c")]
    events.sort(key=lambda event: event["ts"])
    result = plan(config, events, until=1772366401.0)
    assert task_keys(result, "member", "text") == [("a", "第1名"), ("b", "第2名")]
    assert result.counts["staff"] == 0  # not ranked at all, rather than ranked and skipped


def test_a_group_leaderboard_lists_no_staff(make_config):
    when = '{leaderboard: {metric: messages, top: 3, every: "0 20 * * *"}, each: group}'
    do = '- post: "{% for item in trigger.top %}{{ item.rank }}.{{ item.member }} {% endfor %}"'
    config = make_config(playbook(when, do=do), STAFF_COMMUNITY)
    events = [msg("01T10:00:00", "s1"), msg("01T10:01:00", "s1"), msg("01T10:02:00", "a"), msg("01T10:03:00", "s2"), msg("01T10:04:00", "b")]
    assert task_keys(plan(config, events, until=1772366401.0), "text") == [("1.a 2.b",)]
