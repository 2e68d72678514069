"""Triggers on conditions: `stage` (entering a lifecycle stage) and `becomes` (a condition turning true)."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Mapping
from functools import lru_cache, partial
from typing import Any

from playbook_engine.contract import (
    MEMBER_FIELDS,
    SCALAR_MEMBER_FIELDS,
    Event,
    Firing,
    Member,
    Run,
    TriggerContext,
    TriggerProblem,
    TriggerType,
)
from playbook_engine.dependencies import TIME_FIELDS, member_fields_read, reads_member_field
from playbook_engine.errors import suggest
from playbook_engine.explain import field_values, values_reader
from playbook_engine.expressions import Condition, check_source
from playbook_engine.lifecycle import TimeThresholds
from playbook_engine.predicates import compile_member_values
from playbook_engine.triggers.common import STAGE_ENTERED, _stage_reason, language_of, says
from playbook_engine.words import ReasonWords


class StageTrigger(TriggerType):
    name = "stage"
    asks_member = True
    description = "Fires when a member enters this lifecycle stage (as defined in community.yaml)."
    schema = {"title": "Stage entered 进入阶段", "type": "string", "examples": ["newbie", "decline", "churn"]}
    listens = frozenset({STAGE_ENTERED})

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        known = [stage.stage for stage in context.community.lifecycle]
        if value not in known:

            raise TriggerProblem(f"stage `{value}` is not defined in community.yaml lifecycle{suggest(value, known)}")
        # A stage members enter by leaving (churn: `member.left or …`): its rules are meant for leavers.
        self._about_leaving = any(stage.stage == value and reads_member_field(context.env, stage.source, "left") for stage in context.community.lifecycle)
        # Reasons name stages as operators know them (community.yaml's labels: 衰退期, not decline).
        self._labels = {stage.stage: stage.label or stage.stage for stage in context.community.lifecycle}

    @property
    def about_leaving(self) -> bool:
        return self._about_leaving

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        if member is not None and event.raw.get("stage") == self.value:
            previous = event.raw.get("previous")
            labels = self._labels
            yield Firing(member, member.group, event.t, partial(_stage_reason, run, labels.get(self.value, self.value), labels.get(previous, previous) if previous else previous, event.t), values={"previous": previous})

    @property
    def steady(self) -> bool:
        return True  # a member's stage changes only when the member is assessed again

    def stale(self, run: Run, firing: Firing, at: float) -> str | None:
        member = firing.member
        if member is None or at != run.now or member.stage == self.value:
            return None
        labels = self._labels
        return language_of(run).explain.no_longer_in_stage.format(name=member.name or member.id, stage=labels.get(self.value, self.value), now=labels.get(member.stage, member.stage) if member.stage else "—")

    def describe(self) -> str:
        return f"enters {self.value}"


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
    asks_member = True
    description = "Fires when a condition about the member turns true: checked on the member's events and at the moments time alone could change it (days silent, days since join, 7/30-day windows)."
    schema = {"type": "string", "examples": ["member.active_days_30d >= 8", "member.days_silent >= 10 and member.messages > 20"]}
    listens = frozenset({"*"})

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):

        super().__init__(value, options, context)
        if not isinstance(value, str) or not value.strip():
            raise TriggerProblem("`becomes` needs a condition about the member, e.g. \"member.active_days_30d >= 8\"")
        problems = check_source(context.env, value, expression=True, fields={"member": MEMBER_FIELDS, "community": ("name", "timezone", "channel")})
        if problems:
            raise TriggerProblem(problems[0], more=problems[1:])
        self.env = context.env
        self.condition = Condition(context.env, value)
        self.fields = member_fields_read(context.env, [value])
        self.community_values = {"name": self.community.name, "timezone": self.community.timezone, "channel": self.community.channel}

    @classmethod
    def checked_together(cls, triggers: list[TriggerType]) -> BecomesGroup:
        return BecomesGroup([trigger for trigger in triggers if isinstance(trigger, BecomesTrigger)])

    def holds(self, view: Any) -> bool:
        """Whether the condition holds for the member ``view`` shows; raises if it fails."""
        return self.condition.test({"member": view, "community": self.community_values})

    @property
    def steady(self) -> bool:
        return self.fields is not None and not (self.fields & TIME_FIELDS)  # reads no value time alone moves

    def stale(self, run: Run, firing: Firing, at: float) -> str | None:
        member = firing.member
        if member is None or at != run.now:
            return None
        try:
            if self.holds(run.view(member)):
                return None
        except Exception:  # broad: a failing condition was said when it was checked; the task stays
            return None
        return language_of(run).explain.no_longer_holds.format(condition=self.value, name=member.name or member.id)

    def describe(self) -> str:
        return f"when {self.value}"


MEMO_SIZE = 4096
ACTED_ON = frozenset({"tags", "attributes"})  # the member fields the built-in state-only actions change (tag, untag, set)


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

        self.triggers = triggers
        silent = triggers[0].community.silent_days if triggers else None
        self.thresholds = TimeThresholds([trigger.value for trigger in triggers], triggers[0].env, triggers[0].community.tz, silent) if triggers else None
        fields = [trigger.fields for trigger in triggers]
        known = [field for field in fields if field is not None]
        self.fields = frozenset().union(*known) if len(known) == len(fields) else None
        self.value_fields = tuple(sorted(self.fields)) if self.fields is not None and self.fields <= SCALAR_MEMBER_FIELDS else None
        self._read_values = compile_member_values(self.value_fields, triggers[0].community.tz, silent) if self.value_fields else None
        # field values → the triggers whose condition holds, and their keys
        self._memo: dict[tuple[Any, ...], tuple[list[BecomesTrigger], tuple[str, ...]]] = {}
        # Each condition's values for its firing's reason, from the values just read (not asked
        # of a member view again), when it reads only those fields and the community's.
        self._shown = {trigger.key: values_reader(trigger.value, self.value_fields) for trigger in triggers} if self.value_fields else {}

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

    @property
    def wants_effects(self) -> bool:
        """Whether a condition reads what the built-in state-only actions change (tags, attributes):
        if none does (most playbooks), ``on_effect`` is not called at all."""
        return self.fields is None or bool(self.fields & ACTED_ON)

    def on_effect(self, run: Run, member: Member, fields: frozenset[str] | None = None) -> None:
        """A rule's action changed the member at a firing (a tag given): a condition that no
        longer holds is forgotten as holding, so that it fires when it holds again (the tag's
        time is up). One that holds now fires at the member's next check, as before: the mark
        keeps its revision and no values, so that check asks again."""
        changed = ACTED_ON if fields is None else fields  # None: an action that does not say (a plugin's): any of them
        if self.fields is not None and not (self.fields & changed) and fields is not None:
            return  # no condition reads what the action changed (most playbooks)
        held = member.marks.get(self.held_key)  # a --state run's is a list
        if not isinstance(held, (list, tuple)) or not held[0] or member.left:
            return
        view = None
        still = []
        for trigger in self.triggers:
            if trigger.key in held[0]:
                if fields is not None and trigger.fields is not None and not (trigger.fields & changed):
                    still.append(trigger.key)  # reads nothing the action changed: it holds as it did
                    continue
                view = view or run.view(member)
                try:
                    holds = trigger.holds(view)
                except Exception:  # broad: said when it is checked; taken as still holding here
                    holds = True
                if holds:
                    still.append(trigger.key)
        if len(still) != len(held[0]):
            member.marks[self.held_key] = (tuple(still), held[1], None)

    def on_change(self, run: Run, member: Member, fields: frozenset[str] | None = None) -> list[tuple[TriggerType, Firing]]:
        """The member changed with no event (a tag's time is up: ``fields``, None for any): the
        conditions are asked again now — a "no 打卡 tag any more" reminder is due when the tag
        lapses, not at the member's next message — unless none of them reads what changed."""
        if fields is not None and self.fields is not None and not (self.fields & fields):
            return []
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
                entry = self._holding(run, member, values)
            holding, keys = entry
        else:
            holding, keys = self._holding(run, member, None)
        # (keys that held, revision, values); --state gives it back as lists, which never match.
        was = held[0] if isinstance(held, (list, tuple)) else ()
        member.marks[self.held_key] = (keys, member.revision, values)
        self._arm(run, member)
        if tuple(was) == keys:
            return []  # what held still holds; nothing else does
        became = _not_held(holding, was)
        if not became:
            return []
        firings: list[tuple[TriggerType, Firing]] = []
        view = None
        words = says(run)
        for trigger in became:
            if values is not None and (shown := self._shown.get(trigger.key)) is not None:
                shown_values = shown(values, trigger.community_values)
            else:
                view = view or run.view(member)
                shown_values = field_values(trigger.value, {"member": view, "community": trigger.community_values})
            firings.append((trigger, Firing(member, member.group, run.now, partial(_became_reason, words, trigger.value, shown_values), values=shown_values)))
        return firings

    def _holding(self, run: Run, member: Member, values: tuple[Any, ...] | None) -> tuple[list[BecomesTrigger], tuple[str, ...]]:
        """The triggers whose condition holds for ``member`` now, and their keys; remembered
        under the field ``values`` the conditions read, if they are pure functions of them."""
        view = run.view(member)
        try:
            holding = [trigger for trigger in self.triggers if trigger.holds(view)]
        except Exception:  # broad: any error of a condition is the run's to record, below
            return self._holding_despite_failures(run, member, view)
        entry = holding, tuple(trigger.key for trigger in holding)
        if values is not None and len(self._memo) < MEMO_SIZE:
            self._memo[values] = entry
        return entry

    def _holding_despite_failures(self, run: Run, member: Member, view: Any) -> tuple[list[BecomesTrigger], tuple[str, ...]]:
        """Once a condition has failed: each tested on its own, a failure said to the run and
        taken as not true. Not remembered, so the next check with the same values says it too,
        as a failing `if:` is said at each firing. Only this path costs more."""
        holding = []
        for trigger in self.triggers:
            try:
                if trigger.holds(view):
                    holding.append(trigger)
            except Exception as exc:  # broad: one condition's error skips that rule's check, never the run
                run.condition_failed(trigger.key, member, trigger.value, exc)
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


def _became_reason(words: ReasonWords, condition: str, shown_values: Mapping[str, Any]) -> str:
    """Why a `becomes` rule fired: its condition, and the values that made it true — in words
    when it is plain comparisons of the member's numbers (``近 30 天有发言的天数为 2（少于 3）``),
    else as written, with the values it read."""
    plain = _comparisons(condition)
    if plain is not None:
        facts = []
        for field, op, bound in plain:
            value = shown_values.get(f"member.{field}")
            label = words.fields.get(field)
            if label is None or not isinstance(value, (int, float)) or isinstance(value, bool):
                break
            facts.append(words.fact.format(field=label, value=_number(value), op=words.comparisons[op], bound=_number(bound)))
        else:
            return words.facts_joined.join(facts)
    shown = ", ".join(f"{name} = {value}" for name, value in shown_values.items())
    return words.became.format(condition=condition, shown=words.shown.format(shown=shown) if shown else "")


_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


@lru_cache(maxsize=256)
def _comparisons(condition: str) -> tuple[tuple[str, str, float], ...] | None:
    """``condition`` as (member field, operator, number) comparisons all of which must hold
    (``member.purchases >= 1 and member.active_days_30d < 3``), or None if it says anything else."""
    try:
        tree = ast.parse(condition.strip(), mode="eval").body
    except SyntaxError:
        return None  # Jinja's own syntax (`is defined`, `~`): said as written
    parts = tree.values if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And) else [tree]
    found: list[tuple[str, str, float]] = []
    for part in parts:
        if not (isinstance(part, ast.Compare) and len(part.ops) == 1 and type(part.ops[0]) in _OPS):
            return None
        left, right = part.left, part.comparators[0]
        if not (isinstance(left, ast.Attribute) and isinstance(left.value, ast.Name) and left.value.id == "member"):
            return None
        bound = right.value if isinstance(right, ast.Constant) else None
        if not isinstance(bound, (int, float)) or isinstance(bound, bool):
            return None
        found.append((left.attr, _OPS[type(part.ops[0])], bound))
    return tuple(found)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _not_held(holding: list[BecomesTrigger], was: Collection[str]) -> list[BecomesTrigger]:
    """The triggers of ``holding`` whose keys are not in ``was``: those that became true. (A
    function of its own: a comprehension in ``_check`` would make ``was`` a closure cell at
    every check.)"""
    return [trigger for trigger in holding if trigger.key not in was]
