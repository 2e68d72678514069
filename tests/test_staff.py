"""Staff are not members: `community.staff` and operators' `member` accounts are never the member
of a task nor ranked in a leaderboard, and not counted in the members by stage; their messages
still answer questions and count as group activity."""

from __future__ import annotations

import io
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from playbook_engine.contract import Firing, Run, TriggerType
from playbook_engine.errors import InvalidPlaybooks
from playbook_engine.events import parse_time
from playbook_engine.model import Config
from playbook_engine.output import render_explanation, render_summary
from playbook_engine.triggers.ranking import LeaderboardTrigger
from playbook_engine.triggers.silence import UnansweredTrigger
from tests.conftest import ROOT, config_from, plan, task_keys
from tests.test_triggers import END, joined, msg, playbook

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
    events += [msg("01T16:00:00", "a"), msg("01T16:01:00", "a"), msg("01T16:01:30", "a"), msg("01T16:02:00", "b"), msg("01T16:02:30", "b"), msg("01T16:03:00", "c")]
    events.sort(key=lambda event: event["ts"])
    result = plan(config, events, until=1772366401.0)
    assert task_keys(result, "member", "text") == [("a", "第1名"), ("b", "第2名")]
    assert result.counts["staff"] == 0  # not ranked at all, rather than ranked and skipped


def test_a_group_leaderboard_lists_no_staff(make_config):
    when = '{leaderboard: {metric: messages, top: 3, every: "0 20 * * *"}, each: group}'
    do = '- post: "{% for item in trigger.top %}{{ item.rank }}.{{ item.member }} {% endfor %}"'
    config = make_config(playbook(when, do=do), STAFF_COMMUNITY)
    events = [msg("01T10:00:00", "s1"), msg("01T10:01:00", "s1"), msg("01T10:02:00", "a"), msg("01T10:02:30", "a"), msg("01T10:03:00", "s2"), msg("01T10:04:00", "b")]
    assert task_keys(plan(config, events, until=1772366401.0), "text") == [("1.a 2.b",)]


# -- no task about staff --------------------------------------------------------------------------

# Every member does the same things: whatever fires for m1 would fire for the staff too.
PEOPLE = ("m1", "s1", "s2")


def everyone_does(*steps) -> list[dict]:
    return [event for step in steps for event in (step(member) for member in PEOPLE)]


def _joined(member: str) -> dict:
    return joined("01T09:00:00", member)


def _hello(member: str) -> dict:
    return msg("01T10:00:00", member, id=f"hello-{member}")


def _asks(member: str) -> dict:
    return msg("01T11:00:00", member, text="请问怎么报名？", id=f"ask-{member}")


def _again(member: str) -> dict:
    return msg("01T12:00:00", member, id=f"again-{member}")


def _takes_part(member: str) -> dict:
    return {"ts": "2026-03-02T10:00:00+08:00", "type": "activity_joined", "group": "g1", "member": member, "activity": "a1"}


ACTIVITY_ENDED = {"ts": "2026-03-02T12:00:00+08:00", "type": "activity_ended", "group": "g1", "activity": "a1", "participants": list(PEOPLE)}
HISTORY = [*everyone_does(_joined, _hello, _asks, _again, _takes_part), ACTIVITY_ENDED]

TRIGGERS = {
    "join": "{event: member_joined}",
    "message": "{event: message}",
    "after_join": "{after_join: 1d}",
    "silence": "{silence: 1d}",
    "unanswered": "{unanswered: 30m}",
    "milestone": "{milestone: {metric: messages, at: [2]}}",
    "stage": "{stage: newbie}",
    "becomes": '{becomes: "member.messages >= 3"}',
    "schedule each member": '{schedule: "0 20 * * *", each: member}',
    "holiday each member": '{holiday: 妇女节, each: member}',
    "activity_ended": "{activity_ended: {participated: true}}",
    "leaderboard": '{leaderboard: {metric: messages, top: 3, every: "0 20 * * *"}}',
}


@pytest.mark.parametrize("when", TRIGGERS.values(), ids=list(TRIGGERS))
def test_no_trigger_makes_a_task_about_staff(make_config, when):
    config = make_config(playbook(when), STAFF_COMMUNITY)
    result = plan(config, HISTORY, until=1772985600.0)  # 2026-03-09 00:00: the 妇女节 has passed
    assert {member for member, in task_keys(result, "member")} == {"m1"}
    # Skipped as they fired; a leaderboard does not rank them in the first place.
    assert (result.counts["staff"] > 0) == ("leaderboard" not in when)


def test_a_task_for_each_member_mentioned_leaves_out_the_staff(make_config):
    do = '- dm: {text: "{{ member.name }}", target: mentioned}'
    config = make_config(playbook("{event: message}", do=do), STAFF_COMMUNITY)
    result = plan(config, [msg("01T10:00:00", "m1", mentions=["s1", "m2", "s2"])])
    assert task_keys(result, "member") == [("m2",)]


def test_group_firings_still_happen_and_count_the_staffs_messages(make_config):
    rule = playbook('{schedule: "0 20 * * *"}', extra="    if: group.messages >= 2\n", do='- post: "{{ group.messages }}"')
    config = make_config(rule, STAFF_COMMUNITY)
    result = plan(config, [msg("01T10:00:00", "s1"), msg("01T11:00:00", "s2")], until=1772366401.0)  # just after 03-01 20:00
    assert task_keys(result, "member", "action", "text") == [(None, "post", "2")]


@pytest.mark.parametrize("staff", ["s1", "s2"])
@pytest.mark.parametrize("answer", [{"reply_to": "q1"}, {"mentions": ["m1"]}], ids=["reply", "mention"])
def test_a_staff_reply_or_mention_answers_a_question(make_config, staff, answer):
    config = make_config(playbook("{unanswered: 30m}"), STAFF_COMMUNITY)
    question = msg("01T10:00:00", "m1", text="请问怎么报名？", id="q1")
    assert task_keys(plan(config, [question], until=END), "member") == [("m1",)]
    assert task_keys(plan(config, [question, msg("01T10:10:00", staff, text="看群公告", **answer)], until=END), "member") == []


def test_the_summary_counts_the_firings_about_staff_skipped(make_config):
    config = make_config(playbook("{event: message}"), STAFF_COMMUNITY)
    result = plan(config, [msg("01T10:00:00", "m1"), msg("01T10:01:00", "s1"), msg("01T10:02:00", "s2")], until=END)
    assert render_summary(result, config.community).splitlines()[0].endswith(" · 2 firing(s) about staff skipped")


def test_explain_says_why_staff_got_no_task_and_the_plan_is_the_same(make_config):
    config = make_config(playbook("{event: message}"), STAFF_COMMUNITY)
    events = [msg("01T10:00:00", "m1"), msg("01T10:01:00", "s1", name="群主")]
    explained, plain = plan(config, events, explain=True), plan(config, events)
    timeline = render_explanation(explained, config.community.tz, "s1").splitlines()
    assert "2026-03-01 10:01  not        p/r → 群主 (s1): staff (community.yaml `staff:` or an operator's `member:`): never the member of a task" in timeline
    assert task_keys(explained, "id") == task_keys(plain, "id") and explained.counts["staff"] == plain.counts["staff"] == 1


def test_the_same_plan_with_an_empty_staff_list_as_without_one(make_config):
    events = HISTORY
    without = task_keys(plan(make_config(playbook("{event: message}")), events), "id", "member")
    with_empty = task_keys(plan(make_config(playbook("{event: message}"), STAFF_COMMUNITY.replace("[s1]", "[]").replace(", member: s2", "")), events), "id", "member")
    # A DM for each of three members' three messages: each triggered after the one before was
    # due, so not merged into it (merge: [dm] joins only what had happened by the message's time).
    assert without == with_empty and len(without) == 9


# -- members by stage -----------------------------------------------------------------------------


def test_the_members_by_stage_leave_out_the_staff(make_config):
    config = make_config(playbook("{event: message}"), STAFF_COMMUNITY)
    result = plan(config, [msg("01T10:00:00", "m1"), msg("01T10:01:00", "s1"), msg("01T10:02:00", "s2")], until=END)
    assert result.evaluation.members["s1"].stage == "churn"  # staff may have a stage: it is not counted
    assert render_summary(result, config.community).splitlines()[1] == "  members by stage: 流失期 1"


# -- over any history -----------------------------------------------------------------------------

PROPERTY_COMMUNITY = """\
community:
  name: 读书会
  timezone: Asia/Shanghai
  channel: wechat
  staff: [s1]
  operators:
    - {id: op-lily, name: Lily, groups: [g1], capacity: 40, member: s2}
  quiet_hours: "22:00-08:00"
  limits:
    - {actions: [dm], max: 2, per: 7d}
"""
STAFF = frozenset({"s1", "s2"})
TZ = ZoneInfo("Asia/Shanghai")
ACTORS = ("m1", "m2", "m3", "s1", "s2")
DAY = 86400
START = 1772326800.0  # 2026-03-01T09:00:00+08:00: 元宵节 and 妇女节 fall in the first week
gaps = st.sampled_from([0, 60, 600, 1800, 3600, DAY, 3 * DAY, 8 * DAY]) | st.integers(0, 4 * DAY)
kinds = st.sampled_from(["message", "message", "question", "question", "reply", "mention", "insult", "member_joined", "member_left", "activity", "vip"])
history_steps = st.lists(st.tuples(gaps, st.sampled_from(ACTORS), kinds, st.sampled_from(ACTORS)), min_size=1, max_size=30)


def history_from(drawn: list[tuple[int, str, str, str]]) -> list[dict]:
    """Events from drawn (gap, actor, kind, other) steps: messages, questions, replies to the
    other's last message, mentions of the other, insults, joins, leaves, activities, profiles."""
    events: list[dict] = []
    last_message: dict[str, str] = {}
    t = START
    for number, (gap, actor, kind, other) in enumerate(drawn):
        t += gap
        base = {"ts": t, "group": "g1", "member": actor, "name": actor.upper()}
        if kind in ("member_joined", "member_left"):
            events.append({**base, "type": kind})
            continue
        if kind == "activity":
            events += [{"ts": t, "type": "activity_started", "group": "g1", "activity": f"a{number}"}, {**base, "type": "activity_joined", "activity": f"a{number}"},
                       {"ts": t, "type": "activity_ended", "group": "g1", "activity": f"a{number}", "participants": [actor]}]
            continue
        if kind == "vip":
            events.append({"ts": t, "type": "profile", "member": actor, "tags": ["vip"]})
            continue
        message = {**base, "type": "message", "id": f"x{number}", "text": {"question": "请问怎么报名？", "insult": "你有病吧"}.get(kind, "收到")}
        if kind == "reply" and other in last_message:
            message["reply_to"] = last_message[other]
        if kind in ("mention", "insult"):
            message["mentions"] = [other]
        last_message[actor] = message["id"]
        events.append(message)
    return events


SHIPPED_PLAYBOOKS = {path.name: path.read_text(encoding="utf-8") for path in sorted((ROOT / "playbooks").glob("*.yaml")) if path.name != "community.yaml"}
SHIPPED_WITH_STAFF = config_from(SHIPPED_PLAYBOOKS, PROPERTY_COMMUNITY)


@settings(max_examples=60, deadline=None)
@given(drawn=history_steps, tail=st.integers(0, 20 * DAY))
@example(drawn=[(0, "m1", "question", "m1"), (600, "s1", "reply", "m1"), (60, "m2", "question", "m1"), (60, "s2", "mention", "m2")], tail=DAY)  # staff answer
@example(drawn=[(0, "s1", "message", "m1"), (60, "s1", "message", "m1"), (60, "s2", "message", "m1"), (60, "m1", "message", "m1"), (DAY, "s1", "message", "m1")], tail=20 * DAY)  # staff top of every board
@example(drawn=[(0, "s1", "member_joined", "m1"), (60, "m1", "insult", "s2"), (60, "s2", "insult", "m1"), (60, "s1", "activity", "m1")], tail=9 * DAY)
def test_no_task_is_about_staff_none_ranks_them_and_their_answers_count(drawn, tail):
    events = history_from(drawn)
    _check_staff_rules(SHIPPED_WITH_STAFF, events, STAFF, until=events[-1]["ts"] + tail)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), busiest=st.integers(1, 4))
def test_the_busiest_members_of_a_generated_community_as_staff(seed, busiest):
    """The benchmark's community (KOLs, lurkers, questions and replies, activities), its
    busiest members made staff: the ones every leaderboard and fan-out would pick first."""
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import Options, write

    stream = io.StringIO()
    write(Options(events=1_500, members=150, groups=2, days=20, seed=seed), stream)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    for event in events:
        event["ts"] = parse_time(event["ts"], TZ)  # epoch seconds, compared with firings' instants
    talk = Counter(event["member"] for event in events if event["type"] == "message")
    staff = [member for member, _ in talk.most_common(busiest)]
    community = PROPERTY_COMMUNITY.replace("staff: [s1]", f"staff: [{', '.join(staff[1:])}]").replace("member: s2", f"member: {staff[0]}")
    config = config_from(SHIPPED_PLAYBOOKS, community)
    assert config.community.staff == frozenset(staff)
    _check_staff_rules(config, events, frozenset(staff), until=events[-1]["ts"] + 20 * DAY)


def _check_staff_rules(config: Config, events: list[dict], staff: frozenset[str], until: float) -> None:
    """No task about staff; no leaderboard firing ranks them; no question they answered in
    time is reported unanswered; their messages count for their group."""
    ranked: list[Firing] = []
    unanswered: list[Firing] = []
    with pytest.MonkeyPatch.context() as patch:
        for kind, seen in ((LeaderboardTrigger, ranked), (UnansweredTrigger, unanswered)):
            patch.setattr(kind, "on_timer", _recording(kind.on_timer, seen))
        result = plan(config, events, until=until)
    assert not [task for task in result.tasks if task.member in staff]
    for firing in ranked:
        assert firing.member is None or firing.member.id not in staff
        assert not [item for item in firing.values["top"] if item["member"] in staff]
    position = {event["id"]: index for index, event in enumerate(events) if event.get("id")}
    for firing in unanswered:
        question = firing.event
        assert question is not None and question.id is not None
        later = events[position[question.id] + 1:]
        answers = [event for event in later if event["ts"] <= firing.t and _answers(event, question.member, question.id, question.group)]
        assert not [event for event in answers if event["member"] in staff], f"{question.id} was answered by staff, yet reported unanswered"
    messages = Counter(event["group"] for event in events if event["type"] == "message")
    assert {group.id: group.messages for group in result.evaluation.groups.values() if group.messages} == dict(messages)  # staff's count too


def _answers(event: dict, asker: str | None, question: str | None, group: str | None) -> bool:
    """Whether ``event`` is a message answering ``question`` of ``asker``: a reply to it, or a
    mention of the asker by another in the question's group."""
    if event["type"] != "message" or event["member"] == asker:
        return False
    return event.get("reply_to") == question or (asker in event.get("mentions", ()) and event.get("group") == group)


def _recording(on_timer: Callable[..., Iterable[Firing]], seen: list[Firing]) -> Callable[..., list[Firing]]:
    def recorded(self: TriggerType, run: Run, subject: str, payload: Any) -> list[Firing]:
        firings = list(on_timer(self, run, subject, payload))
        seen.extend(firings)
        return firings

    return recorded
