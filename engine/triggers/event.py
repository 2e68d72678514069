"""Triggers on single events: `event: TYPE` (with keywords / regex) and `activity_ended`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from playbook_engine.contract import (
    Event,
    Firing,
    Member,
    Run,
    TriggerContext,
    TriggerProblem,
    TriggerType,
)
from playbook_engine.patterns import Pattern, PatternError, compile_pattern
from playbook_engine.triggers.common import any_pattern, local_text, says


class EventTrigger(TriggerType):
    name = "event"
    description = "Fires on each event of this type; `keywords` and `regex` narrow it to matching message texts."
    schema = {"title": "Event 事件", "type": "string", "examples": ["message", "member_joined", "member_left", "activity_ended", "purchase"]}
    options = {
        "keywords": {"type": "array", "items": {"type": "string"}, "minItems": 1, "description": "With `event`: fire only when the text contains one of these (case-insensitive).", "title": "Keywords 关键词", "examples": [["广告", "加微信", "代购"], ["请问", "怎么"]]},
        "regex": {"type": "string", "description": "With `event`: fire only when the text matches this regular expression.", "title": "Regex 正则", "examples": ["https?://", "(加|\\+)\\s*(微信|vx|v信)"]},
        "exclude": {"type": "string", "description": "With `event`: do not fire when the text matches this regular expression — what `keywords`/`regex` would catch but means no harm (self-talk, a title, an idiom).", "title": "Exclude 排除", "examples": ["我[^你]{0,4}白痴|滚蛋吧肿瘤君"]},
    }
    uses_event = True
    fires_at_event = True

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        _check_type(value)
        self.listens = frozenset({value})
        self.keywords = [word.casefold() for word in options.get("keywords", ())]
        self.regex = _pattern(options, "regex")
        self.exclude = _pattern(options, "exclude")
        self.plain = not self.keywords and self.regex is None and self.exclude is None  # fires on every event of its type

    @property
    def about_leaving(self) -> bool:
        return bool(self.value == "member_left")

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
                # The first keyword found, by a loop: a comprehension reading ``folded`` would
                # make it a closure cell at every call, keywords or not.
                for word in self.keywords:
                    if word in folded:
                        values["keyword"] = word
                        break
                else:
                    return None
            if self.regex is not None:
                match = self.regex.search(text)
                if match is None:
                    return None
                values["match"] = match.group(0)
        if self.exclude is not None and self.exclude.search(event.text or "") is not None:
            return None

        return _firing(run, event, member, values)


def _firing(run: Run, event: Event, member: Member | None, values: dict[str, Any]) -> Firing:
    """An event rule's firing at ``event`` (in its group, else its member's), with what it matched."""
    return Firing(member, event.group or (member.group if member else None), event.t, partial(_event_reason, run, event, values), event, values)


# The event types the engine and the built-in sources write (docs/sources.md). Any other type is
# an event a plugin's source may write, and is accepted; one a letter or two away from these is
# a typo (`mesage`), whose rule would never fire.
KNOWN_TYPES = frozenset({
    "message", "member_joined", "member_left", "reaction", "profile", "purchase",
    "activity_started", "activity_joined", "activity_ended", "bot_message", "wechat_system", "wechat_revoke",
})


def _check_type(value: Any) -> None:
    if isinstance(value, str) and value not in KNOWN_TYPES and value != "*":
        close = difflib.get_close_matches(value, sorted(KNOWN_TYPES), n=1, cutoff=0.85)
        if close:
            raise TriggerProblem(f"no source writes events of type `{value}`, so this rule would never fire — did you mean `{close[0]}`?")


def _pattern(options: Mapping[str, Any], key: str) -> Pattern | None:
    """The option ``key``'s regular expression, compiled; TriggerProblem if it cannot be."""
    pattern = options.get(key)
    try:
        return compile_pattern(pattern) if pattern is not None else None
    except PatternError as exc:
        raise TriggerProblem(f"{key} is {exc}" if str(exc).startswith("not a valid") else str(exc), key=key) from None


def _event_reason(run: Run, event: Event, values: dict[str, Any]) -> str:
    words = says(run)
    text = words.event.format(type=words.events.get(event.type, event.type), at=local_text(run, event.t))
    if "keyword" in values:
        return text + words.keyword.format(keyword=values["keyword"])
    if "match" in values:
        return text + words.match.format(match=values["match"])
    return text


class EventTriggers:
    """Every ``event:`` rule of a run, checked as one: a single call per event, its text
    casefolded once, and one search for all the regular expressions of an event type — most
    messages match none of a playbook's spam and insult patterns.

    The combined pattern is ``(?:p1)|(?:p2)|…`` (RE2 has no backreferences that could change
    a branch's meaning, and keeps a branch's flags to it): it matches somewhere exactly when
    one of them does, so when it does not, none of their rules can fire. Each rule that may fire is then
    matched on its own, as before.
    """

    key = "@event"

    def __init__(self, triggers: list[EventTrigger]):
        self.by_type: dict[str, list[EventTrigger]] = {}
        for trigger in triggers:
            self.by_type.setdefault(trigger.value, []).append(trigger)
        self.listens = frozenset(self.by_type)
        # event type → (the combined pattern, the triggers left to try when it does not match)
        self.prefilters: dict[str, tuple[Pattern, list[EventTrigger]]] = {}
        for kind, listening in self.by_type.items():
            plain = [trigger for trigger in listening if trigger.regex is not None]
            combined = any_pattern([trigger.regex for trigger in plain if trigger.regex is not None]) if len(plain) > 1 else None
            if combined is not None:
                self.prefilters[kind] = (combined, [trigger for trigger in listening if trigger.regex is None])

    def start(self, run: Run) -> None:
        pass

    def on_event(self, run: Run, event: Event, member: Member | None) -> list[tuple[TriggerType, Firing]]:
        listening = self.by_type.get(event.type)
        if not listening:
            return []
        prefilter = self.prefilters.get(event.type)
        if prefilter is not None and prefilter[0].search(event.text or "") is None:
            listening = prefilter[1]  # none of the regular expressions matches
        folded = None
        firings: list[tuple[TriggerType, Firing]] = []
        plain: Firing | None = None
        for trigger in listening:
            if trigger.plain:
                # Nothing to match (most `event:` rules, every message): its firing, without a
                # call of match() that would find no keyword, pattern or exclusion to test — and
                # one for all of them: the same member, group, instant, reason and (no) values.
                # (A firing is never changed once made; about 35,000 fewer on 40,000 events.)
                if plain is None:
                    plain = _firing(run, event, member, {})
                firings.append((trigger, plain))
                continue
            if trigger.keywords and folded is None:
                folded = (event.text or "").casefold()
            firing = trigger.match(run, event, member, folded)
            if firing is not None:
                firings.append((trigger, firing))
        return firings

    def on_timer(self, run: Run, subject: str, payload: Any) -> list[tuple[TriggerType, Firing]]:
        return []


class ActivityEndedTrigger(TriggerType):
    name = "activity_ended"
    description = "When an activity ends, fires for each member of its group who took part (`participated: true`) or did not (`false`)."
    schema = {
        "type": "object",
        "required": ["participated"],
        "additionalProperties": False,
        "properties": {
            "participated": {"type": "boolean", "description": "true: the participants; false: the members who did not take part.", "title": "Participated", "examples": [True, False]},
            "top": {"type": "integer", "minimum": 1, "description": "At most this many members per activity, the most active first (messages in the last 7 days, then in 30, then id); staff and members who left are not counted.", "title": "Top 最多人数", "examples": [10, 5]},
        },
        "title": "Activity ended 活动结束",
        "examples": [{"participated": True}, {"participated": False}, {"participated": False, "top": 10}],
    }
    listens = frozenset({"activity_started", "activity_joined", "activity_ended"})
    uses_event = True

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.participated = bool(value["participated"])
        self.top: int | None = value.get("top")
        self.staff = context.community.staff
        self.titles_key = self.key + "#titles"

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        activity = event.activity or ""
        participants = run.store(self)  # activity → {member id: True}: plain data, saved by --state
        taking_part = participants.setdefault(activity, {})
        taking_part.update(dict.fromkeys(event.participants, True))
        if event.type == "activity_joined" and member is not None:
            taking_part[member.id] = True
        # The activity as people call it: the `title` its end carries, else its start's — or
        # the start's `text`, where an export without `title` writes the name — else the end's
        # `text`, else its id (an end's text is more often "活动结束" than a name).
        title = event.raw.get("title")
        titled = title.strip() if isinstance(title, str) and title.strip() else ""
        text = event.text.strip() if event.text else ""
        titles = run.store(self.titles_key)  # activity → its start's title, until it ends
        if event.type == "activity_started" and (titled or text):
            titles[activity] = titled or text
        if event.type != "activity_ended" or event.group is None:
            return
        del participants[activity]
        named = titled or titles.pop(activity, None) or text
        titles.pop(activity, None)
        called = named or activity
        group = run.groups.get(event.group)
        chosen = [member_id for member_id in sorted(group.members) if (member_id in taking_part) == self.participated] if group else []
        run.prefetch(chosen)
        words = says(run)
        how = words.took_part[self.participated]

        def reason() -> str:  # the same for everyone
            return words.activity.format(how=how, activity=called, at=local_text(run, event.t))

        targets = [run.members[member_id] for member_id in chosen]
        targets = [target for target in targets if not target.left]
        if self.top is not None:
            targets = self._most_active(run, targets)
        for target in targets:
            # `trigger.activity_title`: its name, empty when only its id is known (a text says
            # 这次活动 then, not `act-9`).
            yield Firing(target, event.group, event.t, reason, event, {"activity": activity, "activity_title": named})

    def _most_active(self, run: Run, targets: list[Member]) -> list[Member]:
        """The ``top`` most active of ``targets`` (staff, whose firings are dropped, take no place)."""
        views = [(run.view(target), target) for target in targets if target.id not in self.staff]
        views.sort(key=lambda pair: (-pair[0].messages_7d, -pair[0].messages_30d, pair[1].id))
        return [target for _, target in views[: self.top]]

    def describe(self) -> str:
        most = f" (the {self.top} most active)" if self.top is not None else ""
        return "after an activity, " + ("participants" if self.participated else "non-participants") + most
