"""Effects happen once, and a member who left one group is still in the others: a removal
holds until a new join, a tag already held changes nothing, tasks go where the member is."""

from __future__ import annotations

from tests.conftest import plan, task_keys
from tests.test_triggers import END, joined, left, msg

COMMUNITY = """\
community:
  name: 测试群
  timezone: Asia/Shanghai
  channel: wechat
  groups: [{id: g1, name: 一群}, {id: g2, name: 二群}, {id: seed, name: 种子用户群}]
  operators:
    - {id: op-a, groups: [g1]}
    - {id: op-b, groups: [g2]}
    - {id: op-boss}
  lifecycle:
    - {stage: churn, label: 流失期, if: "member.left or member.days_silent >= 30"}
    - {stage: growth, label: 成长期, if: "true"}
"""


def rules(body: str) -> dict[str, str]:
    return {"p.yaml": "playbook: p\nrules:\n" + body}


# -- tags -------------------------------------------------------------------------------------------


def test_a_tag_already_held_or_an_untag_not_held_changes_nothing(make_config):
    body = "  - id: t\n    when: {event: message}\n    do:\n      - tag: regular\n      - untag: newbie\n"
    config = make_config(rules(body), COMMUNITY)
    result = plan(config, [msg("01T09:00:00"), msg("01T10:00:00")], explain=True)
    changes = [(note.t, note.reason) for note in result.notes if note.kind == "changed"]
    assert changes == [(1772326800.0, "tag regular")]
    assert result.counts["changed"] == 1
    member = result.evaluation.members["m1"]
    assert member.tags == {"regular"}
    revision = member.revision
    assert plan(make_config(rules(body), COMMUNITY), [msg("01T09:00:00")]).evaluation.members["m1"].revision == revision


# -- a removal holds until a new join ---------------------------------------------------------

KICK = "  - id: kick\n    when: {event: message, keywords: [广告]}\n    do:\n      - remove: 发广告\n      - notify: 先截图\n"
HELLO = "  - id: hello\n    when: {event: message}\n    do:\n      - mention: hi\n"


def spam(ts: str, member: str = "m1", group: str = "g1") -> dict:
    return msg(ts, member, group, text="广告!", name="小王")


def test_a_message_after_the_removal_does_not_bring_the_member_back(make_config):
    config = make_config(rules(KICK + HELLO), COMMUNITY)
    result = plan(config, [spam("01T09:00:00"), msg("01T10:00:00")])
    member = result.evaluation.members["m1"]
    assert (member.groups, member.left) == (set(), True)
    assert "m1" not in result.evaluation.groups["g1"].members


def test_a_new_member_joined_brings_the_member_back(make_config):
    config = make_config(rules(KICK + HELLO), COMMUNITY)
    result = plan(config, [spam("01T09:00:00"), joined("02T09:00:00")])
    member = result.evaluation.members["m1"]
    assert (member.groups, member.left, member.marks.get("@out")) == ({"g1"}, False, None)


# -- a member who left one group ----------------------------------------------------------------


def test_a_member_who_left_one_group_gets_group_tasks_in_the_other(make_config):
    body = '  - id: quiet\n    when: {silence: 1d}\n    do:\n      - mention: "{{ member.name }} 在吗"\n'
    config = make_config(rules(body), COMMUNITY)
    events = [msg("01T09:00:00", name="小王"), msg("01T09:10:00", group="g2"), msg("01T09:20:00"), left("01T09:30:00")]
    result = plan(config, events, until=END)
    member = result.evaluation.members["m1"]
    assert (member.groups, member.group, member.left) == ({"g2"}, "g2", False)
    assert task_keys(result, "rule", "action", "group", "assignee") == [("quiet", "mention", "g2", "op-b")]


def test_a_member_seen_in_a_group_again_after_leaving_has_not_left(make_config):
    """An export may lack the join: a message in the group shows they are back."""
    config = make_config(rules('  - id: quiet\n    when: {silence: 1d}\n    do:\n      - dm: "在吗"\n'), COMMUNITY)
    result = plan(config, [msg("01T09:00:00"), left("01T10:00:00"), msg("02T09:00:00")], until=END)
    member = result.evaluation.members["m1"]
    assert (member.groups, member.left) == ({"g1"}, False)
    assert task_keys(result, "rule", "due") == [("quiet", "2026-03-03T09:00:00+08:00")]
