"""Holdouts: a stable share of members kept out of a playbook's tasks, to see whether it works.

``holdout: 10%`` on a playbook (or ``community.holdout`` for every playbook that sets none)
holds a member out of the playbook when the hash of (playbook, member id) falls in that share:
the same member in every run and every daily ``--state`` slice, whatever else the history
holds; another playbook's holdout is another draw.

The engine plans for a held-out member exactly as for everyone: their tasks take their place in
the operator's day, count for cooldowns, limits, pace and the loop fields (``member.open_tasks``
…, in every run that reads them back from the state too), their effects (points, removal) are
recorded. Only when a day is settled are the tasks withheld (``Planner._hold_out``: status
``held_out``, counted and explained like any drop). So holding out never changes the plan for
anybody else — the price is that the operator's capacity carries the held-out tasks.

What the report compares (``playbook report``): per playbook with a holdout, each member's first
task of it — given, or held out — and whether the member wrote again within ``WINDOW`` after
its due time. That is an intention-to-treat comparison: a member counts as treated when the plan
gave them the task, whether or not an operator then sent it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from playbook_engine.localtime import DAY
from playbook_engine.model import Config

WINDOW = 7 * DAY  # "wrote again within 7 days after a (would-be) task"
TREATED, HELD_OUT = "treated", "held_out"


def shares(config: Config) -> dict[str, float]:
    """Each playbook's holdout share, for those with one."""
    found = {}
    for playbook in config.playbooks:
        share = playbook.holdout if playbook.holdout is not None else config.community.holdout
        if share > 0:
            found[playbook.id] = share
    return found


def held_out(playbook: str, member: str, share: float) -> bool:
    """Whether ``member`` is in the ``share`` of members held out of ``playbook``: a hash, not a
    random draw, so every run on any machine says the same."""
    digest = hashlib.blake2b(f"{playbook}\x00{member}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < share * 2**64


class Holdout:
    """Who is held out of which playbook, and each member's first task of it (the exposure)."""

    def __init__(self, shares: Mapping[str, float], last_message: Callable[[str], float | None]):
        self.shares = dict(shares)
        self._last_message = last_message
        self._held: dict[tuple[str, str], bool] = {}
        self.known: set[tuple[str, str]] = set()  # exposures earlier runs recorded, as far as read
        self._recorded: Callable[[str, str], bool] | None = None  # asks the state for the others
        # (playbook, member) → [arm, due, wrote at]: this run's exposures, for --state.
        self.exposures: dict[tuple[str, str], list[str | float | None]] = {}
        self.waiting: dict[str, list[tuple[float, str]]] = {}  # member → (due, playbook) not yet followed by a message
        self.wrote: list[tuple[str, str, float]] = []  # (playbook, member, when): earlier runs' exposures answered now

    def held(self, playbook: str, member: str) -> bool:
        share = self.shares.get(playbook)
        if share is None:
            return False
        key = (playbook, member)
        found = self._held.get(key)
        if found is None:
            found = self._held[key] = held_out(playbook, member, share)
        return found

    def restore(self, rows: Iterable[tuple[str, str, float, float | None]], watermark: float, recorded: Callable[[str, str], bool] | None = None) -> None:
        """Earlier runs' exposures (playbook, member, due, wrote at): kept as they are; those
        still waiting for a message within the window go on waiting. ``recorded(playbook,
        member)``: whether an earlier run recorded one not among ``rows`` (a daily run reads the
        exposures still waiting, and asks about the others as members get tasks)."""
        self._recorded = recorded
        for playbook, member, due, wrote_at in rows:
            self.known.add((playbook, member))
            if wrote_at is None and due + WINDOW >= watermark:
                self.waiting.setdefault(member, []).append((due, playbook))

    def exposed(self, playbook: str, member: str, arm: str, due: float) -> None:
        """``member`` got (or, held out, would have got) a task of ``playbook`` due at ``due``."""
        key = (playbook, member)
        if key in self.known or key in self.exposures:
            return  # only the first counts
        if self._recorded is not None and self._recorded(playbook, member):
            self.known.add(key)
            return
        last = self._last_message(member)
        # Days are settled when they end: the member may have written since the task was due.
        wrote = last if last is not None and due < last <= due + WINDOW else None
        self.exposures[key] = [arm, due, wrote]
        if wrote is None:
            self.waiting.setdefault(member, []).append((due, playbook))

    def message(self, member: str, t: float) -> None:
        """``member`` wrote at ``t``: each of their exposures waiting, within the window, is answered."""
        left = []
        for due, playbook in self.waiting.pop(member, ()):
            if t <= due:
                left.append((due, playbook))
            elif t <= due + WINDOW:
                exposure = self.exposures.get((playbook, member))
                if exposure is not None:
                    exposure[2] = t
                else:
                    self.wrote.append((playbook, member, t))
        if left:
            self.waiting[member] = left


# -- what the report says of it -----------------------------------------------------------------

MIN_ARM = 30  # fewer members in either arm: "too few to tell"


@dataclass(frozen=True)
class Arm:
    members: int  # whose 7 days after their first task had passed by the state's watermark
    wrote: int  # of them, those who wrote again within the 7 days

    @property
    def rate(self) -> float | None:
        return self.wrote / self.members if self.members else None


@dataclass(frozen=True)
class Comparison:
    """One playbook's treated and held-out members, and the difference of their rates with its
    95 % interval (None: too few members in an arm to tell)."""

    playbook: str
    treated: Arm
    held_out: Arm
    difference: tuple[float, float, float] | None  # treated − held out: estimate, low, high

    @property
    def enough(self) -> bool:
        return self.difference is not None


def compare(rows: Iterable[tuple[str, str, float, float | None]], watermark: float) -> list[Comparison]:
    """Per playbook, from the state's exposures (playbook, arm, due, wrote at): members whose
    window ended by ``watermark`` only — counting those still inside it would count early
    writers and not the others. The interval is Newcomb's hybrid score interval for a difference
    of two independent proportions (statsmodels), which holds up for small counts and rates near
    0 or 1, where the textbook Wald interval does not."""
    counts: dict[str, dict[str, list[int]]] = {}
    for playbook, arm, due, wrote_at in rows:
        if due + WINDOW > watermark:
            continue
        tally = counts.setdefault(playbook, {TREATED: [0, 0], HELD_OUT: [0, 0]})[arm]
        tally[0] += 1
        tally[1] += wrote_at is not None and wrote_at <= due + WINDOW
    found = []
    for playbook in sorted(counts):
        treated, held = (Arm(*counts[playbook][arm]) for arm in (TREATED, HELD_OUT))
        difference = None
        if treated.members >= MIN_ARM and held.members >= MIN_ARM:
            from statsmodels.stats.proportion import confint_proportions_2indep  # the report extra

            low, high = confint_proportions_2indep(treated.wrote, treated.members, held.wrote, held.members, method="newcomb", compare="diff")
            difference = (treated.wrote / treated.members - held.wrote / held.members, float(low), float(high))
        found.append(Comparison(playbook, treated, held, difference))
    return found
