"""Reading member events: the native JSON Lines format, with every bad line rejected, never dropped."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.jsontext import fast_loads

MEMBER_EVENTS = frozenset({"member_joined", "member_left", "message", "reaction", "activity_joined", "profile", "purchase"})
GROUP_EVENTS = frozenset({"member_joined", "member_left", "message", "activity_started", "activity_ended"})
CORE_TYPES = MEMBER_EVENTS | GROUP_EVENTS

_LIST_FIELDS = ("mentions", "participants", "tags")
_TEXT_FIELDS = ("member", "group", "name", "id", "text", "reply_to", "activity", "channel", "inviter", "reason")


@dataclass(slots=True)
class Event:
    """One thing that happened in a community. ``t`` is epoch seconds; ``raw`` the fields as read."""

    t: float
    type: str
    member: str | None = None
    group: str | None = None
    name: str | None = None
    id: str | None = None
    text: str | None = None
    mentions: tuple[str, ...] = ()
    reply_to: str | None = None
    activity: str | None = None
    participants: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    channel: str | None = None
    amount: float | None = None
    inviter: str | None = None
    reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input record that could not be used, and why; reported, counted, optionally saved."""

    line: int
    reason: str
    text: str


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """What an event source yields for each usable input record: its number and native fields."""

    number: int
    data: dict[str, Any]


class EventError(ValueError):
    pass


def parse_time(value: Any, tz: ZoneInfo) -> float:
    """Epoch seconds from RFC 3339 (a naive time is read in ``tz``), epoch seconds or milliseconds."""
    if isinstance(value, bool):
        raise EventError("`ts` is true/false — write an RFC 3339 time such as 2026-03-01T09:15:02+08:00")
    if isinstance(value, (int, float)):
        return float(value) / 1000 if abs(value) >= 100_000_000_000 else float(value)
    if not isinstance(value, str):
        raise EventError("`ts` must be an RFC 3339 time or epoch seconds")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise EventError(f"`ts` {value!r} is not an RFC 3339 time (e.g. 2026-03-01T09:15:02+08:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def event_from_record(record: Any, tz: ZoneInfo, line: int = 0) -> Event:
    """Check one decoded record against the event contract and build an Event; raise EventError."""
    if not isinstance(record, dict):
        raise EventError("an event must be a JSON object")
    if "ts" not in record:
        raise EventError("missing `ts`")
    kind = record.get("type")
    if not isinstance(kind, str) or not kind:
        raise EventError("missing `type`" if kind is None else "`type` must be text")
    t = parse_time(record["ts"], tz)
    values: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = record.get(name)
        if value is None:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and name in ("member", "group", "id", "reply_to", "inviter", "activity"):
            value = str(value)
        if not isinstance(value, str):
            raise EventError(f"`{name}` must be text")
        values[name] = value
    for name in _LIST_FIELDS:
        value = record.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, (str, int)) and not isinstance(item, bool) for item in value):
            raise EventError(f"`{name}` must be a list of ids")
        values[name] = tuple(str(item) for item in value)
    if kind in MEMBER_EVENTS and "member" not in values:
        raise EventError(f"`{kind}` event without `member`")
    if kind in GROUP_EVENTS and "group" not in values:
        raise EventError(f"`{kind}` event without `group`")
    if kind in ("activity_started", "activity_joined", "activity_ended") and "activity" not in values:
        raise EventError(f"`{kind}` event without `activity`")
    attributes = record.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, dict):
            raise EventError("`attributes` must be an object of key/value pairs")
        values["attributes"] = attributes
    amount = record.get("amount")
    if amount is not None:
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise EventError("`amount` must be a number")
        values["amount"] = float(amount)
    return Event(t=t, type=kind, raw=record, line=line, **values)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_jsonl(lines: Iterable[str | bytes]) -> Iterator[SourceRecord | Rejected]:
    """Decode JSON Lines: a SourceRecord or a Rejected for every non-blank line, numbered from 1.

    Lines are decoded by orjson; one it refuses (or one with a very long number) is decoded
    by the json module, which says what is wrong (see ``engine.jsontext``).
    """
    for number, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            try:
                record = fast_loads(line)
            except ValueError:
                pass  # blank, not UTF-8, not JSON, a long number: the json module's path below
            else:
                if isinstance(record, dict):
                    yield SourceRecord(number, record)
                    continue
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                yield Rejected(number, "not UTF-8 text", line.decode("utf-8", "replace").rstrip("\n"))
                continue
        text = line.strip()
        if not text:
            continue
        try:
            record = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            yield Rejected(number, f"not valid JSON ({exc.msg} at column {exc.colno})", text)
            continue
        except ValueError as exc:  # NaN, Infinity: not JSON, and no time, count or amount
            yield Rejected(number, f"not valid JSON ({exc})", text)
            continue
        if not isinstance(record, dict):
            yield Rejected(number, "an event must be a JSON object", text)
            continue
        yield SourceRecord(number, record)


def to_event(item: SourceRecord | Rejected | Event, tz: ZoneInfo) -> Event | Rejected:
    """Check a source record against the event contract: an Event, or a Rejected saying why not."""
    if not isinstance(item, SourceRecord):
        return item
    try:
        return event_from_record(item.data, tz, item.number)
    except EventError as exc:
        return Rejected(item.number, str(exc), json.dumps(item.data, ensure_ascii=False, default=str))
