"""`playbook report`: the HTML page written from a real --state database (two real daily
`playbook run --state` runs of the shipped playbooks over the example book club, some tasks
marked) — self-contained, every chart with its table, in Chinese for a zh-CN community, and its
tables' numbers equal to what SQL counts in the state. The charts of what the runs recorded
(stages, the guardrails' counts by day, question answer times) from real runs over small
histories whose answers are known, cut into daily runs or not."""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_engine.cli import cli, main
from playbook_engine.plugins import Registry, load_registry
from playbook_engine.report import count_history, history_charts
from playbook_engine.runner import RunResult, run
from playbook_engine.state import SCHEMA_VERSION, StateStore
from playbook_engine.words import words_for
from tests.conftest import ROOT, config_from, copy_settings, records, write_jsonl
from tests.test_clock_properties import events_from
from tests.test_displaced import CONFIGS, _pieces
from tests.test_state_increment import _as_older_version

GIVEN = "data IS NOT NULL AND status NOT IN ('stale', 'displaced', 'merged')"
LOCAL_DAY = "date(due, 'unixepoch', '+8 hours')"  # the example community is in Asia/Shanghai


class Page(HTMLParser):
    """The report's charts: for each, whether it holds an SVG, and its table's rows as text."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict[str, Any]] = {}
        self.current: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.tags.append(tag)
        if tag == "section" and named.get("data-chart"):
            self.current = named["data-chart"]
            self.charts[self.current] = {"svg": 0, "tables": 0, "rows": []}
        elif self.current is None:
            return
        elif tag == "svg":
            self.charts[self.current]["svg"] += 1
        elif tag == "table":
            self.charts[self.current]["tables"] += 1
        elif tag == "tr":
            self.row = []
        elif tag == "td" and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.current = None
        elif tag == "td" and self.row is not None and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.current is not None and self.row:
            self.charts[self.current]["rows"].append(self.row)
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def read_page(path: Path) -> tuple[str, Page]:
    text = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    return text, page


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(entrypoints=False)


@pytest.fixture
def state(tmp_path: Path, registry: Registry) -> Path:
    """Two nightly runs of the shipped playbooks over the example history, then some tasks marked."""
    events = [json.loads(line) for line in (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    first = [event for event in events if event["ts"] < "2026-03-08"]
    second = [event for event in events if event["ts"] >= "2026-03-08"]
    state = tmp_path / "ops.db"
    runner = CliRunner()
    for name, part in (("week1.jsonl", first), ("week2.jsonl", second)):
        result = runner.invoke(cli, ["run", str(ROOT / "playbooks"), "--events", str(write_jsonl(tmp_path / name, part)), "--state", str(state), "--format", "jsonl"], obj={"registry": registry})
        assert result.exit_code == 0, result.output
    with sqlite3.connect(state) as db:
        ids = [row[0] for row in db.execute(f"SELECT id FROM tasks WHERE {GIVEN} ORDER BY due, id")]
    assert len(ids) > 20
    marks = [(ids[0:8], "done", "2026-03-02 20:00"), (ids[8:10], "replied", "2026-03-03 09:00"), (ids[10:12], "skipped", "2026-03-04 10:00"), (ids[12:13], "failed", "2026-03-04 10:00"), (ids[13:16], "done", "2026-03-20 10:00")]
    for chosen, status, at in marks:
        result = runner.invoke(cli, ["tasks", "mark", "--state", str(state), *chosen, "--status", status, "--at", at], obj={"registry": registry})
        assert result.exit_code == 0, result.output
    return state


def write(state: Path, out: Path, registry: Registry, *paths: str) -> None:
    result = CliRunner().invoke(cli, ["report", *paths, "--state", str(state), "--out", str(out)], obj={"registry": registry})
    assert result.exit_code == 0, result.output


def sql(state: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(state) as db:
        return list(db.execute(query))


def test_the_report_is_one_file_that_needs_no_network_and_gives_every_chart_a_table(state: Path, tmp_path: Path, registry: Registry) -> None:
    out = tmp_path / "report.html"
    write(state, out, registry, str(ROOT / "playbooks"))
    text, page = read_page(out)
    assert set(page.charts) == {"workload", "by-rule", "rates", "by-playbook", "by-operator", "taken-back", "funnel", "stage-moves", "guardrails", "answer-times", "answer-weeks"}
    for key, chart in page.charts.items():
        assert chart["svg"] == 1, key
        assert chart["tables"] == 1, key
        assert chart["rows"], key
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.IGNORECASE)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)
    assert "@import" not in text and "url(" not in text
    assert out.stat().st_size < 5_000_000


def test_a_zh_cn_state_gives_a_report_in_chinese(state: Path, tmp_path: Path, registry: Registry) -> None:
    out = tmp_path / "report.html"
    write(state, out, registry)
    text, page = read_page(out)
    assert '<html lang="zh-CN">' in text
    for label in (
        "社群运营报告", "每位运营每天的任务数与容量", "按剧本和规则统计的任务数", "完成率、按时率、回复率", "被撤回和被挤出的任务", "运营", "日期", "任务数", "剧本", "规则", "合计", "按时率", "回复率", "已撤回", "被挤出",
        "生命周期漏斗（按周）", "阶段之间的流动（按周）", "被拦下、顺延和丢弃的任务及原因", "提问多久得到回答", "每周回答时间的中位数", "新手期", "成长期", "流失期", "首次出现", "员工", "5 分钟内", "未回答",
    ):
        assert label in text, label
    assert "状态库不保存容量" in text  # no playbooks named: the capacity is not drawn, and the page says why


def test_the_tables_hold_the_counts_sql_finds_in_the_state(state: Path, tmp_path: Path, registry: Registry) -> None:
    out = tmp_path / "report.html"
    write(state, out, registry, str(ROOT / "playbooks"))
    _, page = read_page(out)
    charts = page.charts

    (watermark,) = sql(state, "SELECT CAST(value AS REAL) FROM meta WHERE key = 'watermark'")[0]
    # Not the tasks the runs said were no longer needed (still to do, no list carried them).
    (overtaken,) = sql(state, "SELECT value FROM meta WHERE key = 'overtaken'")[0]
    given_out = f"{GIVEN} AND NOT (status = 'todo' AND due <= {watermark!r} AND id IN (SELECT key FROM json_each({overtaken!r})))"
    workload = sql(state, f"SELECT assignee, {LOCAL_DAY}, count(*) FROM tasks WHERE {given_out} GROUP BY 1, 2")
    capacity = {"op-lily": 40, "op-may": 25, "op-kai": 15}  # as in playbooks/community.yaml
    name = {"op-lily": "Lily", "op-may": "阿May", "op-kai": "小凯"}  # the report calls them so, as the plan does
    assert sorted((row[0], row[1], int(row[2]), int(row[3])) for row in charts["workload"]["rows"]) == sorted((name[operator], day, tasks, capacity[operator]) for operator, day, tasks in workload)

    by_rule = sql(state, f"SELECT rule, count(*) FROM tasks WHERE {given_out} GROUP BY rule")
    *rules, total = charts["by-rule"]["rows"]
    # by the playbooks' and rules' titles, as the playbooks write them
    (titles,) = sql(state, "SELECT value FROM meta WHERE key = 'playbook_titles'")[0]
    (rule_titles,) = sql(state, "SELECT value FROM meta WHERE key = 'rule_titles'")[0]
    title, rule_title = json.loads(titles), json.loads(rule_titles)
    assert sorted((playbook, rule, int(tasks)) for playbook, rule, tasks, _, _ in rules if tasks != "0") == sorted((title[key.split("/")[0]], rule_title.get(key, key.split("/")[1]), tasks) for key, tasks in by_rule)
    # …and, the playbooks named, the rules that plan tasks but planned none here, at 0
    assert ("价值分层（高价值 / 潜力 / 沉睡付费）", "付费成员变安静，提醒运营亲自私信", "0", "—", "—") in {tuple(row) for row in rules}
    assert not any(row[1] == "打标签：活跃" for row in rules)  # a rule that only tags plans no task: not listed
    assert any(row[0] == "新人破冰" and not row[1].isascii() for row in rules)  # titles, not ids
    assert total[0] == "合计" and int(total[2]) == sum(tasks for _, tasks in by_rule)
    assert total[3:] == charts["rates"]["rows"][0][3:] + charts["rates"]["rows"][2][3:]  # the whole community's done and replied rates

    due = f"{given_out} AND due <= {watermark!r}"
    # The replied rate's base: done tasks a member can reply to (a DM, not a note to the operator).
    (awaiting,) = sql(state, "SELECT value FROM meta WHERE key = 'awaits_reply'")[0]
    repliable = f"action IN (SELECT value FROM json_each({awaiting!r}))"
    (given,) = sql(state, f"SELECT count(*) FROM tasks WHERE {due}")[0]
    (done,) = sql(state, f"SELECT count(*) FROM tasks WHERE {due} AND status = 'done'")[0]
    (on_time,) = sql(state, f"SELECT count(*) FROM tasks WHERE {due} AND status = 'done' AND (deadline IS NULL OR marked_at <= deadline)")[0]
    (can_reply,) = sql(state, f"SELECT count(*) FROM tasks WHERE {due} AND status = 'done' AND {repliable}")[0]
    (replied,) = sql(state, f"SELECT count(*) FROM tasks WHERE {due} AND status = 'done' AND {repliable} AND outcome = 'replied'")[0]
    assert (done, replied) == (13, 2) and 0 < on_time < done and 0 < can_reply < done  # the marks the fixture made: some after their deadline, some notes
    assert charts["rates"]["rows"] == [
        ["完成率", str(done), str(given), f"{100 * done / given:.1f}%"],
        ["按时率", str(on_time), str(done), f"{100 * on_time / done:.1f}%"],
        ["回复率", str(replied), str(can_reply), f"{100 * replied / can_reply:.1f}%"],
    ]
    # Which playbooks work: each one's counts and rates, by its title.
    per_playbook = sql(state, f"SELECT substr(rule, 1, instr(rule, '/') - 1), count(*), sum(status = 'done'), sum(status = 'skipped'), sum(status = 'done' AND {repliable}), sum(status = 'done' AND {repliable} AND outcome = 'replied') FROM tasks WHERE {due} GROUP BY 1")
    # …and what each triggered that a full day or its deadline kept from the plan
    lost = dict(sql(state, "SELECT playbook, sum(count) FROM (SELECT playbook, kind, reason, count FROM day_counts UNION ALL SELECT playbook, kind, reason, count FROM open_counts) WHERE kind = 'suppressed' AND reason IN ('capacity', 'deadline') GROUP BY 1"))
    assert sorted(charts["by-playbook"]["rows"]) == sorted(
        [title.get(playbook, playbook), str(tasks), str(done_), f"{100 * done_ / tasks:.1f}%", str(skipped), str(can), str(yes), f"{100 * yes / can:.1f}%" if can else "—", str(lost.get(playbook, 0))]
        for playbook, tasks, done_, skipped, can, yes in per_playbook
    )
    # Each operator: due, done, skipped, the rate; the days her due tasks filled her capacity
    per_operator = sql(state, f"SELECT assignee, count(*), sum(status = 'done'), sum(status = 'skipped') FROM tasks WHERE {due} GROUP BY 1")
    full = Counter(operator for operator, day, tasks in workload if tasks >= capacity[operator])
    assert sorted(charts["by-operator"]["rows"]) == sorted(
        [name[operator], str(tasks), str(done_), str(skipped), f"{100 * done_ / tasks:.1f}%", str(full[operator]), "0"] for operator, tasks, done_, skipped in per_operator
    )
    assert any(row[0] == "新人破冰" for row in charts["by-playbook"]["rows"])  # titles, not ids

    taken_back = dict(sql(state, "SELECT status, count(*) FROM tasks WHERE data IS NOT NULL AND status IN ('stale', 'displaced') GROUP BY status"))
    per_day = sql(state, f"SELECT {LOCAL_DAY}, sum(status = 'stale'), sum(status = 'displaced') FROM tasks WHERE data IS NOT NULL AND status IN ('stale', 'displaced') GROUP BY 1")
    *days, total = charts["taken-back"]["rows"]
    assert [(day, int(stale), int(displaced)) for day, stale, displaced in days] == sorted(per_day)
    assert total == ["合计", str(taken_back.get("stale", 0)), str(taken_back.get("displaced", 0))]


def test_an_english_state_gives_a_report_in_english(tmp_path: Path, registry: Registry) -> None:
    directory = tmp_path / "pb"
    directory.mkdir()
    assert "language: zh-CN" in (ROOT / "playbooks" / "community.yaml").read_text(encoding="utf-8")
    copy_settings(directory, lambda community: community.replace("language: zh-CN", "language: en"))
    (directory / "welcome.yaml").write_text((ROOT / "playbooks" / "new-member-welcome.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    state, out = tmp_path / "ops.db", tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["run", str(directory), "--events", str(ROOT / "examples" / "events.jsonl"), "--state", str(state), "--format", "jsonl"], obj={"registry": registry})
    assert result.exit_code == 0, result.output
    write(state, out, registry)
    text, page = read_page(out)
    assert '<html lang="en">' in text and "Tasks per operator per day, against capacity" in text
    assert "社群运营报告" not in text
    assert len(page.charts) == 11
    assert "Lifecycle funnel, week by week" in text and "Question answer times" in text


def test_a_missing_state_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--state", str(tmp_path / "nope.db"), "--out", str(tmp_path / "report.html")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert err == f"error: {tmp_path / 'nope.db'}: no such state file — run `playbook run PATHS --events FILE --state {tmp_path / 'nope.db'}` first, or check the path\n"
    assert not (tmp_path / "report.html").exists()


def test_a_report_that_cannot_be_written_is_one_line_and_exit_1(state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "no-such-folder" / "report.html"
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--state", str(state), "--out", str(out)])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == f"error: {out}: No such file or directory — write the report to a folder that exists and can be written\n"


def test_the_report_command_has_help_ending_in_an_example() -> None:
    result = CliRunner().invoke(cli, ["report", "--help"])
    assert result.exit_code == 0
    assert result.output.split("Options:")[0].rstrip().splitlines()[-1].strip() == "Example: playbook report playbooks --state ops.db --out report.html"


def test_the_holdout_comparison_gives_numbers_for_large_arms_and_too_few_for_small_ones(tmp_path: Path, registry: Registry) -> None:
    """A generated month with half the members held out of every playbook: the table holds, per
    playbook, what the state's exposures give (counted here in SQL), and the difference with its
    interval only where both arms have 30 members."""
    import io
    import shutil
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from generate import Options
    from generate import write as generate

    playbooks = tmp_path / "playbooks"
    shutil.copytree(ROOT / "playbooks", playbooks)
    community = playbooks / "community.yaml"
    community.write_text(community.read_text(encoding="utf-8").replace('  quiet_hours: "22:00-08:00"\n', '  quiet_hours: "22:00-08:00"\n  holdout: 50%\n'), encoding="utf-8")
    stream = io.StringIO()
    generate(Options(events=8_000, members=600, groups=1, days=30, seed=5), stream)
    events = tmp_path / "month.jsonl"
    events.write_text(stream.getvalue(), encoding="utf-8")
    state = tmp_path / "ops.db"
    result = CliRunner().invoke(cli, ["run", str(playbooks), "--events", str(events), "--state", str(state), "--format", "jsonl"], obj={"registry": registry})
    assert result.exit_code == 0, result.output
    write(state, tmp_path / "report.html", registry)
    _, page = read_page(tmp_path / "report.html")
    rows = {row[0]: row for row in page.charts["holdout"]["rows"]}
    (watermark,) = sql(state, "SELECT value FROM meta WHERE key = 'watermark'")[0]
    counted = sql(state, f"SELECT playbook, arm, count(*), sum(wrote_at IS NOT NULL AND wrote_at <= due + 7 * 86400) FROM holdouts WHERE due + 7 * 86400 <= {watermark} GROUP BY playbook, arm")
    expected: dict[str, dict[str, tuple[int, int]]] = {}
    for playbook, arm, members, wrote in counted:
        expected.setdefault(playbook, {})[arm] = (members, wrote)
    assert set(rows) == set(expected)
    numbers = 0
    for playbook, arms in expected.items():
        treated, held = arms.get("treated", (0, 0)), arms.get("held_out", (0, 0))
        row = rows[playbook]
        assert (int(row[1]), int(row[2]), int(row[4]), int(row[5])) == (*treated, *held)
        if min(treated[0], held[0]) >= 30:
            numbers += 1
            estimate, low, high = (float(value) for value in re.findall(r"[+-]\d+\.\d", row[7]))
            assert low <= estimate <= high
            assert estimate == pytest.approx(100 * (treated[1] / treated[0] - held[1] / held[0]), abs=0.05)
        else:
            assert row[7] == "样本太少，无法判断（每组至少 30 人）"
    assert numbers >= 1 and numbers < len(expected)  # both cases on this history


# -- the runs' history (state version 8): stages, the summary's counts, question answer times ----

DAY = 86400
START = 1772326800.0  # 2026-03-01T09:00:00+08:00, a Sunday

HISTORY_COMMUNITY = """\
community:
  name: 读书会
  timezone: Asia/Shanghai
  language: zh-CN
  staff: [s1]
  operators:
    - {id: op, name: Op, groups: [g1]}
"""

HELLO = """\
playbook: hello
rules:
  - id: hi
    when: {event: member_joined}
    do: [{mention: "hi {{ member.name }}"}]
"""


def _state_runs(config: Any, pieces: list[list[dict[str, Any]]], path: Path, **options: Any) -> list[RunResult]:
    """Consecutive real --state runs, one per piece of the history."""
    results = []
    for piece in pieces:
        store = StateStore.open(str(path))
        result = run(config, records(piece), state=store, **options)
        result.save_state()
        store.close()
        results.append(result)
    return results


def _daily(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """One piece per local day (Asia/Shanghai), as nightly runs read them."""
    pieces: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        pieces.setdefault(int((event["ts"] + 8 * 3600) // DAY), []).append(event)
    return list(pieces.values())


def _counts(path: Path) -> Counter[tuple[str, str, str, str]]:
    """The summary's counts the state keeps, by (day, kind, reason, playbook): those kept and
    those of the tasks the last run left open."""
    rows = sql(path, "SELECT day, kind, reason, playbook, count FROM day_counts UNION ALL SELECT day, kind, reason, playbook, count FROM open_counts")
    counted: Counter[tuple[str, str, str, str]] = Counter()
    for day, kind, reason, playbook, count in rows:
        counted[(day, kind, reason, playbook)] += count
    return Counter({key: count for key, count in counted.items() if count})


def _by_reason(counted: Counter[tuple[str, str, str, str]], kind: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for (_, counted_kind, reason, _), count in counted.items():
        if counted_kind == kind:
            found[reason] += count
    return +found


def test_a_member_who_joins_then_goes_silent_moves_newbie_growth_decline_churn(tmp_path: Path) -> None:
    config = config_from({"hello.yaml": HELLO}, HISTORY_COMMUNITY, tmp_path / "pb")
    events = [
        {"ts": START, "type": "member_joined", "group": "g1", "member": "m1", "name": "小王"},
        {"ts": START + 60, "type": "message", "group": "g1", "member": "m1", "text": "大家好"},
        {"ts": START + 120, "type": "message", "group": "g1", "member": "s1", "text": "欢迎"},
    ]
    # m2 writes every day: the clock goes on (m2, first seen writing, is in 成长期 from the start).
    events += [{"ts": START + day * DAY + 3600, "type": "message", "group": "g1", "member": "m2", "text": "早"} for day in range(1, 35)]
    _state_runs(config, [events], tmp_path / "one.db")
    _state_runs(config, _daily(events), tmp_path / "daily.db")
    query = "SELECT member, group_id, from_stage, to_stage, at FROM stage_moves ORDER BY at, member"
    moves = sql(tmp_path / "one.db", query)
    assert moves == sql(tmp_path / "daily.db", query)  # daily runs record the same moves
    assert [(from_stage, to_stage, round((at - START) / DAY, 2)) for member, _, from_stage, to_stage, at in moves if member == "m1"] == [
        (None, "newbie", 0.0), ("newbie", "growth", 7.0), ("growth", "decline", 14.0), ("decline", "churn", 30.0),
    ]
    assert all(member != "s1" for member, *_ in moves)  # staff are not in the funnel
    history = count_history(StateStore.open(str(tmp_path / "daily.db"), lock=False))
    assert history.weeks == ["2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]
    labels = dict(history.stages)
    assert [labels[stage] for stage, _ in history.stages] == ["新手期", "成长期", "成熟期", "衰退期", "流失期"]
    funnel, moves_chart, *_ = history_charts(history, words_for("zh-CN").history)
    assert funnel.columns == ["周（起始日）", "新手期", "成长期", "成熟期", "衰退期", "流失期", "成员数"]
    # Weeks by their Monday. m1 joins on Sunday 1 March, is a week in on the 8th, silent 14 days
    # on Sunday the 15th, 30 days on the 31st; m2, first seen on the 2nd, active 12 days by the 13th.
    assert funnel.rows == [
        ["2026-02-23", 1, 0, 0, 0, 0, 1],
        ["2026-03-02", 0, 2, 0, 0, 0, 2],
        ["2026-03-09", 0, 0, 1, 1, 0, 2],
        ["2026-03-16", 0, 0, 1, 1, 0, 2],  # a week without a move keeps the numbers
        ["2026-03-23", 0, 0, 1, 1, 0, 2],
        ["2026-03-30", 0, 0, 1, 0, 1, 2],
    ]
    assert moves_chart.rows == [
        ["2026-02-23", "首次出现", "新手期", 1],
        ["2026-03-02", "首次出现", "成长期", 1],
        ["2026-03-02", "新手期", "成长期", 1],
        ["2026-03-09", "成长期", "衰退期", 1],
        ["2026-03-09", "成长期", "成熟期", 1],
        ["2026-03-30", "衰退期", "流失期", 1],
    ]


def test_a_question_lands_in_the_bucket_of_its_first_answer(tmp_path: Path) -> None:
    config = config_from({"hello.yaml": HELLO}, HISTORY_COMMUNITY, tmp_path / "pb")
    hour = 3600
    events = [
        {"ts": START, "type": "message", "group": "g1", "member": "m1", "id": "q1", "text": "请问怎么报名？"},
        {"ts": START + 600, "type": "message", "group": "g1", "member": "m2", "id": "a1", "text": "群公告里报名", "reply_to": "q1"},  # 10 min: 5–30
        {"ts": START + hour, "type": "message", "group": "g1", "member": "m3", "id": "q2", "text": "如何参加？"},
        {"ts": START + hour + 120, "type": "message", "group": "g1", "member": "m2", "id": "a2", "text": "周六下午"},  # next message, 2 min
        {"ts": START + 3 * hour, "type": "message", "group": "g1", "member": "m1", "id": "q3", "text": "有人知道书单吗？"},
        {"ts": START + 3 * hour + 2700, "type": "message", "group": "g1", "member": "m4", "id": "a3", "text": "书单在这里", "mentions": ["m1"]},  # 45 min
        {"ts": START + 5 * hour, "type": "message", "group": "g1", "member": "m5", "id": "q4", "text": "请问几点开始？"},
        {"ts": START + 8 * hour, "type": "message", "group": "g1", "member": "s1", "id": "a4", "text": "七点", "reply_to": "q4"},  # staff answer: 3 h
        {"ts": START + 9 * hour, "type": "message", "group": "g1", "member": "s1", "id": "q-staff", "text": "大家还有什么问题吗？"},  # staff ask: not counted
        {"ts": START + 10 * hour, "type": "message", "group": "g1", "member": "m3", "id": "q5", "text": "怎么退款？"},  # never answered
        {"ts": START + 2 * DAY, "type": "message", "group": "g1", "member": "m2", "id": "x", "text": "早"},
        {"ts": START + 2 * DAY + 1800, "type": "message", "group": "g1", "member": "m4", "id": "q6", "text": "还有位置吗？"},  # too recent to say
    ]
    _state_runs(config, [events], tmp_path / "one.db")
    _state_runs(config, [events[:1], events[1:5], events[5:11], events[11:]], tmp_path / "split.db")
    query = "SELECT key, group_id, asker, asked_at, answered_at, answered_by FROM questions ORDER BY asked_at"
    assert sql(tmp_path / "one.db", query) == sql(tmp_path / "split.db", query)
    assert [(key, answered_by) for key, _, _, _, _, answered_by in sql(tmp_path / "split.db", query)] == [
        ("q1", "reply"), ("q2", "next_message"), ("q3", "mention"), ("q4", "reply"), ("q5", None), ("q6", None),
    ]
    history = count_history(StateStore.open(str(tmp_path / "split.db"), lock=False))
    assert history.buckets == [1, 1, 1, 1, 1] and history.too_recent == 1
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", "--state", str(tmp_path / "split.db"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    _, page = read_page(out)
    assert page.charts["answer-times"]["rows"] == [
        ["5 分钟内", "1", "20.0%"], ["5–30 分钟", "1", "20.0%"], ["30 分钟–2 小时", "1", "20.0%"], ["2 小时以上", "1", "20.0%"], ["未回答", "1", "20.0%"],
    ]
    # All asked on Sunday 1 March but q6 (too recent); the median of 2, 10, 45 and 180 minutes.
    assert page.charts["answer-weeks"]["rows"] == [["2026-02-23", "5", "4", "27.5"]]


def _busy_days() -> list[dict[str, Any]]:
    """Ten days of six members writing and two questions nobody answers, for an operator who can
    do two tasks a day: capacity, deadlines, cooldowns, quiet hours, merges and displaced tasks."""
    events = []
    for day in range(10):
        base = START + day * DAY
        events += [{"ts": base + 60 * n, "type": "message", "group": "g1", "member": f"m{n}", "text": "hi"} for n in range(6)]
        events += [{"ts": base + 3600 * 5 + 60 * n, "type": "message", "group": "g1", "member": f"q{n}", "text": "请问怎么报名？", "id": f"q{day}-{n}"} for n in range(2)]
        events.append({"ts": base + 3600 * 6, "type": "message", "group": "g1", "member": "m0", "text": "again"})  # within the cooldown
        events.append({"ts": base + 3600 * 14, "type": "message", "group": "g1", "member": f"n{day}", "text": "late"})  # 23:00: quiet hours
    events.append({"ts": START + 3 * DAY + 15 * 3600, "type": "member_left", "group": "g1", "member": "m2"})
    return sorted(events, key=lambda event: event["ts"])


def test_the_counts_by_day_are_the_summary_s_and_daily_runs_count_each_day_once(tmp_path: Path) -> None:
    """Daily runs settle again the days the last run left open: a day's counts are those of the
    run that settled it last, so they add up to what one run over the whole history counts."""
    config = CONFIGS[2]
    events = _busy_days()
    (whole,) = _state_runs(config, [events], tmp_path / "one.db")
    counted = _counts(tmp_path / "one.db")
    assert _by_reason(counted, "suppressed") == whole.planner.suppressed_counts
    assert _by_reason(counted, "moved") == whole.moved
    assert {"cooldown", "deadline"} <= set(whole.planner.suppressed_counts) and {"capacity", "quiet hours"} <= set(whole.moved)
    daily = _state_runs(config, _daily(events), tmp_path / "daily.db")
    assert sum(len(result.planner.displaced) for result in daily) > 0  # days were settled again
    assert sum(result.planner.suppressed_counts.total() for result in daily) > whole.planner.suppressed_counts.total()  # the summaries count them again
    assert _counts(tmp_path / "daily.db") == counted  # the state does not
    _state_runs(config, [events], tmp_path / "explained.db", explain=True)
    assert _counts(tmp_path / "explained.db") == counted  # --explain builds the tasks it drops: the same counts
    _state_runs(config, _daily(events), tmp_path / "counted.db", keep_suppressed=False)
    assert _counts(tmp_path / "counted.db") == counted  # as `playbook run` without --explain: dropped tasks only counted

    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", "--state", str(tmp_path / "daily.db"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    _, page = read_page(out)
    rows = page.charts["guardrails"]["rows"]
    totals = {(kind, reason): int(count) for day, kind, reason, _, count in rows if day == "total"}
    assert totals == {("suppressed", reason): count for reason, count in whole.planner.suppressed_counts.items()} | {("moved", reason): count for reason, count in whole.moved.items()}
    per_day = Counter({(day, kind, reason, playbook): int(count) for day, kind, reason, playbook, count in rows if day != "total"})
    assert per_day == Counter({key: count for key, count in counted.items() if count and key[1] != "skipped"})  # by playbook too (ids: no titles in this state's playbooks); staff in the totals only


gaps = st.sampled_from([0, 60, 1500, 2400, 5 * 3600, 14 * 3600, DAY, 2 * DAY + 3600]) | st.integers(0, 3 * DAY)
kinds = st.sampled_from(["message", "message", "question", "answer", "member_joined", "member_joined", "member_left"])
steps = st.lists(st.tuples(gaps, st.sampled_from(["m1", "m2", "m3", "m4", "m5"]), kinds), min_size=2, max_size=30)


@settings(max_examples=60, deadline=None)
@given(drawn=steps, cuts=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=4), capacity=st.sampled_from([1, 2, 3]))
def test_runs_split_anywhere_keep_the_counts_stages_and_questions_one_run_keeps(drawn: list[tuple[int, str, str]], cuts: list[float], capacity: int) -> None:
    config = CONFIGS[capacity]
    events = events_from(drawn)
    with tempfile.TemporaryDirectory() as directory:
        one, many, counted = Path(directory) / "one.db", Path(directory) / "many.db", Path(directory) / "counted.db"
        _state_runs(config, [events], one)
        _state_runs(config, _pieces(events, cuts), many)
        _state_runs(config, _pieces(events, cuts), counted, keep_suppressed=False)  # as the command line runs
        assert _counts(many) == _counts(one) == _counts(counted)
        for query in ("SELECT member, group_id, from_stage, to_stage, at FROM stage_moves ORDER BY at, member", "SELECT * FROM questions ORDER BY asked_at, key"):
            assert sql(many, query) == sql(one, query)


def test_a_state_of_version_7_gets_the_new_charts_empty_and_says_why(state: Path, tmp_path: Path, registry: Registry) -> None:
    _as_older_version(state, 7)
    out = tmp_path / "report.html"
    write(state, out, registry)
    text, page = read_page(out)
    assert len(page.charts) == 11
    assert text.count("状态库还没有这部分记录") == 5
    assert page.charts["funnel"]["rows"] == [] and page.charts["guardrails"]["rows"] == []
    assert sql(state, "SELECT value FROM meta WHERE key = 'version'") == [(str(SCHEMA_VERSION),)]  # upgraded in place, its records from the next run on


def test_the_workload_shows_what_each_morning_delivered_beside_what_was_due(state: Path, tmp_path: Path, registry: Registry) -> None:
    """Review 7: Lily's 09-25 morning carried 63 tasks (23 of them the evening before's
    welcomes) while the chart, by due day, said 40 of 40. The deliveries the state records are
    counted per operator and morning, in the table's last column and as a dot on the chart."""
    day, = sql(state, f"SELECT {LOCAL_DAY} FROM tasks WHERE {GIVEN} AND assignee = 'op-lily' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0]
    ids = [task_id for (task_id,) in sql(state, f"SELECT id FROM tasks WHERE {GIVEN} AND assignee = 'op-lily' LIMIT 7")]
    with sqlite3.connect(state) as db:
        db.execute("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?)", ("op-lily", day, 1, "wecom", "x", json.dumps(ids[:4]), 0.0))
        db.execute("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?)", ("op-lily", day, 2, "wecom", "y", json.dumps(ids[4:]), 0.0))
    out = tmp_path / "report.html"
    write(state, out, registry, str(ROOT / "playbooks"))
    _, page = read_page(out)
    rows = {(row[0], row[1]): row for row in page.charts["workload"]["rows"]}
    assert rows[("Lily", day)][5] == "7"  # both parts of that morning
    assert all(row[5] == "" for key, row in rows.items() if key != ("Lily", day))  # no delivery recorded: no number


LOSSES_COMMUNITY = """community:
  name: 读书会
  timezone: Asia/Shanghai
  language: zh-CN
  groups: [{id: g1, name: 一群}]
  operators:
    - {id: op, name: Lily, capacity: 2}
"""
LOSSES_PLAYBOOK = """playbook: greet
title: 节日问候
rules:
  - id: hello
    when: {event: message}
    deadline: 12h
    cooldown: 30d
    do:
      - dm: "{{ member.name }}，你好"
  - id: bye
    when: {event: member_left}
    do:
      - dm: "{{ member.name }}，怎么走了？"
"""


def test_the_rates_leave_out_what_no_list_carried_and_replies_that_cannot_show_and_each_playbook_shows_what_it_lost(tmp_path: Path, registry: Registry) -> None:
    """Review 11: the festival playbook read as the best one while three of four greetings were
    never planned (a full day); tasks no morning's list carried counted as the operator's misses;
    a win-back DM to someone who had left every group read 0 % replied, though no reply could
    show. Each playbook's row counts what a full day or a deadline kept from the plan, and the
    rates leave out the other two, saying how many."""
    pb = tmp_path / "pb"
    pb.mkdir()
    (pb / "community.yaml").write_text(LOSSES_COMMUNITY, encoding="utf-8")
    (pb / "greet.yaml").write_text(LOSSES_PLAYBOOK, encoding="utf-8")
    said = lambda hour, member: {"ts": f"2026-03-02T{hour}:00:00+08:00", "type": "message", "group": "g1", "member": member, "name": member.upper(), "text": "早"}  # noqa: E731
    events = [said("09", "m1"), said("10", "m2"), said("11", "m3"), {"ts": "2026-03-03T09:00:00+08:00", "type": "member_left", "group": "g1", "member": "m1"}, said("12", "m4") | {"ts": "2026-03-04T12:00:00+08:00"}, said("12", "m4") | {"ts": "2026-03-04T12:05:00+08:00"}]
    state = tmp_path / "ops.db"
    runner = CliRunner()
    result = runner.invoke(cli, ["run", str(pb), "--events", str(write_jsonl(tmp_path / "e.jsonl", events)), "--state", str(state), "--format", "jsonl"], obj={"registry": registry})
    assert result.exit_code == 0, result.output
    planned = {(task["rule"], task["member"]): task["id"] for task in map(json.loads, result.stdout.splitlines())}
    # m1 and m2 greeted on the 2nd (capacity 2: m3's greeting past its 12 h), m1 asked why on the 3rd; m4 greeted on the 4th
    assert sorted(planned) == [("bye", "m1"), ("hello", "m1"), ("hello", "m2"), ("hello", "m4")]
    greeted, bye = [planned[("hello", "m1")], planned[("hello", "m2")]], planned[("bye", "m1")]
    for task_id in (*greeted, bye):
        assert runner.invoke(cli, ["tasks", "mark", "--state", str(state), task_id, "--status", "done", "--at", "2026-03-04 08:00"], obj={"registry": registry}).exit_code == 0
    with sqlite3.connect(state) as db:  # the lists: the 2nd's and the 3rd's carried their tasks; m4's was planned after the 4th's list
        db.execute("INSERT INTO deliveries VALUES ('op', '2026-03-02', 1, 'wecom', 'x', ?, 0.0)", (json.dumps(greeted),))
        db.execute("INSERT INTO deliveries VALUES ('op', '2026-03-03', 1, 'wecom', 'y', ?, 0.0)", (json.dumps([bye]),))
    out = tmp_path / "report.html"
    write(state, out, registry, str(pb))
    text, page = read_page(out)
    assert page.charts["rates"]["rows"][0] == ["完成率", "3", "3", "100.0%"]  # m4's greeting, in no list, is not Lily's miss
    assert page.charts["rates"]["rows"][2] == ["回复率", "0", "1", "0.0%"]  # m1's two DMs, who left every group, are not in the base: m2's is
    assert "哪天早上的推送都没带上的任务（1 个" in text and "发给已经退出所有群的人的 2 个也不算" in text
    assert "数据从 2026-03-02 起，截至 2026-03-04 12:05（最后一次运行读到的记录）· 共派发任务 4 个" in text  # the period, first
    assert page.charts["by-playbook"]["rows"] == [["节日问候", "3", "3", "100.0%", "0", "1", "0", "0.0%", "1"]]
    assert page.charts["by-operator"]["rows"] == [["Lily", "3", "3", "0", "100.0%", "1", "0"]]  # her 2nd was full (2 of 2); no morning's list went over
    # each rule's rates too: the "why did you leave" DM has no reply rate at all
    assert page.charts["by-rule"]["rows"] == [["节日问候", "bye", "1", "100.0%", "—"], ["节日问候", "hello", "3", "100.0%", "0.0%"], ["合计", "", "4", "100.0%", "0.0%"]]  # …and m3's greeting, which a full day dropped


def test_a_state_no_run_has_read_anything_into_says_what_to_do_first(tmp_path: Path, registry: Registry) -> None:
    """Review 11: a state written by the current engine over an empty export said its records
    began with "engine version 8" — false, and no help to a team lead."""
    state = tmp_path / "empty.db"
    result = CliRunner().invoke(cli, ["run", str(ROOT / "playbooks"), "--events", str(write_jsonl(tmp_path / "none.jsonl", [])), "--state", str(state)], obj={"registry": registry})
    assert result.exit_code in (0, 1), result.output  # an export with no event is said to be one; the state is there either way
    out = tmp_path / "report.html"
    write(state, out, registry, str(ROOT / "playbooks"))
    text, _ = read_page(out)
    assert text.count("还没有记录：先用 `playbook run … --state` 跑一晚的聊天记录，再看报告。") == 5
    assert "第 8 版" not in text
