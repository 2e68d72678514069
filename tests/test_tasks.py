"""`playbook tasks list | mark | import`: what the operators did, read back into a real --state
database written by real `playbook run --state` runs — the statuses a later run keeps, the
spreadsheet as Excel, WPS and 腾讯文档 give it back, and bad input that changes nothing."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from playbook_engine.cli import cli, main
from playbook_engine.plugins import Registry, load_registry
from playbook_engine.words import words_for
from tests.conftest import write_jsonl

NOW = 1772445600.0  # 2026-03-02 18:00 +08:00: the wall clock of these tests, when nothing says --at
PLAYBOOK = """\
playbook: thanks
rules:
  - id: thank
    when: {event: message}
    if: member.messages == 1
    delay: 2h
    do:
      - dm: "{{ member.name }}，谢谢你的第一次发言！"
"""
TWO_DMS = """\
playbook: welcome
rules:
  - id: hello
    when: {event: member_joined}
    do:
      - dm: "{{ member.name }}，欢迎！"
  - id: intro
    when: {event: member_joined}
    delay: 10m
    do:
      - dm: "方便的话做个自我介绍吧"
"""


def community(language: str = "zh-CN", merge: str = "[]") -> str:
    return textwrap.dedent(f"""\
        community:
          name: 读书会
          timezone: Asia/Shanghai
          language: {language}
          channel: wechat
          merge: {merge}
          groups:
            - {{id: g1, name: 一群}}
            - {{id: g2, name: 二群}}
          operators:
            - {{id: op-a, name: 阿兰, groups: [g1]}}
            - {{id: op-b, name: Bob, groups: [g2]}}
        """)


def message(ts: str, member: str, group: str = "g1", name: str | None = None) -> dict[str, Any]:
    return {"ts": f"2026-03-{ts}:00+08:00", "type": "message", "group": group, "member": member, "name": name or member, "text": "好书"}


FIRST_DAY = [message("02T10:00", "m1", name="小美"), message("02T10:01", "m2", name="老李"), message("02T10:02", "m3", "g2", name="Kiki"), message("02T10:03", "m4", name="阿珍")]


@dataclass
class Setup:
    """A playbook directory and the --state a first run over FIRST_DAY wrote, with its CSV plan."""

    tmp: Path
    directory: Path
    state: Path
    registry: Registry
    plan: Path  # what `playbook run --format csv` wrote
    records: list[dict[str, Any]]
    now: float = NOW

    def invoke(self, *args: str) -> Any:
        result = CliRunner().invoke(cli, list(args), obj={"registry": self.registry, "clock": lambda: self.now})
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result

    def tasks(self, *args: str) -> Any:
        return self.invoke("tasks", *args[:1], "--state", str(self.state), *args[1:])

    def run(self, events: list[dict[str, Any]], name: str = "more.jsonl", *more: str) -> list[dict[str, Any]]:
        result = self.invoke("run", str(self.directory), "--events", str(write_jsonl(self.tmp / name, events)), "--state", str(self.state), "--format", "jsonl", *more)
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.stdout.splitlines()]

    def rows(self) -> dict[str, tuple[Any, ...]]:
        """Every task row: (status, outcome, outcome_at, marked_at, note), by id."""
        with sqlite3.connect(self.state) as db:
            return {row[0]: row[1:] for row in db.execute("SELECT id, status, outcome, outcome_at, marked_at, note FROM tasks ORDER BY id")}

    def listed(self, *args: str) -> list[dict[str, Any]]:
        result = self.tasks("list", "--format", "jsonl", *args)
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.stdout.splitlines()]


def make_setup(tmp_path: Path, *, language: str = "zh-CN", playbooks: dict[str, str] | None = None, events: list[dict[str, Any]] | None = None, merge: str = "[]") -> Setup:
    registry = load_registry(entrypoints=False)
    directory = tmp_path / "pb"
    directory.mkdir()
    (directory / "community.yaml").write_text(community(language, merge), encoding="utf-8")
    for name, text in (playbooks or {"thanks.yaml": PLAYBOOK}).items():
        (directory / name).write_text(text, encoding="utf-8")
    state, plan = tmp_path / "ops.db", tmp_path / "plan.csv"
    result = CliRunner().invoke(cli, ["run", str(directory), "--events", str(write_jsonl(tmp_path / "day1.jsonl", events or FIRST_DAY)), "--state", str(state), "--format", "csv", "--out", str(plan)], obj={"registry": registry})
    assert result.exit_code == 0, result.output
    # The columns are named in the community's language: read back by the task record's names.
    field = {name: key for key, name in words_for(language).explain.columns.items()}
    records = [{field.get(name, name): value for name, value in row.items()} for row in csv.DictReader(io.StringIO(plan.read_text(encoding="utf-8-sig"), newline=""))]
    return Setup(tmp_path, directory, state, registry, plan, records)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return make_setup(tmp_path)


def at(text: str) -> float:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


# -- list ----------------------------------------------------------------------------------------------


def test_the_plan_csv_has_an_empty_status_column_named_in_the_communitys_language(setup: Setup, tmp_path: Path) -> None:
    assert [record["id"] for record in setup.records] == [record["id"] for record in setup.listed()]
    header = next(csv.reader(io.StringIO(setup.plan.read_text(encoding="utf-8-sig"))))
    assert header[0] == "编号" and header[-2:] == ["怎么做", "状态"] and {record["status"] for record in setup.records} == {""}
    (tmp_path / "en").mkdir()
    english = make_setup(tmp_path / "en", language="en")
    assert next(csv.reader(io.StringIO(english.plan.read_text(encoding="utf-8-sig"))))[-1] == "status"


def test_list_shows_each_printed_task_with_its_status_and_what_was_done(setup: Setup) -> None:
    listed = setup.listed()
    assert [(task["member"], task["assignee"], task["status"]) for task in listed] == [("m1", "op-a", "todo"), ("m2", "op-a", "todo"), ("m3", "op-b", "todo"), ("m4", "op-a", "todo")]
    first = listed[0]
    assert first["due"] == "2026-03-02T12:00:00+08:00" and first["deadline"] == "2026-03-03T10:00:00+08:00"
    assert (first["outcome"], first["outcome_at"], first["marked_at"], first["note"]) == (None, None, None, None)
    assert [task["id"] for task in setup.listed("--assignee", "op-b")] == [listed[2]["id"]]
    assert setup.listed("--date", "2026-03-03") == [] and len(setup.listed("--date", "2026-03-02")) == 4


def test_late_is_a_task_to_do_past_its_deadline_at_the_watermark_or_at_now(setup: Setup) -> None:
    """The watermark (10:03, where the events end) is before every deadline: nothing is late
    until --now (or a later run's watermark) passes one."""
    assert setup.listed("--status", "late") == []
    late = setup.listed("--status", "late", "--now", "2026-03-03 10:01")
    assert [task["member"] for task in late] == ["m1"]
    assert [task["status"] for task in setup.listed("--now", "2026-03-03T10:01:30+08:00")] == ["late", "late", "todo", "todo"]
    assert len(setup.listed("--status", "todo", "--now", "2026-03-03 10:01")) == 4  # todo includes the late ones
    setup.run([message("03T10:02", "m9")])  # the next night's run moves the watermark past two deadlines
    assert [task["member"] for task in setup.listed("--status", "late")] == ["m1", "m2"]


def test_a_done_task_is_never_late(setup: Setup) -> None:
    first = setup.records[0]["id"]
    assert setup.tasks("mark", first, "--status", "done").exit_code == 0
    assert [task["status"] for task in setup.listed("--now", "2026-03-05")] == ["done", "late", "late", "late"]


def test_stale_and_displaced_tasks_are_hidden_unless_asked_for(setup: Setup) -> None:
    """m1 writes again before the 12:00 thanks is due: the next run takes it back (stale)."""
    setup.run([message("02T11:00", "m1", name="小美")])
    assert [task["member"] for task in setup.listed()] == ["m2", "m3", "m4"]
    stale = setup.listed("--status", "stale")
    assert [(task["member"], task["status"]) for task in stale] == [("m1", "stale")]


def test_the_table_and_the_checklist_are_in_chinese_for_a_chinese_community(setup: Setup) -> None:
    ids = [record["id"] for record in setup.records]
    setup.tasks("mark", ids[0], "--status", "done", "--note", "已私聊")
    table = setup.tasks("list", "--format", "table").stdout
    assert "状态" in table and "已完成" in table and "待办 3" in table and "已私聊" in table and ids[0] in table
    assert "阿兰" in table and "op-a" not in table  # operators by the names community.yaml gives them
    md = setup.tasks("list", "--format", "md").stdout
    assert md.startswith("## 2026-03-02\n\n### 阿兰\n\n- [x] **12:00** 已完成 · 小美（m1） · 私信：小美，谢谢你的第一次发言！ · `" + ids[0] + "` — 备注：已私聊\n")
    assert "- [ ] **12:01** 待办 · 老李（m2）" in md and "\n### Bob\n" in md


def test_the_checklist_has_one_section_per_operator_and_day(setup: Setup) -> None:
    """op-a's (阿兰's) tasks of 2 March are due at 12:00, 12:01 and after op-b's (Bob's): one
    section for her with all three in time order, then his, as `playbook run --format md` lays
    out a day."""
    md = setup.tasks("list", "--format", "md").stdout
    assert [line for line in md.splitlines() if line.startswith("#")] == ["## 2026-03-02", "### 阿兰", "### Bob"]
    op_a = md.split("### 阿兰")[1].split("### Bob")[0]
    assert [line.split("· ")[1].split("（")[0] for line in op_a.splitlines() if line.startswith("- [")] == [record["member_name"] for record in setup.records if record["assignee"] == "阿兰"]


def test_a_task_for_a_whole_group_is_listed_under_the_groups_name(tmp_path: Path) -> None:
    """community.yaml names g1 一群: the operator reads that in the table and the checklist, as
    the plan says 在群「一群」发布; the CSV and JSON Lines keep the id."""
    post = "playbook: noon\nrules:\n  - id: noon\n    when: {schedule: '0 12 * * *'}\n    do:\n      - post: 午安，今天读到哪儿了？\n"
    setup = make_setup(tmp_path, playbooks={"noon.yaml": post}, events=[message("02T10:00", "m1"), message("02T13:00", "m2")])
    assert "- [ ] **12:00** 待办 · 一群 · 群发：午安，今天读到哪儿了？ · `" in setup.tasks("list", "--format", "md").stdout
    table = setup.tasks("list", "--format", "table").stdout
    assert "一群" in table and " g1 " not in table
    assert [record["group"] for record in setup.listed()] == ["g1"]
    assert ",一群," in setup.tasks("list", "--format", "csv").stdout  # by name, as in the run's CSV


def test_an_at_mention_is_listed_with_the_group_it_goes_to(tmp_path: Path) -> None:
    """An operator who looks after two groups reads in which one to @ the member (the plan says
    在群「一群」里 @…): the table and the checklist name the group after the member; a DM does not."""
    both = "playbook: hi\nrules:\n  - id: hi\n    when: {event: message}\n    do:\n      - mention: 早\n      - dm: 你好\n"
    setup = make_setup(tmp_path, playbooks={"hi.yaml": both}, events=[message("02T10:00", "m1")])
    md = setup.tasks("list", "--format", "md").stdout
    assert "· m1 · 一群 · 群里@：早 ·" in md
    assert "· m1 · 私信：你好 ·" in md
    assert "一群" in setup.tasks("list", "--format", "table").stdout


def test_the_list_is_in_english_for_an_english_community(tmp_path: Path) -> None:
    setup = make_setup(tmp_path, language="en")
    table = setup.tasks("list", "--format", "table").stdout
    assert "status" in table and "todo 4" in table
    header = setup.tasks("list", "--format", "csv").stdout.splitlines()[0]
    assert header == "\ufeffid,due,playbook,rule,action,channel,group,member,member_name,assignee,priority,text,reason,params,parts,status,note,deadline,outcome,outcome_at,marked_at"


def test_an_assignee_no_task_has_is_refused_naming_the_operators(setup: Setup) -> None:
    """`--assignee 阿梅` (a typo) listed nothing, as if her day were empty. The operator's name,
    as the plan shows it (review 20), lists her tasks as her id does."""
    result = setup.tasks("list", "--assignee", "阿梅", "--format", "table")
    assert result.exit_code == 2 and "no task in " in result.stderr and "is assigned to '阿梅' — give an operator's id or name: op-a (阿兰), op-b (Bob)" in result.stderr
    by_name = setup.tasks("list", "--assignee", "阿兰", "--format", "jsonl")
    assert by_name.exit_code == 0 and by_name.stdout and by_name.stdout == setup.tasks("list", "--assignee", "op-a", "--format", "jsonl").stdout
    assert setup.tasks("list", "--assignee", "op-b", "--status", "failed", "--format", "table").stdout == "没有符合条件的任务。\n"


def test_nothing_to_list_says_so(setup: Setup) -> None:
    assert setup.tasks("list", "--format", "table", "--status", "failed").stdout == "没有符合条件的任务。\n"
    assert setup.tasks("list", "--format", "jsonl", "--status", "failed").stdout == ""


# -- mark ----------------------------------------------------------------------------------------------


def test_mark_sets_the_status_when_and_the_note(setup: Setup) -> None:
    ids = [record["id"] for record in setup.records]
    result = setup.tasks("mark", ids[0], ids[1], "--status", "done", "--at", "2026-03-02 12:05", "--note", "发了")
    assert result.exit_code == 0 and result.stderr == "更新了 2 个任务（完成 2）\n"
    rows = setup.rows()
    assert rows[ids[0]] == ("done", None, None, at("2026-03-02T12:05"), "发了") == rows[ids[1]]
    assert rows[ids[2]] == ("todo", None, None, None, None)
    again = setup.tasks("mark", ids[0], "--status", "done")
    assert again.stderr == "更新了 0 个任务，1 个原本就是这样\n" and setup.rows()[ids[0]][2] is None


def test_mark_and_import_say_what_they_changed_in_the_communitys_language(tmp_path: Path) -> None:
    """The line they end with is the operator's, as the run's summary is: English for an English
    community (the zh-CN ones are above)."""
    setup = make_setup(tmp_path, language="en")
    ids = [record["id"] for record in setup.records]
    assert setup.tasks("mark", ids[0], ids[1], "--status", "done").stderr == "2 task(s) changed (2 done)\n"
    path = write(setup.tmp / "plan.csv", *filled(setup, {0: "done", 2: "skipped", 3: "搞定了"}, status_column="status"))
    result = setup.tasks("import", str(path))
    assert result.stderr.splitlines()[-1] == f"{path}: 1 task(s) changed (1 skipped), 1 already so, 1 without a status, 1 line(s) reported above changed nothing — fix them and import the file again"


@pytest.mark.parametrize(("word", "status"), [("完成", "done"), ("已发送", "done"), ("跳过", "skipped"), ("失败", "failed"), ("Done", "done")])
def test_mark_takes_the_words_the_spreadsheet_takes(setup: Setup, word: str, status: str) -> None:
    """An operator who writes 完成 in the plan's 状态 column writes it on the command line too."""
    task = setup.records[0]["id"]
    assert setup.tasks("mark", task, "--status", word, "--at", "2026-03-02 12:05").exit_code == 0
    assert setup.rows()[task][0] == status


def test_mark_refuses_a_word_that_is_not_a_status_and_says_which_are(setup: Setup) -> None:
    before = setup.state.read_bytes()
    result = setup.tasks("mark", setup.records[0]["id"], "--status", "搞定了")
    assert result.exit_code == 2 and "'搞定了' is not a status — write done, skipped, failed or replied (完成, 跳过, 失败, 已回复)" in result.stderr
    assert setup.state.read_bytes() == before


def test_the_csv_says_the_outcome_in_the_communitys_language(setup: Setup, tmp_path: Path) -> None:
    """The 结果 column of a zh-CN list says 已回复, as its 状态 column does; English says replied."""
    task = setup.records[0]["id"]
    setup.tasks("mark", task, "--status", "replied", "--at", "2026-03-02 13:00")
    (row,) = csv.DictReader(io.StringIO(setup.tasks("list", "--format", "csv", "--status", "replied").stdout.lstrip("\ufeff")))
    assert (row["状态"], row["结果"], row["结果时间"]) == ("已回复", "已回复", "2026-03-02 13:00")
    assert row["渠道"] == "微信"  # not wechat: as `playbook run`'s CSV names it
    (tmp_path / "en").mkdir()
    english = make_setup(tmp_path / "en", language="en")
    english.tasks("mark", english.records[0]["id"], "--status", "replied")
    (row,) = csv.DictReader(io.StringIO(english.tasks("list", "--format", "csv", "--status", "replied").stdout.lstrip("\ufeff")))
    assert row["outcome"] == "replied"


def test_mark_without_at_takes_the_machines_clock(setup: Setup) -> None:
    task = setup.records[2]["id"]
    setup.tasks("mark", task, "--status", "skipped")
    assert setup.rows()[task] == ("skipped", None, None, NOW, None)


def test_replied_is_the_outcome_and_a_task_still_to_do_is_then_done(setup: Setup) -> None:
    ids = [record["id"] for record in setup.records]
    setup.tasks("mark", ids[1], "--status", "skipped", "--at", "2026-03-02 12:10")
    result = setup.tasks("mark", ids[0], ids[1], "--status", "replied", "--at", "2026-03-02 13:00")
    assert result.stderr == "更新了 2 个任务（已回复 2）\n"
    rows = setup.rows()
    assert rows[ids[0]] == ("done", "replied", at("2026-03-02T13:00"), at("2026-03-02T13:00"), None)
    assert rows[ids[1]] == ("skipped", "replied", at("2026-03-02T13:00"), at("2026-03-02T12:10"), None)
    assert [task["id"] for task in setup.listed("--status", "replied")] == ids[:2]


def test_an_operator_may_correct_a_status(setup: Setup) -> None:
    task = setup.records[0]["id"]
    setup.tasks("mark", task, "--status", "done", "--at", "2026-03-02 12:05")
    setup.tasks("mark", task, "--status", "failed", "--at", "2026-03-02 12:30", "--note", "对方拒收")
    assert setup.rows()[task] == ("failed", None, None, at("2026-03-02T12:30"), "对方拒收")


def test_a_merged_message_marks_its_parts(tmp_path: Path) -> None:
    """Two DMs to one newcomer are one message (merge: [dm]); marking it marks both."""
    joined = [{"ts": "2026-03-02T10:00:00+08:00", "type": "member_joined", "group": "g1", "member": "m1", "name": "小美"}]
    setup = make_setup(tmp_path, playbooks={"welcome.yaml": TWO_DMS}, events=joined, merge="[dm]")
    (merged,) = setup.listed()
    parts = [part["id"] for part in merged["parts"]]
    assert len(parts) == 2 and merged["id"] in parts
    setup.tasks("mark", merged["id"], "--status", "done", "--at", "2026-03-02 11:00")
    assert {setup.rows()[part][0] for part in parts} == {"done"}


def test_a_part_of_a_merged_message_is_marked_with_its_message_not_on_its_own(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    """The message is what was sent: marking one of its parts alone would say "changed" and change
    nothing the list or a delivery shows. Refused, naming the message, by `mark` and by `import`."""
    joined = [{"ts": "2026-03-02T10:00:00+08:00", "type": "member_joined", "group": "g1", "member": "m1", "name": "小美"}]
    setup = make_setup(tmp_path, playbooks={"welcome.yaml": TWO_DMS}, events=joined, merge="[dm]")
    (merged,) = setup.listed()
    (part,) = [item["id"] for item in merged["parts"] if item["id"] != merged["id"]]
    before = setup.rows()
    code, _, err = run_main(setup, "mark", "--state", str(setup.state), part, "--status", "failed", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1
    assert err == f"error: {part} went out in message {merged['id']} — mark the message ({merged['id']}): its parts follow it; nothing was changed\n"
    assert setup.rows() == before
    sheet = setup.tmp / "sheet.csv"
    sheet.write_text(f"id,状态\n{part},失败\n", encoding="utf-8")
    imported = setup.tasks("import", str(sheet))
    assert f"sheet.csv:2: task {part} went out in message {merged['id']} — write the status on the message's line" in imported.stderr
    assert setup.rows() == before


LATER_AND_SOONER = """\
playbook: care
rules:
  - id: later
    when: {event: message}
    once: true
    delay: 20h
    do:
      - dm: "{{ member.name }}，谢谢你的第一次发言！"
  - id: sooner
    when: {event: message}
    if: member.messages == 2
    delay: 1h
    do:
      - dm: "{{ member.name }}，再聊聊？"
"""


def test_a_printed_dm_a_later_day_merges_into_another_is_listed_once_in_every_format(tmp_path: Path) -> None:
    """小美's thanks, printed on 2 March for 3 March 16:00, becomes part of the 10:00 DM the next
    run plans for her (merge: [dm]); the run after that settles 3 March again and keeps it merged.
    The list shows the one message, in every format, and the report counts it once."""
    first = [message("02T20:00", "m1", name="小美")]
    setup = make_setup(tmp_path, playbooks={"care.yaml": LATER_AND_SOONER}, events=first, merge="[dm]")
    (thanks,) = setup.records
    setup.run([message("03T09:00", "m1", name="小美"), message("03T21:00", "m2", name="老李")], "day2.jsonl")
    setup.run([message("04T09:00", "m3", name="阿珍")], "day3.jsonl")
    assert setup.rows()[thanks["id"]][0] == "merged"
    (message_,) = setup.listed("--date", "2026-03-03")
    assert [part["id"] for part in message_["parts"]] == [message_["id"], thanks["id"]]
    for fmt in ("table", "md"):
        result = setup.tasks("list", "--date", "2026-03-03", "--format", fmt)
        assert result.exit_code == 0 and result.exception is None, (fmt, result.output)
    rows = csv.DictReader(io.StringIO(setup.tasks("list", "--date", "2026-03-03", "--format", "csv").stdout.lstrip("\ufeff")))
    assert [row["编号"] for row in rows] == [message_["id"]]
    from playbook_engine.report import count
    from playbook_engine.state import StateStore

    store = StateStore.open(str(setup.state), lock=False)
    try:
        assert count(store).per_rule == {("care", "sooner"): 1, ("care", "later"): 2}  # the message, 老李's and 阿珍's thanks
    finally:
        store.close()


def test_a_printed_dm_merged_into_the_next_nights_message_is_said_to_go_out_with_it(tmp_path: Path) -> None:
    """The second night merges 小美's thanks, printed the night before, into her 10:00 DM: the
    summary says it goes out with that message (not that more urgent tasks pushed it out), and
    the state keeps it as a part (merged), not as a task taken back (displaced)."""
    setup = make_setup(tmp_path, playbooks={"care.yaml": LATER_AND_SOONER}, events=[message("02T20:00", "m1", name="小美")], merge="[dm]")
    (thanks,) = setup.records
    events = write_jsonl(tmp_path / "day2.jsonl", [message("03T09:00", "m1", name="小美"), message("03T21:00", "m2", name="老李")])
    result = setup.invoke("run", str(setup.directory), "--events", str(events), "--state", str(setup.state), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert f"之前的运行列出的 1 个任务并进了同一天给同一个人的另一条消息（{thanks['id']}）：随那条消息一起发，不要单独发送" in result.stderr
    assert "挤出" not in result.stderr
    assert setup.rows()[thanks["id"]][0] == "merged" and setup.listed("--status", "displaced") == []


# -- a later run keeps what was marked -------------------------------------------------------------------


def test_a_later_run_never_sets_a_marked_task_back_nor_plans_it_again(setup: Setup) -> None:
    ids = [record["id"] for record in setup.records]
    setup.tasks("mark", ids[0], "--status", "done", "--at", "2026-03-02 12:00")
    setup.tasks("mark", ids[1], "--status", "skipped", "--note", "不发了")
    setup.tasks("mark", ids[2], "--status", "replied", "--at", "2026-03-02 12:30")
    marked = {task_id: row for task_id, row in setup.rows().items() if task_id in ids[:3]}
    printed = setup.run([message("02T11:00", "m1", name="小美"), message("02T11:30", "m2", name="老李"), message("03T09:00", "m5", name="新人")])
    assert {record["id"] for record in printed}.isdisjoint(ids[:3])  # not printed again
    rows = setup.rows()
    assert {task_id: rows[task_id] for task_id in ids[:3]} == marked
    assert rows[ids[3]][0] == "todo" and len(rows) == 5
    printed = setup.run([message("04T09:00", "m6")], "day3.jsonl")
    assert {task_id: setup.rows()[task_id] for task_id in ids[:3]} == marked


def test_the_same_run_again_from_a_copy_plans_the_same_and_keeps_the_marks(setup: Setup) -> None:
    """Marking changes statuses only: a run from the marked state plans what a run from the
    unmarked one plans, less nothing (the marked tasks were printed before)."""
    copy = setup.tmp / "copy.db"
    copy.write_bytes(setup.state.read_bytes())
    setup.tasks("mark", setup.records[3]["id"], "--status", "done")
    events = [message("03T09:00", "m5", name="新人")]
    marked = setup.run(events)
    unmarked_setup = Setup(setup.tmp, setup.directory, copy, setup.registry, setup.plan, setup.records)
    assert marked == unmarked_setup.run(events, "again.jsonl")


# -- import ------------------------------------------------------------------------------------------


def filled(setup: Setup, statuses: dict[int, str], *, status_column: str = "状态", notes: dict[int, str] | None = None) -> tuple[list[str], list[list[str]]]:
    """The plan's CSV as a header and rows, with ``statuses`` (by row index) in its status column."""
    rows = list(csv.reader(io.StringIO(setup.plan.read_text(encoding="utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    header[-1] = status_column
    for index, word in statuses.items():
        body[index][-1] = word
    if notes is not None:
        header.append("备注")
        for index, row in enumerate(body):
            row.append(notes.get(index, ""))
    return header, body


def write(path: Path, header: list[str], body: list[list[str]], *, encoding: str = "utf-8-sig", newline: str = "\r\n", delimiter: str = ",", errors: str = "strict") -> Path:
    stream = io.StringIO()
    csv.writer(stream, lineterminator=newline, delimiter=delimiter).writerows([header, *body])
    path.write_bytes(stream.getvalue().encode(encoding, errors))
    return path


def reorder(header: list[str], body: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """Status first, id last, `how` dropped, a column of the operator's own added: what a
    spreadsheet user does to a plan."""
    order = [header.index(name) for name in ("状态", "昵称", "内容", "时间", "优先级", "负责人", "成员", "编号")]
    return [*(header[i] for i in order), "跟进人"], [[*(row[i] for i in order), "小王"] for row in body]


def excel_dates(style: str) -> Callable[[list[str], list[list[str]]], tuple[list[str], list[list[str]]]]:
    """The due column as Excel writes a date cell back: its own formats, or a serial number."""

    def convert(header: list[str], body: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        column = header.index("时间")
        for row in body:
            hour, minute = int(row[column][11:13]), int(row[column][14:16])
            row[column] = {"slashes": f"2026/3/2 {hour}:{minute:02d}", "dashes": f"2026-03-02 {hour:02d}:{minute:02d}", "serial": f"{46083 + (hour * 60 + minute) / 1440:.6f}"}[style]
        return header, body

    return convert


VARIANTS: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "as-written": (lambda header, body: (header, body), {}),
    "no-bom-lf": (lambda header, body: (header, body), {"encoding": "utf-8", "newline": "\n"}),
    "cr-only": (lambda header, body: (header, body), {"encoding": "utf-8", "newline": "\r"}),
    "gbk-from-chinese-excel": (lambda header, body: (header, body), {"encoding": "gbk", "errors": "replace"}),  # emoji become ?
    "gb18030": (lambda header, body: (header, body), {"encoding": "gb18030"}),
    "utf16-tab-unicode-text": (lambda header, body: (header, body), {"encoding": "utf-16", "delimiter": "\t"}),
    "semicolons": (lambda header, body: (header, body), {"delimiter": ";"}),
    "reordered-extra-column": (reorder, {}),
    "excel-date-slashes": (excel_dates("slashes"), {}),
    "excel-date-dashes": (excel_dates("dashes"), {"encoding": "gbk", "errors": "replace"}),
    "excel-serial-dates": (excel_dates("serial"), {"encoding": "utf-8", "newline": "\n"}),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_import_reads_the_plan_back_from_any_spreadsheet(setup: Setup, variant: str) -> None:
    transform, options = VARIANTS[variant]
    header, body = transform(*filled(setup, {0: "完成", 1: "跳过", 2: "已回复"}))
    path = write(setup.tmp / f"{variant}.csv", header, body, **options)
    result = setup.tasks("import", str(path), "--at", "2026-03-02 17:00")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"{path}: 更新了 3 个任务（完成 1，已回复 1，跳过 1），1 行没有写状态\n"
    ids = [record["id"] for record in setup.records]
    marked = at("2026-03-02T17:00")
    assert [setup.rows()[task_id] for task_id in ids] == [
        ("done", None, None, marked, None),
        ("skipped", None, None, marked, None),
        ("done", "replied", marked, marked, None),
        ("todo", None, None, None, None),
    ]


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("done", "done"), ("Done", "done"), ("完成", "done"), ("已完成", "done"), ("已发送", "done"), ("√", "done"), (" ＤＯＮＥ ", "done"),
        ("skipped", "skipped"), ("跳过", "skipped"), ("failed", "failed"), ("失败", "failed"), ("replied", "done"), ("已回复", "done"),
        ("", "todo"), ("todo", "todo"), ("待办", "todo"), ("逾期", "todo"),
    ],
)  # fmt: skip
def test_the_words_an_operator_may_write(setup: Setup, word: str, status: str) -> None:
    path = write(setup.tmp / "words.csv", *filled(setup, {0: word}, status_column="status"))
    assert setup.tasks("import", str(path)).exit_code == 0
    assert setup.rows()[setup.records[0]["id"]][0] == status


def test_a_note_column_sets_the_note_and_an_empty_one_keeps_it(setup: Setup) -> None:
    ids = [record["id"] for record in setup.records]
    setup.tasks("mark", ids[1], "--status", "done", "--note", "早上发的")
    path = write(setup.tmp / "notes.csv", *filled(setup, {0: "失败"}, notes={0: "对方拒收", 3: "明天再发"}))
    result = setup.tasks("import", str(path), "--at", "2026-03-02 17:00")
    assert result.stderr == f"{path}: 更新了 2 个任务（失败 1，只改备注 1），2 行没有写状态\n"
    rows = setup.rows()
    assert rows[ids[0]][0::4] == ("failed", "对方拒收") and rows[ids[1]][0::4] == ("done", "早上发的") and rows[ids[3]][0::4] == ("todo", "明天再发")


def test_the_list_exported_filled_and_imported_round_trips(setup: Setup) -> None:
    ids = [record["id"] for record in setup.records]
    setup.tasks("mark", ids[0], "--status", "done", "--at", "2026-03-02 12:00")
    exported = setup.tasks("list", "--format", "csv").stdout
    rows = list(csv.reader(io.StringIO(exported.removeprefix("\ufeff"), newline="")))
    column = rows[0].index("状态")
    assert [row[column] for row in rows[1:]] == ["已完成", "待办", "待办", "待办"]
    path = setup.tmp / "list.csv"
    path.write_text(exported, encoding="utf-8", newline="")
    before = setup.state.read_bytes()
    unchanged = setup.tasks("import", str(path))
    assert unchanged.exit_code == 0 and unchanged.stderr == f"{path}: 更新了 0 个任务，1 个原本就是这样，3 行没有写状态\n"
    assert setup.state.read_bytes() == before
    rows[2][column] = "已发送"
    path.write_bytes(("\ufeff" + "".join(",".join(f'"{cell}"' if "," in cell or "\n" in cell else cell for cell in row) + "\r\n" for row in rows)).encode("utf-8"))
    assert setup.tasks("import", str(path)).exit_code == 0
    assert setup.rows()[ids[1]][0] == "done"


def test_importing_the_same_file_twice_changes_nothing_the_second_time(setup: Setup) -> None:
    path = write(setup.tmp / "twice.csv", *filled(setup, {0: "完成", 3: "失败"}))
    assert setup.tasks("import", str(path)).exit_code == 0
    before = setup.state.read_bytes()
    again = setup.tasks("import", str(path))
    assert again.exit_code == 0 and again.stderr == f"{path}: 更新了 0 个任务，2 个原本就是这样，2 行没有写状态\n"
    assert setup.state.read_bytes() == before


def test_unknown_ids_and_words_are_reported_by_line_and_the_rest_is_applied(setup: Setup) -> None:
    """Line numbers are the file's: the multi-line texts above do not shift them."""
    header, body = filled(setup, {0: "完成", 1: "搞定了", 2: "跳过"})
    body[2][0] = "t-0000000000"
    body[3][-1] = "done"
    body = [[cell.replace("！", "！\n") for cell in row] for row in body]  # text and how: two line breaks a task
    path = write(setup.tmp / "mixed.csv", header, body)
    result = setup.tasks("import", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {path}:5: `搞定了` is not a status — write 完成, 跳过, 失败 or 已回复 (done, skipped, failed, replied), or leave it empty; this line changed nothing",
        f"error: {path}:8: no task `t-0000000000` in {setup.state} — check the id (copy it from the plan) or the --state this file belongs to; this line changed nothing",
        f"{path}: 更新了 2 个任务（完成 2），上面报告的 2 行什么也没改——改好后把文件再导入一次",
    ]
    ids = [record["id"] for record in setup.records]
    assert [setup.rows()[task_id][0] for task_id in ids] == ["done", "todo", "todo", "done"]


def test_one_task_twice_with_two_statuses_keeps_the_first_and_says_so(setup: Setup) -> None:
    header, body = filled(setup, {0: "完成"})
    body.append([*body[0][:-1], "失败"])
    path = write(setup.tmp / "twice-in-file.csv", header, body)
    result = setup.tasks("import", str(path))
    assert result.exit_code == 1
    assert f"{path}:6: task {setup.records[0]['id']} is also on line 2, with another status — keep one line per task; this line changed nothing" in result.stderr
    assert setup.rows()[setup.records[0]["id"]][0] == "done"


# -- bad input: one line, exit 1, the state byte for byte as it was ----------------------------------------


def run_main(setup: Setup, *args: str, monkeypatch: Any, capsys: Any) -> tuple[int, str, str]:
    """``playbook tasks …`` as a user runs it: errors mapped to one line by ``main``."""
    monkeypatch.delenv("PLAYBOOK_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["tasks", *args])
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def bad_files(setup: Setup) -> dict[str, tuple[bytes, str]]:
    """name → (the file's bytes, the one line said about it)."""
    header, body = filled(setup, {0: "完成"})
    other = [[f"t-{number:010x}", *row[1:]] for number, row in enumerate(body)]
    no_id = [[name for name in header if name != "编号"]] + [[cell for name, cell in zip(header, row, strict=True) if name != "编号"] for row in body]
    return {
        "another-states-file": (write(setup.tmp / "x.csv", header, other).read_bytes(), "none of its 4 task id(s) is in {state} — a status file of another state? import it into the --state its plan came from; nothing was changed"),
        "no-id-column": (write(setup.tmp / "x.csv", no_id[0], no_id[1:]).read_bytes(), ":1: no `id` column (the first line has: 时间, 剧本, 规则, 动作, 渠道, 群, 成员, 昵称, 负责人, 优先级, 内容, 原因, 参数, 合并的任务, 怎么做, 状态) — import the CSV that `playbook run --format csv` wrote, its header line kept; nothing was changed"),
        "no-status-column": (write(setup.tmp / "x.csv", header[:-1], [row[:-1] for row in body]).read_bytes(), ":1: no `status` (状态) column — add one and in it write 完成, 跳过, 失败 or 已回复 (done, skipped, failed, replied), or leave it empty; nothing was changed"),
        "not-text": (b"\x80\x81\xff\xfe\x00" * 50, ": not a text file (neither UTF-8 nor GBK) — save it from the spreadsheet as CSV (CSV UTF-8, or CSV); nothing was changed"),
        "empty": (b"\xef\xbb\xbf\r\n", ": the file is empty — import the CSV that `playbook run --format csv` wrote, with its status column filled in; nothing was changed"),
        "header-only": (b"id,status\r\n", ": no line names a task (the `id` column is empty) — import the CSV the plan was written to; nothing was changed"),
        "cut-short": (b'id,status\r\nt-1,done\r\n"t-2,do', ":3: the file is not CSV (unexpected end of data) — save it from the spreadsheet as CSV; nothing was changed"),
    }


@pytest.mark.parametrize("case", ["another-states-file", "no-id-column", "no-status-column", "not-text", "empty", "header-only", "cut-short"])
def test_a_file_that_cannot_be_imported_is_one_line_and_changes_nothing(setup: Setup, case: str, monkeypatch: Any, capsys: Any) -> None:
    data, said = bad_files(setup)[case]
    path = setup.tmp / f"{case}.csv"
    path.write_bytes(data)
    before = setup.state.read_bytes()
    code, out, err = run_main(setup, "import", "--state", str(setup.state), str(path), monkeypatch=monkeypatch, capsys=capsys)
    assert (code, out) == (1, "") and setup.state.read_bytes() == before
    expected = f"error: {path}{said}\n" if said.startswith(":") else f"error: {path}: {said.format(state=setup.state)}\n"
    assert err == expected


def test_a_file_that_does_not_exist_is_one_line(setup: Setup, monkeypatch: Any, capsys: Any) -> None:
    before = setup.state.read_bytes()
    code, _, err = run_main(setup, "import", "--state", str(setup.state), str(setup.tmp / "nope.csv"), monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and err == f"error: {setup.tmp / 'nope.csv'}: No such file or directory — nothing was changed\n" and setup.state.read_bytes() == before


def test_marking_an_unknown_id_changes_nothing_not_even_the_known_ones(setup: Setup, monkeypatch: Any, capsys: Any) -> None:
    before = setup.state.read_bytes()
    known = setup.records[0]["id"]
    code, out, err = run_main(setup, "mark", "--state", str(setup.state), known, "t-0000000000", "t-typo", "--status", "done", monkeypatch=monkeypatch, capsys=capsys)
    assert (code, out) == (1, "") and setup.state.read_bytes() == before
    assert err == f"error: no task t-0000000000, t-typo in {setup.state} — copy the ids from `playbook tasks list --state {setup.state}` (or the plan); nothing was changed\n"


@pytest.mark.parametrize("command", [["list"], ["mark", "t-1", "--status", "done"], ["import", "plan.csv"]])
def test_a_state_file_that_does_not_exist_is_not_created(setup: Setup, command: list[str], monkeypatch: Any, capsys: Any) -> None:
    typo = setup.tmp / "typo.db"
    code, _, err = run_main(setup, command[0], "--state", str(typo), *command[1:], monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and not typo.exists() and not Path(f"{typo}.lock").exists()
    assert err == f"error: {typo}: no such state file — run `playbook run PATHS --events FILE --state {typo}` first, or check the path\n"


def test_mark_and_import_wait_for_no_run(setup: Setup, monkeypatch: Any, capsys: Any) -> None:
    """A run holds the state: a mark meanwhile could be taken back by it. Listing may read."""
    from playbook_engine.state import StateStore

    path = write(setup.tmp / "during.csv", *filled(setup, {0: "完成"}))
    held = StateStore.open(str(setup.state))  # what a run holds while it runs
    try:
        before = setup.state.read_bytes()
        for command in (["mark", setup.records[0]["id"], "--status", "done"], ["import", str(path)]):
            code, _, err = run_main(setup, command[0], "--state", str(setup.state), *command[1:], monkeypatch=monkeypatch, capsys=capsys)
            assert code == 1 and err == f"error: {setup.state}: another run is using this state right now — wait for it to finish, then run again (two runs on one state would plan the same tasks twice)\n"
        assert setup.state.read_bytes() == before
        assert len(setup.listed()) == 4
    finally:
        held.close()


def test_a_bad_time_is_a_usage_error_that_changes_nothing(setup: Setup) -> None:
    before = setup.state.read_bytes()
    result = setup.tasks("mark", setup.records[0]["id"], "--status", "done", "--at", "yesterday-ish")
    assert result.exit_code == 2 and "'yesterday-ish' is not a time — write e.g. 2026-03-08 09:15" in result.stderr
    assert setup.state.read_bytes() == before


def test_every_tasks_command_has_help_ending_in_an_example(setup: Setup) -> None:
    for command in ("list", "mark", "import"):
        result = setup.invoke("tasks", command, "--help")
        assert result.exit_code == 0 and "Example: playbook tasks " + command in result.stdout


GROWN = LATER_AND_SOONER.replace("delay: 20h", "delay: 13h").replace("delay: 1h", "delay: 2h")


def test_importing_an_older_plan_does_not_mark_what_a_later_run_merged_into_its_line(tmp_path: Path) -> None:
    """The first night prints 小美's thanks for 3 March 09:00, alone. The next night merges her
    10:00 DM (triggered at 08:00) into it, under the same id. The operator sent the thanks as
    the first plan showed it and imports that plan: the line is reported (the message carries
    a part it did not show) and changes nothing; marking the message as the latest plan shows
    it marks both."""
    setup = make_setup(tmp_path, playbooks={"care.yaml": GROWN}, events=[message("02T20:00", "m1", name="小美")], merge="[dm]")
    (thanks,) = setup.records
    first_plan = setup.plan.read_text(encoding="utf-8-sig")
    (grown,) = [record for record in setup.run([message("03T08:00", "m1", name="小美")], "day2.jsonl") if record["member"] == "m1"]
    assert grown["id"] == thanks["id"] and [part["rule"] for part in grown["parts"]] == ["care/later", "care/sooner"]
    added = grown["parts"][1]["id"]
    rows = list(csv.reader(io.StringIO(first_plan, newline="")))
    rows[1][rows[0].index("状态")] = "完成"
    filled = tmp_path / "filled.csv"
    with filled.open("w", encoding="utf-8-sig", newline="") as stream:
        csv.writer(stream).writerows(rows)
    result = setup.tasks("import", str(filled))
    assert f"filled.csv:2: task {thanks['id']} also carries {added} since the plan this file came from" in result.output
    assert setup.rows()[thanks["id"]][0] == "todo" and setup.rows()[added][0] == "merged"
    assert setup.tasks("mark", thanks["id"], "--status", "done").exit_code == 0
    assert setup.rows()[thanks["id"]][0] == setup.rows()[added][0] == "done"
