"""--explain and --member answer "why did X get this, and why not that" without reading code."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_engine.output import render_explanation, render_summary
from tests.conftest import ROOT, plan
from tests.test_triggers import END, joined, msg

RULES = """\
playbook: care
rules:
  - id: nudge
    when: {silence: 3d}
    if: member.messages > 0
    do:
      - mention: "{{ member.name }} 在吗"
      - tag: nudged
  - id: ask
    when: {silence: 3d}
    if: ["member.messages >= 3", "'vip' in member.tags"]
    do:
      - dm: "{{ member.name }} 最近怎么样"
"""


def test_a_member_timeline_shows_stages_tasks_with_values_and_rules_that_did_not_apply(make_config):
    config = make_config({"care.yaml": RULES})
    result = plan(config, [joined("01T09:00:00", "m1"), msg("01T10:00:00", "m1", name="小王")], until=END, explain=True)
    timeline = render_explanation(result, config.community.tz, "m1").splitlines()
    assert timeline[0] == "2026-03-01 09:00  stage      小王 (m1): — → 新手期 (newbie)"
    assert "2026-03-04 10:00  planned    care/nudge mention → 小王 (m1)  [" in "\n".join(timeline)
    assert "                  because    silent 3d since 2026-03-01 10:00 (last message)" in timeline
    assert "                  and        `member.messages > 0` (member.messages = 1)" in timeline
    assert "2026-03-04 10:00  changed    care/nudge → 小王 (m1): tag nudged" in timeline
    assert "2026-03-04 10:00  not        care/ask → 小王 (m1): condition `member.messages >= 3` is false (member.messages = 1)" in timeline


def test_the_summary_counts_members_by_stage_and_tasks_by_playbook_and_day(make_config):
    config = make_config({"care.yaml": RULES})
    result = plan(config, [msg("01T10:00:00", "m1"), msg("01T11:00:00", "m2")], until=END)
    summary = render_summary(result, config.community)
    assert summary.splitlines()[1:] == [
        "  members by stage: 流失期 2",
        "  tasks by playbook: care 2",
        "  tasks by day: 03-04 2",
    ]


def test_explain_member_on_the_example_answers_why_this_dm_and_why_not_that_one():
    """阿杰 joined and never spoke: why the 3-day reminder DM, and why no nudge and no why-DM —
    silent-member-care speaks only to members who spoke."""
    from click.testing import CliRunner

    from playbook_engine.cli import cli
    from playbook_engine.plugins import load_registry
    from tests.conftest import ROOT

    args = ["run", str(ROOT / "playbooks"), "--events", str(ROOT / "examples" / "events.jsonl"), "--format", "jsonl", "--explain", "--member", "m10"]
    result = CliRunner().invoke(cli, args, obj={"registry": load_registry(entrypoints=False)})
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    # The example community is zh-CN: the timeline's words are Chinese, each padded to the same
    # terminal width (a Chinese character takes two cells).
    first_words = next(index for index, line in enumerate(lines) if "计划       new-member-welcome/first-words 私信 → 阿杰 (m10)" in line)
    assert lines[first_words].startswith("2026-03-08 19:45")
    assert lines[first_words + 1:first_words + 3] == [
        "                  原因       入群 3 天（2026-03-05 19:45）",
        "                  并且       `member.messages == 0`（member.messages = 0）",
    ]
    assert "2026-03-12 19:45  阶段       阿杰 (m10)：新手期 → 成长期 (growth)" in lines
    assert "2026-03-12 19:45  不适用     silent-member-care/nudge → 阿杰 (m10)：条件 `member.messages > 0` 不成立（member.messages = 0）" in lines
    assert not any("计划       silent-member-care/" in line for line in lines)
    assert all("(m10)" in line or line.startswith((" ", "playbook:")) for line in lines)


def _shipped_plan(text: str, explain: bool) -> list[dict]:
    import io

    from playbook_engine.events import parse_jsonl
    from playbook_engine.loading import load_config
    from playbook_engine.plugins import load_registry
    from playbook_engine.runner import run
    from tests.conftest import ROOT

    config = load_config([ROOT / "playbooks"], load_registry(entrypoints=False))
    # As the command line runs: without --explain no dropped task is kept, nor written.
    result = run(config, parse_jsonl(io.StringIO(text)), explain=explain, keep_suppressed=explain)
    return [task.record(config.community.tz) for task in result.tasks]


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(5, 200))
def test_explain_changes_what_is_said_never_the_plan(seed, members):
    """--explain only feeds a different notes sink, and writes the dropped tasks' texts: the
    same history gives the same tasks, each with the same text."""
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from generate import Options, write

    stream = io.StringIO()
    write(Options(events=1_500, members=members, groups=2, days=20, seed=seed), stream)
    text = stream.getvalue()
    plain, explained = _shipped_plan(text, explain=False), _shipped_plan(text, explain=True)
    assert plain and plain == explained


def test_a_dropped_task_written_for_explain_does_not_turn_the_next_texts_variant(make_config):
    """m1's low task is dropped for the urgent one (capacity 1); --explain writes its text to
    show it. Two days later m1's next task must get the text a run without --explain gives it."""
    from tests.conftest import plan
    from tests.test_triggers import msg

    rules = (
        "playbook: p\nrules:\n"
        "  - id: urgent\n    when: {event: message, keywords: [急]}\n    priority: urgent\n    do: [{notify: \"看一下\"}]\n"
        "  - id: ask\n    when: {event: message, keywords: [书]}\n    priority: low\n    deadline: 2h\n"
        "    do:\n      - mention:\n          - \"{{ member | mention }} 甲\"\n          - \"{{ member | mention }} 乙\"\n"
    )
    config = make_config({"p.yaml": rules}, "community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: []\n  operators:\n    - {id: op, groups: [g1], capacity: 1}\n")
    events = [msg("02T09:00:00", "m1", text="书"), msg("02T09:45:00", "m2", text="急"), msg("04T09:00:00", "m1", text="书")]
    plain, explained = plan(config, events, keep_suppressed=False), plan(config, events, explain=True)
    assert [item.task.text for item in explained.suppressed] == ["@m1 甲"]
    assert [(task.id, task.text) for task in explained.tasks] == [(task.id, task.text) for task in plain.tasks]
    assert [task.text for task in plain.tasks] == ["看一下", "@m1 甲"]
