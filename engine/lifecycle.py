"""Lifecycle stages: which stage a member is in, and when time alone could change it.

A stage's condition can flip without any event, as days of silence accumulate. Rather than
re-check every member every day (members × days), the thresholds that the conditions compare
time-driven fields against are read from the expressions themselves, and each member gets one
pending check at the next instant one of them could be crossed. Cost grows with events and
checks actually due, not with members × days.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from jinja2 import nodes

from playbook_engine.compiler import expression_tree
from playbook_engine.contract import SCALAR_MEMBER_FIELDS, Member
from playbook_engine.dependencies import member_fields_read, names_read
from playbook_engine.localtime import DAY, local_time
from playbook_engine.members import MemberView
from playbook_engine.predicates import compile_member_values

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from playbook_engine.model import Community

WINDOW_FIELDS = {"messages_7d": 7, "messages_30d": 30, "active_days_30d": 30}


# The comparison ``field OP value`` written the other way round, ``value OP' field``.
_MIRRORED = {"lt": "gt", "lteq": "gteq", "gt": "lt", "gteq": "lteq", "eq": "eq", "ne": "ne"}


def _boundaries(op: str, value: float) -> set[int]:
    """The integers ``b`` at which ``x OP value`` differs between ``x = b - 1`` and ``x = b``.

    A whole-number field (days silent, active days) changes the truth of the comparison only
    when it steps across one of them: upwards on reaching ``b``, downwards on reaching ``b - 1``.
    """
    if op in ("gteq", "lt"):
        return {math.ceil(value)}
    if op in ("gt", "lteq"):
        return {math.floor(value) + 1}
    if value != int(value):
        return set()  # a whole number never equals 2.5
    return {int(value), int(value) + 1}  # eq, ne


class TimeThresholds:
    """When time alone could change the truth of some conditions about a member.

    The conditions' comparisons of time-driven fields with numbers are read from the
    expressions: ``member.days_silent >= 14`` can only change 14 days after the last message,
    ``member.active_days_30d >= 12`` only when the member's active days in the window drop from
    12 to 11 as old days leave it. A field compared with anything but a number (or read some
    other way) is re-checked at every step of its value.
    """

    def __init__(self, sources: list[str], env: object, tz: ZoneInfo, silent: Any = None):
        self.tz = tz
        self.silent = silent  # the community's SilentDays, when some days are no silence
        self.silence_days: set[int] = set()
        self.join_days: set[int] = set()
        # window field → the boundaries of its comparisons, or None: re-check at every change
        self.window_bounds: dict[str, set[int] | None] = {}
        for source in sources:
            self._read_thresholds(env, source)
        # Instants a threshold is crossed at, after the member's last message or join.
        self._silence_offsets = sorted(days * DAY for days in self.silence_days if days > 0)
        self._join_offsets = sorted(days * DAY for days in self.join_days if days > 0)
        # Window fields, each with the values whose reaching (from above) can change an answer.
        self._windows = [(WINDOW_FIELDS[name], name == "active_days_30d", None if bounds is None else sorted(bound - 1 for bound in bounds)) for name, bounds in sorted(self.window_bounds.items())]
        # An event that changes one of these can bring a crossing sooner than the check already
        # pending: a message lifts a window count back over a threshold it will fall through
        # again, a (re)join or a first message starts counting days where none were counted.
        # A window watched at every change needs nothing: its next change is already pending.
        self.recheck_on = frozenset(
            [name for name, bounds in self.window_bounds.items() if bounds is not None]
            + (["days_silent"] if self.silence_days else []) + (["days_since_join"] if self.join_days else [])
        )
        self._local = local_time(tz)

    def _read_thresholds(self, env: object, source: str) -> None:
        for compare in expression_tree(env, source).find_all(nodes.Compare):
            operands = [compare.expr] + [operand.expr for operand in compare.ops]
            for index, operand in enumerate(compare.ops):
                left, right = operands[index], operands[index + 1]
                for side, other, op in ((left, right, operand.op), (right, left, _MIRRORED.get(operand.op))):
                    if not (isinstance(side, nodes.Getattr) and isinstance(side.node, nodes.Name) and side.node.name == "member"):
                        continue
                    name = side.attr
                    number = other.value if isinstance(other, nodes.Const) and isinstance(other.value, (int, float)) and not isinstance(other.value, bool) else None
                    bounds = _boundaries(op, number) if number is not None and op in _MIRRORED else None
                    if name == "days_silent" and bounds is not None:
                        self.silence_days |= bounds
                    elif name == "days_since_join" and bounds is not None:
                        self.join_days |= bounds
                    elif name in WINDOW_FIELDS:
                        known = self.window_bounds.get(name, set())
                        self.window_bounds[name] = None if known is None or bounds is None else known | bounds

    def rearm(self, member: Member, now: float, pending: float | None, changed: set[str] | None) -> float | None:
        """The instant to check ``member`` again, if a new one is needed: none is pending (or it
        is due), or ``changed`` (None: unknown) holds a field whose crossing may now come sooner."""
        if pending is not None and pending > now and not (changed is None or changed & self.recheck_on):
            return None
        due = self.next_check(member, now)
        if due is None or (pending is not None and now < pending <= due):
            return None  # the pending check comes first: it re-arms when due
        return due

    @staticmethod
    def _next_after(start: float | None, offsets: list[int], now: float) -> float | None:
        """The first of ``start + offset`` (offsets ascending) after ``now``."""
        if start is not None:
            for offset in offsets:
                moment = start + offset
                if moment > now:
                    return moment
        return None

    def next_check(self, member: Member, now: float) -> float | None:
        """The next instant after ``now`` at which a time-driven field could cross a threshold."""
        best: float | None = None
        if self._silence_offsets:
            if self.silent is None:
                best = self._next_after(member.silent_since, self._silence_offsets, now)
            elif member.silent_since is not None:
                best = self.silent.first_after(member.silent_since, self._silence_offsets, now)
        if self._join_offsets:
            moment = self._next_after(member.joined_at, self._join_offsets, now)
            if moment is not None and (best is None or moment < best):
                best = moment
        daily = member.daily
        if self._windows and daily:
            today = self._local.day(now)
            size = len(daily)
            for width, days_only, targets in self._windows:
                first = 0  # the oldest day still inside the window leaves it first
                gone = today - width
                while first < size and daily[first] <= gone:
                    first += 2
                if first == size:
                    continue
                leaving = daily[first]
                if targets is not None:
                    # The value falls as days leave; the first exit that takes it down to a target
                    # (the largest below the value) is the first that can change an answer (a
                    # message lifting it: see rearm).
                    value = (size - first) // 2 if days_only else sum(daily[first + 1 :: 2])
                    below = bisect_left(targets, value)
                    if not below:
                        continue
                    target = targets[below - 1]
                    for index in range(first, size, 2):
                        value -= 1 if days_only else daily[index + 1]
                        if value <= target:
                            leaving = daily[index]
                            break
                moment = self._local.midnight(leaving + width)
                if moment > now and (best is None or moment < best):
                    best = moment
        return best


class Lifecycle(TimeThresholds):
    """The first stage whose condition holds; ``condition_failed(rule, member, source, error)``
    is told of a stage condition that raised (the stage is skipped, the next one tried)."""

    def __init__(self, community: Community, env: object, condition_failed: Callable[[str, Member, str, Exception], None]):
        self.stages = community.lifecycle
        self.condition_failed = condition_failed
        sources = [stage.source for stage in self.stages]
        super().__init__(sources, env, community.tz, community.silent_days)
        self.reads_now = bool(names_read(env, sources) & {"now", "*"})
        self.fields = member_fields_read(env, sources)  # None: a stage can change with nothing about the member changing
        # Stage conditions on scalar member fields only are memoised by those fields' values.
        self._memo_fields = tuple(sorted(self.fields)) if self.fields is not None and self.fields <= SCALAR_MEMBER_FIELDS else None
        self._memo_values = compile_member_values(self._memo_fields, community.tz, community.silent_days) if self._memo_fields is not None else None
        self._memo: dict[tuple[object, ...], str | None] = {}
        # Validated as readable by stage conditions (like `if:`), so given to them too.
        self.community_values = {"name": community.name, "timezone": community.timezone, "channel": community.channel}

    def assign(self, member: Member, now: float, view: Callable[[Member], MemberView] | None = None) -> str | None:
        """The first stage whose condition holds for ``member`` at ``now`` (``view``: gives a
        member's view, when the conditions must be run rather than remembered)."""
        if view is None:  # a partial, not a nested function: that would make closure cells at every call
            view = partial(self._view_at, now)
        if self._memo_values is None:
            return self._assign(member, view(member), now, None)
        values = self._memo_values(member, now)
        try:
            return self._memo[values]
        except KeyError:
            return self._assign(member, view(member), now, values)

    def _view_at(self, now: float, member: Member) -> MemberView:
        return MemberView(member, now, self.tz, silent=self.silent)

    def _assign(self, member: Member, view: MemberView, now: float, values: tuple[object, ...] | None) -> str | None:
        """The member's stage, remembered under the field ``values`` the conditions read (if any)."""
        context: dict[str, object] = {"member": view, "community": self.community_values}
        if self.reads_now:
            context["now"] = datetime.fromtimestamp(now, self.tz)
        try:
            for stage in self.stages:
                if stage.condition.test(context):
                    found = stage.stage
                    break
            else:
                found = None
        except Exception:  # broad: any error of a condition is the run's to record, below
            return self._assign_despite_failures(member, context)
        if values is not None and len(self._memo) < 16384:
            self._memo[values] = found
        return found

    def _assign_despite_failures(self, member: Member, context: dict[str, object]) -> str | None:
        """Once a stage condition has failed: a failure is said and skips that stage. Not
        remembered, so the next assessment with the same values says it too. Only this path
        costs more."""
        for stage in self.stages:
            try:
                if stage.condition.test(context):
                    return stage.stage
            except Exception as exc:  # broad: a broken stage condition skips that stage, not the run
                self.condition_failed(f"lifecycle/{stage.stage}", member, stage.source, exc)
        return None
