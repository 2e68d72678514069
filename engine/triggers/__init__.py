"""Trigger kinds: what makes a rule fire. Each is a small class; plugins can add their own.

A trigger instance belongs to one rule. The evaluation calls ``on_event`` for the event types
in ``listens`` (after the member's state has been updated by that event) and ``on_timer`` when
a timer the trigger scheduled with ``run.schedule`` comes due. Both yield ``Firing`` records;
the rule's conditions and actions are applied by the engine, not by the trigger.

Per-member bookkeeping goes in ``member.marks`` under keys that start with ``self.key``;
anything else a trigger remembers during a run goes in ``run.store(self)``, a dict that
belongs to the run (a trigger object is shared by every run of a loaded playbook).

The built-in kinds, one module per family:

- ``event``: ``event``, ``activity_ended``;
- ``silence``: ``silence``, ``after_join``, ``unanswered``;
- ``schedule``: ``schedule``, ``holiday``, ``group_age``;
- ``ranking``: ``leaderboard``, ``milestone``;
- ``stage``: ``stage``, ``becomes``.
"""

from __future__ import annotations

from playbook_engine.triggers.event import ActivityEndedTrigger, EventTrigger
from playbook_engine.triggers.ranking import LeaderboardTrigger, MilestoneTrigger
from playbook_engine.triggers.schedule import GroupAgeTrigger, HolidayTrigger, ScheduleTrigger
from playbook_engine.triggers.silence import (
    AfterJoinTrigger,
    SilenceTrigger,
    UnansweredTrigger,
)
from playbook_engine.triggers.stage import BecomesTrigger, StageTrigger

BUILTIN_TRIGGERS = (
    EventTrigger,
    SilenceTrigger,
    AfterJoinTrigger,
    UnansweredTrigger,
    StageTrigger,
    ScheduleTrigger,
    HolidayTrigger,
    GroupAgeTrigger,
    LeaderboardTrigger,
    MilestoneTrigger,
    ActivityEndedTrigger,
    BecomesTrigger,
)
