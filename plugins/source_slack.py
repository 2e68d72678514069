"""A Slack workspace export (folder or .zip) as events (``--source slack``).

The export is ``users.json``, ``channels.json`` (and ``groups.json`` for private channels) and
one small JSON file per channel per day. Days are read in order, all channels of one day at a
time, so memory holds one day of messages, never the workspace's history.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from playbook_engine import hookimpl
from playbook_engine.contract import EventSource, Rejected, SourceRecord, SourceReport
from playbook_engine.errors import InvalidInput
from playbook_engine.words import Reason, reason_of
from playbook_plugins.source_json import raw_json, rfc3339

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
# Slack's other markup: a channel link <#C…|general>, a broadcast or special word <!here>
# (<!subteam^S…|@team>, <!date^…|fallback>), a link <https://…|label> or <mailto:…>.
MARKUP = re.compile(r"<(?:#(?P<channel>[CG][A-Z0-9]+)|!(?P<word>[^>|^]+)[^>|]*|(?P<url>[A-Za-z][A-Za-z0-9+.-]*:[^>|]*))(?:\|(?P<label>[^>]*))?>")
ESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))  # the three characters Slack escapes in text
DAY_FILE = re.compile(r"^(?P<channel>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})\.json$")
MESSAGE_SUBTYPES = frozenset({"thread_broadcast", "file_share", "me_message"})
CHANNEL_LISTS = ("channels.json", "groups.json")
SLACKBOT = "USLACKBOT"  # Slack's own bot: reminders, auto-responses; users.json may leave it out
PRIVATE_LISTS = ("dms.json", "mpims.json")


class ExportTree:
    """The files of an export, the same whether it is a folder or a .zip (possibly with one top folder)."""

    def __init__(self, path: str):
        self.path = path
        root = Path(path)
        if root.is_dir():
            self._zip = None
            names = [file.relative_to(root).as_posix() for file in root.rglob("*") if file.is_file()]
        elif zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            names = [name for name in self._zip.namelist() if not name.endswith("/")]
        else:
            raise InvalidInput(f"{path}: not a Slack export — pass the export folder or the .zip Slack gave you (Workspace settings → Import/Export Data → Export)")
        self._base = root
        self.prefix = self._find_prefix(names)
        self.names = [name[len(self.prefix):] for name in names if name.startswith(self.prefix)]

    def _find_prefix(self, names: list[str]) -> str:
        candidates = sorted((name for name in names if PurePosixPath(name).name == "channels.json"), key=len)
        if not candidates:
            raise InvalidInput(f"{self.path}: no channels.json — this is not a Slack workspace export (or it was unpacked partly); export again from Workspace settings → Import/Export Data")
        return candidates[0][: -len("channels.json")]

    def read(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self.prefix + name)
        return (self._base / (self.prefix + name)).read_bytes()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def read_slack(path: str, options: Mapping[str, Any]) -> Iterator[SourceRecord | Rejected]:
    """Events from a Slack export, one day (all channels) in memory at a time."""
    if path == "-":
        raise InvalidInput("-: `--source slack` reads a folder or a .zip, not standard input")
    tz: ZoneInfo = options["timezone"]
    report: SourceReport = options.get("report") or SourceReport()
    tree = ExportTree(path)
    try:
        names, bots = users_of(tree)
        channels = channel_ids(tree)
        titles = channel_names(tree, names)
        private = private_folders(tree)
        skipped = {folder for folder in private if any(name.startswith(folder + "/") for name in tree.names)} if not options.get("private_chats") else set()
        if skipped:
            report.warn(Reason("dms_left_out", count=len(skipped), s="s" if len(skipped) != 1 else ""))
        number = 0
        for _, files in sorted(_days(tree).items()):
            files = [name for name in files if name.split("/", 1)[0] not in skipped]
            for item in _day_messages(tree, files):
                number += 1
                if isinstance(item, Rejected):
                    yield Rejected(number, item.reason, item.text)
                    continue
                where, message = item
                folder = where.split("/", 1)[0]
                try:
                    event = event_from_message(message, channels.get(folder, folder), names, tz, bots)
                except ValueError as exc:
                    yield Rejected(number, Reason("in_file", file=where, reason=reason_of(exc)), raw_json(message))
                    continue
                event["group_name"] = titles.get(folder, folder)
                yield SourceRecord(number, event)
    finally:
        tree.close()


def _load(tree: ExportTree, name: str) -> Any:
    try:
        return json.loads(tree.read(name))
    except UnicodeDecodeError:
        raise InvalidInput(f"{tree.path}: {name} is not UTF-8 text — export the workspace again") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{tree.path}: {name} is not valid JSON ({exc.msg}, line {exc.lineno}) — the export is damaged; export it again") from None


def users_of(tree: ExportTree) -> tuple[dict[str, str], frozenset[str]]:
    """User id → the name people see (display name, else real name, else account name); and
    the ids of the bots and apps among them (``is_bot``, ``is_app_user``, and Slackbot), whose
    messages are no member's."""
    if "users.json" not in tree.names:
        raise InvalidInput(f"{tree.path}: no users.json — this is not a whole Slack workspace export; export again")
    users = _load(tree, "users.json")
    if not isinstance(users, list):
        raise InvalidInput(f"{tree.path}: users.json is not a list of users — is this a Slack export?")
    people = [user for user in users if isinstance(user, dict) and user.get("id")]
    bots = frozenset({SLACKBOT, *(user["id"] for user in people if user.get("is_bot") or user.get("is_app_user"))})
    return {user["id"]: _user_name(user) for user in people}, bots


def _user_name(user: Mapping[str, Any]) -> str:
    profile = user.get("profile")
    if not isinstance(profile, dict):
        profile = {}
    return str(profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name") or user["id"])


def channel_ids(tree: ExportTree) -> dict[str, str]:
    """Channel folder name → channel id (the event ``group``); a folder missing from the lists keeps its name."""
    ids: dict[str, str] = {}
    for list_name in (*CHANNEL_LISTS, *PRIVATE_LISTS):
        if list_name not in tree.names:
            continue
        channels = _load(tree, list_name)
        if not isinstance(channels, list):
            raise InvalidInput(f"{tree.path}: {list_name} is not a list of channels — is this a Slack export?")
        ids.update({str(channel.get("name") or channel["id"]): channel["id"] for channel in channels if isinstance(channel, dict) and channel.get("id")})
    return ids


def channel_names(tree: ExportTree, users: Mapping[str, str]) -> dict[str, str]:
    """Channel folder → the name operators know it by: ``#general``; a DM by its people's names."""
    titles: dict[str, str] = {}
    for list_name in (*CHANNEL_LISTS, *PRIVATE_LISTS):
        if list_name not in tree.names:
            continue
        channels = _load(tree, list_name)
        for channel in channels if isinstance(channels, list) else []:
            if not isinstance(channel, dict) or not channel.get("id"):
                continue
            folder = str(channel.get("name") or channel["id"])
            if list_name in PRIVATE_LISTS:  # `mpdm-alice--bob-1` is no name to show an operator
                people = [users.get(member, member) for member in channel.get("members") or [] if isinstance(member, str)]
                titles[folder] = "、".join(people) or folder
            else:
                titles[folder] = f"#{folder}"
    return titles


def private_folders(tree: ExportTree) -> set[str]:
    """The folders of direct messages (``dms.json``, by id) and group DMs (``mpims.json``, by name)."""
    folders: set[str] = set()
    for list_name in PRIVATE_LISTS:
        conversations = _load(tree, list_name) if list_name in tree.names else []
        if isinstance(conversations, list):
            folders.update(str(item.get("name") or item["id"]) for item in conversations if isinstance(item, dict) and item.get("id"))
    return folders


def _days(tree: ExportTree) -> dict[str, list[str]]:
    days: dict[str, list[str]] = {}
    for name in tree.names:
        match = DAY_FILE.match(name)
        if match:
            days.setdefault(match["day"], []).append(name)
    return {day: sorted(files) for day, files in days.items()}


def _day_messages(tree: ExportTree, files: list[str]) -> Iterator[tuple[str, dict[str, Any]] | Rejected]:
    """One day's messages across channels, by ``ts``; a damaged day file is one rejected record."""
    messages: list[tuple[float, str, int, dict[str, Any]]] = []
    broken: list[Rejected] = []
    for name in files:
        try:
            day = json.loads(tree.read(name))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            reason = Reason("not_utf8") if isinstance(exc, UnicodeDecodeError) else Reason("bad_json", detail=Reason("json_line", message=exc.msg, line=exc.lineno))
            broken.append(Rejected(0, Reason("day_file_skipped", file=name, reason=reason), tree.read(name)[:500].decode("utf-8", "replace")))
            continue
        if not isinstance(day, list):
            broken.append(Rejected(0, Reason("day_file_skipped", file=name, reason=Reason("not_a_list")), raw_json(day)[:500]))
            continue
        for index, message in enumerate(day, 1):
            messages.append((_sort_key(message), name, index, message))
    yield from broken
    for _, name, index, message in sorted(messages, key=lambda item: item[:3]):
        yield f"{name} message {index}", message


def _sort_key(message: Any) -> float:
    try:
        return float(message["ts"])
    except (TypeError, KeyError, ValueError):
        return float("-inf")  # rejected below; sorting first keeps the rest in order


def event_from_message(message: Any, group: str, names: Mapping[str, str], tz: ZoneInfo, bots: frozenset[str] = frozenset({SLACKBOT})) -> dict[str, Any]:
    """The native event for one Slack message; ValueError says why it cannot be used.

    A bot's message is ``bot_message``, with no member: ``subtype: bot_message`` (legacy
    integrations), a message carrying ``bot_id`` or ``bot_profile`` (today's apps post as their
    bot user *with* those), and one by a user in ``bots``. A bot's join, leave or other
    subtype keeps its ``slack_<subtype>`` name, without a member: it joins nobody to the group."""
    if not isinstance(message, dict):
        raise ValueError(Reason("message_not_object"))
    ts: Any = message.get("ts")
    try:
        epoch = float(ts)
    except (TypeError, ValueError):
        raise ValueError(Reason("no_usable_ts", value=repr(ts))) from None
    base = {"ts": rfc3339(epoch, tz), "group": group}
    subtype, user = message.get("subtype"), message.get("user")
    if subtype == "file_comment" and isinstance(message.get("comment"), dict):
        return _file_comment(message["comment"], base, names, ts)
    if subtype == "bot_message" or message.get("bot_id") or message.get("bot_profile") or user in bots:
        name = _bot_name(message, names)
        if subtype is None or subtype == "bot_message" or subtype in MESSAGE_SUBTYPES:
            return {**base, "type": "bot_message", "id": str(ts), "text": readable_text(message.get("text"), names), "name": name}
        return {**base, "type": f"slack_{subtype}", "id": str(ts), "name": name}
    if not isinstance(user, str) or not user:
        raise ValueError(Reason("no_user"))
    person = {"member": user, "name": names.get(user) or _profile_name(message) or user}
    if subtype == "channel_join":
        event: dict[str, Any] = {**base, "type": "member_joined", **person}
        if isinstance(message.get("inviter"), str):
            event["inviter"] = message["inviter"]
        return event
    if subtype == "channel_leave":
        return {**base, "type": "member_left", **person, "reason": "left"}
    if subtype is not None and subtype not in MESSAGE_SUBTYPES:
        return {**base, "type": f"slack_{subtype}", **person, "id": str(ts)}
    event = {**base, "type": "message", **person, "id": str(ts), "text": readable_text(message.get("text"), names)}
    mentions = list(dict.fromkeys(match[1] for match in MENTION.finditer(str(message.get("text") or "")) if match[1] not in bots))
    if mentions:
        event["mentions"] = mentions
    thread = message.get("thread_ts")
    if thread and thread != ts:
        event["reply_to"] = str(thread)
    return event


def _file_comment(comment: Mapping[str, Any], base: dict[str, Any], names: Mapping[str, str], ts: Any) -> dict[str, Any]:
    """A comment on a file (exports before 2019): its author is ``comment.user`` and its words
    ``comment.comment``; the message's own text is Slack's "X commented on Y's file" line."""
    user = comment.get("user")
    if not isinstance(user, str) or not user:
        raise ValueError(Reason("no_comment_user"))
    text = str(comment.get("comment") or "")
    event: dict[str, Any] = {**base, "type": "message", "member": user, "name": names.get(user) or user, "id": str(ts), "text": readable_text(text, names)}
    mentions = list(dict.fromkeys(match[1] for match in MENTION.finditer(text)))
    if mentions:
        event["mentions"] = mentions
    return event


def _bot_name(message: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """What a bot's message is signed with: the name it posted under, its app's, its bot user's."""
    profile = message.get("bot_profile")
    user = message.get("user")
    named = names.get(user) if isinstance(user, str) else None
    return str(message.get("username") or (profile.get("name") if isinstance(profile, dict) else None) or named or ("Slackbot" if user == SLACKBOT else None) or message.get("bot_id") or user or "bot")


def _profile_name(message: Mapping[str, Any]) -> str | None:
    profile = message.get("user_profile")
    if isinstance(profile, dict):
        return profile.get("display_name") or profile.get("real_name") or None
    return None


def readable_text(text: Any, names: Mapping[str, str]) -> str:
    """Slack's markup shown as people read it (keywords match that): ``<@U02>`` as ``@Name``,
    ``<#C01|general>`` as ``#general``, ``<!here>`` as ``@here``, ``<https://x|the page>`` as
    ``the page`` (a link without a label as its address), ``&lt;`` ``&gt;`` ``&amp;`` as the
    characters."""
    shown = MENTION.sub(lambda match: "@" + (names.get(match[1]) or match[2] or match[1]), str(text or ""))
    if "<" in shown:
        shown = MARKUP.sub(_unmarked, shown)
    if "&" in shown:
        for escaped, character in ESCAPES:
            shown = shown.replace(escaped, character)
    return shown


def _unmarked(match: re.Match[str]) -> str:
    label = match["label"]
    if match["channel"]:
        return "#" + (label or match["channel"])
    if match["word"]:
        return label or "@" + match["word"]
    return label or match["url"]


@hookimpl
def register_sources(register: Callable[[EventSource], None]) -> None:
    register(EventSource("slack", read_slack, "Slack workspace export (folder or .zip), one day at a time."))
