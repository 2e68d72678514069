"""`playbook graph` draws stages and their rules; `playbook init` writes a starter that works."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from playbook_engine.cli import cli
from playbook_engine.graph import mermaid, rules_by_stage
from playbook_plugins import authoring

SMALL = """\
playbook: care
title: 关怀
stages: [growth]
rules:
  - id: nudge
    title: 群内@唤醒
    when: {silence: 3d}
    do:
      - mention: "{{ member | mention }} 好久不见"
  - id: welcome-back
    title: 回来了
    stages: [growth, mature]
    when: {event: message}
    do:
      - mention: "欢迎回来"
"""

EVERYWHERE = """\
playbook: rules
rules:
  - id: no-ads
    title: 广告 "链接" <提醒>
    when: {event: message, regex: "https?://"}
    do:
      - warn: "不发外链"
  - id: win-back
    when: {stage: decline}
    do:
      - dm: "回来看看"
"""

COMMUNITY = """\
community:
  name: 测试群
  timezone: Asia/Shanghai
  lifecycle:
    - {stage: decline, label: 衰退期, if: "member.days_silent >= 14"}
    - {stage: mature,  label: 成熟期, if: "member.active_days_30d >= 12"}
    - {stage: growth,  label: 成长期, if: "true"}
"""

EXPECTED_GRAPH = """\
flowchart TB
  %% 测试群: lifecycle stages (community.yaml order) and the rules that act in each
  subgraph stage__decline["衰退期 · decline<br/><small>member.days_silent #gt;= 14</small>"]
    direction TB
    decline__rules__win_back["win-back<br/><small>🚪 enters decline · rules/win-back</small>"]:::by_stage
  end
  subgraph stage__mature["成熟期 · mature<br/><small>member.active_days_30d #gt;= 12</small>"]
    direction TB
    mature__care__welcome_back["回来了<br/><small>⚡ event: message · care/welcome-back</small>"]:::by_event
  end
  subgraph stage__growth["成长期 · growth<br/><small>true</small>"]
    direction TB
    growth__care__nudge["群内@唤醒<br/><small>🤫 silent for 3d · care/nudge</small>"]:::by_clock
    growth__care__welcome_back["回来了<br/><small>⚡ event: message · care/welcome-back</small>"]:::by_event
  end
  subgraph all_stages["所有阶段 · all stages<br/><small>rules without stages: act in every stage above</small>"]
    direction TB
    all_stages__rules__no_ads["广告 #quot;链接#quot; #lt;提醒#gt;<br/><small>⚡ event: message · rules/no-ads</small>"]:::by_event
  end
  stage__decline ~~~ stage__mature ~~~ stage__growth
  classDef by_event fill:#e8f1ff,stroke:#4a78c2
  classDef by_clock fill:#fff4e0,stroke:#c28a2a
  classDef by_stage fill:#f1e8ff,stroke:#7a4ac2
  classDef empty fill:#f6f6f6,stroke:#bbbbbb,color:#888888
"""


@pytest.fixture
def authoring_cli() -> click.Group:
    """The CLI with the authoring commands, on a copy so the shared `cli` group is left as it was."""
    group = click.Group("playbook", commands=dict(cli.commands))
    authoring.register_commands(cli=group)
    return group


def invoke(group: click.Group, registry, *args: str):
    return CliRunner().invoke(group, list(args), obj={"registry": registry})


def test_graph_prints_each_stage_in_order_with_the_rules_acting_there(authoring_cli, registry, make_config, tmp_path):
    make_config({"care.yaml": SMALL, "rules.yaml": EVERYWHERE}, community=COMMUNITY)
    result = invoke(authoring_cli, registry, "graph", str(tmp_path / "pb"))
    assert result.exit_code == 0, result.output
    assert result.stdout == EXPECTED_GRAPH


def test_a_rule_without_stages_acts_in_every_stage_and_a_stage_trigger_in_its_own(make_config):
    config = make_config({"care.yaml": SMALL, "rules.yaml": EVERYWHERE}, community=COMMUNITY)
    acting = {stage.stage: [rule.key for rule in rules] for stage, rules in rules_by_stage(config)}
    assert acting == {
        "decline": ["rules/no-ads", "rules/win-back"],
        "mature": ["care/welcome-back", "rules/no-ads"],
        "growth": ["care/nudge", "care/welcome-back", "rules/no-ads"],
    }


def test_a_stage_with_no_rules_of_its_own_says_so(make_config):
    config = make_config({"care.yaml": SMALL}, community=COMMUNITY)
    assert 'none__decline["（没有规则）"]:::empty' in mermaid(config)


def test_graph_of_invalid_playbooks_exits_1_with_the_problems(authoring_cli, registry, tmp_path):
    (tmp_path / "community.yaml").write_text("community: {name: t, timezone: Asia/Shanghai}\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text("playbook: p\nrules:\n  - id: r\n    when: {silence: soon}\n    do:\n      - dm: hi\n", encoding="utf-8")
    result = invoke(authoring_cli, registry, "graph", str(tmp_path))
    assert result.exit_code != 0 and result.stdout == ""


def test_init_writes_a_starter_that_passes_validate_and_test(authoring_cli, registry, tmp_path):
    target = tmp_path / "my-community"
    result = invoke(authoring_cli, registry, "init", str(target), "--name", "读书会: 北京")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"created {target / name}" for name in ("community.yaml", "welcome.yaml", "silent-care.yaml", "events.jsonl")]
    assert f"playbook test {target}" in result.stderr
    validated = invoke(authoring_cli, registry, "validate", str(target))
    assert validated.exit_code == 0 and validated.stdout == "ok: 2 playbooks, 3 rules, community 读书会: 北京\n"
    tested = invoke(authoring_cli, registry, "test", str(target))
    assert tested.exit_code == 0, tested.output
    assert tested.stdout.endswith("3 passed, 0 failed\n")
    ran = invoke(authoring_cli, registry, "run", str(target), "--events", str(target / "events.jsonl"), "--format", "jsonl")
    assert ran.exit_code == 0 and ran.stdout.count("\n") >= 3


def test_init_never_overwrites_and_then_writes_nothing(authoring_cli, registry, tmp_path):
    (tmp_path / "welcome.yaml").write_text("mine\n", encoding="utf-8")
    result = invoke(authoring_cli, registry, "init", str(tmp_path))
    assert result.exit_code == 1
    assert f"{tmp_path / 'welcome.yaml'} already exists — nothing was written" in result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == ["welcome.yaml"]
    assert (tmp_path / "welcome.yaml").read_text(encoding="utf-8") == "mine\n"


def test_init_refuses_an_unknown_time_zone(authoring_cli, registry, tmp_path):
    result = invoke(authoring_cli, registry, "init", str(tmp_path / "x"), "--timezone", "Beijing")
    assert result.exit_code == 1
    assert "unknown time zone `Beijing`" in result.output
    assert not (tmp_path / "x").exists()


def test_a_playbook_test_checks_members_tags_when_its_history_ends(make_config):
    """`tags:` in a test: the members' tags, exactly, after `until` — how a rule that only tags
    and untags (and plans no task to expect) is tested. A tag with `for:` is gone once it lapses."""
    from playbook_engine.testing import run_playbook_tests

    def outcome(tags: str) -> list[str]:
        config = make_config({"tiers.yaml": f"""
            playbook: tiers
            rules:
              - id: regular
                when: {{event: message}}
                if: member.messages >= 2
                do:
                  - tag: 常客
                  - tag: {{tags: 新鲜, for: 1d}}
            tests:
              - name: two messages make a regular
                events:
                  - {{ts: "2026-03-02T10:00:00+08:00", type: message, group: g1, member: m1, text: 早}}
                  - {{ts: "2026-03-02T11:00:00+08:00", type: message, group: g1, member: m1, text: 在吗}}
                  - {{ts: "2026-03-02T12:00:00+08:00", type: message, group: g1, member: m2, text: 好}}
                until: "2026-03-04T00:00:00+08:00"
                tags: {tags}
            """})
        [result] = run_playbook_tests(config)
        return result.failures

    assert outcome("{m1: [常客], m2: []}") == []
    assert outcome("{m1: [常客, 新鲜]}") == ["member m1 carries the tags ['常客'], expected ['常客', '新鲜']"]
    assert outcome("{m2: [常客]}") == ["member m2 carries the tags [], expected ['常客']"]
    assert outcome("{m9: []}") == []  # never seen: no tags


def test_a_failing_expectation_shows_every_key_it_asked_for(make_config):
    """Review 6: `channel: qq` (or any field beyond the five a task is shown by) was compared
    and not shown, so the expectation printed looked exactly like the planned task."""
    from playbook_engine.testing import run_playbook_tests

    config = make_config({"hi.yaml": """
        playbook: hi
        rules:
          - id: a
            when: {event: message}
            do:
              - dm: 收到
        tests:
          - name: answered
            events:
              - {ts: "2026-03-02T10:00:00+08:00", type: message, group: g1, member: m1, text: 早}
            expect:
              - {rule: a, member: m1, priority: high}
        """})
    [result] = run_playbook_tests(config)
    assert result.failures[0].startswith("expected a task with rule=a, member=m1, priority=high\n    planned:\n      due=2026-03-02T10:00:00+08:00, rule=a, action=dm, member=m1, text=收到")


def test_the_check_in_camp_example_passes_its_tests(registry):
    """examples/checkin-camp, the README's recipe for "no 打卡 for two days": it works as written."""
    from playbook_engine.loading import load_config
    from playbook_engine.testing import run_playbook_tests
    from tests.conftest import ROOT

    outcomes = run_playbook_tests(load_config([ROOT / "examples" / "checkin-camp"], registry))
    assert [outcome.failures for outcome in outcomes] == [[], []]
