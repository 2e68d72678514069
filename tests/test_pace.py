"""Pace: no two tasks of an operator closer together than `operators[].pace`; tasks moved to
the same minute are laid out from there, highest priority first."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_engine.runner import run
from playbook_engine.state import StateStore
from tests.conftest import plan, records, shipped_run, task_keys
from tests.test_daily_texts import held
from tests.test_guardrails import one_rule
from tests.test_triggers import joined, left, msg

PACED = "community:\n  name: t\n  timezone: Asia/Shanghai\n  quiet_hours: \"22:00-08:00\"\n  merge: []\n  operators:\n    - {id: op, groups: [g1], pace: 10m}\n"


def test_tasks_moved_to_the_end_of_quiet_hours_are_laid_out_highest_priority_first(make_config):
    files = {"a.yaml": one_rule("{event: message}", playbook="a"), "b.yaml": one_rule("{event: message, keywords: [急]}", playbook="b", priority="high")}
    events = [msg("01T23:00:00", "m1"), msg("01T23:30:00", "m2", text="急"), msg("02T08:05:00", "m3")]
    result = plan(make_config(files, PACED), events)
    assert task_keys(result, "playbook", "member", "due") == [
        ("b", "m2", "2026-03-02T08:00:00+08:00"),
        ("a", "m1", "2026-03-02T08:10:00+08:00"),
        ("a", "m2", "2026-03-02T08:20:00+08:00"),
        ("a", "m3", "2026-03-02T08:30:00+08:00"),
    ]
    assert result.tasks[1].moved == ["quiet hours: moved from 2026-03-01 23:00 to 2026-03-02 08:00", "pace of op: moved from 2026-03-02 08:00 to 2026-03-02 08:10"]
    assert result.moved["pace"] == 3


def test_a_pressing_task_takes_the_next_free_slot_not_the_end_of_the_mornings_batch(make_config):
    """Six tasks wait for 08:00 (the night's), laid out 10 minutes apart; a high-priority one due
    at 08:25 (a question nobody answered) goes out at 08:30, the first free slot after it, ahead
    of the batch's rest — not at 09:00 behind all of it."""
    files = {"a.yaml": one_rule("{event: message}"), "b.yaml": one_rule("{event: message, keywords: [急]}", playbook="b", priority="high")}
    night = [msg(f"01T23:0{minute}:00", f"m{minute}") for minute in range(6)]
    result = plan(make_config(files, PACED), [*night, msg("02T08:25:00", "m9", text="急")])
    assert task_keys(result, "playbook", "member", "due") == [
        ("p", "m0", "2026-03-02T08:00:00+08:00"),
        ("p", "m1", "2026-03-02T08:10:00+08:00"),
        ("p", "m2", "2026-03-02T08:20:00+08:00"),
        ("b", "m9", "2026-03-02T08:30:00+08:00"),
        ("p", "m3", "2026-03-02T08:40:00+08:00"),
        ("p", "m4", "2026-03-02T08:50:00+08:00"),
        ("p", "m5", "2026-03-02T09:00:00+08:00"),
        ("p", "m9", "2026-03-02T09:10:00+08:00"),
    ]


def test_a_task_pace_pushes_out_of_its_day_goes_on_to_the_next(make_config):
    """No room left before midnight at this pace: the task is not dropped, it moves on to the
    next day (as capacity's overflow does) and is laid out there."""
    config = make_config({"a.yaml": one_rule("{event: message}")}, PACED.replace("quiet_hours: \"22:00-08:00\"\n  ", ""))
    result = plan(config, [msg("01T23:45:00", "m1"), msg("01T23:46:00", "m2"), msg("01T23:47:00", "m3"), msg("02T00:06:00", "m4")], explain=True)
    assert task_keys(result, "member", "due") == [("m1", "2026-03-01T23:45:00+08:00"), ("m2", "2026-03-01T23:55:00+08:00"), ("m3", "2026-03-02T00:05:00+08:00"), ("m4", "2026-03-02T00:15:00+08:00")]
    assert result.tasks[2].moved == ["pace of op: moved from 2026-03-01 23:47 to 2026-03-02 00:05"]
    assert result.suppressed == []


def test_a_task_pace_pushes_past_its_deadline_is_dropped_with_the_reason(make_config):
    config = make_config({"a.yaml": one_rule("{event: message}", "    deadline: 20m\n")}, PACED.replace("quiet_hours: \"22:00-08:00\"\n  ", ""))
    result = plan(config, [msg("01T23:45:00", "m1"), msg("01T23:46:00", "m2"), msg("01T23:47:00", "m3"), msg("01T23:48:00", "m4")], explain=True)
    assert task_keys(result, "member", "due") == [("m1", "2026-03-01T23:45:00+08:00"), ("m2", "2026-03-01T23:55:00+08:00"), ("m3", "2026-03-02T00:05:00+08:00")]
    assert [(item.task.member, item.guardrail, item.reason) for item in result.suppressed] == [
        ("m4", "deadline", "deadline: it would be due 2026-03-02 00:15, after its deadline 2026-03-02 00:08"),
    ]


def test_an_evenings_joiners_that_pace_cannot_fit_are_welcomed_the_next_morning(make_config):
    """A campaign evening: eight newcomers between 21:30 and 21:37, an operator who keeps 10
    minutes between tasks and quiet hours from 22:00. Three welcomes fit before 22:00; the rest
    are the first tasks of the next morning, before that morning's own, highest priority first."""
    files = {"a.yaml": one_rule("{event: member_joined}", action="mention"), "b.yaml": one_rule("{event: message}", playbook="b", priority="low")}
    config = make_config(files, PACED)
    evening = [joined(f"01T21:3{minute}:00", f"m{minute}") for minute in range(8)]
    result = plan(config, [*evening, msg("02T08:00:00", "m20")], explain=True)
    assert task_keys(result, "playbook", "member", "due") == [
        ("p", "m0", "2026-03-01T21:30:00+08:00"),
        ("p", "m1", "2026-03-01T21:40:00+08:00"),
        ("p", "m2", "2026-03-01T21:50:00+08:00"),
        ("p", "m3", "2026-03-02T08:00:00+08:00"),
        ("p", "m4", "2026-03-02T08:10:00+08:00"),
        ("p", "m5", "2026-03-02T08:20:00+08:00"),
        ("p", "m6", "2026-03-02T08:30:00+08:00"),
        ("p", "m7", "2026-03-02T08:40:00+08:00"),
        ("b", "m20", "2026-03-02T08:50:00+08:00"),
    ]
    assert result.suppressed == []
    assert result.moved["pace"] == 8  # each task pace moved counts once, carried or not


def test_a_task_pace_carries_to_the_next_day_takes_its_place_in_that_days_capacity(make_config):
    """Carried to the next morning, it competes for that day's capacity like any other task: a
    higher-priority task of that day keeps the one slot, and the carried one moves on by a day,
    here past its 24-hour deadline."""
    files = {"a.yaml": one_rule("{event: member_joined}", action="mention"), "b.yaml": one_rule("{event: message, keywords: [急]}", playbook="b", priority="high")}
    config = make_config(files, PACED.replace("pace: 10m}", "pace: 10m, capacity: 1}"))
    result = plan(config, [joined("01T21:55:00", "m1"), joined("01T21:56:00", "m2"), msg("02T09:00:00", "m3", text="急")], explain=True)
    assert task_keys(result, "playbook", "member", "due") == [("p", "m1", "2026-03-01T21:55:00+08:00"), ("b", "m3", "2026-03-02T09:00:00+08:00")]
    assert [(item.task.member, item.guardrail) for item in result.suppressed] == [("m2", "deadline")]


def test_a_task_pace_carries_to_the_next_morning_is_checked_again_there(make_config):
    """The newcomer welcomed the next morning left overnight: the carried @mention is stale."""
    config = make_config({"a.yaml": one_rule("{event: member_joined}", action="mention")}, PACED)
    result = plan(config, [joined("01T21:55:00", "m1"), joined("01T21:56:00", "m2"), left("02T07:00:00", "m2"), msg("02T09:00:00", "m5")], explain=True)
    assert task_keys(result, "member", "due") == [("m1", "2026-03-01T21:55:00+08:00")]
    assert [(item.task.member, item.guardrail) for item in result.suppressed] == [("m2", "stale")]


def test_a_run_split_into_nightly_runs_carries_an_evenings_overflow_as_one_run_does(make_config, tmp_path):
    config = make_config({"a.yaml": one_rule("{event: member_joined}", action="mention"), "b.yaml": one_rule("{event: message}", playbook="b")}, PACED.replace("pace: 10m}", "pace: 10m, capacity: 6}"))
    tick = {"type": "profile", "member": "m9", "group": "g2", "attributes": {}}
    evening = [joined(f"01T21:3{minute}:00", f"m{minute}") for minute in range(8)]
    morning = [msg("02T08:05:00", "m20"), left("02T08:06:00", "m6"), {**tick, "ts": "2026-03-02T09:00:00+08:00"}]
    next_day = [msg("03T10:00:00", "m21"), {**tick, "ts": "2026-03-04T09:00:00+08:00"}]
    whole = plan(config, evening + morning + next_day, explain=True)
    # Capacity keeps six of the evening's eight (two move on to the next morning); pace fits
    # three before 22:00 and carries three to the next morning, laid out there in time order.
    assert [("m3", "2026-03-02T08:00:00+08:00"), ("m7", "2026-03-02T08:30:00+08:00")] == [key for key in task_keys(whole, "member", "due") if key[0] in ("m3", "m7")]
    for number, pieces in enumerate(([evening, morning, next_day], [evening + morning, next_day], [evening, morning + next_day])):
        assert held(config, pieces, tmp_path / f"ops{number}.db") == sorted(task_keys(whole, "id", "due", "text")), number


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(20, 300), pace=st.sampled_from(["2m", "10m", "30m"]))
def test_no_two_tasks_of_an_operator_closer_than_its_pace(tmp_path_factory, seed, members, pace):
    """On generated histories with the shipped playbooks, every operator paced."""
    config, result = shipped_run(tmp_path_factory.mktemp("pb"), seed, members, lambda text: re.sub(r", pace: \w+", "", text).replace("    - {id: op-", f"    - {{pace: {pace}, id: op-"))
    assert all(operator.pace for operator in config.community.operators)
    seconds = config.community.operators[0].pace
    for operator in config.community.operators:
        dues = sorted(task.due for task in result.tasks if task.assignee == operator.id)
        assert all(later - earlier >= seconds for earlier, later in pairwise(dues)), operator.id
    start, end = config.community.quiet_hours  # 22:00-08:00: pace lays evenings out into it
    zone = config.community.tz
    for task in result.tasks:
        local = datetime.fromtimestamp(task.due, zone)
        minute = local.hour * 60 + local.minute
        assert task.priority == "urgent" or not (minute >= start or minute < end), (task.id, local)
    # Pace moves tasks, on to the next morning when their day is full; it drops none.
    assert "pace" not in result.planner.suppressed_counts


def test_pace_never_lays_a_task_out_into_quiet_hours(make_config):
    """An evening's batch (a 20:00 post to each member) paced past 22:00 would be due inside
    quiet hours: the tasks that do not fit before them go out when quiet hours end."""
    config = make_config({"a.yaml": one_rule("{event: message}")}, PACED.replace("pace: 10m", "pace: 30m"))
    events = [msg(f"01T21:{minute:02d}:00", f"m{minute}") for minute in range(0, 50, 10)]
    result = plan(config, events, explain=True)
    assert task_keys(result, "member", "due") == [
        ("m0", "2026-03-01T21:00:00+08:00"), ("m10", "2026-03-01T21:30:00+08:00"),
        ("m20", "2026-03-02T08:00:00+08:00"), ("m30", "2026-03-02T08:30:00+08:00"), ("m40", "2026-03-02T09:00:00+08:00"),
    ]
    assert result.suppressed == []


def test_a_task_pace_moves_past_the_members_leaving_the_group_is_dropped(make_config):
    """Checked at 08:00, laid out at 08:20 by pace: a member who left the group at 08:05 gets no
    @mention there at 08:20. One who left after their task's time, or came back, keeps it."""
    config = make_config({"a.yaml": one_rule("{event: message}", action="mention")}, PACED)
    night = [msg("01T23:00:00", "m1"), msg("01T23:10:00", "m2"), msg("01T23:20:00", "m3"), msg("01T23:30:00", "m4")]
    morning = [left("02T08:05:00", "m3"), left("02T08:06:00", "m4"), joined("02T08:07:00", "m4"), left("02T08:15:00", "m2"), msg("02T12:00:00", "m5")]
    result = plan(config, night + morning, explain=True)
    assert task_keys(result, "member", "due") == [("m1", "2026-03-02T08:00:00+08:00"), ("m2", "2026-03-02T08:10:00+08:00"), ("m4", "2026-03-02T08:20:00+08:00"), ("m5", "2026-03-02T12:00:00+08:00")]
    assert [(item.task.member, item.reason) for item in result.suppressed if item.guardrail == "stale"] == [("m3", "stale: m3 is no longer in g1")]


def test_a_task_pace_moves_into_the_members_hour_out_of_the_group_is_dropped(make_config, tmp_path):
    """m2 left the group at 08:06 and was back at 08:25: the @mention pace lays out at 08:10 is for
    someone out of the group then — dropped, though she is back by the day's end (before, only
    being out at the day's end counted). m3, back at 08:07, keeps hers at 08:20. Nightly runs agree."""
    config = make_config({"a.yaml": one_rule("{event: message}", action="mention")}, PACED)
    night = [msg("01T23:00:00", "m1"), msg("01T23:10:00", "m2"), msg("01T23:20:00", "m3")]
    morning = [left("02T08:05:00", "m3"), left("02T08:06:00", "m2"), joined("02T08:07:00", "m3"), joined("02T08:25:00", "m2"), msg("02T12:00:00", "m5")]
    result = plan(config, night + morning, explain=True)
    assert task_keys(result, "member", "due") == [("m1", "2026-03-02T08:00:00+08:00"), ("m3", "2026-03-02T08:10:00+08:00"), ("m5", "2026-03-02T12:00:00+08:00")]
    assert [(item.task.member, item.reason) for item in result.suppressed if item.guardrail == "stale"] == [
        ("m2", "stale: m2 is no longer in g1: left it at 2026-03-02 08:06, back only at 2026-03-02 08:25")
    ]
    events = night + morning
    for cut in range(1, len(events)):
        assert held(config, [events[:cut], events[cut:]], tmp_path / f"cut{cut}.db") == sorted(task_keys(result, "id", "due", "text")), cut


def test_the_evening_and_the_next_morning_are_paced_too(make_config):
    config = make_config({"a.yaml": one_rule("{event: message}")}, PACED.replace("quiet_hours: \"22:00-08:00\"\n  ", ""))
    result = plan(config, [msg("01T23:58:00", "m1"), msg("02T00:01:00", "m2")])
    assert task_keys(result, "member", "due") == [("m1", "2026-03-01T23:58:00+08:00"), ("m2", "2026-03-02T00:08:00+08:00")]


def test_limits_count_a_paced_task_where_pace_put_it_in_one_run_as_in_daily_runs(make_config, tmp_path):
    """A task pace moved is counted by the member's limits at its moved time — as the member gets
    it, and as a later --state run counts it from the state: one run and daily runs agree."""
    community = PACED + "  limits:\n    - {actions: any, max: 1, per: 7d}\n"
    config = make_config({"a.yaml": one_rule("{event: message}")}, community)
    # Three tasks at 08:00 after quiet hours, laid out 08:00, 08:10, 08:20 by their deadlines: m1's
    # is last. A week later m1's next task is due at 08:15: 7 days less 5 minutes after 08:20.
    night = [msg("01T23:00:00", "m2"), msg("01T23:10:00", "m3"), msg("01T23:20:00", "m1")]
    later = [msg("09T08:15:00", "m1")]
    whole = plan(config, night + later, explain=True)
    assert task_keys(whole, "member", "due") == [("m2", "2026-03-02T08:00:00+08:00"), ("m3", "2026-03-02T08:10:00+08:00"), ("m1", "2026-03-02T08:20:00+08:00")]
    assert [(item.task.member, item.guardrail) for item in whole.suppressed] == [("m1", "limit")]
    path = tmp_path / "ops.db"
    daily = []
    for piece in (night, later):
        store = StateStore.open(str(path))
        result = plan(config, piece, state=store)
        result.save_state()
        store.close()
        daily += task_keys(result, "id", "member", "due")
    assert daily == task_keys(whole, "id", "member", "due")


def test_a_task_pace_moves_past_the_members_message_stays_dropped_when_a_later_run_settles_its_day_again(make_config, tmp_path):
    """m1 writes two seconds after the morning's first slot; pace puts m1's nudge ten minutes
    later, after that message: dropped as stale. A nightly run that ended that morning left the
    day open; the next run settles it again, and the message (of the run before) must still
    count — once printed as stale, the nudge must not come back."""
    config = make_config({"a.yaml": one_rule("{silence: 1d}")}, PACED)
    tick = {"type": "profile", "member": "m9", "group": "g2", "attributes": {}}
    night = [msg("01T22:30:00", "m2"), msg("01T23:00:00", "m1"), {**tick, "ts": "2026-03-02T12:00:00+08:00"}]
    morning = [msg("03T08:00:02", "m1"), {**tick, "ts": "2026-03-03T09:00:00+08:00"}]
    next_day = [{**tick, "ts": "2026-03-04T09:00:00+08:00"}]
    whole = plan(config, night + morning + next_day, explain=True)
    assert ("m1", "stale") in [(item.task.member, item.guardrail) for item in whole.suppressed]
    assert held(config, [night, morning, next_day], tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_task_pace_moves_past_the_members_leaving_stays_dropped_when_a_later_run_settles_its_day_again(make_config, tmp_path):
    """A nightly run that ended that morning, after m3 left, left the day open: the next run
    settles it again, and the leaving (seen by the run before) must still count."""
    config = make_config({"a.yaml": one_rule("{event: message}", action="mention")}, PACED)
    tick = {"type": "profile", "member": "m9", "group": "g2", "attributes": {}}
    night = [msg("01T23:00:00", "m1"), msg("01T23:10:00", "m2"), msg("01T23:20:00", "m3")]
    morning = [left("02T08:05:00", "m3"), {**tick, "ts": "2026-03-02T09:00:00+08:00"}]
    next_day = [{**tick, "ts": "2026-03-03T09:00:00+08:00"}]
    whole = plan(config, night + morning + next_day, explain=True)
    assert [(item.task.member, item.guardrail) for item in whole.suppressed] == [("m3", "stale")]
    for number, pieces in enumerate(([night, morning, next_day], [night + morning, next_day], [night, morning + next_day])):
        assert held(config, pieces, tmp_path / f"ops{number}.db") == sorted(task_keys(whole, "id", "due", "text")), number


WARN = """\
playbook: rules
rules:
  - id: warn
    when: {event: message, keywords: [链接]}
    if:
      - member.messages >= 1
      - "'warned' not in member.tags"
    priority: urgent
    do:
      - warn: "{{ member | mention }} 别发链接哦"
      - tag: warned
"""


def test_a_warning_moved_by_pace_is_not_stale_by_the_tag_its_own_firing_gave(make_config, tmp_path):
    """小王 posts a link at 10:00:30, just after 老李: pace puts her warning at 10:10. She writes
    again at 10:05, so its `if:` is asked again then — without the `warned` tag the rule itself
    gave her: the warning still goes (before, it was dropped as stale by its own tag, which
    stayed, and her next link got her removed as "warned before"). The nightly runs agree."""
    config = make_config({"rules.yaml": WARN}, PACED)
    events = [msg("01T10:00:00", "m1", text="链接"), msg("01T10:00:30", "m2", text="链接", name="小王"), msg("01T10:05:00", "m2", text="好的"), msg("02T10:00:00", "m2", text="链接")]
    result = plan(config, events, explain=True)
    assert task_keys(result, "member", "due") == [("m1", "2026-03-01T10:00:00+08:00"), ("m2", "2026-03-01T10:10:00+08:00")]
    assert [item.guardrail for item in result.suppressed] == []
    cuts = [held(config, [events[:cut], events[cut:]], tmp_path / f"cut{cut}.db") for cut in range(1, len(events))]
    assert all(cut == sorted(task_keys(result, "id", "due", "text")) for cut in cuts)


def test_a_becomes_task_pace_moves_past_the_members_message_is_asked_again(make_config):
    """m1 and m2 both turn three days silent at 10:00 on the 4th; pace puts m2's DM at 10:10.
    m2 writes at 10:05: she is no longer silent, and her "好久不见" is dropped — as a `silence`
    nudge would be — rather than sent five minutes after she spoke."""
    rule = "playbook: p\nrules:\n  - id: quiet\n    when: {becomes: \"member.days_silent >= 3\"}\n    do:\n      - dm: 好久不见\n"
    result = plan(make_config({"p.yaml": rule}, PACED), [msg("01T10:00:00", "m1"), msg("01T10:00:00", "m2"), msg("04T10:05:00", "m2"), msg("05T12:00:00", "m3")], explain=True)
    assert task_keys(result, "member", "due") == [("m1", "2026-03-04T10:00:00+08:00")]
    assert [item.reason for item in result.suppressed if item.guardrail == "stale"] == ["stale: m2 wrote at 2026-03-04 10:05, and `member.days_silent >= 3` no longer holds for m2"]


def test_tasks_marked_done_are_slots_the_next_runs_layout_keeps_clear_not_its_start(make_config, tmp_path):
    """A night's run prints three greetings of 1 March for a paced operator (10:00, 12:00, 21:00);
    in the morning she marks the 12:00 and 21:00 ones done. The next night's run settles 1 March
    again: the 10:00 one stays where it was. Before, the marked tasks set where the day's layout
    started (after 21:00): the 10:00 one went to the next morning, past its deadline, and was
    taken back as displaced by "more pressing tasks"."""
    rule = "playbook: p\nrules:\n  - id: hi\n    when: {event: message}\n    deadline: 1d\n    do:\n      - mention: 早\n"
    config = make_config({"p.yaml": rule}, PACED)
    first = [msg("01T10:00:00", "m1"), msg("01T12:00:00", "m2"), msg("01T21:00:00", "m3")]
    path = str(tmp_path / "ops.db")
    store = StateStore.open(path)
    night = run(config, records(first), state=store)
    night.save_state()
    store.close()
    assert task_keys(night, "member", "due") == [("m1", "2026-03-01T10:00:00+08:00"), ("m2", "2026-03-01T12:00:00+08:00"), ("m3", "2026-03-01T21:00:00+08:00")]
    connection = sqlite3.connect(path)
    connection.executemany("UPDATE tasks SET status = 'done' WHERE id = ?", [(task.id,) for task in night.tasks[1:]])
    connection.commit()
    connection.close()
    store = StateStore.open(path)
    next_night = run(config, records([msg("02T10:00:00", "m4")]), state=store)
    next_night.save_state()
    store.close()
    assert next_night.planner.displaced == [] and next_night.planner.taken_back() == []
    assert [task.id for task in next_night.tasks if task.member == "m1"] == []  # not printed again: unchanged


def test_an_at_pace_lays_out_after_the_plan_removed_its_member_is_dropped(make_config):
    """Fuzzing (review 18): the answer to 小王's "大家好" waited in the operator's pace queue until
    11:00; the plan removed her from the group at 09:30 (she posted an ad): an @ for someone no
    longer in the group. A removal the plan makes is a leaving, as a member_left is."""
    from tests.conftest import COMMUNITY
    from tests.test_triggers import msg

    rules = {
        "i.yaml": 'playbook: i\nrules:\n  - id: hi\n    when: {event: message, keywords: [大家好]}\n    do:\n      - mention: "@{{ member.name }} 欢迎欢迎"\n',
        "s.yaml": 'playbook: s\nrules:\n  - id: spam\n    when: {event: message, keywords: [广告]}\n    priority: urgent\n    do:\n      - remove: "发广告"\n',
    }
    config = make_config(rules, COMMUNITY.replace("groups: [g1]}", "groups: [g1], pace: 30m}"))
    events = [msg(f"01T09:00:0{n}", f"m{n}", text="大家好") for n in (2, 3, 4)]
    events += [msg("01T09:00:05", "m1", name="小王", text="大家好"), msg("01T09:10:00", "m1", text="广告")]
    result = plan(config, events, explain=True)
    assert task_keys(result, "rule", "member") == [("hi", "m2"), ("spam", "m1"), ("hi", "m3"), ("hi", "m4")]
    assert [(item.guardrail, item.task.member, item.reason) for item in result.suppressed] == [("stale", "m1", "stale: 小王 is no longer in g1: removed by the plan at 2026-03-01 09:10")]


def test_max_delay_counts_from_the_offered_due_across_a_pace_into_the_next_day(make_config):
    """Fuzzing (review 18): capacity carried a task a day, pace then pushed it past midnight, and
    capacity carried it again — four days late with `max_delay: 3d`: pace's carry had restarted
    the count. It counts from the due as offered: past max_delay the task is dropped."""
    from tests.conftest import COMMUNITY
    from tests.test_triggers import msg

    rules = {
        "l.yaml": 'playbook: l\nrules:\n  - id: low\n    when: {event: message, keywords: [L]}\n    priority: low\n    deadline: 10d\n    do:\n      - dm: "hi"\n',
        "h.yaml": 'playbook: h\nrules:\n  - id: high\n    when: {event: message, keywords: [H]}\n    priority: high\n    deadline: 10d\n    do:\n      - mention: "@{{ member.name }}"\n',
    }
    config = make_config(rules, COMMUNITY.replace("groups: [g1]}", "groups: [g1], capacity: 2, pace: 5h}") + "  max_delay: 1d\n")
    events = [msg("01T12:00:00", "m1", text="L"), msg("01T12:00:01", "m2", text="L"), msg("01T20:00:00", "m3", text="L"),
              msg("02T19:30:00", "m4", text="H"), msg("03T09:00:00", "m5", text="H"), msg("03T09:01:00", "m6", text="H"), msg("05T12:00:00", "m7", text="x")]
    result = plan(config, events, explain=True)
    # m3's DM: capacity to the 2nd 20:00, pace to the 3rd 00:30, the 3rd full: a day after the
    # 2nd's 20:00 would be the 4th 00:30, 52.5 hours after it was offered.
    assert [member for (member,) in task_keys(result, "member")] == ["m1", "m2", "m4", "m5", "m6"]
    assert [(item.guardrail, item.task.member) for item in result.suppressed if item.guardrail == "capacity"] == [("capacity", "m3")]


def test_pace_does_not_move_a_task_into_a_limits_window_of_its_members_other_tasks(make_config):
    """Fuzzing (review 18), `limits: [{actions: [dm], max: 1, per: 1d}]`: 小王's DM due at 08:00
    on the 1st, and one planned that night for 09:30 on the 2nd (25.5 hours after it: within the
    limit when offered); pace then laid the 1st's out at 10:00, 23.5 hours before the 2nd's: two
    DMs within a day. A task pace would move into such a window is dropped (`limit`)."""
    from tests.conftest import COMMUNITY
    from tests.test_triggers import msg

    rules = {
        "a.yaml": 'playbook: a\nrules:\n  - id: hi\n    when: {event: message, keywords: [早]}\n    do:\n      - dm: "早"\n',
        "b.yaml": 'playbook: b\nrules:\n  - id: night\n    when: {event: message, keywords: [晚安]}\n    delay: 10h\n    do:\n      - dm: "昨晚睡得好吗"\n',
        "n.yaml": 'playbook: n\nrules:\n  - id: note\n    when: {event: message, keywords: [问]}\n    priority: high\n    do:\n      - notify: "看看"\n',
    }
    settings = COMMUNITY.replace("groups: [g1]}", "groups: [g1], pace: 1h}") + "  limits:\n    - {actions: [dm], max: 1, per: 1d}\n"
    config = make_config(rules, settings)
    events = [msg("01T08:00:00", "m2", text="问"), msg("01T08:00:01", "m3", text="问"), msg("01T08:00:02", "m1", name="小王", text="早"), msg("01T23:30:00", "m1", text="晚安"), msg("03T12:00:00", "m4", text="hi")]
    result = plan(config, events, explain=True)
    dms = [task for task in result.tasks if task.action == "dm"]
    assert [(task.rule, task.record(config.community.tz)["due"][5:16]) for task in dms] == [("night", "03-02T09:30")]
    assert [(item.guardrail, item.task.rule) for item in result.suppressed] == [("limit", "hi")]


def test_a_note_goes_with_the_dm_pace_drops_for_a_limit(make_config, tmp_path):
    """Fuzzing (review 19): as above, with the morning rule's note to the operator "已私信 小王"
    beside its DM. Pace laid the note out first, then dropped the DM (`limit`): the note was
    printed all the same (and missing from --state), an instruction about a DM nobody sends. It
    goes with the DM now, said with the DM's reason."""
    from tests.conftest import COMMUNITY
    from tests.test_triggers import msg

    rules = {
        "a.yaml": 'playbook: a\nrules:\n  - id: hi\n    when: {event: message, keywords: [早]}\n    do:\n      - dm: "早"\n      - notify: "已私信 {{ member.name }}"\n',
        "b.yaml": 'playbook: b\nrules:\n  - id: night\n    when: {event: message, keywords: [晚安]}\n    delay: 10h\n    do:\n      - dm: "昨晚睡得好吗"\n',
        "n.yaml": 'playbook: n\nrules:\n  - id: note\n    when: {event: message, keywords: [问]}\n    priority: high\n    do:\n      - notify: "看看"\n',
        "z.yaml": 'playbook: z\nrules:\n  - id: last\n    when: {event: message, keywords: [嗨]}\n    priority: low\n    do:\n      - dm: "嗨"\n',
    }
    settings = COMMUNITY.replace("groups: [g1]}", "groups: [g1], pace: 1h}") + "  limits:\n    - {actions: [dm], max: 1, per: 1d}\n"
    config = make_config(rules, settings)
    events = [msg("01T08:00:00", "m2", text="问"), msg("01T08:00:01", "m3", text="问"), msg("01T08:00:02", "m1", name="小王", text="早"), msg("01T08:00:03", "m5", text="嗨"), msg("01T23:30:00", "m1", text="晚安"), msg("03T12:00:00", "m4", text="hi")]
    result = plan(config, events, explain=True)
    assert [(task.rule, task.action) for task in result.tasks if task.member == "m1"] == [("night", "dm")]
    # the note, still to be laid out when the DM was dropped, took no slot: m5's DM is laid
    # out where 小王's was to go
    assert [task.record(config.community.tz)["due"][5:16] for task in result.tasks if task.member == "m5"] == ["03-01T10:00"]
    assert sorted((item.guardrail, item.task.rule, item.task.action) for item in result.suppressed) == [("limit", "hi", "dm"), ("limit", "hi", "notify")]
    store = StateStore.open(str(tmp_path / "ops.db"))
    saved = plan(config, events, state=store)
    saved.save_state()
    store.close()
    assert [task.id for task in saved.tasks] == [task.id for task in result.tasks]
    assert {row[0] for row in sqlite3.connect(tmp_path / "ops.db").execute("SELECT id FROM tasks")} >= {task.id for task in result.tasks}


def test_nightly_runs_count_a_task_pace_moved_into_the_next_day_where_pace_put_it(make_config, tmp_path):
    """Fuzzing (review 19): 大徐 joins at 20:32, after 周晨; at a pace of 1 h (capacity 14) into quiet hours
    from 21:00, her welcome is laid out the next morning at 09:00, the DM asking her to introduce
    herself at 11:00. With at most 2 tasks in 3 days, the reminder three days after she joined
    (20:32 on the 4th, exactly three days after she was offered the welcome) is one too many: one run drops
    it. A night ending on the 2nd left that day open; the next night reopened the welcome
    counted at 20:32, its due as offered, and printed the reminder."""
    rules = {
        "w.yaml": (
            "playbook: w\nrules:\n"
            "  - id: welcome\n    when: {event: member_joined}\n    priority: high\n    do:\n      - mention: \"欢迎 {{ member.name }}\"\n"
            "  - id: intro\n    when: {event: member_joined}\n    do:\n      - dm: 介绍一下自己吧\n"
            "  - id: first\n    when: {after_join: 3d}\n    if: member.messages == 0\n    priority: low\n    do:\n      - dm: 还好吗\n"
        ),
    }
    from tests.conftest import COMMUNITY

    settings = COMMUNITY.replace("groups: [g1]}", "groups: [g1], capacity: 14, pace: 1h}") + '  merge: []\n  quiet_hours: "21:00-09:00"\n  limits:\n    - {actions: any, max: 2, per: 3d}\n'
    config = make_config(rules, settings)
    nights = [
        [joined("01T20:31:52", "m28"), joined("01T20:32:24", "m136"), msg("02T16:00:13", "m356")],
        [msg("04T09:34:15", "m356"), msg("04T20:37:23", "m357")],
    ]
    whole = plan(config, [event for night in nights for event in night], explain=True)
    assert ("first", "m136", "limit") in {(item.task.rule, item.task.member, item.guardrail) for item in whole.suppressed}
    assert held(config, nights, tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))


def test_a_note_goes_with_the_task_pace_finds_stale(make_config):
    """Fuzzing (review 19, c47070): "移出前先截图…" laid out at 10:00, the removal it is about at
    11:00 — found stale there (the member wrote at 10:30, and its `if:` no longer holds). The note
    about a removal nobody does goes with it."""
    from tests.conftest import COMMUNITY
    from tests.test_triggers import msg

    rules = {
        "r.yaml": 'playbook: r\nrules:\n  - id: spam\n    when: {event: message, keywords: [链接]}\n    if: member.messages < 3\n    do:\n      - notify: "移出前先截图 {{ member.name }}"\n      - dm: "请不要发链接"\n',
        "n.yaml": 'playbook: n\nrules:\n  - id: note\n    when: {event: message, keywords: [急]}\n    priority: urgent\n    do:\n      - notify: "看看"\n',
    }
    config = make_config(rules, COMMUNITY.replace("groups: [g1]}", "groups: [g1], pace: 1h}"))
    events = [msg("01T09:00:00", "m2", text="急"), msg("01T09:00:01", "m1", name="小王", text="链接"), msg("01T10:30:00", "m1"), msg("01T10:31:00", "m1"), msg("02T12:00:00", "m3")]
    result = plan(config, events, explain=True)
    assert [(task.rule, task.action) for task in result.tasks if task.member == "m1"] == []
    assert sorted((item.task.action, item.guardrail) for item in result.suppressed if item.task.member == "m1") == [("dm", "stale"), ("notify", "stale")]


def test_every_part_of_a_paced_message_is_stale_once_its_member_wrote(make_config):
    """Fuzzing (review 20): 大胡's silence DM and the reward of the same firing, one message due
    at 08:00, laid out by pace at 11:00; he wrote at 10:30. The DM was dropped as stale and the
    reward went out alone at 11:00 — after he wrote: merged into the message, it was no longer
    told of his messages."""
    rule = (
        "playbook: s\nrules:\n  - id: quiet\n    when: {silence: 3d}\n    do:\n"
        "      - dm: \"{{ member.name }}，好久没见你说话啦\"\n      - reward: {points: 10, text: \"送你 10 积分\"}\n"
    )
    community = "community:\n  name: t\n  timezone: Asia/Shanghai\n  quiet_hours: \"22:00-08:00\"\n  merge: [dm, reward]\n  operators:\n    - {id: op, groups: [g1], pace: 20m}\n"
    config = make_config({"s.yaml": rule}, community)
    joins = [{"ts": f"2026-03-01T21:{minute:02d}:00+08:00", "type": "member_joined", "group": "g1", "member": f"m{minute}"} for minute in range(12)]
    late = {"ts": "2026-03-01T21:30:00+08:00", "type": "member_joined", "group": "g1", "member": "m99", "name": "大胡"}
    wrote = {"ts": "2026-03-05T10:30:00+08:00", "type": "message", "group": "g1", "member": "m99", "text": "可以看看群文件"}
    result = plan(config, [*joins, late, wrote], explain=True)
    assert len([task for task in result.tasks if task.member != "m99"]) == 12
    assert [(task.action, task.record(config.community.tz)["due"]) for task in result.tasks if task.member == "m99"] == []
    assert sorted((item.task.action, item.guardrail) for item in result.suppressed if item.task.member == "m99") == [("dm", "stale"), ("reward", "stale")]


def test_the_notes_of_a_dm_merged_into_a_message_pace_drops_past_its_deadline_go_with_it(make_config):
    """Fuzzing (review 21, c6161079): the 需求回访 DM (asked at 10:01, due 10:11) merged into the
    weekly DM due 10:05 (deadline 10:30), which pace laid out at 10:59, past its deadline; the
    message went, the DM in it too — and the note "已私信问 小王…" stayed on the list. It goes with
    them now, as with a message capacity drops."""
    from tests.conftest import COMMUNITY

    rules = {
        "w.yaml": 'playbook: w\nrules:\n  - id: weekly\n    when: {event: message, keywords: [周]}\n    delay: 5m\n    deadline: 30m\n    do:\n      - dm: "本周书单"\n',
        "a.yaml": 'playbook: a\nrules:\n  - id: ask\n    when: {event: message, keywords: [问]}\n    delay: 10m\n    do:\n      - dm: "最近想读什么？"\n      - notify: "已私信问 {{ member.name }}"\n',
        "u.yaml": 'playbook: u\nrules:\n  - id: note\n    when: {event: message, keywords: [急]}\n    priority: urgent\n    do:\n      - notify: "看看"\n',
    }
    config = make_config(rules, COMMUNITY.replace("groups: [g1]}", "groups: [g1], pace: 1h}"))
    events = [msg("01T09:59:00", "m2", text="急"), msg("01T10:00:00", "m1", name="小王", text="周"), msg("01T10:01:00", "m1", text="问"), msg("02T12:00:00", "m3")]
    result = plan(config, events, explain=True)
    assert [(task.rule, task.action) for task in result.tasks if task.member == "m1"] == []
    dropped = sorted((item.task.rule, item.task.action, item.guardrail) for item in result.suppressed if item.task.member == "m1")
    assert dropped == [("ask", "dm", "deadline"), ("ask", "notify", "deadline"), ("weekly", "dm", "deadline")]
    assert result.planner.suppressed_counts["deadline"] == 3 and "merged" not in result.planner.suppressed_counts


def test_a_paced_message_past_a_parts_deadline_goes_on_without_that_part(make_config):
    """The 需求回访 DM due at 10:00 took in a reminder with a 30-minute deadline; pace lays the
    message at 10:59, past the reminder's deadline but not the DM's: the reminder is dropped
    (deadline) and the DM goes at 10:59, its note after it — as when capacity moves a message."""
    from tests.conftest import COMMUNITY

    rules = {
        "w.yaml": 'playbook: w\nrules:\n  - id: remind\n    when: {event: message, keywords: [周]}\n    delay: 5m\n    deadline: 30m\n    do:\n      - dm: "今晚共读别忘了"\n',
        "a.yaml": 'playbook: a\nrules:\n  - id: ask\n    when: {event: message, keywords: [问]}\n    do:\n      - dm: "最近想读什么？"\n      - notify: "已私信问 {{ member.name }}"\n',
        "u.yaml": 'playbook: u\nrules:\n  - id: note\n    when: {event: message, keywords: [急]}\n    priority: urgent\n    do:\n      - notify: "看看"\n',
    }
    config = make_config(rules, COMMUNITY.replace("groups: [g1]}", "groups: [g1], pace: 1h}"))
    events = [msg("01T09:58:00", "m1", name="小王", text="周"), msg("01T09:59:00", "m2", text="急"), msg("01T10:00:00", "m1", text="问"), msg("02T12:00:00", "m3")]
    result = plan(config, events, explain=True)
    tz = config.community.tz
    assert [(task.rule, task.action, task.record(tz)["due"], task.text, task.parts) for task in result.tasks if task.member == "m1"] == [
        ("ask", "dm", "2026-03-01T10:59:00+08:00", "最近想读什么？", []), ("ask", "notify", "2026-03-01T11:59:00+08:00", "已私信问 小王", []),
    ]
    (dropped,) = [item for item in result.suppressed if item.task.member == "m1"]
    assert (dropped.task.rule, dropped.guardrail) == ("remind", "deadline") and "2026-03-01 10:59" in dropped.reason
    assert "merged" not in result.planner.suppressed_counts


def test_a_paced_message_that_loses_a_part_says_each_of_the_others_once(make_config):
    """Fuzzing (review 21, c6363012): 小王's message — the 书单 DM, its reward and a newcomer DM —
    is laid out by pace at 10:59; by then she has written twice more and the newcomer DM no longer
    holds. The message, joined again without it, kept the joined text as its own and said the
    书单 and the reward twice."""
    from tests.conftest import COMMUNITY

    rules = {
        "a.yaml": 'playbook: a\nrules:\n  - id: books\n    when: {event: message, keywords: [书]}\n    do:\n      - dm: "{{ member.name }}，书单发你了"\n      - reward: {points: 5, text: "送你 5 积分"}\n',
        "b.yaml": 'playbook: b\nrules:\n  - id: newbie\n    when: {event: message, keywords: [书]}\n    if: member.messages < 2\n    do:\n      - dm: "欢迎新朋友"\n',
        "u.yaml": 'playbook: u\nrules:\n  - id: note\n    when: {event: message, keywords: [急]}\n    priority: urgent\n    do:\n      - notify: "看看"\n',
    }
    community = COMMUNITY.replace("groups: [g1]}", "groups: [g1], pace: 2h}") + "  merge: [dm, reward]\n"
    config = make_config(rules, community)
    events = [msg("01T08:59:00", "m2", text="急"), msg("01T09:00:00", "m1", name="小王", text="有书单吗"), msg("01T09:10:00", "m1", text="谢谢"), msg("01T09:20:00", "m1", text="好的"), msg("02T12:00:00", "m3")]
    result = plan(config, events, explain=True)
    (message,) = [task for task in result.tasks if task.member == "m1"]
    assert (message.record(config.community.tz)["due"], message.text) == ("2026-03-01T10:59:00+08:00", "小王，书单发你了\n\n送你 5 积分")
    assert [part["rule"] for part in message.parts] == ["a/books", "a/books"]


def test_a_printed_dm_that_carries_a_paced_message_after_its_first_part_went_stale_stays_printed(make_config, tmp_path):
    """Fuzzing (review 21, c6565041): last night's run printed 小王's 书单 DM for 10:00. Tonight's
    run merges it into her 09:00 silence DM; pace lays the message at 09:59, when the silence DM
    is stale (she wrote at 09:30), and the 书单 DM carries the message. It was
    printed again at 09:59 and said to be taken back ("merged into …") at once, and kept as merged
    in the state, where `deliver` skips it. Now it is printed again, changed, and kept to do."""
    rules = {
        "q.yaml": 'playbook: q\nrules:\n  - id: quiet\n    when: {silence: 1d}\n    do:\n      - dm: "好久不见"\n',
        "b.yaml": 'playbook: b\nrules:\n  - id: later\n    when: {event: message, keywords: [书单]}\n    delay: 1d1h\n    deadline: 2d\n    do:\n      - dm: "书单发你"\n',
        "u.yaml": 'playbook: u\nrules:\n  - id: note\n    when: {event: message, keywords: [急]}\n    priority: urgent\n    do:\n      - notify: "看看"\n',
    }
    community = "community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: [dm]\n  operators:\n    - {id: op, groups: [g1], pace: 1h}\n"
    config = make_config(rules, community)
    night = [msg("01T09:00:00", "m1", name="小王", text="有书单吗"), msg("01T20:00:00", "m9", text="晚安")]
    day = [msg("02T08:59:00", "m2", text="急"), msg("02T09:30:00", "m1", text="在吗"), msg("03T12:00:00", "m9", text="hi")]
    whole = plan(config, night + day)
    tz = config.community.tz
    assert [(task.record(tz)["due"], task.parts) for task in whole.tasks if task.rule == "later"] == [("2026-03-02T09:59:00+08:00", [])]
    path = tmp_path / "ops.db"
    assert held(config, [night, day], path) == sorted(task_keys(whole, "id", "due", "text"))
    with sqlite3.connect(path) as db:
        assert list(db.execute("SELECT status FROM tasks WHERE rule = 'b/later'")) == [("todo",)]


def test_a_note_laid_out_before_the_message_that_drops_its_dm_goes_with_the_dm(make_config):
    """Fuzzing (c6868087): 小王's "书" DM (deadline a day) is merged into her thank-you reward of
    the same day; op's two slots that day are taken, and both the message and the DM's note
    ("已私信问 小王…") go to 08:00 the next morning. Pace (2 h) lays the note out at 08:00 and the
    message at 10:00, past the DM's deadline: the DM leaves the message, and its note goes with
    it — it was left in the plan, telling the operator of a DM nobody sends."""
    rules = {"p.yaml": """\
playbook: p
rules:
  - id: urgent
    when: {event: message, keywords: [急]}
    priority: urgent
    do: [{notify: 看一下}]
  - id: ask
    when: {event: message, keywords: [书]}
    delay: 2h
    deadline: 1d
    do:
      - dm: 最近想读什么？
      - notify: 已私信问 {{ member.name }}，回复后记进档案
  - id: thank
    when: {event: message, keywords: [早]}
    do: [{reward: {points: 5, text: 送你 5 积分}}]
"""}
    community = PACED.replace("pace: 10m}", "capacity: 2, pace: 2h}").replace("merge: []", "merge: [dm, reward]")
    config = make_config(rules, community)
    events = [msg("01T07:00:00", "m8", text="急"), msg("01T07:01:00", "m9", text="急"), msg("01T09:00:00", "m1", text="书", name="小王"), msg("01T10:00:00", "m1", text="早"), msg("03T10:00:00", "m2")]
    result = plan(config, events, explain=True)
    assert [(task.rule, task.action, task.member) for task in result.tasks] == [("urgent", "notify", "m8"), ("urgent", "notify", "m9"), ("thank", "reward", "m1")]
    assert sorted((item.task.rule, item.task.action, item.guardrail) for item in result.suppressed if item.task.member == "m1") == [("ask", "dm", "deadline"), ("ask", "notify", "deadline")]


def test_what_is_left_of_an_urgent_message_pace_moves_into_quiet_hours_waits_for_their_end(make_config):
    """Fuzzing (c7070033): m1's urgent DM and low tip, due 22:30, are one message, urgent: not
    held by quiet hours (from 23:00). Pace lays it out at 23:25, after 急 at 22:25; m1 wrote at
    23:00, so the urgent part is stale there. The tip went on alone at 23:25, in the night; on
    its own, pace would have moved it to the end of quiet hours, as it does now."""
    rules = (
        "playbook: p\nrules:\n"
        "  - id: rush\n    when: {silence: 1d}\n    priority: urgent\n    do: [{dm: 在吗}]\n"
        "  - id: tip\n    when: {silence: 1d}\n    priority: low\n    recheck: false\n    deadline: 3d\n    do: [{dm: 看看书}]\n"
        "  - id: hot\n    when: {event: message, keywords: [急]}\n    priority: urgent\n    do: [{notify: 急}]\n"
    )
    community = PACED.replace("22:00-08:00", "23:00-08:00").replace("merge: []", "merge: [dm]").replace("pace: 10m", "pace: 1h")
    result = plan(make_config({"p.yaml": rules}, community), [msg("01T22:30:00", "m1"), msg("02T22:25:00", "m2", text="急"), msg("02T23:00:00", "m1")], explain=True)
    assert task_keys(result, "rule", "member", "due")[:2] == [("hot", "m2", "2026-03-02T22:25:00+08:00"), ("tip", "m1", "2026-03-03T08:00:00+08:00")]
    assert result.tasks[1].moved == ["pace of op: moved from 2026-03-02 22:30 to 2026-03-02 23:25", "quiet hours: moved from 2026-03-02 23:25 to 2026-03-03 08:00"]
    assert [(item.task.rule, item.task.member, item.guardrail) for item in result.suppressed if item.task.member == "m1"] == [("rush", "m1", "stale")]


TWO_DMS = """\
playbook: p
rules:
  - id: nudge
    when: {silence: 1d}
    cooldown: 3d
    deadline: 3d
    do:
      - dm: "hi {{ member.name }}"
      - dm: "how are you, {{ member.name }}?"
"""


def test_a_merged_nudge_pace_moves_past_the_members_message_stays_dropped_with_its_parts_in_daily_runs(make_config, tmp_path):
    """m1's two DMs of one silence go out as one message, which capacity carries to the next
    morning, past the end of the nightly run: that run leaves its day open. The next run's
    urgent tasks fill that day, and the message is carried on again to the morning after. There
    m1 writes two seconds after the first slot, and pace lists the message ten minutes later:
    it is stale, and so is its second DM — the run must not send that DM on its own instead.
    Nor does the nudge, never sent, hold the rule's cooldown: m1's next silence is nudged the
    day after, as in one run."""
    files = {"a.yaml": TWO_DMS, "b.yaml": one_rule("{event: message, keywords: [急]}", playbook="b", priority="high")}
    config = make_config(files, PACED.replace("merge: []", "merge: [dm]").replace("pace: 10m}", "pace: 10m, capacity: 2}"))
    tick = {"type": "profile", "member": "m9", "group": "g2", "attributes": {}}
    night = [msg("01T07:00:00", "m2"), msg("01T07:10:00", "m3"), msg("01T09:00:00", "m1"), {**tick, "ts": "2026-03-03T07:00:00+08:00"}]
    days = [msg("03T07:30:00", "m5", text="急"), msg("03T07:40:00", "m7", text="急"), msg("04T07:00:00", "m8", text="急"), msg("04T08:00:02", "m1"), {**tick, "ts": "2026-03-04T09:00:00+08:00"}]
    later = [{**tick, "ts": "2026-03-05T09:00:00+08:00"}, {**tick, "ts": "2026-03-06T09:00:00+08:00"}]
    whole = plan(config, night + days + later, explain=True)
    assert [key for key in task_keys(whole, "playbook", "member", "due") if key[1] == "m1"] == [("p", "m1", "2026-03-06T08:10:00+08:00")]
    assert [(item.task.member, item.guardrail, item.reason) for item in whole.suppressed if item.task.member == "m1"][:2] == [("m1", "stale", "stale: m1 wrote at 2026-03-04 08:00")] * 2
    for number, pieces in enumerate(([night, days, later], [night, days + later])):
        assert held(config, pieces, tmp_path / f"ops{number}.db") == sorted(task_keys(whole, "id", "due", "text")), number


def test_a_dm_pace_takes_into_a_later_message_is_not_counted_against_itself_by_the_limits(make_config):
    """Fuzzing (seed 82421): at most 2 DMs and @s a week. Pace lays m1's reward out at 13:00,
    after her welcome DM and @ were triggered at 12:20: the reward takes the DM in (one member,
    one message a day). Asking whether the DM may join, the limit counted the DM itself beside
    the @ — two — and sent m1 a second private message at 15:00."""
    rules = (
        "playbook: p\nrules:\n"
        "  - id: thanks\n    when: {event: message, keywords: [书]}\n    deadline: 12h\n    do: [{reward: {points: 5, text: 谢谢}}]\n"
        "  - id: welcome\n    when: {after_join: 1d}\n    deadline: 12h\n    do: [{dm: 好久不见}, {mention: 你好}]\n"
    )
    community = (
        "community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: [dm, reward]\n  limits:\n    - {actions: [dm, mention], max: 2, per: 7d}\n"
        "  operators:\n    - {id: op, groups: [g1], pace: 2h}\n"
    )
    config = make_config({"p.yaml": rules}, community)
    events = [joined("01T12:20:00", "m1"), msg("02T09:00:00", "m2", text="书"), msg("02T09:00:01", "m3", text="书"), msg("02T09:00:02", "m1", text="书"), msg("03T12:00:00", "m4")]
    result = plan(config, events)
    assert [(task.action, task.record(config.community.tz)["due"][5:16], [part["rule"] for part in task.parts]) for task in result.tasks if task.member == "m1"] == [
        ("reward", "03-02T13:00", ["p/thanks", "p/welcome"]), ("mention", "03-02T15:00", []),
    ]
