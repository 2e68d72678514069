"""Where the evaluation's stages say what they decided: counted always, written out for ``--explain``.

Every stage is handed one sink and calls it the same way with or without ``--explain``; the
sink, chosen once when the run starts, decides whether a decision is only counted (``Notes``,
the default: most firings stop at a condition, and nobody reads why) or also written down
with the values it looked at (``ExplainNotes``). So the hot path has no branch on
``--explain``, and a run gives the same plan either way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from playbook_engine.contract import Firing
from playbook_engine.explain import describe_values, field_values
from playbook_engine.words import words_for


@dataclass
class Note:
    """Something ``--explain`` shows: a rule that did not apply, a skip, a state change."""

    t: float
    rule: str  # playbook/rule; "" for a stage change
    member: str | None
    kind: str  # "miss" (a filter or condition said no), "error" (evaluation failed), "changed", "stage", or a trigger's word ("answered")
    reason: str
    values: dict[str, Any] = field(default_factory=dict)


class Counts(Counter[str]):
    """A run's counts (read, accepted, miss …): a Counter bumped several times an event.

    Counter writes its ``__delitem__`` in Python (a missing key is no error), and a class that
    defines either of ``__setitem__`` and ``__delitem__`` in Python has every item assignment,
    each ``counts["miss"] += 1``, look ``__setitem__`` up and call it through Python's type
    machinery: about ten times a dict's store. With dict's own ``__delitem__`` back (nothing
    deletes a run's count), an assignment is a dict's again.
    """

    __delitem__ = dict.__delitem__  # type: ignore[assignment]  # dict's, for the slot above


class Notes:
    """The default sink: counts decisions in ``counts`` (the summary reads them), writes nothing."""

    # Whether the stages should hand over what only an explanation reads (every condition
    # tested one by one, with its values; the whole context for templates).
    detailed = False

    def __init__(self, counts: Counter[str], language: str | None = None, actions: Mapping[str, str] | None = None):
        """``language``: community.language, what an explanation is written in; ``actions``:
        the actions' names in it (``Community.action_names``)."""
        self.counts = counts
        self.notes: list[Note] = []
        self.says = words_for(language).explain
        self.actions: Mapping[str, str] = actions or {}

    def refused(self, rule: str, firing: Firing, reason: Callable[[], str]) -> None:
        """A rule's ``groups:``, ``stages:`` or ``once`` said no before any condition ran."""
        self.counts["miss"] += 1

    def refused_all(self, refused: list[tuple[str, Firing, Callable[[], str]]]) -> None:
        """``refused`` for each (rule, firing, reason) of one instant: a busy instant's fan-out
        is refused by the thousand, and counting them costs one call."""
        self.counts["miss"] += len(refused)

    def staff(self, skipped: list[tuple[str, Firing]]) -> None:
        """Each (rule, firing) of one instant skipped because its member is staff."""
        self.counts["staff"] += len(skipped)

    def condition_false(self, rule: str, firing: Firing, source: str, context: Mapping[str, Any]) -> None:
        """Condition ``source`` is false for ``firing`` (``context``: what it read)."""
        self.counts["miss"] += 1

    def condition_held(self, held: list[str], source: str, context: Mapping[str, Any]) -> None:
        """Condition ``source`` held: an explanation adds it, with its values, to ``held``."""

    def error(self, rule: str, firing: Firing, reason: str) -> None:
        """Evaluating a condition or a text failed: that rule (or action) is skipped, never the run."""
        self.counts["error"] += 1

    def too_long(self, rule: str, firing: Firing, reason: str) -> None:
        """A task's text is longer than its channel allows: planned all the same, to be split."""
        self.counts["too_long"] += 1

    def condition_failed(self, rule: str, firing: Firing, source: str, error: Exception) -> None:
        """Condition ``source`` raised ``error`` (``if:``, ``becomes:`` or a stage's): the one
        wording of a failed condition, for every kind, as an error."""
        self.error(rule, firing, self.says.condition_failed.format(source=source, error=error))

    def changed(self, rule: str, firing: Firing, describe: Callable[[], str]) -> None:
        """A rule changed the member's state (``tag`` …)."""

    def stage(self, t: float, member: str, describe: Callable[[], str]) -> None:
        """A member moved to another lifecycle stage."""

    def noted(self, t: float, rule: str, member: str | None, kind: str, describe: Callable[[], str]) -> None:
        """A trigger of ``rule`` decided something (``kind``: ``answered`` …) about ``member``."""
        self.counts[kind] += 1


class ExplainNotes(Notes):
    """The ``--explain`` sink: every decision is also written down, with the values it read."""

    detailed = True

    def _add(self, rule: str, firing: Firing, kind: str, reason: str, values: dict[str, Any] | None = None) -> None:
        self.notes.append(Note(firing.t, rule, firing.member.id if firing.member else None, kind, reason, values or {}))

    def refused(self, rule: str, firing: Firing, reason: Callable[[], str]) -> None:
        self.counts["miss"] += 1
        self._add(rule, firing, "miss", reason())

    def refused_all(self, refused: list[tuple[str, Firing, Callable[[], str]]]) -> None:
        for rule, firing, reason in refused:
            self.refused(rule, firing, reason)

    def staff(self, skipped: list[tuple[str, Firing]]) -> None:
        self.counts["staff"] += len(skipped)
        for rule, firing in skipped:
            self._add(rule, firing, "miss", self.says.staff)

    def condition_false(self, rule: str, firing: Firing, source: str, context: Mapping[str, Any]) -> None:
        self.counts["miss"] += 1
        values = field_values(source, context)
        shown = self.says.shown.format(values=describe_values(values, self.says.no_value)) if values else ""
        self._add(rule, firing, "miss", self.says.condition_false.format(source=source, shown=shown), values)

    def condition_held(self, held: list[str], source: str, context: Mapping[str, Any]) -> None:
        values = field_values(source, context)
        held.append(f"`{source}`" + (self.says.shown.format(values=describe_values(values, self.says.no_value)) if values else ""))

    def error(self, rule: str, firing: Firing, reason: str) -> None:
        self.counts["error"] += 1
        self._add(rule, firing, "error", reason)

    def too_long(self, rule: str, firing: Firing, reason: str) -> None:
        self.counts["too_long"] += 1
        self._add(rule, firing, "too long", reason)

    def changed(self, rule: str, firing: Firing, describe: Callable[[], str]) -> None:
        self.counts["changed"] += 1
        self._add(rule, firing, "changed", describe())

    def stage(self, t: float, member: str, describe: Callable[[], str]) -> None:
        self.notes.append(Note(t, "", member, "stage", describe()))

    def noted(self, t: float, rule: str, member: str | None, kind: str, describe: Callable[[], str]) -> None:
        self.counts[kind] += 1
        self.notes.append(Note(t, rule, member, kind, describe()))
