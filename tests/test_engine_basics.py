"""The first triggers end to end: joins are welcomed, silence fires once per stretch and re-arms."""

from __future__ import annotations

import pytest

from tests.conftest import plan, task_keys

WELCOME = """\
playbook: welcome
rules:
  - id: hello
    when: {event: member_joined}
    do:
      - mention: "欢迎 {{ member | mention }}"
      - tag: newbie
"""

SILENCE = """\
playbook: care
rules:
  - id: nudge
    when: {silence: 3d}
    do:
      - mention: "{{ member.name }} 好久不见"
"""


def msg(ts: str, member: str = "m1", **extra: str) -> dict:
    return {"ts": ts, "type": "message", "group": "g1", "member": member, "text": "hi", **extra}


def test_a_joining_member_gets_a_welcome_task_and_a_tag(make_config):
    config = make_config({"welcome.yaml": WELCOME})
    result = plan(config, [{"ts": "2026-03-01T10:00:00+08:00", "type": "member_joined", "group": "g1", "member": "m1", "name": "小王"}])
    assert task_keys(result, "rule", "action", "member", "text", "due", "assignee") == [
        ("hello", "mention", "m1", "欢迎 @小王", "2026-03-01T10:00:00+08:00", "op-lily")
    ]
    assert result.evaluation.members["m1"].tags == {"newbie"}


def test_silence_fires_exactly_once_per_silent_stretch(make_config):
    config = make_config({"care.yaml": SILENCE})
    result = plan(config, [msg("2026-03-01T09:00:00+08:00")], until=1e10)
    assert task_keys(result, "rule", "due") == [("nudge", "2026-03-04T09:00:00+08:00")]
    assert "silent 3d since 2026-03-01 09:00" in result.tasks[0].reason


def test_silence_is_rearmed_by_the_next_message(make_config):
    config = make_config({"care.yaml": SILENCE})
    events = [msg("2026-03-01T09:00:00+08:00"), msg("2026-03-06T08:00:00+08:00"), msg("2026-03-07T08:00:00+08:00")]
    result = plan(config, events, until=1e10)
    assert task_keys(result, "due") == [("2026-03-04T09:00:00+08:00",), ("2026-03-10T08:00:00+08:00",)]


def test_a_message_before_the_deadline_moves_it(make_config):
    config = make_config({"care.yaml": SILENCE})
    events = [msg("2026-03-01T09:00:00+08:00"), msg("2026-03-03T09:00:00+08:00")]
    result = plan(config, events, until=1e10)
    assert task_keys(result, "due") == [("2026-03-06T09:00:00+08:00",)]


def test_silence_does_not_fire_before_the_clock_reaches_it(make_config):
    config = make_config({"care.yaml": SILENCE})
    result = plan(config, [msg("2026-03-01T09:00:00+08:00"), msg("2026-03-03T09:00:00+08:00", member="m2")])
    assert result.tasks == []


def test_a_member_who_left_is_not_nudged(make_config):
    config = make_config({"care.yaml": SILENCE})
    events = [msg("2026-03-01T09:00:00+08:00"), {"ts": "2026-03-02T09:00:00+08:00", "type": "member_left", "group": "g1", "member": "m1"}]
    assert plan(config, events, until=1e10).tasks == []


def test_conditions_see_member_state(make_config):
    config = make_config({"care.yaml": SILENCE.replace("when: {silence: 3d}", "when: {silence: 3d}\n    if: member.messages >= 2")})
    events = [msg("2026-03-01T09:00:00+08:00"), msg("2026-03-01T09:00:00+08:00", member="m2"), msg("2026-03-01T10:00:00+08:00", member="m2")]
    assert task_keys(plan(config, events, until=1e10), "member") == [("m2",)]


def test_a_comparison_with_an_unknown_value_is_false_not_an_error(make_config):
    rule = WELCOME.replace("when: {event: member_joined}", "when: {event: message}\n    if: member.days_since_join < 7")
    config = make_config({"w.yaml": rule})
    result = plan(config, [msg("2026-03-01T09:00:00+08:00")])
    assert result.tasks == []
    assert result.counts["error"] == 0


def test_keywords_narrow_an_event_trigger(make_config):
    rule = WELCOME.replace("when: {event: member_joined}", "when: {event: message, keywords: [广告, 加微信]}")
    config = make_config({"w.yaml": rule})
    events = [msg("2026-03-01T09:00:00+08:00", text="大家好"), msg("2026-03-01T09:01:00+08:00", member="m2", text="低价 加微信 xx")]
    result = plan(config, events)
    assert task_keys(result, "member") == [("m2",)]
    assert "加微信" in result.tasks[0].reason


def test_stage_is_available_to_conditions_and_changes_as_time_passes(make_config):
    community = """\
    community:
      name: t
      timezone: Asia/Shanghai
      lifecycle:
        - {stage: decline, if: "member.days_silent >= 14"}
        - {stage: active, if: "true"}
    """
    rules = """\
    playbook: winback
    rules:
      - id: back
        when: {stage: decline}
        do:
          - dm: "{{ member.name }}, {{ member.stage }}"
    """
    config = make_config({"w.yaml": rules}, community=community)
    result = plan(config, [msg("2026-03-01T09:00:00+08:00", name="老李")], until=1e10)
    assert task_keys(result, "due", "text") == [("2026-03-15T09:00:00+08:00", "老李, decline")]


@pytest.mark.parametrize("fmt", ["%Y-%m-%dT%H:%M:%S+08:00", "%Y-%m-%dT%H:%M:%S"])
def test_naive_times_are_read_in_the_community_time_zone(make_config, fmt):
    from datetime import datetime

    config = make_config({"welcome.yaml": WELCOME})
    ts = datetime(2026, 3, 1, 10, 0).strftime(fmt)
    result = plan(config, [{"ts": ts, "type": "member_joined", "group": "g1", "member": "m1"}])
    assert task_keys(result, "due") == [("2026-03-01T10:00:00+08:00",)]


def test_epoch_seconds_and_milliseconds_are_accepted(make_config):
    config = make_config({"welcome.yaml": WELCOME})
    events = [
        {"ts": 1772330400, "type": "member_joined", "group": "g1", "member": "m1"},
        {"ts": 1772330400000, "type": "member_joined", "group": "g1", "member": "m2"},
    ]
    assert task_keys(plan(config, events), "due") == [("2026-03-01T10:00:00+08:00",)] * 2


def test_an_event_older_than_the_clock_is_rejected_and_counted(make_config):
    config = make_config({"welcome.yaml": WELCOME})
    events = [
        {"ts": "2026-03-02T10:00:00+08:00", "type": "member_joined", "group": "g1", "member": "m1"},
        {"ts": "2026-03-01T10:00:00+08:00", "type": "member_joined", "group": "g1", "member": "m2"},
    ]
    result = plan(config, events)
    assert [(r.line, r.reason.split(" (")[0]) for r in result.rejected] == [(2, "older than the engine's clock")]
    assert (result.counts["read"], result.counts["accepted"], result.counts["rejected"]) == (2, 1, 1)


@pytest.mark.parametrize("template", ["{{ ''.__class__.__mro__ }}", "{{ cycler.__init__.__globals__ }}"])
def test_a_template_reaching_for_python_internals_is_refused_not_run(make_config, template):
    from playbook_engine.errors import InvalidPlaybooks

    with pytest.raises(InvalidPlaybooks) as raised:
        make_config({"w.yaml": WELCOME.replace('"欢迎 {{ member | mention }}"', f'"{template}"')})
    assert any("is an internal attribute and is not allowed" in problem.message for problem in raised.value.problems)


def test_a_malformed_event_line_is_reported_with_its_number_and_the_run_goes_on(tmp_path):
    from click.testing import CliRunner

    from playbook_engine.cli import cli
    from playbook_engine.plugins import load_registry
    from tests.conftest import ROOT

    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"ts":"2026-03-01T10:00:00+08:00","type":"member_joined","group":"g1","member":"m1","name":"小王"}\n'
        '{"ts":"2026-03-01T10:01:00+08:00","type":"message",\n'
        '{"type":"message","group":"g1","member":"m2"}\n'
        '{"ts":"2026-03-01T10:05:00+08:00","type":"member_joined","group":"g1","member":"m3","name":"小李"}\n',
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.jsonl"
    args = ["run", str(ROOT / "playbooks"), "--events", str(events), "--format", "jsonl", "--rejects", str(rejects)]
    result = CliRunner().invoke(cli, args, obj={"registry": load_registry(entrypoints=False)})
    assert result.exit_code == 0
    assert f"{events}:2：已拒绝：不是有效的 JSON" in result.stderr  # the shipped community is zh-CN
    assert f"{events}:3：已拒绝：缺少 `ts`（时间）" in result.stderr
    assert "读取 4 条事件：接受 2，拒绝 2" in result.stderr  # the shipped community is zh-CN
    assert {line.split('"member":"')[1][:2] for line in result.stdout.splitlines()} == {"m1", "m3"}
    assert [line.count('"line":') for line in rejects.read_text(encoding="utf-8").splitlines()] == [1, 1]


def test_a_message_read_twice_counts_once_and_the_second_is_rejected_with_its_reason(make_config):
    from tests.conftest import plan

    config = make_config({"p.yaml": "playbook: p\nrules:\n  - id: r\n    when: {event: message}\n    do:\n      - tag: seen\n"})
    message = {"ts": "2026-03-01T09:00:00+08:00", "type": "message", "group": "g1", "member": "m1", "id": "msg-1", "text": "hi"}
    other_group = {**message, "group": "g2"}  # ids are unique per chat: another group's msg-1 is another message
    result = plan(config, [message, dict(message), other_group])
    assert result.evaluation.members["m1"].messages == 2
    assert [(rejected.line, rejected.reason) for rejected in result.rejected] == [(2, "the same message (id msg-1) as line 1: a message is counted once")]
    assert (result.counts["read"], result.counts["accepted"], result.counts["rejected"]) == (3, 2, 1)


@pytest.mark.parametrize(("line", "reason"), [('{"ts":"2026-03-01T10:01:00+08:00","type":"message",', "不是有效的 JSON"), ('{"ts":"yesterday","type":"message","group":"g1","member":"m2"}', "`ts` 'yesterday' 不是 RFC 3339 时间")])
def test_strict_stops_at_the_first_rejected_line_whether_the_source_or_the_event_check_rejects_it(tmp_path, capsys, line, reason):
    """--strict: a line that is not JSON (the source's reject) and a line whose `ts` is no time
    (the event check's) both stop the run, with exit 1 and the line's number, no traceback."""
    from playbook_engine.cli import main
    from tests.conftest import ROOT

    events = tmp_path / "events.jsonl"
    events.write_text('{"ts":"2026-03-01T10:00:00+08:00","type":"member_joined","group":"g1","member":"m1"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["run", str(ROOT / "playbooks"), "--events", str(events), "--format", "jsonl", "--strict"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert f"error: {events}:2：已拒绝：{reason}" in err and "（--strict：到此为止）" in err
    assert "Traceback" not in err
