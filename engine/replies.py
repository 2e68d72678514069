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

from collections.abc import Iterable

DAY = 86400
LOOKBACK = 30 * DAY  # how far back a reply ends a playbook's sequence (`until: replied`)


class Replies:
    """Done tasks awaiting their member's reply, and the latest reply per member and playbook."""

    def __init__(self, window: int):
        self.window = window
        self.awaiting: dict[str, list[tuple[float, str, str]]] = {}  # member → (done at, task id, playbook)
        self._last: dict[str, dict[str, float]] = {}  # member → playbook → latest reply
        self.found: list[tuple[str, float]] = []  # (task id, when): replies this run saw, for --state

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
            elif t < done_at:
                left.append((done_at, task_id, playbook))  # marked done with a later time: still to come
        if left:
            self.awaiting[member] = left
        else:
            del self.awaiting[member]

    def since(self, member: str, playbook: str, start: float) -> float | None:
        """When ``member`` last replied to a task of ``playbook``, if at ``start`` or later."""
        when = self._last.get(member, {}).get(playbook)
        return when if when is not None and when >= start else None

    def _note(self, member: str, playbook: str, when: float) -> None:
        last = self._last.setdefault(member, {})
        if when > last.get(playbook, float("-inf")):
            last[playbook] = when
