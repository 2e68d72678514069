"""DiscordChatExporter JSON as events (``--source discord``): one channel file, or a folder of them.

A guild is the community's group: DiscordChatExporter writes one file per channel, and members
join the guild, not a channel, so every channel of a guild maps to the same ``group`` (the guild
id). A folder of channel files is merged into one time-ordered stream, one message per file
in memory at a time.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from playbook_engine import hookimpl
from playbook_engine.contract import EventSource, Rejected, SourceRecord, SourceReport
from playbook_engine.errors import InvalidInput
from playbook_engine.events import EventError, parse_time
from playbook_engine.words import Reason, reason_of
from playbook_plugins.source_json import (
    iter_items,
    open_binary,
    raw_json,
    read_header,
    rfc3339,
)

MESSAGE_TYPES = frozenset({"Default", "Reply"})
DCE_CSV = b'AuthorID,Author,Date,Content'  # the header DiscordChatExporter's CSV format begins with
DIRECT_MESSAGES_GUILD = "0"
PRIVATE_CHANNEL_TYPES = frozenset({"DirectTextChat", "DirectGroupTextChat"})


def read_discord(path: str, options: Mapping[str, Any]) -> Iterator[SourceRecord | Rejected]:
    """Events from one DiscordChatExporter JSON file or a folder of them (threads in subfolders
    included), in time order; a message two files both hold is kept once and counted."""
    tz: ZoneInfo = options["timezone"]
    report: SourceReport = options.get("report") or SourceReport()
    files = _channel_files(path)
    with ExitStack() as stack:
        channels = [channel for channel in (_open_channel(file, stack, path, options, report) for file in files) if channel is not None]
        if not channels:
            raise InvalidInput(f"{path}: every file here is a direct message or group DM — playbooks plan group work; export the server's channels, or pass --private-chats to plan for these anyway")
        streams = [_timed(file, stream, header, tz) for file, stream, header in channels]
        merged = heapq.merge(*streams, key=lambda item: item[0]) if len(streams) > 1 else streams[0]
        instant, seen = float("nan"), set[tuple[Any, Any]]()  # the messages of the current instant: a copy comes at its original's
        for number, (t, file, outcome) in enumerate(merged, 1):
            if isinstance(outcome, tuple):
                reason, raw = outcome
                yield Rejected(number, reason if len(files) == 1 else Reason("in_file", file=Path(file).relative_to(path).as_posix(), reason=reason), raw)
                continue
            if t != instant:
                instant, seen = t, set()
            key = (outcome[0].get("group"), outcome[0].get("id")) if outcome and outcome[0].get("id") else None
            if key is not None:
                if key in seen:
                    report.counts["duplicates"] += 1
                    continue
                seen.add(key)
            for event in outcome:
                yield SourceRecord(number, event)


def _channel_files(path: str) -> list[str]:
    """The channel files to read: ``path``, or every .json under it — DiscordChatExporter's
    frontend keeps each channel's threads in a ``_threads/`` subfolder."""
    if path != "-" and Path(path).is_dir():
        if (Path(path) / "channels.json").is_file() and (Path(path) / "users.json").is_file():
            raise InvalidInput(f"{path}: this looks like a Slack export (channels.json, users.json) — use `--source slack`")
        # Not the media DiscordChatExporter downloads with --media (`<channel file>_Files/`): a
        # member's posted .json is an attachment, not a channel.
        files = sorted(str(file) for file in Path(path).rglob("*.json") if not any(part.endswith("_Files") for part in file.relative_to(path).parent.parts))
        if not files:
            raise InvalidInput(f"{path}: no .json files in this folder — export the channels with DiscordChatExporter in JSON format (-f Json)")
        return files
    return [path]


def _open_channel(file: str, stack: ExitStack, path: str, options: Mapping[str, Any], report: SourceReport) -> tuple[str, IO[bytes], dict[str, Any]] | None:
    """The file's stream and header, or None for a private conversation left out of a folder."""
    if file == "-":
        raise InvalidInput("-: `--source discord` reads the channel header and then the messages — pass the file's path instead of standard input")
    stream = stack.enter_context(open_binary(file, "discord"))
    if stream.read(64).lstrip(b"\xef\xbb\xbf").replace(b'"', b"").startswith(DCE_CSV):
        raise InvalidInput(
            f"{file}: DiscordChatExporter's CSV format, which keeps no message types, bots, nicknames or mentions — "
            "export the channels again in JSON (DiscordChatExporter.Cli export -c CHANNEL_ID -f Json)"
        )
    stream.seek(0)
    header = _check_header(file, read_header(file, stream, "messages"))
    stream.seek(0)
    if _is_private(header) and not options.get("private_chats"):
        kind = "a direct message" if header["channel"].get("type") == "DirectTextChat" else "a group DM"
        if file == path:
            raise InvalidInput(
                f"{file}: {header['channel'].get('name') or 'this channel'} is {kind}, not a server channel — playbooks plan group work "
                "(welcomes, group posts, rankings), which a private conversation would get one of every week; export a server, "
                "or pass --private-chats to plan for it anyway"
            )
        report.warn(Reason("private_left_out", file=Path(file).name, kind=Reason("direct_message" if header["channel"].get("type") == "DirectTextChat" else "group_dm"), channel=header["channel"].get("name")))
        return None
    return file, stream, header


def _is_private(header: dict[str, Any]) -> bool:
    return str(header["guild"].get("id", "")) in ("", DIRECT_MESSAGES_GUILD) or header["channel"].get("type") in PRIVATE_CHANNEL_TYPES


def _timed(file: str, stream: IO[bytes], header: dict[str, Any], tz: ZoneInfo) -> Iterator[tuple[float, str, list[dict[str, Any]] | tuple[str, str]]]:
    """(time, file, events or (reason, raw text)) per message; a reject keeps the previous time so order holds."""
    group, group_name = _group_id(header), _group_name(header)
    last = float("-inf")
    for message in iter_items(file, stream, "messages.item"):
        try:
            t, events = events_from_message(message, group, tz)
        except ValueError as exc:
            yield last, file, (reason_of(exc), raw_json(message))
            continue
        last = t
        if group_name is not None:
            for event in events:
                event["group_name"] = group_name
        yield t, file, events


def _check_header(path: str, header: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(header.get("guild"), dict) or not isinstance(header.get("channel"), dict):
        telegram = "id" in header and "type" in header
        hint = "this looks like a Telegram Desktop export: use `--source telegram`" if telegram else "export with DiscordChatExporter, format JSON"
        raise InvalidInput(f"{path}: not a DiscordChatExporter JSON file (no `guild` and `channel` before `messages`) — {hint}")
    return header


def _group_name(header: dict[str, Any]) -> str | None:
    """The server's name; for a DM, the channel's (DiscordChatExporter names it after the people)."""
    name = header["channel"].get("name") if _is_private(header) else header["guild"].get("name")
    return str(name) if name else None


def _group_id(header: dict[str, Any]) -> str:
    guild, channel = str(header["guild"].get("id", "")), str(header["channel"].get("id", ""))
    return channel if guild in ("", DIRECT_MESSAGES_GUILD) else guild


def events_from_message(message: Any, group: str, tz: ZoneInfo) -> tuple[float, list[dict[str, Any]]]:
    """The time of one exported message and the native events it stands for; ValueError if unusable."""
    if not isinstance(message, dict):
        raise ValueError(Reason("message_not_object"))
    ident = message.get("id")
    t = _epoch(message, tz)
    author = message.get("author")
    if not isinstance(author, dict) or not author.get("id"):
        raise ValueError(Reason("no_author", id=ident))
    base = {"ts": rfc3339(t, tz), "group": group}
    person = {"member": str(author["id"]), "name": display_name(author)}
    kind = message.get("type")
    # Bots are no members (a bot added to the server is not welcomed; a question put to one is
    # still the group's to answer), nor is the placeholder every deleted account shares.
    mentioned = [user for user in message.get("mentions") or [] if isinstance(user, dict) and user.get("id") and _is_person(user)]
    if not _is_person(author):
        if kind in MESSAGE_TYPES:  # its words still count for the group (a bot's post, a deleted account's message)
            return t, [{**base, "type": "bot_message", "id": str(ident), "text": message.get("content") or "", "name": person["name"]}]
        return t, [{**base, "type": f"discord_{kind}", "id": str(ident), "name": person["name"]}]  # a bot joining: no member
    if kind == "GuildMemberJoin":
        return t, [{**base, "type": "member_joined", **person}]
    if kind == "RecipientAdd":
        return t, [{**base, "type": "member_joined", "member": str(user["id"]), "name": display_name(user), "inviter": person["member"]} for user in mentioned]
    if kind == "RecipientRemove":
        return t, [{**base, "type": "member_left", "member": str(user["id"]), "name": display_name(user), "reason": "left" if str(user["id"]) == person["member"] else "removed"} for user in mentioned]
    if kind not in MESSAGE_TYPES:
        return t, [{**base, "type": f"discord_{kind}", "id": str(ident), **person}]
    reference = message.get("reference")
    forwarded = isinstance(reference, dict) and str(reference.get("type", "")).lower() in ("forward", "1")
    text = message.get("content") or ""
    if forwarded and not text:  # a forward: the words it carries, if the export has them; never a reply
        snapshot = message.get("forwardedMessage")
        text = str(snapshot.get("content") or "") if isinstance(snapshot, dict) else ""
    event = {**base, "type": "message", **person, "id": str(ident), "text": text}
    mentions = list(dict.fromkeys(str(user["id"]) for user in mentioned))
    if mentions:
        event["mentions"] = mentions
        # Their names as the server shows them: one first seen here is not greeted by a snowflake.
        event["mention_names"] = {str(user["id"]): display_name(user) for user in mentioned if user.get("nickname") or user.get("name")}
    if isinstance(reference, dict) and reference.get("messageId") and not forwarded:
        event["reply_to"] = str(reference["messageId"])
    return t, [event]


# The one account Discord shows for every deleted account's messages ("Deleted User").
DELETED_USER = "456226577798135808"


def _is_person(user: Mapping[str, Any]) -> bool:
    """Whether a Discord account is a person who can be a member: not a bot, not the placeholder
    of deleted accounts."""
    return not user.get("isBot") and str(user.get("id")) != DELETED_USER


def _epoch(message: dict[str, Any], tz: ZoneInfo) -> float:
    stamp = message.get("timestamp")
    if not isinstance(stamp, str):
        raise ValueError(Reason("no_timestamp", id=message.get("id")))
    try:
        return parse_time(stamp, tz)
    except EventError:
        raise ValueError(Reason("field_not_time", id=message.get("id"), field="timestamp", value=repr(stamp))) from None


def display_name(user: Mapping[str, Any]) -> str:
    """The server nickname when the exporter recorded one, else the account name."""
    return str(user.get("nickname") or user.get("name") or user.get("id"))


@hookimpl
def register_sources(register: Callable[[EventSource], None]) -> None:
    register(EventSource("discord", read_discord, "DiscordChatExporter JSON: one channel file or a folder of them, streamed.", recognize))


def recognize(head: str) -> int:
    """A JSON document opening with DiscordChatExporter's ``guild`` and ``channel`` is surely one (2)."""
    return 2 if head.startswith("{") and '"guild"' in head and '"channel"' in head else 0
