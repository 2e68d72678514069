"""Telegram Desktop "Export chat history" (``result.json``) as events (``--source telegram``).

Joins and removals in the export name people by display name only (``"members": ["Bob"]``),
while messages carry ids (``from_id: "user222"``). So the chat is read twice, both times one
message at a time: first to learn which id each display name belongs to, then to yield events.
A whole-account export is read through once: the pass that lists its chats copies the picked
chat's messages to a temporary file on the way, and the two passes read that copy.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any
from zoneinfo import ZoneInfo

import ijson

from playbook_engine import hookimpl
from playbook_engine.contract import EventSource, Rejected, SourceRecord
from playbook_engine.errors import InvalidInput
from playbook_engine.events import EventError, parse_time
from playbook_engine.words import Reason, reason_of
from playbook_plugins.source_json import (
    iter_items,
    json_problem,
    open_binary,
    raw_json,
    read_header_until,
    rfc3339,
)

JOIN_ACTIONS = frozenset({"invite_members", "create_group"})
SELF_JOIN_ACTIONS = frozenset({"join_group_by_link", "join_group_by_request"})


def member_id(value: Any) -> str | None:
    """The member id of a sender or actor: ``user123`` as newer exports write it; exports from
    before about 2020-10 write the bare number (``22222222``), which is the same user."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"user{int(value)}"
    return None


GROUP_AS_INVITER = "Group"  # join_group_by_link through the group's own link names no person


def is_channel(ident: str | None) -> bool:
    """Whether a sender or actor id is a chat, not a person: an anonymous admin posts as the
    group itself (``channel<the group's id>``), and a linked channel's posts come into its
    discussion group as ``channel<the channel's id>``. Neither is a member to welcome or rank."""
    return ident is not None and ident.startswith("channel")


class NameIndex:
    """Display name → platform id, learned from senders; ambiguous or unseen names get ``name:…`` ids."""

    def __init__(self) -> None:
        self._ids: dict[str, set[str]] = {}

    def learn(self, name: Any, ident: Any) -> None:
        if isinstance(name, str) and name and isinstance(ident, str) and ident:
            self._ids.setdefault(name, set()).add(ident)

    def resolve(self, name: str) -> str:
        ids = self._ids.get(name, set())
        return next(iter(ids)) if len(ids) == 1 else f"name:{name}"


def read_telegram(path: str, options: Mapping[str, Any]) -> Iterator[SourceRecord | Rejected]:
    """Events from a Telegram Desktop ``result.json`` (one chat, or ``--chat`` of a whole-account
    export), one message in memory at a time."""
    if path == "-":
        raise InvalidInput("-: `--source telegram` reads the file twice — pass the path to result.json instead of standard input")
    tz: ZoneInfo = options["timezone"]
    with open_binary(path, "telegram") as stream:
        chat = _pick_chat(path, stream, options.get("chat"))
        try:
            yield from _read_chat(path, stream, chat, options, tz)
        finally:
            chat.close()


def _read_chat(path: str, stream: IO[bytes], chat: _Chat, options: Mapping[str, Any], tz: ZoneInfo) -> Iterator[SourceRecord | Rejected]:
    """The events of ``chat``: its messages read once for the names, once for the events."""
    _refuse_private(path, chat, options)
    names = NameIndex()
    owner_wrote = False
    for message in chat.messages(stream):
        if isinstance(message, dict):
            for name, ident in ((message.get("from"), member_id(message.get("from_id"))), (message.get("actor"), member_id(message.get("actor_id")))):
                if not is_channel(ident):  # the group's own name is no person's: a member called so is not it
                    names.learn(name, ident)
            owner_wrote = owner_wrote or (chat.owner is not None and member_id(message.get("from_id")) == chat.owner[0])
    report = options.get("report")
    if report is not None and chat.owner is not None and owner_wrote:
        report.exported_by(*chat.owner)  # a whole-account export's own account: staff, which community.yaml must say
    group = str(chat.header["id"])
    group_name = chat.header.get("name") if isinstance(chat.header.get("name"), str) and chat.header.get("name") else None
    for number, message in enumerate(chat.messages(stream), 1):
        try:
            events = events_from_message(message, group, names, tz)
        except ValueError as exc:
            yield Rejected(number, reason_of(exc), raw_json(message))
            continue
        for event in events:
            if group_name is not None:
                event["group_name"] = group_name
            yield SourceRecord(number, event)


PRIVATE_TYPES = {"personal_chat": "a chat between two people", "bot_chat": "a chat with a bot", "saved_messages": "your Saved Messages"}
# A channel's export holds only the channel's own posts (its comments are in the linked
# discussion group's export): nobody to welcome, answer or rank, so it is refused as a private
# chat is — it would get the group's weekly posts and a "quiet group" alert.
CHANNEL_TYPES = {"public_channel": "a public channel", "private_channel": "a private channel"}


class _Chat:
    """One chat of the file: its header (name, type, id) and where its messages are."""

    def __init__(self, path: str, header: dict[str, Any], prefix: str, index: int | None = None):
        self.path, self.header, self.prefix, self.index = path, header, prefix, index
        self.owner: tuple[str, str] | None = None  # a whole-account export's own account: id, name
        self.copy: IO[bytes] | None = None  # its messages, one JSON line each, when copied out on the way

    def messages(self, stream: IO[bytes]) -> Iterator[Any]:
        if self.copy is not None:
            return _copied_messages(self.copy)
        stream.seek(0)
        if self.index is None:
            return iter_items(self.path, stream, "messages.item")
        return _chat_messages(self.path, stream, self.prefix, self.index)

    def close(self) -> None:
        if self.copy is not None:
            self.copy.close()
            self.copy = None

    def describe(self) -> str:
        header = self.header
        private = " — private, refused without --private-chats" if header.get("type") in PRIVATE_TYPES else " — a channel, refused without --private-chats" if header.get("type") in CHANNEL_TYPES else ""
        count = header.get("count", 0)
        return f"  {header.get('name') or PRIVATE_TYPES.get(str(header.get('type')), '(no name)')} — {header.get('type')}, id {header.get('id')}, {count} message{'' if count == 1 else 's'}{private}"


def _copied_messages(copy: IO[bytes]) -> Iterator[Any]:
    copy.seek(0)
    for line in copy:
        yield json.loads(line)


def _pick_chat(path: str, stream: IO[bytes], wanted: str | None) -> _Chat:
    """The chat to read: the file's one chat, or the one ``--chat`` names in a whole-account export."""
    header, found = read_header_until(path, stream, ("messages", "chats"))
    if found == "messages":
        _check_header(path, header)
        if wanted is not None and wanted not in (str(header["id"]), header.get("name")):
            raise InvalidInput(f"{path}: this export holds one chat, {header.get('name')!r} (id {header['id']}), not {wanted!r} — leave out --chat, or pass the export of that chat")
        return _Chat(path, header, "messages")
    stream.seek(0)
    chats = list(_account_chats(path, stream, wanted))
    chosen: _Chat | None = None
    try:
        chosen = _chosen(path, chats, wanted)
    finally:
        for chat in chats:
            if chat is not chosen:
                chat.close()
    person = header.get("personal_information")
    if isinstance(person, dict) and (owner := member_id(person.get("user_id"))) is not None:
        chosen.owner = (owner, " ".join(str(part) for part in (person.get("first_name"), person.get("last_name")) if part))
    return chosen


def _chosen(path: str, chats: list[_Chat], wanted: str | None) -> _Chat:
    """The chat of a whole-account export that ``--chat`` names."""
    listing = "\n".join(chat.describe() for chat in chats)
    if wanted is None:
        raise InvalidInput(f"{path}: a whole-account export with {len(chats)} chats — pick the group to read with --chat NAME_OR_ID, e.g. --chat {_example(chats)}:\n{listing}")
    matches = [chat for chat in chats if str(chat.header.get("id")) == wanted] or [chat for chat in chats if chat.header.get("name") == wanted]
    if not matches:
        raise InvalidInput(f"{path}: no chat named or numbered {wanted!r} in this export — --chat takes a name or an id from this list:\n{listing}")
    if len(matches) > 1:
        raise InvalidInput(f"{path}: {len(matches)} chats are named {wanted!r} — pass the id instead:\n" + "\n".join(chat.describe() for chat in matches))
    return matches[0]


def _example(chats: list[_Chat]) -> str:
    groups = [chat for chat in chats if chat.header.get("type") not in PRIVATE_TYPES and chat.header.get("type") not in CHANNEL_TYPES] or chats
    return str(groups[0].header.get("id")) if groups else "ID"


def _account_chats(path: str, stream: IO[bytes], wanted: str | None = None) -> Iterator[_Chat]:
    """The chats of a whole-account export (``chats`` then ``left_chats``), with their message
    counts, from one pass over the file that keeps no message in memory. The messages of a chat
    named or numbered ``wanted`` (known from its header, which Telegram writes before them) are
    copied to a temporary file on the way (``_Chat.copy``): the file is not read again for them."""
    current: _Chat | None = None
    index = {"chats.list": -1, "left_chats.list": -1}
    builder: Any = None  # the message being copied, if any
    messages = ""  # the prefix of the current chat's messages
    try:
        for prefix, event, value in ijson.parse(stream, use_float=True):
            if builder is not None:
                builder.event(event, value)
                if event == "end_map" and prefix == messages and current is not None and current.copy is not None:
                    current.copy.write(json.dumps(builder.value, ensure_ascii=False).encode("utf-8") + b"\n")
                    builder = None
                continue
            if event == "start_map" and prefix in ("chats.list.item", "left_chats.list.item"):
                container = prefix[: -len(".item")]
                index[container] += 1
                current = _Chat(path, {"count": 0}, container, index[container])
                messages = container + ".item.messages.item"
            elif current is not None and prefix.startswith(current.prefix + ".item."):
                field = prefix[len(current.prefix) + len(".item."):]
                if field in ("name", "type", "id") and event in ("string", "number"):
                    current.header[field] = int(value) if field == "id" and isinstance(value, float) else value
                elif field == "messages" and event == "start_array" and wanted is not None and wanted in (str(current.header.get("id")), current.header.get("name")):
                    current.copy = tempfile.SpooledTemporaryFile(max_size=COPY_IN_MEMORY)
                elif field == "messages.item" and event == "start_map":
                    current.header["count"] += 1
                    if current.copy is not None:
                        builder = ijson.ObjectBuilder()
                        builder.event(event, value)
            elif current is not None and event == "end_map" and prefix == current.prefix + ".item":
                yield current
                current = None
    except ijson.JSONError as exc:
        if current is not None:
            current.close()
        raise json_problem(path, exc, stream) from None


# A picked chat's messages are copied to memory up to this size, then to a temporary file.
COPY_IN_MEMORY = 8 * 1024 * 1024


def _chat_messages(path: str, stream: IO[bytes], container: str, wanted: int) -> Iterator[Any]:
    """The messages of chat number ``wanted`` of ``container`` (``chats.list``), built one at a time."""
    item, messages = container + ".item", container + ".item.messages.item"
    index = -1
    builder: Any = None
    try:
        for prefix, event, value in ijson.parse(stream, use_float=True):
            if prefix == item and event == "start_map":
                index += 1
                if index > wanted:
                    return
            if index != wanted:
                continue
            if builder is None:
                if prefix == messages and event == "start_map":
                    builder = ijson.ObjectBuilder()
                    builder.event(event, value)
                continue
            builder.event(event, value)
            if prefix == messages and event == "end_map":
                yield builder.value
                builder = None
    except ijson.JSONError as exc:
        raise json_problem(path, exc, stream) from None


def _refuse_private(path: str, chat: _Chat, options: Mapping[str, Any]) -> None:
    kind = chat.header.get("type")
    if kind in PRIVATE_TYPES and not options.get("private_chats"):
        raise InvalidInput(
            f"{path}: {chat.header.get('name') or 'this chat'!s} is {PRIVATE_TYPES[kind]} ({kind}), not a group — playbooks plan group work "
            "(welcomes, group posts, rankings), which a private chat would get one of every week; export a group instead, "
            "or pass --private-chats to plan for it anyway"
        )
    if kind in CHANNEL_TYPES and not options.get("private_chats"):
        raise InvalidInput(
            f"{path}: {chat.header.get('name') or 'this chat'!s} is {CHANNEL_TYPES[kind]} ({kind}), not a group — its posts are the channel's own, "
            "with no members' messages to plan welcomes, answers or rankings from; export the channel's discussion group instead, "
            "or pass --private-chats to read its posts anyway (as bot_message events)"
        )


def _check_header(path: str, header: dict[str, Any]) -> dict[str, Any]:
    if "guild" in header:
        raise InvalidInput(f"{path}: this looks like a DiscordChatExporter file — use `--source discord`")
    if not isinstance(header.get("id"), (int, float, str)) or "type" not in header:
        raise InvalidInput(f"{path}: not a Telegram chat export (no chat `id` and `type` before `messages`) — use the result.json written by Telegram Desktop's Export chat history")
    return header


def events_from_message(message: Any, group: str, names: NameIndex, tz: ZoneInfo) -> list[dict[str, Any]]:
    """The native events one export message stands for; ValueError says why it cannot be used."""
    if not isinstance(message, dict):
        raise ValueError(Reason("message_not_object"))
    ts = rfc3339(_epoch(message, tz), tz)
    base = {"ts": ts, "group": group}
    if message.get("type") == "service":
        return _service_events(message, base, names)
    if message.get("type") != "message":
        raise ValueError(Reason("unknown_message_type", type=repr(message.get("type"))))
    sender = member_id(message.get("from_id"))
    if sender is None:
        raise ValueError(Reason("no_from_id", id=message.get("id")))
    if is_channel(sender):  # the group itself (an anonymous admin) or a linked channel: as a bot's post, no member
        return [{**base, "type": "bot_message", "id": str(message.get("id")), "text": plain_text(message.get("text")), "name": str(message.get("from") or sender)}]
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
            raise ValueError(Reason("field_not_number", id=message.get("id"), field="date_unixtime", value=repr(unixtime))) from None
    date = message.get("date")
    if not isinstance(date, str):
        raise ValueError(Reason("no_date", id=message.get("id")))
    try:
        return parse_time(date, tz)
    except EventError:
        raise ValueError(Reason("field_not_time", id=message.get("id"), field="date", value=repr(date))) from None


def _service_events(message: dict[str, Any], base: dict[str, Any], names: NameIndex) -> list[dict[str, Any]]:
    action = message.get("action")
    actor_id, actor = member_id(message.get("actor_id")), message.get("actor")
    as_chat = is_channel(actor_id)
    chat_name = actor if as_chat else None
    if as_chat:  # an anonymous admin acts as the group: no member did it, nobody was invited by one
        actor_id, actor = None, None
    members = [name for name in message.get("members") or [] if isinstance(name, str)]
    if action in JOIN_ACTIONS:
        joined = [_person(name, names) for name in members]
        if action == "create_group" and actor_id is not None:
            joined.insert(0, {"member": actor_id, "name": actor})
        return [_join(base, person, actor_id if person["member"] != actor_id else None) for person in joined]
    if action in SELF_JOIN_ACTIONS and not as_chat:
        if actor_id is None:
            raise ValueError(Reason("service_no_actor", id=message.get("id"), action=action))
        named = message.get("inviter")
        inviter = names.resolve(named) if isinstance(named, str) and named and named != GROUP_AS_INVITER else None
        return [_join(base, {"member": actor_id, "name": actor}, inviter)]
    if action == "remove_members":
        # Removing oneself is leaving: the actor is the one removed (by id, or by name where the
        # export's actor has no id the names were learnt from).
        left = [(_person(name, names), name) for name in members]
        return [{**base, "type": "member_left", **person, "reason": "left" if person["member"] == actor_id or (name == actor and len(members) == 1) else "removed"} for person, name in left]
    if not isinstance(action, str):
        raise ValueError(Reason("service_no_action", id=message.get("id")))
    event = {**base, "type": f"telegram_{action}", "id": str(message.get("id"))}
    if actor_id is not None:
        event.update(member=actor_id, name=actor)
    elif isinstance(chat_name, str) and chat_name:
        event["name"] = chat_name  # as a bot's event: the name it acted under, and no member
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
    """Ids from ``mention_name`` entities; a plain ``@username`` has no id in the export and is skipped.

    Exports from before about 2020-10 have no ``text_entities``: their ``mention_name`` pieces
    are only in the ``text`` list, and are read there."""
    entities = message.get("text_entities") if "text_entities" in message else message.get("text")
    ids: list[str] = []
    for entity in entities if isinstance(entities, list) else []:
        if isinstance(entity, dict) and entity.get("type") == "mention_name" and entity.get("user_id") is not None:
            member = f"user{int(entity['user_id'])}"
            if member not in ids:
                ids.append(member)
    return ids


@hookimpl
def register_sources(register: Callable[[EventSource], None]) -> None:
    register(EventSource("telegram", read_telegram, "Telegram Desktop chat export (result.json), streamed.", recognize))


def recognize(head: str) -> int:
    """A JSON document with Telegram Desktop's keys (``messages`` of ``from_id`` senders, or a
    whole-account export's ``personal_information`` and ``chats``) is surely one (2)."""
    if not head.startswith("{"):
        return 0
    return 2 if ('"messages"' in head and '"from_id"' in head) or ('"personal_information"' in head and '"chats"' in head) else 0
