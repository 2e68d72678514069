"""What one wake-up per member would save over today's member timers (issue 25, item 2).

A member can have up to four timers pending, one per engine part that keeps time for members:
``@silence`` (every `silence` rule of the community, served by one timer at the earliest
deadline still to come), ``@lifecycle`` (the next moment time alone could move their stage),
``@becomes`` (the next moment a `becomes` condition could turn) and ``@tag-expiry``. None of
them is armed again on every message: each is moved only when its own due time changes, and a
stale one is skipped by a generation check when it comes due.

This runs the playbooks over a generated stream, records every member timer scheduled (with the
event time of the call) and replays those calls against one wake-up per member: a heap entry
only when a part wants the member earlier than their pending wake-up, and one more, after a
wake-up, for the earliest due time still pending. It prints the heap entries pushed and popped
both ways. The parts' own checks when they come due are the same either way; only the heap
work differs. bench/README.md reports the result.

Example: python bench/wakeups.py --events 10k --members 10k
"""

from __future__ import annotations

import argparse
import heapq
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import _count  # noqa: E402
from run import ensure_stream, stream_options  # noqa: E402

from playbook_engine import clock as clock_module  # noqa: E402
from playbook_engine import evaluate as evaluate_module  # noqa: E402
from playbook_engine.loading import load_config  # noqa: E402
from playbook_engine.plugins import load_registry  # noqa: E402
from playbook_engine.runner import read_source, run  # noqa: E402

MEMBER_TIMERS = frozenset({"@silence", "@lifecycle", "@becomes", "@tag-expiry"})


def record_member_timers(playbooks: str, stream: Path) -> tuple[list[tuple[float, float, str, str]], float]:
    """Every member timer the run schedules, as (event time of the call, due, part, member), and
    the run's last instant."""
    calls: list[tuple[float, float, str, str]] = []
    runs: list[Any] = []
    schedule, init = clock_module.Clock.schedule, evaluate_module.Evaluation.__init__

    def recorded(self: Any, due: float, handler: str, subject: str, payload: Any = None) -> None:
        if handler in MEMBER_TIMERS:
            calls.append((runs[-1].now, due, handler, subject))
        schedule(self, due, handler, subject, payload)

    def kept(self: Any, *args: Any, **kwargs: Any) -> None:
        runs.append(self)
        init(self, *args, **kwargs)

    clock_module.Clock.schedule = recorded  # type: ignore[method-assign]
    evaluate_module.Evaluation.__init__ = kept  # type: ignore[method-assign]
    try:
        registry = load_registry(entrypoints=False)
        result = run(load_config([playbooks], registry), read_source(registry, "jsonl", str(stream)), keep_suppressed=False)
    finally:
        clock_module.Clock.schedule = schedule  # type: ignore[method-assign]
        evaluate_module.Evaluation.__init__ = init  # type: ignore[method-assign]
    return calls, result.evaluation.now


def one_wake_up(calls: list[tuple[float, float, str, str]], end: float) -> tuple[int, int]:
    """Heap entries (pushed, popped) if each member had one wake-up at their earliest pending due
    time: a part's later call replaces its earlier due time, as the generation checks do now."""
    pending: dict[str, dict[str, float]] = defaultdict(dict)
    wake: dict[str, float] = {}
    heap: list[tuple[float, str]] = []
    pushed = popped = 0

    def fire_before(t: float) -> None:
        nonlocal pushed, popped
        while heap and heap[0][0] < t:
            due, member = heapq.heappop(heap)
            popped += 1
            if wake.get(member) != due:
                continue  # stale: the member's wake-up moved earlier since
            del wake[member]
            parts = pending[member]
            for part in [part for part, at in parts.items() if at <= due]:
                del parts[part]
            if parts:
                wake[member] = later = min(parts.values())
                heapq.heappush(heap, (later, member))
                pushed += 1

    for now, due, part, member in sorted(calls, key=lambda call: call[0]):
        fire_before(now)
        pending[member][part] = due
        if member not in wake or due < wake[member]:
            wake[member] = due
            heapq.heappush(heap, (due, member))
            pushed += 1
    fire_before(end + 1)
    return pushed, popped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="Example: python bench/wakeups.py --events 10k --members 10k")
    parser.add_argument("--events", default="10k", help="events in the stream (default 10k)")
    parser.add_argument("--members", default=None, help="members in the stream (default: events / 10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--playbooks", default=str(ROOT / "playbooks"))
    args = parser.parse_args(argv)
    events = _count(args.events)
    stream = ensure_stream(stream_options(events, _count(args.members) if args.members else None, seed=args.seed))  # bench/run.py's streams
    calls, end = record_member_timers(args.playbooks, stream)
    members = len({member for _, _, _, member in calls})
    pushed, popped = one_wake_up(calls, end)
    now_popped = sum(1 for _, due, _, _ in calls if due <= end)
    print(f"{stream.name}: {members:,} members with a timer")
    print(f"  now (a timer per part):        pushed {len(calls):,}, popped {now_popped:,}")
    print(f"  one wake-up per member:        pushed {pushed:,} ({pushed / len(calls):.0%}), popped {popped:,} ({popped / max(now_popped, 1):.0%})")
    for part in sorted(MEMBER_TIMERS):
        print(f"  {part:<14} {sum(1 for call in calls if call[2] == part):>10,} scheduled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
