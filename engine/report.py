"""``playbook report``: how the planned tasks went, as one self-contained HTML file.

Everything comes from the ``--state`` database (the ``tasks`` table and its statuses, outcomes and
deadlines); the charts are Vega-Lite specifications built with Altair and drawn to static SVG by
vl-convert when the report is written, so the file holds no script, needs no network to open and
shows the same in any browser. Each chart has its numbers beside it as an HTML table.

What is counted (see docs/report.md):

- *given*: the tasks operators were given — printed (``data`` not null) and not taken back by a
  later run (``stale``, ``displaced``); the parts merged into one message count once, as it.
- the rates count the given tasks due by the state's watermark (the event time the last run
  reached): a task due later could not have been done yet.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playbook_engine.errors import PlaybookError
from playbook_engine.holdout import compare
from playbook_engine.state import StateStore

TAKEN_BACK = ("stale", "displaced")


class ReportError(PlaybookError):
    """``playbook report`` cannot write the report."""


def check_installed() -> None:
    """Refuse, with how to fix it, when the ``report`` extra (Altair, vl-convert) is not installed."""
    try:
        import altair  # noqa: F401
        import statsmodels  # noqa: F401
        import vl_convert  # noqa: F401
    except ImportError:
        raise ReportError("the report needs Altair, vl-convert and statsmodels — install them with: pip install 'playbook-engine[report]'") from None


@dataclass(frozen=True)
class ReportWords:
    """The report's words in one language."""

    title: str
    generated: str  # "{watermark}", "{given}"
    workload: str
    workload_note: str
    no_capacity: str
    by_rule: str
    rates: str
    rates_note: str
    taken_back: str
    taken_back_note: str
    columns: Mapping[str, str]
    measures: Mapping[str, str]
    statuses: Mapping[str, str]
    total: str
    yes: str
    no: str


WORDS: dict[str, ReportWords] = {
    "zh-CN": ReportWords(
        title="社群运营报告",
        generated="数据截至 {watermark}（状态库的水位线）· 共派发任务 {given} 个",
        workload="每位运营每天的任务数与容量",
        workload_note="柱：当天到期、派发给该运营的任务数；横线：该运营每天的容量上限。",
        no_capacity="状态库不保存容量：运行 `playbook report 剧本目录 --state …` 时给出剧本目录，即可画出容量线。",
        by_rule="按剧本和规则统计的任务数",
        rates="完成率、按时率、回复率",
        rates_note="只计到水位线为止已到期的任务。完成率＝已完成÷已派发；按时率＝截止时间前标记完成÷已完成；回复率＝成员已回复÷已完成。",
        taken_back="被撤回和被挤出的任务",
        taken_back_note="已撤回：到期前复查时条件已不成立；被挤出：后来的运行按容量把它挤出了当天。按到期日统计。",
        columns={"operator": "运营", "day": "日期", "tasks": "任务数", "capacity": "容量", "over": "超出容量", "playbook": "剧本", "rule": "规则", "measure": "指标", "count": "数量", "of": "基数", "rate": "比率", "status": "状态"},
        measures={"done": "完成率", "on_time": "按时率", "replied": "回复率"},
        statuses={"stale": "已撤回", "displaced": "被挤出"},
        total="合计",
        yes="是",
        no="否",
    ),
    "en": ReportWords(
        title="Community operations report",
        generated="Data up to {watermark} (the state's watermark) · {given} tasks given",
        workload="Tasks per operator per day, against capacity",
        workload_note="Bars: the tasks due that day given to the operator; ticks: the operator's daily capacity.",
        no_capacity="The state does not keep capacities: name the playbooks folder (`playbook report PATHS --state …`) to draw them.",
        by_rule="Tasks by playbook and rule",
        rates="Done, on-time and replied rates",
        rates_note="Only the tasks due by the watermark. Done = done ÷ given; on time = marked done by the deadline ÷ done; replied = the member replied ÷ done.",
        taken_back="Tasks taken back: stale and displaced",
        taken_back_note="Stale: no longer held when checked again before it was due; displaced: pushed out of its day by a later run's capacity. By due day.",
        columns={"operator": "operator", "day": "day", "tasks": "tasks", "capacity": "capacity", "over": "over capacity", "playbook": "playbook", "rule": "rule", "measure": "measure", "count": "count", "of": "of", "rate": "rate", "status": "status"},
        measures={"done": "done", "on_time": "on time", "replied": "replied"},
        statuses={"stale": "stale", "displaced": "displaced"},
        total="total",
        yes="yes",
        no="no",
    ),
}


# -- the numbers -------------------------------------------------------------------------------------


@dataclass
class Counts:
    """What the report shows, counted from the state."""

    watermark: float | None
    given: int = 0
    per_operator_day: Counter[tuple[str, str]] = field(default_factory=Counter)  # (operator, local day) → given tasks
    per_rule: Counter[tuple[str, str]] = field(default_factory=Counter)  # (playbook, rule) → given tasks
    due_given: int = 0  # given and due by the watermark
    done: int = 0
    on_time: int = 0
    replied: int = 0
    taken_back: Counter[tuple[str, str]] = field(default_factory=Counter)  # (local day, stale|displaced) → tasks


def count(store: StateStore) -> Counts:
    """The report's numbers, in one pass over the printed tasks."""
    tz = ZoneInfo(store.meta("timezone") or "UTC")
    watermark = store.watermark
    counts = Counts(watermark)
    query = "SELECT rule, due, assignee, status, deadline, outcome, marked_at FROM tasks WHERE data IS NOT NULL"
    for rule, due, assignee, status, deadline, outcome, marked_at in store.connection.execute(query):
        day = datetime.fromtimestamp(due, tz).date().isoformat()
        if status in TAKEN_BACK:
            counts.taken_back[(day, status)] += 1
            continue
        counts.given += 1
        counts.per_operator_day[(assignee or "—", day)] += 1
        playbook, _, name = str(rule).partition("/")
        counts.per_rule[(playbook, name)] += 1
        if watermark is None or due > watermark:
            continue
        counts.due_given += 1
        if status == "done":
            counts.done += 1
            counts.on_time += deadline is None or marked_at is None or marked_at <= deadline
            counts.replied += outcome == "replied"
    return counts


# -- the charts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """One chart of the report: its Vega-Lite specification and the same numbers as a table."""

    key: str
    title: str
    note: str
    spec: dict[str, Any]
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]


def _data(values: list[dict[str, Any]]) -> Any:
    import altair as alt

    return alt.Data(values=values)  # type: ignore[no-untyped-call]  # altair leaves Data's __init__ untyped


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def charts(counts: Counts, words: ReportWords, capacities: Mapping[str, int | None] | None) -> list[Chart]:
    """The report's charts, in the order shown."""
    import altair as alt

    names = words.columns
    found: list[Chart] = []

    # (a) workload against capacity
    values = []
    rows: list[list[Any]] = []
    for (operator, day), tasks in sorted(counts.per_operator_day.items(), key=lambda item: (item[0][1], item[0][0])):
        capacity = (capacities or {}).get(operator)
        values.append({"operator": operator, "day": day, "tasks": tasks, "capacity": capacity})
        over = "" if capacity is None else (words.yes if tasks > capacity else words.no)
        rows.append([operator, day, tasks, "" if capacity is None else capacity, over])
    base = alt.Chart(_data(values))
    x = alt.X("day:O", title=names["day"])
    offset = alt.XOffset("operator:N")
    layers: list[Any] = [base.mark_bar().encode(x=x, xOffset=offset, y=alt.Y("tasks:Q", title=names["tasks"]), color=alt.Color("operator:N", title=names["operator"]))]
    if capacities is not None:
        layers.append(base.mark_tick(color="#d62728", thickness=2).encode(x=x, xOffset=offset, y="capacity:Q"))
    note = words.workload_note + ("" if capacities is not None else " " + words.no_capacity)
    found.append(Chart("workload", words.workload, note, alt.layer(*layers).properties(width=alt.Step(14)).to_dict(), [names[key] for key in ("operator", "day", "tasks", "capacity", "over")], rows))

    # (b) by playbook and rule
    values = [{"playbook": playbook, "rule": f"{playbook}/{rule}", "tasks": tasks} for (playbook, rule), tasks in sorted(counts.per_rule.items())]
    spec = (
        alt.Chart(_data(values))
        .mark_bar()
        .encode(y=alt.Y("rule:N", title=names["rule"], sort=None), x=alt.X("tasks:Q", title=names["tasks"]), color=alt.Color("playbook:N", title=names["playbook"]))
        .to_dict()
    )
    rows = [[playbook, rule, tasks] for (playbook, rule), tasks in sorted(counts.per_rule.items())]
    rows.append([words.total, "", counts.given])
    found.append(Chart("by-rule", words.by_rule, "", spec, [names["playbook"], names["rule"], names["tasks"]], rows))

    # (c) rates
    measured = [("done", counts.done, counts.due_given), ("on_time", counts.on_time, counts.done), ("replied", counts.replied, counts.done)]
    values = [{"measure": words.measures[key], "rate": part / whole if whole else 0} for key, part, whole in measured]
    spec = (
        alt.Chart(_data(values))
        .mark_bar()
        .encode(y=alt.Y("measure:N", title=names["measure"], sort=None), x=alt.X("rate:Q", title=names["rate"], axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])))
        .to_dict()
    )
    rows = [[words.measures[key], part, whole, _percent(part, whole)] for key, part, whole in measured]
    found.append(Chart("rates", words.rates, words.rates_note, spec, [names[key] for key in ("measure", "count", "of", "rate")], rows))

    # (d) taken back
    days = sorted({day for day, _ in counts.taken_back})
    values = [{"day": day, "status": words.statuses[status], "tasks": counts.taken_back[(day, status)]} for day in days for status in TAKEN_BACK]
    spec = (
        alt.Chart(_data(values))
        .mark_bar()
        .encode(x=alt.X("day:O", title=names["day"]), y=alt.Y("tasks:Q", title=names["tasks"]), color=alt.Color("status:N", title=names["status"]))
        .to_dict()
    )
    rows = [[day, *(counts.taken_back[(day, status)] for status in TAKEN_BACK)] for day in days]
    rows.append([words.total, *(sum(tasks for (_, kind), tasks in counts.taken_back.items() if kind == status) for status in TAKEN_BACK)])
    found.append(Chart("taken-back", words.taken_back, words.taken_back_note, spec, [names["day"], *(words.statuses[status] for status in TAKEN_BACK)], rows))
    return found


# -- the page ----------------------------------------------------------------------------------------

# The charts' words keep the `sans-serif` vl-convert wrote them in: it placed them by that font's
# widths, and a wider one (the page's) overflows their room — labels cut at the chart's edge. A
# chart with nothing to draw (no mark holds anything: no task was taken back, say) leaves its
# table alone rather than an empty frame: `:has` (Chrome 105, Safari 15.4, Firefox 121; older
# browsers show the frame).
_STYLE = """
body{font-family:system-ui,-apple-system,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
section{margin:2.5rem 0}.note{color:#555;max-width:48rem}
.chart-and-table{display:flex;flex-wrap:wrap;gap:2rem;align-items:flex-start}
figure.chart{margin:0}.chart svg{max-width:100%;height:auto}
.chart:not(:has(.role-mark > *)){display:none}
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
"""


def _svg(spec: dict[str, Any]) -> str:
    import vl_convert

    return str(vl_convert.vegalite_to_svg(spec))


def _cell(value: Any) -> str:
    number = isinstance(value, int)
    return f'<td class="n">{value}</td>' if number else f"<td>{html.escape(str(value))}</td>"


def render(found: Sequence[Chart], words: ReportWords, language: str, counts: Counts, tz: ZoneInfo) -> str:
    """The report page: the charts as inline SVG, each with its table; no script, no link."""
    watermark = "—" if counts.watermark is None else datetime.fromtimestamp(counts.watermark, tz).isoformat(timespec="minutes")
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{html.escape(language)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(words.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(words.title)}</h1>",
        f'<p class="note">{html.escape(words.generated.format(watermark=watermark, given=counts.given))}</p>',
    ]
    for chart in found:
        head = "".join(f'<th scope="col">{html.escape(column)}</th>' for column in chart.columns)
        body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in chart.rows)
        note = f'<p class="note">{html.escape(chart.note)}</p>' if chart.note else ""
        parts.append(
            f'<section id="{chart.key}" data-chart="{chart.key}"><h2>{html.escape(chart.title)}</h2>{note}'
            f'<div class="chart-and-table"><figure class="chart" role="img" aria-label="{html.escape(chart.title)}">{_svg(chart.spec)}</figure>'
            f'<table data-for="{chart.key}"><caption>{html.escape(chart.title)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></section>'
        )
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(store: StateStore, out: str, capacities: Mapping[str, int | None] | None = None) -> Counts:
    """Write the report of ``store`` to ``out``; ``capacities`` (operator → tasks a day) draws the
    capacity ticks when known (community.yaml; the state does not keep it)."""
    check_installed()
    language = store.meta("language") or "en"
    words = WORDS.get(language, WORDS["en"])
    tz = ZoneInfo(store.meta("timezone") or "UTC")
    counts = count(store)
    page = render([*charts(counts, words, capacities), *holdout_charts(store, language)], words, language, counts, tz)
    try:
        Path(out).write_text(page, encoding="utf-8")
    except OSError as error:
        raise ReportError(f"{out}: {error.strerror} — write the report to a folder that exists and can be written") from None
    return counts


# -- the holdout comparison --------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldoutWords:
    title: str
    note: str
    columns: Sequence[str]
    arms: Mapping[str, str]
    too_few: str
    difference: str  # "{estimate}", "{low}", "{high}"


HOLDOUT_WORDS = {
    "zh-CN": HoldoutWords(
        title="对照组：任务有没有用",
        note="每个设了 holdout 的剧本：成员第一次收到（或本应收到）该剧本任务后 7 天内是否再次发言。收到任务的成员与被留作对照、不发任务的成员相比；只计 7 天已过完的成员。差值后是 95% 区间：整个区间大于 0 才说明任务有效。",
        columns=("剧本", "收到任务的成员", "7 天内再发言", "比率", "对照组成员", "7 天内再发言", "比率", "差（收到 − 对照）"),
        arms={"treated": "收到任务", "held_out": "对照组"},
        too_few="样本太少，无法判断（每组至少 30 人）",
        difference="{estimate} 个百分点（95% 区间 {low} ~ {high}）",
    ),
    "en": HoldoutWords(
        title="Holdouts: do the tasks make a difference?",
        note="For each playbook with a holdout: whether members wrote again within 7 days after their first task of it (given, or withheld). Members who got it against those held out; only members whose 7 days are over. The difference has its 95 % interval: only an interval above 0 says the tasks work.",
        columns=("Playbook", "Treated members", "Wrote within 7 days", "Rate", "Held-out members", "Wrote within 7 days", "Rate", "Difference (treated − held out)"),
        arms={"treated": "treated", "held_out": "held out"},
        too_few="too few to tell (at least 30 members in each arm)",
        difference="{estimate} points (95 % interval {low} to {high})",
    ),
}


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def holdout_charts(store: StateStore, language: str) -> list[Chart]:
    """The holdout comparison (engine/holdout.py), when a playbook has a holdout; none otherwise."""
    import altair as alt

    rows = store.connection.execute("SELECT playbook, arm, due, wrote_at FROM holdouts").fetchall()
    watermark = store.watermark
    if not rows or watermark is None:
        return []
    words = HOLDOUT_WORDS.get(language, HOLDOUT_WORDS["en"])
    found = compare(rows, watermark)
    values = [
        {"playbook": item.playbook, "arm": words.arms[arm], "rate": counted.rate or 0.0}
        for item in found for arm, counted in (("treated", item.treated), ("held_out", item.held_out))
    ]
    spec = (
        alt.Chart(_data(values))
        .mark_bar()
        .encode(
            y=alt.Y("playbook:N", title=words.columns[0]),
            yOffset=alt.YOffset("arm:N", title=""),
            x=alt.X("rate:Q", title=words.columns[3], axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("arm:N", title=""),
        )
        .to_dict()
    )
    table = []
    for item in found:
        difference = words.too_few if item.difference is None else words.difference.format(estimate=_points(item.difference[0]), low=_points(item.difference[1]), high=_points(item.difference[2]))
        table.append([
            item.playbook,
            item.treated.members, item.treated.wrote, _percent(item.treated.wrote, item.treated.members),
            item.held_out.members, item.held_out.wrote, _percent(item.held_out.wrote, item.held_out.members),
            difference,
        ])
    return [Chart("holdout", words.title, words.note, spec, words.columns, table)]
