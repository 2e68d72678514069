"""Stage 1 of a rule's evaluation — match: which rules' triggers fire on an event or a timer.

The key is the trigger's own: the member or group an event is about, or a timer's subject.
A trigger reads and writes only that member's marks, the run's memory for itself
(``run.store``) and the timers it schedules. The matcher knows triggers only through the
``TriggerType`` interface, so a plugin's trigger is matched exactly as a built-in one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from playbook_engine.contract import Event, Firing, Member, Run, TriggerType
from playbook_engine.model import Rule

Fired = tuple[Rule, Firing]


class Matcher:
    """The rules of a run indexed by the event types their triggers listen to, and by timer key."""

    def __init__(self, rules: Iterable[Rule], counters: Iterable[Any] = ()):
        """``counters``: listeners of every event type that only keep counts others read
        (``group_counts.GroupCounts``), dispatched each event ahead of the rules' triggers."""
        self.rules: dict[str, Rule] = {}
        self._counters: list[tuple[Rule | None, Any]] = [(None, counter) for counter in counters]
        self._handlers: dict[str, TriggerType] = {}
        self._groups: dict[str, Any] = {}  # triggers of one kind checked together, by timer key
        self._listeners: dict[str, list[tuple[Rule | None, Any]]] = {}  # (None, group): a group of triggers
        self._dispatch: dict[str, list[tuple[Rule | None, Any]]] = {}  # event type → its listeners and those of "*"
        self.orphans: dict[str, int] = {}  # timer keys no rule answers (a --state of older playbooks) → timers dropped
        by_kind: dict[type[TriggerType], list[Rule]] = {}
        for rule in rules:
            self.rules[rule.key] = rule
            by_kind.setdefault(type(rule.trigger), []).append(rule)
        for kind, kind_rules in by_kind.items():
            group = kind.checked_together([rule.trigger for rule in kind_rules])
            if group is not None:
                self._groups[group.key] = group
                for event_type in sorted(group.listens):
                    self._listeners.setdefault(event_type, []).append((None, group))
            for rule in kind_rules:
                # Grouped or not, each trigger starts and gets the timers it schedules itself.
                self._handlers[rule.trigger.key] = rule.trigger
                if group is None:
                    for event_type in sorted(rule.trigger.listens):
                        self._listeners.setdefault(event_type, []).append((rule, rule.trigger))
        # Groups that look at a member again when it changes with no event (on_change).
        self._changes = [group for group in self._groups.values() if hasattr(group, "on_change")]
        self._effects = [group for group in self._groups.values() if hasattr(group, "on_effect") and getattr(group, "wants_effects", True)]
        self.takes_effects = bool(self._effects)  # whether on_effect does anything: the enforcer calls it only then

    def start(self, run: Run) -> None:
        """Clock-driven triggers schedule their first instants."""
        for trigger in self._handlers.values():
            trigger.start(run)
        for group in self._groups.values():
            group.start(run)

    def on_event(self, run: Run, event: Event, member: Member | None) -> list[Fired]:
        """What fires on ``event`` (member and group state already updated by it)."""
        firings: list[Fired] = []
        listeners = self._dispatch.get(event.type)
        if listeners is None:  # this type's listeners, then those of every type
            listeners = self._dispatch[event.type] = self._counters + self._listeners.get(event.type, []) + self._listeners.get("*", [])
        # Loops, not comprehensions: in Python 3.11 a comprehension is a function made and
        # called each time it runs, here for every listener of every event (most fire nothing).
        rules = self.rules
        for rule, handler in listeners:
            if rule is None:  # a group of triggers: each firing says whose it is
                for trigger, firing in handler.on_event(run, event, member):
                    firings.append((rules[trigger.key], firing))
            else:
                for firing in handler.on_event(run, event, member):
                    firings.append((rule, firing))
        return firings

    def on_change(self, run: Run, member: Member, fields: frozenset[str] | None = None) -> list[Fired]:
        """What fires because ``member`` changed with no event (a tag whose `for:` is over): the
        triggers checked together that look at a member's state again then (``on_change``), as
        `becomes:` conditions do."""
        firings: list[Fired] = []
        for group in self._changes:
            firings.extend([(self.rules[trigger.key], firing) for trigger, firing in group.on_change(run, member, fields)])
        return firings

    def on_effect(self, run: Run, member: Member, fields: frozenset[str] | None = None) -> None:
        """A rule's action changed ``member`` at a firing (``fields``, None: it does not say
        which): the groups that look at a member's state again take note (``on_effect``);
        nothing fires from it."""
        for group in self._effects:
            group.on_effect(run, member, fields)

    def on_timer(self, run: Run, handler: str, subject: str, payload: Any) -> list[Fired]:
        """What fires when a timer of ``handler`` about ``subject`` comes due."""
        firings: list[Fired] = []  # filled by loops, as in on_event
        trigger = self._handlers.get(handler)
        if trigger is not None:
            rule = self.rules[trigger.key]
            for firing in trigger.on_timer(run, subject, payload):
                firings.append((rule, firing))
            return firings
        group = self._groups.get(handler)
        if group is not None:
            rules = self.rules
            for trigger, firing in group.on_timer(run, subject, payload):
                firings.append((rules[trigger.key], firing))
            return firings
        # Saved by --state for a rule that has since been removed from the playbooks (or its
        # trigger changed kind): nothing fires; the loop counts it.
        self.orphans[handler] = self.orphans.get(handler, 0) + 1
        return []
