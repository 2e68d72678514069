"""Stage 2 of a rule's evaluation — conditions: does a firing pass the rule's filters and ``if:``?

The key is the firing's member (or, for a group firing, its group): a check reads that
member's view, that group's counts and the triggering event, and writes nothing but the
notes sink. What the check read is kept as the *context* the rule's texts are rendered with.

Most firings stop here, so the common path is short: ``groups:``/``stages:``/``once`` first,
then the leading conditions about the member alone as one compiled function of the Member,
and only then the full context, built with just the names the rule's conditions and texts
read. An explanation (``notes.detailed``) tests every condition on its own, with its values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from playbook_engine.contract import Firing, Group, Member
from playbook_engine.dependencies import names_read
from playbook_engine.group_counts import GroupCounts
from playbook_engine.members import local_day
from playbook_engine.model import Config, Rule
from playbook_engine.notes import Notes
from playbook_engine.predicates import MemberPredicate, compile_member_predicate
from playbook_engine.words import ExplainWords


class ConditionRun(Protocol):
    """What the conditions read of the run: the clock, the member views, the groups."""

    now: float
    groups: dict[str, Group]
    group_counts: GroupCounts | None  # each group's messages by day, when a rule reads them

    def view(self, member: Member) -> Any: ...


def refusal(rule: Rule, firing: Firing, says: ExplainWords, label: Callable[[str | None], str] | None = None) -> Callable[[], str] | None:
    """Why the rule's ``groups:``, ``stages:`` or ``once`` refuses ``firing`` before any of its
    conditions is tested, or None if none does (``says``: the words of the run's language;
    ``label``: a stage's label, as the operator reads it — 成长期, not growth)."""
    # The reasons are partials, not lambdas: a lambda's variables would be made closure
    # cells at every call, and most firings are refused by none of these.
    member = firing.member
    group = firing.group or (member.group if member else None)
    if rule.groups is not None and group not in rule.groups:
        return partial(_not_in_groups, says, rule, group)
    if rule.stages is not None and (member is None or member.stage not in rule.stages):
        return partial(_not_in_stages, says, rule, member, label)
    if rule.once and member is not None and rule.once_key in member.marks:
        return partial(_once, says)
    return None


def _not_in_groups(says: ExplainWords, rule: Rule, group: str | None) -> str:
    return says.not_in_groups.format(group=group, groups=", ".join(sorted(rule.groups or ())))


def _not_in_stages(says: ExplainWords, rule: Rule, member: Member | None, label: Callable[[str | None], str] | None) -> str:
    return says.not_in_stages.format(stage=_stage_text(member.stage if member else None, label), stages=", ".join(_stage_text(stage, label) for stage in sorted(rule.stages or ())))


def _once(says: ExplainWords) -> str:
    return says.once


_NO_MEMBER_PART: tuple[int, None] = (0, None)  # a firing without a member: no member-only part


class Conditions:
    """The rules' conditions, prepared once per run: what each reads, and its member-only part compiled."""

    def __init__(self, config: Config, run: ConditionRun, notes: Notes):
        self.config = config
        self.community = config.community
        self.run = run
        self.notes = notes
        self.community_values = {"name": self.community.name, "timezone": self.community.timezone, "channel": self.community.channel}
        self._reads_event: set[str] = set()  # rules whose conditions or texts read `event`
        # What a rule's conditions and texts read of the context (None: anything, e.g. a filter
        # handed the whole context, or an explanation): the rest is not built for its firings.
        self._reads: dict[str, frozenset[str] | None] = {}
        self._member_only: dict[str, int] = {}  # how many leading conditions read only `member` (and `community`)
        self._member_checks: dict[str, MemberPredicate | None] = {}  # those conditions as one function of the Member
        # Both of a rule, read together: ``check`` looks them up for every firing.
        self._member_part: dict[str, tuple[int, MemberPredicate | None]] = {}
        self._now_at = (float("nan"), datetime.fromtimestamp(0, self.community.tz))  # nan: equal to no instant
        for rule in config.rules:
            self._prepare(rule)

    def _prepare(self, rule: Rule) -> None:
        env = self.config.env
        texts = [action.text.source for action in rule.actions if action.text is not None]
        condition_names = [names_read(env, [condition.source]) for condition in rule.conditions]
        read = set().union(*condition_names, names_read(env, texts, templates=True))
        if read & {"event", "*"}:
            self._reads_event.add(rule.key)
        self._reads[rule.key] = None if "*" in read or self.notes.detailed else frozenset(read)
        light = 0
        while light < len(condition_names) and condition_names[light] <= {"member", "community"}:
            light += 1
        self._member_only[rule.key] = light
        if light and not self.notes.detailed:  # an explanation shows each condition's values
            sources = [condition.source for condition in rule.conditions[:light]]
            self._member_checks[rule.key] = compile_member_predicate(env, sources, self.community.tz, self.community_values, self.community.silent_days)
        self._member_part[rule.key] = (light, self._member_checks.get(rule.key))

    def check(self, rule: Rule, firing: Firing, group: str | None) -> tuple[dict[str, Any], list[str]] | None:
        """The context the rule's texts are rendered with and the conditions that held (for an
        explanation), or None if a condition is false or fails (said to the notes sink)."""
        member = firing.member
        notes = self.notes
        light, check = self._member_part[rule.key] if member is not None else _NO_MEMBER_PART
        first = 0
        if check is not None and member is not None:
            try:
                holds = check(member, self.run.now)
            except Exception:  # broad: the closures below decide, and report the error as usual
                holds = None
            if holds is not None:
                if not holds:
                    # Compiled checks exist only for a sink that wants no details: counted here.
                    notes.counts["miss"] += 1
                    return None
                first = light
        context: dict[str, Any] | None = None  # the full context, once built
        # Leading member-only conditions not answered above read the member alone (light > 0: a member).
        member_context: dict[str, Any] = {"member": self.run.view(member), "community": self.community_values} if first < light and member is not None else {}
        held: list[str] = []
        conditions = rule.conditions
        for index in range(first, len(conditions)):
            condition = conditions[index]
            current: dict[str, Any]
            if index < light:
                current = member_context
            else:
                if context is None:
                    context = self.context(rule, firing, group)
                current = context
            try:
                holds = condition.test(current)
            except Exception as exc:  # broad: one bad evaluation skips one rule, never the run
                notes.condition_failed(rule.key, firing, condition.source, exc)
                return None
            if not holds:
                notes.condition_false(rule.key, firing, condition.source, current)
                return None
            notes.condition_held(held, condition.source, current)
        if context is None:
            context = self.context(rule, firing, group)
        return context, held

    def member_holds(self, rule: Rule, member: Member) -> bool | None:
        """Whether every ``if:`` condition of the rule holds for ``member`` now, told by their
        compiled function of the member when they read nothing else; None when that cannot
        tell (another name read, an explanation, an error: the conditions themselves say)."""
        check = self._member_checks.get(rule.key)
        if check is None or self._member_only[rule.key] < len(rule.conditions):
            return None
        try:
            return check(member, self.run.now)
        except Exception:  # broad: the conditions, tested on their own, report it
            return None

    def channel_name(self, rule: Rule, group: str | None) -> str:
        """The channel a rule's tasks in ``group`` go to: the rule's, the group's, the community's."""
        if rule.channel:
            return rule.channel
        if group is not None:
            if group in self.community.group_channels:
                return self.community.group_channels[group]
            known = self.run.groups.get(group)
            if known is not None and known.channel:
                return known.channel
        return self.community.channel

    def _now_moment(self) -> datetime:
        """``now`` as a datetime in the community time zone (one per instant, however many rules ask)."""
        now = self.run.now
        if self._now_at[0] != now:
            self._now_at = (now, datetime.fromtimestamp(now, self.community.tz))
        return self._now_at[1]

    def context(self, rule: Rule, firing: Firing, group: str | None) -> dict[str, Any]:
        """What the rule's conditions and texts may read for ``firing``: every variable they
        name (all of them for an explanation, or when a filter is handed the whole context)."""
        member = firing.member
        reads = self._reads.get(rule.key)
        context: dict[str, Any] = {"member": self.run.view(member) if member else None, "community": self.community_values}
        if reads is None or "group" in reads:
            known = self.run.groups.get(group) if group else None
            context["group"] = {
                "id": group,
                "name": (known.name if known else None) or self.community.group_names.get(group or "", group),
                "channel": self.channel_name(rule, group),
                "members": len(known.members) if known else 0,
                "messages": known.messages if known else 0,
                "seed": group in self.community.seed_groups,
            }
            counts = self.run.group_counts
            if counts is not None:
                context["group"].update(counts.values(self.run, group, local_day(self.run.now, self.community.tz)))  # type: ignore[arg-type]  # the run is a Run
        if reads is None or "content" in reads:
            context["content"] = self.community.content
        if reads is None or "now" in reads:
            context["now"] = self._now_moment()
        if reads is None or "trigger" in reads:
            context["trigger"] = dict(firing.values)
        if reads is None or "_channel" in reads:
            context["_channel"] = self.config.registry.channels.get(self.channel_name(rule, group))
        if firing.event is not None and rule.key in self._reads_event:
            context["event"] = firing.event.template_values(self.community.tz)
        return context


def _stage_text(stage: str | None, label: Callable[[str | None], str] | None) -> str:
    """A stage as --explain names it: its label (成长期, not growth)."""
    if stage is None:
        return "—"
    return (label(stage) if label is not None else "") or stage
