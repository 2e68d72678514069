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
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playbook_engine.errors import PlaybookError
from playbook_engine.holdout import compare
from playbook_engine.planner import NO_ROOM
from playbook_engine.state import StateStore, member_from_data
from playbook_engine.words import HistoryWords, ReportWords, words_for

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


# -- the numbers -------------------------------------------------------------------------------------


@dataclass
class Counts:
    """What the report shows, counted from the state."""

    watermark: float | None
    given: int = 0
    per_operator_day: Counter[tuple[str, str]] = field(default_factory=Counter)  # (operator, local day) → given tasks
    per_rule: Counter[tuple[str, str]] = field(default_factory=Counter)  # (playbook, rule) → given tasks
    rule_rates: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)  # (playbook, rule) → due, done, can_reply, replied
    due_given: int = 0  # given and due by the watermark
    first_due: float | None = None  # the earliest given task's due time: where the report's period begins
    done: int = 0
    on_time: int = 0
    replied: int = 0
    can_reply: int = 0  # done and of an action that awaits a reply (a DM, not a note to the operator)
    not_needed: int = 0  # due, still to do, and said no longer needed (overtaken): no list carried them
    not_delivered: int = 0  # due, still to do, of an operator who gets lists (`deliver`), and in none of them
    unseen: int = 0  # done DMs … to members who have left every group since: a reply cannot show in the history
    taken_back: Counter[tuple[str, str]] = field(default_factory=Counter)  # (local day, stale|displaced) → tasks
    per_playbook: dict[str, Counter[str]] = field(default_factory=dict)  # playbook → due, done, can_reply, replied
    per_operator: dict[str, Counter[str]] = field(default_factory=dict)  # operator → due, done, skipped
    delivered: Counter[tuple[str, str]] = field(default_factory=Counter)  # (operator, local day) → tasks its morning's messages carried


def count(store: StateStore) -> Counts:
    """The report's numbers, in one pass over the printed tasks."""
    tz = ZoneInfo(store.meta("timezone") or "UTC")
    watermark = store.watermark
    counts = Counts(watermark)
    not_needed = frozenset(store.overtaken())  # still to do: the runs said they no longer hold, deliver left them out
    awaiting = store.meta("awaits_reply")  # the actions a member can reply to (an older state: any)
    repliable = frozenset(json.loads(awaiting)) if awaiting else None
    # What each morning's messages carried (the day before's evening tasks included): the load an
    # operator saw, which the due days alone do not show; and which tasks any list carried.
    sent: set[str] = set()
    for operator, day, tasks in store.connection.execute("SELECT operator, date, tasks FROM deliveries"):
        carried = json.loads(tasks)
        counts.delivered[(operator, day)] += len(carried)
        sent.update(carried)
    listed = {operator for operator, _ in counts.delivered}  # operators who get their lists from `deliver`
    unreplied: list[tuple[str, str, str]] = []  # (member, playbook, rule) of done tasks awaiting a reply that has not come
    query = "SELECT id, rule, member, action, due, assignee, status, deadline, outcome, marked_at FROM tasks WHERE data IS NOT NULL AND status != 'merged'"  # a part counts in its message
    for task_id, rule, member, action, due, assignee, status, deadline, outcome, marked_at in store.connection.execute(query):
        day = datetime.fromtimestamp(due, tz).date().isoformat()
        if status in TAKEN_BACK:
            counts.taken_back[(day, status)] += 1
            continue
        is_due = watermark is not None and due <= watermark
        if is_due and status == "todo" and task_id in not_needed:
            counts.not_needed += 1  # never given: the runs said it was no longer needed, and no list carried it
            continue
        counts.given += 1
        counts.first_due = due if counts.first_due is None else min(counts.first_due, due)
        counts.per_operator_day[(assignee or "—", day)] += 1
        playbook, _, name = str(rule).partition("/")
        counts.per_rule[(playbook, name)] += 1
        if not is_due:
            continue
        if status == "todo" and assignee in listed and task_id not in sent:
            counts.not_delivered += 1  # no morning's list carried it (planned past its time): not the operator's to have done
            continue
        counts.due_given += 1
        by_playbook = counts.per_playbook.setdefault(playbook, Counter())
        by_operator = counts.per_operator.setdefault(assignee or "—", Counter())
        by_rule = counts.rule_rates.setdefault((playbook, name), Counter())
        by_rule["due"] += 1
        by_playbook["due"] += 1
        by_operator["due"] += 1
        by_playbook["skipped"] += status == "skipped"
        by_operator["skipped"] += status == "skipped"
        if status == "done":
            counts.done += 1
            by_playbook["done"] += 1
            by_operator["done"] += 1
            by_rule["done"] += 1
            counts.on_time += deadline is None or marked_at is None or marked_at <= deadline
            if repliable is None or action in repliable:
                counts.can_reply += 1
                counts.replied += outcome == "replied"
                by_playbook["can_reply"] += 1
                by_playbook["replied"] += outcome == "replied"
                by_rule["can_reply"] += 1
                by_rule["replied"] += outcome == "replied"
                if outcome != "replied" and member is not None:
                    unreplied.append((member, playbook, name))
    # A reply is seen when its member writes in a group: to one who has left every group (a
    # "why did you leave" DM) none can show, and such a task says nothing of whether they answered.
    gone = _left(store, {member for member, _, _ in unreplied})
    for member, playbook, name in unreplied:
        if member in gone:
            counts.unseen += 1
            counts.can_reply -= 1
            counts.per_playbook[playbook]["can_reply"] -= 1
            counts.rule_rates[(playbook, name)]["can_reply"] -= 1
    return counts


def _left(store: StateStore, members: set[str]) -> set[str]:
    """Of ``members``, those the state has as having left every group."""
    found = set()
    ids = sorted(members)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for member_id, data in store.connection.execute(f"SELECT id, data FROM members WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            if member_from_data(member_id, json.loads(data)).left:
                found.add(member_id)
    return found


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


def charts(counts: Counts, words: ReportWords, capacities: Mapping[str, int | None] | None, operators: Mapping[str, str] | None = None, titles: Mapping[str, str] | None = None, lost: Mapping[str, int] | None = None, rule_titles: Mapping[str, str] | None = None) -> list[Chart]:
    """The report's charts, in the order shown; ``lost``: by playbook, the tasks it triggered
    that capacity or their deadline kept from the plan (``lost_by_playbook``)."""
    import altair as alt

    names = words.columns
    found: list[Chart] = []

    # (a) workload against capacity
    values = []
    rows: list[list[Any]] = []
    for (operator, day), tasks in sorted(counts.per_operator_day.items(), key=lambda item: (item[0][1], item[0][0])):
        capacity = (capacities or {}).get(operator)
        name = (operators or {}).get(operator) or operator  # as community.yaml calls them
        delivered = counts.delivered.get((operator, day))
        values.append({"operator": name, "day": day, "tasks": tasks, "capacity": capacity, "delivered": delivered})
        over = "" if capacity is None else (words.yes if tasks > capacity else words.no)
        rows.append([name, day, tasks, "" if capacity is None else capacity, over, "" if delivered is None else delivered])
    base = alt.Chart(_data(values))
    x = alt.X("day:O", title=names["day"])
    offset = alt.XOffset("operator:N")
    layers: list[Any] = [base.mark_bar().encode(x=x, xOffset=offset, y=alt.Y("tasks:Q", title=names["tasks"]), color=alt.Color("operator:N", title=names["operator"]))]
    if capacities is not None:
        layers.append(base.mark_tick(color="#d62728", thickness=2).encode(x=x, xOffset=offset, y="capacity:Q"))
    if counts.delivered:
        layers.append(base.mark_point(color="#222", filled=True, size=20).encode(x=x, xOffset=offset, y="delivered:Q"))
    note = words.workload_note + ("" if capacities is not None else " " + words.no_capacity)
    found.append(Chart("workload", words.workload, note, alt.layer(*layers).properties(width=alt.Step(14)).to_dict(), [names[key] for key in ("operator", "day", "tasks", "capacity", "over", "delivered")], rows))

    # (b) by playbook and rule, by their titles (a state of an older engine: ids)
    titles = titles or {}
    rule_titles = rule_titles or {}

    def rule_name(playbook: str, rule: str) -> str:
        return rule_titles.get(f"{playbook}/{rule}") or rule

    values = [{"playbook": titles.get(playbook) or playbook, "rule": f"{titles.get(playbook) or playbook} · {rule_name(playbook, rule)}", "tasks": tasks} for (playbook, rule), tasks in sorted(counts.per_rule.items())]
    spec = (
        alt.Chart(_data(values))
        .mark_bar()
        .encode(
            y=alt.Y("rule:N", title=names["rule"], sort=None), x=alt.X("tasks:Q", title=names["tasks"]),
            color=alt.Color("playbook:N", title=names["playbook"], scale=alt.Scale(scheme="tableau20")),  # 20 colours: no two playbooks of a community alike
        )
        .to_dict()
    )
    # Beside each rule's tasks, how its due ones went: the rule to change hides in its playbook's rate.
    rows = []
    for (playbook, rule), tasks in sorted(counts.per_rule.items()):
        rates = counts.rule_rates.get((playbook, rule), Counter())
        rows.append([titles.get(playbook) or playbook, rule_name(playbook, rule), tasks, _percent(rates["done"], rates["due"]), _percent(rates["replied"], rates["can_reply"])])
    rows.append([words.total, "", counts.given, _percent(counts.done, counts.due_given), _percent(counts.replied, counts.can_reply)])
    found.append(Chart("by-rule", words.by_rule, words.by_rule_note, spec, [names["playbook"], names["rule"], names["tasks"], names["done_rate"], names["replied_rate"]], rows))

    # (c) rates
    measured = [("done", counts.done, counts.due_given), ("on_time", counts.on_time, counts.done), ("replied", counts.replied, counts.can_reply)]
    values = [{"measure": words.measures[key], "rate": part / whole if whole else 0} for key, part, whole in measured]
    spec = (
        alt.Chart(_data(values))
        .mark_bar()
        .encode(y=alt.Y("measure:N", title=names["measure"], sort=None), x=alt.X("rate:Q", title=names["rate"], axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])))
        .to_dict()
    )
    rows = [[words.measures[key], part, whole, _percent(part, whole)] for key, part, whole in measured]
    found.append(Chart("rates", words.rates, words.rates_note.format(not_needed=counts.not_needed, not_delivered=counts.not_delivered, unseen=counts.unseen), spec, [names[key] for key in ("measure", "count", "of", "rate")], rows))

    # (c2) which playbooks work: each one's done and replied rates, the counts beside them
    lost = lost or {}
    values = []
    rows = []
    for playbook in sorted(set(counts.per_playbook) | {playbook for playbook, count in lost.items() if count}):
        numbers = counts.per_playbook.get(playbook, Counter())
        shown = titles.get(playbook) or playbook
        # No bar where there is no base (nothing due, nothing to reply to): "—" in the table, not 0.
        # Each bar says what it is of (43/50): a rate of 4 tasks does not read as one of 400.
        values += [
            {"playbook": shown, "measure": words.measures["done"], "rate": numbers["done"] / numbers["due"] if numbers["due"] else None, "of": f"{numbers['done']}/{numbers['due']}"},
            {"playbook": shown, "measure": words.measures["replied"], "rate": numbers["replied"] / numbers["can_reply"] if numbers["can_reply"] else None, "of": f"{numbers['replied']}/{numbers['can_reply']}"},
        ]
        rows.append([shown, numbers["due"], numbers["done"], _percent(numbers["done"], numbers["due"]), numbers["skipped"], numbers["can_reply"], numbers["replied"], _percent(numbers["replied"], numbers["can_reply"]), lost.get(playbook, 0)])
    rated = alt.Chart(_data(values)).encode(y=alt.Y("playbook:N", title=names["playbook"], sort=None), x=alt.X("rate:Q", title=names["rate"], axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])), yOffset=alt.YOffset("measure:N"))
    bars = rated.mark_bar().encode(color=alt.Color("measure:N", title=names["measure"]))
    spec = alt.layer(bars, rated.mark_text(align="left", dx=3, fontSize=9).encode(text="of:N")).to_dict()
    found.append(Chart("by-playbook", words.by_playbook, words.by_playbook_note, spec, [names[key] for key in ("playbook", "due", "done", "done_rate", "skipped", "can_reply", "replied", "replied_rate", "lost")], rows))

    # (c3) each operator's share of it, and (with the capacities known) how often her day was full:
    # by the tasks due that day, and by what that morning's list carried (the evening before's too)
    values = []
    rows = []
    full: Counter[str] = Counter()
    over_morning: Counter[str] = Counter()
    for (operator, _), tasks in counts.per_operator_day.items():
        capacity = (capacities or {}).get(operator)
        full[operator] += capacity is not None and tasks >= capacity
    for (operator, _), tasks in counts.delivered.items():
        capacity = (capacities or {}).get(operator)
        over_morning[operator] += capacity is not None and tasks > capacity
    for operator, numbers in sorted(counts.per_operator.items()):
        name = (operators or {}).get(operator) or operator
        values.append({"operator": name, "rate": numbers["done"] / numbers["due"] if numbers["due"] else 0})
        row = [name, numbers["due"], numbers["done"], numbers["skipped"], _percent(numbers["done"], numbers["due"])]
        rows.append(row + ([full[operator], over_morning[operator]] if capacities is not None else []))
    spec = (
        alt.Chart(_data(values))
        .mark_bar()
        .encode(y=alt.Y("operator:N", title=names["operator"], sort=None), x=alt.X("rate:Q", title=names["done_rate"], axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])))
        .to_dict()
    )
    columns = ("operator", "due", "done", "skipped", "done_rate") + (("full_days", "over_mornings") if capacities is not None else ())
    found.append(Chart("by-operator", words.by_operator, words.by_operator_note, spec, [names[key] for key in columns], rows))

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
    watermark = "—" if counts.watermark is None else datetime.fromtimestamp(counts.watermark, tz).strftime("%Y-%m-%d %H:%M")
    since = "—" if counts.first_due is None else datetime.fromtimestamp(counts.first_due, tz).strftime("%Y-%m-%d")
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{html.escape(language)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(words.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(words.title)}</h1>",
        f'<p class="note">{html.escape(words.generated.format(since=since, watermark=watermark, given=counts.given))}</p>',
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


def write_report(store: StateStore, out: str, capacities: Mapping[str, int | None] | None = None, rules: Sequence[str] | None = None) -> Counts:
    """Write the report of ``store`` to ``out``; ``capacities`` (operator → tasks a day) draws the
    capacity ticks when known (community.yaml; the state does not keep it); ``rules``: the keys
    of the playbooks' rules that plan tasks, when known — one that planned none is shown at 0."""
    check_installed()
    language = store.meta("language") or "en"
    words = words_for(language).report
    tz = ZoneInfo(store.meta("timezone") or "UTC")
    counts = count(store)
    for key in rules or ():
        playbook, _, name = key.partition("/")
        counts.per_rule.setdefault((playbook, name), 0)  # "本期没有触发": a rule that works quietly, or one that never can
    titles = dict(json.loads(store.meta("playbook_titles") or "{}"))
    history = count_history(store)
    rule_titles = dict(json.loads(store.meta("rule_titles") or "{}"))
    found = charts(counts, words, capacities, store.operator_names(), titles, lost_by_playbook(history), rule_titles) + history_charts(history, words_for(language).history, titles, ran=store.watermark is not None) + holdout_charts(store, language)
    page = render(found, words, language, counts, tz)
    try:
        Path(out).write_text(page, encoding="utf-8")
    except OSError as error:
        raise ReportError(f"{out}: {error.strerror} — write the report to a folder that exists and can be written") from None
    return counts


# -- what the state keeps besides the tasks (version 8): stages, the summary's counts, questions --


# The built-in stages in the order members go through them (community.yaml lists them in the
# order they are tried, churn first); a community's own stages follow, in its order.
FUNNEL_ORDER = ("newbie", "growth", "mature", "decline", "churn")
BUCKET_LIMITS = (5 * 60, 30 * 60, 2 * 3600)  # seconds: the upper ends of the first three buckets
RECENT = 2 * 3600  # an unanswered question younger than this at the watermark: too soon to say
KINDS = ("suppressed", "moved", "skipped")


@dataclass
class History:
    """What the report draws from the state's records of the runs (version 8)."""

    stages: list[tuple[str, str]]  # (stage, label), in funnel order
    weeks: list[str] = field(default_factory=list)  # Mondays (local), from the first record to the watermark
    funnel: dict[str, Counter[str]] = field(default_factory=dict)  # week → stage → members at its end
    moves: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (week, from or "", to or "") → moves
    counts: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)  # (day, kind, reason, playbook) → tasks
    buckets: list[int] = field(default_factory=lambda: [0] * 5)  # questions per answer-time bucket
    too_recent: int = 0  # unanswered questions asked less than RECENT before the watermark
    answer_weeks: dict[str, list[float]] = field(default_factory=dict)  # week → answer times (s), for medians
    asked_weeks: Counter[str] = field(default_factory=Counter)  # week → questions asked
    recorded: bool = False  # the state holds records of runs of version 8 or later


def _monday(t: float, tz: ZoneInfo) -> str:
    """The local Monday of the week of ``t``: what a week is called."""
    day = datetime.fromtimestamp(t, tz).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def count_history(store: StateStore) -> History:
    """The stage funnel and moves, the summary's counts by day, the questions' answer times."""
    tz = ZoneInfo(store.meta("timezone") or "UTC")
    db = store.connection
    known = dict(json.loads(store.meta("stages") or "[]"))
    order = [stage for stage in FUNNEL_ORDER if stage in known] + [stage for stage in known if stage not in FUNNEL_ORDER]
    history = History([(stage, known[stage]) for stage in order])
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "stage_moves" not in tables:
        return history  # not opened by an engine of version 8 yet
    watermark = store.watermark

    # The funnel: each member's stage at the end of each week, from their moves in time order.
    current: dict[str, str | None] = {}
    moves = db.execute("SELECT member, from_stage, to_stage, at FROM stage_moves ORDER BY at, rowid").fetchall()
    week_end: float | None = None
    week = ""
    for member, before, after, at in moves:
        if week_end is None or at >= week_end:
            if week_end is not None:
                history.funnel[week] = Counter(stage for stage in current.values() if stage is not None)
            week = _monday(at, tz)
            week_end = datetime.combine(date.fromisoformat(week) + timedelta(days=7), time(), tz).timestamp()
            history.weeks.append(week)
        current[member] = after
        history.moves[(week, before or "", after or "")] += 1
    if week_end is not None:
        history.funnel[week] = Counter(stage for stage in current.values() if stage is not None)
    # Weeks without a move keep the week before's numbers.
    if history.weeks:
        first = date.fromisoformat(history.weeks[0])
        last = date.fromisoformat(_monday(watermark, tz) if watermark is not None else history.weeks[-1])
        all_weeks = [date.fromordinal(ordinal).isoformat() for ordinal in range(first.toordinal(), last.toordinal() + 1, 7)]
        previous: Counter[str] = Counter()
        for name in all_weeks:
            previous = history.funnel.get(name, previous)
            history.funnel[name] = previous
        history.weeks = all_weeks

    # The summary's counts by day: those kept and those of the tasks the last run left open.
    for day, kind, reason, playbook, count in db.execute(
        "SELECT day, kind, reason, playbook, sum(count) FROM (SELECT day, kind, reason, playbook, count FROM day_counts UNION ALL SELECT day, kind, reason, playbook, count FROM open_counts) GROUP BY day, kind, reason, playbook"
    ):
        if count:
            history.counts[(day, kind, reason, playbook)] += count

    # Questions: time to the first answer.
    for asked_at, answered_at in db.execute("SELECT asked_at, answered_at FROM questions ORDER BY asked_at"):
        if watermark is not None and asked_at > watermark:
            continue
        if answered_at is None:
            if watermark is not None and watermark - asked_at < RECENT:
                history.too_recent += 1
                continue
            history.buckets[4] += 1
        else:
            waited = answered_at - asked_at
            history.buckets[next((index for index, limit in enumerate(BUCKET_LIMITS) if waited < limit), 3)] += 1
        week = _monday(asked_at, tz)
        history.asked_weeks[week] += 1
        if answered_at is not None:
            history.answer_weeks.setdefault(week, []).append(answered_at - asked_at)
    # An upgraded state has the tables from its first run of version 8 on: empty until then.
    history.recorded = bool(moves or history.counts or history.asked_weeks or history.too_recent)
    return history


def lost_by_playbook(history: History) -> Counter[str]:
    """By playbook, the tasks it triggered that capacity or their deadline kept from the plan:
    what a playbook lost, beside what it gave (a festival's greetings on a full day)."""
    lost: Counter[str] = Counter()
    for (_, kind, reason, playbook), count in history.counts.items():
        if kind == "suppressed" and reason in NO_ROOM:
            lost[playbook] += count
    return lost


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def history_charts(history: History, words: HistoryWords, titles: Mapping[str, str] | None = None, ran: bool = True) -> list[Chart]:
    """The charts of the runs' history, in the order shown: the funnel, the moves, the
    guardrails' counts, the answer times and their weekly medians; ``ran``: whether any run
    planned anything yet (a state with nothing in it says what to do first)."""
    import altair as alt

    names = words.columns
    titles = titles or {}
    labels = dict(history.stages)
    missing = "" if history.recorded else " " + (words.no_history if ran else words.no_runs)

    def label(stage: str) -> str:
        return words.first_seen if not stage else labels.get(stage, stage)

    def reason_of(kind: str, reason: str) -> str:
        return f"{words.kinds.get(kind, kind)} · {words.reasons.get(reason, reason)}"

    found: list[Chart] = []
    stage_order = [label for _, label in history.stages]

    # (e) the funnel, week by week
    values = [{"week": week, "stage": labels.get(stage, stage), "members": history.funnel[week][stage]} for week in history.weeks for stage, _ in history.stages]
    spec = (
        alt.Chart(_data(values))
        .mark_bar()
        .encode(
            x=alt.X("week:O", title=names["week"]), y=alt.Y("members:Q", title=names["members"], stack="zero"),
            color=alt.Color("stage:N", title=names["stage"], sort=stage_order, scale=alt.Scale(domain=stage_order)), order=alt.Order("order:Q"),
        )
        .transform_calculate(order=f"indexof({json.dumps(stage_order)}, datum.stage)")
        .to_dict()
    )
    rows: list[list[Any]] = [[week, *(history.funnel[week][stage] for stage, _ in history.stages), sum(history.funnel[week].values())] for week in history.weeks]
    found.append(Chart("funnel", words.funnel, words.funnel_note + missing, spec, [names["week"], *stage_order, names["members"]], rows))

    # (f) moves between stages, week by week
    moves = sorted(history.moves.items(), key=lambda item: (item[0][0], -item[1], item[0][1], item[0][2]))
    values = [{"week": week, "move": f"{label(before)} → {label(after)}", "moves": count} for (week, before, after), count in moves]
    spec = (
        alt.Chart(_data(values))
        .mark_bar()
        .encode(x=alt.X("week:O", title=names["week"]), y=alt.Y("moves:Q", title=names["moves"]), color=alt.Color("move:N", title=f"{names['from']} → {names['to']}"))
        .to_dict()
    )
    rows = [[week, label(before), label(after), count] for (week, before, after), count in moves]
    found.append(Chart("stage-moves", words.moves, words.moves_note + missing, spec, [names["week"], names["from"], names["to"], names["moves"]], rows))

    # (g) suppressed, moved, skipped: why, by day
    # By playbook too, by its title: "中秋问候: 197 past their deadline", not only "deadline 205".
    counted = sorted(history.counts.items(), key=lambda item: (item[0][0], KINDS.index(item[0][1]) if item[0][1] in KINDS else len(KINDS), item[0][2], item[0][3]))
    # Firings about staff are skipped, not lost: in the totals only, not day by day beside
    # what was dropped or moved, which they would dwarf.
    by_day = [item for item in counted if item[0][1] != "skipped"]
    values = [{"day": day, "reason": reason_of(kind, reason), "playbook": titles.get(playbook) or playbook, "count": count} for (day, kind, reason, playbook), count in by_day]
    spec = (
        alt.Chart(_data(values))
        .mark_bar()
        .encode(x=alt.X("day:O", title=names["day"]), y=alt.Y("count:Q", title=names["count"]), color=alt.Color("reason:N", title=names["reason"]))
        .to_dict()
    )
    rows = [[day, words.kinds.get(kind, kind), words.reasons.get(reason, reason), titles.get(playbook) or playbook, count] for (day, kind, reason, playbook), count in by_day]
    totals: Counter[tuple[str, str]] = Counter()
    for (_, kind, reason, _), count in counted:
        totals[(kind, reason)] += count
    rows += [[words.total, words.kinds.get(kind, kind), words.reasons.get(reason, reason), "", count] for (kind, reason), count in sorted(totals.items(), key=lambda item: (KINDS.index(item[0][0]) if item[0][0] in KINDS else len(KINDS), item[0][1]))]
    found.append(Chart("guardrails", words.guardrails, words.guardrails_note + missing, spec, [*(names[key] for key in ("day", "kind", "reason")), names["playbook"], names["count"]], rows))

    # (h) question answer times: the distribution, then the weekly median
    asked = sum(history.buckets)
    values = [{"bucket": bucket, "questions": count} for bucket, count in zip(words.buckets, history.buckets, strict=True)]
    spec = (
        alt.Chart(_data(values))
        .mark_bar()
        .encode(x=alt.X("bucket:N", title=names["bucket"], sort=list(words.buckets)), y=alt.Y("questions:Q", title=names["questions"]))
        .to_dict()
    )
    rows = [[bucket, count, _percent(count, asked)] for bucket, count in zip(words.buckets, history.buckets, strict=True)]
    found.append(Chart("answer-times", words.answer_times, words.answer_times_note.format(open=history.too_recent) + missing, spec, [names["bucket"], names["questions"], names["share"]], rows))

    weeks = sorted(history.asked_weeks)
    medians = {week: round(_median(history.answer_weeks[week]) / 60, 1) for week in weeks if history.answer_weeks.get(week)}
    values = [{"week": week, "median": medians[week]} for week in weeks if week in medians]
    spec = (
        alt.Chart(_data(values))
        .mark_line(point=True)
        .encode(x=alt.X("week:O", title=names["week"]), y=alt.Y("median:Q", title=names["median"]))
        .to_dict()
    )
    rows = [[week, history.asked_weeks[week], len(history.answer_weeks.get(week, ())), f"{medians[week]:.1f}" if week in medians else "—"] for week in weeks]
    found.append(Chart("answer-weeks", words.answer_weeks, words.answer_weeks_note + missing, spec, [names[key] for key in ("week", "questions", "answered", "median")], rows))
    return found


# -- the holdout comparison --------------------------------------------------------------------------


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def holdout_charts(store: StateStore, language: str) -> list[Chart]:
    """The holdout comparison (engine/holdout.py), when a playbook has a holdout; none otherwise."""
    import altair as alt

    rows = store.connection.execute("SELECT playbook, arm, due, wrote_at FROM holdouts").fetchall()
    watermark = store.watermark
    if not rows or watermark is None:
        return []
    words = words_for(language).holdout
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
