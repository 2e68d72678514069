"""What the built-in triggers share: reasons written late, durations, fan-out over groups, combined patterns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from playbook_engine.contract import (
    Firing,
    Run,
    TriggerProblem,
)
from playbook_engine.durations import DurationError, parse_duration
from playbook_engine.patterns import Pattern, any_of
from playbook_engine.words import Language, ReasonWords, duration_text, reason_words, words_for

STAGE_ENTERED = "@stage_entered"  # internal event: a member entered a lifecycle stage


def local_text(run: Run, t: float) -> str:
    return run.local.text(t)


# A firing's reason is written only if it plans a task, by a partial of one of these: a long
# run holds a busy day's offers until the day is settled, and a partial is two objects for
# the cycle collector where a closure is five or six.


def says(run: Run) -> ReasonWords:
    """The words of the run's language for a firing's reason (a test's stand-in run: English)."""
    try:
        return run.reason_words  # type: ignore[attr-defined, no-any-return]  # the evaluation's, looked up once
    except AttributeError:
        return reason_words(getattr(run, "language", None))


def language_of(run: Run) -> Language:
    """Every word of the run's language, for what --explain and the re-check say (a test's stand-in run: English)."""
    return words_for(getattr(run, "language", None))


def _silence_reason(words: ReasonWords, seconds: int, since_text: str, spoke: str, not_counting: tuple[str, ...] = ()) -> str:
    duration = duration_text(seconds, words)
    if not_counting:
        duration = words.not_counted.format(duration=duration, days=words.off_kinds["and"].join(words.off_kinds[kind] for kind in not_counting))
    return words.silent.format(duration=duration, since=since_text, spoke=words.spoke[spoke])


def _joined_reason(run: Run, seconds: int, joined_at: float) -> str:
    words = says(run)
    return words.joined.format(duration=duration_text(seconds, words), at=local_text(run, joined_at))


def _stage_reason(run: Run, stage: str, previous: str | None, t: float) -> str:
    words = says(run)
    return words.stage.format(stage=stage, previous=words.previous.format(previous=previous) if previous else "", at=local_text(run, t))


def _duration(value: Any) -> int:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise TriggerProblem(str(exc)) from None


def any_pattern(patterns: Iterable[Pattern]) -> Pattern:
    """One pattern that matches somewhere exactly when one of ``patterns`` does (see ``patterns.any_of``)."""
    return any_of(list(patterns))


EACH = {"enum": ["group", "member"], "description": "`group` (default): fire once per group; `member`: fire for every member of each group."}


def fan_out(run: Run, each: str, t: float, reason: str, values: dict[str, Any]) -> list[Firing]:
    """One firing per known group, or per current member of each group, in id order."""
    return fan_out_in(run, each, t, [(group_id, reason, values) for group_id in run.known_groups()])


def fan_out_in(run: Run, each: str, t: float, groups: list[tuple[str, str, dict[str, Any]]]) -> list[Firing]:
    """One firing per (group id, reason, values) of ``groups``, in id order, or per current
    member of each group with the group's reason and values."""
    firings = []
    seen: set[str] = set()  # a member of two groups is one person: one firing, in their first group
    if each == "member":
        run.prefetch(member_id for group_id, _, _ in groups if (group := run.groups.get(group_id)) for member_id in group.members)
    for group_id, reason, values in groups:
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
