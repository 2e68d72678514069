"""The native event source: JSON Lines, one event per line (``--source jsonl``, the default)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from playbook_engine import hookimpl
from playbook_engine.contract import EventSource, Rejected, SourceRecord
from playbook_engine.errors import InvalidInput
from playbook_engine.events import parse_jsonl


def read_jsonl(path: str, options: Mapping[str, Any]) -> Iterator[SourceRecord | Rejected]:
    if path == "-":
        yield from parse_jsonl(sys.stdin.buffer)
        return
    if os.path.isdir(path):
        # Most often an export's folder, run without --source: say which sources read one.
        raise InvalidInput(f"{path}: is a folder, not a file of JSON Lines events — a Slack export folder reads with `--source slack`, a folder of DiscordChatExporter files with `--source discord` (docs/sources.md)")
    with open(path, "rb") as stream:
        yield from parse_jsonl(stream)


@hookimpl
def register_sources(register: Callable[[EventSource], None]) -> None:
    register(EventSource("jsonl", read_jsonl, "Native JSON Lines events, one per line (the default); `-` reads standard input."))
