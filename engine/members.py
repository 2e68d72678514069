"""Per-member and per-group state, maintained incrementally from events.

Everything a condition or a template may read about a member lives here. Window metrics
(``messages_7d``, ``messages_30d``, ``active_days_30d``) keep one counter per local day for
the last 30 days, so an event costs O(1) and a read at most 30 additions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from playbook_engine.localtime import local_time

WINDOW_DAYS = 30

MEMBER_FIELDS = (
    "id", "name", "groups", "joined_at", "left", "last_message_at", "days_since_join",
    "days_silent", "messages", "messages_7d", "messages_30d", "active_days_30d", "questions",
    "replies", "mentions_received", "activities", "points", "tags", "attributes", "stage",
    "stage_since",
)
GROUP_FIELDS = ("id", "name", "channel", "members", "messages")
# Fields whose values are plain, hashable scalars: conditions on these alone can be memoised by value.
SCALAR_MEMBER_FIELDS = frozenset({
    "id", "name", "left", "days_since_join", "days_silent", "messages", "messages_7d", "messages_30d",
    "active_days_30d", "questions", "replies", "mentions_received", "activities", "points", "stage",
})


@dataclass(slots=True)
class Member:
    """What the engine knows about one member. Times are epoch seconds (None: unknown).

    ``--state`` saves a member as the list of these fields in this order (engine/state.py):
    adding, removing or reordering one needs a new state version.
    """

    id: str
    name: str | None = None
    groups: set[str] = field(default_factory=set)
    group: str | None = None  # where the member was last seen: tasks about them go there
    joined_at: float | None = None
    left: bool = False
    last_message_at: float | None = None
    messages: int = 0
    questions: int = 0
    replies: int = 0
    mentions_received: int = 0
    activities: int = 0
    points: float = 0
    tags: set[str] = field(default_factory=set)
    attributes: dict[str, Any] = field(default_factory=dict)
    stage: str | None = None
    stage_since: float | None = None
    daily: list[int] = field(default_factory=list)  # local day, messages, local day, messages … for the last 30 days, oldest first
    # Bumped whenever the member changes other than by their own events' fields (an action
    # tagged them, their stage changed): checks that skip unchanged fields compare it.
    revision: int = 0
    marks: dict[Any, Any] = field(default_factory=dict)  # per-trigger bookkeeping (armed timers, fired stretches)

    def count_message(self, day: int) -> bool:
        """Count a message on local ``day``; True if it is the member's first that day."""
        daily = self.daily
        if daily and daily[-2] == day:
            daily[-1] += 1
            return False
        daily += (day, 1)
        while daily[0] <= day - WINDOW_DAYS:
            del daily[:2]
        return True

    def window(self, today: int, days: int) -> tuple[int, int]:
        """Messages and active days in the ``days`` local days ending with ``today``."""
        messages = active = 0
        daily = self.daily
        for index in range(len(daily) - 2, -1, -2):
            day = daily[index]
            if day <= today - days:
                break
            if day <= today:
                messages += daily[index + 1]
                active += 1
        return messages, active

    def day_counts(self) -> list[tuple[int, int]]:
        """(local day, messages) for the days with messages in the window, oldest first."""
        daily = self.daily
        return list(zip(daily[::2], daily[1::2]))

    @property
    def silent_since(self) -> float | None:
        """The moment silence is counted from: the last message, or the (re)join if later."""
        if self.last_message_at is None:
            return self.joined_at
        if self.joined_at is None:
            return self.last_message_at
        return max(self.last_message_at, self.joined_at)


@dataclass(slots=True)
class Group:
    id: str
    name: str | None = None
    channel: str | None = None
    members: set[str] = field(default_factory=set)
    messages: int = 0


def local_day(t: float, tz: ZoneInfo) -> int:
    """The day number (proleptic ordinal) of instant ``t`` in the community time zone."""
    return local_time(tz).day(t)


class MemberView:
    """The read-only face of a Member that conditions and templates see, as of ``now``.

    Times are datetimes in the community time zone; day counts are whole days, floor.
    """

    __slots__ = ("_member", "_now", "_tz", "_windows")

    def __init__(self, member: Member, now: float, tz: ZoneInfo):
        self._member = member
        self._now = now
        self._tz = tz
        self._windows: dict[int, tuple[int, int]] = {}  # valid while the member's daily counts are unchanged

    def _time(self, t: float | None) -> datetime | None:
        return None if t is None else datetime.fromtimestamp(t, self._tz)

    def _days_since(self, t: float | None) -> int | None:
        return None if t is None else int((self._now - t) // 86400)

    def _window(self, days: int) -> tuple[int, int]:
        counts = self._windows.get(days)
        if counts is None:
            counts = self._windows[days] = self._member.window(local_day(self._now, self._tz), days)
        return counts

    @property
    def id(self) -> str:
        return self._member.id

    @property
    def name(self) -> str:
        return self._member.name or self._member.id

    @property
    def groups(self) -> list[str]:
        return sorted(self._member.groups)

    @property
    def group(self) -> str | None:
        return self._member.group

    @property
    def joined_at(self) -> datetime | None:
        return self._time(self._member.joined_at)

    @property
    def left(self) -> bool:
        return self._member.left

    @property
    def last_message_at(self) -> datetime | None:
        return self._time(self._member.last_message_at)

    @property
    def days_since_join(self) -> int | None:
        return self._days_since(self._member.joined_at)

    @property
    def days_silent(self) -> int | None:
        return self._days_since(self._member.silent_since)

    @property
    def messages(self) -> int:
        return self._member.messages

    @property
    def messages_7d(self) -> int:
        return self._window(7)[0]

    @property
    def messages_30d(self) -> int:
        return self._window(30)[0]

    @property
    def active_days_30d(self) -> int:
        return self._window(30)[1]

    @property
    def questions(self) -> int:
        return self._member.questions

    @property
    def replies(self) -> int:
        return self._member.replies

    @property
    def mentions_received(self) -> int:
        return self._member.mentions_received

    @property
    def activities(self) -> int:
        return self._member.activities

    @property
    def points(self) -> float:
        return self._member.points

    @property
    def tags(self) -> list[str]:
        return sorted(self._member.tags)

    @property
    def attributes(self) -> dict[str, Any]:
        return dict(self._member.attributes)

    @property
    def stage(self) -> str | None:
        return self._member.stage

    @property
    def stage_since(self) -> datetime | None:
        return self._time(self._member.stage_since)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in MEMBER_FIELDS}
