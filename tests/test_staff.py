"""Staff are not members: `community.staff` and operators' `member` accounts are never the member
of a task nor ranked in a leaderboard, and not counted in the members by stage; their messages
still answer questions and count as group activity."""

from __future__ import annotations

import pytest

from playbook_engine.errors import InvalidPlaybooks

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
