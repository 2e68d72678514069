"""Telegram Desktop "Export chat history" (``result.json``) as events (``--source telegram``).

Joins and removals in the export name people by display name only (``"members": ["Bob"]``),
while messages carry ids (``from_id: "user222"``). So the file is read twice, both times one
message at a time: first to learn which id each display name belongs to, then to yield events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from playbook_engine import hookimpl
from playbook_engine.contract import EventSource, Rejected, SourceRecord
from playbook_engine.errors import InvalidInput
from playbook_engine.events import EventError, parse_time
from playbook_plugins.source_json import (
    iter_items,
    open_binary,
    raw_json,
    read_header,
    rfc3339,
)

JOIN_ACTIONS = frozenset({"invite_members", "create_group"})
SELF_JOIN_ACTIONS = frozenset({"join_group_by_link", "join_group_by_request"})


class NameIndex:
    """Display name → platform id, learned from senders; ambiguous or unseen names get ``name:…`` ids."""

    def __init__(self) -> None:
        self._ids: dict[str, set[str]] = {}

    def learn(self, name: Any, member_id: Any) -> None:
        if isinstance(name, str) and name and isinstance(member_id, str) and member_id:
            self._ids.setdefault(name, set()).add(member_id)

    def resolve(self, name: str) -> str:
        ids = self._ids.get(name, set())
        return next(iter(ids)) if len(ids) == 1 else f"name:{name}"


def read_telegram(path: str, options: Mapping[str, Any]) -> Iterator[SourceRecord | Rejected]:
    """Events from a Telegram Desktop ``result.json``, one message in memory at a time."""
    if path == "-":
        raise InvalidInput("-: `--source telegram` reads the file twice — pass the path to result.json instead of standard input")
    tz: ZoneInfo = options["timezone"]
    with open_binary(path, "telegram") as stream:
        header = _check_header(path, read_header(path, stream, "messages"))
        stream.seek(0)
        names = NameIndex()
        for message in iter_items(path, stream, "messages.item"):
            if isinstance(message, dict):
                names.learn(message.get("from"), message.get("from_id"))
                names.learn(message.get("actor"), message.get("actor_id"))
        stream.seek(0)
        group = str(header["id"])
        for number, message in enumerate(iter_items(path, stream, "messages.item"), 1):
            try:
                events = events_from_message(message, group, names, tz)
            except ValueError as exc:
                yield Rejected(number, str(exc), raw_json(message))
                continue
            for event in events:
                yield SourceRecord(number, event)


def _check_header(path: str, header: dict[str, Any]) -> dict[str, Any]:
    if "chats" in header or "personal_information" in header:
        raise InvalidInput(f"{path}: this is a whole-account export — export one group instead: open the group in Telegram Desktop, ⋮ → Export chat history, format JSON")
    if "guild" in header:
        raise InvalidInput(f"{path}: this looks like a DiscordChatExporter file — use `--source discord`")
    if not isinstance(header.get("id"), (int, float, str)) or "type" not in header:
        raise InvalidInput(f"{path}: not a Telegram chat export (no chat `id` and `type` before `messages`) — use the result.json written by Telegram Desktop's Export chat history")
    return header


def events_from_message(message: Any, group: str, names: NameIndex, tz: ZoneInfo) -> list[dict[str, Any]]:
    """The native events one export message stands for; ValueError says why it cannot be used."""
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object")
    ts = rfc3339(_epoch(message, tz), tz)
    base = {"ts": ts, "group": group}
    if message.get("type") == "service":
        return _service_events(message, base, names)
    if message.get("type") != "message":
        raise ValueError(f"unknown message type {message.get('type')!r} (expected message or service)")
    sender = message.get("from_id")
    if not isinstance(sender, str) or not sender:
        raise ValueError(f"message {message.get('id')} has no `from_id` (sender)")
    event: dict[str, Any] = {**base, "type": "message", "member": sender, "id": str(message.get("id")), "text": plain_text(message.get("text"))}
    if isinstance(message.get("from"), str):
        event["name"] = message["from"]
    mentions = mentioned_ids(message)
    if mentions:
        event["mentions"] = mentions
    if message.get("reply_to_message_id") is not None:
        event["reply_to"] = str(message["reply_to_message_id"])
    return [event]


def _epoch(message: dict[str, Any], tz: ZoneInfo) -> float:
    """``date_unixtime`` when present (newer exports); else ``date``, local time of the exporting computer."""
    unixtime = message.get("date_unixtime")
    if unixtime is not None:
        try:
            return float(unixtime)
        except (TypeError, ValueError):
            raise ValueError(f"message {message.get('id')}: `date_unixtime` {unixtime!r} is not a number") from None
    date = message.get("date")
    if not isinstance(date, str):
        raise ValueError(f"message {message.get('id')} has no `date_unixtime` or `date`")
    try:
        return parse_time(date, tz)
    except EventError:
        raise ValueError(f"message {message.get('id')}: `date` {date!r} is not a time") from None


def _service_events(message: dict[str, Any], base: dict[str, Any], names: NameIndex) -> list[dict[str, Any]]:
    action = message.get("action")
    actor_id, actor = message.get("actor_id"), message.get("actor")
    members = [name for name in message.get("members") or [] if isinstance(name, str)]
    if action in JOIN_ACTIONS:
        joined = [_person(name, names) for name in members]
        if action == "create_group" and isinstance(actor_id, str):
            joined.insert(0, {"member": actor_id, "name": actor})
        return [_join(base, person, actor_id if person["member"] != actor_id else None) for person in joined]
    if action in SELF_JOIN_ACTIONS:
        if not isinstance(actor_id, str):
            raise ValueError(f"service message {message.get('id')} ({action}) has no `actor_id`")
        inviter = names.resolve(message["inviter"]) if isinstance(message.get("inviter"), str) else None
        return [_join(base, {"member": actor_id, "name": actor}, inviter)]
    if action == "remove_members":
        left = [_person(name, names) for name in members]
        return [{**base, "type": "member_left", **person, "reason": "left" if person["member"] == actor_id else "removed"} for person in left]
    if not isinstance(action, str):
        raise ValueError(f"service message {message.get('id')} has no `action`")
    event = {**base, "type": f"telegram_{action}", "id": str(message.get("id"))}
    if isinstance(actor_id, str):
        event.update(member=actor_id, name=actor)
    return [event]


def _person(name: str, names: NameIndex) -> dict[str, Any]:
    return {"member": names.resolve(name), "name": name}


def _join(base: dict[str, Any], person: dict[str, Any], inviter: str | None) -> dict[str, Any]:
    event = {**base, "type": "member_joined", **{key: value for key, value in person.items() if value is not None}}
    if inviter:
        event["inviter"] = inviter
    return event


def plain_text(text: Any) -> str:
    """Telegram writes formatted text as a list of strings and ``{"type", "text"}`` pieces."""
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        return "".join(piece if isinstance(piece, str) else str(piece.get("text", "")) for piece in text if isinstance(piece, (str, dict)))
    return ""


def mentioned_ids(message: dict[str, Any]) -> list[str]:
    """Ids from ``mention_name`` entities; a plain ``@username`` has no id in the export and is skipped."""
    ids: list[str] = []
    for entity in message.get("text_entities") or []:
        if isinstance(entity, dict) and entity.get("type") == "mention_name" and entity.get("user_id") is not None:
            member = f"user{int(entity['user_id'])}"
            if member not in ids:
                ids.append(member)
    return ids


@hookimpl
def register_sources(register: Callable[[EventSource], None]) -> None:
    register(EventSource("telegram", read_telegram, "Telegram Desktop chat export (result.json), streamed."))
