"""With ``--state``: each question asked in a group, and when it was first answered — what
``playbook report`` draws as question answer times.

A question and its answer are what the ``unanswered`` trigger reads (``community.question``):
a message matching ``question.patterns``; answered by what ``question.answered_by`` lists — a
reply to it (or to the asker's next line in its group within ``answer_window``: a question asked in
two lines), a message in its group mentioning the asker, or (``next_message``) a message in its
group by someone else, not itself a question, within ``answer_window``. The trigger keeps its
questions only while a rule waits on them; this log keeps every question, whether or not a
playbook has an ``unanswered`` rule, so the report can say how fast the groups answer.

Questions asked by staff are not counted (the community's own people ask to start a talk, not
for help), nor questions put to another member by an @ ("@李四 你读完了吗？": theirs to answer);
staff answers count. A question still unanswered a week after it was asked
(``HORIZON``) is no longer looked for: the report counts it as never answered. Collected in
lists during the run, written by the state in one batch when it saves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from playbook_engine.contract import Event
from playbook_engine.triggers.silence import MENTION, NEXT_MESSAGE, REPLY, addressed, asks_again, next_answer

HORIZON = 7 * 86400  # how long an open question may still be answered


class QuestionLog:
    """The questions of a run, and their first answers (``asked``, ``answered``: what to save)."""

    def __init__(self, answered_by: Iterable[str], answer_window: float, staff: frozenset[str], me_too: Any = None):
        answered_by = frozenset(answered_by)
        self.by_reply = REPLY in answered_by
        self.by_mention = MENTION in answered_by
        self.by_next_message = NEXT_MESSAGE in answered_by
        self.window = answer_window
        self.staff = staff
        self.me_too = me_too  # "同问", "+1": no next_message answer (``asks_again``)
        self.open: dict[str, tuple[str | None, str, float]] = {}  # key → (group, asker, asked at)
        self._by_asker: dict[str, list[str]] = {}  # asker → keys of their open questions (mentions)
        self._recent: dict[str, list[str]] = {}  # group → keys asked there within the window, oldest first
        self._followups: dict[str, list[str]] = {}  # the asker's next line → their open questions it goes on with
        self.asked: list[tuple[str, str | None, str, float]] = []  # new: (key, group, asker, asked at)
        self.answered: list[tuple[str, float, str]] = []  # (key, answered at, how)
        self._prune_at = 4096  # open questions at which those past the horizon are let go

    def restore(self, questions: Iterable[tuple[str, str | None, str, float]], now: float) -> None:
        """The questions earlier runs saved that are still open and may still be answered."""
        for key, group, asker, asked_at in sorted(questions, key=lambda question: question[3]):
            self._open(key, group, asker, asked_at, now)

    def _open(self, key: str, group: str | None, asker: str, asked_at: float, now: float) -> None:
        self.open[key] = (group, asker, asked_at)
        self._by_asker.setdefault(asker, []).append(key)
        if group is not None and self.by_next_message and asked_at >= now - self.window:
            self._recent.setdefault(group, []).append(key)

    def message(self, event: Event, member: str, asked: bool) -> None:
        """``member`` wrote ``event`` (``asked``: a question): does it answer open questions, or ask one?"""
        t = event.t
        if self.open:
            if self.by_reply and event.reply_to:
                for key in [event.reply_to] if event.reply_to in self.open else self._followups.get(event.reply_to, ()):
                    if key in self.open and self.open[key][1] != member:
                        self._answer(key, t, REPLY)
            if self.by_reply and not asked and event.id and member in self._by_asker:
                self._follow_up(event, member, t)
            if self.by_mention and event.mentions:
                for asker in event.mentions:
                    if asker != member and asker in self._by_asker:
                        for key in list(self._by_asker[asker]):
                            if self.open[key][0] == event.group:
                                self._answer(key, t, MENTION)
            if self.by_next_message and not asked and event.group in self._recent:
                if not asks_again(event, self.me_too):
                    replied = ([event.reply_to] if event.reply_to in self.open else self._followups.get(event.reply_to, [])) if event.reply_to else []
                    self._next_message(event, member, t, replied)
        if asked and member not in self.staff and not addressed(event, member, self.staff):
            key = event.id or f"{event.group}/{member}/{t}"  # as the unanswered trigger names it
            if key not in self.open:
                self.asked.append((key, event.group, member, t))
                if event.group is not None:
                    self._forget_old(event.group, t)
                self._open(key, event.group, member, t, t)

    def _follow_up(self, event: Event, member: str, t: float) -> None:
        """``member``'s line ``event`` goes on with their questions asked in its group within the
        window: a reply to it answers them (a question asked in two lines, answered by quoting
        the second)."""
        oldest = t - self.window
        keys = [key for key in self._by_asker[member] if self.open[key][0] == event.group and self.open[key][2] >= oldest]
        if keys:
            if len(self._followups) > self._prune_at:  # now and then: those of closed questions
                self._followups = {line: open_keys for line, open_keys in self._followups.items() if any(key in self.open for key in open_keys)}
            self._followups[event.id] = keys  # type: ignore[index]  # checked by the caller

    def _next_message(self, event: Event, member: str, t: float, replied: list[str]) -> None:
        """A plain message answers every question of its group asked by someone else within the
        window that it is an answer to (``next_answer``; ``replied``: those it replies to)."""
        group = event.group
        assert group is not None  # (checked by the caller)
        oldest = t - self.window
        waiting = []
        for key in self._recent[group]:
            question = self.open.get(key)
            if question is None or question[2] < oldest:
                continue  # answered, or asked too long ago
            if question[1] == member or not next_answer(event, member, question[1], key, replied):
                waiting.append(key)
            else:
                self._answer(key, t, NEXT_MESSAGE)
        if waiting:
            self._recent[group] = waiting
        else:
            del self._recent[group]

    def _forget_old(self, group: str, t: float) -> None:
        """Questions too old for a plain message to answer leave the group's list; those nobody
        answered within ``HORIZON`` are no longer looked for at all."""
        keys = self._recent.get(group)
        oldest = t - self.window
        while keys and (keys[0] not in self.open or self.open[keys[0]][2] < oldest):
            del keys[0]
        if len(self.open) > self._prune_at:  # now and then: the questions past the horizon
            horizon = t - HORIZON
            for key in [key for key, question in self.open.items() if question[2] < horizon]:
                self._close(key)
            self._prune_at = 2 * len(self.open) + 4096

    def _answer(self, key: str, t: float, how: str) -> None:
        group, asker, asked_at = self.open[key]
        if t - asked_at > HORIZON:
            self._close(key)
            return
        self.answered.append((key, t, how))
        self._close(key)

    def _close(self, key: str) -> None:
        _, asker, _ = self.open.pop(key)
        keys = self._by_asker.get(asker)
        if keys is not None:
            keys.remove(key)
            if not keys:
                del self._by_asker[asker]
