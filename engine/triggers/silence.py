"""Triggers on what did not happen: `silence`, `after_join`, `unanswered`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from playbook_engine.contract import (
    Event,
    Firing,
    Member,
    Run,
    TriggerContext,
    TriggerType,
)
from playbook_engine.durations import format_duration
from playbook_engine.triggers.common import (
    _duration,
    _joined_reason,
    _silence_reason,
    local_text,
)


class SilenceTrigger(TriggerType):
    """One firing per silent stretch; the next message (or a re-join) re-arms it.

    All ``silence`` rules of a run keep one timer per member between them (``SilenceTriggers``):
    at the first deadline still to come. Checked alone (a plugin's subclass), a rule keeps its
    own: a message does not schedule a new one, the pending one re-checks the real deadline
    when it comes due and moves itself if needed.
    """

    name = "silence"
    default_deadline = "72h"
    description = "Fires once per silent stretch, this long after the member's last message (or join); re-armed by the next message."
    schema = {"title": "Silence 沉默", "type": "string", "examples": ["3d", "7d", "2w"]}
    listens = frozenset({"message", "member_joined"})

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.seconds = _duration(value)
        self.pending_key = self.key + "#due"
        self.fired_key = self.key + "#fired"
        self.group: SilenceTriggers | None = None  # set when the rule's timers are kept by the group

    @classmethod
    def checked_together(cls, triggers: list[TriggerType]) -> SilenceTriggers | None:
        if cls is not SilenceTrigger or any(type(trigger) is not SilenceTrigger for trigger in triggers):
            return None  # a plugin's subclass may keep time its own way
        return SilenceTriggers([trigger for trigger in triggers if isinstance(trigger, SilenceTrigger)])

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        if member is not None and member.silent_since is not None and self.pending_key not in member.marks:
            due = member.silent_since + self.seconds
            member.marks[self.pending_key] = due
            run.schedule(due, self, member.id)
        return ()

    def on_timer(self, run: Run, subject: str, payload: Any) -> Iterable[Firing]:
        member = run.members.get(subject)
        if member is None:
            return ()
        member.marks.pop(self.pending_key, None)
        if self.group is not None:
            # A timer of this rule's own, saved by an engine before the group kept them: the
            # group takes the member over from here (and fires what is due, now).
            self.group.resume(run, member)
            return ()
        since = member.silent_since
        if member.left or since is None:
            return ()
        deadline = since + self.seconds
        if deadline > run.now:
            member.marks[self.pending_key] = deadline
            run.schedule(deadline, self, member.id)
            return ()
        if member.marks.get(self.fired_key) == since:
            return ()
        member.marks[self.fired_key] = since
        return (self.firing(run, member, since),)

    def firing(self, run: Run, member: Member, since: float) -> Firing:
        """The firing for ``member``, silent since ``since`` (now: its deadline)."""
        spoke = "last message" if member.last_message_at == since else "join"
        since_text = local_text(run, since)
        return Firing(member, member.group, run.now, partial(_silence_reason, self.seconds, since_text, spoke), values={"silent_since": since_text})

    def describe(self) -> str:
        return f"silent for {format_duration(self.seconds)}"


class SilenceTriggers:
    """Every ``silence`` rule of a run, with one timer per member between them.

    The timer is at the first deadline (``silent since + duration``) still to come for the
    member's current silent stretch; when it comes due, every rule whose deadline has come
    fires (once per stretch, as before) and the timer moves to the next deadline. A message
    that starts a new stretch moves the timer only if it brings a deadline sooner; a timer a
    later one superseded does nothing when it comes due (the member's ``@silence#due`` mark
    says which is current). The rules fire at the same instants as with a timer each — three
    rules of 3, 5 and 7 days no longer keep three timers per member, rescheduled three times
    for a member who speaks every few days.
    """

    key = "@silence"
    due_key = "@silence#due"
    listens = frozenset({"message", "member_joined"})

    def __init__(self, triggers: list[SilenceTrigger]):
        self.triggers = triggers  # in rule order
        self.shortest = min(trigger.seconds for trigger in triggers)
        for trigger in triggers:
            trigger.group = self

    def start(self, run: Run) -> None:
        pass

    def on_event(self, run: Run, event: Event, member: Member | None) -> list[tuple[TriggerType, Firing]]:
        if member is not None:
            since = member.silent_since
            if since is not None:
                # A new stretch: no rule has fired for it yet, the shortest comes first.
                due = since + self.shortest
                pending = member.marks.get(self.due_key)
                if pending is None or pending > due:
                    self._arm(run, member, due)
        return []

    def on_timer(self, run: Run, subject: str, payload: Any) -> list[tuple[TriggerType, Firing]]:
        member = run.members.get(subject)
        if member is None or member.marks.get(self.due_key) != run.now:
            return []  # superseded by a sooner deadline
        del member.marks[self.due_key]
        since = member.silent_since
        if member.left or since is None:
            return []  # a member who left is not silent; their next join or message re-arms
        firings: list[tuple[TriggerType, Firing]] = []
        upcoming = None
        for trigger in self.triggers:
            deadline = since + trigger.seconds
            if deadline > run.now:
                if upcoming is None or deadline < upcoming:
                    upcoming = deadline
            elif member.marks.get(trigger.fired_key) != since:
                member.marks[trigger.fired_key] = since
                firings.append((trigger, trigger.firing(run, member, since)))
        if upcoming is not None:
            self._arm(run, member, upcoming)
        return firings

    def resume(self, run: Run, member: Member) -> None:
        """Arm the member's timer at the first deadline not yet fired for the current stretch
        (now, if one has passed): where a rule's own timer, saved before, leaves off."""
        since = member.silent_since
        if member.left or since is None:
            return
        due = min((since + trigger.seconds for trigger in self.triggers if member.marks.get(trigger.fired_key) != since), default=None)
        if due is None:
            return
        due = max(due, run.now)
        pending = member.marks.get(self.due_key)
        if pending is None or pending > due or pending < run.now:
            self._arm(run, member, due)

    def _arm(self, run: Run, member: Member, due: float) -> None:
        """The member's one timer, at ``due``: an earlier one still pending does nothing when it comes."""
        member.marks[self.due_key] = due
        run.schedule(due, self.key, member.id)


class AfterJoinTrigger(TriggerType):
    name = "after_join"
    description = "Fires once, this long after the member joined (not for members who left meanwhile)."
    schema = {"title": "After join 入群后", "type": "string", "examples": ["1d", "3d", "7d"]}
    listens = frozenset({"member_joined"})

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.seconds = _duration(value)

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        if member is not None and member.joined_at is not None:
            run.schedule(member.joined_at + self.seconds, self, member.id, member.joined_at)
        return ()

    def on_timer(self, run: Run, subject: str, payload: Any) -> Iterable[Firing]:
        member = run.members.get(subject)
        if member is None or member.left or member.joined_at != payload:
            return
        yield Firing(member, member.group, run.now, partial(_joined_reason, run, self.seconds, payload))

    def describe(self) -> str:
        return f"{format_duration(self.seconds)} after joining"


class UnansweredTrigger(TriggerType):
    """A question nobody answered within the duration: no reply to it, no mention of the asker."""

    name = "unanswered"
    default_deadline = "72h"
    description = "Fires when a question (per community `question.patterns`) gets no reply, and no message mentioning the asker from another member, within this duration."
    schema = {"title": "Unanswered 无人回答", "type": "string", "examples": ["30m", "2h"]}
    listens = frozenset({"message"})
    uses_event = True

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.seconds = _duration(value)

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        if member is None:
            return ()
        questions = run.store(self)  # open question key → (asker, group)
        if event.reply_to and event.reply_to in questions and questions[event.reply_to][0] != member.id:
            del questions[event.reply_to]
        if event.mentions:
            mentioned = set(event.mentions) - {member.id}
            for key, (asker, group) in list(questions.items()):
                if asker in mentioned and group == event.group:
                    del questions[key]
        if run.is_question(event):
            key = event.id or f"{event.group}/{member.id}/{event.t}"
            questions[key] = (member.id, event.group)
            asked = {"member": member.id, "group": event.group, "t": event.t, "id": event.id, "text": event.text}
            run.schedule(event.t + self.seconds, self, key, asked)
        return ()

    def on_timer(self, run: Run, subject: str, payload: Any) -> Iterable[Firing]:
        if run.store(self).pop(subject, None) is None:
            return
        member = run.members.get(payload["member"])
        if member is None or member.left:
            return
        question = Event(t=payload["t"], type="message", member=payload["member"], group=payload["group"], id=payload["id"], text=payload["text"], name=member.name)
        snippet = (question.text or "")[:30]
        reason = f"question unanswered for {format_duration(self.seconds)}: “{snippet}” ({local_text(run, question.t)})"
        yield Firing(member, question.group, run.now, reason, question, {"question": question.text, "asked_at": local_text(run, question.t)})

    def describe(self) -> str:
        return f"question unanswered {format_duration(self.seconds)}"
