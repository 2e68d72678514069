"""The native event source: JSON Lines, one event per line (``--source jsonl``, the default)."""

from __future__ import annotations

import os
import re
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


# QQ's 消息管理器 → 导出消息记录 → .txt opens with this line (in full width brackets; some
# versions write ASCII ones): a header, then `时间 昵称(QQ号)` and the message's lines.
QQ_TEXT_EXPORT = re.compile(r"消息记录[（(]此消息记录为文本格式")


def refuses(head: str) -> str | None:
    """QQ's own text export, which no source reads: say so in one line, with what to do instead."""
    if QQ_TEXT_EXPORT.match(head) is None:
        return None
    return (
        "this is QQ's own text export (消息记录（此消息记录为文本格式…), which no source reads — write its messages out as "
        "a CSV with a header (time, QQ number, nickname, text) and read that with `--source csv --map ts=…,member=…,name=…,text=…` "
        "(docs/sources.md, Generic CSV)"
    )


@hookimpl
def register_sources(register: Callable[[EventSource], None]) -> None:
    register(EventSource("jsonl", read_jsonl, "Native JSON Lines events, one per line (the default); `-` reads standard input.", refuses=refuses))
