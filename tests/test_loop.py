"""The loop back: a member's message after a task marked done is their reply (outcome
`replied`, saved by --state), and `until: replied` ends a playbook's sequence for them."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest

from playbook_engine.errors import InvalidPlaybooks
from playbook_engine.replies import Replies
from playbook_engine.runner import run
from playbook_engine.state import StateStore
from tests.conftest import config_from, records, task_keys
from tests.test_daily_texts import held

DAY = 86400

SEQUENCE = """\
playbook: winback
rules:
  - id: first
    when: {event: member_joined}
    do: [{dm: "欢迎～"}]
  - id: second
    when: {after_join: 2d}
    until: replied
    do: [{dm: "这两天感觉怎么样？"}]
"""
COMMUNITY = "community:\n  name: t\n  timezone: Asia/Shanghai\n"


def event(ts: str, kind: str = "message", member: str = "m1", **fields) -> dict:
    return {"ts": f"2026-03-{ts}+08:00", "type": kind, "group": "g1", "member": member, **fields}


def state_run(config, path, events):
    store = StateStore.open(str(path))
    result = run(config, records(events), state=store)
    result.save_state()
    store.close()
    return result


def tasks(path) -> dict[str, tuple]:
    connection = sqlite3.connect(path)
    try:
        return {rule: (status, outcome, outcome_at) for rule, status, outcome, outcome_at in connection.execute("SELECT rule, status, outcome, outcome_at FROM tasks")}
    finally:
        connection.close()


def mark(path, rule: str, status: str, at: float, outcome: str | None = None) -> None:
    connection = sqlite3.connect(path)
    connection.execute("UPDATE tasks SET status = ?, marked_at = ?, outcome = ?, outcome_at = ? WHERE rule = ?", (status, at, outcome, at if outcome else None, rule))
    connection.commit()
    connection.close()


MARCH_1_NOON = 1772337600.0  # 2026-03-01 12:00 +08:00


@pytest.fixture
def config(tmp_path):
    return config_from({"winback.yaml": SEQUENCE}, COMMUNITY, tmp_path / "pb")


def test_a_message_after_a_task_marked_done_is_its_reply_and_ends_the_sequence(config, tmp_path):
    path = tmp_path / "s.db"
    state_run(config, path, [event("01T09:00:00", "member_joined"), event("01T10:00:00", member="m2")])
    mark(path, "winback/first", "done", MARCH_1_NOON)
    second = state_run(config, path, [event("02T08:00:00"), event("04T10:00:00", member="m2")])
    assert tasks(path)["winback/first"] == ("done", "replied", MARCH_1_NOON + 20 * 3600)  # 03-02 08:00
    assert second.tasks == []
    assert [(item.task.rule, item.reason) for item in second.suppressed] == [("second", "stale: until replied: m1 replied to winback at 2026-03-02 08:00")]


def test_without_a_reply_the_sequence_goes_on(config, tmp_path):
    path = tmp_path / "s.db"
    state_run(config, path, [event("01T09:00:00", "member_joined"), event("01T10:00:00", member="m2")])
    mark(path, "winback/first", "done", MARCH_1_NOON)
    second = state_run(config, path, [event("04T10:00:00", member="m2")])  # m1 never writes
    assert [task.rule for task in second.tasks] == ["second"]
    assert tasks(path)["winback/first"] == ("done", None, None)


def test_a_message_before_the_task_was_done_or_after_the_window_is_no_reply(config, tmp_path):
    path = tmp_path / "s.db"
    state_run(config, path, [event("01T09:00:00", "member_joined"), event("01T10:00:00", member="m2")])
    mark(path, "winback/first", "done", MARCH_1_NOON + 5 * DAY)  # marked done on the 6th
    second = state_run(config, path, [event("02T08:00:00"), event("04T10:00:00", member="m2")])
    assert [task.rule for task in second.tasks] == ["second"]  # the 2nd's message came before
    assert tasks(path)["winback/first"] == ("done", None, None)


def test_a_reply_the_operator_marked_ends_the_sequence_too(config, tmp_path):
    path = tmp_path / "s.db"
    state_run(config, path, [event("01T09:00:00", "member_joined"), event("01T10:00:00", member="m2")])
    mark(path, "winback/first", "done", MARCH_1_NOON, outcome="replied")  # answered in private
    second = state_run(config, path, [event("04T10:00:00", member="m2")])
    assert second.tasks == []


def test_an_unknown_until_is_an_error_at_its_place(tmp_path):
    with pytest.raises(InvalidPlaybooks) as raised:
        config_from({"winback.yaml": SEQUENCE.replace("until: replied", "until: answered")}, COMMUNITY, tmp_path / "pb")
    assert "winback.yaml:8:12: rules[1].until: `answered` is not a valid value for `until` — write one of: replied" in str(raised.value)


def test_replies_count_within_the_window_after_the_task_was_done():
    replies = Replies(3 * DAY)
    replies.restore([("m1", 100.0, "t-1", "p"), ("m1", 10 * DAY, "t-2", "p")], [])
    replies.message("m1", 50.0)  # before either was done
    replies.message("m1", 100.0 + 3 * DAY + 1)  # after t-1's window, before t-2 was done
    replies.message("m1", 10 * DAY + 60)
    assert replies.found == [("t-2", 10 * DAY + 60)]
    assert replies.awaiting == {}
    assert replies.since("m1", "p", 0, 20 * DAY) == 10 * DAY + 60 and replies.since("m1", "q", 0, 20 * DAY) is None
    # A reply later than the moment asked about (an operator marked it at a time the history has
    # not reached) hides none before it.
    replies.restore([], [("m1", "p", 30 * DAY)])
    assert replies.since("m1", "p", 0, 20 * DAY) == 10 * DAY + 60
    assert replies.since("m1", "p", 11 * DAY, 20 * DAY) is None


LOOP = """\
playbook: care
rules:
  - id: hello
    when: {event: member_joined}
    do: [{dm: "欢迎～"}]
  - id: nudge
    when: {event: message, keywords: [求助]}
    if: member.open_tasks == 0 and member.tasks_30d < 3
    do: [{dm: "我来帮你看看 (上次联系 {{ member.last_task_at }}, 上次完成 {{ member.last_done_at }}, 上次回复 {{ member.last_replied_at }})"}]
"""


def test_the_loop_fields_read_the_members_tasks_and_what_was_marked(tmp_path):
    config = config_from({"care.yaml": LOOP}, COMMUNITY, tmp_path / "pb")
    path = tmp_path / "s.db"
    # The welcome is still todo once its day's plan is final (midnight): an open task, so no
    # nudge the next morning.
    first = state_run(config, path, [event("01T09:00:00", "member_joined"), event("02T07:00:00", text="求助")])
    assert [task.rule for task in first.tasks] == ["hello"]
    mark(path, "care/hello", "done", MARCH_1_NOON)
    second = state_run(config, path, [event("02T08:00:00", text="求助")])  # 20 h after it was done: a reply
    (nudge,) = second.tasks
    assert nudge.text == "我来帮你看看 (上次联系 2026-03-01 09:00:00+08:00, 上次完成 2026-03-01 12:00:00+08:00, 上次回复 2026-03-02 08:00:00+08:00)"
    assert tasks(path)["care/hello"] == ("done", "replied", MARCH_1_NOON + 20 * 3600)


CONTACT = """\
playbook: care
rules:
  - id: note
    when: {event: message, keywords: [求助]}
    do: [{notify: "{{ member.name }} 在求助"}]
  - id: hello
    when: {event: message, keywords: [你好]}
    do: [{dm: "你好～"}]
  - id: ask
    when: {event: profile}
    do: [{dm: "上次任务 {{ member.last_task_at }}，上次联系 {{ member.last_contact_at }}"}]
"""


def test_last_contact_at_counts_the_tasks_that_reach_the_member_not_notes_about_her(tmp_path):
    """A notify about the member is a task for her (last_task_at), not a contact with her
    (last_contact_at): in one run, and read back from the state in the next."""
    config = config_from({"care.yaml": CONTACT}, COMMUNITY, tmp_path / "pb")
    history = [event("01T09:00:00", text="你好"), event("02T09:00:00", text="求助"), event("03T09:00:00", "profile")]
    (*_, ask) = run(config, records(history)).tasks
    assert ask.text == "上次任务 2026-03-02 09:00:00+08:00，上次联系 2026-03-01 09:00:00+08:00"
    path = tmp_path / "s.db"
    state_run(config, path, history[:2])
    (ask,) = state_run(config, path, history[2:]).tasks
    assert ask.text == "上次任务 2026-03-02 09:00:00+08:00，上次联系 2026-03-01 09:00:00+08:00"


def test_one_run_counts_its_own_tasks_once_their_day_is_planned(tmp_path):
    """Without a state every task is still todo: the nudge waits while one is open."""
    config = config_from({"care.yaml": LOOP}, COMMUNITY, tmp_path / "pb")
    result = run(config, records([event("01T09:00:00", "member_joined"), event("02T10:00:00", text="求助"), event("02T11:00:00", member="m2", text="求助")]))
    assert [(task.rule, task.member) for task in result.tasks] == [("hello", "m1"), ("nudge", "m2")]


def test_a_reply_between_the_check_and_where_pace_puts_the_task_ends_it(tmp_path):
    """Fuzzing (--marks, seed 91): m1's follow-up is checked at 09:00, when it is due, and pace
    lays it out at 11:00 behind two urgent notes. The operator marked m1's welcome `replied` at
    10:30: the follow-up went out anyway, its reply seen only by a check at 09:00."""
    community = "community:\n  name: t\n  timezone: Asia/Shanghai\n  operators:\n    - {id: op, pace: 1h}\n"
    urgent = "playbook: sla\nrules:\n  - id: urgent\n    when: {event: message, keywords: [急]}\n    priority: high\n    do: [{notify: 有人着急}]\n"
    config = config_from({"winback.yaml": SEQUENCE, "sla.yaml": urgent}, community, tmp_path / "pb")
    path = tmp_path / "s.db"
    state_run(config, path, [event("01T09:00:00", "member_joined"), event("01T10:00:00", member="m2")])
    mark(path, "winback/first", "done", MARCH_1_NOON + 2 * DAY - 5400, outcome="replied")  # 03-03 10:30, in private
    second = state_run(config, path, [event("03T09:00:00", member="m2", text="急"), event("03T09:00:00", member="m3", text="急"), event("04T10:00:00", member="m4")])
    assert [(task.rule, task.member) for task in second.tasks] == [("urgent", "m2"), ("urgent", "m3")]
    assert [(item.task.rule, item.reason) for item in second.suppressed] == [("second", "stale: until replied: m1 replied to winback at 2026-03-03 10:30")]


def test_a_reply_marked_later_than_the_history_hides_no_reply_before_it(tmp_path):
    """Fuzzing (--marks, seed 125): m1 replied to the welcome in private on the 1st, and the
    operator marked a later task `replied` at a time the history had not reached yet (her clock
    runs ahead of the export). The follow-up due on the 3rd saw only the latest reply, after it,
    and went out."""
    later = SEQUENCE.replace("  - id: second\n", "  - id: third\n    when: {event: message, keywords: [谢谢]}\n    do: [{dm: 不客气}]\n  - id: second\n")
    config = config_from({"winback.yaml": later}, COMMUNITY, tmp_path / "pb")
    path = tmp_path / "s.db"
    state_run(config, path, [event("01T09:00:00", "member_joined"), event("01T10:00:00", text="谢谢")])
    mark(path, "winback/first", "done", MARCH_1_NOON, outcome="replied")  # 03-01 12:00, in private
    mark(path, "winback/third", "done", MARCH_1_NOON + 9 * DAY, outcome="replied")  # marked with the 10th's time
    second = state_run(config, path, [event("04T10:00:00", member="m2")])
    assert second.tasks == []
    assert [(item.task.rule, item.reason) for item in second.suppressed] == [("second", "stale: until replied: m1 replied to winback at 2026-03-01 12:00")]


def test_a_printed_part_a_later_run_takes_back_is_no_open_task_once_its_day_is_settled(tmp_path):
    """Fuzzing (seed 159191): m2's unanswered question on the 13th plans a removal and a DM; the
    DM, carried on by Lily's one slot a day, was printed due on the 15th by the run that ended on
    the 14th, carrying its message. The next run settles the 15th again and takes it back
    (past its deadline). Just after midnight m2 asks again: `member.open_tasks < 2` holds — the
    removal is her one open task, as in one run — but the run counted the DM's row, still `todo`
    in the state, and planned nothing."""
    books = {
        "p.yaml": (
            "playbook: p\nrules:\n"
            "  - id: ask\n    when: {unanswered: 30m}\n    do:\n      - survey: {form: 'https://f.example/1', text: '{{ member.name }} 你好'}\n"
            "  - id: kick\n    when: {unanswered: 10m}\n    if: member.open_tasks < 2\n    delay: 1h\n    recheck: false\n    do:\n      - {remove: 发广告}\n      - {dm: 好久不见}\n"
        )
    }
    community = "community:\n  name: t\n  timezone: Asia/Shanghai\n  holdout: 10%\n  merge: [dm, reward, invite, survey]\n  operators:\n    - {id: op0, groups: [g1, g2], capacity: 1, pace: 30m, member: m1}\n"
    config = config_from(books, community, tmp_path / "pb")
    ask = "请问怎么报名？"

    def line(ts: str, member: str, group: str, text: str, **extra) -> dict:
        return {"ts": f"2026-02-{ts}+08:00", "type": "message", "group": group, "member": member, "text": text, **extra}

    nights = [
        [line("12T00:17:15", "m3", "g1", ask), line("13T16:28:00", "m2", "g2", ask), line("14T05:59:00", "m3", "g2", "滚")],
        [line("15T02:28:00", "m6", "g1", ask), line("16T00:07:00", "m2", "g1", ask), line("16T00:26:06", "m1", "g1", "好的", mentions=["m2"])],
    ]
    whole = run(config, records([item for night in nights for item in night]))
    assert [(task.action, task.record(config.community.tz)["due"][5:16]) for task in whole.tasks if task.member == "m2" and task.trigger_at > datetime.fromisoformat("2026-02-16T00:00:00+08:00").timestamp()] == [("remove", "02-16T01:17"), ("dm", "02-18T01:17")]
    assert held(config, nights, tmp_path / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))
