"""How alive each group is: its members' and its staff's messages per local day.

A group's health (死群: few members speak, or the owner talks to himself) is read by rules as
``group.member_messages_7d``, ``group.staff_messages_7d``, ``group.staff_share_7d``,
``group.active_members_7d`` and ``group.history_days``. They are kept only when a rule reads
one of them (``GroupCounts.wanted``): a run whose playbooks do not pays nothing per event.

The window is the ``DAYS`` whole local days *before* today: a Monday-morning check reads last
week exactly, and the figures do not change during the day, so a task re-checked and written
at its due time (after quiet hours moved it) shows what made it fire. ``history_days`` counts
the whole days before today since the group's first event.

The counts live in the run's store (``@group/daily``), so ``--state`` keeps them and daily runs
see what one run sees; ``history_days`` counts from the group's first event (``Group.since``,
which the state keeps with the group). Each group keeps at most ``DAYS + 1`` buckets of
``[local day, member messages, staff messages, {member: 1}]``: an event costs O(1), a read at
most ``DAYS`` additions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from playbook_engine.contract import Event, Member, Run, TriggerType

DAYS = 7  # the window of the fields: a week, the rhythm operators look at a group in
FIELDS = ("member_messages_7d", "staff_messages_7d", "staff_share_7d", "active_members_7d", "history_days")
DAILY = "@group/daily"  # group → buckets, oldest first


class GroupCounts:
    """Counts every message of every group by day, members and staff apart. Handed to the
    matcher as a listener of every event type, ahead of the rules, so a rule firing on an event
    reads counts that include it (as ``group.messages`` does)."""

    key = "@group"
    listens = frozenset({"*"})

    def __init__(self, staff: frozenset[str]):
        self.staff = staff

    @staticmethod
    def wanted(sources: Iterable[str]) -> bool:
        """Whether a condition or text among ``sources`` reads one of the fields."""
        return any(f"group.{name}" in source or f"group['{name}']" in source or f'group["{name}"]' in source for source in sources for name in FIELDS)

    def start(self, run: Run) -> None:
        pass

    def on_timer(self, run: Run, subject: str, payload: Any) -> list[tuple[TriggerType, Any]]:
        return []

    def on_event(self, run: Run, event: Event, member: Member | None) -> list[tuple[TriggerType, Any]]:
        group = event.group
        if group is None or event.type != "message" or event.member is None:
            return []
        day = run.local.day(event.t)
        by_group = run.store(DAILY)
        buckets = by_group.get(group)
        if buckets is None:
            buckets = by_group[group] = []
        if not buckets or buckets[-1][0] != day:
            buckets.append([day, 0, 0, {}])
            while buckets[0][0] < day - DAYS:  # today's, and the DAYS days before it
                del buckets[0]
        bucket = buckets[-1]
        if event.member in self.staff:
            bucket[2] += 1
        else:
            bucket[1] += 1
            bucket[3][event.member] = 1
        return []

    def values(self, run: Run, group: str | None, today: int) -> dict[str, Any]:
        """The fields for ``group`` on local day ``today``: over the ``DAYS`` days before it."""
        members = staff = 0
        active: set[str] = set()
        for day, member_count, staff_count, writers in run.store(DAILY).get(group, ()) if group is not None else ():
            if today - DAYS <= day < today:
                members += member_count
                staff += staff_count
                active.update(writers)
        known = run.groups.get(group) if group is not None else None
        first = run.local.day(known.since) if known is not None and known.since is not None else None
        return {
            "member_messages_7d": members,
            "staff_messages_7d": staff,
            # Unknown (null, so every comparison is false) in a week nobody wrote: no share to judge.
            "staff_share_7d": staff / (members + staff) if members + staff else None,
            "active_members_7d": len(active),
            "history_days": 0 if first is None else max(0, today - first),
        }
