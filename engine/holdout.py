"""Holdouts: a stable share of members kept out of a playbook's tasks, to see whether it works.

``holdout: 10%`` on a playbook (or ``community.holdout`` for every playbook that sets none)
holds a member out of the playbook when the hash of (playbook, member id) falls in that share:
the same member in every run and every daily ``--state`` slice, whatever else the history
holds; another playbook's holdout is another draw.

The engine plans for a held-out member exactly as for everyone: their tasks take their place in
the operator's day, count for cooldowns, limits and pace, their effects (points, removal) are
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
        self.known: set[tuple[str, str]] = set()  # exposures earlier runs recorded
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

    def restore(self, rows: Iterable[tuple[str, str, float, float | None]], watermark: float) -> None:
        """Earlier runs' exposures (playbook, member, due, wrote at): kept as they are; those
        still waiting for a message within the window go on waiting."""
        for playbook, member, due, wrote_at in rows:
            self.known.add((playbook, member))
            if wrote_at is None and due + WINDOW >= watermark:
                self.waiting.setdefault(member, []).append((due, playbook))

    def exposed(self, playbook: str, member: str, arm: str, due: float) -> None:
        """``member`` got (or, held out, would have got) a task of ``playbook`` due at ``due``."""
        key = (playbook, member)
        if key in self.known or key in self.exposures:
            return  # only the first counts
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
