"""How many of the tasks capacity drops could be refused when they are offered (issue 25, item 1).

Runs the playbooks over a generated stream with one operator who looks after every group with
a daily capacity (default 40: a busy day offers her several times that), and at each accepted
task asks what the planner knows then: is the task's day already held by ``capacity`` tasks
that come before it (higher priority, or equal priority with an earlier deadline and due
time), that have passed their own due-time check (due before now), none of them a message it
would be merged into — and would its deadline pass before capacity could move it to the next
day? Such a task can only be dropped. The prediction is then checked against what the run did
(``--explain`` keeps every dropped task with its guardrail): a prediction that was kept, or
dropped for another reason, fails the run.

docs/architecture.md ("Where each check sits") reports the result: about a fifth of capacity's
drops could be known at offer time; the rest depend on due-time checks still to come and on
moves to the next day.

Example: python bench/admission.py --events 40k --capacity 40
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import Options, generate_file  # noqa: E402

from playbook_engine import planner as planner_module  # noqa: E402
from playbook_engine.contract import Task  # noqa: E402
from playbook_engine.loading import load_config  # noqa: E402
from playbook_engine.plugins import load_registry  # noqa: E402
from playbook_engine.runner import read_source, run  # noqa: E402


def one_operator(source: Path, target: Path, capacity: int) -> None:
    """``source``'s playbooks with one operator, who lists no group (so looks after all of them)."""
    for path in source.iterdir():
        if path.is_file():
            shutil.copy(path, target / path.name)
    data = yaml.safe_load((source / "community.yaml").read_text(encoding="utf-8"))
    data["community"]["operators"] = [{"id": "op-all", "name": "运营", "capacity": capacity}]
    (target / "community.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def predicted_drops(planner: Any, task: Task, original_due: float) -> bool:
    """Whether ``task``, about to wait in its operator's day, can only be dropped (see above)."""
    if task.assignee not in planner._capacity or task.dropped:
        return False
    day = planner._day(task.due)
    room = max(0, planner._capacity[task.assignee] - planner._capacity_used[(task.assignee, day)])
    mine = (-task.rank, task.deadline, task.due)
    merge = planner.community.merge
    key = (task.member, task.channel, task.assignee) if task.action in merge and task.member else None
    ahead: set[Any] = set()
    for other in planner._waiting.get((day, task.assignee), ()):
        if other.dropped:
            continue
        other_key = (other.member, other.channel, other.assignee) if other.action in merge and other.member else None
        if key is not None and other_key == key:
            return False  # it would be merged into a message, not given a slot of its own
        if other.due < task.trigger_at and (-other.rank, other.deadline, other.due) < mine:
            ahead.add(other_key or id(other))
    moved = planner._next_day(task.due)
    return len(ahead) >= room and (moved > task.deadline or moved - original_due > planner.community.max_delay)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="Example: python bench/admission.py --events 40k")
    parser.add_argument("--events", default="40k", help="events in the stream (default 40k)")
    parser.add_argument("--capacity", type=int, default=40, help="the operator's daily capacity (default 40)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--playbooks", default=str(ROOT / "playbooks"))
    args = parser.parse_args(argv)
    events = int(args.events[:-1]) * 1000 if args.events.endswith("k") else int(args.events)
    options = Options(events=events, seed=args.seed)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    stream = out / f"admission-{events}-s{args.seed}.jsonl"
    if not stream.exists():
        generate_file(options, stream)

    predicted: set[str] = set()
    place = planner_module.Planner._place

    def watched(self: Any, task: Task, original_due: float) -> None:
        if predicted_drops(self, task, original_due):
            predicted.add(task.id)
        place(self, task, original_due)

    planner_module.Planner._place = watched  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as directory:
        one_operator(Path(args.playbooks), Path(directory), args.capacity)
        registry = load_registry(entrypoints=False)
        config = load_config([directory], registry)
        result = run(config, read_source(registry, "jsonl", str(stream)), explain=True)
    planner_module.Planner._place = place  # type: ignore[method-assign]

    kept = {task.id for task in result.tasks}
    why = {item.task.id: item.guardrail for item in result.planner.suppressed}
    outcome = Counter("kept" if task_id in kept else why.get(task_id, "?") for task_id in predicted)
    counts = result.planner.suppressed_counts
    capacity_drops = counts.get("deadline", 0) + counts.get("capacity", 0)
    offered = len(result.tasks) + sum(counts.values())
    print(f"{events:,} events, one operator of capacity {args.capacity}: {offered:,} tasks offered or refused, {len(result.tasks):,} planned; capacity dropped {capacity_drops:,} (deadline {counts.get('deadline', 0):,}, capacity {counts.get('capacity', 0):,}); stale {counts.get('stale', 0):,}")
    share = len(predicted) / capacity_drops if capacity_drops else 0.0
    print(f"known when offered: {len(predicted):,} ({share:.0%} of capacity's drops); what became of them: {dict(outcome)}")
    wrong = sum(count for reason, count in outcome.items() if reason not in ("deadline", "capacity"))
    if wrong:
        print(f"{wrong} predictions were wrong", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
