"""A task is checked again when it is due: dropped as `stale` if it no longer holds then, and its
text written with the values of then, only for the tasks that are kept (engine/recheck.py)."""

from __future__ import annotations

import json
import sqlite3

from hypothesis import example, given, settings
from hypothesis import strategies as st

from playbook_engine.output import render_explanation
from playbook_engine.runner import run
from playbook_engine.state import StateStore
from tests.conftest import config_from, plan, records, task_keys
from tests.test_daily_texts import held
from tests.test_guardrails import community
from tests.test_triggers import joined, left, msg

QUIET = community('  quiet_hours: "22:00-08:00"\n')


def rule(when: str, options: str = "", action: str = "dm", text: str = "hi {{ member.name }}", rule_id: str = "r") -> str:
    return f"  - id: {rule_id}\n    when: {when}\n{options}    do:\n      - {action}: \"{text}\"\n"


def playbook(*rules: str) -> dict[str, str]:
    return {"p.yaml": "playbook: p\nrules:\n" + "".join(rules)}


def stale(result) -> list[tuple[str, str | None, str]]:
    return [(item.task.rule, item.task.member, item.reason) for item in result.suppressed if item.guardrail == "stale"]


def test_a_silence_nudge_is_dropped_when_the_member_spoke_before_it_was_due(make_config):
    config = make_config(playbook(rule("{silence: 2d}")), QUIET)
    # Silent since 23:30 on the 1st: the nudge fires at 23:30 on the 3rd, is held until 08:00,
    # and she writes at 07:00.
    events = [msg("01T23:30:00", name="小王"), msg("04T07:00:00")]
    result = plan(config, events, explain=True)
    assert task_keys(result, "rule") == []
    assert stale(result) == [("r", "m1", "stale: 小王 wrote at 2026-03-04 07:00")]
    assert "(stale 1)" in result.summary()
    assert "but        stale: 小王 wrote at 2026-03-04 07:00" in render_explanation(result, config.community.tz)


def test_a_nudge_for_someone_who_stays_silent_is_kept(make_config):
    config = make_config(playbook(rule("{silence: 2d}")), QUIET)
    result = plan(config, [msg("01T23:30:00"), msg("04T09:00:00")])
    assert task_keys(result, "rule", "due") == [("r", "2026-03-04T08:00:00+08:00")]


def test_an_unanswered_question_answered_after_it_fired_is_dropped(make_config):
    config = make_config(playbook(rule("{unanswered: 30m}", "    delay: 1h\n", action="notify", text="answer {{ member.name }}")), community())
    question = msg("01T09:00:00", text="请问怎么报名？", id="q1")
    reply = msg("01T09:50:00", "m2", text="看公告", reply_to="q1", name="Lily")
    result = plan(config, [question, reply, msg("01T12:00:00", "m3")])
    assert task_keys(result, "rule") == []
    assert stale(result) == [("r", "m1", "stale: the question was answered by Lily at 2026-03-01 09:50")]
    # Not answered: the task stays.
    kept = plan(config, [question, msg("01T12:00:00", "m3")])
    assert task_keys(kept, "rule", "due") == [("r", "2026-03-01T10:30:00+08:00")]


def test_a_becomes_task_is_dropped_when_the_condition_no_longer_holds(make_config):
    config = make_config(playbook(rule('{becomes: "member.messages >= 2"}', "    delay: 2h\n", action="notify", text="{{ member.name }} is chatty")), community())
    tagged = make_config(playbook(rule('{becomes: "\'vip\' in member.tags"}', "    delay: 2h\n", action="notify", text="vip")), community())
    profile = {"ts": "2026-03-01T10:00:00+08:00", "type": "profile", "member": "m1", "tags": ["vip"]}
    assert task_keys(plan(config, [msg("01T09:00:00"), msg("01T09:30:00")]), "rule") == [("r",)]
    assert task_keys(plan(tagged, [msg("01T09:00:00"), profile]), "rule") == [("r",)]
    # A member cannot lose messages; tags can only be added by events: the drop comes from a rule.
    untag = playbook(
        rule('{becomes: "\'vip\' in member.tags"}', "    delay: 2h\n", action="notify", text="vip"),
        "  - id: untag\n    when: {event: message, keywords: [退出]}\n    do:\n      - untag: vip\n",
    )
    result = plan(make_config(untag, community()), [msg("01T09:00:00"), profile, msg("01T11:00:00", text="退出")])
    assert task_keys(result, "rule") == []
    assert [reason for _, _, reason in stale(result)] == ["stale: `'vip' in member.tags` no longer holds for m1"]


def test_the_rules_if_is_checked_again_with_the_values_of_the_due_time(make_config):
    config = make_config(playbook(rule("{event: member_joined}", "    delay: 10m\n    if: member.messages == 0\n")), QUIET)
    spoke = plan(config, [joined("01T23:00:00"), msg("01T23:20:00")])
    assert task_keys(spoke, "rule") == []
    assert stale(spoke) == [("r", "m1", "stale: `member.messages == 0` is false now")]
    silent = plan(config, [joined("01T23:00:00"), msg("02T09:00:00", "m2")])
    assert task_keys(silent, "rule", "due") == [("r", "2026-03-02T08:00:00+08:00")]


def test_an_event_rule_keeps_the_values_of_its_event(make_config):
    config = make_config(playbook(rule("{event: message}", "    delay: 1h\n    if: \"'急' in event.text\"\n", text="{{ event.text }}")), community())
    result = plan(config, [msg("01T09:00:00", text="急：报名截止了吗"), msg("01T09:30:00", text="好的")])
    assert task_keys(result, "rule", "text") == [("r", "急：报名截止了吗")]


def test_a_group_action_stops_for_the_group_left_a_private_one_goes_on_while_in_another(make_config):
    rules = playbook(
        rule("{event: member_joined}", "    delay: 1h\n", action="mention", rule_id="hello"),
        rule("{event: member_joined}", "    delay: 1h\n", action="dm", rule_id="hi"),
    )
    config = make_config(rules, community())
    events = [msg("01T08:00:00", "m1", "g2"), joined("01T09:00:00"), left("01T09:30:00")]
    result = plan(config, events)
    assert task_keys(result, "rule", "group") == [("hi", "g1")]  # the operator who planned it sends it
    assert stale(result) == [("hello", "m1", "stale: m1 is no longer in g1")]
    gone = plan(config, [joined("01T09:00:00"), left("01T09:30:00")])
    assert task_keys(gone, "rule") == []
    assert sorted(reason for _, _, reason in stale(gone)) == ["stale: m1 is no longer in any group of the community", "stale: m1 is no longer in g1"]


def test_a_rule_about_leaving_and_recheck_false_keep_their_tasks(make_config):
    rules = playbook(
        rule("{event: member_left}", "    delay: 1h\n", rule_id="bye"),
        rule("{event: member_joined}", "    delay: 1h\n    recheck: false\n", rule_id="hi"),
    )
    result = plan(make_config(rules, community()), [joined("01T09:00:00"), left("01T09:30:00")])
    assert task_keys(result, "rule") == [("hi",), ("bye",)]


def test_a_task_about_leaving_a_group_is_stale_once_the_member_is_back_in_it(make_config):
    """"Why did you leave?" a day later, to someone who rejoined that evening: thrown away. A
    member who left one group and is still in another is asked all the same."""
    config = make_config(playbook(rule("{event: member_left}", "    delay: 1d\n", rule_id="bye")), community())
    back = plan(config, [msg("01T09:00:00"), left("01T10:00:00"), joined("01T18:00:00"), msg("03T09:00:00", "m2")], explain=True)
    assert task_keys(back, "rule") == []
    assert stale(back) == [("bye", "m1", "stale: m1 is back in g1")]
    elsewhere = plan(config, [msg("01T09:00:00"), msg("01T09:01:00", group="g2"), left("01T10:00:00"), joined("01T18:00:00", group="g2"), msg("03T09:00:00", "m2")])
    assert task_keys(elsewhere, "rule", "member") == [("bye", "m1")]


def test_a_task_due_at_once_is_dropped_when_its_member_leaves_at_that_same_instant(make_config):
    """An export lists a spammer's join and the bot's removal in the same second, or a last
    message and the leaving: the welcome and the reply due at that instant are for someone
    gone by then — as a task due at a later instant is checked after that instant's events."""
    rules = playbook(
        rule("{event: member_joined}", "", action="mention", rule_id="welcome"),
        rule("{event: message}", "", action="mention", rule_id="reply"),
        rule("{event: member_left}", "", rule_id="bye"),
    )
    config = make_config(rules, community())
    events = [
        joined("01T09:00:00", "m1"), {**left("01T09:00:00", "m1"), "reason": "removed"},  # the same second
        msg("01T10:00:00", "m2"), left("01T10:00:00", "m2"),
        joined("01T11:00:00", "m3"), left("01T11:00:01", "m3"),  # a second later: welcomed (it was due before)
    ]
    result = plan(config, events)
    assert task_keys(result, "rule", "member") == [("bye", "m1"), ("bye", "m2"), ("welcome", "m3"), ("bye", "m3")]
    assert stale(result) == [("welcome", "m1", "stale: m1 is no longer in g1"), ("reply", "m2", "stale: m2 is no longer in g1")]


def test_a_task_moved_by_capacity_is_checked_again_on_its_new_day(make_config):
    capacity = "community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: []\n  operators:\n    - {id: op, groups: [g1], capacity: 1}\n"
    rules = playbook(
        rule("{silence: 1d}", "    priority: high\n", rule_id="a"),
        rule("{silence: 1d}", "", rule_id="b"),
    )
    config = make_config(rules, capacity)
    # m1 and m2 fall silent at 09:00 and 09:05; one slot on the 2nd: m2's moves to the 3rd,
    # and m2 writes on the 3rd before it is due.
    events = [msg("01T09:00:00", "m1"), msg("01T09:05:00", "m2"), msg("03T08:00:00", "m2"), msg("03T20:00:00", "m3")]
    result = plan(config, events)
    assert ("m2", "2026-03-03T09:05:00+08:00") not in task_keys(result, "member", "due")
    assert any(member == "m2" and "wrote at 2026-03-03 08:00" in reason for _, member, reason in stale(result))


ASK = """\
playbook: p
rules:
  - id: ask
    when: {event: message, keywords: [书]}
    if: member.last_contact_at is none or (now - member.last_contact_at).days >= 14
    do:
      - dm: 最近想读什么？
      - notify: 已私信问 {{ member.name }}，回复后记进档案
"""


def test_a_task_is_checked_again_without_the_contact_its_own_firing_made(make_config, tmp_path):
    """One slot a day: m1's DM "最近想读什么？" keeps the 1st's, its note to the operator moves to
    the 2nd. Checked again there, the rule's "not contacted in 14 days" must not count the DM of
    its own firing (before: dropped as stale, and the operator never told to record the answer).
    A DM of another firing does count: m1's 书 on the 4th asks nothing again. The nightly runs,
    cut anywhere, agree."""
    capacity = "community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: []\n  operators:\n    - {id: op, groups: [g1], capacity: 1}\n"
    config = make_config({"p.yaml": ASK}, capacity)
    events = [msg("01T10:00:00", "m1", text="书"), msg("03T10:00:00", "m3"), msg("04T10:00:00", "m1", text="书"), msg("06T10:00:00", "m3")]
    result = plan(config, events, explain=True)
    assert task_keys(result, "member", "action", "due") == [("m1", "dm", "2026-03-01T10:00:00+08:00"), ("m1", "notify", "2026-03-02T10:00:00+08:00")]
    assert stale(result) == []
    for cut in range(1, len(events)):
        assert held(config, [events[:cut], events[cut:]], tmp_path / f"cut{cut}.db") == sorted(task_keys(result, "id", "due", "text")), cut


def test_a_text_shows_the_values_of_its_due_time(make_config):
    text = "{{ member.name }} 已发言 {{ member.messages }} 条"
    config = make_config(playbook(rule("{event: member_joined}", "    delay: 2h\n", text=text)), community())
    # Two messages before it is due count; the ones after it (the same day) do not.
    events = [joined("01T09:00:00"), msg("01T09:30:00", name="小王"), msg("01T10:00:00"), msg("01T11:30:00"), msg("01T12:00:00", name="王二")]
    assert task_keys(plan(config, events), "text") == [("小王 已发言 2 条",)]


def test_only_the_tasks_kept_are_rendered(make_config):
    capacity = "community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: []\n  operators:\n    - {id: op, groups: [g1], capacity: 2}\n"
    config = make_config(playbook(rule("{event: message}", "    deadline: 2h\n")), capacity)
    result = run(config, records([msg(f"01T09:{minute:02d}:00", f"m{minute}") for minute in range(20)]), keep_suppressed=False)
    assert len(result.tasks) == 2
    assert result.evaluation.enforcer.rendered == 2


def test_a_task_printed_by_an_earlier_state_run_is_withdrawn_when_it_goes_stale(tmp_path):
    config = config_from(playbook(rule("{silence: 2d}")), QUIET, tmp_path / "pb")
    path = str(tmp_path / "state.db")
    first, second = [msg("01T23:30:00", name="小王"), msg("03T23:40:00", "m2")], [msg("04T07:00:00")]
    store = StateStore.open(path)
    one = run(config, records(first), state=store)
    one.save_state()
    store.close()
    # Printed as due at 08:00 on the 4th, after what the first run knew.
    assert [(task.member, task.due) for task in one.tasks] == [("m1", 1772582400.0)]
    store = StateStore.open(path)
    two = run(config, records(second), state=store, explain=True)
    two.save_state()
    store.close()
    assert two.tasks == []
    assert "1 planned by an earlier run withdrawn as stale" in two.summary()
    assert f"[{one.tasks[0].id}] printed by an earlier run: do not send it" in render_explanation(two, config.community.tz)
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT status FROM tasks WHERE id = ?", (one.tasks[0].id,)).fetchone() == ("stale",)
    # Still to be checked by the run that reaches its due time (it is not printed again unless it holds then).
    assert [json.loads(data)["printed"] for (data,) in connection.execute("SELECT data FROM rechecks")] == [None]
    connection.close()


def test_a_task_pace_moves_after_the_member_spoke_is_dropped(make_config):
    paced = "community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: []\n  operators:\n    - {id: op, groups: [g1], pace: 3h}\n"
    config = make_config(playbook(rule("{silence: 1d}")), paced)
    # Two nudges due at 09:00 and 09:10 on the 2nd; pace puts the second at 12:00, and m2
    # writes at 11:00.
    events = [msg("01T09:00:00", "m1"), msg("01T09:10:00", "m2"), msg("02T11:00:00", "m2"), msg("02T20:00:00", "m3")]
    result = plan(config, events)
    assert task_keys(result, "member", "due") == [("m1", "2026-03-02T09:00:00+08:00")]
    assert stale(result) == [("r", "m2", "stale: m2 wrote at 2026-03-02 11:00")]


# -- on any history -------------------------------------------------------------------------------

SILENCE = playbook(
    rule("{silence: 1d}", "    priority: high\n", rule_id="nudge"),
    rule("{silence: 2d}", "", action="mention", rule_id="ping"),
    rule("{event: member_joined}", "    delay: 10m\n    if: member.messages == 0\n", rule_id="intro"),
)
BUSY = "community:\n  name: t\n  timezone: Asia/Shanghai\n  quiet_hours: \"22:00-08:00\"\n  operators:\n    - {id: op, groups: [g1, g2], capacity: CAP, pace: PACE}\n"

moments = st.lists(
    st.tuples(st.integers(0, 3 * 86400), st.sampled_from(["m1", "m2", "m3"]), st.sampled_from(["message", "message", "member_joined", "member_left"]), st.sampled_from(["g1", "g2"])),
    min_size=1, max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(drawn=moments, capacity=st.integers(1, 4), pace=st.sampled_from(["10m", "2h", "5h"]))
# Pace puts m1's intro (`if: member.messages == 0`) after m1's first message.
@example(drawn=[(0, "m2", "member_joined", "g1"), (1, "m1", "member_joined", "g1"), (602, "m1", "message", "g1")], capacity=2, pace="10m")
# Pace puts m2's ping two hours after m1's, after m2 left the group.
@example(drawn=[(0, "m1", "message", "g1"), (0, "m2", "message", "g1"), (2 * 86400 + 3600, "m2", "member_left", "g1")], capacity=4, pace="2h")
def test_no_task_is_due_after_its_member_did_what_makes_it_stale(tmp_path_factory, drawn, capacity, pace):
    """Whatever capacity, quiet hours and pace do to due times: no silence task is due after its
    member wrote since it fired, no intro DM after the newcomer spoke, and every group action is
    due while its member is in that group."""
    start = 1772326800.0  # 2026-03-01T09:00:00+08:00
    events = []
    for number, (offset, member, kind, group) in enumerate(sorted(drawn)):
        event = {"ts": start + offset, "type": kind, "group": group, "member": member}
        if kind == "message":
            event.update(text="hi", id=f"x{number}")
        events.append(event)
    config = config_from(SILENCE, BUSY.replace("CAP", str(capacity)).replace("PACE", pace), tmp_path_factory.mktemp("pb"))
    result = run(config, records(events), until=start + 6 * 86400)
    messages = [(event["ts"], event["member"]) for event in events if event["type"] == "message"]
    for task in result.tasks:
        spoke = [t for t, member in messages if member == task.member and task.trigger_at < t <= task.due]
        if task.rule in ("nudge", "ping"):
            assert not spoke, (task.rule, task.member, task.due)
        if task.rule == "intro":
            assert not [t for t, member in messages if member == task.member and t <= task.due]
        if task.action == "mention":
            membership = [event for event in events if event["member"] == task.member and event["group"] == task.group and event["ts"] <= task.due]
            assert membership and membership[-1]["type"] != "member_left", (task.member, task.group, task.due)


def test_a_message_mentioning_the_asker_there_after_it_fired_answers_too(make_config):
    config = make_config(playbook(rule("{unanswered: 30m}", "    delay: 1h\n", action="notify", text="answer {{ member.name }}")), community())
    question = msg("01T09:00:00", text="请问怎么报名？", id="q1")
    elsewhere = msg("01T09:50:00", "m2", "g2", text="@m1 看公告", mentions=["m1"])
    there = msg("01T09:55:00", "m2", text="@m1 看公告", mentions=["m1"], name="Lily")
    assert task_keys(plan(config, [question, elsewhere, msg("01T12:00:00", "m3")]), "rule") == [("r",)]  # another group: not an answer
    result = plan(config, [question, elsewhere, there, msg("01T12:00:00", "m3")])
    assert task_keys(result, "rule") == []
    assert stale(result) == [("r", "m1", "stale: the question was answered by Lily at 2026-03-01 09:55")]


def test_a_delayed_remove_is_not_dropped_for_its_own_effect(make_config):
    """A planned remove takes the member out of the group when it is planned; checked when due,
    that is its own doing, not a reason to drop it."""
    config = make_config(playbook(rule("{event: message, keywords: [广告]}", "    delay: 2h\n", action="remove", text="spam")), QUIET)
    result = plan(config, [msg("01T09:00:00", text="广告"), msg("01T23:00:00", "m2", text="广告"), msg("02T15:00:00", "m3")])
    assert task_keys(result, "member", "due") == [("m1", "2026-03-01T11:00:00+08:00"), ("m2", "2026-03-02T08:00:00+08:00")]
    assert stale(result) == []


def test_a_task_withdrawn_by_a_later_state_run_stops_counting_toward_limits(tmp_path):
    limits = 'community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: []\n  quiet_hours: "22:00-08:00"\n  operators:\n    - {id: op, groups: [g1]}\n  limits:\n    - {actions: [dm], max: 1, per: 1d}\n'
    rules = playbook(rule("{silence: 2d}", rule_id="nudge"), rule("{event: message, keywords: [报名]}", rule_id="signup"))
    config = config_from(rules, limits, tmp_path / "pb")
    first, second = [msg("01T23:30:00"), msg("03T23:40:00", "m2")], [msg("04T07:00:00"), msg("04T09:00:00", text="我要报名")]
    assert task_keys(run(config, records(first + second)), "rule") == [("signup",)]
    path = str(tmp_path / "state.db")
    for piece in (first, second):
        store = StateStore.open(path)
        result = run(config, records(piece), state=store)
        result.save_state()
        store.close()
    assert task_keys(result, "rule") == [("signup",)]  # the withdrawn nudge no longer holds the day's one DM


def test_an_answer_is_remembered_as_long_as_a_task_of_its_question_may_be_due(make_config):
    config = make_config(playbook(rule("{unanswered: 30m}", "    delay: 8d\n    deadline: 10d\n", action="notify", text="answer")), community())
    question, reply = msg("01T09:00:00", text="请问怎么报名？", id="q1"), msg("01T10:00:00", "m2", text="看公告", reply_to="q1")
    # A week later another question fires (memory of old ones is cleared then): the answer to
    # the first still counts when its task is due on the 9th.
    result = plan(config, [question, reply, msg("09T08:00:00", "m3", text="请问几点？", id="q2"), msg("12T12:00:00", "m4")])
    assert task_keys(result, "member") == [("m3",)]
    assert [member for _, member, _ in stale(result)] == ["m1"]


def test_a_merged_message_whose_first_part_goes_stale_under_pace_goes_on_under_the_next(make_config):
    paced = "community:\n  name: t\n  timezone: Asia/Shanghai\n  operators:\n    - {id: op, groups: [g1], pace: 3h}\n"
    rules = playbook(rule("{silence: 1d}", rule_id="nudge", text="nudge {{ member.name }}"), rule("{event: purchase}", "    delay: 90m\n", rule_id="hi", text="hi {{ member.name }}"))
    purchase = {"ts": "2026-03-02T08:00:00+08:00", "type": "purchase", "member": "m2", "group": "g1", "amount": 9.0}
    # m2's nudge (09:10) and thanks (09:30) merge into one DM; pace puts it at 12:00, and m2
    # writes at 11:00: the nudge is stale, the thanks goes out as itself.
    result = plan(make_config(rules, paced), [msg("01T09:00:00", "m1"), msg("01T09:10:00", "m2"), purchase, msg("02T11:00:00", "m2"), msg("02T20:00:00", "m3")])
    assert task_keys(result, "rule", "member", "text", "due") == [("nudge", "m1", "nudge m1", "2026-03-02T09:00:00+08:00"), ("hi", "m2", "hi m2", "2026-03-02T12:00:00+08:00")]
    assert stale(result) == [("nudge", "m2", "stale: m2 wrote at 2026-03-02 11:00")]
    assert "merged" not in result.planner.suppressed_counts


def test_a_name_in_a_text_is_the_one_of_its_due_time(make_config):
    """Texts that read only the member's name keep the name of the due time, not a later one."""
    config = make_config(playbook(rule("{event: member_joined}", "    delay: 1h\n", action="mention", text="欢迎 {{ member | mention }}，{{ member.name }}")), community())
    events = [dict(joined("01T09:00:00"), name="小王"), msg("01T09:30:00", name="王小二"), msg("01T11:00:00", name="王老二")]
    assert task_keys(plan(config, events), "text") == [("欢迎 @王小二，王小二",)]


def test_a_task_found_stale_as_a_state_run_ends_is_kept_if_the_member_is_back_when_it_is_due(tmp_path):
    """The first run ends after m1 left: m1's mention, due after its history, looks stale. The
    next run sees m1 come back before it is due, and plans it — as one run over both does."""
    config = config_from(playbook(rule("{event: message}", "    delay: 2d\n    deadline: 3d\n", action="mention")), QUIET, tmp_path / "pb")
    left = {"ts": "2026-03-03T08:00:00+08:00", "type": "member_left", "group": "g1", "member": "m1"}
    back = {"ts": "2026-03-03T08:30:00+08:00", "type": "member_joined", "group": "g1", "member": "m1"}
    first, second = [msg("01T09:00:00"), left], [back]
    whole = [(task.id, task.due) for task in run(config, records(first + second)).tasks]
    assert [due for _, due in whole] == [1772499600.0]  # 2026-03-03 09:00, m1 is back in g1
    path = str(tmp_path / "state.db")
    planned = []
    for piece in (first, second):
        store = StateStore.open(path)
        result = run(config, records(piece), state=store)
        result.save_state()
        store.close()
        planned += [(task.id, task.due) for task in result.tasks]
    assert planned == whole


def test_a_task_found_stale_at_its_due_instant_as_a_state_run_ends_stays_dropped(tmp_path):
    """m1's nudge is due at 08:00 on the 3rd (quiet hours); m1 writes at that very minute, the
    last line of a run, which finds the nudge stale. The next run starts at that instant: it
    checks the nudge again after whatever else happens then — as one run does — rather than
    keep it as the run that planned it once had it."""
    config = config_from(playbook(rule("{silence: 2d}")), QUIET, tmp_path / "pb")
    pieces = [[msg("01T04:42:00"), msg("03T00:26:00", "m2")], [msg("03T08:00:00")], [msg("04T10:00:00", "m2")]]
    whole = run(config, records([event for piece in pieces for event in piece]), explain=True)
    assert whole.tasks == []
    assert [reason for _, _, reason in stale(whole)] == ["stale: m1 wrote at 2026-03-03 08:00"]
    path = str(tmp_path / "state.db")
    planned = []
    for piece in pieces:
        store = StateStore.open(path)
        result = run(config, records(piece), state=store)
        result.save_state()
        store.close()
        planned += [(task.member, task.due) for task in result.tasks]
    assert planned == []


def test_a_text_planned_late_one_day_and_due_the_next_keeps_the_values_it_was_planned_with(make_config):
    """Fuzzing (review 20, J4): 小王 went quiet on the 28th; `recheck: false` plans "你已经 4 天没说话了"
    at 23:40 on 1 January, due at 00:40. She wrote at 14:25 on the 2nd, before the 2nd was settled:
    the text, written then, said "-1 天" — its values were let go with the 1st's, the day it was
    planned, not the day it is due. (元旦's greeting, a fan-out that day, is what brought the
    clean-up of the 1st's values before her message.)"""
    rules = (
        "playbook: t\nrules:\n"
        "  - id: quiet\n    when: {becomes: \"member.days_silent >= 4\"}\n    delay: 1h\n    recheck: false\n    do:\n      - dm: \"{{ member.name }}，你已经 {{ member.days_silent }} 天没说话了\"\n"
        "  - id: greet\n    when: {holiday: any, each: member, at: \"09:00\"}\n    do:\n      - mention: \"{{ member.name }}，节日快乐\"\n"
    )
    config = make_config({"t.yaml": rules}, community())
    events = [
        {"ts": "2026-12-28T23:40:00+08:00", "type": "message", "group": "g1", "member": "m1", "name": "小王", "text": "晚安"},
        {"ts": "2027-01-02T13:16:00+08:00", "type": "message", "group": "g1", "member": "m2", "name": "小李", "text": "下午好"},
        {"ts": "2027-01-02T14:25:00+08:00", "type": "message", "group": "g1", "member": "m1", "text": "我回来了"},
    ]
    result = plan(config, events)
    assert [task.text for task in result.tasks if task.rule == "quiet"] == ["小王，你已经 4 天没说话了"]


def test_a_part_that_carries_its_message_on_is_checked_if_its_member_wrote_after_its_day(tmp_path):
    """Fuzzing (--split, seed 50184): one DM a day for op. m25's two silence DMs are merged
    into one message, carried day by day; on the 28th the message's own part is past its
    deadline and the other carries it on to 03-01 08:00. m25 wrote on the 28th at 17:49: the
    part's change was forgotten with its first day (settled), and the message went out."""
    books = {
        "p0.yaml": "playbook: p0\nrules:\n  - id: long\n    when: {silence: 1d12h}\n    do: [{dm: 好久不见}]\n",
        "p1.yaml": "playbook: p1\nrules:\n  - id: short\n    when: {silence: 1d}\n    do: [{dm: \"欢迎 {{ member.name }}\"}]\n",
    }
    community = "community:\n  name: t\n  timezone: Asia/Shanghai\n  operators:\n    - {id: op, groups: [g2], capacity: 1}\n  quiet_hours: \"22:00-08:00\"\n"
    config = config_from(books, community, tmp_path / "pb")

    def line(ts: str, member: str, kind: str = "message") -> dict:
        return {"ts": f"2026-02-{ts}+08:00", "group": "g2", "member": member, "type": kind, "text": "hi"}

    # Three members fill op's days before m25's DMs (joined on the 24th, again on the 26th).
    events = [line("23T19:18:00", "m9"), line("24T06:41:00", "m2"), line("24T20:07:00", "m21"), line("24T23:57:00", "m25", "member_joined"),
              line("26T21:57:00", "m25", "member_joined"), line("28T17:49:00", "m25")]
    result = plan(config, events)
    assert [task.member for task in result.tasks if task.member == "m25"] == []
    assert any(item.task.member == "m25" and item.reason.startswith("stale: m25 wrote at 2026-02-28 17:49") for item in result.suppressed)


def _stage_note(make_config):
    """A note when a member enters 成长期 (time alone moves a silent one on to 衰退期 three days
    after she last wrote or joined), an urgent note for each "急", and an operator with two slots
    a day: the stage note of a member who joined and never wrote is moved to the instant that
    moves her out of the stage."""
    rules = (
        "playbook: p\nrules:\n"
        "  - id: grown\n    when: {stage: growth}\n    do: [{notify: 好久不见}]\n"
        "  - id: hot\n    when: {event: message, keywords: [急]}\n    do: [{notify: 急}]\n"
    )
    lifecycle = (
        '  lifecycle:\n    - {stage: decline, label: 衰退期, if: "member.days_silent >= 3"}\n'
        '    - {stage: newbie, label: 新手期, if: "member.days_since_join < 2"}\n    - {stage: growth, label: 成长期, if: "true"}\n'
    )
    return make_config({"p.yaml": rules}, "community:\n  name: t\n  timezone: Asia/Shanghai\n  operators:\n    - {id: op, groups: [g1], capacity: 2}\n" + lifecycle)


def test_a_task_reopened_unchanged_sees_the_stage_time_moves_at_its_due_instant(make_config, tmp_path):
    """Fuzzing (seed 81046): m1, who joined on the 1st at 19:43:32 and never wrote, enters 成长期
    on the 3rd at that time; the day's two slots are taken, and the note moves to the 4th at
    19:43:32 — the instant time alone moves m1 into 衰退期. One run checks it there only because
    m1 changes (a steady rule): after that change, stale. The run that ended on the 3rd saved it
    unchanged, but the next run, not knowing, checked it when due, before the instant's change."""
    config = _stage_note(make_config)
    first = [joined("01T19:43:32", "m1"), msg("03T10:00:00", "m2", text="急"), msg("03T11:00:00", "m3", text="急"), msg("03T21:50:00", "m2")]
    second = [msg("05T21:10:00", "m2")]
    whole = plan(config, first + second, explain=True)
    assert task_keys(whole, "rule", "member") == [("hot", "m2"), ("hot", "m3")]
    assert [(item.guardrail, item.reason) for item in whole.suppressed] == [("stale", "stale: m1 is no longer in stage 成长期 (now 衰退期)")]
    assert held(config, [first, second], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_task_whose_check_at_its_due_was_pending_when_the_run_ended_is_checked_then_again(make_config, tmp_path):
    """Fuzzing (seed 130282): the same note, moved to the 4th at 19:43:32, the instant time alone
    moves m1 into 衰退期 — but m1 joins 二群 that morning, a change that sets its check at its due
    time. One run checks it there before the instant's timer: still 成长期, kept. The run that
    ended on the 4th at noon checked it as the history ended and saved it `unchanged`; the next
    run then checked it only when the timer changed m1: after the change, stale, taken back."""
    config = _stage_note(make_config)
    first = [joined("01T19:43:32", "m1"), msg("03T10:00:00", "m2", text="急"), msg("03T11:00:00", "m3", text="急"), msg("03T21:50:00", "m2"), joined("04T08:00:00", "m1", "g2")]
    second = [msg("05T21:10:00", "m2")]
    whole = plan(config, first + second, explain=True)
    assert ("grown", "m1") in task_keys(whole, "rule", "member")
    assert held(config, [first, second], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_task_reopened_unchanged_due_after_the_run_is_checked_only_if_its_member_changes(make_config, tmp_path):
    """The same note moved to the 4th at 19:43:32, the history cut on the 4th at 19:11, before
    it is due: the next run checked it when due, before the instant's change of stage."""
    config = _stage_note(make_config)
    first = [joined("01T19:43:32", "m1"), msg("03T10:00:00", "m2", text="急"), msg("03T11:00:00", "m3", text="急")]
    second = [msg("04T19:11:00", "m2")]
    third = [msg("05T21:10:00", "m2")]
    whole = plan(config, first + second + third)
    assert task_keys(whole, "rule", "member") == [("hot", "m2"), ("hot", "m3")]
    assert held(config, [first, second, third], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_part_checked_with_its_message_is_checked_again_when_it_carries_it_on_after_its_member_wrote(make_config, tmp_path):
    """Fuzzing (seed 50184, --split --anywhere): one slot a day. m8's silence DM and reward
    (1 d) and her 好久不见 (1 d 12 h) are one message, carried day by day. A run checks it with
    its parts on the 6th at 08:00, m8 writes at 11:50, and the run ends: settling the 6th, the
    message's own part passes its deadline and 好久不见 carries it on to the 7th. A steady rule
    with a fixed text, that part was kept unfollowed when checked with its message: taken for
    unchanged, it went out on the 7th — in m21's slot, whose DM one run sends there."""
    rules = (
        "playbook: p\nrules:\n"
        "  - id: nudge\n    when: {silence: 1d}\n    do: [{dm: '欢迎 {{ member.name }}'}, {reward: {points: 10, text: '欢迎 {{ member.name }}'}}]\n"
        "  - id: ask\n    when: {silence: 1d12h}\n    do: [{dm: 好久不见}]\n"
    )
    community = 'community:\n  name: t\n  timezone: Asia/Shanghai\n  quiet_hours: "22:00-08:00"\n  operators:\n    - {id: op, groups: [g1], capacity: 1, pace: 30m}\n'
    config = make_config({"p.yaml": rules}, community)
    # m4 and m26 fill op's days before m8's and m21's messages.
    first = [msg("01T18:35:00", "m4")]
    second = [msg("02T08:18:29", "m26"), msg("03T00:19:00", "m8"), msg("03T06:31:00", "m21"), msg("06T05:05:00", "m16", group="g2")]
    third = [msg("06T11:50:00", "m8")]
    whole = plan(config, first + second + third, explain=True)
    assert [(task.rule, task.member, task.record(config.community.tz)["due"][5:16]) for task in whole.tasks][-1] == ("ask", "m21", "03-07T08:00")
    assert ("ask", "m8", "stale: m8 wrote at 2026-03-06 11:50") in [(item.task.rule, item.task.member, item.reason) for item in whole.suppressed]
    assert held(config, [first, second, third, []], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))
