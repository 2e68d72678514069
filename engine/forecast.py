"""``playbook forecast``: what the timers a ``--state`` database holds will give each operator
in the coming days, against their capacity, if no new event comes.

It is the engine itself run on from the state's watermark with no events (``runner.plan`` with
an empty history and ``until``): silence nudges, stage moves, scheduled and cron posts,
festivals come due as the clock advances, and the tasks earlier runs left to be checked again
are checked. Nothing is saved: the state is opened read-only (SQLite refuses any write) and
``save_state`` is never called.

What is counted is each operator's *demand*: the run is given the operators without their
``capacity``, so a day's tasks stay on their day instead of moving on or being dropped; merge
(one message a day) and pace apply as in any run. A day's count is the tasks planned for it —
those earlier runs printed that keep their place (marked, delivered) and those this run plans
or settles again — set against the operator's capacity from community.yaml.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from playbook_engine.contract import Task
from playbook_engine.errors import PlaybookError
from playbook_engine.localtime import local_time
from playbook_engine.model import Config
from playbook_engine.printable import terminal_text
from playbook_engine.runner import plan
from playbook_engine.state import StateStore
from playbook_engine.words import ForecastWords, words_for

FORMATS = ("table", "json")
SHOWN_PLAYBOOKS = 3  # named in a day's row and line; the rest are summed up


class ForecastError(PlaybookError):
    """``playbook forecast`` cannot run on from this state; the state was not changed."""


# -- the numbers -------------------------------------------------------------------------------------


@dataclass
class Load:
    """One operator's local day: the tasks due then, by playbook, against their capacity."""

    day: date
    operator: str | None  # None: tasks no operator is assigned
    capacity: int | None
    playbooks: Counter[str] = field(default_factory=Counter)

    @property
    def tasks(self) -> int:
        return sum(self.playbooks.values())

    @property
    def over(self) -> int:
        return max(0, self.tasks - self.capacity) if self.capacity is not None else 0

    def by_playbook(self) -> list[tuple[str, int]]:
        """Playbooks by tasks, most first (then by name)."""
        return sorted(self.playbooks.items(), key=lambda item: (-item[1], item[0]))


@dataclass
class Forecast:
    """What ``forecast()`` found: a ``Load`` per day and operator, in day then operator order."""

    community: str
    tz: ZoneInfo
    language: str
    watermark: float
    until: float
    days: list[date]
    operators: dict[str | None, str]  # id → name, in community.yaml order (None: unassigned)
    loads: list[Load]

    def over(self) -> list[Load]:
        return [load for load in self.loads if load.over]

    @property
    def total(self) -> int:
        return sum(load.tasks for load in self.loads)


def forecast(config: Config, store: StateStore, days: int) -> Forecast:
    """Run the engine on from ``store``'s watermark through ``days`` local days (the
    watermark's own day first) with no new events, and count each operator's tasks per day.
    ``store`` is only read (open it ``read_only``)."""
    watermark = store.watermark
    if watermark is None:
        raise ForecastError(f"{store.path}: the state has no watermark yet (no run has read an event into it), so no timer is set — run `playbook run PATHS --events FILE --state {store.path}` first")
    community = config.community
    local = local_time(community.tz)
    first = local.day(watermark)
    until = local.midnight(first + days)
    capacities: dict[str | None, int | None] = {operator.id: operator.capacity for operator in community.operators}
    operators: dict[str | None, str] = {operator.id: operator.name for operator in community.operators}
    loads: dict[tuple[int, str | None], Load] = {}
    for due, assignee, playbook in demand(config, store, until):
        day = local.day(due)
        if first <= day < first + days:
            load = loads.get((day, assignee))
            if load is None:
                load = loads[(day, assignee)] = Load(date.fromordinal(day), assignee, capacities.get(assignee))
                operators.setdefault(assignee, assignee or "")  # an assignee community.yaml does not list, or none
            load.playbooks[playbook] += 1
    every = [loads.get((day, operator)) or Load(date.fromordinal(day), operator, capacities.get(operator)) for day in range(first, first + days) for operator in operators]
    return Forecast(community.name, community.tz, community.language, watermark, until, [date.fromordinal(day) for day in range(first, first + days)], operators, every)


def demand(config: Config, store: StateStore, until: float) -> list[tuple[float, str | None, str]]:
    """(due, operator, playbook) of each task the days up to ``until`` hold if no event comes:
    those earlier runs printed that keep their place, then those the run on from the state's
    watermark plans or settles again — with no operator's capacity, so none moves or is dropped
    for it (see the module's docstring)."""
    uncapped = replace(config, community=replace(config.community, operators=[replace(operator, capacity=None) for operator in config.community.operators]))
    stream = plan(uncapped, [], until=until, state=store, keep_suppressed=False, observe=False)
    planner = stream.planner
    settled: list[tuple[float, str | None, str]] = []
    chained = planner.on_final  # the loop fields' log, when a condition reads them

    def final(tasks: list[Task]) -> None:
        # Each settled day's whole plan: the run does not print again the tasks an earlier run
        # printed the same (the operator has them), but they are that day's all the same.
        withheld = planner.withheld  # held out (engine/holdout.py): never given
        settled.extend((task.due, task.assignee, task.playbook) for task in tasks if task.id not in withheld)
        if chained is not None:
            chained(tasks)

    planner.on_final = final
    for _ in stream:
        pass  # what the run prints is what changed; the days' whole plans come to `final`
    # Held: read once the run is over, as a task of theirs withdrawn as stale gives its slot back.
    return [(sent.due, sent.assignee, sent.rule.split("/")[0]) for sent in planner.holding.values() if sent.status != "held_out"] + settled


# -- writing ------------------------------------------------------------------------------------------


def over_lines(found: Forecast, words: ForecastWords) -> list[str]:
    """One line per operator-day over capacity, naming the playbooks that fill it."""
    return [words.over_line(words.day(load.day), _operator_name(found, load.operator, words), load.tasks, load.capacity or 0, load.over, _playbooks(load, words)) for load in found.over()]


def _playbooks(load: Load, words: ForecastWords) -> str:
    """The day's biggest playbooks by name, the rest summed up (the JSON has them all)."""
    ranked = load.by_playbook()
    return words.playbook_list(ranked[:SHOWN_PLAYBOOKS], sum(count for _, count in ranked[SHOWN_PLAYBOOKS:]))


def _operator_name(found: Forecast, operator: str | None, words: ForecastWords) -> str:
    return words.unassigned if operator is None else found.operators.get(operator) or operator


def _iso(t: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(t, tz).isoformat(timespec="seconds")


def write(found: Forecast, fmt: str, stream: IO[str], *, terminal: bool = False) -> None:
    """``found`` as ``fmt``: a table for people, or JSON for scripts (field names in English)."""
    {"table": _write_table, "json": _write_json}[fmt](found, stream, terminal)


def _write_json(found: Forecast, stream: IO[str], terminal: bool) -> None:
    def row(load: Load) -> dict[str, Any]:
        return {"day": load.day.isoformat(), "operator": load.operator, "tasks": load.tasks, "capacity": load.capacity, "over": load.over, "playbooks": dict(load.by_playbook())}

    document = {
        "community": found.community,
        "timezone": found.tz.key,
        "from": _iso(found.watermark, found.tz),
        "until": _iso(found.until, found.tz),
        "days": len(found.days),
        "operators": [{"id": operator, "name": name} for operator, name in found.operators.items()],
        "load": [row(load) for load in found.loads],
        "over_capacity": [row(load) for load in found.over()],
    }
    stream.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def _write_table(found: Forecast, stream: IO[str], terminal: bool) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    words = words_for(found.language).forecast
    console = Console(file=stream, width=None if terminal else 120, force_terminal=terminal, color_system="auto" if terminal else None, highlight=False, emoji=False, markup=False)
    local_watermark = datetime.fromtimestamp(found.watermark, found.tz).strftime("%Y-%m-%d %H:%M")
    console.print(terminal_text(words.title(found.community, len(found.days), local_watermark)), soft_wrap=True)  # a line, as written: the terminal wraps it
    table = Table(box=box.SIMPLE_HEAD)
    headers = words.headers
    for name in ("day", "operator", "tasks", "capacity", "over", "playbooks"):
        table.add_column(headers[name], no_wrap=name != "playbooks", justify="right" if name in ("tasks", "capacity", "over") else "left", overflow="fold")
    previous: date | None = None
    for load in found.loads:
        day = words.day(load.day) if load.day != previous else ""
        previous = load.day
        table.add_row(
            day, terminal_text(_operator_name(found, load.operator, words)), str(load.tasks),
            "—" if load.capacity is None else str(load.capacity), str(load.over) if load.over else "",
            terminal_text(_playbooks(load, words)),
        )
    console.print(table)
    lines = over_lines(found, words)
    if lines:
        console.print(words.over_heading)
        for line in lines:
            console.print(terminal_text(line), soft_wrap=True)
    elif not any(load.capacity is not None for load in found.loads):
        console.print(words.no_capacity, soft_wrap=True)
    else:
        console.print(words.none_over(len(found.days)), soft_wrap=True)
