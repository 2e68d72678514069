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
  ``OutputFormat``, ``InboxType`` (build one and register it), and ``Run``: the evaluation as
  triggers and actions see it.
- Delivery records: ``DeliveryPart`` and ``DeliveryItem`` (one message of an operator's day, as
  an inbox type renders it), ``Reply`` and ``Verdict`` (what the robot answered, and what it means).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import (
    Callable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from dataclasses import dataclass, field, fields
from datetime import datetime, tzinfo
from operator import attrgetter
from typing import IO, Any, ClassVar, Protocol
from zoneinfo import ZoneInfo

# -- how a record's fields look outside the engine ---------------------------------------------
#
# Each field of an event line and of a task record is declared once, on its dataclass field
# (``field(metadata=spec(...))``): its kind, whether every record has it, and the help an
# editor shows. The event reader, the JSON Schemas, the task record and its CSV columns, and
# the ``event`` that conditions read are derived from these declarations; a field without
# one (``Event.raw``, ``Task.trigger_at`` …) stays inside the engine.

# Kinds of value: the reader checks and converts by kind, the JSON Schema writes the kind's type.
TIME = "time"  # RFC 3339 text, or epoch seconds or milliseconds
MOMENT = "moment"  # an instant written out as RFC 3339 text in the community's time zone
TEXT = "text"
TEXT_OR_NULL = "text or null"
ID = "id"  # text; a number is read as its text (exports write numeric ids)
IDS = "ids"  # a list of ids
TEXTS = "texts"  # a list of texts (read as ids are)
OBJECT = "object"  # key/value pairs
NUMBER = "number"

SPEC = "spec"  # the metadata key of a field's FieldSpec


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record as it is written outside the engine, and documented.

    ``key`` is its name there when that is not the attribute's (an event's ``ts`` is ``Event.t``);
    ``required``: every record has it. ``title``, ``description`` and ``examples`` are the
    JSON Schema's help; ``schema`` adds to the kind's JSON Schema (a pattern — or an ``enum``,
    which then stands alone: the values say the type).
    """

    kind: str
    title: str
    description: str
    examples: tuple[Any, ...]
    required: bool = False
    key: str | None = None
    schema: Mapping[str, Any] = field(default_factory=dict)


def spec(kind: str, title: str, description: str, examples: Sequence[Any], *, required: bool = False, key: str | None = None, **schema: Any) -> dict[str, FieldSpec]:
    """The ``metadata`` of a field written outside the engine (see FieldSpec)."""
    return {SPEC: FieldSpec(kind, title, description, tuple(examples), required, key, schema)}


def specs(record: type[Any]) -> tuple[tuple[str, str, FieldSpec], ...]:
    """(attribute, key outside, FieldSpec) of each declared field of ``record``, in field order."""
    return tuple((item.name, item.metadata[SPEC].key or item.name, item.metadata[SPEC]) for item in fields(record) if SPEC in item.metadata)


# -- events: what happened ----------------------------------------------------------------


@dataclass(slots=True)
class Event:
    """One thing that happened in a community. ``t`` is epoch seconds; ``raw`` the fields as read."""

    t: float = field(metadata=spec(TIME, "Time 时间", "RFC 3339 time with offset (a naive time is read in the community time zone), or epoch seconds/milliseconds.", ["2026-03-01T09:15:02+08:00", 1772327702], required=True, key="ts"))
    # The examples are the core types, which the reader knows (schema.py fills them in).
    type: str = field(metadata=spec(TEXT, "Type 类型", "Event type; unknown types are kept and can trigger rules.", [], required=True))
    member: str | None = field(default=None, metadata=spec(ID, "Member 成员", "Stable member id (member events).", ["m123"]))
    group: str | None = field(default=None, metadata=spec(ID, "Group 群", "Group id (group events).", ["g17"]))
    name: str | None = field(default=None, metadata=spec(TEXT, "Name 昵称", "Display name of the member; the latest wins.", ["小王"]))
    id: str | None = field(default=None, metadata=spec(ID, "Message id", "Message id.", ["msg-882"]))
    text: str | None = field(default=None, metadata=spec(TEXT, "Text 内容", "Message text; of an activity event, its name as people call it (a `title` key, if the line has one, is read first).", ["请问周末活动在哪？"]))
    mentions: tuple[str, ...] = field(default=(), metadata=spec(IDS, "Mentions 提及", "Ids of the members mentioned.", [["m42"]]))
    reply_to: str | None = field(default=None, metadata=spec(ID, "Reply to 回复", "Id of the message replied to.", ["msg-870"]))
    activity: str | None = field(default=None, metadata=spec(ID, "Activity 活动", "Activity id (activity events).", ["a-0308"]))
    participants: tuple[str, ...] = field(default=(), metadata=spec(IDS, "Participants 参与者", "Member ids taking part (activity events).", [["m1", "m2"]]))
    tags: tuple[str, ...] = field(default=(), metadata=spec(TEXTS, "Tags 标签", "Tags to add to the member (profile).", [["vip"]]))
    attributes: dict[str, Any] = field(default_factory=dict, metadata=spec(OBJECT, "Attributes 属性", "Key/value attributes of the member (profile): city, role, value tier …", [{"city": "上海", "tier": "B"}]))
    channel: str | None = field(default=None, metadata=spec(TEXT, "Channel 渠道", "Channel plugin the group lives on.", ["wechat"]))
    amount: float | None = field(default=None, metadata=spec(NUMBER, "Amount 金额", "Purchase amount (purchase).", [99.0]))
    inviter: str | None = field(default=None, metadata=spec(ID, "Inviter 邀请人", "Who invited the member (member_joined).", ["m42"]))
    reason: str | None = field(default=None, metadata=spec(TEXT, "Reason 原因", "Why the member left (member_left).", ["left", "removed"], enum=["left", "removed"]))
    group_name: str | None = field(default=None, metadata=spec(TEXT, "Group name 群名", "The group's name as the export gives it; used unless community.yaml names the group.", ["读书会一群"]))
    raw: dict[str, Any] = field(default_factory=dict)
    line: int = 0

    def template_values(self, tz: tzinfo) -> dict[str, Any]:
        """The event as conditions and texts read it (``event.ts``, ``event.text`` …): every
        field of an event line under its key, ``ts`` a datetime in ``tz``, lists and objects
        as copies a template may change; and ``raw``, a copy, for keys the contract does not know."""
        values = dict(zip(EVENT_TEMPLATE_FIELDS, _event_template_values(self), strict=True))
        for key in _TEMPLATE_TIMES:
            values[key] = datetime.fromtimestamp(values[key], tz)
        for key in _TEMPLATE_LISTS:
            values[key] = list(values[key])
        for key in _TEMPLATE_OBJECTS:
            values[key] = dict(values[key])
        return values


# What conditions and texts may read of ``event``, and how it is built. Derived once: a rule
# that reads the event builds it for every firing — about 2 µs, 1 µs more than a dict written
# out by hand; 5,645 times in the 40,000-event benchmark.
EVENT_TEMPLATE_FIELDS = (*(key for _, key, _ in specs(Event)), "raw")
_event_template_values = attrgetter(*(attribute for attribute, _, _ in specs(Event)), "raw")
_TEMPLATE_TIMES = tuple(key for _, key, field_spec in specs(Event) if field_spec.kind == TIME)
_TEMPLATE_LISTS = tuple(key for _, key, field_spec in specs(Event) if field_spec.kind in (IDS, TEXTS))
_TEMPLATE_OBJECTS = (*(key for _, key, field_spec in specs(Event) if field_spec.kind == OBJECT), "raw")


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
    build, and a source builds one per line).

    ``event``: the Event of ``data``, when the source built it from values it had already typed
    (the WeChat CSV's plain messages): the event contract check (``events.to_event``) takes it
    as it is instead of checking ``data`` again, which cost more than reading a CSV row. A
    source that gives it tests it against the check's Event for the same ``data``."""

    number: int
    data: dict[str, Any]
    event: Event | None = field(default=None, compare=False, repr=False)


# -- members and groups: what is known -------------------------------------------------------

WINDOW_DAYS = 30

MEMBER_FIELDS = (
    "id", "name", "groups", "joined_at", "left", "last_message_at", "days_since_join",
    "days_silent", "messages", "messages_7d", "messages_30d", "active_days_30d", "questions",
    "replies", "mentions_received", "activities", "points", "tags", "attributes", "stage",
    "stage_since", "purchases", "spent", "last_task_at", "last_done_at", "last_replied_at", "open_tasks", "tasks_30d",
    "last_contact_at",
)
# What the loop back gives (the member's tasks and what operators marked of them, engine/replies.py):
# they change without any event of the member, as tasks come due and are marked.
LOOP_FIELDS = frozenset({"last_task_at", "last_done_at", "last_replied_at", "open_tasks", "tasks_30d", "last_contact_at"})
GROUP_FIELDS = (
    "id", "name", "channel", "members", "messages", "seed",
    # engine/group_counts.py: kept only when a rule reads one of them
    "member_messages_7d", "staff_messages_7d", "staff_share_7d", "active_members_7d", "history_days",
)
# Fields whose values are plain, hashable scalars: conditions on these alone can be memoised by value.
SCALAR_MEMBER_FIELDS = frozenset({
    "id", "name", "left", "days_since_join", "days_silent", "messages", "messages_7d", "messages_30d",
    "active_days_30d", "questions", "replies", "mentions_received", "activities", "points", "stage",
    "purchases", "spent",
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
    # `purchase` events: how many, and the sum of their `amount`s. Last, so that a member saved
    # before state version 9 (an array without them) reads as one who bought nothing.
    purchases: int = 0
    spent: float = 0

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
        daily = self.daily
        if not daily:
            return 0, 0
        if daily[0] > today - days and daily[-2] <= today:
            return sum(daily[1::2]), len(daily) >> 1  # the whole window (the 30-day reads, mostly)
        messages = active = 0
        for index in range(len(daily) - 2, -1, -2):
            day = daily[index]
            if day <= today - days:
                break
            if day <= today:
                messages += daily[index + 1]
                active += 1
        return messages, active

    def active_days(self, today: int, days: int) -> int:
        """``window``'s active days alone: most reads are of a window holding every day kept,
        whose count needs no sum of the messages."""
        daily = self.daily
        if daily and daily[0] > today - days and daily[-2] <= today:
            return len(daily) >> 1
        return self.window(today, days)[1]

    def day_counts(self) -> list[tuple[int, int]]:
        """(local day, messages) for the days with messages in the window, oldest first."""
        daily = self.daily
        return list(zip(daily[::2], daily[1::2], strict=True))

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
    # When the group's first event came (epoch seconds): where its age is counted from, unless
    # community.yaml declares `created` (CommunitySettings.group_created). None: unknown.
    since: float | None = None


# -- tasks: what an operator is asked to do ------------------------------------------------

PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


@dataclass
class Task:
    """One planned operator task. ``due`` and ``trigger_at`` are epoch seconds."""

    id: str = field(metadata=spec(TEXT, "Task id", "Stable id: the same inputs give the same id.", ["t-3f9c0a1b2e"], required=True, pattern=r"^t-[0-9a-f]{10}$"))
    due: float = field(metadata=spec(MOMENT, "Due 截止", "When to do it, RFC 3339 in the community time zone.", ["2026-03-08T09:15:02+08:00"], required=True))
    playbook: str = field(metadata=spec(TEXT, "Playbook", "Playbook id.", ["silent-member-care"], required=True))
    rule: str = field(metadata=spec(TEXT, "Rule 规则", "Rule id.", ["ask-why"], required=True))
    action: str = field(metadata=spec(TEXT, "Action 动作", "Action kind: mention, dm, post, reward, invite, survey, warn, remove, notify …", ["dm"], required=True))
    channel: str = field(metadata=spec(TEXT, "Channel 渠道", "Channel (chat platform).", ["wechat"], required=True))
    group: str | None = field(metadata=spec(TEXT_OR_NULL, "Group 群", "Group id.", ["g17"], required=True))
    member: str | None = field(metadata=spec(TEXT_OR_NULL, "Member 成员", "Member id (null for group-wide tasks).", ["m123", None], required=True))
    member_name: str | None = field(metadata=spec(TEXT_OR_NULL, "Member name 昵称", "Member display name.", ["小王"], required=True))
    assignee: str | None = field(metadata=spec(TEXT_OR_NULL, "Assignee 负责人", "Operator id.", ["op-lily"], required=True))
    priority: str = field(metadata=spec(TEXT, "Priority 优先级", "Task priority.", ["high"], required=True, enum=list(PRIORITY_RANK)))
    text: str = field(metadata=spec(TEXT, "Text 内容", "The message to send, or what to do.", ["小王 你好，……"], required=True))
    reason: str = field(metadata=spec(TEXT, "Reason 原因", "Why the task was planned: the trigger and its values.", ["silent 7d since 2026-03-01 09:15"], required=True))
    trigger_at: float
    order: tuple[Any, ...] = ()
    # In the record only when set: most actions have no options.
    params: dict[str, Any] = field(default_factory=dict, metadata=spec(OBJECT, "Params 参数", "Action options such as points, coupon, invite group or survey form.", [{"points": 10}]))
    # The latest the task may be due (epoch seconds): quiet hours and capacity never move it
    # past; a task they would is dropped as `deadline`. inf: none.
    deadline: float = float("inf")
    # In the record only when the task merges others (community.merge): each part's id, rule and reason.
    parts: list[dict[str, str]] = field(default_factory=list, metadata=spec(OBJECT, "Parts 合并的任务", "The tasks merged into this one (one message a day per member): each part's id, rule and reason.", [[{"id": "t-3f9c0a1b2e", "rule": "silent-member-care/ask-why", "reason": "silent 7d since 2026-03-01 09:15"}]], type="array", items={"type": "object"}))
    how: str = ""  # what the operator does by hand on this channel
    # Why the due time changed, if it did; with --explain, the conditions that held, with their
    # values. Empty tuples until there is something to say (most tasks are dropped unread).
    moved: Sequence[str] = ()
    because: Sequence[str] = ()
    # Writes ``reason`` and ``how`` (from the text) when the task is planned (or kept to be shown
    # suppressed): most tasks a long history offers are dropped for capacity, and nobody reads those.
    details: Callable[[str], tuple[str, str]] | None = field(default=None, repr=False, compare=False)
    # Writes ``text`` once the task is kept — after capacity and the re-check at its due time,
    # with the values of that time; False if its template failed. None: the text is written.
    render: Callable[[Task], bool] | None = field(default=None, repr=False, compare=False)
    # What the task came from (rule, firing, group, action, context), while it may still be
    # checked again or rendered; the evaluation's, opaque to everyone else.
    source: Any = field(default=None, repr=False, compare=False)
    dropped: bool = field(default=False, repr=False, compare=False)  # stale: taken out of the plan before its day was settled
    # The tasks merged into this one (itself first), until their texts are joined when it is released.
    merged: list[Task] | None = field(default=None, repr=False, compare=False)
    # The planner's moves of ``due`` (quiet hours, capacity), written out into ``moved`` by finish();
    # None until the first (most tasks are never moved, or dropped before they are written).
    moves: list[tuple[str, float, float]] | None = field(default=None, repr=False, compare=False)
    # The member's latest message when the task was last checked (or kept), which its text and
    # conditions know of: merge puts it only in a message due after that (None: not known).
    seen_message: float | None = field(default=None, repr=False, compare=False)

    def note_move(self, why: str, before: float, after: float) -> None:
        """Remember that ``due`` moved from ``before`` to ``after`` because of ``why``; finish() writes it out."""
        if self.moves is None:
            self.moves = []
        self.moves.append((why, before, after))

    def finish(self, local: Callable[[float], str] | None = None, moved: str = "{why}: moved from {before} to {after}") -> None:
        """Write the reason, the operator's instruction and why the due time moved, if they are
        still to be written (``local``: how a moment is shown; ``moved``: how a move is said, in
        the community's language)."""
        if self.render is not None:
            self.render(self)
        if self.details is not None:
            self.reason, self.how = self.details(self.text)
            self.details = None
        if self.moves and local is not None:
            self.moved = [*self.moved, *(moved.format(why=why, before=local(before), after=local(after)) for why, before, after in self.moves)]
            self.moves = None

    def record(self, tz: tzinfo) -> dict[str, Any]:
        """The task as the spec's output record (plus ``params`` when the action has any)."""
        values = dict(zip(TASK_FIELDS, _task_values(self), strict=True))
        for key in _TASK_MOMENTS:
            values[key] = datetime.fromtimestamp(values[key], tz).isoformat(timespec="seconds")
        for key, attribute in _TASK_WHEN_SET:
            value = getattr(self, attribute)
            if value:
                values[key] = value
        return values

    @property
    def rank(self) -> int:
        return PRIORITY_RANK[self.priority]


# The output record: the fields every record has, in this order, then those it has when set.
TASK_FIELDS = tuple(key for _, key, field_spec in specs(Task) if field_spec.required)
TASK_RECORD_FIELDS = tuple(key for _, key, _ in specs(Task))
_task_values = attrgetter(*(attribute for attribute, _, field_spec in specs(Task) if field_spec.required))
_TASK_MOMENTS = tuple(key for _, key, field_spec in specs(Task) if field_spec.required and field_spec.kind == MOMENT)
_TASK_WHEN_SET = tuple((key, attribute) for attribute, key, field_spec in specs(Task) if not field_spec.required)


# -- what a run hands to triggers and actions ------------------------------------------------


class LocalDays(Protocol):
    """Local calendar days and times of the community time zone."""

    def day(self, t: float) -> int:
        """The day number (proleptic ordinal) of instant ``t``."""
        ...

    def text(self, t: float) -> str:
        """Instant ``t`` as an operator reads it: ``2026-03-01 09:15``."""
        ...

    def midnight(self, ordinal: int) -> float:
        """The first instant of local day ``ordinal``."""
        ...


class CommunitySettings(Protocol):
    """What a trigger may read of ``community.yaml`` while it is built."""

    @property
    def name(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def tz(self) -> ZoneInfo: ...
    @property
    def language(self) -> str:
        """The language of the words the engine writes (``zh``, ``en``)."""
        ...
    @property
    def days_silent_not_counting(self) -> frozenset[str]:
        """`days_silent: {not_counting: …}`: the kinds of days no silence counts (empty: none)."""
        ...
    @property
    def silent_days(self) -> Any:
        """The SilentDays of `days_silent: {not_counting: …}` (engine/festivals.py), or None: every day counts."""
        ...
    @property
    def country(self) -> str:
        """Whose holidays and weekends ``not_on``/``not_counting`` mean (ISO code; default CN)."""
        ...
    @property
    def lifecycle(self) -> Sequence[Any]:
        """The lifecycle stages, in order (each with ``stage``, ``label``, ``condition`` and its ``source``)."""
        ...
    @property
    def question_answered_by(self) -> frozenset[str]:
        """What answers a question (``question.answered_by``): ``reply``, ``mention``, ``next_message``."""
        ...
    @property
    def question_answer_window(self) -> int:
        """Seconds after a question within which a plain message answers it (``question.answer_window``)."""
        ...
    @property
    def question_solved(self) -> Sequence[Any]:
        """Patterns (``question.solved``): the asker's own message matching one says she solved
        her question herself ("找到了，谢谢"): it no longer waits for an answer."""
        ...
    @property
    def question_me_too(self) -> Sequence[Any]:
        """Patterns (``question.me_too``): someone else's message matching one asks the question
        again ("同问", "+1") rather than answering it: no ``next_message`` answer."""
        ...
    @property
    def staff(self) -> frozenset[str]:
        """Member ids of the community's own people (``staff:``, operators' ``member:``): never
        the member of a task, never ranked; their events still count for everything else."""
        ...
    @property
    def group_created(self) -> Mapping[str, int]:
        """The local day (proleptic ordinal) each group declares it was created (community.yaml
        ``groups[].created``): its age is counted from then, not from its first event."""
        ...

    @property
    def seed_groups(self) -> frozenset[str]:
        """Ids of the groups marked ``seed: true`` (种子用户群)."""
        ...


# member.marks: tag → the instant it comes off (`tag: {tags: …, for: 45d}`, Run.tag_until); it is
# also the handler of the timers that take such tags off.
TAG_EXPIRY = "@tag-expiry"


class Run(Protocol):
    """One evaluation over an event stream, as triggers and actions see it.

    Everything here is keyed: ``members``/``view``/``remove_from_group`` touch one member,
    ``groups``/``known_groups`` one group, ``store`` one trigger's memory, ``schedule`` a timer
    about one subject. Event time only: ``now`` is the instant being evaluated.
    """

    @property
    def now(self) -> float: ...
    @property
    def tz(self) -> ZoneInfo: ...
    @property
    def local(self) -> LocalDays: ...
    @property
    def language(self) -> str:
        """``community.language``: what a trigger writes its firings' reasons in (engine/words.py)."""
        ...
    @property
    def members(self) -> MutableMapping[str, Member]: ...
    @property
    def groups(self) -> MutableMapping[str, Group]: ...
    @property
    def changed(self) -> set[str] | None:
        """While an event is dispatched: the member fields it changed for its member; None: unknown."""
        ...

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
        """Every group an event has come from so far, in id order."""
        ...

    def firing_context(self) -> Mapping[str, Any]:
        """While the actions of a firing whose conditions held are applied: what its rule's
        conditions and texts read (``member``, ``trigger``, ``event`` …); empty otherwise. An
        ``apply`` that writes from a template (``ActionType.text_in_apply``) renders it with this."""
        ...

    def remove_from_group(self, member: Member, group_id: str | None) -> None:
        """The plan takes the member out of ``group_id`` (the ``remove`` action): they stay out
        of it — their own events there do not bring them back — until a new ``member_joined``
        there; tasks about them go to a group they are still in; with no group left, they
        have left."""
        ...

    def tag_until(self, member: Member, tag: str, until: float | None) -> None:
        """The member's ``tag`` comes off at event time ``until`` (``tag: {tags: …, for: 45d}``),
        unless given again before then; None: it stays (given again without ``for``, or taken off)."""
        ...

    def condition_failed(self, rule: str, member: Member, source: str, error: Exception) -> None:
        """Condition ``source`` raised ``error`` for ``member``: a trigger takes it as not true
        and says so here. It is recorded as a skipped evaluation of ``rule`` (a rule's key;
        ``lifecycle/STAGE`` for a stage), shown by ``--explain`` and counted in the summary."""
        ...

    def note(self, rule: str, member_id: str | None, kind: str, describe: Callable[[], str]) -> None:
        """A trigger of ``rule`` decided something about ``member_id`` that an operator may ask
        about — a question answered in time, so it will not fire: counted in the run's counts
        under ``kind`` (a word of the trigger's own, e.g. ``answered``) and shown by
        ``--explain`` as ``describe()``, which is called only then."""
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
    fires_at_event: ClassVar[bool] = False  # whether it fires at the event itself (`event:`), not later or for others
    # Whether its firings depend on the date alone, not on what happened that day (a festival's
    # greeting at 10:00): a task of it may go out in its member's message due earlier that day
    # (merge), as the operator, who knew of the festival, would write one message.
    of_the_day: ClassVar[bool] = False
    # How long after the trigger instant its tasks may still be due, unless a rule says
    # `deadline:`: a duration, or "day" for the end of the trigger's local day (a greeting, a
    # ranking, "tonight's" post is no use tomorrow).
    default_deadline: ClassVar[str] = "24h"
    listens: frozenset[str] = frozenset()

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        self.value = value
        self.key = context.key
        self.community = context.community

    @property
    def per_member(self) -> bool:
        """Whether firings are about members (False: about whole groups, so `stages:` cannot apply)."""
        return True

    @property
    def about_leaving(self) -> bool:
        """Whether the trigger fires for members because they left (``event: member_left``;
        ``stage:`` a stage whose condition reads ``member.left``): its rules' tasks are meant for
        people no longer in the group, so an action's ``scope`` does not stop them."""
        return False

    # Whether a message from the member after the trigger instant makes its tasks stale
    # (`silence`: a nudge for someone who spoke meanwhile is thrown away).
    ends_on_message: ClassVar[bool] = False
    # Whether what its ``stale()`` asks can change with a message of the member (`stage`,
    # `becomes`): a task pace moves past such a message is asked again (values of the day's end).
    asks_member: ClassVar[bool] = False

    def fire_minutes(self) -> frozenset[int] | None:
        """The local times of day it can fire at, as minutes after midnight, if only some (a
        cron's): `playbook validate` then tells a rule whose every instant quiet hours would
        move past its deadline. None (the default): any time of day, or not known."""
        return None

    @property
    def steady(self) -> bool:
        """Whether ``stale`` can change its answer only when the firing's member changes (not
        as time passes, nor by others' events): then a task that held is not checked again
        unless its member changes before it is due. True for a trigger that keeps the default
        ``stale``."""
        return type(self).stale is TriggerType.stale

    def due_within(self, seconds: float) -> None:
        """Its rule's tasks are due at most ``seconds`` after the trigger instant (the rule's
        deadline): memory kept for ``stale`` is needed that long. Default: none is kept."""

    def stale(self, run: Run, firing: Firing, at: float) -> str | None:
        """Why a task from ``firing`` no longer holds at ``at`` (``run.now``, or earlier when a
        task that was checked then is moved later), or None. Asked when the task is due; the
        default for a trigger on something that happened: it still did."""
        return None

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
    instructions: Mapping[str, str] = field(default_factory=dict)  # action → what the operator does by hand, in Chinese (zh-CN)
    # The same steps in other languages of ``community.language`` (language → action → step): a
    # language a channel has no steps for shows the bare text (the plan then names the action).
    instructions_in: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # The channel as each language names it in the cells people read (a CSV's 渠道: 微信, not
    # wechat); a language it gives no name for shows ``name``.
    names: Mapping[str, str] = field(default_factory=dict)

    def how_to(self, action: str, group: str | None, member_name: str, text: str, language: str | None = None) -> str:
        """What the operator does by hand for ``action``, in ``language`` (None: zh-CN, the steps in ``instructions``)."""
        steps = self.instructions if language in (None, "zh-CN") else self.instructions_in.get(language or "", {})
        template = steps.get(action)
        if template is None:
            return text
        return template.format(group=group or "", member=member_name, text=text)


# Where a member must be for an action's task to be planned (``ActionType.scope``).
SCOPE_GROUP = "group"  # in the task's group: the action happens there
SCOPE_PRIVATE = "private"  # in some group of the community: the action reaches them one to one
SCOPES = (SCOPE_GROUP, SCOPE_PRIVATE, None)


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

    ``apply(run, member, params, group)`` returns False when it changed nothing (a tag already
    held): the member's ``revision`` is then not bumped and ``--explain`` does not say
    "changed"; None or True means it did. ``scope`` says where the member must be for a task
    to be planned: ``"group"`` — in the task's group (``mention``, ``warn``, ``remove`` …);
    ``"private"`` — in some group of the community (``dm``, ``reward`` …), the task going to
    a group they are in; None — anywhere (no check). Rules whose trigger is ``about_leaving``
    are not stopped by it — but for a group action that reaches the member there (one with
    ``targets`` or an ``apply``: an @, a warning, a removal), which needs them in the group. ``into_group``: the option naming a group the action brings the
    member into (``invite``'s ``group``, an id or a name from community.yaml): no task is
    planned while the member is in that group or has a planned invite into it that a
    ``member_joined`` there has not answered yet. ``text_in_apply``: the action's ``text`` is
    handed to ``apply`` too, as ``params["text"]``, a compiled template whose ``render`` takes
    ``run.firing_context()`` (``set`` writes a member attribute from one). ``keeps_slot``: once
    its ``apply`` has happened (at the task's due time), capacity keeps the task on its day,
    ahead of the day's other tasks: a `remove` that took the member out of the group is one the
    operator is told to do, not one moved to the next day, or dropped, after it took effect.
    """

    name: str
    description: str
    schema: Mapping[str, Any]
    needs: str | None = None
    makes_task: bool = True
    text_required: bool = False
    value_key: str = "text"
    apply: Callable[[Any, Any, Mapping[str, Any], str | None], bool | None] | None = None  # (run, member, params, group) → changed?
    summary: Callable[[Mapping[str, Any]], str] | None = None  # the task text when the rule gives none
    counts_toward_limits: bool = True
    keeps_slot: bool = False
    targets: Mapping[str, Callable[[Run, Firing], Iterable[Member]]] = field(default_factory=dict)
    scope: str | None = None  # SCOPE_GROUP, SCOPE_PRIVATE or None
    into_group: str | None = None
    awaits_reply: bool = False  # done, it expects the member's answer: their message within reply_window marks it `replied`
    # A note to the operator about its firing's other tasks ("移出前先截图", "已私信问 X，回复后记进档案"):
    # it goes with them — dropped with a removal that finds no slot, left out of a list with a
    # task to the member the day made unneeded.
    note: bool = False
    # Its `tags` option names tags it gives the member at the firing (``tag``): `playbook
    # validate` warns when a rule handled after it on the same event reads one of them.
    gives_tags: bool = False
    # The action's name as operators read it, by ``community.language`` (the summary, --explain,
    # Markdown, the CSV): {"zh-CN": "私信"}. A language it does not name shows its id.
    names: Mapping[str, str] = field(default_factory=dict)
    # ``summary`` in other languages of ``community.language`` ({"zh-CN": …}); a language it
    # does not give uses ``summary``.
    summaries: Mapping[str, Callable[[Mapping[str, Any]], str]] = field(default_factory=dict)
    # Its options as a plan shows them beside the text, in other languages of
    # ``community.language`` ({"zh-CN": {"points": "积分"}}); an option a language does not name
    # shows its key.
    option_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def describe(self, params: Mapping[str, Any], language: str | None = None) -> str:
        """The task's text when the rule gives none, in ``language``: the action's summary, or its name."""
        summary = self.summaries.get(language or "", self.summary)
        return summary(params) if summary is not None else self.names.get(language or "", self.name)

    # Its `text` (compiled, checked like any text) is handed to ``apply`` as ``params["text"]``,
    # to render with ``run.firing_context()``: a state change written from a template (``set``).
    text_in_apply: bool = False

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"action `{self.name}`: scope must be one of {', '.join(repr(scope) for scope in SCOPES)}, not {self.scope!r}")


@dataclass(frozen=True)
class EventSource:
    name: str
    read: Callable[[Any, Mapping[str, Any]], Iterator[Any]]
    description: str
    # How surely a file that begins with this text (its first 64 KB, decoded) is this source's
    # input: 0 not at all, 1 its general shape (a CSV header), 2 its own marks (a WeChat CSV's
    # columns). When most lines of a `playbook run --events` file were no event, the run names the
    # source that recognizes it best: an operator's first run is often her export itself.
    recognize: Callable[[str], int] | None = None
    # What a file that begins with this text is, when it is an export this source knows that no
    # source reads (QQ's own text export, for the default source): the reason and what to do
    # instead, as one line. Asked before any source reads a file, whichever was given: one
    # line is clearer than a rejection for each of its lines, or a CSV header that cannot work.
    refuses: Callable[[str], str | None] | None = None


@dataclass
class SourceReport:
    """What a source tells the operator besides its records, given as ``options["report"]``:
    warnings (each said once, after the read) and counts the summary shows, such as
    ``duplicates``, messages an export holds twice and that were kept once."""

    warnings: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    # The accounts that made the export (id → display name), when the export says so (a WeChat
    # CSV's `IsSender` rows): the community's own people, whom community.yaml must name as staff.
    exporters: dict[str, str] = field(default_factory=dict)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def exported_by(self, member_id: str, name: str = "") -> None:
        """``member_id`` (shown as ``name``) made the export: its own messages are in it."""
        self.exporters[member_id] = name or self.exporters.get(member_id, "")


@dataclass(frozen=True)
class OutputFormat:
    name: str
    write: Callable[[Iterable[Any], IO[str], Mapping[str, Any]], None]  # tasks may come while the run goes on: iterate once
    description: str


def reads_context(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare that a template filter (marked ``@jinja2.pass_context``) reads only ``names`` of
    the template context, and only through ``context.get(name)``.

    The engine then builds those names for every rule that uses the filter (and only those),
    and may hand the filter the context as a plain mapping. A context filter that declares
    nothing is handed Jinja2's whole context, which costs every rule using it its fast path.
    The built-in ``mention`` reads ``_channel`` (the group's channel), ``ago`` reads ``now``.
    """

    def declare(function: Callable[..., Any]) -> Callable[..., Any]:
        function.context_reads = frozenset(names)  # type: ignore[attr-defined]  # a plain attribute on a function
        return function

    return declare


# -- delivering an operator's day to their work chat (``playbook deliver``) ---------------------


@dataclass(frozen=True)
class DeliveryItem:
    """One task as the operator reads it in their work chat. The texts are plain, as the task
    has them (names and messages from the history included): an inbox type that renders markup
    must make them inert there."""

    id: str
    time: str  # the local time it is due, "09:15"
    priority: str  # low | normal | high | urgent
    mark: str  # the priority as the community's language says it ("‼ 紧急"), or "" for normal and low
    who: str  # "小王（m123）", or the whole group
    where: str  # the group's name and the channel, "读书会1群 · wechat"
    text: str  # what to do by hand, with the message
    why: str  # why it was planned
    record: Mapping[str, Any]  # the task record, as ``--format jsonl`` writes it


@dataclass(frozen=True)
class DeliveryPart:
    """One message to one operator: their day's tasks, or one part of them when the list is
    longer than the robot takes in one message.

    ``title`` says the day, the count and the part ("12月5日 待办 8 条（1/2）"); ``summary`` who it
    is for and how many cannot wait ("Lily · 读书会 · 紧急 1"); ``labels`` the few words a
    renderer adds in the community's language (``why``: "原因").
    """

    operator: str
    operator_name: str
    community: str
    date: str  # YYYY-MM-DD, the operator's local day
    part: int  # 1-based, among ``parts`` of this delivery
    parts: int
    title: str
    summary: str
    items: tuple[DeliveryItem, ...]
    language: str  # zh-CN | en
    labels: Mapping[str, str] = field(default_factory=dict)
    # Lines for the operator after the tasks, on the last part only: their tasks of the day before
    # that no list carried in time, and those no longer needed ("问题已有人答复，没有推送").
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    """What a robot answered a request: the HTTP status and the first bytes of the body."""

    status: int
    body: bytes


@dataclass(frozen=True)
class Verdict:
    """What a reply means: ``accepted`` (the platform took the message: the part is recorded as
    sent), else ``retry`` (the platform is busy or limits the rate: try again later) or refused,
    with ``reason`` — the platform's own code and words, without the address."""

    accepted: bool
    retry: bool = False
    reason: str = ""


def accepted_if_2xx(reply: Reply) -> Verdict:
    """The default ``InboxType.check``: any 2xx status means accepted."""
    if 200 <= reply.status < 300:
        return Verdict(True)
    return Verdict(False, reason=f"HTTP {reply.status}")


@dataclass(frozen=True)
class InboxType:
    """A work-chat robot an operator's daily list is posted to: ``operators[].inbox.type``.

    ``render(part)`` is the JSON body of one message (a dict); ``fits(payload, body)`` whether
    that body (``body``: the payload encoded as UTF-8 JSON, as it is sent) is within what the
    platform takes in one message — the engine splits a long day into parts until each fits,
    and shortens a task that alone does not. ``check(reply)`` reads the platform's answer into
    a ``Verdict`` (HTTP 429 and 5xx are retried before it is asked). ``sign(url, secret, payload,
    now)`` returns the URL and payload to send when the inbox has a ``secret`` (None: the type
    takes no secret, and ``playbook validate`` says so); ``now`` is epoch seconds.
    ``min_interval``: seconds between two messages to one robot (its rate limit, e.g. 3.0 for
    20 a minute). ``limit`` is said in ``playbook plugins`` and the docs ("4096 bytes").
    """

    name: str
    title: str
    render: Callable[[DeliveryPart], dict[str, Any]]
    fits: Callable[[Mapping[str, Any], bytes], bool] = lambda payload, body: True
    check: Callable[[Reply], Verdict] = accepted_if_2xx
    sign: Callable[[str, str, dict[str, Any], float], tuple[str, dict[str, Any]]] | None = None
    min_interval: float = 0.0
    limit: str = ""
