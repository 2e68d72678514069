"""Triggers on what did not happen: `silence`, `after_join`, `unanswered`."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
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
from playbook_engine.festivals import OFF_DAY_KINDS, OFF_DAY_NAMES, SilentDays, off_days, off_kinds
from playbook_engine.localtime import local_time
from playbook_engine.triggers.common import (
    _duration,
    _joined_reason,
    _silence_reason,
    any_pattern,
    language_of,
    local_text,
    says,
)
from playbook_engine.words import duration_text


class SilenceTrigger(TriggerType):
    """One firing per silent stretch; the next message (or a re-join) re-arms it.

    All ``silence`` rules of a run keep one timer per member between them (``SilenceTriggers``):
    at the first deadline still to come. Checked alone (a plugin's subclass), a rule keeps its
    own: a message does not schedule a new one, the pending one re-checks the real deadline
    when it comes due and moves itself if needed.
    """

    name = "silence"
    default_deadline = "72h"
    ends_on_message = True
    description = "Fires once per silent stretch, this long after the member's last message (or join); re-armed by the next message."
    schema = {"title": "Silence 沉默", "type": "string", "examples": ["3d", "7d", "2w"]}
    options = {
        "not_counting": {
            "description": "Days the silence does not count (不算节假日): `holidays` — the statutory days off and the breaks they make (春节, 国庆; community.yaml's `country`, default CN); `weekends` — Saturdays and Sundays not worked (调休). `silence: 7d` with `not_counting: holidays` fires after 7 days of silence that were not a holiday: nobody is asked why they went quiet over 春节.",
            "oneOf": [{"type": "string", "enum": list(OFF_DAY_NAMES)}, {"type": "array", "items": {"enum": list(OFF_DAY_NAMES)}, "minItems": 1, "uniqueItems": True}],
            "examples": ["holidays", ["holidays", "weekends"]],
        },
    }
    listens = frozenset({"message", "member_joined"})

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.seconds = _duration(value)
        self.pending_key = self.key + "#due"
        self.fired_key = self.key + "#fired"
        self.group: SilenceTriggers | None = None  # set when the rule's timers are kept by the group
        named = off_kinds(options.get("not_counting"))
        own = named is not None
        if named is None:  # community.yaml's `days_silent: {not_counting: …}`, so that stages and silences agree
            named = context.community.days_silent_not_counting
        # The kinds of days it does not count, in a stable order (the reason names them).
        self.not_counting = tuple(kind for kind in OFF_DAY_KINDS if kind in named)
        if not self.not_counting:
            self.silent: SilentDays | None = None
        elif not own:
            self.silent = context.community.silent_days
        else:
            self.silent = SilentDays(off_days(frozenset(self.not_counting), context.community.country, context.community.language), local_time(context.community.tz))
        self.off = self.silent.off if self.silent is not None else None

    def deadline(self, run: Run, since: float) -> float:
        """When a stretch silent since ``since`` has lasted the rule's duration: ``seconds``
        later, plus the days it does not count (``not_counting``) that fall in between (one
        that began on a day off counts from the same time of the first day after it that is
        not: those who wrote during a break do not all come due at the same minute after it)."""
        if self.silent is None:
            return since + self.seconds
        return self.silent.after(since, self.seconds)

    @classmethod
    def checked_together(cls, triggers: list[TriggerType]) -> SilenceTriggers | None:
        if cls is not SilenceTrigger or any(type(trigger) is not SilenceTrigger for trigger in triggers):
            return None  # a plugin's subclass may keep time its own way
        return SilenceTriggers([trigger for trigger in triggers if isinstance(trigger, SilenceTrigger)])

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        if member is not None and member.silent_since is not None and self.pending_key not in member.marks:
            due = self.deadline(run, member.silent_since)
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
        deadline = self.deadline(run, since)
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
        since_text = run.local.text(since)
        # "（不算节假日）" only when days off did fall in the stretch: its 7 days are not a week.
        uncounted = self.not_counting if self.silent is not None and self.silent.after(since, self.seconds) > since + self.seconds else ()
        return Firing(member, member.group, run.now, partial(_silence_reason, says(run), self.seconds, since_text, spoke, uncounted), values={"silent_since": since_text})

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
        # Whether a rule does not count some days: its deadline is then its own to work out.
        self.counting_all = all(trigger.off is None for trigger in triggers)
        for trigger in triggers:
            trigger.group = self

    def start(self, run: Run) -> None:
        pass

    def on_event(self, run: Run, event: Event, member: Member | None) -> list[tuple[TriggerType, Firing]]:
        if member is not None:
            since = member.silent_since
            if since is not None:
                # A new stretch: no rule has fired for it yet, the shortest comes first.
                due = since + self.shortest  # the earliest any rule's can be (days off only delay one)
                pending = member.marks.get(self.due_key)
                if pending is None or pending > due:
                    if not self.counting_all:
                        due = self._first_deadline(run, since)
                    if pending is None or pending > due:
                        self._arm(run, member, due)
        return []

    def _first_deadline(self, run: Run, since: float) -> float:
        """The earliest deadline of the rules for a silent stretch from ``since``, days off
        counted. (Not written in ``on_event``: its generator would make ``run`` and ``since``
        closure cells at every call.)"""
        return min(trigger.deadline(run, since) for trigger in self.triggers)

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
            if upcoming is not None and since + trigger.seconds >= upcoming:
                continue  # not before the one found (its duration, days off or not, ends later)
            deadline = since + trigger.seconds if trigger.off is None else trigger.deadline(run, since)
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
        due = min((trigger.deadline(run, since) for trigger in self.triggers if member.marks.get(trigger.fired_key) != since), default=None)
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
        if member is not None and member.joined_at == event.t:  # a join that made them new (not one more group)
            run.schedule(member.joined_at + self.seconds, self, member.id, member.joined_at)
        return ()

    def on_timer(self, run: Run, subject: str, payload: Any) -> Iterable[Firing]:
        member = run.members.get(subject)
        if member is None or member.left or member.joined_at != payload:
            return
        yield Firing(member, member.group, run.now, partial(_joined_reason, run, self.seconds, payload))

    def describe(self) -> str:
        return f"{format_duration(self.seconds)} after joining"


REPLY, MENTION, NEXT_MESSAGE = "reply", "mention", "next_message"  # community.yaml `question.answered_by`
SOLVED = "solved"  # the asker wrote she solved it herself (community.yaml `question.solved`)


class UnansweredTrigger(TriggerType):
    """A question nobody answered within the duration, per ``community.question.answered_by``:
    no reply to it (or to its asker's next line in the group within ``answer_window``), no
    message mentioning the asker, no plain message by someone else in the group within
    ``answer_window`` after it.

    Its memory (``run.store(self)``) maps each open question's key to ``[asker, group, asked
    at]`` (``[asker, group]`` in memory saved before the time was kept: too old for a plain
    message to answer). For ``next_message`` a second memory, ``KEY#recent``, lists per group
    the keys of the questions asked there lately, oldest first; a message looks at its own
    group's list only, and leaves in it just its sender's own questions, so the list stays as
    short as the questions nobody else has spoken after.
    """

    name = "unanswered"
    default_deadline = "72h"
    description = "Fires when a question (per community `question.patterns`) gets no answer within this duration: by default no reply to it, no message mentioning the asker, and no plain message from someone else in the group within `question.answer_window` (10m); `question.answered_by` chooses."
    schema = {"title": "Unanswered 无人回答", "type": "string", "examples": ["30m", "2h"]}
    listens = frozenset({"message"})
    uses_event = True

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.seconds = _duration(value)
        answered_by = context.community.question_answered_by
        self.by_reply = REPLY in answered_by
        self.by_mention = MENTION in answered_by
        self.by_next_message = NEXT_MESSAGE in answered_by
        # A plain message can answer only until the question fires: the shorter of the two.
        self.window = min(context.community.question_answer_window, self.seconds)
        # A fired question is still answered by a plain message within the community's window
        # (when that is longer than the rule's wait): its tasks not yet due are stale then.
        self.late_window = context.community.question_answer_window
        self.staff = context.community.staff
        solved = context.community.question_solved
        self.solved = any_pattern(solved) if solved else None  # "找到了，谢谢": no answer awaited any more
        me_too = getattr(context.community, "question_me_too", ())
        self.me_too = any_pattern(me_too) if me_too else None  # "同问", "+1": one more waiting, no answer
        self.recent_key = self.key + "#recent"
        # Questions that fired, until their tasks are due: an answer after the firing makes
        # them stale (key → [asker, group, asked at, fired at, answered at, answered by], and
        # "solved" after them when the asker said she solved it herself).
        self.fired_key = self.key + "#fired"
        # The asker's next lines, while their question is open: a reply to one of them answers
        # it (a question asked in two lines is answered by quoting the second), message id →
        # [question keys, written at], oldest first, kept as long as fired questions are.
        self.followup_key = self.key + "#followup"
        # Each asker's last question in a group while it is open, "asker\x1fgroup" → [key, its
        # text without spaces]: the same question asked again is not a second one.
        self.asking_key = self.key + "#asking"
        self.asker_key = self.fired_key + "@asker"  # asker → keys of their questions in `fired`
        self.keep_fired: float = 7 * 86400  # how long a fired question is remembered: its tasks' latest due (at least a week)
        # The run last seen by on_event, and its memories of this trigger (see _bind).
        self._memories_of: Run | None = None
        self._memories: tuple[dict[Any, Any], ...] = ()

    def _bind(self, run: Run) -> None:
        """Look up this trigger's memories in ``run`` once (a run's stores stay the same dicts
        all through it): on_event reads four of them for every message, and a ``run.store``
        call each time cost more than the rest of its work. Held until the next run. (All five
        are made at the first message, empty ones too: a --state database lists their rows in
        that order.)"""
        self._memories = (run.store(self), run.store(self.fired_key), run.store(self.asker_key), run.store(self.asking_key), run.store(self.recent_key))
        self._memories_of = run

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        if member is None:
            return ()
        if self._memories_of is not run:
            self._bind(run)
        # open question key → [asker, group, asked at]; the others: see __init__
        questions, fired, by_asker, asking, recent = self._memories
        replied_keys: list[str] = []  # the open questions it replies to (or to their asker's next line)
        if event.reply_to:
            replied_keys = self._replied(run, event.reply_to, questions)
            for replied in replied_keys if self.by_reply else ():
                if replied in questions and questions[replied][0] != member.id:
                    self._answered(run, questions.pop(replied), member, REPLY)
        if self.by_mention and event.mentions:
            mentioned = set(event.mentions) - {member.id}
            for key, entry in list(questions.items()):
                if entry[0] in mentioned and entry[1] == event.group:
                    self._answered(run, questions.pop(key), member, MENTION)
        if (event.reply_to or event.mentions) and fired:
            self._answered_late(run, fired, event, member)
        asked = run.is_question(event)
        if not asked and self.solved is not None and event.group is not None and event.text:
            if member.id in by_asker or (asking and _asking_where(member.id, event.group) in asking):
                self._solved(run, questions, member, event)  # something of hers waits (rarely): search
        # A question put to another member ("@李四 你读完了吗？") is theirs to answer: no task
        # for the operator when they do not. One to staff stays a question for the operator.
        key = (event.id or f"{event.group}/{member.id}/{event.t}") if asked and not addressed(event, member.id, self.staff) else None
        if key is not None and event.group is not None and self._asked_again(run, questions, key, member, event):
            key = None  # the same question again while it waits: one question, one task
        if (self.by_next_message or self.by_reply) and event.group is not None:
            # recent: group → keys of questions asked there lately, oldest first
            if key is not None:
                self._remember(recent, questions, fired, event.group, key, event.t)
            elif not asked and event.group in recent:
                own = self._next_message(run, recent, questions, event.group, member, event, replied_keys, asks_again(event, self.me_too))
                if own and self.by_reply and event.id:
                    self._follow_up(run, event.id, own)
        if key is not None:
            questions[key] = [member.id, event.group, event.t]
            asked_payload = {"member": member.id, "group": event.group, "t": event.t, "id": event.id, "text": event.text}
            run.schedule(event.t + self.seconds, self, key, asked_payload)
        return ()

    def _asked_again(self, run: Run, questions: dict[Any, Any], key: str, member: Member, event: Event) -> bool:
        """Whether question ``event`` (``key``) repeats, word for word, its asker's question in
        its group that is still open (posted again after 20 minutes of silence: no second
        "nobody answered" for the operator); a reply to the repeat answers the first. Otherwise
        it is the asker's question there from now on."""
        asking = run.store(self.asking_key)
        where = _asking_where(member.id, event.group)
        text = "".join((event.text or "").split())
        last = asking.get(where)
        if last is not None and last[0] in questions and last[1] == text:
            if self.by_reply and event.id:
                self._follow_up(run, event.id, [last[0]])
            return True
        asking[where] = [key, text]
        return False

    def _remember(self, recent: dict[Any, Any], questions: dict[Any, Any], fired: dict[Any, Any], group: str, key: str, now: float) -> None:
        """Question ``key``, asked ``now`` in ``group``, may be answered by a plain message."""
        keys = recent.setdefault(group, [])
        # Those answered, fired or asked before the window go first: in a group where only
        # questions are asked, no plain message would clear them. (One that fired within the
        # window stays, for a late answer: see ``_next_message``.)
        oldest = now - self.window
        while keys and not _open_since(questions.get(keys[0]), oldest) and (keys[0] in questions or _fired_since(fired.get(keys[0]), group, now - self.late_window) is None):
            del keys[0]
        keys.append(key)

    def _next_message(self, run: Run, recent: dict[Any, Any], questions: dict[Any, Any], group: str, member: Member, event: Event, replied: list[str], again: bool) -> list[str]:
        """A message that is not a question answers (``next_message``) every question still open
        in its group that someone else asked within the window — each it is an answer to (see
        ``next_answer``: ``replied``, the questions it replies to; ``again``, it asks the question
        again); the sender's own stay open, and are returned: the message goes on with them."""
        oldest = run.now - self.window
        waiting, own = [], []
        fired: dict[Any, Any] | None = None
        for key in recent[group]:
            entry = questions.get(key)
            if entry is None and self.by_next_message:
                # Fired already, still within the window (a window longer than the rule's wait):
                # an answer now makes its tasks not yet due stale, as a late reply does.
                if fired is None:
                    fired = run.store(self.fired_key)
                late = _fired_since(fired.get(key), group, run.now - self.late_window)
                if late is not None:
                    if late[0] != member.id and not again and next_answer(event, member.id, late[0], key, replied):
                        late[4], late[5] = run.now, member.name or member.id
                    else:
                        waiting.append(key)
                continue
            if entry is None or not _open_since(entry, oldest) or entry[1] != group:
                continue  # answered, fired, or asked too long ago (or a key reused in another group)
            if entry[0] == member.id:
                waiting.append(key)
                own.append(key)
            elif self.by_next_message and not again and next_answer(event, member.id, entry[0], key, replied):
                self._answered(run, questions.pop(key), member, NEXT_MESSAGE)
            else:
                waiting.append(key)  # only its asker's next lines are looked for
        if waiting:
            recent[group] = waiting
        else:
            del recent[group]
        return own

    def _follow_up(self, run: Run, message_id: str, keys: list[str]) -> None:
        """Message ``message_id`` goes on with its sender's open questions ``keys``: a reply to
        it answers them."""
        followups = run.store(self.followup_key)
        oldest = run.now - self.keep_fired
        while followups and followups[next(iter(followups))][1] < oldest:
            del followups[next(iter(followups))]
        followups[message_id] = [keys, run.now]

    def _replied(self, run: Run, reply_to: str, questions: dict[Any, Any]) -> list[str]:
        """The questions a reply to message ``reply_to`` answers: that question, or those its
        asker's next line (``reply_to``) went on with."""
        if reply_to in questions:
            return [reply_to]
        followups = run.store(self.followup_key)
        follow = followups.get(reply_to) if followups else None
        return list(follow[0]) if follow is not None else []

    def _answered(self, run: Run, entry: list[Any], member: Member, how: str) -> None:
        """The question remembered as ``entry`` (asker, group, asked at) is answered now by ``member``."""
        self._done_asking(run, entry[0], entry[1])  # popped from the open questions already
        asked_at = entry[2] if len(entry) > 2 else None
        run.note(self.key, entry[0], "answered", partial(_answered_reason, run, asked_at, run.now, member.name or member.id, member.id, how))

    def _answered_late(self, run: Run, fired: dict[Any, Any], event: Event, member: Member) -> None:
        """A reply to a question that already fired, or a message mentioning its asker there:
        its tasks not yet due are stale from now on."""
        for key in self._replied(run, event.reply_to, fired) if self.by_reply and event.reply_to else ():
            entry = fired.get(key)
            if entry is not None and entry[0] != member.id and entry[4] is None:
                entry[4], entry[5] = run.now, member.name or member.id
        if self.by_mention and event.mentions:
            by_asker = run.store(self.asker_key)
            for asker in event.mentions:
                if asker == member.id:
                    continue
                for key in by_asker.get(asker, ()):
                    entry = fired.get(key)
                    if entry is not None and entry[4] is None and entry[1] == event.group:
                        entry[4], entry[5] = run.now, member.name or member.id

    def _solved(self, run: Run, questions: dict[Any, Any], member: Member, event: Event) -> None:
        """``member`` wrote ``event`` in its group: when it says she solved her question herself
        ("找到了，谢谢", "解决了"), her questions there wait for no answer, and the tasks of those
        that already fired are stale from now on: the operator would answer a solved question."""
        if self.solved is None or self.solved.search(event.text or "") is None:  # None: checked by the caller; for mypy
            return
        for key, entry in list(questions.items()):
            if entry[0] == member.id and entry[1] == event.group:
                self._answered(run, questions.pop(key), member, SOLVED)
        fired = run.store(self.fired_key)
        for key in run.store(self.asker_key).get(member.id, ()):
            entry = fired.get(key)
            if entry is not None and entry[4] is None and entry[1] == event.group:
                entry[4], entry[5] = run.now, member.name or member.id
                entry[6:] = [SOLVED]

    def _done_asking(self, run: Run, asker: str, group: str | None) -> None:
        """A question of ``asker`` in ``group`` was answered or fired: if it was their last one
        there, a repeat of it is a new question."""
        asking = run.store(self.asking_key)
        if asking:
            where = _asking_where(asker, group)
            last = asking.get(where)
            if last is not None and last[0] not in run.store(self):
                del asking[where]

    @property
    def steady(self) -> bool:
        return False  # others answer the question

    def due_within(self, seconds: float) -> None:
        self.keep_fired = max(7 * 86400, seconds)

    def stale(self, run: Run, firing: Firing, at: float) -> str | None:
        question = firing.event
        if question is None:
            return None
        entry = run.store(self.fired_key).get(question.id or f"{question.group}/{question.member}/{question.t}")
        if entry is None or entry[4] is None or entry[4] > at:
            return None
        words = language_of(run).explain
        said = words.solved_since if entry[6:] == [SOLVED] else words.answered_since
        return said.format(who=entry[5], at=local_text(run, entry[4]))

    def on_timer(self, run: Run, subject: str, payload: Any) -> Iterable[Firing]:
        if run.store(self).pop(subject, None) is None:
            return
        self._done_asking(run, payload["member"], payload["group"])
        member = run.members.get(payload["member"])
        if member is None or member.left:
            return
        fired, by_asker = run.store(self.fired_key), run.store(self.asker_key)
        # Kept as long as a task of a question may be due (due_within), a week at least.
        while fired:
            oldest = next(iter(fired))
            if fired[oldest][3] >= run.now - self.keep_fired:
                break
            asker = fired.pop(oldest)[0]
            keys = by_asker.get(asker)
            if keys is not None:
                if oldest in keys:
                    keys.remove(oldest)
                if not keys:
                    del by_asker[asker]
        fired[subject] = [payload["member"], payload["group"], payload["t"], run.now, None, None]
        by_asker.setdefault(payload["member"], []).append(subject)
        question = Event(t=payload["t"], type="message", member=payload["member"], group=payload["group"], id=payload["id"], text=payload["text"], name=member.name)
        snippet = (question.text or "")[:30]
        words = says(run)
        reason = words.unanswered.format(duration=duration_text(self.seconds, words), snippet=snippet, at=local_text(run, question.t))
        yield Firing(member, question.group, run.now, reason, question, {"question": question.text, "asked_at": local_text(run, question.t)})

    def describe(self) -> str:
        return f"question unanswered {format_duration(self.seconds)}"


def _asking_where(asker: str, group: str | None) -> str:
    """The key of ``asker``'s last question in ``group`` in the trigger's ``#asking`` memory."""
    return f"{asker}\x1f{group}"


def addressed(event: Event, asker: str, staff: frozenset[str]) -> bool:
    """Whether question ``event`` by ``asker`` is put to another member: it mentions someone
    who is neither the asker nor staff ("@李四 你读完了吗？"). Such a question waits for that
    member, not for the group or the operator."""
    return any(mentioned != asker and mentioned not in staff for mentioned in event.mentions)


def next_answer(event: Event, sender: str, asker: str, key: str, replied: Collection[str]) -> bool:
    """Whether ``event``, a plain message by ``sender`` soon after question ``key`` by ``asker``
    in its group, answers it as the next message (``next_message``): not when it replies to some
    other message (``replied``: the questions it replies to, or to their asker's next line), nor
    when it @-s someone other than the asker ("@群主 可以回答一下": talk with them). Said of a
    message that does not ask the question again (``asks_again``)."""
    if event.reply_to and key not in replied:
        return False
    return all(mentioned in (sender, asker) for mentioned in event.mentions)


def asks_again(event: Event, me_too: Any) -> bool:
    """Whether ``event`` asks the question before it again rather than answering it: "同问",
    "+1", "我也想知道" (``me_too``: community.yaml `question.me_too`) — one more person waits."""
    return me_too is not None and bool(event.text) and me_too.search(event.text) is not None


def _fired_since(entry: list[Any] | None, group: str, oldest: float) -> list[Any] | None:
    """A fired question's memory ``entry`` (asker, group, asked at, fired at, answered at, by) if
    it was asked in ``group`` at ``oldest`` or later and is not answered yet, else None."""
    if entry is None or entry[1] != group or entry[2] < oldest or entry[4] is not None:
        return None
    return entry


def _open_since(entry: list[Any] | None, oldest: float) -> bool:
    """Whether a question's memory ``entry`` is still open and was asked at ``oldest`` or later
    (an entry saved before the ask time was kept is older than any window)."""
    return entry is not None and len(entry) > 2 and entry[2] >= oldest


def _answered_reason(run: Run, asked_at: float | None, now: float, name: str, member_id: str, how: str) -> str:
    """What --explain says, at the answer's instant, of a question answered in time."""
    who = f"{name} ({member_id})" if name != member_id else member_id
    says = language_of(run)
    words = says.explain
    if asked_at is None:  # remembered without its time by an earlier version of the engine
        return words.answered.format(who=who, how=words.answered_by[how], kind=how)
    later = words.later.format(duration=says.duration(now - asked_at)) if how == NEXT_MESSAGE else ""
    return words.answered_of.format(at=local_text(run, asked_at), who=who, how=words.answered_by[how], later=later, kind=how)
