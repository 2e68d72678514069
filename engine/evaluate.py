"""Evaluation: events and timers in, rule firings out, offered to the planner as tasks.

The loop is event-time only. Before each event, every timer due strictly before it fires
(in due order, an instant at a time); then the event updates member and group state, the
triggers listening to its type run, and the member's lifecycle stage is re-assessed. Timers
due at exactly an event's instant fire after that event, so they see what happened then.
Everything that fires at one instant is handled together, highest priority first, then in
playbook and rule order, so the outcome never depends on dict or arrival order.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from itertools import islice
from typing import Any

from playbook_engine.clock import Clock, Timer
from playbook_engine.contract import (
    Event,
    Firing,
    Group,
    Member,
    Rejected,
    Task,
    TriggerType,
)
from playbook_engine.dependencies import names_read
from playbook_engine.explain import describe_values, field_values
from playbook_engine.lifecycle import Lifecycle
from playbook_engine.localtime import DAY, local_time
from playbook_engine.members import MemberView
from playbook_engine.model import Config, Rule
from playbook_engine.planner import Planner, task_id
from playbook_engine.predicates import MemberPredicate, compile_member_predicate
from playbook_engine.state import LazyMembers, StateStore
from playbook_engine.triggers.common import STAGE_ENTERED, any_pattern

LIFECYCLE_HANDLER = "@lifecycle"
STAGED = "@staged"  # member.marks: the member's revision at the last stage assessment
# Member fields an event of these types changes for its member (besides name and groups).
JOIN_CHANGES = frozenset({"joined_at", "left", "days_since_join", "days_silent", "groups"})
LEAVE_CHANGES = frozenset({"groups", "left"})
MESSAGE_CHANGES = frozenset({"messages", "last_message_at", "messages_7d", "messages_30d"})


@dataclass
class Note:
    """Something ``--explain`` shows: a rule that did not apply, a skip, a suppression."""

    t: float
    rule: str
    member: str | None
    kind: str  # "miss" (a filter or condition said no), "error" (evaluation failed), "suppressed", "stage"
    reason: str
    values: dict[str, Any] = field(default_factory=dict)


class Evaluation:
    """One pass over an event stream. Triggers use ``now``, ``tz``, ``members`` and ``schedule``."""

    def __init__(self, config: Config, planner: Planner, *, until: float | None = None, explain: bool = False, state: StateStore | None = None):
        self.config = config
        self.community = config.community
        self.tz = config.community.tz
        self.local = local_time(self.tz)  # local days and times in the community time zone
        self.planner = planner
        self.until = until
        self.explain = explain
        self.now = -math.inf
        self.started = False
        self.members: dict[str, Member] = {}
        self.groups: dict[str, Group] = {}
        self.clock = Clock()
        self.trigger_state: dict[str, dict[Any, Any]] = {}
        self.lifecycle = Lifecycle(config.community, config.env)
        self.rejected: list[Rejected] = []
        self.notes: list[Note] = []
        self.counts: Counter[str] = Counter()
        self._rules: dict[str, Rule] = {}
        self._handlers: dict[str, TriggerType] = {}
        self._listeners: dict[str, list[tuple[Rule | None, Any]]] = {}  # (None, group): a group of triggers checked together
        self._groups: dict[str, Any] = {}
        self._dispatch: dict[str, list[tuple[Rule | None, Any]]] = {}  # event type → its listeners and those of "*"
        self.watermark: float | None = None
        # While an event is dispatched: the member fields it changed for its member (see
        # ``apply``). None means unknown: checks that skip on unchanged fields must run.
        self.changed: set[str] | None = None
        self._views: dict[str, MemberView] = {}
        self._question: tuple[Event | None, bool] = (None, False)
        self._question_pattern = any_pattern(self.community.question_patterns) if self.community.question_patterns else None  # one search per message
        self._views_at = self.now
        self._now_at: tuple[float, datetime | None] = (math.nan, None)
        self._last_cause: tuple[Event | None, str] = (None, "")
        self._max_lengths: dict[str, float] = {}
        self._task_details = self._details  # one bound method for every task's partial
        if state is not None:
            self._resume(state)
        self._reads_event: set[str] = set()  # rules whose conditions or texts read `event`
        # What a rule's conditions and texts read of the context (None: anything, e.g. a filter
        # that is handed the whole context): the rest is not built for its firings.
        self._reads: dict[str, frozenset[str] | None] = {}
        self._to_member: set[str] = set()  # rules whose tasks are all about the firing's member
        self._member_only: dict[str, int] = {}  # how many leading conditions read only `member` (and `community`)
        self._member_checks: dict[str, MemberPredicate | None] = {}  # those conditions as one function of the Member
        self._community_values = {"name": self.community.name, "timezone": self.community.timezone, "channel": self.community.channel}
        for rule in config.rules:
            self._rules[rule.key] = rule
            texts = [action.text.source for action in rule.actions if action.text is not None]
            condition_names = [names_read(config.env, [condition.source]) for condition in rule.conditions]
            read = set().union(*condition_names, names_read(config.env, texts, templates=True))
            if read & {"event", "*"}:
                self._reads_event.add(rule.key)
            self._reads[rule.key] = None if "*" in read else frozenset(read)
            light = 0
            while light < len(condition_names) and condition_names[light] <= {"member", "community"}:
                light += 1
            self._member_only[rule.key] = light
            if light:
                self._member_checks[rule.key] = compile_member_predicate(config.env, [condition.source for condition in rule.conditions[:light]], self.tz, self._community_values)
            if all(action.params.get("target") != "mentioned" for action in rule.actions):
                self._to_member.add(rule.key)
        self._register(config.rules)

    def _register(self, rules: list[Rule]) -> None:
        """Index the rules' triggers by the event types they listen to, and by timer key."""
        by_kind: dict[type[TriggerType], list[Rule]] = {}
        for rule in rules:
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

    def _resume(self, state: StateStore) -> None:
        """Continue from a --state database: its members (lazily), groups, timers and clock."""
        self.members = LazyMembers(state)
        self.groups = {group.id: group for group in state.groups()}
        self.trigger_state = state.trigger_state()
        def read_timers(after: tuple[float, int] | None, limit: int) -> list[Timer]:
            batch = state.timers(after, limit)
            self.prefetch(timer.subject for timer in batch)  # most timers are about a member
            return batch

        self.clock.restore(read_timers, state.clock_seq())
        self.watermark = state.watermark
        if self.watermark is not None:
            self.now = self.watermark
            self.started = True

    # -- the API triggers use ------------------------------------------------------------

    def known_groups(self) -> list[str]:
        """Every group seen in events so far or listed in community.yaml, in id order."""
        return sorted(set(self.groups) | set(self.community.group_names))

    def is_question(self, event: Event) -> bool:
        """Whether a message is a question, per community.yaml ``question.patterns``."""
        if self._question[0] is event:
            return self._question[1]  # several triggers ask about the same event
        text = event.text or ""
        question = self._question_pattern
        if question is not None:
            answer = event.type == "message" and question.search(text) is not None
        else:
            answer = event.type == "message" and any(pattern.search(text) for pattern in self.community.question_patterns)
        self._question = (event, answer)
        return answer

    def store(self, trigger: TriggerType | str) -> dict[Any, Any]:
        """This run's scratch space for ``trigger`` (open questions …), or under a key several
        triggers share (``@leaderboard/messages/30d``: counts every ranking of them reads)."""
        key = trigger if type(trigger) is str else trigger.key
        memory = self.trigger_state.get(key)
        if memory is None:
            memory = self.trigger_state[key] = {}
        return memory

    def prefetch(self, member_ids: Iterable[str]) -> None:
        """Members about to be read one after another (a fan-out over a group): with --state,
        load the saved ones together rather than one query each."""
        if isinstance(self.members, LazyMembers):
            self.members.prefetch(member_ids)

    def view(self, member: Member) -> MemberView:
        """The member as conditions see it now: one view per member and instant, shared by every
        check then (its window counts are computed once), renewed when an event changes them."""
        if self._views_at != self.now:
            self._views.clear()
            self._views_at = self.now
        view = self._views.get(member.id)
        if view is None or view._member is not member:
            view = self._views[member.id] = MemberView(member, self.now, self.tz)
        return view

    def schedule(self, due: float, trigger: TriggerType | str, subject: str, payload: Any = None) -> None:
        """Call ``trigger.on_timer(run, subject, payload)`` at event time ``due``."""
        key = trigger if isinstance(trigger, str) else trigger.key
        self.clock.schedule(due, key, subject, payload)

    # -- the loop ------------------------------------------------------------------------

    def start(self, t: float) -> None:
        """Start the clock at ``t``: clock-driven triggers schedule their first instants."""
        self.now = t
        self.started = True
        for trigger in self._handlers.values():
            trigger.start(self)
        for group in self._groups.values():
            group.start(self)

    def steps(self, items: Iterable[Event | Rejected]) -> Iterator[None]:
        """Evaluate ``items``, pausing after each event: a caller can take the tasks made final meanwhile."""
        if isinstance(self.members, LazyMembers):
            items = self._prefetching(items)
        for item in items:
            self.counts["read"] += 1
            if isinstance(item, Rejected):
                self.reject(item)
                continue
            if self.watermark is not None and item.t <= self.watermark:
                self.counts["before_watermark"] += 1  # processed by an earlier --state run
                continue
            if item.t < self.now:
                when = datetime.fromtimestamp(self.now, self.tz).isoformat(timespec="seconds")
                self.reject(Rejected(item.line, f"older than the engine's clock ({when}): events must be in time order", _raw_text(item)))
                continue
            if self.until is not None and item.t > self.until:
                self.counts["after_until"] += 1
                continue
            self.counts["accepted"] += 1
            if not self.started:
                self.start(item.t)
            self.advance(item.t, inclusive=False)
            self.now = item.t
            self.handle(self.apply(item))
            yield
        if self.until is not None and self.started:
            self.advance(self.until, inclusive=True)
            self.now = max(self.now, self.until)

    def _prefetching(self, items: Iterable[Event | Rejected], ahead: int = 500) -> Iterator[Event | Rejected]:
        """``items``, read ``ahead`` at a time to load the saved members they are about together."""
        iterator = iter(items)
        while batch := list(islice(iterator, ahead)):
            self.prefetch(member_id for item in batch if isinstance(item, Event) for member_id in (item.member, *item.mentions) if member_id is not None)
            yield from batch

    def reject(self, rejected: Rejected) -> None:
        self.counts["rejected"] += 1
        self.rejected.append(rejected)

    def advance(self, t: float, *, inclusive: bool) -> None:
        """Fire every timer due before ``t`` (or at ``t`` too, if ``inclusive``), in due order."""
        while True:
            due = self.clock.next_due()
            if due is None or due > t or (due == t and not inclusive):
                return
            batch = self.clock.pop_instant()
            self.now = max(self.now, due)
            firings: list[tuple[Rule, Firing]] = []
            for timer in batch:
                firings.extend(self._on_timer(timer))
            self.handle(firings)

    def _on_timer(self, timer: tuple[float, int, str, str, Any]) -> list[tuple[Rule, Firing]]:
        due, _, handler, subject, payload = timer
        if handler == LIFECYCLE_HANDLER:
            member = self.members.get(subject)
            if member is None or member.marks.get(LIFECYCLE_HANDLER) != due:
                return []
            del member.marks[LIFECYCLE_HANDLER]
            if member.left and member.marks.get(STAGED) == member.revision:
                # Time alone does not move a member who left (no check is armed for them); one an
                # action changed since (`remove`) is assessed, as any member's next check would.
                return []
            return self.restage(member)
        trigger = self._handlers.get(handler)
        if trigger is not None:
            rule = self._rules[trigger.key]
            return [(rule, firing) for firing in trigger.on_timer(self, subject, payload)]
        group = self._groups.get(handler)
        if group is not None:
            return [(self._rules[trigger.key], firing) for trigger, firing in group.on_timer(self, subject, payload)]
        return []  # saved by --state for a rule that has since been removed from the playbooks

    # -- state -----------------------------------------------------------------------------

    def member(self, member_id: str) -> Member:
        member = self.members.get(member_id)
        if member is None:
            member = self.members[member_id] = Member(member_id)
        return member

    def group(self, group_id: str) -> Group:
        group = self.groups.get(group_id)
        if group is None:
            group = self.groups[group_id] = Group(group_id, self.community.group_names.get(group_id))
        return group

    def apply(self, event: Event) -> list[tuple[Rule, Firing]]:
        """Update state from ``event``; return what fired because of it."""
        member = self.member(event.member) if event.member is not None else None
        group = self.group(event.group) if event.group is not None else None
        if group is not None and event.channel:
            group.channel = event.channel
        changed: set[str] = set()
        if member is not None:
            self._views.pop(member.id, None)
            if event.name and event.name != member.name:
                member.name = event.name
                changed.add("name")
            if group is not None and event.type != "member_left":
                if group.id not in member.groups:
                    member.groups.add(group.id)
                    changed.add("groups")
                if member.group != group.id:
                    member.group = group.id
                    changed.add("group")
                group.members.add(member.id)
        kind = event.type
        if kind == "member_joined" and member is not None:
            member.joined_at = event.t
            member.left = False
            changed.update(JOIN_CHANGES)
        elif kind == "member_left" and member is not None:
            self.remove_from_group(member, event.group)
            changed.update(LEAVE_CHANGES)
        elif kind == "message" and member is not None:
            silent_since = member.silent_since
            if silent_since is None or event.t - silent_since >= DAY:
                changed.add("days_silent")  # it was a day or more: it is 0 now
            member.messages += 1
            member.last_message_at = event.t
            if member.count_message(self.local.day(event.t)):
                changed.add("active_days_30d")
            changed.update(MESSAGE_CHANGES)
            if group is not None:
                group.messages += 1
            if self.is_question(event):
                member.questions += 1
                changed.add("questions")
            if event.reply_to:
                member.replies += 1
                changed.add("replies")
            for mentioned in event.mentions:
                if mentioned != member.id:
                    self.member(mentioned).mentions_received += 1
        elif kind == "activity_joined" and member is not None:
            member.activities += 1
            changed.add("activities")
        elif kind == "profile" and member is not None:
            member.tags.update(event.tags)
            member.attributes.update(event.attributes)
            changed.update(("tags", "attributes"))
        self.changed = changed
        try:
            firings = self.dispatch(event, member)
        finally:
            self.changed = None
        if member is not None:
            firings.extend(self.restage(member, changed))
        return firings

    def remove_from_group(self, member: Member, group_id: str | None) -> None:
        """The member is no longer in ``group_id``; with no group left, they have left."""
        if group_id is not None:
            member.groups.discard(group_id)
            if group_id in self.groups:
                self.groups[group_id].members.discard(member.id)
        if not member.groups:
            member.left = True

    def dispatch(self, event: Event, member: Member | None) -> list[tuple[Rule, Firing]]:
        firings: list[tuple[Rule, Firing]] = []
        listeners = self._dispatch.get(event.type)
        if listeners is None:  # this type's listeners, then those of every type
            listeners = self._dispatch[event.type] = self._listeners.get(event.type, []) + self._listeners.get("*", [])
        for rule, handler in listeners:
            if rule is None:
                firings.extend([(self._rules[trigger.key], firing) for trigger, firing in handler.on_event(self, event, member)])
            else:
                for firing in handler.on_event(self, event, member):
                    firings.append((rule, firing))
        return firings

    def restage(self, member: Member, changed: set[str] | None = None) -> list[tuple[Rule, Firing]]:
        """Re-assess the member's stage now; schedule the next time-driven check.

        ``changed``: the member fields the event just changed. When none of them is read by a
        stage condition, and nothing else touched the member since the last assessment, the
        stage cannot have changed and is not re-assessed.
        """
        firings: list[tuple[Rule, Firing]] = []
        fields = self.lifecycle.fields
        unchanged = changed is not None and fields is not None and not (changed & fields)
        if not (unchanged and member.marks.get(STAGED) == member.revision):
            firings = self._assess(member)
        # A pending check stays valid unless the event changed a field whose next crossing
        # may come sooner (see TimeThresholds.rearm); when due it re-assesses and arms the next.
        if not member.left:
            due = self.lifecycle.rearm(member, self.now, member.marks.get(LIFECYCLE_HANDLER), changed)
            if due is not None:
                member.marks[LIFECYCLE_HANDLER] = due
                self.schedule(due, LIFECYCLE_HANDLER, member.id)
        return firings

    def _assess(self, member: Member) -> list[tuple[Rule, Firing]]:
        firings: list[tuple[Rule, Firing]] = []
        stage = self.lifecycle.assign(member, self.now, lambda: self.view(member))
        if stage != member.stage:
            previous, first_time = member.stage, member.stage is None
            member.stage, member.stage_since = stage, self.now
            member.revision += 1  # `becomes` conditions on the stage see it on the next check
            if self.explain:
                label = self.community.stage_label
                self.notes.append(Note(self.now, "", member.id, "stage", f"{label(previous) if previous else '—'} → {label(stage)} ({stage})"))
            # A member already there before the history began has no "entry" into their first stage.
            if stage is not None and not (first_time and member.joined_at is None):
                entered = Event(t=self.now, type=STAGE_ENTERED, member=member.id, group=member.group, raw={"stage": stage, "previous": previous})
                self.changed = {"stage", "stage_since"}
                try:
                    firings.extend(self.dispatch(entered, member))
                finally:
                    self.changed = None
        member.marks[STAGED] = member.revision
        return firings

    # -- rules -----------------------------------------------------------------------------

    def handle(self, firings: list[tuple[Rule, Firing]]) -> None:
        counts = self.counts
        if not self.explain:
            # A rule's `stages:`, `groups:` and `once` filters read what nothing done while one
            # instant's firings are handled can change (stages move only when a member is
            # re-assessed, a `once` mark is never taken back): firings they refuse are counted
            # now, before the rest are ordered. (--explain notes each of them in fire().)
            kept = []
            for pair in firings:
                rule, firing = pair
                if rule.filtered and self._refusal(rule, firing) is not None:
                    counts["fired"] += 1
                    counts["miss"] += 1
                    continue
                kept.append(pair)
            firings = kept
        if len(firings) > 1:
            firings.sort(key=lambda pair: (pair[0].precedence, pair[1].member.id if pair[1].member else "", pair[1].group or ""))
        for rule, firing in firings:
            counts["fired"] += 1
            self.fire(rule, firing)

    def miss(self, rule: Rule, firing: Firing, reason: Callable[[], str]) -> None:
        """A filter said no; the reason is only written out for --explain."""
        if self.explain:
            self.note(rule, firing, "miss", reason())
        else:
            self.counts["miss"] += 1

    def note(self, rule: Rule, firing: Firing, kind: str, reason: str, values: dict[str, Any] | None = None) -> None:
        self.counts[f"{kind}"] += 1
        if self.explain:
            self.notes.append(Note(firing.t, rule.key, firing.member.id if firing.member else None, kind, reason, values or {}))

    def _refusal(self, rule: Rule, firing: Firing) -> Callable[[], str] | None:
        """Why the rule's `groups:`, `stages:` or `once` refuses ``firing`` before any of its
        conditions is tested, or None if none does."""
        member = firing.member
        group = firing.group or (member.group if member else None)
        if rule.groups is not None and group not in rule.groups:
            return lambda: f"group {group} is not one of {', '.join(sorted(rule.groups or ()))}"
        if rule.stages is not None and (member is None or member.stage not in rule.stages):
            return lambda: f"stage {member.stage if member else None} is not one of {', '.join(sorted(rule.stages or ()))}"
        if rule.once and member is not None and rule.once_key in member.marks:
            return lambda: "once: already fired for this member"
        return None

    def fire(self, rule: Rule, firing: Firing) -> None:
        member = firing.member
        group = firing.group or (member.group if member else None)
        if rule.filtered:
            # Checked again here: a `once` rule may have fired for this member at this instant.
            refusal = self._refusal(rule, firing)
            if refusal is not None:
                self.miss(rule, firing, refusal)
                return
        once_key = rule.once_key
        # Leading conditions about the member alone are tested before the full context is built
        # (most firings stop there): by one compiled function of the member when there is one,
        # else by the closures over a view of the member.
        light = self._member_only[rule.key] if member is not None else 0
        first = 0
        check = self._member_checks.get(rule.key) if light and not self.explain else None
        if check is not None:
            try:
                holds = check(member, self.now)
            except Exception:  # noqa: BLE001 - the closures below decide, and report the error as usual
                holds = None
            if holds is not None:
                if not holds:
                    self.counts["miss"] += 1
                    return
                first = light
        context: dict[str, Any] | None = None  # the full context, once built
        member_context = {"member": self.view(member), "community": self._community_values} if first < light else None
        held: list[str] = []
        conditions = rule.conditions
        for index in range(first, len(conditions)):
            condition = conditions[index]
            if index < light:
                current = member_context
            else:
                if context is None:
                    context = self.context(rule, firing, group)
                current = context
            try:
                holds = condition.test(current)
            except Exception as exc:  # noqa: BLE001 - one bad evaluation skips one rule, never the run
                self.note(rule, firing, "error", f"condition `{condition.source}` failed: {exc}")
                return
            if not self.explain:
                if not holds:
                    self.counts["miss"] += 1  # most firings end here: no reason is written
                    return
                continue
            values = field_values(condition.source, current)
            if not holds:
                shown = f" ({describe_values(values)})" if values else ""
                self.note(rule, firing, "miss", f"condition `{condition.source}` is false{shown}", values)
                return
            held.append(f"`{condition.source}`" + (f" ({describe_values(values)})" if values else ""))
        if context is None:
            context = self.context(rule, firing, group)
        if rule.once and member is not None:
            member.marks[once_key] = firing.t
        self.counts["matched"] += 1
        if member is not None and rule.key in self._to_member and not self.planner.keep_suppressed and self.planner.cooling(rule, member.id, firing.t):
            # The planner will refuse every task of this firing: do not render texts nobody reads.
            unmade = sum(1 for action in rule.actions if action.kind.makes_task)
            if unmade:
                self.planner.suppress_unmade("cooldown", unmade)
                return
        tasks: list[tuple[Task, Any]] = []
        changes = []
        for action in rule.actions:
            kind = action.kind
            if not kind.makes_task:
                changes.append(action)
                continue
            for target in self.targets(action, firing) if action.params.get("target") == "mentioned" else (member,):
                about = firing if target is member else replace(firing, member=target)
                target_context = context if target is member else self.context(rule, about, group)
                try:
                    text = action.text.render(target_context) if action.text is not None else (kind.summary(action.params) if kind.summary else kind.name)
                except Exception as exc:  # noqa: BLE001 - one bad template skips one action, never the run
                    self.note(rule, firing, "error", f"text of `{kind.name}` failed: {exc}")
                    continue
                task = self.task(rule, action.index, kind.name, about, group, text, action.params)
                if held:
                    task.because = held
                limit = self._max_length(task.channel)
                if len(text) > limit:
                    self.note(rule, firing, "error", f"text of `{kind.name}` is {len(text)} characters, more than the {limit} `{task.channel}` allows: planned anyway, split it before sending")
                tasks.append((task, action))
        if not tasks:
            accepted: list[Task] = []
        else:
            accepted = self.planner.offer([task for task, _ in tasks], rule)
            if accepted:
                planned = set(map(id, accepted))
                for task, action in tasks:
                    if action.kind.apply is not None and id(task) in planned:
                        target = self.members.get(task.member) if task.member else None
                        if target is not None:
                            action.kind.apply(self, target, action.params, group)
                            target.revision += 1
        # State changes (tags) go with the rule's tasks: a warning that was suppressed did not
        # happen, so the member is not tagged as warned.
        if member is not None and (accepted or not tasks):
            for action in changes:
                if action.kind.apply is not None:
                    action.kind.apply(self, member, action.params, group)
                    member.revision += 1
                    if self.explain:
                        shown = ", ".join(", ".join(value) if isinstance(value, list) else str(value) for value in action.params.values())
                        self.note(rule, firing, "changed", f"{action.kind.name} {shown}".strip())

    def _max_length(self, channel: str) -> float:
        limit = self._max_lengths.get(channel)
        if limit is None:
            known = self.config.registry.channels.get(channel)
            limit = self._max_lengths[channel] = known.max_length if known is not None else float("inf")
        return limit

    def targets(self, action: Any, firing: Firing) -> list[Member | None]:
        """Whom an action's task is about: the firing's member, or (``target: mentioned``) each
        member the event's message mentions — how both sides of a quarrel are reached."""
        if action.params.get("target") != "mentioned":
            return [firing.member]
        event = firing.event
        author = firing.member.id if firing.member else None
        mentioned = [self.members.get(member_id) for member_id in dict.fromkeys(event.mentions if event else ())]
        return [target for target in mentioned if target is not None and target.id != author and not target.left]

    def channel_name(self, rule: Rule, group: str | None) -> str:
        if rule.channel:
            return rule.channel
        if group is not None:
            if group in self.community.group_channels:
                return self.community.group_channels[group]
            known = self.groups.get(group)
            if known is not None and known.channel:
                return known.channel
        return self.community.channel

    def task(self, rule: Rule, index: int, action: str, firing: Firing, group: str | None, text: str, params: dict[str, Any]) -> Task:
        member = firing.member
        if member is not None:
            subject = member.id
            member_name: str | None = member.name or subject
        else:
            subject, member_name = f"group:{group}", None
        channel = self.channel_name(rule, group)
        t = firing.t
        # Task's fields in order (positional: a task is built for every tasks' firing, and
        # keyword arguments cost a dataclass twice as much). Its reason and "how" are written
        # when it is planned; until then a partial holds what they need: a long run keeps a
        # busy day's offers until the day is settled, and a closure would be a dozen objects
        # more for the cycle collector to walk each time.
        return Task(
            task_id(rule, index, subject, t, self._cause(firing.event)), t + rule.delay, rule.playbook, rule.id, action, channel, group,
            member.id if member else None, member_name, self.planner.assignee_for(rule, group), rule.priority, text, "", t,
            (rule.order, index, subject), {key: value for key, value in params.items() if key != "target"} if params else {},
            details=partial(self._task_details, channel, action, group, member_name or "", text, firing.reason),
        )

    def _details(self, channel: str, action: str, group: str | None, member_name: str, text: str, reason: str | Callable[[], str]) -> tuple[str, str]:
        """A task's reason and the operator's instruction on its channel."""
        plugin_channel = self.config.registry.channels.get(channel)
        how = plugin_channel.how_to(action, self.community.group_names.get(group or "", group), member_name, text) if plugin_channel else text
        return (reason if isinstance(reason, str) else reason()), how

    def _cause(self, event: Event | None) -> str:
        """What distinguishes the event behind a firing (see ``_cause``), once per event: a
        fan-out gives every member of a group a task from the same event."""
        if event is None:
            return ""
        if event.id:
            return event.id
        known, cause = self._last_cause
        if known is not event:
            cause = _cause(event)
            self._last_cause = (event, cause)
        return cause

    def _now_moment(self) -> datetime:
        """``now`` as a datetime in the community time zone (one per instant, however many rules ask)."""
        if self._now_at[0] != self.now:
            self._now_at = (self.now, datetime.fromtimestamp(self.now, self.tz))
        return self._now_at[1]

    def context(self, rule: Rule, firing: Firing, group: str | None) -> dict[str, Any]:
        """What the rule's conditions and texts may read for ``firing``: every variable they
        name (all of them with --explain, or when a filter is handed the whole context)."""
        member = firing.member
        reads = None if self.explain else self._reads.get(rule.key)
        context: dict[str, Any] = {"member": self.view(member) if member else None, "community": self._community_values}
        if reads is None or "group" in reads:
            known = self.groups.get(group) if group else None
            context["group"] = {
                "id": group,
                "name": (known.name if known else None) or self.community.group_names.get(group or "", group),
                "channel": self.channel_name(rule, group),
                "members": len(known.members) if known else 0,
                "messages": known.messages if known else 0,
            }
        if reads is None or "now" in reads:
            context["now"] = self._now_moment()
        if reads is None or "trigger" in reads:
            context["trigger"] = dict(firing.values)
        if reads is None or "_channel" in reads:
            context["_channel"] = self.config.registry.channels.get(self.channel_name(rule, group))
        if firing.event is not None and rule.key in self._reads_event:
            event = firing.event
            context["event"] = {
                "ts": datetime.fromtimestamp(event.t, self.tz), "type": event.type, "member": event.member,
                "group": event.group, "name": event.name, "id": event.id, "text": event.text,
                "mentions": list(event.mentions), "reply_to": event.reply_to, "activity": event.activity,
                "participants": list(event.participants), "tags": list(event.tags),
                "attributes": dict(event.attributes), "channel": event.channel, "amount": event.amount,
                "inviter": event.inviter, "reason": event.reason, "raw": dict(event.raw),
            }
        return context


def _cause(event: Event | None) -> str:
    """What distinguishes the event behind a firing: its id, else its content."""
    if event is None:
        return ""
    if event.id:
        return event.id
    return hashlib.sha1(json.dumps(event.raw, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:12]


def _raw_text(event: Event) -> str:
    return json.dumps(event.raw, ensure_ascii=False)
