"""The built-in trigger kinds, registered like any plugin's."""

from __future__ import annotations

from collections.abc import Callable

from playbook_engine import hookimpl
from playbook_engine.contract import TriggerType
from playbook_engine.triggers import BUILTIN_TRIGGERS


@hookimpl
def register_triggers(register: Callable[[type[TriggerType]], None]) -> None:
    for trigger in BUILTIN_TRIGGERS:
        register(trigger)
