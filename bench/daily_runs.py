"""One ``--state`` run over a history against one ``--state`` run per local day of it.

Issue 20, item 4: with binding capacity, nightly runs must keep the plan one run keeps. This
runs the playbooks both ways on the same events and compares the plan the operator holds at
the end: every printed task, a task printed again replacing its earlier version, less those a
later run took back (withdrawn as stale, displaced). It prints the tasks by priority for each
way and whether the two plans are the same, task for task (id, due time, text).

Example:
    python bench/generate.py --events 30000 --days 30 --seed 3 --out month.jsonl
    python bench/daily_runs.py playbooks month.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from playbook_engine.contract import SourceRecord, Task
from playbook_engine.loading import load_config
from playbook_engine.localtime import local_time
from playbook_engine.model import Config
from playbook_engine.plugins import load_registry
from playbook_engine.runner import run
from playbook_engine.state import StateStore


def held_plan(config: Config, pieces: list[list[dict]], path: Path, max_future: float | None = None) -> dict[str, Task]:
    """The plan an operator holds after running ``pieces`` one after another on one state."""
    plan: dict[str, Task] = {}
    for piece in pieces:
        store = StateStore.open(str(path))
        result = run(config, [SourceRecord(number, event) for number, event in enumerate(piece, 1)], state=store, keep_suppressed=False, max_future=max_future)
        result.save_state()
        store.close()
        for task_id in result.planner.taken_back() if result.planner else []:
            plan.pop(task_id, None)
        plan.update((task.id, task) for task in result.tasks)
    return plan


def by_day(events: list[dict], tz: ZoneInfo) -> list[list[dict]]:
    """The events of each local day, in order (what a nightly run reads)."""
    from datetime import datetime

    local = local_time(tz)
    days: dict[int, list[dict]] = {}
    for event in events:
        days.setdefault(local.day(datetime.fromisoformat(event["ts"]).timestamp()), []).append(event)
    return [days[day] for day in sorted(days)]


def by_hours(events: list[dict], tz: ZoneInfo, hours: int) -> list[list[dict]]:
    """The events of each ``hours``-long slice of local time (from local midnight of 1970-01-01),
    in order: runs that end at any hour of the day, not only at midnight."""
    from datetime import datetime

    local = local_time(tz)
    slices: dict[int, list[dict]] = {}
    for event in events:
        t = datetime.fromisoformat(event["ts"]).timestamp()
        slices.setdefault(int((t + local.offset(t)) // (hours * 3600)), []).append(event)
    return [slices[key] for key in sorted(slices)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("playbooks")
    parser.add_argument("events", help="a JSON Lines history (bench/generate.py)")
    parser.add_argument("--every", type=int, metavar="HOURS", help="one run per HOURS of local time instead of one per local day (runs that end mid-day)")
    parser.add_argument("--max-future-days", type=float, metavar="DAYS", help="screen events as `playbook run` does by default (1): a quiet night's lone line is kept for the next run")
    options = parser.parse_args(argv)
    config = load_config([options.playbooks], load_registry(entrypoints=False))
    events = [json.loads(line) for line in Path(options.events).read_text(encoding="utf-8").splitlines() if line.strip()]
    days = by_hours(events, config.community.tz, options.every) if options.every else by_day(events, config.community.tz)
    with tempfile.TemporaryDirectory() as directory:
        future = options.max_future_days * 86400 if options.max_future_days is not None else None
        one = held_plan(config, [events], Path(directory) / "one.db", future)
        daily = held_plan(config, days, Path(directory) / "daily.db", future)
    runs = f"{len(days)} runs of {options.every} h" if options.every else f"{len(days)} daily runs"
    for name, plan in (("one run", one), (runs, daily)):
        priorities = Counter(task.priority for task in plan.values())
        print(f"{name:>16}: {len(plan)} tasks — " + ", ".join(f"{priority} {priorities[priority]}" for priority in ("urgent", "high", "normal", "low") if priorities[priority]))
    same = {key: (task.due, task.text) for key, task in one.items()} == {key: (task.due, task.text) for key, task in daily.items()}
    print(f"same plan, task for task: {'yes' if same else 'no'} ({len(one.keys() - daily.keys())} only in one run, {len(daily.keys() - one.keys())} only in the daily runs)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
