"""Effects happen once, and a member who left one group is still in the others: a removal holds
until a new join, an invite is not repeated, a tag already held changes nothing, and group
and private actions follow where the member is."""

from __future__ import annotations

import pytest

from playbook_engine import hookimpl
from playbook_engine.contract import ActionType
from playbook_engine.plugins import Registry, get_plugin_manager
from tests.conftest import config_from, plan, task_keys
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

KICK = "  - id: kick\n    when: {event: message, keywords: [广告]}\n    do:\n      - remove: 发广告\n      - notify: 先截图\n"
HELLO = "  - id: hello\n    when: {event: message}\n    do:\n      - mention: hi\n"


def rules(body: str) -> dict[str, str]:
    return {"p.yaml": "playbook: p\nrules:\n" + body}


def spam(ts: str, member: str = "m1", group: str = "g1") -> dict:
    return msg(ts, member, group, text="广告!", name="小王")


def explained(result, kind: str) -> list[str]:
    return [item.reason for item in result.suppressed if item.guardrail == kind]


# -- a removal holds until a new join ---------------------------------------------------------


def test_a_member_removed_from_a_group_is_not_removed_from_it_again(make_config):
    config = make_config(rules(KICK), COMMUNITY)
    result = plan(config, [spam("01T09:00:00"), spam("01T09:05:00"), spam("01T09:10:00")], explain=True)
    assert task_keys(result, "action", "due") == [("remove", "2026-03-01T09:00:00+08:00"), ("notify", "2026-03-01T09:00:00+08:00")]
    assert result.planner.suppressed_counts["not_in_group"] == 4  # remove and notify, twice
    assert explained(result, "not_in_group")[0] == "小王 is no longer in 一群: removed by the plan at 2026-03-01 09:00"
    assert "not_in_group 4" in result.summary()


def test_a_message_after_the_removal_does_not_bring_the_member_back(make_config):
    config = make_config(rules(KICK + HELLO), COMMUNITY)
    result = plan(config, [spam("01T09:00:00"), msg("01T10:00:00")])
    member = result.evaluation.members["m1"]
    assert (member.groups, member.left) == (set(), True)
    assert "m1" not in result.evaluation.groups["g1"].members
    # hello at 09:00 comes after kick (file order): the member is already out
    assert task_keys(result, "rule", "action") == [("kick", "remove"), ("kick", "notify")]


def test_a_new_member_joined_brings_the_member_back(make_config):
    config = make_config(rules(KICK + HELLO), COMMUNITY)
    result = plan(config, [spam("01T09:00:00"), joined("02T09:00:00"), msg("02T10:00:00"), spam("03T09:00:00")])
    assert task_keys(result, "rule", "action", "due") == [
        ("kick", "remove", "2026-03-01T09:00:00+08:00"), ("kick", "notify", "2026-03-01T09:00:00+08:00"),
        ("hello", "mention", "2026-03-02T10:00:00+08:00"),
        ("kick", "remove", "2026-03-03T09:00:00+08:00"), ("kick", "notify", "2026-03-03T09:00:00+08:00"),
    ]
    assert result.evaluation.members["m1"].left


def test_a_removal_from_one_group_leaves_the_member_in_the_other(make_config):
    body = KICK + '  - id: thanks\n    when: {event: message, keywords: [谢谢]}\n    do:\n      - dm: "不客气"\n      - mention: "不客气"\n'
    config = make_config(rules(body), COMMUNITY)
    events = [msg("01T08:00:00", group="g2"), spam("01T09:00:00"), msg("01T10:00:00", group="g1", text="谢谢"), msg("01T11:00:00", group="g2", text="谢谢")]
    result = plan(config, events, explain=True)
    member = result.evaluation.members["m1"]
    assert (member.groups, member.group, member.left) == ({"g2"}, "g2", False)
    # In 一群, which the plan took them out of, only the DM: it goes to 二群, where they are.
    assert task_keys(result, "rule", "action", "group", "assignee") == [
        ("kick", "remove", "g1", "op-a"), ("kick", "notify", "g1", "op-a"),
        ("thanks", "dm", "g2", "op-b"),
        ("thanks", "dm", "g2", "op-b"), ("thanks", "mention", "g2", "op-b"),
    ]


# -- private actions stop only for a member out of every group ---------------------------------


def test_no_private_task_for_a_member_removed_from_every_group_but_for_rules_about_leaving(make_config):
    body = KICK + (
        '  - id: reward\n    when: {event: message}\n    do:\n      - reward: {points: 5}\n'
        '  - id: bye\n    when: {event: member_left}\n    do:\n      - dm: "为什么离开？"\n'
        '  - id: churned\n    when: {stage: churn}\n    do:\n      - dm: "回来看看？"\n'
    )
    config = make_config(rules(body), COMMUNITY)
    result = plan(config, [spam("01T09:00:00"), left("01T09:30:00")], explain=True)
    assert sorted(task_keys(result, "rule", "action")) == [("bye", "dm"), ("churned", "dm"), ("kick", "notify"), ("kick", "remove")]
    assert explained(result, "left_community") == ["小王 is no longer in any group of the community"]
    assert result.evaluation.members["m1"].points == 0


def test_rules_about_leaving_are_those_of_member_left_and_of_stages_that_read_member_left(make_config):
    body = (
        "  - id: a\n    when: {event: member_left}\n    do: [{dm: a}]\n"
        "  - id: b\n    when: {event: message}\n    do: [{dm: b}]\n"
        "  - id: c\n    when: {stage: churn}\n    do: [{dm: c}]\n"
        "  - id: d\n    when: {stage: growth}\n    do: [{dm: d}]\n"
    )
    config = make_config(rules(body), COMMUNITY)
    assert {rule.id: rule.trigger.about_leaving for rule in config.rules} == {"a": True, "b": False, "c": True, "d": False}


# -- a member who left one group ----------------------------------------------------------------


def test_a_member_who_left_one_group_gets_private_tasks_and_group_tasks_in_the_other(make_config):
    body = (
        '  - id: sla\n    when: {unanswered: 30m}\n    do:\n      - mention: "有人回答了吗"\n      - dm: "你的问题还没人回答"\n'
        '  - id: quiet\n    when: {silence: 1d}\n    do:\n      - mention: "{{ member.name }} 在吗"\n'
    )
    config = make_config(rules(body), COMMUNITY + "  question: {patterns: ['请问']}\n")
    events = [msg("01T09:00:00", name="小王"), msg("01T09:10:00", group="g2"), msg("01T09:20:00", text="请问几点开始"), left("01T09:30:00")]
    result = plan(config, events, until=END, explain=True)
    assert result.evaluation.members["m1"].group == "g2"
    assert task_keys(result, "rule", "action", "group", "assignee") == [("sla", "dm", "g2", "op-b"), ("quiet", "mention", "g2", "op-b")]
    assert explained(result, "not_in_group") == ["小王 is no longer in 一群"]


def test_a_member_seen_in_a_group_again_after_leaving_has_not_left(make_config):
    """An export may lack the join: a message in the group shows they are back."""
    config = make_config(rules('  - id: quiet\n    when: {silence: 1d}\n    do:\n      - dm: "在吗"\n'), COMMUNITY)
    result = plan(config, [msg("01T09:00:00"), left("01T10:00:00"), msg("02T09:00:00")], until=END)
    member = result.evaluation.members["m1"]
    assert (member.groups, member.left) == ({"g1"}, False)
    assert task_keys(result, "rule", "due") == [("quiet", "2026-03-03T09:00:00+08:00")]


def test_a_mentioned_member_never_seen_in_a_group_is_taken_to_be_there(make_config):
    body = '  - id: calm\n    when: {event: message, keywords: [滚]}\n    do:\n      - mention: {target: mentioned, text: "别往心里去"}\n'
    config = make_config(rules(body), COMMUNITY)
    assert task_keys(plan(config, [msg("01T09:00:00", text="你滚", mentions=["m2"])]), "member") == [("m2",)]


# -- invites --------------------------------------------------------------------------------------


INVITE = '  - id: seed\n    when: {event: message, keywords: [打卡]}\n    do:\n      - invite: {group: 种子用户群, text: 来种子群吧}\n'


def test_no_invite_into_a_group_the_member_is_in_or_has_a_pending_invite_to(make_config):
    config = make_config(rules(INVITE), COMMUNITY)
    events = [
        msg("01T08:00:00", "m1", "seed", name="小王"), msg("01T09:00:00", "m1", text="打卡"),  # in it
        msg("01T09:00:00", "m2", name="阿珍", text="打卡"), msg("02T09:00:00", "m2", text="打卡"),  # invited, pending
        joined("03T09:00:00", "m2", "seed"), left("04T09:00:00", "m2", "seed"), msg("05T09:00:00", "m2", text="打卡"),  # answered, left, invited again
    ]
    result = plan(config, events, explain=True)
    assert task_keys(result, "member", "due") == [("m2", "2026-03-01T09:00:00+08:00"), ("m2", "2026-03-05T09:00:00+08:00")]
    assert explained(result, "already_in_group") == ["小王 is already in 种子用户群"]
    assert explained(result, "already_invited") == ["阿珍 already has an invite to 种子用户群, planned at 2026-03-01 09:00, and has not joined it since"]


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


# -- declared by the action ----------------------------------------------------------------------


class _HugPlugin:
    """A third-party group action: refused for a member out of the group, as `mention` is."""

    @hookimpl
    def register_actions(self, register):
        register(ActionType("hug", "Hug the member in the group.", {"type": "string"}, text_required=True, scope="group"))


def test_a_third_party_action_declares_its_scope_like_a_built_in(tmp_path):
    pm = get_plugin_manager(entrypoints=False)
    pm.register(_HugPlugin(), name="hug")
    config = config_from(rules(KICK + "  - id: hug\n    when: {event: message}\n    do:\n      - hug: 抱抱\n"), COMMUNITY, tmp_path / "pb", Registry.collect(pm))
    result = plan(config, [msg("01T08:00:00"), spam("01T09:00:00")])
    assert task_keys(result, "rule", "action") == [("hug", "hug"), ("kick", "remove"), ("kick", "notify")]
    assert result.planner.suppressed_counts["not_in_group"] == 1


def test_a_scope_must_be_group_private_or_none():
    with pytest.raises(ValueError, match="scope must be one of 'group', 'private', None"):
        ActionType("hug", "", {}, scope="public")
