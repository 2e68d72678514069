"""Trigger kinds: what makes a rule fire. Each is a small class; plugins can add their own.

A trigger instance belongs to one rule. The evaluation calls ``on_event`` for the event types
in ``listens`` (after the member's state has been updated by that event) and ``on_timer`` when
a timer the trigger scheduled with ``run.schedule`` comes due. Both yield ``Firing`` records;
the rule's conditions and actions are applied by the engine, not by the trigger.

Per-member bookkeeping goes in ``member.marks`` under keys that start with ``self.key``;
anything else a trigger remembers during a run goes in ``run.store(self)``, a dict that
belongs to the run (a trigger object is shared by every run of a loaded playbook).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

from playbook_engine.contract import (
    SCALAR_MEMBER_FIELDS,
    Event,
    Firing,
    Member,
    Run,
    TriggerContext,
    TriggerProblem,
    TriggerType,
)
from playbook_engine.durations import DurationError, format_duration, parse_duration
from playbook_engine.explain import field_values
from playbook_engine.predicates import compile_member_values

STAGE_ENTERED = "@stage_entered"  # internal event: a member entered a lifecycle stage


def local_text(run: Run, t: float) -> str:
    return run.local.text(t)


# A firing's reason is written only if it plans a task, by a partial of one of these: a long
# run holds a busy day's offers until the day is settled, and a partial is two objects for
# the cycle collector where a closure is five or six.


def _silence_reason(seconds: int, since_text: str, spoke: str) -> str:
    return f"silent {format_duration(seconds)} since {since_text} ({spoke})"


def _joined_reason(run: Run, seconds: int, joined_at: float) -> str:
    return f"joined {format_duration(seconds)} ago ({local_text(run, joined_at)})"


def _stage_reason(run: Run, stage: str, previous: str | None, t: float) -> str:
    return f"entered stage {stage}" + (f" from {previous}" if previous else "") + f" at {local_text(run, t)}"


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

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        firing = self.match(run, event, member)
        return () if firing is None else (firing,)

    @classmethod
    def checked_together(cls, triggers: list[TriggerType]) -> EventTriggers | None:
        # A plugin's subclass may answer events its own way; `event: "*"` listens to every type.
        plain = [trigger for trigger in triggers if type(trigger) is EventTrigger]
        if cls is not EventTrigger or len(plain) != len(triggers) or any(trigger.value == "*" for trigger in plain):
            return None
        return EventTriggers(plain)

    def match(self, run: Run, event: Event, member: Member | None, folded: str | None = None) -> Firing | None:
        """The firing for ``event``, or None if its text does not match (``folded``: the text
        casefolded, if already at hand)."""
        values: dict[str, Any] = {}
        if self.keywords or self.regex is not None:
            text = event.text or ""
            if self.keywords:
                if folded is None:
                    folded = text.casefold()
                found = [word for word in self.keywords if word in folded]
                if not found:
                    return None
                values["keyword"] = found[0]
            if self.regex is not None:
                match = self.regex.search(text)
                if match is None:
                    return None
                values["match"] = match.group(0)

        group = event.group or (member.group if member else None)
        return Firing(member, group, event.t, partial(_event_reason, run, event, values), event, values)


def _event_reason(run: Run, event: Event, values: dict[str, Any]) -> str:
    text = f"{event.type} at {local_text(run, event.t)}"
    if "keyword" in values:
        return text + f" containing “{values['keyword']}”"
    if "match" in values:
        return text + f" matching “{values['match']}”"
    return text


def combinable(pattern: re.Pattern[str]) -> bool:
    """Whether ``pattern`` can be one branch of an alternation and mean the same there: no
    groups (a backreference would count from the whole), no flags of its own."""
    return pattern.groups == 0 and pattern.flags == re.UNICODE


def any_pattern(patterns: Iterable[re.Pattern[str]]) -> re.Pattern[str] | None:
    """One pattern that matches somewhere exactly when one of ``patterns`` does — their
    alternation ``(?:p1)|(?:p2)|…``, each pattern once — or None if one is not ``combinable``
    (or the alternation does not compile, as with global flags inside a pattern)."""
    patterns = list(patterns)
    if not all(combinable(pattern) for pattern in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{pattern})" for pattern in dict.fromkeys(item.pattern for item in patterns)))
    except re.error:
        return None


class EventTriggers:
    """Every ``event:`` rule of a run, checked as one: a single call per event, its text
    casefolded once, and one search for all the regular expressions of an event type — most
    messages match none of a playbook's spam and insult patterns.

    The combined pattern is ``(?:p1)|(?:p2)|…`` over the patterns without groups (where a
    backreference could not change meaning): it matches somewhere exactly when one of them
    does, so when it does not, none of their rules can fire. Each rule that may fire is then
    matched on its own, as before.
    """

    key = "@event"

    def __init__(self, triggers: list[EventTrigger]):
        self.by_type: dict[str, list[EventTrigger]] = {}
        for trigger in triggers:
            self.by_type.setdefault(trigger.value, []).append(trigger)
        self.listens = frozenset(self.by_type)
        # event type → (the combined pattern, the triggers it answers for)
        self.prefilters: dict[str, tuple[re.Pattern[str], frozenset[int]]] = {}
        for kind, listening in self.by_type.items():
            plain = [trigger for trigger in listening if trigger.regex is not None and combinable(trigger.regex)]
            combined = any_pattern([trigger.regex for trigger in plain]) if len(plain) > 1 else None  # type: ignore[misc]
            if combined is not None:
                self.prefilters[kind] = (combined, frozenset(map(id, plain)))

    def start(self, run: Run) -> None:
        pass

    def on_event(self, run: Run, event: Event, member: Member | None) -> list[tuple[TriggerType, Firing]]:
        listening = self.by_type.get(event.type)
        if not listening:
            return []
        prefilter = self.prefilters.get(event.type)
        ruled_out: frozenset[int] = frozenset()
        if prefilter is not None and prefilter[0].search(event.text or "") is None:
            ruled_out = prefilter[1]
        folded = None
        firings: list[tuple[TriggerType, Firing]] = []
        for trigger in listening:
            if id(trigger) in ruled_out:
                continue
            if trigger.keywords and folded is None:
                folded = (event.text or "").casefold()
            firing = trigger.match(run, event, member, folded)
            if firing is not None:
                firings.append((trigger, firing))
        return firings

    def on_timer(self, run: Run, subject: str, payload: Any) -> list[tuple[TriggerType, Firing]]:
        return []


class SilenceTrigger(TriggerType):
    """One firing per silent stretch; the next message (or a re-join) re-arms it.

    All ``silence`` rules of a run keep one timer per member between them (``SilenceTriggers``):
    at the first deadline still to come. Checked alone (a plugin's subclass), a rule keeps its
    own: a message does not schedule a new one, the pending one re-checks the real deadline
    when it comes due and moves itself if needed.
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
    schema = {"type": "string", "examples": ["1d", "3d", "7d"]}
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


class StageTrigger(TriggerType):
    name = "stage"
    description = "Fires when a member enters this lifecycle stage (as defined in community.yaml)."
    schema = {"type": "string", "examples": ["newbie", "decline", "churn"]}
    listens = frozenset({STAGE_ENTERED})

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        known = [stage.stage for stage in context.community.lifecycle]
        if value not in known:
            from playbook_engine.validate import suggest

            raise TriggerProblem(f"stage `{value}` is not defined in community.yaml lifecycle{suggest(value, known)}")

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        if member is not None and event.raw.get("stage") == self.value:
            previous = event.raw.get("previous")
            yield Firing(member, member.group, event.t, partial(_stage_reason, run, self.value, previous, event.t), values={"previous": previous})

    def describe(self) -> str:
        return f"enters {self.value}"


EACH = {"enum": ["group", "member"], "description": "`group` (default): fire once per group; `member`: fire for every member of each group."}


def fan_out(run: Run, each: str, t: float, reason: str, values: dict[str, Any]) -> list[Firing]:
    """One firing per known group, or per current member of each group, in id order."""
    firings = []
    seen: set[str] = set()  # a member of two groups is one person: one firing, in their first group
    if each == "member":
        run.prefetch(member_id for group in run.groups.values() for member_id in group.members)
    for group_id in run.known_groups():
        if each == "member":
            group = run.groups.get(group_id)
            for member_id in sorted(group.members) if group else ():
                member = run.members[member_id]
                if member_id not in seen and not member.left:
                    seen.add(member_id)
                    firings.append(Firing(member, group_id, t, reason, values=dict(values)))
        else:
            firings.append(Firing(None, group_id, t, reason, values=dict(values)))
    return firings


def _check_cron(expression: Any, key: str | None = None) -> str:
    from croniter import croniter

    if not isinstance(expression, str) or not croniter.is_valid(expression):
        raise TriggerProblem(
            f"`{expression}` is not a cron expression — write five fields (minute hour day month weekday), e.g. \"0 9 * * 1\" for Mondays at 09:00 or \"0 20 1,16 * *\" for the 1st and 16th at 20:00",
            key=key,
        )
    return expression


def next_cron(expression: str, after: float, tz: Any) -> float:
    """The first instant of ``expression`` in time zone ``tz`` strictly after ``after``."""
    from croniter import croniter

    start = datetime.fromtimestamp(after, tz)
    return croniter(expression, start).get_next(datetime).timestamp()


class ScheduleTrigger(TriggerType):
    name = "schedule"
    description = "Fires at each instant of a cron expression in the community time zone: once per group, or for each member with `each: member`."
    schema = {"type": "string", "examples": ["0 9 * * 1", "0 20 1,16 * *"]}
    options = {"each": EACH}

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.cron = _check_cron(value)
        self.each = options.get("each", "group")

    @property
    def per_member(self) -> bool:
        return self.each == "member"

    def start(self, run: Run) -> None:
        # An instant exactly at the first event still counts: fire it after that event.
        run.schedule(next_cron(self.cron, run.now - 1, run.tz), self, "*")

    def on_timer(self, run: Run, subject: str, payload: Any) -> Iterable[Firing]:
        run.schedule(next_cron(self.cron, run.now, run.tz), self, "*")
        return fan_out(run, self.each, run.now, f"schedule `{self.cron}` at {local_text(run, run.now)}", {})

    def describe(self) -> str:
        return f"on schedule {self.cron}"


class HolidayTrigger(TriggerType):
    name = "holiday"
    description = "Fires on the day of a holiday (Chinese public and traditional festivals by default; `country:` for others), at `at` (default 09:00)."
    schema = {
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
        "examples": ["any", "mid_autumn", ["spring_festival", "中秋节"]],
    }
    options = {
        "country": {"type": "string", "description": "With `holiday`: ISO country code whose public holidays to use instead of the Chinese calendar.", "examples": ["US", "SG"]},
        "at": {"type": "string", "pattern": r"^\d{1,2}:\d{2}$", "description": "With `holiday`: local time of day to fire (default 09:00).", "examples": ["09:00"]},
        "each": EACH,
    }

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        from playbook_engine.festivals import canonical, check_country, known_names
        from playbook_engine.validate import suggest

        super().__init__(value, options, context)
        self.country = options.get("country")
        if self.country is not None:
            problem = check_country(self.country)
            if problem:
                raise TriggerProblem(problem, key="country")
        names = [value] if isinstance(value, str) else list(value)
        self.keys: set[str] | None = None
        if names != ["any"]:
            self.keys = set()
            for name in names:
                key = canonical(name, self.country)
                if key is None:
                    known = known_names(self.country)
                    hint = suggest(name, known) or f" — known: {', '.join(known[:20])}{' …' if len(known) > 20 else ''}, or `any`"
                    raise TriggerProblem(f"unknown holiday `{name}`{hint}")
                self.keys.add(key)
        hours, minutes = (int(part) for part in options.get("at", "09:00").split(":"))
        if hours > 23 or minutes > 59:
            raise TriggerProblem(f"`{options.get('at')}` is not a time of day — write e.g. \"09:00\"", key="at")
        self.at = hours * 3600 + minutes * 60
        self.each = options.get("each", "group")

    def _next(self, run: Run, after: float) -> tuple[float, list[str]] | None:
        from datetime import time as clock_time

        from playbook_engine.festivals import festivals_in_year

        year = datetime.fromtimestamp(after, run.tz).year
        for candidate_year in (year, year + 1):
            by_day: dict[Any, list[str]] = {}
            for day, key in festivals_in_year(candidate_year, self.country):
                if self.keys is None or key in self.keys:
                    by_day.setdefault(day, []).append(key)
            for day in sorted(by_day):
                moment = datetime.combine(day, clock_time(self.at // 3600, self.at % 3600 // 60), run.tz).timestamp()
                if moment > after:
                    return moment, by_day[day]
        return None

    @property
    def per_member(self) -> bool:
        return self.each == "member"

    def start(self, run: Run) -> None:
        self._arm(run, run.now - 1)

    def _arm(self, run: Run, after: float) -> None:
        upcoming = self._next(run, after)
        if upcoming is not None:
            run.schedule(upcoming[0], self, "*", upcoming[1])

    def on_timer(self, run: Run, subject: str, payload: Any) -> Iterable[Firing]:
        from playbook_engine.festivals import label

        self._arm(run, run.now)
        firings: list[Firing] = []
        for key in payload:
            name = label(key, self.country)
            firings.extend(fan_out(run, self.each, run.now, f"holiday {name} ({datetime.fromtimestamp(run.now, run.tz):%Y-%m-%d})", {"holiday": key, "holiday_name": name}))
        return firings

    def describe(self) -> str:
        return f"on holiday {self.value}"


LEADERBOARD_METRICS: dict[str, str] = {
    "messages": "message",
    "replies": "message",
    "questions": "message",
    "mentions_received": "message",
    "active_days": "message",
    "reactions": "reaction",
    "activities": "activity_joined",
    "purchases": "purchase",
    "amount": "purchase",
}


class LeaderboardTrigger(TriggerType):
    """Top-N per group by a metric over a sliding window of whole days, at each cron instant.

    Counts are kept per group per local day, so a ranking costs the window's buckets, not a
    rescan of history.
    """

    name = "leaderboard"
    description = "At each `every` cron instant, fires for the top-N members of each group by `metric` over `window` (`each: group` fires once per group with the whole list in trigger.top)."
    schema = {
        "type": "object",
        "required": ["metric", "every"],
        "additionalProperties": False,
        "properties": {
            "metric": {"enum": sorted(LEADERBOARD_METRICS), "description": "What is counted."},
            "window": {"type": "string", "description": "Sliding window in whole days (default 30d).", "examples": ["7d", "30d"]},
            "top": {"type": "integer", "minimum": 1, "description": "How many members (default 3)."},
            "every": {"type": "string", "description": "Cron expression: when the ranking is made.", "examples": ["0 20 1,16 * *"]},
        },
    }
    options = {"each": EACH}
    uses_event = False

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.metric = value["metric"]
        self.cron = _check_cron(value["every"], key="every")
        window = _duration(value.get("window", "30d"))
        if window % 86400:
            raise TriggerProblem(f"window `{value.get('window')}` must be whole days — write e.g. 7d or 30d", key="window")
        self.days = window // 86400
        self.top = value.get("top", 3)
        self.each = options.get("each", "member")
        self.listens = frozenset({LEADERBOARD_METRICS[self.metric]})
        # Rankings of the same metric over the same window read the same counts.
        self.counts_key = f"@leaderboard/{self.metric}/{self.days}d"

    @classmethod
    def checked_together(cls, triggers: list[TriggerType]) -> LeaderboardCounts:
        return LeaderboardCounts([trigger for trigger in triggers if isinstance(trigger, LeaderboardTrigger)])

    @property
    def per_member(self) -> bool:
        return self.each != "group"

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        if event.group is None:
            return ()
        metric = self.metric
        if metric == "mentions_received":
            credited = [(mentioned, 1.0) for mentioned in event.mentions if mentioned != event.member]
        elif member is None:
            return ()
        elif metric == "replies" and not event.reply_to:
            return ()
        elif metric == "questions" and not run.is_question(event):
            return ()
        else:
            credited = [(member.id, float(event.amount or 0) if metric == "amount" else 1.0)]
        day = run.local.day(event.t)
        by_group = run.store(self.counts_key)  # group → [[local day, {member: count}], …], at most `days` long
        buckets = by_group.get(event.group)
        if buckets is None:
            buckets = by_group[event.group] = []
        if not buckets or buckets[-1][0] != day:
            buckets.append([day, {}])
            while buckets[0][0] <= day - self.days:  # a new day: the oldest may have left the window
                del buckets[0]
        counts = buckets[-1][1]
        for member_id, amount in credited:
            counts[member_id] = 1.0 if metric == "active_days" else counts.get(member_id, 0.0) + amount
        return ()

    def start(self, run: Run) -> None:
        run.schedule(next_cron(self.cron, run.now - 1, run.tz), self, "*")

    def ranking(self, run: Run, group_id: str) -> list[tuple[str, float]]:
        from playbook_engine.members import local_day

        today = local_day(run.now, run.tz)
        totals: dict[str, float] = {}
        for day, counts in run.store(self.counts_key).get(group_id, ()):
            if day > today - self.days:
                for member_id, count in counts.items():
                    totals[member_id] = totals.get(member_id, 0.0) + count
        group = run.groups.get(group_id)
        eligible = [(member_id, total) for member_id, total in totals.items() if total > 0 and group and member_id in group.members]
        eligible.sort(key=lambda pair: (-pair[1], pair[0]))
        return eligible[: self.top]

    def on_timer(self, run: Run, subject: str, payload: Any) -> Iterable[Firing]:
        run.schedule(next_cron(self.cron, run.now, run.tz), self, "*")
        firings = []
        rewarded: set[str] = set()
        for group_id in run.known_groups():
            ranking = self.ranking(run, group_id)
            if not ranking:
                continue
            top = [{"rank": rank, "member": member_id, "name": run.members[member_id].name or member_id, "value": _number(total)} for rank, (member_id, total) in enumerate(ranking, 1)]
            window = f"{self.metric} over {self.days}d"
            if self.each == "group":
                names = ", ".join(f"{item['name']} {item['value']}" for item in top)
                firings.append(Firing(None, group_id, run.now, f"top {len(top)} by {window} in {group_id}: {names}", values={"top": top}))
                continue
            for item in top:
                if item["member"] in rewarded:
                    continue  # top in two groups is still one person: one firing, in the first group
                rewarded.add(item["member"])
                reason = f"#{item['rank']} by {window} in {group_id} ({item['value']})"
                firings.append(Firing(run.members[item["member"]], group_id, run.now, reason, values={"rank": item["rank"], "value": item["value"], "top": top}))
        return firings

    def describe(self) -> str:
        return f"top {self.top} by {self.metric} ({self.days}d)"


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 2)


MILESTONE_METRICS = ("messages", "replies", "questions", "mentions_received", "activities", "points")


class MilestoneTrigger(TriggerType):
    name = "milestone"
    description = "Fires when a member's metric first reaches each of the values in `at` (checked on the member's own events)."
    schema = {
        "type": "object",
        "required": ["metric", "at"],
        "additionalProperties": False,
        "properties": {
            "metric": {"enum": list(MILESTONE_METRICS), "description": "Member field to watch."},
            "at": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "description": "Values to celebrate, e.g. [100, 500, 1000]."},
        },
    }
    listens = frozenset({"*"})

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.metric = value["metric"]
        self.thresholds = sorted(set(value["at"]))
        self.reached_key = self.key + "#reached"

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        if member is None or event.type.startswith("@"):
            return
        current = getattr(member, self.metric)
        reached = member.marks.get(self.reached_key, 0)
        for threshold in self.thresholds:
            if reached < threshold <= current:
                member.marks[self.reached_key] = threshold
                yield Firing(member, event.group or member.group, event.t, f"{self.metric} reached {threshold}", values={"milestone": threshold, "value": current})

    def describe(self) -> str:
        return f"{self.metric} reaches {', '.join(map(str, self.thresholds))}"


class ActivityEndedTrigger(TriggerType):
    name = "activity_ended"
    description = "When an activity ends, fires for each member of its group who took part (`participated: true`) or did not (`false`)."
    schema = {
        "type": "object",
        "required": ["participated"],
        "additionalProperties": False,
        "properties": {"participated": {"type": "boolean", "description": "true: the participants; false: the members who did not take part."}},
    }
    listens = frozenset({"activity_started", "activity_joined", "activity_ended"})
    uses_event = True

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.participated = bool(value["participated"])

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        activity = event.activity or ""
        participants = run.store(self)  # activity → {member id: True}: plain data, saved by --state
        taking_part = participants.setdefault(activity, {})
        taking_part.update(dict.fromkeys(event.participants, True))
        if event.type == "activity_joined" and member is not None:
            taking_part[member.id] = True
        if event.type != "activity_ended" or event.group is None:
            return
        del participants[activity]
        group = run.groups.get(event.group)
        chosen = [member_id for member_id in sorted(group.members) if (member_id in taking_part) == self.participated] if group else []
        run.prefetch(chosen)
        how = "took part in" if self.participated else "did not take part in"
        reason = lambda: f"{how} activity {activity} (ended {local_text(run, event.t)})"  # noqa: E731 - the same for everyone
        for member_id in chosen:
            target = run.members[member_id]
            if target.left:
                continue
            yield Firing(target, event.group, event.t, reason, event, {"activity": activity})

    def describe(self) -> str:
        return "after an activity, " + ("participants" if self.participated else "non-participants")


class UnansweredTrigger(TriggerType):
    """A question nobody answered within the duration: no reply to it, no mention of the asker."""

    name = "unanswered"
    description = "Fires when a question (per community `question.patterns`) gets no reply, and no message mentioning the asker from another member, within this duration."
    schema = {"type": "string", "examples": ["30m", "2h"]}
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


class BecomesTrigger(TriggerType):
    """A condition about a member turning true — on their events, or as time alone passes.

    Like the lifecycle, it is checked when the member's own events change their state and at
    the instants a time-driven field in the condition (``days_silent``, ``days_since_join``,
    the 7- and 30-day windows) could cross a threshold it names; never by scanning every
    member every day. The first check of a member counts as a change from false.

    All ``becomes`` rules of a run are checked together (``BecomesGroup``): one view of the
    member, one pending timer and one mark per member, however many tiers a playbook has.
    """

    name = "becomes"
    description = "Fires when a condition about the member turns true: checked on the member's events and at the moments time alone could change it (days silent, days since join, 7/30-day windows)."
    schema = {"type": "string", "examples": ["member.active_days_30d >= 8", "member.days_silent >= 10 and member.messages > 20"]}
    listens = frozenset({"*"})

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        from playbook_engine.contract import MEMBER_FIELDS
        from playbook_engine.dependencies import member_fields_read
        from playbook_engine.expressions import Condition, check_source

        super().__init__(value, options, context)
        if not isinstance(value, str) or not value.strip():
            raise TriggerProblem("`becomes` needs a condition about the member, e.g. \"member.active_days_30d >= 8\"")
        problems = check_source(context.env, value, expression=True, fields={"member": MEMBER_FIELDS, "community": ("name", "timezone", "channel")})
        if problems:
            raise TriggerProblem(problems[0])
        self.env = context.env
        self.condition = Condition(context.env, value)
        self.fields = member_fields_read(context.env, [value])
        self.community_values = {"name": self.community.name, "timezone": self.community.timezone, "channel": self.community.channel}

    @classmethod
    def checked_together(cls, triggers: list[TriggerType]) -> BecomesGroup:
        return BecomesGroup([trigger for trigger in triggers if isinstance(trigger, BecomesTrigger)])

    def holds(self, view: Any) -> bool:
        try:
            return self.condition.test({"member": view, "community": self.community_values})
        except Exception:  # noqa: BLE001 - an evaluation error is "not true"; the rule's own `if:` reports errors
            return False

    def describe(self) -> str:
        return f"when {self.value}"


MEMO_SIZE = 4096


class BecomesGroup:
    """Every ``becomes`` rule of one run, checked as one.

    Per member it keeps one mark, ``@becomes#held``: the keys of the rules whose condition held
    at the last check, the member's revision then, and the values of the fields the
    conditions read. A check is skipped when the event changed none of those fields; when the
    values are the same as last time the answers are too. Conditions on scalar fields are
    memoised by value. One timer per member, at the earliest instant any condition's
    time-driven field could cross a threshold, serves every rule.
    """

    key = "@becomes"
    held_key = "@becomes#held"
    due_key = "@becomes#due"
    listens = frozenset({"*"})

    def __init__(self, triggers: list[BecomesTrigger]):
        from playbook_engine.lifecycle import TimeThresholds

        self.triggers = triggers
        self.thresholds = TimeThresholds([trigger.value for trigger in triggers], triggers[0].env, triggers[0].community.tz) if triggers else None
        fields = [trigger.fields for trigger in triggers]
        self.fields = None if any(field is None for field in fields) else frozenset().union(*fields)
        scalar = self.fields is not None and self.fields <= SCALAR_MEMBER_FIELDS
        self.value_fields = tuple(sorted(self.fields)) if scalar else None  # type: ignore[arg-type]  # scalar: fields known
        self._read_values = compile_member_values(self.value_fields, triggers[0].community.tz) if self.value_fields else None
        # field values → the triggers whose condition holds, and their keys
        self._memo: dict[tuple[Any, ...], tuple[list[BecomesTrigger], tuple[str, ...]]] = {}

    def start(self, run: Run) -> None:
        pass

    def on_event(self, run: Run, event: Event, member: Member | None) -> list[tuple[TriggerType, Firing]]:
        # Stage entries count too, so a condition on member.stage is re-checked when it changes.
        if member is None or (event.type.startswith("@") and event.type != STAGE_ENTERED):
            return []
        if self.fields is not None and run.changed is not None and not (self.fields & run.changed):
            held = member.marks.get(self.held_key)
            if isinstance(held, tuple) and held[1] == member.revision:
                return []  # nothing the conditions read changed since they were last checked
        return self._check(run, member)

    def on_timer(self, run: Run, subject: str, payload: Any) -> list[tuple[TriggerType, Firing]]:
        member = run.members.get(subject)
        if member is None or member.marks.get(self.due_key) != run.now:
            return []  # superseded, or a timer an earlier version of the playbooks left in --state
        del member.marks[self.due_key]
        return self._check(run, member)

    def _check(self, run: Run, member: Member) -> list[tuple[TriggerType, Firing]]:
        if member.left:
            return []
        held = member.marks.get(self.held_key)
        values = None
        if self._read_values is not None:
            values = self._read_values(member, run.now)
            if isinstance(held, tuple) and held[1] == member.revision and held[2] == values:
                self._arm(run, member)
                return []
            # The conditions are pure functions of these values: same values, same answers.
            entry = self._memo.get(values)
            if entry is None:
                entry = self._holding(run.view(member))
                if len(self._memo) < MEMO_SIZE:
                    self._memo[values] = entry
            holding, keys = entry
        else:
            holding, keys = self._holding(run.view(member))
        # (keys that held, revision, values); --state gives it back as lists, which never match.
        was = held[0] if isinstance(held, (list, tuple)) else ()
        member.marks[self.held_key] = (keys, member.revision, values)
        self._arm(run, member)
        if tuple(was) == keys:
            return []  # what held still holds; nothing else does
        became = [trigger for trigger in holding if trigger.key not in was]
        if not became:
            return []
        firings = []
        view = run.view(member)
        for trigger in became:
            shown_values = field_values(trigger.value, {"member": view, "community": trigger.community_values})
            shown = ", ".join(f"{name} = {value}" for name, value in shown_values.items())
            firings.append((trigger, Firing(member, member.group, run.now, f"`{trigger.value}` became true" + (f" ({shown})" if shown else ""), values=shown_values)))
        return firings

    def _holding(self, view: Any) -> tuple[list[BecomesTrigger], tuple[str, ...]]:
        holding = [trigger for trigger in self.triggers if trigger.holds(view)]
        return holding, tuple(trigger.key for trigger in holding)

    def _arm(self, run: Run, member: Member) -> None:
        # A pending check stays valid unless the event changed a field whose next crossing
        # may come sooner (see TimeThresholds.rearm); when it comes due it re-arms itself.
        if self.thresholds is None:
            return
        due = self.thresholds.rearm(member, run.now, member.marks.get(self.due_key), run.changed)
        if due is not None:
            member.marks[self.due_key] = due
            run.schedule(due, self.key, member.id)


class LeaderboardCounts:
    """Counts every leaderboard's events once per metric and window, however many rules rank
    them; each rule still ranks on its own cron instants (its own timers)."""

    key = "@leaderboard"

    def __init__(self, triggers: list[LeaderboardTrigger]):
        counters: dict[str, LeaderboardTrigger] = {}
        for trigger in triggers:
            counters.setdefault(trigger.counts_key, trigger)
        self.counters = list(counters.values())
        self.listens = frozenset().union(*(trigger.listens for trigger in triggers))

    def start(self, run: Run) -> None:
        pass

    def on_event(self, run: Run, event: Event, member: Member | None) -> list[tuple[TriggerType, Firing]]:
        for counter in self.counters:
            if event.type in counter.listens:
                counter.on_event(run, event, member)
        return []

    def on_timer(self, run: Run, subject: str, payload: Any) -> list[tuple[TriggerType, Firing]]:
        return []


BUILTIN_TRIGGERS = (
    EventTrigger,
    SilenceTrigger,
    AfterJoinTrigger,
    UnansweredTrigger,
    StageTrigger,
    ScheduleTrigger,
    HolidayTrigger,
    LeaderboardTrigger,
    MilestoneTrigger,
    ActivityEndedTrigger,
    BecomesTrigger,
)
