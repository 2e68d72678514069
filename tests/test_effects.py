"""Effects happen once: a removal holds until a new join, a tag already held changes nothing."""

from __future__ import annotations

from tests.conftest import plan
from tests.test_triggers import joined, msg

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
