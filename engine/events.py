"""Reading member events: the native JSON Lines format, with every bad line rejected, never dropped."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import MISSING, fields
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from playbook_engine.contract import (
    ID,
    IDS,
    NUMBER,
    OBJECT,
    TEXT,
    TEXTS,
    Event,
    Rejected,
    SourceRecord,
    specs,
)
from playbook_engine.jsontext import fast_loads
from playbook_engine.words import Reason, reason_of

MEMBER_EVENTS = frozenset({"member_joined", "member_left", "message", "reaction", "activity_joined", "profile", "purchase"})
GROUP_EVENTS = frozenset({"member_joined", "member_left", "message", "activity_started", "activity_ended"})
CORE_TYPES = MEMBER_EVENTS | GROUP_EVENTS

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class EventError(ValueError):
    pass


def parse_time(value: Any, tz: ZoneInfo) -> float:
    """Epoch seconds from RFC 3339 (a naive time is read in ``tz``), epoch seconds or milliseconds."""
    if type(value) is str:
        seconds = _common_rfc3339(value)
        if seconds is not None:
            return seconds
    if isinstance(value, bool):
        raise EventError(Reason("ts_bool"))
    if isinstance(value, (int, float)):
        return float(value) / 1000 if abs(value) >= 100_000_000_000 else float(value)
    if not isinstance(value, str):
        raise EventError(Reason("ts_kind"))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise EventError(Reason("ts_not_time", value=repr(value))) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


# The form nearly every export writes, ``2026-03-01T09:15:02+08:00`` (or ``…Z``), is read by
# hand: ``fromisoformat`` and ``timestamp`` cost more than the rest of checking an event. The
# hour with its offset is looked up (the date and the offset each parsed once by ``datetime``),
# and so are the minutes with the seconds; anything else — a fraction of a second, a naive
# time, another separator — takes the general path above.
_DAY_SECONDS: dict[str, int] = {}  # "YYYY-MM-DD" → epoch seconds of its midnight, UTC
_OFFSET_SECONDS: dict[str, int] = {}  # "+08:00" → seconds east of UTC
_HOUR_SECONDS: dict[str, int] = {}  # "YYYY-MM-DDTHH+08:00" → epoch seconds of that local hour
# "MM:SS" → seconds past the hour, for each of the 3,600 valid ones: one look-up checks the
# four digits and reads them (testing them, two int() calls and the ranges cost 40 bytecodes
# more per event).
_PAST_THE_HOUR = {f"{minute:02d}:{second:02d}": minute * 60 + second for minute in range(60) for second in range(60)}


def _common_rfc3339(value: str) -> float | None:
    """Epoch seconds of ``YYYY-MM-DDTHH:MM:SS±HH:MM`` or ``…Z``, exactly as ``fromisoformat`` reads
    it; None for any other text (valid or not: the general path decides)."""
    length = len(value)
    if not (length == 25 or (length == 20 and value[19] == "Z")) or value[13] != ":":
        return None
    past = _PAST_THE_HOUR.get(value[14:19])
    if past is None:
        return None
    key = value[:13] + value[19:]
    hour = _HOUR_SECONDS.get(key)
    if hour is None:
        hour = _hour_seconds(key)
        if hour is None:
            return None
    return float(hour + past)


def _hour_seconds(key: str) -> int | None:
    """Epoch seconds of ``YYYY-MM-DDTHH`` followed by an offset, or None if it is not that form."""
    if key[10] != "T" or not key.isascii() or not key[11:13].isdigit():
        return None
    hours = int(key[11:13])
    if hours > 23:
        return None
    day = _DAY_SECONDS.get(key[:10])
    if day is None:
        day = _day_seconds(key[:10])
        if day is None:
            return None
    zone = key[13:]
    offset = _OFFSET_SECONDS.get(zone)
    if offset is None:
        offset = _offset_seconds(zone)
        if offset is None:
            return None
    if len(_HOUR_SECONDS) > 100_000:
        _HOUR_SECONDS.clear()
    seconds = _HOUR_SECONDS[key] = day + hours * 3600 - offset
    return seconds


def _day_seconds(text: str) -> int | None:
    if text[4] != "-" or text[7] != "-" or not (text[:4] + text[5:7] + text[8:]).isdigit():
        return None
    try:
        ordinal = date.fromisoformat(text).toordinal()
    except ValueError:
        return None
    if len(_DAY_SECONDS) > 10_000:
        _DAY_SECONDS.clear()
    seconds = _DAY_SECONDS[text] = (ordinal - _EPOCH_ORDINAL) * 86400
    return seconds


def _offset_seconds(zone: str) -> int | None:
    if zone != "Z" and not (zone[0] in "+-" and zone[3] == ":" and (zone[1:3] + zone[4:]).isdigit()):
        return None
    try:
        offset = datetime.fromisoformat("2000-01-01T00:00:00" + zone).utcoffset()
    except ValueError:
        return None
    if offset is None:
        return None
    seconds = _OFFSET_SECONDS[zone] = int(offset.total_seconds())
    return seconds


def event_from_record(record: Any, tz: ZoneInfo, line: int = 0) -> Event:
    """Check one decoded record against the event contract and build an Event; raise EventError."""
    if type(record) is dict:
        event = _plain_event(record, line)
        if event is not None:
            return event
    return _checked_event(record, tz, line)


# How each field of an event line is read, by its kind (contract.py), and its place among
# Event's fields; other keys stay in ``raw`` only. The required fields, the time and the type,
# are read first, by hand. Derived once here: the reader looks at every key of every line.
_TEXT, _LIST, _OBJECT, _NUMBER = range(4)
_READ_AS = {TEXT: _TEXT, ID: _TEXT, IDS: _LIST, TEXTS: _LIST, OBJECT: _OBJECT, NUMBER: _NUMBER}
_OPTIONAL = [(key, field_spec.kind) for _, key, field_spec in specs(Event) if not field_spec.required]
_TEXT_FIELDS = tuple(key for key, kind in _OPTIONAL if _READ_AS[kind] == _TEXT)
_NUMBERS_AS_TEXT = frozenset(key for key, kind in _OPTIONAL if kind == ID)
_LIST_FIELDS = tuple(key for key, kind in _OPTIONAL if _READ_AS[kind] == _LIST)
_OBJECT_FIELDS = tuple(key for key, kind in _OPTIONAL if _READ_AS[kind] == _OBJECT)
_NUMBER_FIELDS = tuple(key for key, kind in _OPTIONAL if _READ_AS[kind] == _NUMBER)
_ACTIVITY_EVENTS = frozenset({"activity_started", "activity_joined", "activity_ended"})


_EVENT_FIELDS = [item.name for item in fields(Event)]
_FIELD_KINDS = {key: (_READ_AS[field_spec.kind], _EVENT_FIELDS.index(attribute)) for attribute, key, field_spec in specs(Event) if not field_spec.required}
# Event's arguments for an event with none of its optional fields (``attributes`` is given its
# own dict each time; ``t``, ``type``, ``raw`` and ``line`` are always set).
_BARE_EVENT: list[Any] = [None if item.default is MISSING else item.default for item in fields(Event)]
_MEMBER, _GROUP, _ACTIVITY, _ATTRIBUTES_AT, _RAW, _LINE = (_EVENT_FIELDS.index(name) for name in ("member", "group", "activity", "attributes", "raw", "line"))


# The fields each core type needs, as positions in Event's arguments (a message: its member
# and group): a line without one is for the general check to reject, with the reason.
_NEEDED = {kind: tuple(position for kinds, position in ((MEMBER_EVENTS, _MEMBER), (GROUP_EVENTS, _GROUP), (_ACTIVITY_EVENTS, _ACTIVITY)) if kind in kinds) for kind in CORE_TYPES | _ACTIVITY_EVENTS}

# The lines of an export mostly have the same keys, in the same order: for each such tuple
# of keys, the optional fields among them as (key, how it is read, position in Event's
# arguments), found once. ``_plain_event`` then looks at those keys alone, not at the time,
# the type and keys the contract does not know (about a third of its work per line before).
_FIELDS_OF: dict[tuple[str, ...], tuple[tuple[str, int, int], ...]] = {}


def _fields_of(keys: tuple[str, ...]) -> tuple[tuple[str, int, int], ...]:
    if len(_FIELDS_OF) > 1_000:  # lines of many shapes (a source's free-form keys): start again
        _FIELDS_OF.clear()
    fields_read = _FIELDS_OF[keys] = tuple((key, *_FIELD_KINDS[key]) for key in keys if key in _FIELD_KINDS)
    return fields_read


def _plain_event(record: dict[str, Any], line: int) -> Event | None:
    """The Event of a record in the plain form sources write — texts as text, ids in lists as
    text, the common RFC 3339 time — built in one pass over the keys it knows; None for anything else,
    which ``_checked_event`` converts or rejects field by field (the same Event, or the reason)."""
    kind, ts = record.get("type"), record.get("ts")
    if type(kind) is not str or not kind or type(ts) is not str:
        return None
    t = _common_rfc3339(ts)
    if t is None:
        return None
    arguments = _BARE_EVENT.copy()
    arguments[0], arguments[1], arguments[_RAW], arguments[_LINE] = t, kind, record, line
    keys = tuple(record)
    fields_read = _FIELDS_OF.get(keys)
    if fields_read is None:
        fields_read = _fields_of(keys)
    for name, how, position in fields_read:
        value = record[name]
        if value is None:
            continue
        if how == _TEXT:
            if type(value) is not str:
                return None
        elif how == _LIST:
            if type(value) is not list:
                return None
            for item in value:
                if type(item) is not str:
                    return None
            value = tuple(value)
        elif how == _OBJECT:
            if type(value) is not dict:
                return None
        elif type(value) is int or type(value) is float:
            value = float(value)
        else:
            return None
        arguments[position] = value
    needed = _NEEDED.get(kind)
    if needed is not None:
        for position in needed:
            if arguments[position] is None:
                return None
    if arguments[_ATTRIBUTES_AT] is None:
        arguments[_ATTRIBUTES_AT] = {}
    return Event(*arguments)


def _checked_event(record: Any, tz: ZoneInfo, line: int) -> Event:
    if not isinstance(record, dict):
        raise EventError(Reason("not_object"))
    if "ts" not in record:
        raise EventError(Reason("no_ts"))
    kind = record.get("type")
    if not isinstance(kind, str) or not kind:
        raise EventError(Reason("no_type" if kind is None else "type_text"))
    t = parse_time(record["ts"], tz)
    values: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = record.get(name)
        if value is None:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and name in _NUMBERS_AS_TEXT:
            value = str(value)
        if not isinstance(value, str):
            raise EventError(Reason("must_be_text", name=name))
        values[name] = value
    for name in _LIST_FIELDS:
        value = record.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, (str, int)) and not isinstance(item, bool) for item in value):
            raise EventError(Reason("must_be_ids", name=name))
        values[name] = tuple(str(item) for item in value)
    if kind in MEMBER_EVENTS and "member" not in values:
        raise EventError(Reason("needs_member", kind=kind))
    if kind in GROUP_EVENTS and "group" not in values:
        raise EventError(Reason("needs_group", kind=kind))
    if kind in ("activity_started", "activity_joined", "activity_ended") and "activity" not in values:
        raise EventError(Reason("needs_activity", kind=kind))
    for name in _OBJECT_FIELDS:
        value = record.get(name)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise EventError(Reason("must_be_object", name=name))
        values[name] = value
    for name in _NUMBER_FIELDS:
        value = record.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise EventError(Reason("must_be_number", name=name))
        values[name] = float(value)
    return Event(t=t, type=kind, raw=record, line=line, **values)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _encodable(record: dict[str, Any]) -> bool:
    """Whether every text in ``record`` is real text (JSON lets ``\\ud800`` alone through)."""
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _without_bom(line: str | bytes) -> str | bytes:
    if isinstance(line, bytes):
        return line[3:] if line.startswith(b"\xef\xbb\xbf") else line
    return line[1:] if line.startswith("\ufeff") else line


def parse_jsonl(lines: Iterable[str | bytes]) -> Iterator[SourceRecord | Rejected]:
    """Decode JSON Lines: a SourceRecord or a Rejected for every non-blank line, numbered from 1.

    Lines are decoded by orjson; one it refuses (or one with a very long number) is decoded
    by the json module, which says what is wrong (see ``playbook_engine.jsontext``).
    """
    for number, line in enumerate(lines, 1):
        if number == 1:
            line = _without_bom(line)  # Notepad and Excel begin a UTF-8 file with one
        if isinstance(line, bytes):
            try:
                record = fast_loads(line)
            except ValueError:
                pass  # blank, not UTF-8, not JSON, a long number: the json module's path below
            else:
                if isinstance(record, dict):
                    yield SourceRecord(number, record)
                    continue
            raw = line
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield Rejected(number, Reason("not_utf8"), raw.decode("utf-8", "replace").rstrip("\n"))
                continue
        text = line.strip()
        if not text:
            continue
        try:
            record = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            yield Rejected(number, Reason("bad_json", detail=Reason("json_at", message=exc.msg, column=exc.colno)), text)
            continue
        except ValueError as exc:  # NaN, Infinity: not JSON, and no time, count or amount
            yield Rejected(number, Reason("bad_json", detail=str(exc)), text)
            continue
        if not isinstance(record, dict):
            yield Rejected(number, Reason("not_object"), text)
            continue
        if not _encodable(record):  # orjson refuses these lines: only the json module's path sees them
            yield Rejected(number, Reason("lone_surrogate"), text)
            continue
        yield SourceRecord(number, record)


def to_event(item: SourceRecord | Rejected | Event, tz: ZoneInfo) -> Event | Rejected:
    """Check a source record against the event contract: an Event, or a Rejected saying why not."""
    if not isinstance(item, SourceRecord):
        return item
    if item.event is not None:  # built by the source from typed values, and tested against the check
        return item.event
    try:
        return event_from_record(item.data, tz, item.number)
    except EventError as exc:
        return Rejected(item.number, reason_of(exc), json.dumps(item.data, ensure_ascii=False, default=str))
