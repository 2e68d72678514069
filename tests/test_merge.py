"""One member, one message a day: tasks of the merged actions (community.merge, default [dm]) for
the same member, channel and assignee, due the same local day, become one task."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from playbook_engine.contract import Task
from playbook_engine.errors import InvalidPlaybooks
from playbook_engine.output import render_explanation
from playbook_engine.state import StateStore
from tests.conftest import COMMUNITY, plan, shipped_run, task_keys
from tests.test_daily_texts import held
from tests.test_triggers import joined, msg

TWO_DMS = {
    "a.yaml": 'playbook: a\nrules:\n  - id: hi\n    when: {event: message}\n    do:\n      - dm: "你好 {{ member.name }}"\n',
    "b.yaml": 'playbook: b\nrules:\n  - id: ask\n    when: {event: message, keywords: [请问]}\n    priority: high\n    delay: 1h\n    do:\n      - dm: "看到你的问题了"\n      - mention: "@{{ member.name }} 稍等"\n',
}


def test_two_dms_for_one_member_on_one_day_become_one_message(make_config):
    config = make_config(TWO_DMS)
    result = plan(config, [msg("01T09:00:00", "m1", name="小王", text="请问几点开始")], explain=True)
    dms = [task for task in result.tasks if task.action == "dm"]
    assert len(dms) == 1
    merged = dms[0]
    assert (merged.rule, merged.priority, merged.text) == ("hi", "high", "你好 小王\n\n看到你的问题了")
    assert [part["rule"] for part in merged.parts] == ["a/hi", "b/ask"]
    assert merged.record(config.community.tz)["due"] == "2026-03-01T09:00:00+08:00"  # the earliest
    assert "小王" in merged.how and "看到你的问题了" in merged.how
    assert task_keys(result, "action") == [("dm",), ("mention",)]  # a mention is not merged (merge: [dm])
    assert result.planner.suppressed_counts["merged"] == 1
    assert f"but        merged into {merged.id}, due 2026-03-01 09:00" in render_explanation(result, config.community.tz)


def test_private_actions_merge_lists_together_are_one_private_message(make_config):
    """The weekly top three are thanked with points and, the first time, invited to the seed
    group: one message that evening, not two (merge: [dm, reward, invite]); an @ in the group
    stays apart."""
    books = {
        "k.yaml": (
            "playbook: k\nrules:\n"
            "  - id: thank\n    when: {event: message}\n    do:\n      - reward: {points: 50, text: '{{ member.name }}，送你 50 积分'}\n"
            "  - id: invite\n    when: {event: message}\n    delay: 10m\n    do:\n      - invite: {group: g2, text: '{{ member.name }}，想邀请你加入种子群'}\n      - mention: '@{{ member.name }} 谢谢'\n"
        ),
    }
    community = COMMUNITY.replace("  channel: wechat\n", "  channel: wechat\n  merge: [dm, reward, invite]\n  groups:\n    - {id: g1}\n    - {id: g2}\n")
    result = plan(make_config(books, community), [msg("01T20:00:00", "m1", name="小王")])
    assert [(task.action, task.text) for task in result.tasks] == [("reward", "小王，送你 50 积分\n\n想邀请你加入种子群"), ("mention", "@小王 谢谢")]
    assert [(part["rule"], part["action"]) for part in result.tasks[0].parts] == [("k/thank", "reward"), ("k/invite", "invite")]
    assert result.tasks[0].params == {"points": 50, "group": "g2"}  # what the operator does: the invitation's group is not lost
    # …and where the operator reads what to do, that the message also invites (not only a reward)
    assert result.tasks[0].how.startswith("Give 小王 a reward (the same message also: invite): 小王，送你 50 积分")
    from playbook_engine.delivery import compose
    from playbook_engine.words import words_for

    (item,) = compose(result.evaluation.config, [result.tasks[0].record(result.evaluation.tz)], words_for("en").delivery)
    assert " (the same message also: invite): 小王，送你 50 积分" in item.text
    alone = plan(make_config(books), [msg("01T20:00:00", "m1", name="小王")])  # merge: [dm], the default
    assert [task.action for task in alone.tasks] == ["reward", "invite", "mention"]


def test_a_merged_message_carries_every_part_s_options():
    """Points add up, a second coupon or form is listed beside the first: the operator gives
    what the message says."""
    from playbook_engine.planner import _all_options

    def part(**params: object) -> dict[str, object]:
        return dict(params)

    assert _all_options([part(points=50), part(points=20, coupon="早鸟价"), part(form="https://f.example/1"), part(coupon="早鸟价"), part(coupon="满减券")]) == {
        "points": 70, "coupon": ["早鸟价", "满减券"], "form": "https://f.example/1",
    }


@pytest.mark.parametrize(("second", "text"), [
    ("{{ member.name }}，看到你的问题了", "小王，你好\n\n看到你的问题了"),
    ("{{ member.name }} 你好，我是运营", "小王，你好\n\n我是运营"),
    ("{{ member.name }}的问题我看到了", "小王，你好\n\n小王的问题我看到了"),  # the name is part of the sentence
    ("@{{ member.name }} 自我介绍很棒", "小王，你好\n\n自我介绍很棒"),  # an @'s opening
])
def test_a_merged_message_calls_its_member_by_name_once(make_config, second, text):
    """"大刘，…\n\n大刘，…" reads as two messages pasted together: the later parts go on without the name."""
    books = {
        "a.yaml": 'playbook: a\nrules:\n  - id: hi\n    when: {event: message}\n    do:\n      - dm: "{{ member.name }}，你好"\n',
        "b.yaml": f'playbook: b\nrules:\n  - id: ask\n    when: {{event: message}}\n    delay: 1h\n    do:\n      - dm: "{second}"\n',
    }
    result = plan(make_config(books), [msg("01T09:00:00", "m1", name="小王")])
    assert [task.text for task in result.tasks] == [text]


@pytest.mark.parametrize(("community", "events", "dms"), [
    (COMMUNITY + "  merge: []\n", [msg("01T09:00:00", "m1", text="请问")], 2),
    (COMMUNITY, [msg("01T09:00:00", "m1"), msg("02T09:00:00", "m1")], 2),  # two days
    (COMMUNITY, [msg("01T09:00:00", "m1"), msg("01T10:00:00", "m2")], 2),  # two members
    (COMMUNITY.replace("groups: [g1]}", "groups: [g1]}\n    - {id: op-sam, groups: [g2]}"), [msg("01T09:00:00", "m1"), msg("01T10:00:00", "m1", group="g2")], 2),  # two operators
])
def test_what_is_not_merged(make_config, community, events, dms):
    result = plan(make_config(TWO_DMS, community), events)
    assert sum(task.action == "dm" for task in result.tasks) == dms
    assert all(not task.parts for task in result.tasks)


def test_a_merged_message_takes_one_slot_of_capacity(make_config):
    community = COMMUNITY.replace("groups: [g1]}", "groups: [g1], capacity: 1}")
    result = plan(make_config(TWO_DMS, community.replace("op-lily, name: Lily, groups: [g1], capacity: 1", "op-lily, name: Lily, groups: [g1], capacity: 2")), [msg("01T09:00:00", "m1", text="请问")])
    # the merged dm and the mention: two slots, both today
    assert sorted(task_keys(result, "action", "due")) == [("dm", "2026-03-01T09:00:00+08:00"), ("mention", "2026-03-01T10:00:00+08:00")]


def test_merge_names_actions_that_exist(make_config):
    with pytest.raises(InvalidPlaybooks) as raised:
        make_config(TWO_DMS, COMMUNITY + "  merge: [dms]\n")
    assert "community.merge[0]: `dms` is not a valid value for `merge` — did you mean `dm`?" in str(raised.value)


def test_a_dm_triggered_after_the_days_message_was_due_is_not_put_in_it(make_config):
    """The morning's message cannot carry what happened in the afternoon: a DM triggered after it
    was due is no part of it. When its rule gives it more than a day, it waits for the same time
    of the next day and joins that day's message (review 17: an 08:00 "没看到你" and a 20:00
    early-bird coupon, two DMs to one member the same day); one that may not wait so long (an
    `event` rule's 24 hours: a reaction to what the member just did) goes out on its own, later
    that day. One triggered before it was due joins it."""
    late = {"c.yaml": 'playbook: c\nrules:\n  - id: thanks\n    when: {event: message, keywords: [谢谢]}\n    deadline: 2d\n    do:\n      - dm: "不客气～"\n'}
    asked = {"a.yaml": TWO_DMS["a.yaml"].replace("when: {event: message}", "when: {event: message, keywords: [请问]}")}
    config = make_config({**TWO_DMS, **asked, **late})
    events = [msg("01T09:00:00", "m1", name="小王", text="请问几点开始"), msg("01T09:30:00", "m1", text="谢谢"), msg("01T15:00:00", "m1", text="谢谢大家")]
    result = plan(config, events, explain=True)
    dms = sorted((task for task in result.tasks if task.action == "dm"), key=lambda task: task.due)
    # The 10:00 ask was triggered at 09:00: it joins the 09:00 message. The thanks of 09:30 and
    # 15:00 happened after 09:00: they wait for the next day, one message there.
    assert [(task.record(config.community.tz)["due"][5:16], [part["rule"] for part in task.parts] or [task.rule]) for task in dms] == [
        ("03-01T09:00", ["a/hi", "b/ask"]),
        ("03-02T09:30", ["c/thanks", "c/thanks"]),
    ]
    assert "one message a day (one to them that day already): moved from 2026-03-01 09:30 to 2026-03-02 09:30" in render_explanation(result, config.community.tz)
    assert result.planner.moved["one_a_day"] == 2
    # A rule that gives its tasks a day or less (the thanks within 24 hours, a/hi on every
    # message): second and third messages that afternoon.
    config = make_config({**TWO_DMS, **late, "c.yaml": late["c.yaml"].replace("deadline: 2d", "deadline: 24h")})
    dms = sorted((task for task in plan(config, events).tasks if task.action == "dm"), key=lambda task: task.due)
    assert [(task.record(config.community.tz)["due"][5:16], [part["rule"] for part in task.parts] or [task.rule]) for task in dms] == [
        ("03-01T09:00", ["a/hi", "b/ask"]),
        ("03-01T09:30", ["a/hi", "c/thanks"]),
        ("03-01T15:00", ["a/hi", "c/thanks"]),
    ]


FESTIVAL = {
    "survey.yaml": 'playbook: survey\nrules:\n  - id: ask\n    when: {event: message, keywords: [报名]}\n    do:\n      - dm: "{{ member.name }}，报名收到啦"\n',
    "greet.yaml": 'playbook: greet\nrules:\n  - id: mid-autumn\n    when: {holiday: 中秋节, at: "10:00", each: member}\n    do:\n      - dm: "{{ member.name }}，中秋节快乐！"\n',
    "board.yaml": 'playbook: board\nrules:\n  - id: thanks\n    when: {leaderboard: {metric: messages, window: 7d, top: 1, every: "0 20 * * *"}}\n    do:\n      - dm: "{{ member.name }}，今天你最活跃，谢谢！"\n',
}


def test_a_festival_greeting_goes_out_in_the_members_message_of_that_morning(make_config):
    """Review 9: 老何 got the activity survey at 08:00 and the 中秋 greeting at 12:10, two DMs
    on one day. A greeting depends on the date alone — the operator knew of the festival that
    morning — so it joins the member's message due earlier that day, and opens it (review 20:
    "中秋节快乐" after the business of the message read as an afterthought). A leaderboard's thanks
    at 20:00 is about the day's messages: it cannot be in the morning's message, and stays apart."""
    config = make_config(FESTIVAL)
    said = lambda ts, member, name, text: {"ts": f"2026-09-{ts}+08:00", "type": "message", "group": "g1", "member": member, "name": name, "text": text}  # noqa: E731
    events = [said("24T09:00:00", "m2", "阿珍", "早"), said("25T08:00:00", "m1", "老何", "我报名")]  # 中秋节: 2026-09-25
    until = datetime.fromisoformat("2026-09-25T23:00:00+08:00").timestamp()
    dms = sorted((task for task in plan(config, events, until=until).tasks if task.member == "m1"), key=lambda task: task.due)
    assert [(task.record(config.community.tz)["due"][11:16], [part["rule"] for part in task.parts] or [task.rule], task.text) for task in dms] == [
        ("08:00", ["survey/ask", "greet/mid-autumn"], "老何，中秋节快乐！\n\n报名收到啦"),
        ("20:00", ["thanks"], "老何，今天你最活跃，谢谢！"),
    ]


COUNT = "{{ member.name }}，你今天发了 {{ member.messages }} 条消息"
# Reads what a message changes, but says the same after one more.
BRANCH = "{{ member.name }}，{% if member.messages > 5 %}你今天发了不少消息{% else %}你今天发了 1 条消息{% endif %}"


@pytest.mark.parametrize(("text", "later", "messages"), [
    (COUNT, [], [("08:00", ["a/hi", "b/count"], "你今天发了 1 条消息")]),
    # It wrote again at 10:00: the 14:00 DM, checked then, counts 2 messages — not something
    # the 08:00 message could say. It goes out on its own, at its time.
    (COUNT, [msg("01T10:00:00", "m1", text="在吗")], [("08:00", ["hi"], "早～"), ("14:00", ["count"], "你今天发了 2 条消息")]),
    # The same text with the member as they were at 08:00: it joins the 08:00 message.
    (BRANCH, [msg("01T10:00:00", "m1", text="在吗")], [("08:00", ["a/hi", "b/count"], "你今天发了 1 条消息")]),
])
def test_a_part_that_knows_of_a_later_message_is_not_put_in_an_earlier_one(make_config, text, later, messages):
    """A DM due later than the day's first message, whose text reads what the member's messages
    change, goes in that message only if the member did not write between the two: else it would
    tell of what came after the message ("好久没在群里看到你啦" beside "谢谢你这阵子常在群里聊书")."""
    rules = {
        "a.yaml": 'playbook: a\nrules:\n  - id: hi\n    when: {event: message, keywords: [早]}\n    do:\n      - dm: "早～"\n',
        "b.yaml": f'playbook: b\nrules:\n  - id: count\n    when: {{event: message, keywords: [请问]}}\n    delay: 6h\n    do:\n      - dm: "{text}"\n',
    }
    config = make_config(rules)
    result = plan(config, [msg("01T08:00:00", "m1", name="小王", text="早，请问今天读哪本"), *later])
    dms = sorted((task for task in result.tasks if task.action == "dm"), key=lambda task: task.due)
    assert [(task.record(config.community.tz)["due"][11:16], [part["rule"] for part in task.parts] or [task.rule], task.text.splitlines()[-1][-11:]) for task in dms] == messages


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(10, 200))
def test_one_message_per_member_operator_and_day_unless_triggered_or_written_after_it(tmp_path_factory, seed, members):
    """On generated histories with the shipped playbooks: a member's second message of a day
    from one operator (of one action; in one group for an @mention) only carries what was
    triggered after the first was due; a message's parts are of its action and group."""
    config, result = shipped_run(tmp_path_factory.mktemp("pb"), seed, members)
    assert "mention" in config.community.merge_in_group
    of_the_day = {rule.key for rule in config.rules if rule.trigger.of_the_day}  # a festival's greeting: known before its day

    def about(part: Task) -> float:
        return float("-inf") if f"{part.playbook}/{part.rule}" in of_the_day else part.trigger_at

    days: dict[tuple[object, ...], list[object]] = {}
    for task in result.tasks:
        if task.action in config.community.merge:
            where = task.group if task.action in config.community.merge_in_group else None
            days.setdefault((task.member, task.channel, task.assignee, datetime.fromtimestamp(task.due, config.community.tz).date(), task.action, where), []).append(task)
    assert days
    for messages in days.values():
        messages.sort(key=lambda task: task.due)
        for earlier, later in zip(messages, messages[1:], strict=False):
            # triggered after the first was due, or checked after a message its member wrote then
            assert max(max(about(part) for part in later.merged or [later]), later.seen_message or 0) > earlier.due, (earlier.id, later.id)
        for message in messages:  # and no message carries what was triggered after it was due
            assert all(about(part) <= message.due for part in message.merged or [message]), message.id
            assert {(part.action, part.group if part.action in config.community.merge_in_group else None) for part in message.merged or [message]} == {(message.action, message.group if message.action in config.community.merge_in_group else None)}, message.id


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(10, 200))
@example(seed=6, members=62)  # m7's survey carried a DM on the 3rd, and a DM of the 5th followed
def test_a_merged_message_counts_under_each_of_its_parts_actions_for_the_limits(tmp_path_factory, seed, members):
    """On generated histories with the shipped playbooks (which merge DMs, rewards, invitations
    and surveys) and a tight DM limit: no member gets more tasks of a limit's kinds within its
    window than it allows, a message counted as each of its parts' actions."""
    config, result = shipped_run(tmp_path_factory.mktemp("pb"), seed, members, lambda text: text.replace("{actions: [dm], max: 2, per: 7d}", "{actions: [dm], max: 1, per: 3d}"))
    assert any(limit.actions == frozenset({"dm"}) and limit.max == 1 for limit in config.community.limits)
    exempt = result.planner._limit_exempt
    received: dict[str, list[tuple[float, set[str]]]] = {}
    for task in result.tasks:
        if task.member is not None:
            received.setdefault(task.member, []).append((task.due, {part["action"] for part in task.parts} or {task.action}))
    for member, messages in received.items():
        messages.sort(key=lambda message: message[0])
        for limit in config.community.limits:
            counted = [due for due, actions in messages if (actions & limit.actions if limit.actions is not None else actions - exempt)]
            for first, last in zip(counted, counted[limit.max :], strict=False):
                assert last - first >= limit.per, (member, sorted(limit.actions or ()), first, last)


NIGHT = {
    "welcome.yaml": 'playbook: welcome\nrules:\n  - id: welcome\n    when: {event: member_joined}\n    do:\n      - mention: "欢迎 @{{ member.name }} 加入{{ group.name }}！"\n      - dm: "{{ member.name }} 你好，欢迎！"\n',
    "intro.yaml": 'playbook: intro\nrules:\n  - id: reply\n    when: {event: message, keywords: [大家好]}\n    do:\n      - mention: "@{{ member.name }} 欢迎欢迎！"\n',
}
NIGHT_COMMUNITY = COMMUNITY.replace("groups: [g1]}", "groups: [g1, g2]}") + '  quiet_hours: "22:00-08:00"\n  merge: [dm, mention]\n'


def test_merged_mentions_stay_in_their_group_and_never_take_in_a_dm(make_config):
    """`merge: [dm, mention]`: a night joiner's welcome @ and the answer to her introduction, both
    held to 08:00, are one message in her group; her welcome DM is not in it (a DM's text is never
    posted in a group), and an @ in another group of the same operator is that group's message."""
    config = make_config(NIGHT, NIGHT_COMMUNITY)
    events = [
        joined("01T23:10:00", "m1"), msg("01T23:30:00", "m1", name="小夜", text="大家好，我是小夜"),
        joined("01T23:40:00", "m1", group="g2"),
    ]
    result = plan(config, events)
    local = {(task.action, task.group, task.record(config.community.tz)["due"][5:16], tuple(part["rule"] for part in task.parts)) for task in result.tasks}
    assert local == {
        ("mention", "g1", "03-02T08:00", ("welcome/welcome", "intro/reply")),
        ("mention", "g2", "03-02T08:00", ()),
        ("dm", "g1", "03-02T08:00", ("welcome/welcome", "welcome/welcome")),
    }
    (in_g1,) = [task for task in result.tasks if task.action == "mention" and task.group == "g1"]
    assert in_g1.text == "欢迎 @小夜 加入g1！\n\n@小夜 欢迎欢迎！"


def test_a_message_pace_lays_out_later_takes_in_what_was_triggered_by_then(make_config):
    """Eight night joiners' welcomes (an @ and a DM each) wait for 08:00 and are paced 10 minutes
    apart: 小八's @ goes out at 10:20. She introduced herself at 08:43: merge saw her @ due at
    08:00, before that, and kept the answer apart; where pace put the @ it had happened, so the
    answer goes out in it — one @, not a second one ten minutes later."""
    community = NIGHT_COMMUNITY.replace("groups: [g1, g2]}", "groups: [g1, g2], pace: 10m}")
    config = make_config(NIGHT, community)
    events = [{**joined(f"01T23:0{number}:00", f"m{number}"), "name": f"小{'一二三四五六七八'[number]}"} for number in range(8)]
    events.append(msg("02T08:43:00", "m7", name="小八", text="大家好，我是小八"))
    result = plan(config, events, explain=True)
    mentions = [task for task in result.tasks if task.member == "m7" and task.action == "mention"]
    assert [(task.record(config.community.tz)["due"][5:16], [part["rule"] for part in task.parts]) for task in mentions] == [("03-02T10:20", ["welcome/welcome", "intro/reply"])]
    assert mentions[0].text == "欢迎 @小八 加入g1！\n\n欢迎欢迎！"  # one @ in one message
    assert result.planner.suppressed_counts["merged"] >= 1
    # Triggered after the message's time, it stays apart: 小八 introduced herself at 10:25.
    events[-1] = msg("02T10:25:00", "m7", name="小八", text="大家好，我是小八")
    later = [task for task in plan(config, events).tasks if task.member == "m7" and task.action == "mention"]
    assert [(task.record(config.community.tz)["due"][11:16], len(task.parts)) for task in later] == [("10:20", 0), ("10:40", 0)]


LIMITED = {
    "p.yaml": """\
playbook: p
rules:
  - id: a
    when: {event: message, keywords: [早]}
    do: [{dm: 早上好}]
  - id: b
    when: {event: message, keywords: [早]}
    do: [{dm: 今天读什么？}]
  - id: c
    when: {event: message, keywords: [书]}
    do: [{dm: 推荐一本}]
""",
}


def test_a_merged_message_counts_once_for_the_members_limits(make_config, tmp_path):
    """Two DMs merged into one message on the 1st are one message to 小王: with at most 2 DMs in 7
    days she may get the one of the 3rd, and not the one of the 5th (before, the merged part
    counted on its own: the 3rd's was refused). The nightly runs agree, wherever cut."""
    config = make_config(LIMITED, COMMUNITY + "  limits:\n    - {actions: [dm], max: 2, per: 7d}\n")
    events = [msg("01T10:00:00", "m1", text="早"), msg("03T10:00:00", "m1", text="书"), msg("05T10:00:00", "m1", text="书"), msg("06T10:00:00", "m2")]
    result = plan(config, events, explain=True)
    assert task_keys(result, "rule", "due") == [("a", "2026-03-01T10:00:00+08:00"), ("c", "2026-03-03T10:00:00+08:00")]
    assert result.planner.suppressed_counts["limit"] == 1
    for cut in range(1, len(events)):
        assert held(config, [events[:cut], events[cut:]], tmp_path / f"cut{cut}.db") == sorted(task_keys(result, "id", "due", "text")), cut


def test_a_dm_merged_into_a_reward_counts_as_a_dm_for_the_dm_limit(make_config, tmp_path):
    """The thank-you reward of the 1st carries a DM (merge: [dm, reward]): 小王 got a private
    message with that DM's words in it. With at most one DM in 7 days, the DM of the 3rd is
    refused — before, the message counted as a reward only, and she got two DMs in two days.
    The nightly runs agree, wherever cut."""
    rules = {
        "p.yaml": """\
playbook: p
rules:
  - id: thank
    when: {event: message, keywords: [早]}
    do: [{reward: {points: 5, text: 送你 5 积分}}]
  - id: ask
    when: {event: message, keywords: [早]}
    delay: 10m
    do: [{dm: 今天读什么？}]
  - id: recommend
    when: {event: message, keywords: [书]}
    do: [{dm: 推荐一本}]
""",
    }
    config = make_config(rules, COMMUNITY + "  merge: [dm, reward]\n  limits:\n    - {actions: [dm], max: 1, per: 7d}\n")
    events = [msg("01T10:00:00", "m1", text="早"), msg("03T10:00:00", "m1", text="书"), msg("09T10:00:00", "m1", text="书"), msg("10T10:00:00", "m2")]
    result = plan(config, events, explain=True)
    assert task_keys(result, "rule", "due") == [("thank", "2026-03-01T10:00:00+08:00"), ("recommend", "2026-03-09T10:00:00+08:00")]
    assert [part["action"] for part in result.tasks[0].parts] == ["reward", "dm"]
    assert result.planner.suppressed_counts["limit"] == 1
    for cut in range(1, len(events)):
        assert held(config, [events[:cut], events[cut:]], tmp_path / f"cut{cut}.db") == sorted(task_keys(result, "id", "due", "text")), cut


def test_a_part_due_later_than_its_message_counts_under_its_action_in_the_next_runs_limits(make_config, tmp_path):
    """Fuzzing (seed 60506): the reward of m1's 问 (1 h later) goes out in the 10:00 DM. Its
    "merged" row in the state kept its own due, 11:00, while the next run finds a message's
    other actions by the message's due: that run saw a DM only, and with at most one reward in
    7 days let the reward of the 3rd join that day's DM. One run refuses it."""
    rules = {
        "p.yaml": """\
playbook: p
rules:
  - id: ask
    when: {event: message, keywords: [问]}
    do: [{dm: 问问}]
  - id: gift
    when: {event: message, keywords: [问]}
    delay: 1h
    do: [{reward: {points: 5, text: 送你积分}}]
""",
    }
    config = make_config(rules, COMMUNITY + "  merge: [dm, reward]\n  limits:\n    - {actions: [reward], max: 1, per: 7d}\n")
    first, later = [msg("01T10:00:00", "m1", text="问"), msg("02T09:00:00", "m9")], [msg("03T10:00:00", "m1", text="问")]
    result = plan(config, first + later)
    assert task_keys(result, "rule", "due", "text") == [("ask", "2026-03-01T10:00:00+08:00", "问问\n\n送你积分"), ("ask", "2026-03-03T10:00:00+08:00", "问问")]
    assert held(config, [first, later], tmp_path / "ops.db") == sorted(task_keys(result, "id", "due", "text"))


@pytest.mark.parametrize("operator", ["", ", capacity: 5", ", pace: 10m"])
def test_a_dm_that_would_join_a_message_within_the_dm_limit_of_another_is_dropped(make_config, tmp_path, operator):
    """小王 got a DM at 18:00 on the 1st; on the 2nd her 07:00 thank-you reward would carry the
    evening's DM (triggered at 07:00, due 21:00: one message a day). On its own at 21:00 the DM
    keeps the limit (27 hours after), but in the reward it is a DM 13 hours after the last one,
    past "one DM a day": dropped as `limit`, as pace drops a task it would move into a limit's
    window — before, the morning's message went out with it. The nightly runs agree."""
    rules = {
        "p.yaml": """\
playbook: p
rules:
  - id: recommend
    when: {event: message, keywords: [书]}
    do: [{dm: 推荐一本}]
  - id: thank
    when: {event: message, keywords: [早]}
    do: [{reward: {points: 5, text: 送你 5 积分}}]
  - id: ask
    when: {event: message, keywords: [早]}
    delay: 14h
    do: [{dm: 今天读什么？}]
""",
    }
    community = COMMUNITY.replace("groups: [g1]}", "groups: [g1]" + operator + "}")
    config = make_config(rules, community + "  merge: [dm, reward]\n  limits:\n    - {actions: [dm], max: 1, per: 1d}\n")
    events = [msg("01T18:00:00", "m1", text="书"), msg("02T07:00:00", "m1", text="早"), msg("04T10:00:00", "m2")]
    result = plan(config, events, explain=True)
    assert task_keys(result, "rule", "due") == [("recommend", "2026-03-01T18:00:00+08:00"), ("thank", "2026-03-02T07:00:00+08:00")]
    assert result.tasks[1].parts == []
    assert result.planner.suppressed_counts["limit"] == 1
    (dropped,) = [item for item in result.planner.suppressed if item.guardrail == "limit"]
    assert dropped.task.rule == "ask" and "2026-03-01 18:00" in str(dropped.reason)
    for cut in range(1, len(events)):
        assert held(config, [events[:cut], events[cut:]], tmp_path / f"cut{cut}.db") == sorted(task_keys(result, "id", "due", "text")), cut


def test_a_note_is_not_stale_by_its_own_dm_merged_into_another_message(make_config, tmp_path):
    """A rule's DM and its note to the operator ("已私信问 …，把回答记进档案"), when the note reads
    `member.last_contact_at`: the DM went out in the morning's greeting (another rule's
    message), and capacity moved the note to the next day. That message is the note's own DM,
    not another contact: the note still goes — in one run and in nightly runs alike."""
    rules = {
        "a.yaml": 'playbook: a\nrules:\n  - id: greet\n    when: {event: message, keywords: [早]}\n    priority: high\n    do: [{dm: "早～"}]\n',
        "b.yaml": """\
playbook: b
rules:
  - id: ask
    when: {event: message, keywords: [请问]}
    if: member.last_contact_at is none or (now - member.last_contact_at).days >= 14
    delay: 1h
    deadline: 2d
    do:
      - dm: 最近想读什么？
      - notify: 已私信问 {{ member.name }}，把回答记进档案
""",
    }
    config = make_config(rules, COMMUNITY.replace("groups: [g1]}", "groups: [g1], capacity: 1}"))
    events = [msg("01T09:00:00", "m1", name="小王", text="早，请问今天读哪本")]
    end = datetime.fromisoformat("2026-03-03T00:00:00+08:00").timestamp()
    whole = plan(config, events, until=end)
    assert [(task.record(config.community.tz)["due"][5:16], task.action, [part["rule"] for part in task.parts]) for task in whole.tasks] == [
        ("03-01T09:00", "dm", ["a/greet", "b/ask"]),
        ("03-02T10:00", "notify", []),
    ]
    nights: dict[str, tuple[object, ...]] = {}
    for piece, until in ((events, end - 86400), ([], end)):  # one run a night, the first ending at midnight
        store = StateStore.open(str(tmp_path / "ops.db"))
        result = plan(config, piece, state=store, until=until)
        result.save_state()
        store.close()
        for task_id in result.planner.taken_back():
            nights.pop(task_id, None)
        nights.update((key[0], key) for key in task_keys(result, "id", "due", "text"))
    assert sorted(nights.values()) == sorted(task_keys(whole, "id", "due", "text"))


def test_a_morning_list_names_a_second_private_message_to_the_same_member(make_config):
    """Review 13: 老李's list carried yesterday's VIP DM (planned after its time) and today's
    survey, back to back: different due days, so the plan keeps them apart. The list names the
    first beside the second, so the operator can write one message; an @ in the group and
    another member's DM are not named."""
    from datetime import date

    from playbook_engine.delivery import compose
    from playbook_engine.words import words_for

    config = make_config(TWO_DMS, COMMUNITY.replace("  channel: wechat\n", "  channel: wechat\n  language: zh-CN\n  merge: [dm, survey, mention]\n"))
    base = {"playbook": "a", "rule": "hi", "channel": "wechat", "group": "g1", "member_name": "老李", "assignee": "op-lily", "priority": "normal", "reason": "发言", "params": {}}
    records = [
        {**base, "id": "t-0000000001", "due": "2027-02-07T14:18:00+08:00", "action": "dm", "member": "m1", "text": "老李 你好"},
        {**base, "id": "t-0000000002", "due": "2027-02-08T08:00:00+08:00", "action": "survey", "member": "m1", "text": "填个问卷"},
        {**base, "id": "t-0000000003", "due": "2027-02-08T08:10:00+08:00", "action": "mention", "member": "m1", "text": "@老李 欢迎"},
        {**base, "id": "t-0000000004", "due": "2027-02-08T08:20:00+08:00", "action": "dm", "member": "m2", "member_name": "阿珍", "text": "阿珍 你好"},
    ]
    items = {item.id: item.why for item in compose(config, records, words_for("zh-CN").delivery, date(2027, 2, 8))}
    assert items["t-0000000002"] == "发言 · 这份清单里还有给 TA 的 t-0000000001：可以合成一条私信发"
    assert items["t-0000000001"] == items["t-0000000003"] == items["t-0000000004"] == "发言"


def test_a_second_message_waits_for_the_next_day_with_pace_and_in_nightly_runs_too(make_config, tmp_path):
    """With a `pace`, the day is laid out first (pace may take a later part into the first
    message where it moves that one to); a second message left that can wait goes to the next
    day. Nightly --state runs keep the plan of one run."""
    rules = {
        "a.yaml": 'playbook: a\nrules:\n  - id: coupon\n    when: {event: message, keywords: [买]}\n    deadline: 5d\n    do:\n      - dm: "{{ member.name }}，给你留了一张券"\n',
        "b.yaml": 'playbook: b\nrules:\n  - id: survey\n    when: {event: message, keywords: [问卷]}\n    deadline: 3d\n    do:\n      - dm: "{{ member.name }}，填个问卷吧"\n',
    }
    config = make_config(rules, COMMUNITY.replace("groups: [g1]}", "groups: [g1], pace: 10m}"))
    nights = [[msg("01T09:00:00", "m1", name="小王", text="问卷在哪"), msg("01T20:00:00", "m1", text="想买")], [msg("02T21:00:00", "m2", text="hi")]]
    result = plan(config, [item for night in nights for item in night])
    assert [(task.record(config.community.tz)["due"][5:16], [part["rule"] for part in task.parts] or [task.rule]) for task in result.tasks] == [
        ("03-01T09:00", ["survey"]),
        ("03-02T20:00", ["coupon"]),  # not a second DM at 20:00 on the 1st
    ]
    assert held(config, nights, tmp_path / "ops.db") == sorted(task_keys(result, "id", "due", "text"))


@pytest.mark.parametrize(
    ("nickname", "called"),
    [("上海-Amy", "Amy"), ("杭州－小王", "小王"), ("北京·陈晨", "陈晨"), ("深圳 - 好书优选", "好书优选"), ("小王", "小王"), ("Tom-Lee", "Tom-Lee"), ("上海-", "上海-"), ("老李|读书会", "老李|读书会")],
)
def test_a_private_message_calls_a_city_nickname_by_its_name(nickname, called):
    """Review 17: members renamed "城市-称呼" as the group rule asks were greeted "上海-Amy 你好" in
    every DM, like a mass mail. `member | call_name` gives the 称呼."""
    from playbook_engine.recheck import Identity
    from playbook_plugins.filters import call

    assert call(Identity("m1", nickname)) == called


def test_a_merged_message_says_the_same_words_once(make_config):
    """Fuzzing (review 21, c6262035): two playbooks' DMs of the same words (a stock line, "给 老朱
    的一点心意") on one day were one message saying it twice. It says it once; both parts are
    listed (ids, rules, reasons)."""
    rules = {
        "a.yaml": 'playbook: a\nrules:\n  - id: bye\n    when: {event: message, keywords: [走]}\n    do:\n      - dm: "给 {{ member.name }} 的一点心意"\n',
        "b.yaml": 'playbook: b\nrules:\n  - id: gift\n    when: {event: message, keywords: [走]}\n    do:\n      - dm: "给 {{ member.name }} 的一点心意"\n  - id: ask\n    when: {event: message, keywords: [走]}\n    do:\n      - dm: "方便说说原因吗？"\n',
    }
    result = plan(make_config(rules), [msg("01T09:00:00", "m1", name="老朱", text="我先走了")])
    assert [(task.text, [part["rule"] for part in task.parts]) for task in result.tasks] == [("给 老朱 的一点心意\n\n方便说说原因吗？", ["a/bye", "b/gift", "b/ask"])]


def test_a_merged_message_greets_a_city_nickname_once(make_config):
    """Two DMs that open with the 称呼 of "上海-Amy" are one message calling her Amy once."""
    rules = {
        "a.yaml": 'playbook: a\nrules:\n  - id: hi\n    when: {event: message}\n    do:\n      - dm: "{{ member | call_name }}，早上好"\n',
        "b.yaml": 'playbook: b\nrules:\n  - id: ask\n    when: {event: message}\n    do:\n      - dm: "{{ member | call_name }} 你好，想问问你最近在读什么？"\n',
    }
    result = plan(make_config(rules), [msg("01T09:00:00", "m1", name="上海-Amy", text="早")])
    assert [task.text for task in result.tasks] == ["Amy，早上好\n\n想问问你最近在读什么？"]


def test_a_note_about_a_member_that_pace_lays_out_takes_in_none_of_their_dms(make_config):
    """Fuzzing (review 18): with a pace, a note to the operator about a member ("看看 小王 的问题"),
    laid out after the member's two DMs of the day were triggered, took them in — a notify carrying
    a reward and an invitation, the DMs never sent as such. Only a message of a merged action
    takes others in."""
    rules = {
        "n.yaml": 'playbook: n\nrules:\n  - id: note\n    when: {event: message, keywords: [问]}\n    do:\n      - notify: "看看 {{ member.name }} 的问题"\n',
        "d.yaml": 'playbook: d\nrules:\n  - id: hi\n    when: {event: message, keywords: [好]}\n    do:\n      - dm: "你好"\n',
    }
    config = make_config(rules, COMMUNITY.replace("groups: [g1]}", "groups: [g1], pace: 10m}"))
    events = [msg(f"01T09:00:0{n}", f"m{n}", text="问") for n in (2, 3, 4)]
    events += [msg("01T09:01:00", "m1", name="小王", text="问"), msg("01T09:02:00", "m1", text="好"), msg("01T09:03:00", "m1", text="好")]
    result = plan(config, events)
    mine = [(task.action, [part["action"] for part in task.parts]) for task in result.tasks if task.member == "m1"]
    assert sorted(mine) == [("dm", ["dm", "dm"]), ("notify", [])]


def _festival_and_book(make_config: Any, first: str, ask_deadline: str, greet_deadline: str = "12h") -> Any:
    """小王's 3-day DM (or one of ``ask_deadline``) and the day's festival greeting (12 hours),
    one message due with the ``first`` of them; capacity 1, and 小李's urgent warning takes the day."""
    ask, greet = ("1m", "1h") if first == "ask" else ("1h", "1m")
    rules = {
        "a.yaml": f'playbook: a\nrules:\n  - id: ask\n    when: {{event: message, keywords: [书]}}\n    delay: {ask}\n    deadline: {ask_deadline}\n    do: [{{dm: "最近读什么？"}}]\n',
        "b.yaml": f'playbook: b\nrules:\n  - id: greet\n    when: {{event: message, keywords: [节日]}}\n    delay: {greet}\n    deadline: {greet_deadline}\n    do: [{{dm: "节日快乐"}}]\n',
        "c.yaml": 'playbook: c\nrules:\n  - id: warn\n    when: {event: message, keywords: [广告]}\n    priority: urgent\n    do: [{warn: "请勿发广告"}]\n',
    }
    return make_config(rules, COMMUNITY.replace("groups: [g1]}", "groups: [g1], capacity: 1}"))


FESTIVAL_DAY = [msg("01T09:00:00", "m2", name="小李", text="广告"), msg("01T10:00:00", "m1", name="小王", text="节日读书")]


def test_the_parts_of_a_merged_message_capacity_drops_are_dropped_with_it(make_config, tmp_path):
    """Capacity 1: 小李's urgent warning takes the day; 小王's message (the festival greeting merged
    into a DM of the day) cannot move to the next day: each part's deadline is past by then. Both
    parts are dropped, each said and counted as dropped with the message — none is left "merged
    into" a message that is never sent (nor recorded so in the state)."""
    config = _festival_and_book(make_config, "ask", "14h")
    result = plan(config, FESTIVAL_DAY, explain=True)
    assert task_keys(result, "member", "action") == [("m2", "warn")]
    counts = result.planner.suppressed_counts
    assert "merged" not in counts and counts["deadline"] == 2
    explained = render_explanation(result, config.community.tz)
    assert explained.count("dropped with the message it was merged into (t-") == 1  # the greeting; the message itself says its own
    assert "but        merged into" not in explained
    quiet = plan(config, FESTIVAL_DAY)  # without --explain: the same counts
    assert quiet.planner.suppressed_counts == counts
    store = StateStore.open(str(tmp_path / "ops.db"))
    saved = plan(config, FESTIVAL_DAY, state=store)
    saved.save_state()
    store.close()
    assert sqlite3.connect(tmp_path / "ops.db").execute("SELECT id, status FROM tasks WHERE member = 'm1'").fetchall() == []


@pytest.mark.parametrize("first", ["ask", "greet"])
def test_a_part_that_can_wait_goes_on_when_its_message_cannot(make_config, tmp_path, first):
    """The same day, 小王's DM may wait 3 days: the greeting cannot go on the 2nd, the DM does —
    whichever of them the message went out under (then at its own time of day, as if it had
    never been merged). It is not lost with the greeting (dropped past its own deadline, the
    only part counted), in one run or in nightly --state runs."""
    config = _festival_and_book(make_config, first, "3d")
    result = plan(config, FESTIVAL_DAY, explain=True)
    tz = config.community.tz
    assert [(task.member, task.rule, task.record(tz)["due"][5:16], task.text, task.parts) for task in result.tasks] == [
        ("m2", "warn", "03-01T09:00", "请勿发广告", []),
        ("m1", "ask", "03-02T10:01" if first == "ask" else "03-02T11:00", "最近读什么？", []),
    ]
    assert [(item.task.rule, item.guardrail) for item in result.suppressed] == [("greet", "deadline")]
    (reason,) = [item.reason for item in result.suppressed]
    assert reason.startswith("deadline: capacity of Lily on 2026-03-01 full (1 a day); moved to 2026-03-02 ")
    assert dict(result.planner.suppressed_counts) == {"deadline": 1}
    assert plan(config, FESTIVAL_DAY).planner.suppressed_counts == result.planner.suppressed_counts
    assert result.planner.full_past_deadline == 1
    later = [msg("02T20:00:00", "m2", text="晚上好")]
    whole = plan(config, FESTIVAL_DAY + later)
    assert held(config, [FESTIVAL_DAY, later], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))
    (deadline,) = sqlite3.connect(tmp_path / "ops.db").execute("SELECT deadline FROM tasks WHERE member = 'm1'").fetchone()
    assert deadline == datetime.fromisoformat("2026-03-04T10:00:00+08:00").timestamp()  # the DM's own: 3 days from her message


@pytest.mark.parametrize("first", ["ask", "greet"])
def test_a_message_carried_into_a_later_run_keeps_its_parts_own_deadlines(make_config, tmp_path, first):
    """The greeting may wait 30 hours; 小李 and then 小张 take the operator's one slot on the 1st
    and the 2nd. The message moves to the 2nd, then cannot move to the 3rd with the greeting: the
    DM goes on alone — also when the run that carried it ended on the 2nd, and the next night's
    run settles that day again (the message's own deadline kept with it, not its earliest part's)."""
    config = _festival_and_book(make_config, first, "3d", "30h")
    first_night = [*FESTIVAL_DAY, msg("02T09:00:00", "m3", name="小张", text="广告")]
    later = [msg("03T20:00:00", "m2", text="晚上好")]
    whole = plan(config, first_night + later)
    tz = config.community.tz
    assert [(task.member, task.rule, task.record(tz)["due"][5:16], task.parts) for task in whole.tasks] == [
        ("m2", "warn", "03-01T09:00", []),
        ("m3", "warn", "03-02T09:00", []),
        ("m1", "ask", "03-03T10:01", []),
    ]
    assert dict(whole.planner.suppressed_counts) == {"deadline": 1}
    assert held(config, [first_night, later], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_message_merged_into_a_later_one_brings_its_parts_own_deadlines(make_config, tmp_path):
    """小王's DMs of three days, each moved on by 小李's urgent warnings (capacity 1): the first
    (2 days to go) goes out with the second, which is earlier in its day, and that message with
    the third. Moved to the 4th, only the first is past its deadline: the second, a message
    until it was merged into the third, goes on with its own deadline, not the first's."""
    rules = {
        "a.yaml": 'playbook: a\nrules:\n  - id: ask\n    when: {event: message, keywords: [书]}\n    deadline: 2d\n    do: [{dm: "最近读什么？"}]\n',
        "c.yaml": 'playbook: c\nrules:\n  - id: warn\n    when: {event: message, keywords: [广告]}\n    priority: urgent\n    do: [{warn: "请勿发广告"}]\n',
    }
    config = make_config(rules, COMMUNITY.replace("groups: [g1]}", "groups: [g1], capacity: 1}"))
    days = [
        [msg("01T08:00:00", "m2", name="小李", text="广告"), msg("01T20:00:00", "m1", name="小王", text="书1")],
        [msg("02T08:00:00", "m2", name="小李", text="广告"), msg("02T15:00:00", "m1", name="小王", text="书2")],
        [msg("03T08:00:00", "m2", name="小李", text="广告"), msg("03T10:00:00", "m1", name="小王", text="书3")],
        [msg("05T09:00:00", "m2", name="小李", text="晚上好")],
    ]
    history = [event for day in days for event in day]
    result = plan(config, history, explain=True)
    tz = config.community.tz
    (message,) = [task for task in result.tasks if task.member == "m1"]
    assert message.record(tz)["due"][5:16] == "03-04T10:00"
    assert [part["reason"][16:21] for part in message.parts] == ["03-03", "03-02"]  # the third, carrying the second
    assert [(item.task.trigger_at, item.guardrail) for item in result.suppressed if item.guardrail != "merged"] == [(datetime.fromisoformat("2026-03-01T20:00:00+08:00").timestamp(), "deadline")]
    assert held(config, days, tmp_path / "ops.db") == sorted(task_keys(result, "id", "due", "text"))


CARRIED = {
    "t.yaml": """\
playbook: t
rules:
  - id: a
    when: {event: message, keywords: [早鸟]}
    delay: %s
    deadline: 5d
    do:
      - dm: "A：早鸟名额给你留着"
  - id: b
    when: {silence: 20h}
    if: "'vip' in member.tags"
    delay: 4h
    deadline: 2d
    do:
      - dm: "B：好久没见你说话"
  - id: c
    when: {event: message, keywords: [急]}
    priority: high
    do:
      - notify: "C：有人着急"
""",
}
CARRIED_EVENTS = [
    {"ts": "2026-03-10T09:00:00+08:00", "type": "profile", "member": "m1", "tags": ["vip"]},
    msg("10T10:00:00", "m1", name="小王", text="早鸟"),
    msg("11T08:00:00", "m2", text="急"),
    msg("12T09:00:00", "m1", text="早上好"),
    msg("13T12:00:00", "m2", text="晚上好"),
]


@pytest.mark.parametrize("delay, carrier", [("1d", "a"), ("25h", "b")])
def test_a_part_of_a_message_capacity_carried_is_checked_again_when_it_is_due(make_config, delay, carrier):
    """Fuzzing (review 19, G3): 小王's early-bird DM and her silence DM are one message on the
    11th; the operator's one slot goes to an urgent note, the message moves to the 12th, 10:00 —
    and 小王 wrote at 09:00. "好久没见你说话" does not go out an hour after she wrote: the silence
    part is dropped as stale, whichever part carried the message; the early-bird DM goes on."""
    config = make_config({"t.yaml": CARRIED["t.yaml"] % delay}, COMMUNITY.replace("groups: [g1]}", "groups: [g1], capacity: 1}"))
    result = plan(config, CARRIED_EVENTS, explain=True)
    mine = [task for task in result.tasks if task.member == "m1"]
    assert [(task.rule, task.record(config.community.tz)["due"][5:16], task.text, task.parts) for task in mine[:1]] == [("a", "03-12T10:00", "A：早鸟名额给你留着", [])]
    assert [(item.task.rule, item.guardrail, item.reason) for item in result.suppressed if item.task.member == "m1"] == [("b", "stale", "stale: 小王 wrote at 2026-03-12 09:00")]
    assert "merged" not in result.planner.suppressed_counts
    assert plan(config, CARRIED_EVENTS).planner.suppressed_counts == result.planner.suppressed_counts


def test_a_message_whose_part_went_stale_keeps_its_own_deadline(make_config, tmp_path):
    """Fuzzing (review 19, G4): 小王's early-bird DM (deadline 5 days) and her silence DM (2 days)
    are one message, due 10:00 on the 11th; pace moves it to 11:00, she wrote at 10:30, the silence
    DM leaves it as stale. The early-bird DM goes alone, with its own deadline — the state (and
    `tasks list`, which says "late" past it) no longer holds the stale part's."""
    config = make_config({"t.yaml": CARRIED["t.yaml"] % "1d"}, COMMUNITY.replace("groups: [g1]}", "groups: [g1], capacity: 5, pace: 1h}"))
    events = [CARRIED_EVENTS[0], CARRIED_EVENTS[1], msg("11T10:00:00", "m2", text="急"), msg("11T10:30:00", "m1", text="早上好"), msg("12T12:00:00", "m2")]
    store = StateStore.open(str(tmp_path / "ops.db"))
    result = plan(config, events, state=store, explain=True)
    result.save_state()
    store.close()
    task, later = [task for task in result.tasks if task.member == "m1"]
    assert (task.rule, task.record(config.community.tz)["due"][5:16], task.parts) == ("a", "03-11T11:00", [])
    assert (later.rule, later.record(config.community.tz)["due"][5:16]) == ("b", "03-12T10:30")  # her next silence
    assert [(item.task.rule, item.guardrail) for item in result.suppressed if item.task.member == "m1"] == [("b", "stale")]
    (deadline,) = sqlite3.connect(tmp_path / "ops.db").execute("SELECT deadline FROM tasks WHERE id = ?", (task.id,)).fetchone()
    assert deadline == datetime.fromisoformat("2026-03-15T10:00:00+08:00").timestamp()


def test_a_message_that_welcomed_its_member_does_not_welcome_them_again():
    """Review 20 W2: "欢迎 @高涛 加入读书会2群！🎉…" then "欢迎～麻烦把群昵称改成…" in one @: the
    second part goes on without its name and without a second 欢迎; a part that does not open with
    the name, or a message that did not welcome, keeps its words."""
    from playbook_engine.planner import _greeted_once

    welcome, nickname = "欢迎 @高涛 加入读书会2群！🎉 大家可以先看看群公告", "@高涛 欢迎～麻烦把群昵称改成「城市-称呼」"
    assert _greeted_once([welcome, nickname], "高涛") == [welcome, "麻烦把群昵称改成「城市-称呼」"]
    assert _greeted_once(["高涛，中秋节快乐！", nickname], "高涛") == ["高涛，中秋节快乐！", "欢迎～麻烦把群昵称改成「城市-称呼」"]
    assert _greeted_once([welcome, "群里欢迎～大家都在"], "高涛") == [welcome, "群里欢迎～大家都在"]


def test_a_firings_note_stays_while_its_reward_goes_out_merged_into_the_days_dm(make_config):
    """Fuzzing (seed 85968): 小李 leaves; one rule DMs her, another rewards her, notes it for the
    operator and posts in the group. The reward goes out in the DM (one message a day); Lily's
    capacity of two drops the post. The note went with the post, as if nothing of its firing
    were still planned for her — but the reward is, in the message."""
    rules = {"p.yaml": """\
playbook: p
rules:
  - id: bye
    when: {event: member_left}
    do: [{dm: 好久不见}]
  - id: points
    when: {event: member_left}
    do:
      - reward: {points: 10, text: 送你 10 积分}
      - notify: 小李的积分记一下
      - post: 有人退群了
"""}
    community = COMMUNITY.replace("groups: [g1]}", "groups: [g1], capacity: 2, pace: 30m}") + "  merge: [dm, reward]\n  max_delay: 12h\n"
    config = make_config(rules, community)
    leaves = {"ts": "2026-03-12T17:30:00+08:00", "type": "member_left", "group": "g1", "member": "m12", "name": "小李", "reason": "left"}
    result = plan(config, [leaves, msg("13T15:15:00", "m9")], explain=True)
    assert task_keys(result, "action", "due", "text") == [("dm", "2026-03-12T17:30:00+08:00", "好久不见\n\n送你 10 积分"), ("notify", "2026-03-12T18:00:00+08:00", "小李的积分记一下")]
    assert [(item.task.action, item.guardrail) for item in result.suppressed] == [("reward", "merged"), ("post", "capacity")]


def test_a_firings_note_goes_with_its_message_and_the_part_merged_into_it(make_config):
    """Fuzzing (seed 143923): an activity ends; each member who did not take part gets a DM and
    a reward (one message) and the operator a note. Lily's capacity carries 小王's to the next
    day, where pace lists the message ten minutes after the note — past its deadline: dropped,
    with the reward in it. The note stayed: the reward merged into that very message was taken
    for a task of its firing still going out."""
    rules = {"p.yaml": """\
playbook: p
rules:
  - id: missed
    when:
      activity_ended: {participated: false}
    do:
      - notify: "看一下 {{ member.name }}"
      - dm: 下次一起来
      - reward: {points: 10, text: 送你 10 积分}
"""}
    community = COMMUNITY.replace("groups: [g1]}", "groups: [g1], capacity: 4, pace: 10m}") + "  merge: [dm, reward]\n"
    config = make_config(rules, community)
    history = [msg("01T07:10:00", "m1", name="小李"), msg("01T07:20:00", "m2", name="小张"), msg("01T07:59:00", "m3", name="小王"),
               {"ts": "2026-03-01T16:39:00+08:00", "type": "activity_ended", "group": "g1", "activity": "a1", "participants": ["m9"]}, msg("02T20:00:00", "m9")]
    result = plan(config, history, explain=True)
    assert [(task.member, task.action) for task in result.tasks if task.member == "m3"] == []
    assert sorted((item.task.action, item.guardrail) for item in result.suppressed if item.task.member == "m3") == [("dm", "deadline"), ("notify", "deadline"), ("reward", "deadline")]


def test_a_message_found_stale_in_a_later_run_lets_its_parts_cooldown_go(make_config, tmp_path):
    """Fuzzing (seed 150779): capacity carries 小李's silence message (a DM with the survey merged
    into it) to the 3rd, past the night's run; the next run finds it stale (she writes at 08:00)
    and she goes quiet again. Her next nudge, within the rule's 3-day cooldown of the first, is
    planned (on the 5th: 小张's takes the 4th's one slot): the message was never sent, so neither
    it nor its survey holds the cooldown. The survey's row stayed `merged`, and a run after the
    3rd was settled refused the nudge for the cooldown."""
    rule = 'playbook: p\nrules:\n  - id: quiet\n    when: {silence: 1d}\n    cooldown: 3d\n    do:\n      - dm: "好久不见"\n      - survey: {form: "https://wj.qq.com/s2/1", text: "{{ member.name }}，说说近况"}\n'
    config = make_config({"p.yaml": rule}, COMMUNITY.replace("groups: [g1]}", "groups: [g1], capacity: 1}") + "  merge: [dm, survey]\n")
    nights = [
        [msg("01T09:00:00", "m1", name="小王"), msg("01T10:00:00", "m2", name="小李"), msg("03T00:30:00", "m3", name="小张")],
        [msg("03T08:00:00", "m2")],
        [msg("04T01:00:00", "m4")],  # the 3rd is settled: the message is not reopened again
        [msg("05T20:00:00", "m5")],
    ]
    whole = plan(config, [item for night in nights for item in night])
    assert [task.record(config.community.tz)["due"][5:16] for task in whole.tasks if task.member == "m2"] == ["03-05T08:00"]
    assert held(config, nights, tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))
