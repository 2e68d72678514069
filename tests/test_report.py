"""`playbook report`: the HTML page written from a real --state database (two real daily
`playbook run --state` runs of the shipped playbooks over the example book club, some tasks
marked) — self-contained, every chart with its table, in Chinese for a zh-CN community, and its
tables' numbers equal to what SQL counts in the state."""

from __future__ import annotations

import json
import re
import sqlite3
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from playbook_engine.cli import cli, main
from playbook_engine.plugins import Registry, load_registry
from tests.conftest import ROOT, write_jsonl

GIVEN = "data IS NOT NULL AND status NOT IN ('stale', 'displaced')"
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
    assert set(page.charts) == {"workload", "by-rule", "rates", "taken-back"}
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
    for label in ("社群运营报告", "每位运营每天的任务数与容量", "按剧本和规则统计的任务数", "完成率、按时率、回复率", "被撤回和被挤出的任务", "运营", "日期", "任务数", "剧本", "规则", "合计", "按时率", "回复率", "已撤回", "被挤出"):
        assert label in text, label
    assert "状态库不保存容量" in text  # no playbooks named: the capacity is not drawn, and the page says why


def test_the_tables_hold_the_counts_sql_finds_in_the_state(state: Path, tmp_path: Path, registry: Registry) -> None:
    out = tmp_path / "report.html"
    write(state, out, registry, str(ROOT / "playbooks"))
    _, page = read_page(out)
    charts = page.charts

    workload = sql(state, f"SELECT assignee, {LOCAL_DAY}, count(*) FROM tasks WHERE {GIVEN} GROUP BY 1, 2")
    capacity = 40  # op-lily's in playbooks/community.yaml
    assert sorted((row[0], row[1], int(row[2]), int(row[3])) for row in charts["workload"]["rows"]) == sorted((operator, day, tasks, capacity) for operator, day, tasks in workload)

    by_rule = sql(state, f"SELECT rule, count(*) FROM tasks WHERE {GIVEN} GROUP BY rule")
    *rules, total = charts["by-rule"]["rows"]
    assert sorted((f"{playbook}/{rule}", int(tasks)) for playbook, rule, tasks in rules) == sorted(by_rule)
    assert total[0] == "合计" and int(total[2]) == sum(tasks for _, tasks in by_rule)

    (watermark,) = sql(state, "SELECT CAST(value AS REAL) FROM meta WHERE key = 'watermark'")[0]
    due = f"{GIVEN} AND due <= {watermark!r}"
    (given,) = sql(state, f"SELECT count(*) FROM tasks WHERE {due}")[0]
    (done,) = sql(state, f"SELECT count(*) FROM tasks WHERE {due} AND status = 'done'")[0]
    (on_time,) = sql(state, f"SELECT count(*) FROM tasks WHERE {due} AND status = 'done' AND (deadline IS NULL OR marked_at <= deadline)")[0]
    (replied,) = sql(state, f"SELECT count(*) FROM tasks WHERE {due} AND status = 'done' AND outcome = 'replied'")[0]
    assert (done, replied) == (13, 2) and 0 < on_time < done  # the marks the fixture made: some after their deadline
    assert charts["rates"]["rows"] == [
        ["完成率", str(done), str(given), f"{100 * done / given:.1f}%"],
        ["按时率", str(on_time), str(done), f"{100 * on_time / done:.1f}%"],
        ["回复率", str(replied), str(done), f"{100 * replied / done:.1f}%"],
    ]

    taken_back = dict(sql(state, "SELECT status, count(*) FROM tasks WHERE data IS NOT NULL AND status IN ('stale', 'displaced') GROUP BY status"))
    per_day = sql(state, f"SELECT {LOCAL_DAY}, sum(status = 'stale'), sum(status = 'displaced') FROM tasks WHERE data IS NOT NULL AND status IN ('stale', 'displaced') GROUP BY 1")
    *days, total = charts["taken-back"]["rows"]
    assert [(day, int(stale), int(displaced)) for day, stale, displaced in days] == sorted(per_day)
    assert total == ["合计", str(taken_back.get("stale", 0)), str(taken_back.get("displaced", 0))]


def test_an_english_state_gives_a_report_in_english(tmp_path: Path, registry: Registry) -> None:
    directory = tmp_path / "pb"
    directory.mkdir()
    community = (ROOT / "playbooks" / "community.yaml").read_text(encoding="utf-8")
    assert "language: zh-CN" in community
    (directory / "community.yaml").write_text(community.replace("language: zh-CN", "language: en"), encoding="utf-8")
    (directory / "welcome.yaml").write_text((ROOT / "playbooks" / "new-member-welcome.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    state, out = tmp_path / "ops.db", tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["run", str(directory), "--events", str(ROOT / "examples" / "events.jsonl"), "--state", str(state), "--format", "jsonl"], obj={"registry": registry})
    assert result.exit_code == 0, result.output
    write(state, out, registry)
    text, page = read_page(out)
    assert '<html lang="en">' in text and "Tasks per operator per day, against capacity" in text
    assert "社群运营报告" not in text
    assert len(page.charts) == 4


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
