"""Evaluation: events and timers in, rule firings out, offered to the planner as tasks.

A rule's evaluation runs in named stages, each in its own module: ``matcher`` (which rules'
triggers fire) → ``conditions`` (do their filters and ``if:`` hold) → ``enforcer`` (their
tasks, offered to the ``planner``'s guardrails, and the effects of those kept). This module
is the loop around them, and the ``Run`` that triggers and actions see: member and group
state, the event-time clock, the lifecycle stage of each member.

The loop is event-time only. Before each event, every timer due strictly before it fires
(in due order, an instant at a time); then the event updates member and group state, the
triggers listening to its type run, and the member's lifecycle stage is re-assessed. Timers
due at exactly an event's instant fire after that event, so they see what happened then.
Everything that fires at one instant is handled together, highest priority first, then in
playbook and rule order, so the outcome never depends on dict or arrival order.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from datetime import datetime, timedelta
from functools import partial
from itertools import chain, islice
from typing import Any

from playbook_engine.clock import Clock, Timer
from playbook_engine.conditions import Conditions, refusal
from playbook_engine.contract import LOOP_FIELDS, TAG_EXPIRY, Event, Firing, Group, Member, Rejected, TriggerType
from playbook_engine.enforcer import Enforcer, cause
from playbook_engine.group_counts import GroupCounts
from playbook_engine.holdout import TREATED, Holdout
from playbook_engine.holdout import WINDOW as HOLDOUT_WINDOW
from playbook_engine.holdout import shares as holdout_shares
from playbook_engine.lifecycle import Lifecycle
from playbook_engine.localtime import DAY, local_time
from playbook_engine.matcher import Matcher
from playbook_engine.members import INVITED, OUT_BY, OUT_OF, REMOVED, MemberView
from playbook_engine.model import Config, Rule
from playbook_engine.notes import Counts, Notes
from playbook_engine.planner import Planner
from playbook_engine.questions import HORIZON, QuestionLog
from playbook_engine.recheck import Recheck, event_data, event_from
from playbook_engine.replies import LOOKBACK, Replies, TaskLog
from playbook_engine.state import LazyMembers, StateStore
from playbook_engine.triggers.common import STAGE_ENTERED, any_pattern
from playbook_engine.words import Reason, reason_words

INF = math.inf  # nothing due (see advance)
LIFECYCLE_HANDLER = "@lifecycle"
TAGS = frozenset({"tags"})  # what a lapsing tag changes
STAGED = "@staged"  # member.marks: the member's revision at the last stage assessment
# Member fields an event of these types changes for its member (besides name and groups).
JOIN_CHANGES = frozenset({"joined_at", "left", "days_since_join", "days_silent", "groups"})
LEAVE_CHANGES = frozenset({"groups", "left"})
MESSAGE_CHANGES = frozenset({"messages", "last_message_at", "messages_7d", "messages_30d"})
PURCHASE_CHANGES = frozenset({"purchases", "spent"})


class Evaluation:
    """One pass over an event stream. Triggers use ``now``, ``tz``, ``members`` and ``schedule``."""

    def __init__(self, config: Config, planner: Planner, *, until: float | None = None, notes: Notes | None = None, state: StateStore | None = None, max_future: float | None = None, saved: list[dict[str, Any]] | None = None, reopen: list[dict[str, Any]] | None = None):
        """``saved``: the state's rows of tasks left for this run (``StateStore.rechecks``);
        ``reopen``: those of them it settles again (see ``Recheck.reopen``)."""
        self.config = config
        self.community = config.community
        self.tz = config.community.tz
        self._silent = config.community.silent_days  # when some days are no silence (member.days_silent)
        self.local = local_time(self.tz)  # local days and times in the community time zone
        self.language = config.community.language  # of the reasons triggers write
        self.reason_words = reason_words(self.language)  # those words (triggers.common.says)
        self.planner = planner
        self.until = until
        self.max_future = max_future  # seconds an event may be past the latest so far: see _within_horizon
        self.now = -math.inf
        self.started = False
        self.members: dict[str, Member] = {}
        self.groups: dict[str, Group] = {}
        self.clock = Clock()
        self.trigger_state: dict[str, dict[Any, Any]] = {}
        self._stores: dict[TriggerType | str, dict[Any, Any]] = {}  # store() by trigger or key
        self.lifecycle = Lifecycle(config.community, config.env, self.condition_failed)
        self.staff = config.community.staff  # members whose firings are skipped (see handle)
        self.rejected: list[Rejected] = []
        # Where the stages say what they decided; its counts are the run's (read, accepted, miss …).
        self.sink = notes if notes is not None else Notes(Counts(), self.language, config.community.action_names)
        self.counts = self.sink.counts
        self.watermark: float | None = None
        self._watermark_causes: frozenset[str] | None = None
        self._instant: float | None = None  # the latest instant an event was accepted at
        self._instant_events: list[Event] = []
        # While an event is dispatched: the member fields it changed for its member (see
        # ``apply``). None means unknown: checks that skip on unchanged fields must run.
        self.changed: set[str] | None = None
        self._views: dict[str, MemberView] = {}
        self._firing_context: dict[str, Any] = {}  # while a firing's actions are applied: firing_context()
        # The event is_question last answered about, and its answer: two attributes, not a
        # tuple, as the triggers asking again about the same message read them at every call.
        self._asked_about: Event | None = None
        self._asked = False
        self._question_pattern = any_pattern(self.community.question_patterns) if self.community.question_patterns else None  # one search per message
        self._views_at = self.now
        self.replies = Replies(config.community.reply_window)  # the loop back: done tasks, replies
        # The loop fields (member.last_task_at …), kept only when something reads them.
        # member.last_contact_at: the tasks that reach out to the member, as the frequency limits count them
        reaching = frozenset(name for name, kind in config.registry.actions.items() if kind.scope is not None and kind.counts_toward_limits)
        self.tasks_log = TaskLog(state.member_tasks if state is not None else None, planner.reopened_ids, reaching, planner.open_parts, planner.reopened_printed_parts) if _reads_loop(config) else None
        self.replies.log = self.tasks_log
        # Members held out of playbooks, and their first tasks, when a playbook has a `holdout`.
        held = holdout_shares(config)
        self.holdout = planner.holdout = Holdout(held, self._last_message) if held else None
        self._exposed: dict[str, list[tuple[float, str]]] = self.holdout.waiting if self.holdout is not None else {}
        # With --state, what the report draws from (written when the state is saved): each
        # member's moves between stages (member, group, from, to, when), and the questions.
        self.stage_moves: list[tuple[str, str | None, str | None, str | None, float]] | None = None
        self.question_log: QuestionLog | None = None
        # With --state: events at or before the watermark in a group no earlier run read, by
        # group (WeChat's one CSV per group, run one after the other): not processed, never planned.
        self.unread_groups: Counter[str] = Counter()
        # With --state: an event past --max-future that no later line confirms (a quiet group's
        # one message of the night) is kept for the next run to read first, not rejected; the
        # last run's such events, read before this run's own, and what tells their copies apart.
        self.unconfirmed: list[Event] | None = None
        self._held_over: list[Event] = []
        self._held_keys: set[tuple[float, str]] = set()
        self._held_ids: set[int] = set()
        if state is not None:
            self.unconfirmed = [] if state.lasting else None
            self.stage_moves = []
            me_too = any_pattern(self.community.question_me_too) if self.community.question_me_too else None
            self.question_log = QuestionLog(self.community.question_answered_by, self.community.question_answer_window, self.staff, me_too) if self._question_pattern is not None else None
            self._resume(state)
        # A rule's evaluation, stage by stage: which rules fire → do their conditions hold →
        # their tasks, through the planner's guardrails.
        # Each group's messages by day, members and staff apart: kept only when a rule reads them.
        self.group_counts = GroupCounts(self.staff) if GroupCounts.wanted(_sources(config)) else None
        self.matcher = Matcher(config.rules, [self.group_counts] if self.group_counts is not None else ())
        self.conditions = Conditions(config, self, self.sink)
        self.enforcer = Enforcer(config, self, planner, self.conditions, self.sink)
        self.enforcer.acted_on = self._acted_on if self.matcher.takes_effects else None
        # Stage 5: a planned task checked again when it is due (engine/recheck.py).
        self.recheck = self.enforcer.recheck = Recheck(config, self, planner, self.conditions.context, self._set_now, self.replies, self.conditions.member_holds)
        planner.on_settled = self.recheck.released
        planner.alike = self.enforcer.reads_alike
        planner.keeps_off = any(rule.not_on is not None for rule in config.rules)
        planner.supersedes = frozenset(rule.key for rule in config.rules if rule.deadline is not None and rule.trigger.default_deadline == "day")
        if self.tasks_log is not None:
            planner.on_final = self.tasks_log.planned
        self._frozen = self.recheck.frozen
        self._watching = self.recheck.watch  # with `pace`: members whose next message is looked for
        self._leaving = self.recheck.leaving  # … and whose leaving
        if state is not None:
            saved = state.rechecks() if saved is None else saved
            # Rows of an earlier version: printed tasks checked again when due. The others are
            # what the last run left open: reopened, or fixed as printed (marked, or their rule
            # changed); either way replaced by what this run leaves open.
            self.recheck.restore([payload for payload in saved if "v" not in payload])
            self.recheck.consumed += [payload["id"] for payload in saved if "v" in payload]
            # And what its out-of-reach tasks hold until their day is over (Planner.hold).
            held_over = [payload for payload in saved if payload.get("v") == 3]
            if held_over:
                planner.hold(held_over)
            if reopen:
                self.recheck.reopen(reopen, self.enforcer.task, self.enforcer.render, self.enforcer.defer_effect)
            # The open days' tasks that stay as printed (marked, delivered) keep their text's turn,
            # and count as given for the holdout: their days are settled without them.
            reopened = {payload["id"] for payload in reopen or ()}
            stayed = [payload for payload in saved if payload.get("v") == 2 and payload.get("printed") is not None and payload["id"] not in reopened]
            self.enforcer.keep_turns(stayed)
            if self.holdout is not None:
                self._given_before(self.holdout, stayed)

    @staticmethod
    def _given_before(holdout: Holdout, stayed: list[dict[str, Any]]) -> None:
        """The tasks of the last run's open days an operator has (marked, delivered): each
        member's first of a playbook with a holdout is an exposure of the treated arm, as it
        would have been when their day was settled (a held-out member's is never printed)."""
        for payload in stayed:
            for item in (payload, *payload.get("parts", ())):
                playbook = str(item.get("rule", "")).partition("/")[0]
                if item.get("member") is not None and playbook in holdout.shares:
                    holdout.exposed(playbook, item["member"], TREATED, payload["due"])

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
        for line, data in state.unconfirmed():
            event = event_from(data)
            event.line = line
            self._held_over.append(event)
        self._held_keys = {(event.t, cause(event)) for event in self._held_over}
        self._held_ids = {id(event) for event in self._held_over}
        # The events an earlier run read at the watermark's instant (None: a state from before
        # they were saved, which counts every event of that second as read).
        self._watermark_causes = state.watermark_events()
        if self.watermark is not None:
            self.now = self.watermark
            self.started = True
            awaiting = [name for name, kind in self.config.registry.actions.items() if kind.awaits_reply]
            self.replies.restore(*state.loop(self.watermark, self.replies.window, LOOKBACK, awaiting))
            if self.holdout is not None:
                # The exposures still waiting for a message (a second to spare at the window's edge); the others by key.
                self.holdout.restore(state.holdouts(self.holdout.shares, self.watermark - HOLDOUT_WINDOW - 1), self.watermark, state.exposure_recorded)
            if self.question_log is not None:
                self.question_log.restore(state.open_questions(self.watermark - HORIZON), self.watermark)

    def _last_message(self, member_id: str) -> float | None:
        member = self.members.get(member_id)
        return member.last_message_at if member is not None else None

    def _set_now(self, t: float) -> None:
        """Move the clock without an event (the re-check of tasks due after the history)."""
        self.now = t

    # -- the API triggers use ------------------------------------------------------------

    def known_groups(self) -> list[str]:
        """Every group seen in events so far, in id order. A group community.yaml lists but no
        event has come from is not one: a post planned there would go to a group the history
        does not show (another export's group, or one not made yet)."""
        return sorted(self.groups)

    def firing_context(self) -> dict[str, Any]:
        """What the rule of the firing being enforced reads (see ``contract.Run.firing_context``)."""
        return self._firing_context

    def is_question(self, event: Event) -> bool:
        """Whether a message is a question, per community.yaml ``question.patterns``."""
        if self._asked_about is event:
            return self._asked  # several triggers ask about the same event
        question = self._question_pattern
        answer = event.type == "message" and question is not None and question.search(event.text or "") is not None
        self._asked_about, self._asked = event, answer
        return answer

    def store(self, trigger: TriggerType | str) -> dict[Any, Any]:
        """This run's scratch space for ``trigger`` (open questions …), or under a key several
        triggers share (``@leaderboard/messages/30d``: counts every ranking of them reads)."""
        try:
            return self._stores[trigger]  # by the object asking: no test of what it is
        except (KeyError, TypeError):  # its first call, or a plugin's trigger that cannot be hashed
            return self._first_store(trigger)

    def _first_store(self, trigger: TriggerType | str) -> dict[Any, Any]:
        """``store`` of a trigger not asked for before, found by its key (and remembered by the
        trigger, if it can be hashed)."""
        key = trigger if isinstance(trigger, str) else trigger.key
        memory = self.trigger_state.get(key)
        if memory is None:
            memory = self.trigger_state[key] = {}
        with suppress(TypeError):
            self._stores[trigger] = memory
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
            view = self._views[member.id] = MemberView(member, self.now, self.tz, self.tasks_log, silent=self._silent)
        return view

    def schedule(self, due: float, trigger: TriggerType | str, subject: str, payload: Any = None) -> None:
        """Call ``trigger.on_timer(run, subject, payload)`` at event time ``due``."""
        key = trigger if isinstance(trigger, str) else trigger.key
        self.clock.schedule(due, key, subject, payload)

    def tag_until(self, member: Member, tag: str, until: float | None) -> None:
        """``tag`` comes off ``member`` at ``until`` (None: it stays). Only the latest expiry
        counts: a timer finds its instant in the member's marks, or does nothing."""
        expiry = member.marks.get(TAG_EXPIRY)
        if until is None:
            if expiry and expiry.pop(tag, None) is not None and not expiry:
                del member.marks[TAG_EXPIRY]
            return
        if expiry is None:
            expiry = member.marks[TAG_EXPIRY] = {}
        expiry[tag] = until
        self.schedule(until, TAG_EXPIRY, member.id, tag)

    def _tag_expired(self, member_id: str, tag: str, due: float) -> list[tuple[Rule, Firing]]:
        """``tag``'s time on the member is up, unless it was given again or taken off since."""
        member = self.members.get(member_id)
        expiry = member.marks.get(TAG_EXPIRY) if member is not None else None
        if member is None or not expiry or expiry.get(tag) != due:
            return []
        del expiry[tag]
        if not expiry:
            del member.marks[TAG_EXPIRY]
        if tag not in member.tags:
            return []
        if self._frozen and member.id in self._frozen:
            self.recheck.before_change(member)  # texts still to be written keep the values before it
        member.tags.discard(tag)
        member.revision += 1
        self._views.pop(member.id, None)
        sink = self.sink
        self.sink.changed(sink.says.tag_expiry, Firing(member, member.group, self.now, ""), lambda: sink.says.tag_lapsed.format(tag=tag))
        firings = self.restage(member)  # a stage condition may read the tag
        firings.extend(self.matcher.on_change(self, member, TAGS))  # and a `becomes:` condition
        return firings

    def _acted_on(self, member: Member, fields: frozenset[str] | None) -> None:
        self.matcher.on_effect(self, member, fields)

    def condition_failed(self, rule: str, member: Member, source: str, error: Exception) -> None:
        """A ``becomes`` or stage condition raised: a recorded skip, as a failing ``if:`` is."""
        self.sink.condition_failed(rule, Firing(member, member.group, self.now, ""), source, error)

    def note(self, rule: str, member_id: str | None, kind: str, describe: Callable[[], str]) -> None:
        """What a trigger decided (a question answered): counted under ``kind``, explained by ``describe``."""
        self.sink.noted(self.now, rule, member_id, kind, describe)

    # -- the loop ------------------------------------------------------------------------

    def start(self, t: float) -> None:
        """Start the clock at ``t``: clock-driven triggers schedule their first instants."""
        self.now = t
        self.started = True
        self.matcher.start(self)

    def steps(self, items: Iterable[Event | Rejected]) -> Iterator[None]:
        """Evaluate ``items``, pausing after each event: a caller can take the tasks made final meanwhile."""
        if self._held_over:  # the last run's unconfirmed events, read again first: the next line may confirm them
            items, self._held_over = chain(self._held_over, items), []
        if isinstance(self.members, LazyMembers):
            items = self._prefetching(items)
        if self.max_future is not None:
            items = self._within_horizon(items, self.max_future)
        for item in items:
            self.counts["read"] += 1
            if isinstance(item, Rejected):
                self.reject(item)
                continue
            if self._held_keys and self._held_copy(item):  # only after a run kept a line: no call per event otherwise
                self.counts["before_watermark"] += 1  # this export's copy of an event the last run kept to confirm
                continue
            if self.watermark is not None and item.t <= self.watermark and (item.t < self.watermark or self._seen_at_watermark(item)):
                self.counts["before_watermark"] += 1  # processed by an earlier --state run
                if item.group is not None and item.group not in self.groups:
                    self.unread_groups[item.group] += 1  # …or not: no earlier run saw its group
                continue
            if item.t < self.now:
                when = datetime.fromtimestamp(self.now, self.tz).isoformat(timespec="seconds")
                self.reject(Rejected(item.line, Reason("older", when=when), _raw_text(item)))
                continue
            if self.until is not None and item.t > self.until:
                self.counts["after_until"] += 1
                continue
            if item.t != self._instant:  # the events of the latest instant: --state saves what they were
                self._instant, self._instant_events = item.t, []
            elif item.id is not None and self._repeated(item):
                continue
            self.counts["accepted"] += 1
            self._instant_events.append(item)
            if not self.started:
                self.start(item.t)
            self.advance(item.t, inclusive=False)
            self.now = item.t
            self.handle(self.apply(item))
            yield
        if self.until is not None and self.started:
            self.advance(self.until, inclusive=True)
            self.now = max(self.now, self.until)

    def _within_horizon(self, items: Iterable[Event | Rejected], future: float) -> Iterator[Event | Rejected]:
        """``items``, with an event dated more than ``future`` after the latest so far (or the
        --state watermark) turned into a Rejected — unless the event after it is not earlier
        (a quiet week in a small group, not a wrong date). One line dated 2099 would otherwise
        move the clock there: every later event rejected as older, decades of scheduled posts,
        and a --state that refuses every later run. Two such lines in a row are taken as real."""
        latest = self.watermark if self.watermark is not None else -math.inf  # -inf: the first event sets it
        horizon = latest + future
        held: Event | None = None  # an event past the horizon, waiting for the next one to confirm its date
        for item in items:
            if isinstance(item, Rejected):
                yield item
                continue
            t = item.t
            if held is not None and self._read_before(item):
                yield item  # an overlapping export's old lines, or the held event's own copy: no word on its date
                continue
            if t > horizon:  # rare: past the horizon, or an event is held (the horizon is then -inf)
                if held is None and latest == -math.inf:
                    latest, horizon = t, t + future  # the stream's first event: nothing to compare it with
                elif held is None:
                    held, horizon = item, -math.inf
                    continue
                else:
                    if t >= held.t:
                        latest = held.t  # the event after it is not earlier: a quiet stretch, not a wrong date
                        yield held
                    else:
                        yield Rejected(held.line, self._too_far(held.t, latest, Reason("next_earlier", line=item.line)), _raw_text(held))
                    held, horizon = None, latest + future
                    if t > horizon:
                        held, horizon = item, -math.inf
                        continue
            if t > latest:
                latest, horizon = t, t + future
            yield item
        if held is not None:
            if self.until is not None and held.t <= self.until:
                yield held  # --until says the history reaches that far
            elif self.unconfirmed is not None:  # --state: the next run's first line may confirm it
                self.unconfirmed.append(held)
                self.counts["read"] += 1
                self.counts["unconfirmed"] += 1
            else:
                yield Rejected(held.line, self._too_far(held.t, latest, Reason("no_later")), _raw_text(held))

    def _read_before(self, event: Event) -> bool:
        """Whether an earlier --state run read or kept ``event``: at or before the watermark, or
        the copy of a kept one."""
        return (self.watermark is not None and event.t <= self.watermark) or bool(self._held_keys) and self._held_copy(event)

    def _held_copy(self, event: Event) -> bool:
        """Whether ``event`` is this export's copy of an event the last run kept to confirm."""
        return id(event) not in self._held_ids and (event.t, cause(event)) in self._held_keys

    def _too_far(self, t: float, latest: float, why: Reason) -> Reason:
        """Why an event dated past the --max-future horizon is rejected, and how to accept it."""
        gap_days = math.ceil((t - latest) / DAY) if t - latest < 1e12 else 0  # a longer gap is no history
        longer = Reason("max_future_days", days=gap_days) if gap_days else Reason("max_future_off")
        return Reason("too_far", at=self._time_text(t), horizon=timedelta(seconds=self.max_future or 0), latest=self._time_text(latest), why=why, longer=longer)

    def _time_text(self, t: float) -> str:
        try:
            return datetime.fromtimestamp(t, self.tz).isoformat(timespec="seconds")
        except (OverflowError, ValueError, OSError):  # past year 9999: the number is all there is to show
            return f"epoch {t:.0f}"

    def _repeated(self, event: Event) -> bool:
        """Whether ``event`` repeats a message of the same instant, group and id (an export that
        lists a message twice, two files that both hold it): rejected, so that it counts once.
        In a stream in time order a copy can only come at its original's instant."""
        for earlier in self._instant_events:
            if earlier.id == event.id and earlier.group == event.group and earlier.type == event.type == "message":
                self.reject(Rejected(event.line, Reason("same_message", id=event.id, line=earlier.line), _raw_text(event)))
                return True
        return False

    def _seen_at_watermark(self, event: Event) -> bool:
        """Whether an event of the watermark's instant was read by the run that saved it: a day's
        export often ends and the next begins within one second."""
        causes = self._watermark_causes
        return causes is None or cause(event) in causes

    def unconfirmed_rows(self) -> list[list[Any]]:
        """[line, event] of the events kept for the next run to confirm (``unconfirmed``)."""
        return [[event.line, event_data(event)] for event in self.unconfirmed or ()]

    def watermark_events(self) -> list[str]:
        """What identifies the events read at the last instant (ids, else content), for --state:
        an event of that second read again is known, a new one is not."""
        if self._instant is None and self.watermark is not None and self.now == self.watermark:
            # Nothing new read (a quiet night's export repeats the last one): the last run's
            # instant is still the last; forgetting it would read its events again next night.
            return sorted(self._watermark_causes or ())
        if self._instant is None or self._instant != self.now:
            return []  # the clock went on past the last event (--until): no event is at the watermark
        earlier = self._watermark_causes if self.watermark == self._instant and self._watermark_causes else frozenset()
        return sorted(earlier | {cause(event) for event in self._instant_events})

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
        """Fire every timer due before ``t`` (or at ``t`` too, if ``inclusive``), in due order;
        check again the tasks due then, and settle each local day once it is over."""
        planner, recheck, clock = self.planner, self.recheck, self.clock
        # Without --state timers the next timer is the first of the clock's heap, read here
        # rather than by a call each turn (the loop turns about 2.5 times per event). Nothing
        # due is INF rather than None: a turn then compares numbers, with no test for None
        # before each comparison (``t`` is finite: an event's time, --until or the end).
        timers = None if clock.restored else clock.heap
        while True:
            if timers is not None:
                due = timers[0][0] if timers else INF
            else:
                upcoming = clock.next_due()
                due = INF if upcoming is None else upcoming
            if recheck.saved or recheck.effects:  # a --state run's checks, and effects to come: rarer
                upcoming = recheck.next_due()
                check = INF if upcoming is None else upcoming
            else:
                heap = recheck.heap  # the checks of this run's tasks
                check = heap[0][0] if heap else INF
            settle = planner.settle_at  # INF while no day has tasks to settle
            if settle <= t and settle <= due and settle <= check:
                # A day is over before anything else happens at or after its midnight: its
                # capacity is settled, and what that moves to a later day is checked there.
                self.now = max(self.now, settle)
                planner.settle_through(settle)
                continue
            if check <= due:  # a task's check goes before a timer of the same instant
                if check > t or (check == t and not inclusive):
                    return
                self.now = max(self.now, check)
                recheck.check_due(check)
                continue
            if due > t or (due == t and not inclusive):
                return
            batch = clock.pop_instant()
            self.now = max(self.now, due)
            firings: list[tuple[Rule, Firing]] = []
            on_timer = self.matcher.on_timer
            for timer_due, _, handler, subject, payload in batch:
                if handler == LIFECYCLE_HANDLER:
                    firings.extend(self._lifecycle_check(subject, timer_due))
                elif handler == TAG_EXPIRY:
                    firings.extend(self._tag_expired(subject, payload, timer_due))
                else:
                    firings.extend(on_timer(self, handler, subject, payload))
            self.handle(firings)

    def _lifecycle_check(self, member_id: str, due: float) -> list[tuple[Rule, Firing]]:
        """A member's stage checked again, at a moment time alone could have changed it."""
        member = self.members.get(member_id)
        if member is None or member.marks.get(LIFECYCLE_HANDLER) != due:
            return []
        del member.marks[LIFECYCLE_HANDLER]
        if member.left and member.marks.get(STAGED) == member.revision:
            # Time alone does not move a member who left (no check is armed for them); one an
            # action changed since (`remove`) is assessed, as any member's next check would.
            return []
        return self.restage(member)

    # -- state -----------------------------------------------------------------------------

    def member(self, member_id: str) -> Member:
        member = self.members.get(member_id)
        if member is None:
            member = self.members[member_id] = Member(member_id)
            if member_id.startswith("name:"):  # a source's id for a person it knows only by name
                member.name = member_id[5:] or None
        return member

    def group(self, group_id: str) -> Group:
        group = self.groups.get(group_id)
        if group is None:
            # Its first event is now (the loop sets the clock to an event before applying it).
            group = self.groups[group_id] = Group(group_id, self.community.group_names.get(group_id), since=self.now)
        return group

    def apply(self, event: Event) -> list[tuple[Rule, Firing]]:
        """Update state from ``event``; return what fired because of it."""
        # The event's member and group: known already, mostly, looked up here without a call
        # (``member`` and ``group`` add those seen for the first time).
        member: Member | None = None
        group: Group | None = None
        if event.member is not None:
            member = self.members.get(event.member) or self.member(event.member)
        if event.group is not None:
            group = self.groups.get(event.group) or self.group(event.group)
        if group is not None and event.channel:
            group.channel = event.channel
        if group is not None and event.group_name and group.name != event.group_name and self.community.group_names.get(group.id, group.id) == group.id:
            group.name = event.group_name  # the export's name, unless community.yaml names the group
        changed: set[str] = set()  # the member fields the event changed
        if member is not None:
            self._views.pop(member.id, None)
            if self._frozen and member.id in self._frozen:
                self.recheck.before_change(member)
            if event.name and event.name != member.name:
                member.name = event.name
                changed.add("name")
            kind = event.type
            # An event in a group shows the member is in it — unless the plan removed them from
            # it: then only a new member_joined there brings them back.
            if group is not None and kind != "member_left" and (group.id in member.groups or self._enter(member, group, kind, changed)):
                if member.group != group.id:
                    member.group = group.id
                    changed.add("group")
                group.members.add(member.id)
            if kind == "message":  # most events: counted here, the rest in _count_other
                today = self.local.day(event.t)
                silent_since = member.silent_since
                if silent_since is None or event.t - silent_since >= DAY:
                    changed.add("days_silent")  # it was a day or more: it is 0 now
                elif self._silent is not None and self._silent.begins_off(silent_since, today):
                    # Still 0 — but a silence begun on a day off counts from that time of the next
                    # open day, and one begun now may reach a threshold sooner (Sunday 23:33 is
                    # two days silent on Wednesday 23:33, Monday 16:04 at 16:04): checked again.
                    changed.add("days_silent")
                member.messages += 1
                member.last_message_at = event.t
                if self._watching and member.id in self._watching:
                    self.recheck.message(member.id, event.t)
                if self.replies.awaiting and member.id in self.replies.awaiting:
                    self.replies.message(member.id, event.t)
                if self._exposed and member.id in self._exposed:
                    self.holdout.message(member.id, event.t)  # type: ignore[union-attr]  # set with _exposed
                if member.count_message(today):
                    changed.add("active_days_30d")
                changed.update(MESSAGE_CHANGES)
                if group is not None:
                    group.messages += 1
                asked = self.is_question(event)
                if asked:
                    member.questions += 1
                    changed.add("questions")
                if self.question_log is not None:
                    self.question_log.message(event, member.id, asked)
                if event.reply_to:
                    member.replies += 1
                    changed.add("replies")
                for mentioned in event.mentions:
                    if mentioned != member.id:
                        other = self.member(mentioned)
                        if self._frozen and mentioned in self._frozen:
                            self.recheck.before_change(other)
                        other.mentions_received += 1
                        if other.name is None:  # first seen as a mention: the name the export shows, else the text's one @name
                            other.name = _name_given(event.raw.get("mention_names"), mentioned) or (_mentioned_name(event.text, mentioned) if len(event.mentions) == 1 else None)
            else:
                self._count_other(event, member, changed)
        self.changed = changed
        try:
            firings = self.matcher.on_event(self, event, member)
        finally:
            self.changed = None
        if member is not None:
            firings.extend(self.restage(member, changed))
        return firings

    def _enter(self, member: Member, group: Group, kind: str, changed: set[str]) -> bool:
        """The member is seen in ``group``, which they were not in: they are in it now, and no
        longer gone from the community (an export may lack the join) — unless a planned
        `remove` took them out of it and this is not a new member_joined there. Whether they
        are in it."""
        out = member.marks.get(OUT_OF)
        if out and group.id in out:
            if kind != "member_joined":
                return False
            del out[group.id]
            if not out:
                del member.marks[OUT_OF]
            by = member.marks.get(OUT_BY)
            if by:
                by.pop(group.id, None)
                if not by:
                    del member.marks[OUT_BY]
        member.groups.add(group.id)
        changed.add("groups")
        if member.left:
            member.left = False
            changed.add("left")
        return True

    def _count_other(self, event: Event, member: Member, changed: set[str]) -> None:
        """What an event other than a message changes of its member."""
        kind = event.type
        if kind == "member_joined":
            if len(member.groups) <= 1:  # in no other group: new to the community, or back after leaving it
                member.joined_at = event.t  # joining one more group does not make an old member a newcomer
            member.left = False
            changed.update(JOIN_CHANGES)
            invited = member.marks.get(INVITED)
            if invited and event.group in invited:
                del invited[event.group]  # the invite into this group is answered
                if not invited:
                    del member.marks[INVITED]
                if self._leaving and member.id in self._leaving:
                    self.recheck.left(member, event.t)  # a paced invite into it no longer holds
            returning = self.recheck.returning
            if returning and member.id in returning:
                self.recheck.back(member, event.t, event.group)  # a paced @ there before now was for someone out of it
            removed = member.marks.get(REMOVED)
            if removed and event.group in removed:
                del removed[event.group]  # back in the group the admins removed them from
                if not removed:
                    del member.marks[REMOVED]
        elif kind == "member_left":
            self._leave(member, event.group, changed)
            by = member.marks.get(OUT_BY)
            if by and event.group in by and len(by[event.group]) == 2:
                by[event.group].append(event.t)  # out by a planned removal, they left on their own too: its siblings no longer go with it
            if event.reason == "removed" and event.group is not None:
                removed = member.marks.get(REMOVED)
                if removed is None:
                    removed = member.marks[REMOVED] = {}
                removed[event.group] = event.t
            changed.update(LEAVE_CHANGES)
            if self._leaving and member.id in self._leaving:
                self.recheck.left(member, event.t, event.group)
            if self.recheck.at_once_t == event.t:
                self.recheck.left_at_once(member)
        elif kind == "activity_joined":
            member.activities += 1
            changed.add("activities")
        elif kind == "profile":
            member.tags.update(event.tags)
            member.attributes.update(event.attributes)
            changed.update(("tags", "attributes"))
        elif kind == "purchase":
            member.purchases += 1
            member.spent += event.amount or 0
            changed.update(PURCHASE_CHANGES)

    def remove_from_group(self, member: Member, group_id: str | None) -> None:
        """The plan takes the member out of ``group_id`` (an action's effect): they stay out of
        it until a new member_joined there, even if the history shows them writing there (it is
        the history without the plan). With no group left, they have left."""
        if group_id is not None:
            out = member.marks.get(OUT_OF)
            if out is None:
                out = member.marks[OUT_OF] = {}
            out[group_id] = self.now
        self._leave(member, group_id, None)
        if self._leaving and member.id in self._leaving:
            # As a member_left: a task of theirs there that pace lays out later is dropped (an
            # @ moved by pace to 11:09 for a member the plan removed at 10:29).
            self.recheck.left(member, self.now)

    def _leave(self, member: Member, group_id: str | None, changed: set[str] | None) -> None:
        """The member is no longer in ``group_id``; tasks about them go to a group they are
        still in; with no group left, they have left (and their tasks still go to the last)."""
        if group_id is not None:
            member.groups.discard(group_id)
            if group_id in self.groups:
                self.groups[group_id].members.discard(member.id)
            if member.group == group_id and member.groups:
                member.group = min(member.groups)  # any group they are in; the smallest id, for a stable plan
                if changed is not None:
                    changed.add("group")
        if not member.groups:
            member.left = True

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
        stage = self.lifecycle.assign(member, self.now, self.view)
        if stage != member.stage:
            if self._frozen and member.id in self._frozen:
                self.recheck.before_change(member)
            previous, first_time = member.stage, member.stage is None
            member.stage, member.stage_since = stage, self.now
            if self.stage_moves is not None and member.id not in self.staff:
                self.stage_moves.append((member.id, member.group, previous, stage, self.now))
            member.revision += 1  # `becomes` conditions on the stage see it on the next check
            self.sink.stage(self.now, member.id, partial(_describe_move, self.community.stage_label, previous, stage))
            # A member already there before the history began has no "entry" into their first stage.
            if stage is not None and not (first_time and member.joined_at is None):
                entered = Event(t=self.now, type=STAGE_ENTERED, member=member.id, group=member.group, raw={"stage": stage, "previous": previous})
                self.changed = {"stage", "stage_since"}
                try:
                    firings.extend(self.matcher.on_event(self, entered, member))
                finally:
                    self.changed = None
        member.marks[STAGED] = member.revision
        return firings

    # -- rules -----------------------------------------------------------------------------

    def handle(self, firings: list[tuple[Rule, Firing]]) -> None:
        """Everything that fired at one instant: filtered, ordered, then checked and enforced."""
        if not firings:
            return  # most events and timers fire nothing
        counts = self.counts
        # A rule's `stages:`, `groups:` and `once` filters read what nothing done while one
        # instant's firings are handled can change (stages move only when a member is
        # re-assessed, a `once` mark is never taken back): firings they refuse are said to
        # the sink together, before the rest are ordered. Firings about staff go before them.
        staff = self.staff
        kept = []
        refused: list[tuple[str, Firing, Callable[[], str]]] = []
        skipped: list[tuple[str, Firing]] | None = None
        for pair in firings:
            rule, firing = pair
            if staff and firing.member is not None and firing.member.id in staff:
                if skipped is None:
                    skipped = []
                skipped.append((rule.key, firing))
                continue
            if rule.filtered:
                why = refusal(rule, firing, self.sink.says, self.community.stage_label)
                if why is not None:
                    refused.append((rule.key, firing, why))
                    continue
            kept.append(pair)
        if skipped:
            self._skip_staff(skipped)
        if refused:
            counts["fired"] += len(refused)
            self.sink.refused_all(refused)
        if len(kept) > 1:
            kept.sort(key=_firing_order)
        # Each firing through the stages: conditions, then its tasks and effects.
        check, enforce = self.conditions.check, self.enforcer.enforce
        counts["fired"] += len(kept)
        for rule, firing in kept:
            if rule.once or (rule.groups is not None and not firing.group):
                # Checked again here: a `once` rule may have fired for this member at this
                # instant, and a planned removal may have moved the member's group (what a
                # firing without a group of its own is in). Stages do not move meanwhile.
                why = refusal(rule, firing, self.sink.says, self.community.stage_label)
                if why is not None:
                    self.sink.refused(rule.key, firing, why)
                    continue
            member = firing.member
            group = firing.group or (member.group if member else None)
            matched = check(rule, firing, group)
            if matched is not None:
                self._firing_context = matched[0]
                enforce(rule, firing, group, *matched)
                self._firing_context = {}

    def _skip_staff(self, skipped: list[tuple[str, Firing]]) -> None:
        """Firings about staff (``skipped``: rule key, firing), left out: staff are never the
        member of a task, whatever the trigger.

        Skipped in ``handle``, after the triggers saw the staff's events (their messages still
        answer questions and count for the group) and before any filter, condition or text.
        """
        self.sink.staff(skipped)
        if self.planner.day_counts is not None:
            for rule_key, firing in skipped:
                self.planner.skipped("staff", rule_key.partition("/")[0], firing.t)


def _firing_order(pair: tuple[Rule, Firing]) -> tuple[Any, str, str]:
    """How one instant's firings are handled: highest priority first, then in playbook and rule
    order (``precedence``), then by member and group. (A function, not a lambda of ``pair[0]``
    and ``pair[1]``: it is called for most firings, and indexing the pair each time costs more.)"""
    rule, firing = pair
    member = firing.member
    return rule.precedence, member.id if member else "", firing.group or ""


def _sources(config: Config) -> list[str]:
    """Every condition, text and stage condition of the run, and each trigger's value, as written."""
    sources = [stage.source for stage in config.community.lifecycle]
    for rule in config.rules:
        sources += [condition.source for condition in rule.conditions]
        sources += [action.text.source for action in rule.actions if action.text is not None]
        sources.append(str(rule.trigger.value))
    return sources


def _reads_loop(config: Config) -> bool:
    """Whether a condition, a text or a stage reads a loop field (``member.open_tasks`` …)."""
    return any(field in source for source in _sources(config) for field in LOOP_FIELDS)


def _describe_move(label: Callable[[str | None], str], previous: str | None, stage: str | None) -> str:
    return f"{label(previous) if previous else '—'} → {label(stage)} ({stage})"


def _raw_text(event: Event) -> str:
    return json.dumps(event.raw, ensure_ascii=False)


# "@阿花 " (WeChat ends a mention with U+2005, a space elsewhere): the one @name of a text.
_AT_NAME = re.compile(r"@([^@\s\u2005<>]{1,32})")


def _name_given(names: Any, member_id: str) -> str | None:
    """The name a source gave for a mentioned member (``mention_names``: id → name, where the
    export shows the people a message mentions: DiscordChatExporter's nicknames)."""
    name = names.get(member_id) if isinstance(names, dict) else None
    return name.strip() or None if isinstance(name, str) else None


def _mentioned_name(text: str | None, member_id: str) -> str | None:
    """The name a message's only mention shows, when the text has exactly one ``@name``: what a
    member first seen as that mention is called (a task's text then greets 阿花, not wxid_k2j3).
    Not an id written as a mention (Slack's and Discord's ``<@U0123>``)."""
    if not text or text.count("@") != 1:
        return None
    found = _AT_NAME.search(text)
    return found.group(1) if found and found.group(1) != member_id else None
