"""The contract between the engine and its plugins: the records they exchange, the interfaces
they implement, and what a run hands to them.

This module is the bottom of the import graph: every other module of the project may import
it, and it imports nothing of ours. A plugin author needs nothing else to write a trigger,
an action, a channel, an event source or an output format (the hooks that register them are
in ``playbook_engine.hookspecs``).

- Records: ``Event`` (what happened), ``Member`` and ``Group`` (what is known), ``Firing`` (a
  trigger fired), ``Task`` (what an operator is asked to do), ``Rejected`` and
  ``SourceRecord`` (what a source yields).
- Interfaces: ``TriggerType`` (subclass it), ``ActionType``, ``Channel``, ``EventSource``,
  ``OutputFormat`` (build one and register it), and ``Run``: the evaluation as triggers and
  actions see it.
"""

from __future__ import annotations

from collections.abc import (
    Callable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import IO, Any, ClassVar, Protocol

# -- events: what happened ----------------------------------------------------------------


@dataclass(slots=True)
class Event:
    """One thing that happened in a community. ``t`` is epoch seconds; ``raw`` the fields as read."""

    t: float
    type: str
    member: str | None = None
    group: str | None = None
    name: str | None = None
    id: str | None = None
    text: str | None = None
    mentions: tuple[str, ...] = ()
    reply_to: str | None = None
    activity: str | None = None
    participants: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    channel: str | None = None
    amount: float | None = None
    inviter: str | None = None
    reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input record that could not be used, and why; reported, counted, optionally saved."""

    line: int
    reason: str
    text: str


@dataclass(slots=True)
class SourceRecord:
    """What an event source yields for each usable input record: its number and native fields.

    Read-only by convention (not frozen: a frozen dataclass costs three times as much to
    build, and a source builds one per line)."""

    number: int
    data: dict[str, Any]


# -- members and groups: what is known -------------------------------------------------------

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


# -- tasks: what an operator is asked to do ------------------------------------------------

PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}

TASK_FIELDS = ("id", "due", "playbook", "rule", "action", "channel", "group", "member", "member_name", "assignee", "priority", "text", "reason")


@dataclass
class Task:
    """One planned operator task. ``due`` and ``trigger_at`` are epoch seconds."""

    id: str
    due: float
    playbook: str
    rule: str
    action: str
    channel: str
    group: str | None
    member: str | None
    member_name: str | None
    assignee: str | None
    priority: str
    text: str
    reason: str
    trigger_at: float
    order: tuple[Any, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    how: str = ""  # what the operator does by hand on this channel
    # Why the due time changed, if it did; with --explain, the conditions that held, with their
    # values. Empty tuples until there is something to say (most tasks are dropped unread).
    moved: Sequence[str] = ()
    because: Sequence[str] = ()
    # Writes ``reason`` and ``how`` when the task is planned (or kept to be shown suppressed):
    # most tasks a long history offers are dropped for capacity, and nobody reads those.
    details: Callable[[], tuple[str, str]] | None = field(default=None, repr=False, compare=False)
    # The planner's moves of ``due`` (quiet hours, capacity), written out into ``moved`` by finish();
    # None until the first (most tasks are never moved, or dropped before they are written).
    moves: list[tuple[str, float, float]] | None = field(default=None, repr=False, compare=False)

    def note_move(self, why: str, before: float, after: float) -> None:
        """Remember that ``due`` moved from ``before`` to ``after`` because of ``why``; finish() writes it out."""
        if self.moves is None:
            self.moves = []
        self.moves.append((why, before, after))

    def finish(self, local: Callable[[float], str] | None = None) -> None:
        """Write the reason, the operator's instruction and why the due time moved, if they are
        still to be written (``local``: how a moment is shown)."""
        if self.details is not None:
            self.reason, self.how = self.details()
            self.details = None
        if self.moves and local is not None:
            self.moved = [*self.moved, *(f"{why}: moved from {local(before)} to {local(after)}" for why, before, after in self.moves)]
            self.moves = None

    def record(self, tz: tzinfo) -> dict[str, Any]:
        """The task as the spec's output record (plus ``params`` when the action has any)."""
        values = {name: getattr(self, name) for name in TASK_FIELDS}
        values["due"] = datetime.fromtimestamp(self.due, tz).isoformat(timespec="seconds")
        if self.params:
            values["params"] = self.params
        return values

    @property
    def rank(self) -> int:
        return PRIORITY_RANK[self.priority]


# -- what a run hands to triggers and actions ------------------------------------------------


class LocalDays(Protocol):
    """Local calendar days of the community time zone."""

    def day(self, t: float) -> int:
        """The day number (proleptic ordinal) of instant ``t``."""
        ...


class CommunitySettings(Protocol):
    """What a trigger may read of ``community.yaml`` while it is built."""

    name: str
    timezone: str
    channel: str
    tz: tzinfo


class Run(Protocol):
    """One evaluation over an event stream, as triggers and actions see it.

    Everything here is keyed: ``members``/``view``/``remove_from_group`` touch one member,
    ``groups``/``known_groups`` one group, ``store`` one trigger's memory, ``schedule`` a timer
    about one subject. Event time only: ``now`` is the instant being evaluated.
    """

    now: float
    tz: Any  # the community's ZoneInfo
    local: LocalDays
    members: MutableMapping[str, Member]
    groups: MutableMapping[str, Group]
    # While an event is dispatched: the member fields it changed for its member; None: unknown.
    changed: set[str] | None

    def schedule(self, due: float, trigger: TriggerType | str, subject: str, payload: Any = None) -> None:
        """Call ``trigger.on_timer(run, subject, payload)`` at event time ``due``."""
        ...

    def store(self, trigger: TriggerType | str) -> dict[Any, Any]:
        """This run's memory for ``trigger`` (or under a key several triggers share); plain JSON data."""
        ...

    def view(self, member: Member) -> Any:
        """The member as conditions see it now (``member.days_silent`` …)."""
        ...

    def prefetch(self, member_ids: Iterable[str]) -> None:
        """Members about to be read one after another: load saved ones together."""
        ...

    def is_question(self, event: Event) -> bool:
        """Whether a message is a question, per ``community.question``."""
        ...

    def known_groups(self) -> list[str]:
        """Every group seen so far or named in community.yaml, in id order."""
        ...

    def remove_from_group(self, member: Member, group_id: str | None) -> None:
        """The member is no longer in ``group_id``; with no group left, they have left."""
        ...

    def condition_failed(self, rule: str, member: Member, source: str, error: Exception) -> None:
        """Condition ``source`` raised ``error`` for ``member``: a trigger takes it as not true
        and says so here. It is recorded as a skipped evaluation of ``rule`` (a rule's key;
        ``lifecycle/STAGE`` for a stage), shown by ``--explain`` and counted in the summary."""
        ...


# -- triggers ---------------------------------------------------------------------------


class TriggerProblem(ValueError):
    """A trigger's value or options make no sense; ``key`` names the offending option, if any.

    ``more``: further problems found in the same place (a condition with two unknown fields),
    reported with the first, so an operator fixes them all in one pass."""

    def __init__(self, message: str, key: str | None = None, more: Sequence[str] = ()):
        super().__init__(message)
        self.key = key
        self.problems = [message, *more]


@dataclass(frozen=True)
class TriggerContext:
    """What a trigger may consult while it is being built from a rule."""

    key: str  # "playbook/rule": unique, stable, used for marks and timer keys
    community: CommunitySettings
    env: Any = None  # the sandbox, for triggers that compile conditions of their own


@dataclass
class Firing:
    """A trigger fired for a member (or a whole group) at instant ``t``, and why.

    ``reason`` is the why as text, or a function of no arguments that returns it: it is called
    only for a task from the firing that is planned — after capacity has kept it, perhaps days
    later in event time — so it captures what it shows when the firing is made. Most firings
    stop at a rule's conditions, and most tasks of a busy history are dropped for capacity.
    """

    member: Member | None
    group: str | None
    t: float
    reason: str | Callable[[], str]
    event: Event | None = None
    values: dict[str, Any] = field(default_factory=dict)


class TriggerType:
    """Base of every trigger kind; subclass it and register the subclass."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    schema: ClassVar[Mapping[str, Any]] = {"type": "string"}
    options: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    uses_event: ClassVar[bool] = False  # whether conditions and texts may read `event`
    listens: frozenset[str] = frozenset()

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        self.value = value
        self.key = context.key
        self.community = context.community

    @property
    def per_member(self) -> bool:
        """Whether firings are about members (False: about whole groups, so `stages:` cannot apply)."""
        return True

    def start(self, run: Run) -> None:
        """Called once, at the first event's instant: schedule the first timers of clock triggers."""

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        return ()

    def on_timer(self, run: Run, subject: str, payload: Any) -> Iterable[Firing]:
        return ()

    def describe(self) -> str:
        return f"{self.name}: {self.value}"

    @classmethod
    def checked_together(cls, triggers: list[TriggerType]) -> Any:
        """All of a run's triggers of this kind, checked as one — or None (the default): each
        rule's trigger is checked on its own.

        A group is cheaper when several rules would look at the same member at the same
        moments (``becomes``: one view, one timer, one mark for all tiers) or count the same
        events (leaderboards). It has ``key`` (the handler of timers it schedules),
        ``listens``, ``start(run)``, and ``on_event``/``on_timer`` returning ``(trigger,
        Firing)`` pairs: which rule each firing belongs to. Events go to the group instead
        of the triggers; each trigger is still started and gets its own timers.
        """
        return None


# -- actions, channels, sources, formats -------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """A chat platform. ``mention`` turns a display name and member id into the platform's mention text."""

    name: str
    title: str
    capabilities: frozenset[str]
    max_length: int = 2000
    mention: Callable[[str, str], str] = lambda name, member_id: f"@{name}"
    options_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    instructions: Mapping[str, str] = field(default_factory=dict)  # action → what the operator does by hand

    def how_to(self, action: str, group: str | None, member_name: str, text: str) -> str:
        template = self.instructions.get(action)
        if template is None:
            return text
        return template.format(group=group or "", member=member_name, text=text)


@dataclass(frozen=True)
class ActionType:
    """An action kind usable in ``do:``.

    ``schema`` is the JSON Schema of the value; a plain string (or list) value means
    ``{value_key: value}``, which is ``{text: ...}`` for every action but ``tag``/``untag``.
    ``needs`` is the channel capability it requires (None: works anywhere). ``makes_task`` is
    false for pure state changes such as ``tag``; ``apply`` changes member state.
    ``counts_toward_limits``: whether ``limits`` with ``actions: any`` count its tasks (a note
    to an operator does not reach the member; enforcing group rules must not wait because
    the member was welcomed yesterday). ``targets``: the names its ``target:`` option may
    take besides ``member`` (the firing's member), each with the members it means for a
    firing — e.g. ``mentioned``: everyone the message mentions.
    """

    name: str
    description: str
    schema: Mapping[str, Any]
    needs: str | None = None
    makes_task: bool = True
    text_required: bool = False
    value_key: str = "text"
    apply: Callable[[Any, Any, Mapping[str, Any], str | None], None] | None = None  # (run, member, params, group)
    summary: Callable[[Mapping[str, Any]], str] | None = None  # the task text when the rule gives none
    counts_toward_limits: bool = True
    targets: Mapping[str, Callable[[Run, Firing], Iterable[Member]]] = field(default_factory=dict)


@dataclass(frozen=True)
class EventSource:
    name: str
    read: Callable[[Any, Mapping[str, Any]], Iterator[Any]]
    description: str


@dataclass(frozen=True)
class OutputFormat:
    name: str
    write: Callable[[Iterable[Any], IO[str], Mapping[str, Any]], None]  # tasks may come while the run goes on: iterate once
    description: str
