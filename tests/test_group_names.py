"""Groups as operators know them: an export's group name in task texts unless community.yaml
names the group, and group posts only for groups the history shows."""

from __future__ import annotations

import pytest

from tests.conftest import plan, task_keys

WELCOME = """\
playbook: welcome
rules:
  - id: hello
    when: {event: member_joined}
    do:
      - mention: "欢迎 {{ member.name }} 加入{{ group.name }}！"
"""

WEEKLY = """\
playbook: weekly
rules:
  - id: topic
    when: {schedule: "0 9 * * 1"}
    do:
      - post: "本周话题"
"""

NAMED = """\
community:
  name: 测试群
  timezone: Asia/Shanghai
  channel: wechat
  groups:
    - {id: "-100123", name: 读书会一群}
    - {id: g-unnamed}
    - {id: g-quiet, name: 安静群}
"""


def joined(group: str, group_name: str | None = None, ts: str = "2026-03-02T10:00:00+08:00") -> dict:
    event = {"ts": ts, "type": "member_joined", "group": group, "member": "m1", "name": "小王"}
    if group_name is not None:
        event["group_name"] = group_name
    return event


def test_the_exports_group_name_is_in_the_text_and_the_instruction(make_config):
    config = make_config({"welcome.yaml": WELCOME})
    result = plan(config, [joined("748545324524575035", "Alpha 读书会")])
    # The test community gives no `language:`: English, so the channel's step is too.
    assert [(task.text, task.how) for task in result.tasks] == [("欢迎 小王 加入Alpha 读书会！", "In Alpha 读书会, mention @小王 and send: 欢迎 小王 加入Alpha 读书会！")]


def test_community_yaml_names_win_and_a_declared_group_without_a_name_takes_the_exports(make_config):
    config = make_config({"welcome.yaml": WELCOME}, NAMED)
    result = plan(config, [joined("-100123", "Export title"), joined("g-unnamed", "导出的名字", "2026-03-02T11:00:00+08:00")])
    assert task_keys(result, "group", "text") == [("-100123", "欢迎 小王 加入读书会一群！"), ("g-unnamed", "欢迎 小王 加入导出的名字！")]


def test_without_a_name_anywhere_the_id_is_all_there_is(make_config):
    config = make_config({"welcome.yaml": WELCOME})
    assert task_keys(plan(config, [joined("g9")]), "text") == [("欢迎 小王 加入g9！",)]


@pytest.mark.parametrize(
    ("each", "action", "reason"),
    [
        pytest.param("member", 'mention: "谢谢"', "#1 by messages over 30d in Alpha 读书会 (2)", id="each-member"),
        pytest.param("group", 'post: "本周之星"', "top 2 by messages over 30d in Alpha 读书会: 小王 2, 阿梅 1", id="each-group"),
    ],
)
def test_a_leaderboards_reason_names_the_group_by_the_exports_name(make_config, each, action, reason):
    """Issue 21: no task text shows a raw platform id where the group has a name."""
    leaderboard = f"playbook: stars\nrules:\n  - id: top\n    when: {{leaderboard: {{metric: messages, top: 2, every: \"0 20 * * *\"}}, each: {each}}}\n    do:\n      - {action}\n"
    config = make_config({"stars.yaml": leaderboard})
    said = [{"ts": f"2026-03-02T1{second}:00:00+08:00", "type": "message", "group": "748545324524575035", "group_name": "Alpha 读书会", "member": member, "name": name} for second, (member, name) in enumerate([("m1", "小王"), ("m2", "阿梅"), ("m1", "小王")])]
    result = plan(config, said, until=1772456401.0)  # just after 2026-03-02 20:00 +08:00
    assert task_keys(result, "reason")[0] == (reason,)


def test_a_stale_reason_names_the_group_by_the_exports_name(make_config):
    """A mention due after the member left the group says which group by its name, not its id."""
    late = WELCOME.replace("    do:", "    delay: 1h\n    do:")
    config = make_config({"welcome.yaml": late})
    left = {"ts": "2026-03-02T10:30:00+08:00", "type": "member_left", "group": "748545324524575035", "member": "m1"}
    result = plan(config, [joined("748545324524575035", "Alpha 读书会"), left], explain=True)
    assert [item.reason for item in result.suppressed if item.guardrail == "stale"] == ["stale: 小王 is no longer in Alpha 读书会"]


def test_no_group_post_for_a_declared_group_with_no_event(make_config):
    """g-quiet and g-unnamed are in community.yaml but not in the history: only -100123 gets posts."""
    config = make_config({"weekly.yaml": WEEKLY}, NAMED)
    result = plan(config, [joined("-100123", ts="2026-03-01T10:00:00+08:00")], until=1773014400)  # 2026-03-09 08:00 +08:00
    assert task_keys(result, "group", "due") == [("-100123", "2026-03-02T09:00:00+08:00")]


def test_tasks_by_day_keep_the_year_when_the_run_spans_years(make_config):
    config = make_config({"welcome.yaml": WELCOME})
    one_year = plan(config, [joined("g1", ts="2026-03-02T10:00:00+08:00")])
    assert one_year.tally.days() == [("03-02", 1)]
    two_years = plan(config, [{**joined("g1", ts="2025-03-02T10:00:00+08:00"), "member": "m2"}, joined("g1", ts="2026-01-05T10:00:00+08:00")])
    assert two_years.tally.days() == [("2025-03-02", 1), ("2026-01-05", 1)]
