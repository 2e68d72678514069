"""Trigger kinds: what makes a rule fire. Each is a small class; plugins can add their own.

A trigger instance belongs to one rule. The evaluation calls ``on_event`` for the event types
in ``listens`` (after the member's state has been updated by that event) and ``on_timer`` when
a timer the trigger scheduled with ``run.schedule`` comes due. Both yield ``Firing`` records;
the rule's conditions and actions are applied by the engine, not by the trigger.

Per-member bookkeeping goes in ``member.marks`` under keys that start with ``self.key`` so
that it is plain data (it can be saved with ``--state``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from engine.durations import DurationError, format_duration, parse_duration
from engine.events import Event
from engine.members import Member

if TYPE_CHECKING:
    from engine.evaluate import Evaluation
    from engine.model import Community

STAGE_ENTERED = "@stage_entered"  # internal event: a member entered a lifecycle stage


class TriggerProblem(ValueError):
    """A trigger's value or options make no sense; ``key`` names the offending option, if any."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class TriggerContext:
    """What a trigger may consult while it is being built from a rule."""

    key: str  # "playbook/rule": unique, stable, used for marks and timer keys
    community: Community


@dataclass
class Firing:
    """A trigger fired for a member (or a whole group) at instant ``t``, and why."""

    member: Member | None
    group: str | None
    t: float
    reason: str
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

    def start(self, run: Evaluation) -> None:
        """Called once before the first event: schedule the first timers of clock triggers."""

    def on_event(self, run: Evaluation, event: Event, member: Member | None) -> Iterable[Firing]:
        return ()

    def on_timer(self, run: Evaluation, subject: str, payload: Any) -> Iterable[Firing]:
        return ()

    def describe(self) -> str:
        return f"{self.name}: {self.value}"


def local_text(run: Evaluation, t: float) -> str:
    return datetime.fromtimestamp(t, run.tz).strftime("%Y-%m-%d %H:%M")


def _duration(value: Any) -> int:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise TriggerProblem(str(exc)) from None


class EventTrigger(TriggerType):
    name = "event"
    description = "Fires on each event of this type; `keywords` and `regex` narrow it to matching message texts."
    schema = {"type": "string", "examples": ["message", "member_joined", "member_left", "activity_ended", "purchase"]}
    options = {
        "keywords": {"type": "array", "items": {"type": "string"}, "minItems": 1, "description": "With `event`: fire only when the text contains one of these (case-insensitive)."},
        "regex": {"type": "string", "description": "With `event`: fire only when the text matches this regular expression."},
    }
    uses_event = True

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.listens = frozenset({value})
        self.keywords = [word.casefold() for word in options.get("keywords", ())]
        pattern = options.get("regex")
        try:
            self.regex = re.compile(pattern) if pattern is not None else None
        except re.error as exc:
            raise TriggerProblem(f"regex is not a valid regular expression: {exc} — escape special characters such as ( ) [ ] ? with a backslash", key="regex") from None

    def on_event(self, run: Evaluation, event: Event, member: Member | None) -> Iterable[Firing]:
        values: dict[str, Any] = {}
        if self.keywords or self.regex is not None:
            text = event.text or ""
            if self.keywords:
                folded = text.casefold()
                found = [word for word in self.keywords if word in folded]
                if not found:
                    return
                values["keyword"] = found[0]
            if self.regex is not None:
                match = self.regex.search(text)
                if match is None:
                    return
                values["match"] = match.group(0)
        reason = f"{event.type} at {local_text(run, event.t)}"
        if "keyword" in values:
            reason += f" containing “{values['keyword']}”"
        elif "match" in values:
            reason += f" matching “{values['match']}”"
        group = event.group or (member.group if member else None)
        yield Firing(member, group, event.t, reason, event, values)


class SilenceTrigger(TriggerType):
    """One firing per silent stretch; the next message (or a re-join) re-arms it.

    At most one timer per member is pending: a message does not schedule a new one, the
    pending one re-checks the real deadline when it comes due and moves itself if needed.
    """

    name = "silence"
    description = "Fires once per silent stretch, this long after the member's last message (or join); re-armed by the next message."
    schema = {"type": "string", "examples": ["3d", "7d", "2w"]}
    listens = frozenset({"message", "member_joined"})

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.seconds = _duration(value)
        self.pending_key = self.key + "#due"
        self.fired_key = self.key + "#fired"

    def on_event(self, run: Evaluation, event: Event, member: Member | None) -> Iterable[Firing]:
        if member is not None and member.silent_since is not None and self.pending_key not in member.marks:
            due = member.silent_since + self.seconds
            member.marks[self.pending_key] = due
            run.schedule(due, self, member.id)
        return ()

    def on_timer(self, run: Evaluation, subject: str, payload: Any) -> Iterable[Firing]:
        member = run.members.get(subject)
        if member is None:
            return
        member.marks.pop(self.pending_key, None)
        since = member.silent_since
        if member.left or since is None:
            return
        deadline = since + self.seconds
        if deadline > run.now:
            member.marks[self.pending_key] = deadline
            run.schedule(deadline, self, member.id)
            return
        if member.marks.get(self.fired_key) == since:
            return
        member.marks[self.fired_key] = since
        spoke = "last message" if member.last_message_at == since else "join"
        reason = f"silent {format_duration(self.seconds)} since {local_text(run, since)} ({spoke})"
        yield Firing(member, member.group, run.now, reason, values={"silent_since": local_text(run, since)})

    def describe(self) -> str:
        return f"silent for {format_duration(self.seconds)}"


class AfterJoinTrigger(TriggerType):
    name = "after_join"
    description = "Fires once, this long after the member joined (not for members who left meanwhile)."
    schema = {"type": "string", "examples": ["1d", "3d", "7d"]}
    listens = frozenset({"member_joined"})

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.seconds = _duration(value)

    def on_event(self, run: Evaluation, event: Event, member: Member | None) -> Iterable[Firing]:
        if member is not None and member.joined_at is not None:
            run.schedule(member.joined_at + self.seconds, self, member.id, member.joined_at)
        return ()

    def on_timer(self, run: Evaluation, subject: str, payload: Any) -> Iterable[Firing]:
        member = run.members.get(subject)
        if member is None or member.left or member.joined_at != payload:
            return
        reason = f"joined {format_duration(self.seconds)} ago ({local_text(run, payload)})"
        yield Firing(member, member.group, run.now, reason)

    def describe(self) -> str:
        return f"{format_duration(self.seconds)} after joining"


class StageTrigger(TriggerType):
    name = "stage"
    description = "Fires when a member enters this lifecycle stage (as defined in community.yaml)."
    schema = {"type": "string", "examples": ["newbie", "decline", "churn"]}
    listens = frozenset({STAGE_ENTERED})

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        known = [stage.stage for stage in context.community.lifecycle]
        if value not in known:
            from engine.validate import suggest

            raise TriggerProblem(f"stage `{value}` is not defined in community.yaml lifecycle{suggest(value, known)}")

    def on_event(self, run: Evaluation, event: Event, member: Member | None) -> Iterable[Firing]:
        if member is not None and event.raw.get("stage") == self.value:
            previous = event.raw.get("previous")
            reason = f"entered stage {self.value}" + (f" from {previous}" if previous else "") + f" at {local_text(run, event.t)}"
            yield Firing(member, member.group, event.t, reason, values={"previous": previous})

    def describe(self) -> str:
        return f"enters {self.value}"


BUILTIN_TRIGGERS = (EventTrigger, SilenceTrigger, AfterJoinTrigger, StageTrigger)
