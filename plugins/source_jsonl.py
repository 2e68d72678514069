"""The native event source: JSON Lines, one event per line (``--source jsonl``, the default)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from playbook_engine import hookimpl
from playbook_engine.events import Rejected, SourceRecord, parse_jsonl
from playbook_engine.plugins import EventSource


def read_jsonl(path: str, options: Mapping[str, Any]) -> Iterator[SourceRecord | Rejected]:
    if path == "-":
        yield from parse_jsonl(sys.stdin.buffer)
        return
    with open(path, "rb") as stream:
        yield from parse_jsonl(stream)


@hookimpl
def register_sources(register: Callable[[EventSource], None]) -> None:
    register(EventSource("jsonl", read_jsonl, "Native JSON Lines events, one per line (the default); `-` reads standard input."))
