"""The loop back inside a run: which done tasks a member's message answers, and who answered
which playbook.

An operator marks a DM, a mention, a survey or a reward ``done`` (``playbook tasks mark`` or
``import``); the member's next message within ``community.reply_window`` is their reply: the
task's outcome becomes ``replied`` (saved by ``--state``). A task an operator marks
``replied`` (a private answer the history cannot show) counts the same. ``until: replied`` on
a rule reads who replied to its playbook: their later tasks from it are dropped as ``stale``.

Both come from the ``--state`` database when the run starts (the done tasks still within the
window, the replies of the last ``LOOKBACK``); without a state nothing is done or replied yet.
The key is the member: a keyed stream processor holds each member's list with the member.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playbook_engine.contract import Task

DAY = 86400
LOOKBACK = 30 * DAY  # how far back a reply ends a playbook's sequence (`until: replied`)


class Replies:
    """Done tasks awaiting their member's reply, and the latest reply per member and playbook."""

    def __init__(self, window: int):
        self.window = window
        self.awaiting: dict[str, list[tuple[float, str, str]]] = {}  # member → (done at, task id, playbook)
        # member → playbook → the times of their replies, in order: all of them, not the latest
        # alone — an operator may mark a reply at a time the history has not reached yet.
        self._times: dict[str, dict[str, list[float]]] = {}
        self.found: list[tuple[str, float]] = []  # (task id, when): replies this run saw, for --state
        self.log: TaskLog | None = None  # told of each reply, when the loop fields are read

    def restore(self, done: Iterable[tuple[str, float, str, str]], replied: Iterable[tuple[str, str, float]]) -> None:
        """``done``: (member, done at, task id, playbook) of tasks marked done with no outcome yet;
        ``replied``: (member, playbook, when) of tasks with the outcome ``replied``."""
        for member, done_at, task_id, playbook in sorted(done, key=lambda row: (row[1], row[2])):
            self.awaiting.setdefault(member, []).append((done_at, task_id, playbook))
        for member, playbook, when in replied:
            self._note(member, playbook, when)

    def message(self, member: str, t: float) -> None:
        """``member`` wrote at ``t``: each done task of theirs within the window before is answered."""
        waiting = self.awaiting.get(member)
        if not waiting:
            return
        left = []
        for done_at, task_id, playbook in waiting:
            if done_at <= t <= done_at + self.window:
                self.found.append((task_id, t))
                self._note(member, playbook, t)
                if self.log is not None:
                    self.log.replied(member, task_id, t)
            elif t < done_at:
                left.append((done_at, task_id, playbook))  # marked done with a later time: still to come
        if left:
            self.awaiting[member] = left
        else:
            del self.awaiting[member]

    def since(self, member: str, playbook: str, start: float, end: float) -> float | None:
        """When ``member`` last replied to a task of ``playbook`` from ``start`` to ``end``, or None."""
        times = self._times.get(member, {}).get(playbook)
        if not times:
            return None
        index = bisect.bisect_right(times, end)
        return times[index - 1] if index and times[index - 1] >= start else None

    def _note(self, member: str, playbook: str, when: float) -> None:
        times = self._times.setdefault(member, {}).setdefault(playbook, [])
        index = bisect.bisect_left(times, when)
        if index == len(times) or times[index] != when:
            times.insert(index, when)


class TaskLog:
    """Each member's planned tasks as ``member.last_task_at`` and the other loop fields read
    them: by task id, [due, status, done at, replied at]. A member's are read from the
    ``--state`` database the first time they are asked for (``load``), then kept up to date
    with the tasks this run makes final and the replies it sees."""

    def __init__(self, load: Callable[[str], list[tuple[str, float, str, float | None, float | None, str, list[str]]]] | None = None, reopened: set[str] | frozenset[str] = frozenset(), reaching: frozenset[str] = frozenset(), parts: frozenset[str] = frozenset(), printed_parts: set[str] | frozenset[str] = frozenset()):
        """``reopened``: the ids of the tasks the last --state run left open, which this run
        settles again: not planned yet as far as this run's members can tell — each is added
        when its day is settled, as one run over the whole history adds it. ``reaching``: the
        actions that reach out to the member (``member.last_contact_at``): those the frequency
        limits count (not ``notify``, ``warn``, ``remove``). A merged message's entry keeps its
        parts' ids: leaving out a part leaves out the message it went in. ``parts``: those of the
        messages reopened (their rows, `held_out` ones too, are the message's, settled again);
        ``printed_parts``: those of them printed on their own, which carried their message
        (``Planner.reopened_printed_parts``, filled as they are reopened)."""
        self._load = load
        self._reopened = reopened
        self._parts = parts
        self._printed_parts = printed_parts
        self._reaching = reaching
        self._by_member: dict[str, dict[str, list[Any]]] = {}

    def _of(self, member: str) -> dict[str, list[Any]]:
        entries = self._by_member.get(member)
        if entries is None:
            rows = self._load(member) if self._load is not None else []
            reopened, reaching = self._reopened, self._reaching
            # A held-out task counts as given (engine/holdout.py): a run over the whole history
            # adds it as planned, still to do, and so must a run reading it back.
            entries = self._by_member[member] = {
                task_id: [due, "todo" if status == "held_out" else status, done_at, replied_at, action in reaching, frozenset(parts) if parts else None]
                for task_id, due, status, done_at, replied_at, action, parts in rows if task_id not in reopened and task_id not in self._parts and task_id not in self._printed_parts
            }
        return entries

    def planned(self, tasks: Iterable[Task]) -> None:
        """Tasks made final (their day settled): the plan as the operator gets it."""
        for task in tasks:
            if task.member is not None:
                entries = self._of(task.member)
                entry = entries.get(task.id)
                if entry is None:
                    entries[task.id] = [task.due, "todo", None, None, task.action in self._reaching, frozenset(part["id"] for part in task.parts) if task.parts else None]
                else:
                    entry[0] = task.due  # reopened, settled again: its due as now planned

    def replied(self, member: str, task_id: str, t: float) -> None:
        entry = self._of(member).get(task_id)
        if entry is not None and entry[3] is None:
            entry[3] = t

    def fields(self, member: str, now: float, without: frozenset[str] = frozenset()) -> tuple[float | None, float | None, float | None, int, int, float | None]:
        """(last task due, last done, last replied, open tasks, tasks in the last 30 days, last
        task that reached the member) as of ``now``, leaving out the tasks ``without`` (and the
        messages they went out in, merged: a note is not stale by its own DM, which went out in
        that day's festival greeting)."""
        last_task = last_done = last_replied = last_contact = None
        open_tasks = recent = 0
        entries = self._of(member)
        if without:
            entries = {task_id: entry for task_id, entry in entries.items() if task_id not in without and not (entry[5] and entry[5] & without)}
        for due, status, done_at, replied_at, reaches, _ in entries.values():
            if due <= now:
                if last_task is None or due > last_task:
                    last_task = due
                if reaches and (last_contact is None or due > last_contact):
                    last_contact = due
                if due > now - 30 * DAY:
                    recent += 1
                if status == "todo":
                    open_tasks += 1
            if status == "done" and done_at is not None and done_at <= now and (last_done is None or done_at > last_done):
                last_done = done_at
            if replied_at is not None and replied_at <= now and (last_replied is None or replied_at > last_replied):
                last_replied = replied_at
        return last_task, last_done, last_replied, open_tasks, recent, last_contact
