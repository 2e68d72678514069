"""JSON documents read one record at a time (``--source json``), and the helpers JSON exports share.

Telegram's ``result.json`` and DiscordChatExporter's files are single JSON documents whose bulk is
one ``messages`` array. ``json.load`` would hold a 500 MB export in memory several times over, so
these readers use ijson, an incremental parser with a C backend, and build one message at a time.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, tzinfo
from typing import IO, Any

import ijson

from playbook_engine import hookimpl
from playbook_engine.contract import EventSource, Rejected, SourceRecord
from playbook_engine.errors import InvalidInput
from playbook_engine.words import Reason


def rfc3339(epoch: float, tz: tzinfo) -> str:
    """The native ``ts``: RFC 3339 in the community time zone; milliseconds only when the input has them."""
    moment = datetime.fromtimestamp(epoch, tz)
    return moment.isoformat(timespec="seconds" if moment.microsecond < 1000 else "milliseconds")


def raw_json(record: Any) -> str:
    """A record as one line of JSON, for ``--rejects`` (``default=str`` because ijson may give Decimals)."""
    return json.dumps(record, ensure_ascii=False, default=str)


def json_problem(path: str, exc: Exception, stream: Any) -> InvalidInput:
    """Turn an ijson error into a message an operator can act on, with the byte offset reached."""
    where = _offset(stream)
    detail = str(exc)
    if "invalid bytes in UTF8" in detail or isinstance(exc, UnicodeDecodeError):
        return InvalidInput(f"{path}: not UTF-8 text{where} — JSON exports are UTF-8; export the file again instead of re-saving it in another encoding")
    if "premature EOF" in detail or "Incomplete JSON" in detail:
        return InvalidInput(f"{path}: the JSON ends too early{where} — the file is truncated (an interrupted export or copy); export it again")
    return InvalidInput(f"{path}: not valid JSON{where} — is this the right file for this source?")


def _offset(stream: Any) -> str:
    try:
        return f" (near byte {stream.tell():,})"
    except (OSError, ValueError):
        return ""


def read_header(path: str, stream: IO[bytes], stop_key: str) -> dict[str, Any]:
    """The top-level fields of a JSON object that come before ``stop_key`` (which must be an array).

    Exports put their small metadata (chat id, guild, channel) before the big ``messages`` array,
    so reading up to that key costs nothing and tells us whether this is the right kind of file.
    """
    return read_header_until(path, stream, (stop_key,))[0]


def read_header_until(path: str, stream: IO[bytes], stop_keys: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    """The top-level fields before the first of ``stop_keys``, and which one it was (for a file
    that can be one of two layouts: Telegram's one chat, or its whole-account ``chats``)."""
    stop_key = " or ".join(f"`{key}`" for key in stop_keys).strip("`")
    header: dict[str, Any] = {}
    key: str | None = None
    builder: Any = None
    try:
        for prefix, event, value in ijson.parse(stream, use_float=True):
            if prefix == "":
                if event == "start_map":
                    continue
                if event == "map_key":
                    if value in stop_keys:
                        return header, value
                    key, builder = value, ijson.ObjectBuilder()
                    continue
                if event == "end_map":
                    break
                raise InvalidInput(f"{path}: the file is a JSON {_kind(event)}, not an object with `{stop_key}` — is this the right file for this source?")
            builder.event(event, value)
            if key is not None and prefix == key and event not in ("start_map", "start_array"):
                header[key] = builder.value
    except ijson.JSONError as exc:
        raise json_problem(path, exc, stream) from None
    raise InvalidInput(f"{path}: no `{stop_key}` list in this JSON file — is this the right file for this source?")


def _kind(event: str) -> str:
    return {"start_array": "list", "string": "string", "number": "number"}.get(event, "value")


def iter_items(path: str, stream: Any, prefix: str) -> Iterator[Any]:
    """Each element under ``prefix`` (e.g. ``messages.item``), mapping parse errors to InvalidInput."""
    items = ijson.items(stream, prefix, use_float=True)
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except ijson.JSONError as exc:
            raise json_problem(path, exc, stream) from None
        yield item


def open_binary(path: str, source: str) -> IO[bytes]:
    """Open ``path`` for reading bytes; ``-`` is standard input. A folder is a clear error, not a crash."""
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except IsADirectoryError:
        raise InvalidInput(f"{path}: is a folder — `--source {source}` reads one file") from None


def read_json_events(path: str, options: Mapping[str, Any]) -> Iterator[SourceRecord | Rejected]:
    """Native events in one JSON array (``[{...}, ...]``), as API dumps and ``jq -s`` write them."""
    stream = open_binary(path, "json")
    try:
        first = stream.read(1)
        while first.isspace():
            first = stream.read(1)
        if first != b"[":
            raise InvalidInput(f"{path}: `--source json` reads a JSON list of events (starting with `[`) — for one event per line use `--source jsonl`")
        for number, item in enumerate(iter_items(path, _Prepended(first, stream), "item"), 1):
            if isinstance(item, dict):
                yield SourceRecord(number, item)
            else:
                yield Rejected(number, Reason("not_object"), raw_json(item))
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


class _Prepended:
    """A byte stream with the bytes already peeked at put back in front (standard input cannot seek)."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self.head, self.rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes with read(0) to tell bytes from text
            return b""
        head, self.head = self.head, b""
        if size < 0:
            return head + self.rest.read()
        return head + self.rest.read(max(size - len(head), 0))

    def tell(self) -> int:
        return self.rest.tell() - len(self.head)


@hookimpl
def register_sources(register: Callable[[EventSource], None]) -> None:
    register(EventSource("json", read_json_events, "Native events as one JSON list (streamed); `-` reads standard input.", recognize))


def recognize(head: str) -> int:
    """A JSON list whose first item has an event's ``ts`` and ``type`` is surely native events in
    one list (2)."""
    return 2 if head.startswith("[") and '"ts"' in head[:2000] and '"type"' in head[:2000] else 0
