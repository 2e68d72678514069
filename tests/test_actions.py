"""Actions and rule options: what each action plans or changes, and how options shape tasks."""

from __future__ import annotations

import pytest

from playbook_engine import hookimpl
from playbook_engine.contract import ActionType
from playbook_engine.plugins import Registry, get_plugin_manager
from tests.conftest import config_from, plan, task_keys
from tests.test_triggers import END, joined, msg

COMMUNITY = """\
community:
  name: 测试群
  timezone: Asia/Shanghai
  channel: wechat
  groups: [{id: g1, name: 一群}, {id: g2, name: 二群}]
  operators:
    - {id: op-a, groups: [g1]}
    - {id: op-b, groups: [g2]}
    - {id: op-boss}
"""


def rules(body: str) -> dict[str, str]:
    return {"p.yaml": "playbook: p\nrules:\n" + body}


def test_reward_adds_points_and_describes_itself(make_config):
    config = make_config(rules("  - id: r\n    when: {event: message}\n    do:\n      - reward: {points: 5, coupon: C1}\n"), COMMUNITY)
    result = plan(config, [msg("01T09:00:00"), msg("01T09:01:00")])
    assert task_keys(result, "action", "text") == [("reward", "reward: 5 points, coupon C1")] * 2
    assert result.tasks[0].params == {"points": 5, "coupon": "C1"}
    assert result.evaluation.members["m1"].points == 10


def test_removed_members_are_out_of_the_group_for_later_rules(make_config):
    body = (
        "  - id: kick\n    when: {event: message, keywords: [广告]}\n    do:\n      - remove: 发广告\n"
        '  - id: daily\n    when: {schedule: "0 20 * * *", each: member}\n    do:\n      - dm: hi\n'
    )
    config = make_config(rules(body), COMMUNITY)
    result = plan(config, [msg("01T09:00:00", "m1", text="广告!"), msg("01T09:05:00", "m2")], until=1772370000.0)
    assert task_keys(result, "rule", "member", "action") == [("kick", "m1", "remove"), ("daily", "m2", "dm")]
    assert result.evaluation.members["m1"].left


def test_tag_and_untag_change_state_without_tasks(make_config):
    body = (
        "  - id: t\n    when: {event: member_joined}\n    do:\n      - tag: [newbie, 新人]\n"
        "  - id: u\n    when: {event: message}\n    do:\n      - untag: newbie\n"
    )
    config = make_config(rules(body), COMMUNITY)
    result = plan(config, [joined("01T09:00:00"), msg("01T10:00:00")])
    assert result.tasks == []
    assert result.evaluation.members["m1"].tags == {"新人"}


# A warning that lapses: `warned` for 10 days; a second offence while warned is a removal.
EXPIRING = (
    "  - id: kick\n    when: {event: message, keywords: [广告]}\n    if: \"'warned' in member.tags\"\n    do:\n      - remove: 再犯\n"
    "  - id: warn\n    when: {event: message, keywords: [广告]}\n    if: \"'warned' not in member.tags\"\n    do:\n      - warn: 请勿发广告\n      - tag: {tags: warned, for: 10d}\n"
    "  - id: keep\n    when: {event: message, keywords: [嘉宾]}\n    do:\n      - tag: warned\n"
    "  - id: forgive\n    when: {event: message, keywords: [道歉]}\n    do:\n      - untag: warned\n"
)


def test_a_tag_given_for_a_time_comes_off_by_itself_and_again_starts_it_again(make_config):
    config = make_config(rules(EXPIRING), COMMUNITY)
    ads = [msg("01T09:00:00", text="广告"), msg("12T09:00:00", text="广告"), msg("20T09:00:00", text="广告")]
    result = plan(config, ads, until=END)
    # 12 days later it had come off: warned again (for 10 more days), so the third is a removal
    assert task_keys(result, "rule", "due") == [("warn", "2026-03-01T09:00:00+08:00"), ("warn", "2026-03-12T09:00:00+08:00"), ("kick", "2026-03-20T09:00:00+08:00")]
    member = result.evaluation.members["m1"]
    assert "warned" not in member.tags and "@tag-expiry" not in member.marks  # off on the 22nd


def test_a_tag_given_again_without_for_or_taken_off_has_no_time_left(make_config):
    config = make_config(rules(EXPIRING), COMMUNITY)
    kept = plan(config, [msg("01T09:00:00", text="广告"), msg("02T09:00:00", text="嘉宾"), msg("20T09:00:00", text="广告")], until=END)
    assert task_keys(kept, "rule") == [("warn",), ("kick",)]  # given again without `for`: it stays
    untagged = plan(config, [msg("01T09:00:00", text="广告"), msg("02T09:00:00", text="道歉"), msg("03T09:00:00", "m1", "g2", text="嘉宾"), msg("20T09:00:00", "m1", "g2", text="广告")], until=END)
    assert task_keys(untagged, "rule") == [("warn",), ("kick",)]  # the old time does not take the new tag off
    assert untagged.evaluation.members["m1"].marks.get("@tag-expiry") is None


def test_a_tag_s_time_goes_on_across_state_runs(tmp_path):
    from playbook_engine.runner import run
    from playbook_engine.state import StateStore
    from tests.conftest import records

    config = config_from(rules(EXPIRING), COMMUNITY, tmp_path / "pb")
    events = [msg("01T09:00:00", text="广告"), msg("05T09:00:00"), msg("12T09:00:00", text="广告"), msg("13T09:00:00", text="广告")]
    whole = [(task.id, task.due) for task in run(config, records(events)).tasks]
    for split in range(1, len(events)):
        path = str(tmp_path / f"state-{split}.db")
        tasks = []
        for piece in (events[:split], events[split:]):
            store = StateStore.open(path)
            result = run(config, records(piece), state=store)
            result.save_state()
            store.close()
            tasks += [(task.id, task.due) for task in result.tasks]
        assert tasks == whole, split


def test_a_tag_s_time_must_be_a_duration(make_config):
    import pytest

    from playbook_engine.errors import InvalidPlaybooks

    with pytest.raises(InvalidPlaybooks, match=r"rules\[0\]\.do\[0\]\.tag\.for: `soon` is not a duration — write a number and a unit"):
        make_config(rules("  - id: t\n    when: {event: message}\n    do:\n      - tag: {tags: warned, for: soon}\n"), COMMUNITY)


def test_invite_survey_and_notify_carry_their_options(make_config):
    body = (
        "  - id: r\n    when: {event: message}\n    do:\n"
        "      - invite: {group: g2}\n"
        "      - survey: {form: https://f.example/1, text: 填一下}\n"
        "      - notify: {to: op-boss, text: \"看看 {{ member.name }}\"}\n"
    )
    config = make_config(rules(body), COMMUNITY)
    result = plan(config, [msg("01T09:00:00", name="小王")])
    assert [(t.action, t.text, t.params) for t in result.tasks] == [
        ("invite", "invite to group g2", {"group": "g2"}),
        ("survey", "填一下", {"form": "https://f.example/1"}),
        ("notify", "看看 小王", {"to": "op-boss"}),
    ]


def test_delay_priority_assignee_and_channel(make_config):
    body = (
        "  - id: late\n    when: {event: message}\n    delay: 1h30m\n    do:\n      - dm: later\n"
        "  - id: urgent\n    when: {event: message}\n    priority: urgent\n    assignee: op-boss\n    channel: wechat\n    do:\n      - dm: now\n"
    )
    config = make_config(rules(body), COMMUNITY)
    result = plan(config, [msg("01T09:00:00", group="g2")])
    assert task_keys(result, "rule", "due", "priority", "assignee", "group") == [
        ("urgent", "2026-03-01T09:00:00+08:00", "urgent", "op-boss", "g2"),
        ("late", "2026-03-01T10:30:00+08:00", "normal", "op-b", "g2"),
    ]


def test_groups_and_stages_filter_members(make_config):
    body = "  - id: r\n    when: {event: message}\n    groups: [g2]\n    stages: [newbie]\n    do:\n      - dm: hi\n"
    config = make_config(rules(body), COMMUNITY)
    events = [joined("01T08:00:00", "m1", "g2"), msg("01T09:00:00", "m1", group="g2"), msg("01T09:00:00", "m2", group="g2"), joined("01T08:00:00", "m3", "g1"), msg("01T09:00:00", "m3")]
    events.sort(key=lambda e: e["ts"])
    assert task_keys(plan(config, events), "member") == [("m1",)]


def test_once_fires_a_single_time_per_member(make_config):
    config = make_config(rules("  - id: r\n    when: {event: message}\n    once: true\n    do:\n      - dm: hi\n"), COMMUNITY)
    assert task_keys(plan(config, [msg("01T09:00:00"), msg("01T09:01:00"), msg("01T09:02:00", "m2")]), "member") == [("m1",), ("m2",)]


def test_a_failing_expression_skips_that_rule_for_that_member_and_the_run_goes_on(make_config):
    body = (
        "  - id: bad\n    when: {event: message}\n    if: member.attributes.city.upper() == 'X'\n    do:\n      - dm: hi\n"
        "  - id: good\n    when: {event: message}\n    do:\n      - dm: ok\n"
    )
    config = make_config(rules(body), COMMUNITY)
    result = plan(config, [msg("01T09:00:00")], explain=True)
    assert task_keys(result, "rule") == [("good",)]
    assert result.counts["error"] == 1
    assert [note.kind for note in result.notes if note.rule == "p/bad"] == ["error"]


def test_the_mention_filter_uses_the_channel_syntax(make_config):
    config = make_config(rules('  - id: r\n    when: {event: message}\n    do:\n      - mention: "{{ member | mention }} 你好"\n'), COMMUNITY)
    assert task_keys(plan(config, [msg("01T09:00:00", name="小王")]), "text") == [("@小王 你好",)]


def test_ago_and_date_filters_use_event_time(make_config):
    body = "  - id: r\n    when: {silence: 2d}\n    do:\n      - dm: \"{{ member.last_message_at | date('%m月%d日') }} / {{ member.last_message_at | ago }}\"\n"
    config = make_config(rules(body), COMMUNITY)
    assert task_keys(plan(config, [msg("01T09:00:00")], until=END), "text") == [("03月01日 / 2天前",)]


def test_a_missing_attribute_compares_as_unknown_not_as_an_error(make_config):
    body = "  - id: r\n    when: {event: message}\n    if: member.attributes.role == 'B端' or member.attributes.level > 2\n    do:\n      - dm: hi\n"
    config = make_config(rules(body), COMMUNITY)
    events = [msg("01T09:00:00"), {"ts": "2026-03-01T09:30:00+08:00", "type": "profile", "member": "m2", "attributes": {"role": "B端"}}, msg("01T10:00:00", "m2")]
    result = plan(config, events)
    assert task_keys(result, "member") == [("m2",)]
    assert result.counts["error"] == 0


def test_target_mentioned_reaches_the_other_side_of_a_quarrel(make_config):
    body = (
        "  - id: calm\n    when: {event: message, keywords: [滚]}\n    do:\n"
        "      - dm: \"{{ member.name }}，消消气\"\n"
        "      - dm: {target: mentioned, text: \"{{ member.name }}，刚才的话别往心里去\"}\n"
    )
    config = make_config(rules(body), COMMUNITY)
    events = [msg("01T09:00:00", "m2", name="小李"), msg("01T09:05:00", "m1", name="老王", text="你滚", mentions=["m2", "m1"])]
    result = plan(config, events)
    assert [(t.member, t.text, t.params) for t in result.tasks] == [("m1", "老王，消消气", {}), ("m2", "小李，刚才的话别往心里去", {})]


@pytest.mark.parametrize(("text", "mentioned", "name"), [
    ("@阿花\u2005你滚", "wxid_k2j3", "阿花"),  # WeChat: the one @name of the text
    ("@阿花 你滚", "wxid_k2j3", "阿花"),
    ("<@U024BE7LH> 你滚", "U024BE7LH", "U024BE7LH"),  # an id written as a mention: no name in it
    ("@阿花 @小李 你们都滚", "wxid_k2j3", "wxid_k2j3"),  # two @, one id: which is whose is unknown
    ("你滚", "name:阿花", "阿花"),  # a source's id for a person it knows only by name
])
def test_a_member_first_seen_as_a_mention_is_called_by_the_name_the_text_shows(make_config, text, mentioned, name):
    """The other side of a quarrel never wrote in the history: the DM greets them by the name
    the message @-ed, not by a raw platform id the operator could not send."""
    body = "  - id: calm\n    when: {event: message, keywords: [滚]}\n    do:\n      - dm: {target: mentioned, text: \"{{ member.name }}，刚才的话别往心里去\"}\n"
    config = make_config(rules(body), COMMUNITY)
    later = msg("03T09:00:00", mentioned, name="花花", text="谢谢")
    result = plan(config, [msg("01T09:05:00", "m1", name="老王", text=text, mentions=[mentioned]), later])
    assert [(t.member, t.member_name, t.text) for t in result.tasks] == [(mentioned, name, f"{name}，刚才的话别往心里去")]
    assert result.evaluation.members[mentioned].name == "花花"  # their own name, once they write


def test_a_member_first_seen_among_several_mentions_is_called_by_the_name_the_source_gives(make_config):
    """Review 10: `@小李 @小美 你们俩…` from a Discord export: the second side of the quarrel had
    never written, and two @ say nothing of whose id is whose, so her DM began with her
    snowflake. The export names everyone it mentions (``mention_names``): she is 小美."""
    body = "  - id: calm\n    when: {event: message, keywords: [滚]}\n    do:\n      - dm: {target: mentioned, text: \"{{ member.name }}，刚才的话别往心里去\"}\n"
    config = make_config(rules(body), COMMUNITY)
    event = msg("01T09:05:00", "m1", name="老王", text="@小李 @小美 你们都滚", mentions=["120014", "120012"], mention_names={"120014": "小美", "120012": " "})
    result = plan(config, [event])
    assert [(t.member, t.text) for t in result.tasks] == [("120012", "120012，刚才的话别往心里去"), ("120014", "小美，刚才的话别往心里去")]


def test_tags_go_with_the_tasks_of_their_rule(make_config):
    community = COMMUNITY + "  limits:\n    - {actions: [warn], max: 1, per: 7d}\n"
    body = "  - id: w\n    when: {event: message, keywords: [广告]}\n    do:\n      - warn: 请勿发广告\n      - tag: warned\n"
    config = make_config(rules(body), community)
    result = plan(config, [msg("01T09:00:00", text="广告"), {"ts": "2026-03-01T09:30:00+08:00", "type": "profile", "member": "m1", "tags": ["x"]}, msg("01T10:00:00", "m2", text="广告")])
    assert result.evaluation.members["m1"].tags == {"warned", "x"}
    config_blocked = make_config(rules(body), community)
    blocked = plan(config_blocked, [msg("01T09:00:00", text="广告"), msg("01T10:00:00", text="广告")])
    assert [s.guardrail for s in blocked.suppressed] == ["limit"]
    assert blocked.evaluation.members["m1"].tags == {"warned"}  # from the first, planned warning only


def test_enforcement_is_not_blocked_by_an_any_limit_and_urgent_ignores_quiet_hours(make_config):
    community = COMMUNITY + "  quiet_hours: \"22:00-08:00\"\n  limits:\n    - {actions: any, max: 1, per: 7d}\n"
    body = (
        "  - id: hi\n    when: {event: message}\n    once: true\n    do:\n      - dm: 欢迎\n"
        "  - id: out\n    when: {event: message, keywords: [广告]}\n    priority: urgent\n    do:\n      - remove: 发广告\n"
    )
    config = make_config(rules(body), community)
    # The welcome comes first, held by quiet hours until 08:00; the removal at 23:00 is not
    # blocked by the welcome's limit and not held; at 08:00 the member is in no group, so the
    # welcome is stale and no DM goes out.
    result = plan(config, [msg("01T22:59:00"), msg("01T23:00:00", text="广告")])
    assert task_keys(result, "rule", "due") == [("out", "2026-03-01T23:00:00+08:00")]
    (stale,) = [item for item in result.suppressed if item.guardrail == "stale"]
    assert stale.task.rule == "hi" and "no longer in any group" in stale.reason


class _ThanksPlugin:
    """A third-party action, exempt from `actions: any` limits, with a target of its own:
    thank whoever a message replied to (the `reply_to` id is the member here)."""

    @staticmethod
    def _replied_to(run, firing):
        event = firing.event
        target = run.members.get(event.reply_to) if event and event.reply_to else None
        return [target] if target is not None else []

    @hookimpl
    def register_actions(self, register):
        schema = {"type": "object", "additionalProperties": False, "properties": {"text": {"type": "string"}, "target": {"enum": ["member", "replied"]}}}
        register(ActionType("thank", "Thank a member.", schema, needs="dm", text_required=True, counts_toward_limits=False, targets={"replied": self._replied_to}))


def test_a_third_party_action_declares_its_limits_and_targets_like_a_built_in(tmp_path):
    pm = get_plugin_manager(entrypoints=False)
    pm.register(_ThanksPlugin(), name="thanks")
    registry = Registry.collect(pm)
    limited = COMMUNITY + "  limits:\n    - {actions: any, max: 1, per: 7d}\n"
    body = (
        "  - id: hi\n    when: {event: message}\n    do:\n      - dm: 你好\n"
        '  - id: thanks\n    when: {event: message}\n    do:\n      - thank: {text: "谢谢 {{ member.name }}", target: replied}\n'
        "  - id: warn\n    when: {event: message}\n    do:\n      - warn: 注意\n"
    )
    config = config_from(rules(body), limited, tmp_path / "pb", registry)
    result = plan(config, [msg("01T09:00:00", "m2"), msg("01T09:01:00", "m1", reply_to="m2"), msg("01T09:02:00", "m1", reply_to="m2")])
    # m1: one dm (the limit of any 1 per 7d), then only the limit-exempt warn and thank, both times;
    # thank goes to the member replied to, as `target: mentioned` goes to those mentioned.
    assert task_keys(result, "member", "action") == [
        ("m2", "dm"), ("m2", "warn"),
        ("m1", "dm"), ("m2", "thank"), ("m1", "warn"),
        ("m2", "thank"), ("m1", "warn"),
    ]
    assert registry.limit_exempt_actions() == {"notify", "remove", "thank", "warn"}
