"""Lifecycle stages: which stage a member is in, and when time alone could change it.

A stage's condition can flip without any event, as days of silence accumulate. Rather than
re-check every member every day (members × days), the thresholds that the conditions compare
time-driven fields against are read from the expressions themselves, and each member gets one
pending check at the next instant one of them could be crossed. Cost grows with events and
checks actually due, not with members × days.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from jinja2 import nodes

from engine.compiler import parse_expression
from engine.dependencies import member_fields_read, names_read
from engine.localtime import DAY, local_time
from engine.members import SCALAR_MEMBER_FIELDS, Member, MemberView, local_day

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from engine.model import Community

WINDOW_FIELDS = {"messages_7d": 7, "messages_30d": 30, "active_days_30d": 30}


class TimeThresholds:
    """When time alone could change the truth of some conditions about a member."""

    def __init__(self, sources: list[str], env: object, tz: ZoneInfo):
        self.tz = tz
        self.silence_days: set[int] = set()
        self.join_days: set[int] = set()
        self.windows: set[int] = set()
        for source in sources:
            self._read_thresholds(env, source)
        # Instants a threshold can be crossed at, after the member's last message or join (a
        # day of silence can start a moment after a threshold, so each also one day later).
        self._silence_offsets = sorted({days * DAY for n in self.silence_days for days in (n, n + 1)})
        self._join_offsets = sorted({days * DAY for n in self.join_days for days in (n, n + 1)})
        self._local = local_time(tz)

    def _read_thresholds(self, env: object, source: str) -> None:
        tree = parse_expression(env, source)
        for compare in nodes.Template([nodes.Output([tree])]).find_all(nodes.Compare):
            operands = [compare.expr] + [operand.expr for operand in compare.ops]
            fields = [o.attr for o in operands if isinstance(o, nodes.Getattr) and isinstance(o.node, nodes.Name) and o.node.name == "member"]
            numbers = [int(o.value) for o in operands if isinstance(o, nodes.Const) and isinstance(o.value, (int, float)) and not isinstance(o.value, bool)]
            for field in fields:
                if field == "days_silent":
                    self.silence_days.update(numbers)
                elif field == "days_since_join":
                    self.join_days.update(numbers)
                elif field in WINDOW_FIELDS:
                    self.windows.add(WINDOW_FIELDS[field])

    def next_check(self, member: Member, now: float) -> float | None:
        """The next instant after ``now`` at which a time-driven field could cross a threshold."""
        best: float | None = None
        for start, offsets in ((member.silent_since, self._silence_offsets), (member.joined_at, self._join_offsets)):
            if start is not None:
                for offset in offsets:  # ascending: the first one after now is the next
                    moment = start + offset
                    if moment > now:
                        if best is None or moment < best:
                            best = moment
                        break
        daily = member.daily
        if self.windows and daily:
            today = local_day(now, self.tz)
            for width in self.windows:
                for index in range(0, len(daily), 2):  # the oldest day still inside the window leaves it first
                    if daily[index] > today - width:
                        moment = self._local.midnight(daily[index] + width)
                        if moment > now and (best is None or moment < best):
                            best = moment
                        break
        return best


class Lifecycle(TimeThresholds):
    def __init__(self, community: Community, env: object):
        self.stages = community.lifecycle
        sources = [stage.source for stage in self.stages]
        super().__init__(sources, env, community.tz)
        self.reads_now = bool(names_read(env, sources) & {"now", "*"})
        self.fields = member_fields_read(env, sources)  # None: a stage can change with nothing about the member changing
        # Stage conditions on scalar member fields only are memoised by those fields' values.
        self._memo_fields = tuple(sorted(self.fields)) if self.fields is not None and self.fields <= SCALAR_MEMBER_FIELDS else None
        self._memo: dict[tuple[object, ...], str | None] = {}

    def assign(self, member: Member, now: float, view: MemberView | None = None) -> str | None:
        """The first stage whose condition holds for ``member`` at ``now`` (``view``: the member's, if at hand)."""
        view = view or MemberView(member, now, self.tz)
        if self._memo_fields is None:
            return self._assign(view, now)
        values = tuple([getattr(view, name) for name in self._memo_fields])
        try:
            return self._memo[values]
        except KeyError:
            stage = self._assign(view, now)
            if len(self._memo) < 16384:
                self._memo[values] = stage
            return stage

    def _assign(self, view: MemberView, now: float) -> str | None:
        context: dict[str, object] = {"member": view}
        if self.reads_now:
            context["now"] = datetime.fromtimestamp(now, self.tz)
        for stage in self.stages:
            try:
                if stage.condition.test(context):
                    return stage.stage
            except Exception:  # noqa: BLE001 - a broken stage condition skips that stage, not the run
                continue
        return None
