"""Per-member and per-group state, maintained incrementally from events.

Everything a condition or a template may read about a member lives here. Window metrics
(``messages_7d``, ``messages_30d``, ``active_days_30d``) keep one counter per local day for
the last 30 days, so an event costs O(1) and a read at most 30 additions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from playbook_engine.contract import MEMBER_FIELDS, Group, Member
from playbook_engine.localtime import local_time
from playbook_engine.replies import TaskLog

# Group membership the plan decided, kept in ``member.marks`` (plain JSON: saved by --state).
OUT_OF = "@out"  # group id → when a planned `remove` took the member out of it, until a new member_joined there
OUT_BY = "@out-by"  # group id → [rule, trigger instant(, when they left it on their own since)] of that `remove`: its sibling tasks go with it
PENDING = "@pending"  # "action@group" → due time of a planned task whose effect (``apply``) has not happened yet
INVITED = "@invited"  # group id → when an invite into it was planned, until a member_joined there
# …and what the history says of it: no invite back into a group its admins removed the member from.
REMOVED = "@removed"  # group id → when a member_left (reason: removed) took them out of it, until a member_joined there


def pending_key(action: str, group: str | None) -> str:
    """The key of a planned effect in ``member.marks[PENDING]``: the action, in the group."""
    return f"{action}@{group}"


# A "城市-称呼" group nickname (what group rules ask for: 上海-Amy, 杭州－小王, 北京·陈晨): its
# city, two to six Chinese characters, then a dash or a middle dot.
_CITY_PREFIX = re.compile(r"^\s*[\u4e00-\u9fff]{2,6}\s*[-－—–·・]+\s*(?=\S)")


def call_name(name: str) -> str:
    """How a private message calls someone whose group nickname is ``name``: the 称呼 of a
    "城市-称呼" nickname (上海-Amy → Amy), else the nickname as it is."""
    found = _CITY_PREFIX.match(name)
    return name[found.end():].strip() if found else name


def group_name(groups: Mapping[str, Group], named: Mapping[str, str], group: str) -> str:
    """The name operators know ``group`` by: community.yaml's (``named``), else the export's,
    else its id. ``groups``: those the history showed (their name is community.yaml's if it
    names them, see ``Evaluation.group``)."""
    known = groups.get(group)
    return (known.name if known is not None else None) or named.get(group, group)


def local_day(t: float, tz: ZoneInfo) -> int:
    """The day number (proleptic ordinal) of instant ``t`` in the community time zone."""
    return local_time(tz).day(t)


def snapshot(member: Member) -> Member:
    """A copy of ``member`` as it is now, for a text rendered later with the values of now (its
    marks, the engine's bookkeeping, are left out)."""
    m = member
    return Member(
        m.id, m.name, set(m.groups), m.group, m.joined_at, m.left, m.last_message_at, m.messages, m.questions, m.replies,
        m.mentions_received, m.activities, m.points, set(m.tags), dict(m.attributes), m.stage, m.stage_since, list(m.daily), m.revision,
        purchases=m.purchases, spent=m.spent,
    )


class MemberView:
    """The read-only face of a Member that conditions and templates see, as of ``now``.

    Times are datetimes in the community time zone; day counts are whole days, floor, never
    below 0 (a view of a moment before the member last wrote or joined says 0).
    """

    __slots__ = ("_member", "_now", "_tz", "_windows", "_tasks", "_loop", "_without", "_silent")

    def __init__(self, member: Member, now: float, tz: ZoneInfo, tasks: TaskLog | None = None, without: frozenset[str] = frozenset(), silent: Any = None):
        self._member = member
        self._now = now
        self._tz = tz
        self._windows: dict[int, tuple[int, int]] = {}  # valid while the member's daily counts are unchanged
        self._tasks = tasks  # the loop fields' source (None: no rule reads them)
        self._loop: tuple[float | None, float | None, float | None, int, int, float | None] | None = None
        self._without = without  # tasks the loop fields leave out (a re-checked task's own firing's)
        self._silent = silent  # the community's SilentDays, when some days are no silence (None: every day is)

    def _loop_fields(self) -> tuple[float | None, float | None, float | None, int, int, float | None]:
        if self._loop is None:
            self._loop = self._tasks.fields(self._member.id, self._now, self._without) if self._tasks is not None else (None, None, None, 0, 0, None)
        return self._loop

    def _time(self, t: float | None) -> datetime | None:
        return None if t is None else datetime.fromtimestamp(t, self._tz)

    def _days_since(self, t: float | None) -> int | None:
        # Never below 0: a view of a moment before the member's last message or join (a text
        # written with the values of its due time, from a copy of the member taken a little
        # later) says 0 — "沉默了 -1 天" is no day count.
        return None if t is None else max(0, int((self._now - t) // 86400))

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
        since = self._member.silent_since
        if self._silent is not None and since is not None:
            return max(0, int(self._silent.days(since, self._now)))
        return self._days_since(since)

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

    @property
    def purchases(self) -> int:
        return self._member.purchases

    @property
    def spent(self) -> float:
        return self._member.spent

    # The loop back: the member's tasks and what operators marked of them (engine/replies.py).

    @property
    def last_task_at(self) -> datetime | None:
        return self._time(self._loop_fields()[0])

    @property
    def last_contact_at(self) -> datetime | None:
        """When a task last reached out to the member (an @, a DM, a reward, an invite …: what the
        frequency limits count): a note to the operator about them (``notify``) is not one."""
        return self._time(self._loop_fields()[5])

    @property
    def last_done_at(self) -> datetime | None:
        return self._time(self._loop_fields()[1])

    @property
    def last_replied_at(self) -> datetime | None:
        return self._time(self._loop_fields()[2])

    @property
    def open_tasks(self) -> int:
        return self._loop_fields()[3]

    @property
    def tasks_30d(self) -> int:
        return self._loop_fields()[4]


# What a condition may compare a member field with, read from the annotations above so the two
# cannot drift: "number", "text", "truth" (true/false), "moment" (a date and time), "texts" (a
# list of texts), "mapping". ``| None`` is dropped: a comparison with an unknown value is
# false, never an error (engine/expressions.py). A test checks every field has a kind.
_KINDS = {"int": "number", "float": "number", "str": "text", "bool": "truth", "datetime": "moment", "list[str]": "texts", "dict[str, Any]": "mapping"}


def _field_kind(name: str) -> str | None:
    annotation = getattr(MemberView, name).fget.__annotations__.get("return", "")
    return _KINDS.get(str(annotation).removesuffix(" | None"))


MEMBER_FIELD_KINDS: dict[str, str | None] = {name: _field_kind(name) for name in MEMBER_FIELDS}
