"""``playbook run --state DB --ahead``: the next day's tasks that the clock alone brings, planned
at night, so that the morning's list holds them.

A nightly run plans from the history up to its end. What is due the next day because time
passes — a scheduled post at 10:00, a festival's greetings, Sunday's 20:00 leaderboard, a
member's seventh silent day — would be planned only by the next night's run, after its time,
and a task whose deadline is the end of its day then never reaches a morning list.

Planning ahead runs the engine on from the state just saved, with no new events, through the
end of the local day after the one the history ended in (``runner.plan`` with an empty history
and ``until``, as ``playbook forecast`` does, but with capacity). The state is opened read-only
for that: the run's own state stays where the history ends. The tasks it plans that the state
does not hold yet are kept as tasks to do (``StateStore.save_ahead``) and printed with the
plan; ``playbook deliver`` sends them like any other.

They are planned from the history so far. The next run takes back those still to do that no
list delivered (``StateStore.drop_ahead``) and plans again from the history as it turned out:
the same task comes out again with the same id; one the day made unneeded (the member wrote
before the nudge; the leaderboard changed) is gone, and the summary says so. One an operator
marked, or a list delivered, is planned again all the same (its tag, its points, its text's
turn happen in that run), printed again only if it changed, and taken back (stale) if the day
made it unneeded; ``history`` leaves it out until then (``StateStore.drop_ahead``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from playbook_engine.contract import Task
from playbook_engine.localtime import local_time
from playbook_engine.model import Config
from playbook_engine.planner import NO_ROOM, Sent
from playbook_engine.runner import plan
from playbook_engine.state import StateStore


@dataclass
class Ahead:
    """What planning ahead found: the tasks, in output order; what the state keeps of each and of
    the parts merged into it (``Sent``, by id); and the end of the day it planned through (None
    before a first watermark: no timer is set yet)."""

    tasks: list[Task] = field(default_factory=list)
    kept: dict[str, Sent] = field(default_factory=dict)
    until: float | None = None
    # What the clock brings that day and finds no room (its operator's day full; moved, past its
    # deadline), by playbook: a festival's greetings capacity cannot hold, to say the night before;
    # and by local day and operator, for that morning's list (``StateStore.save_ahead``).
    no_room: Counter[str] = field(default_factory=Counter)
    no_room_by: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)


def plan_ahead(config: Config, path: str) -> Ahead:
    """The tasks due before the end of the local day after the state's watermark's that a run
    on from the state at ``path`` with no new events plans and the state does not hold."""
    store = StateStore.open(path, lock=False, read_only=True)  # the run that saved it holds the lock
    try:
        watermark = store.watermark
        if watermark is None:
            return Ahead()
        local = local_time(config.community.tz)
        until = local.midnight(local.day(watermark) + 2)
        # The tasks the run printed keep their place, as delivered ones do: the morning's list
        # holds them, and what is planned ahead fills what is left of each day's capacity.
        # Suppressed tasks kept: those of the day ahead that found no room are counted (one day
        # of the clock's tasks: their explanations cost little).
        stream = plan(config, [], until=until, state=store, keep_suppressed=True, observe=False, keep_printed=True)
        planned = [task for task in stream if task.due < until]
        lost = [item.task for item in stream.result.suppressed if item.guardrail in NO_ROOM and item.task.trigger_at > watermark]
        no_room = Counter(task.playbook for task in lost)
        no_room_by: dict[str, dict[str, dict[str, int]]] = {}
        for task in lost:
            by_operator = no_room_by.setdefault(local.date_text(task.trigger_at), {}).setdefault(task.assignee or "", {})
            by_operator[task.playbook] = by_operator.get(task.playbook, 0) + 1
        known = store.known_tasks(part for task in planned for part in (task.id, *(part["id"] for part in task.parts)))
    finally:
        store.close()
    # Not one that takes in a task the state holds already (printed alone by the run before: a
    # question due that evening, merged into the morning's festival greeting): the operator has
    # that one; the next run, from the day's history, plans the message.
    found = Ahead([task for task in planned if task.id not in known and not any(part["id"] in known for part in task.parts)], until=until, no_room=no_room, no_room_by=no_room_by)
    history = stream.planner.new_history
    for task in found.tasks:
        for task_id in [task.id, *(part["id"] for part in task.parts)]:
            sent = history.get(task_id)
            if sent is not None:
                found.kept[task_id] = sent
    return found
