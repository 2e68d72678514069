"""Every shipped playbook is valid, passes its own `tests:`, and those tests notice a missing rule."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml

from playbook_engine.loading import load_config
from playbook_engine.plugins import Registry
from playbook_engine.runner import RunResult, read_source, run
from playbook_engine.testing import run_playbook_tests
from tests.conftest import ROOT, copy_settings

PLAYBOOKS = ROOT / "playbooks"
# community.yaml and content.yaml sit beside the playbooks; neither is one.
SHIPPED = sorted(path for path in PLAYBOOKS.glob("*.yaml") if path.name not in ("community.yaml", "content.yaml"))


def _rules(path: Path) -> list[str]:
    return [rule["id"] for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]]


def _failures(paths: list[Path], registry: Registry) -> list[str]:
    config = load_config(paths, registry)
    return [f"{outcome.name}: {failure}" for outcome in run_playbook_tests(config) for failure in outcome.failures]


def _without_rule(path: Path, rule_id: str, directory: Path) -> Path:
    """A copy of the playbook at ``path`` whose rule ``rule_id`` does nothing (its `if:` is
    never true: as if deleted, but still there for the tests that name it — validate refuses a
    test naming a rule the playbook does not have), beside copies of community.yaml and
    content.yaml (the values its texts read as ``content.NAME``)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for rule in data["rules"]:
        if rule["id"] == rule_id:
            rule["if"] = "false"
    copy_settings(directory)
    target = directory / path.name
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def test_there_is_a_playbook_for_every_method_of_the_spec():
    assert len(SHIPPED) >= 12


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_a_shipped_playbook_is_valid_and_passes_its_tests(path, registry):
    config = load_config([PLAYBOOKS / "community.yaml", path], registry)
    (playbook,) = config.playbooks
    assert playbook.tests, f"{path.name} has no tests"
    assert _failures([PLAYBOOKS / "community.yaml", path], registry) == []


EVERY_RULE = [pytest.param(path, rule, id=f"{path.stem}/{rule}") for path in SHIPPED for rule in _rules(path)]


@pytest.mark.parametrize(("path", "rule_id"), EVERY_RULE)
def test_the_tests_notice_any_deleted_rule(path, rule_id, registry, tmp_path):
    """Each rule is covered: without it, at least one of its playbook's tests fails."""
    assert _failures([_without_rule(path, rule_id, tmp_path)], registry), f"{path.name}: its tests still pass without rule `{rule_id}`"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_the_tests_fail_when_the_main_rule_is_deleted(path, registry, tmp_path):
    main_rule = _rules(path)[0]
    failures = _failures([_without_rule(path, main_rule, tmp_path)], registry)
    assert failures, f"{path.name}: its tests still pass without rule `{main_rule}`"
    assert any(f"rule={main_rule}" in failure for failure in failures)


def test_a_newcomers_introduction_gets_one_mention_that_also_asks_for_the_nickname(registry, tmp_path):
    """Across playbooks: intro-capture's reply asks for the 城市-称呼 nickname itself, so
    group-rules' nickname reminder does not @ the same newcomer a second time in the same minute."""
    from datetime import datetime

    from playbook_engine.runner import read_source, run

    config = load_config([PLAYBOOKS], registry)
    lines = [
        '{"ts": "2026-03-03T14:30:00+08:00", "type": "member_joined", "group": "g1", "member": "m9", "name": "小美"}',
        '{"ts": "2026-03-03T15:02:00+08:00", "type": "message", "group": "g1", "member": "m9", "name": "小美", "text": "大家好，我是小美，坐标杭州，最近在读《设计中的设计》"}',
        '{"ts": "2026-03-03T16:00:00+08:00", "type": "member_joined", "group": "g1", "member": "m8", "name": "阿杰"}',
        '{"ts": "2026-03-03T16:30:00+08:00", "type": "message", "group": "g1", "member": "m8", "name": "阿杰", "text": "收到"}',
    ]
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(config, read_source(registry, "jsonl", str(events)), keep_suppressed=False)
    intro = datetime.fromisoformat("2026-03-03T15:02:00+08:00").timestamp()
    at_the_intro = [(task.rule, task.text) for task in result.tasks if task.member == "m9" and task.action == "mention" and task.trigger_at == intro]
    assert [rule for rule, _ in at_the_intro] == ["reply-intro"]
    assert "顺便把群昵称改成「城市-称呼」吧，比如“杭州-小美”" in at_the_intro[0][1]
    # A newcomer whose first words are no introduction still gets the nickname reminder.
    assert [task.rule for task in result.tasks if task.member == "m8" and task.action == "mention" and task.rule == "nickname"] == ["nickname"]


@pytest.mark.parametrize("replied", [True, False], ids=["replied-to-ask-why", "no-reply"])
def test_no_last_why_dm_to_a_member_who_already_answered_why_in_private(tmp_path, replied):
    """Across playbooks and nightly runs: silent-member-care asked 小忙 on day 10 why she went
    quiet, she answered in private (the operator marked the DM 已回复); churn-winback's
    "是最近太忙，还是群里的内容不太适合你了？" on day 30 would ask it again. Without a reply it goes."""
    import json
    from datetime import date, timedelta

    from click.testing import CliRunner

    from playbook_engine.cli import cli
    from playbook_engine.plugins import load_registry

    lines = []
    for day in range(40):
        when = date(2026, 3, 1) + timedelta(days=day)
        lines.append({"ts": f"{when}T09:30:00+08:00", "type": "message", "group": "g1", "member": "b1", "name": "书友甲", "id": f"b{day}", "text": "打卡"})
        if day < 5:
            lines.append({"ts": f"{when}T10:00:00+08:00", "type": "message", "group": "g1", "member": "z1", "name": "小忙", "id": f"z{day}", "text": "今天读了20页"})
    nights = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for path, part in zip(nights, ([line for line in lines if line["ts"] < "2026-03-17"], [line for line in lines if line["ts"] >= "2026-03-17"]), strict=True):
        path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in part), encoding="utf-8")
    registry, state = load_registry(entrypoints=False), str(tmp_path / "ops.db")

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), obj={"registry": registry})
        assert result.exit_code == 0, result.output
        return result.stdout

    first = [json.loads(line) for line in invoke("run", str(PLAYBOOKS), "--events", str(nights[0]), "--state", state, "--format", "jsonl").splitlines()]
    (ask_why,) = [task["id"] for task in first if task["rule"] == "ask-why" and task["member"] == "z1"]
    if replied:
        invoke("tasks", "mark", "--state", state, ask_why, "--status", "replied", "--at", "2026-03-15 20:00")
    second = [json.loads(line) for line in invoke("run", str(PLAYBOOKS), "--events", str(nights[1]), "--state", state, "--format", "jsonl").splitlines()]
    churn = [task for task in second if task["rule"] == "churn" and task["member"] == "z1"]
    assert len(churn) == (0 if replied else 1)


def _shipped_run(registry: Registry, tmp_path: Path, lines: list[str], until: str) -> RunResult:
    """The shipped playbooks, all of them, over these JSON Lines until ``until``."""
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run(load_config([PLAYBOOKS], registry), read_source(registry, "jsonl", str(events)), until=datetime.fromisoformat(until).timestamp(), keep_suppressed=False)


def test_a_night_joiner_warned_for_an_ad_is_not_welcomed_in_the_morning(registry, tmp_path):
    """Across playbooks: joined at 23:10, an ad at 23:20 — warned at once (urgent); the welcome
    held by quiet hours to 08:00 and a nickname reminder would greet the spammer warmly after the
    warning. A newcomer joining at night who posts nothing wrong is welcomed at 08:00 as before."""
    lines = [
        '{"ts": "2026-03-02T23:10:00+08:00", "type": "member_joined", "group": "g1", "member": "m9", "name": "优惠多"}',
        '{"ts": "2026-03-02T23:15:00+08:00", "type": "member_joined", "group": "g1", "member": "m8", "name": "夜猫"}',
        '{"ts": "2026-03-02T23:20:00+08:00", "type": "message", "group": "g1", "member": "m9", "name": "优惠多", "id": "ad1", "text": "读书人福利！加V领电子书优惠券"}',
    ]
    result = _shipped_run(registry, tmp_path, lines, "2026-03-03T12:00:00+08:00")
    assert [(task.rule, task.action) for task in result.tasks if task.member == "m9"] == [("warn-ad", "warn")]
    assert [task.rule for task in result.tasks if task.member == "m8" and task.action == "mention"] == ["welcome"]


def test_a_vip_the_operator_has_written_to_before_is_not_introduced_to_her_again(registry, tmp_path):
    """Across playbooks: 阿珍 joined on 1 March and got the intro DM ("我是读书会的运营"); marked
    VIP eleven days later, her first-touch DM does not introduce the operator again. 小美, known
    from her profile only, marked VIP with no task before, is greeted with the introduction."""
    lines = [
        '{"ts": "2026-03-01T10:00:00+08:00", "type": "member_joined", "group": "g1", "member": "m7", "name": "阿珍"}',
        '{"ts": "2026-03-12T10:00:00+08:00", "type": "profile", "member": "m7", "tags": ["vip"]}',
        '{"ts": "2026-03-12T10:05:00+08:00", "type": "profile", "member": "m6", "name": "小美", "tags": ["vip"]}',
    ]
    result = _shipped_run(registry, tmp_path, lines, "2026-03-12T12:00:00+08:00")
    greeted = {task.member: task.text for task in result.tasks if task.rule == "first-touch" and task.action == "dm"}
    assert any("我是读书会的运营" in task.text for task in result.tasks if task.member == "m7" and task.rule != "first-touch")  # she was introduced on joining
    assert greeted["m7"].startswith("阿珍，之后有任何需要都可以直接私信我～") and "我是读书会的运营" not in greeted["m7"]
    assert greeted["m6"].startswith("小美 你好，我是读书会的运营")
