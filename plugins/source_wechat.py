"""A WeChat group's chat history as CSV (``--source wechat``), as open-source export tools write it.

Accepted layouts (columns are found by name; ``--map`` overrides any of them):

- MemoTrace / 留痕 (WeChatMsg): ``localId, TalkerId, Type, SubType, IsSender, CreateTime, Status,
  StrContent, StrTime, Remark, NickName, Sender``;
- PyWxDump: ``id, MsgSvrID, type_name, is_sender, talker, room_name, msg|content, src, CreateTime``.

WeChat system lines ("“A”邀请“B、C”加入了群聊", "“B”退出了群聊", "“A”将“B”移出了群聊", QR-code
joins) name people only by display name, while messages may carry wxids (MemoTrace's ``Sender``).
So the file is read twice, row by row: first to learn which wxid each name belongs to, then to
yield events. A name never seen with a wxid gets the stable id ``name:<display name>``.

One pass cannot give the same events: a join line comes before the joiner's first message (the
wxid it needs is further down), and a name is ambiguous only if a later row gives it a second
wxid; holding events back until then would hold the whole file. So the first pass is kept, as
lean as it can be: the CSV module's parse, and one set lookup per row on the sender's and type
cells (``People.scan``); the second reads plain messages by column position and builds their
Events itself (``Chat``), so that the event check does not read them again.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from operator import itemgetter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playbook_engine import hookimpl
from playbook_engine.contract import Event, EventSource, Rejected, SourceRecord
from playbook_engine.errors import InvalidInput
from playbook_engine.words import Reason, reason_of
from playbook_plugins.source_csv import ROUNDED, CsvFile, CsvTimes, Row
from playbook_plugins.source_telegram import NameIndex

# field → accepted column names, first present wins
COLUMNS: dict[str, tuple[str, ...]] = {
    "ts": ("CreateTime", "StrTime", "time", "时间"),
    "text": ("StrContent", "msg", "content", "内容"),
    "type": ("Type", "type_name", "类型"),
    "member": ("Sender", "wxid"),
    "name": ("NickName", "talker", "Remark", "发送人"),
    "remark": ("Remark",),
    "group": ("room_name", "群"),
    "id": ("MsgSvrID", "localId", "id"),
    "is_sender": ("IsSender", "is_sender"),
    "subtype": ("SubType",),
}
REQUIRED = ("ts", "text", "type", "name")
SYSTEM_TYPES = frozenset({"10000", "10002", "系统通知", "系统消息", "system", "邀请加群", "拍一拍"})
TEXT_TYPES = frozenset({"1", "文本", "text"})
QUOTE_TYPES = frozenset({"引用回复", "带有引用的文本消息"})  # PyWxDump's (49, 57): own text, then the quoted message
NOT_MESSAGES = SYSTEM_TYPES | QUOTE_TYPES  # types that events_from_row reads as something else than a plain message
QUOTED = re.compile(r"\n\n\[引用\]\((?P<time>[^)]*)\)(?P<name>[^:\n]*):", re.S)
REVOKE = re.compile(r"<replacemsg>\s*(?:<!\[CDATA\[)?(?P<line>.*?)(?:\]\]>)?\s*</replacemsg>", re.S)
REVOKED_ID = re.compile(r"<newmsgid>\s*(\d+)\s*</newmsgid>")
REVOKED_BY = re.compile(r"^(?P<member>.+?)\s*撤回了一条消息")
RECALLED = re.compile(r"^\s*\S.*?撤回了一条消息")  # the plain line of a recall, as a system row holds it
SELF_NAMES = frozenset({"我", "你"})  # PyWxDump writes 我 as the talker of your own rows; system lines say 你
RECENT = 4096  # messages remembered for quotes to point at: a quote names a second and a name, not an id
PLACEHOLDERS = {"3": "[图片]", "34": "[语音]", "42": "[名片]", "43": "[视频]", "47": "[表情]", "48": "[位置]", "49": "[链接/文件]", "50": "[通话]"}
# What a type-49 (app message) row is, by MemoTrace's SubType (WeChat's appmsg type): a quote
# reply's own words are not in MemoTrace's CSV, but it was a reply, not a file.
APP_PLACEHOLDERS = {"5": "[链接]", "6": "[文件]", "19": "[聊天记录]", "33": "[小程序]", "36": "[小程序]", "51": "[视频号]", "57": "[引用回复]", "2000": "[转账]", "2001": "[红包]"}
SELF = "你"
SELF_ID = "me"

QUOTES = "\"“”「」'‘’ "
# A system line names people in double quotes ("张老师"邀请"李四"、"王五"加入了群聊) — a name
# may hold 、 , or even a quote — or, in older exports, bare (张三邀请李四、王五加入了群聊). Each
# form: its pattern over the line with quotes made plain ASCII, the event, and what each group is.
_Q = r'"(?P<{0}>.+?)"'
_WHO = r'(?:"(?P<{0}>.+?)"|(?P<{0}_you>你|You|you))'
JOIN_BY_QR = re.compile(r"^(?P<member>.+?)通过扫描(?P<inviter>.+?)分享的二维码加入群聊")
INVITED = re.compile(r"^(?P<inviter>.+?)邀请(?P<members>.+?)加入了群聊")
REMOVED = re.compile(r"^(?P<remover>.+?)将(?P<members>.+?)移出了群聊")
LEFT = re.compile(r"^(?P<member>.+?)退出了群聊")
JOINED = re.compile(r"^(?P<member>.+?)加入了群聊")
# Quoted forms, Chinese and English (the line is stored in the language the client had then).
QUOTED_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile("^" + _Q.format("member") + r"\s*通过扫描\s*" + _WHO.format("inviter") + r"\s*分享的二维码加入群聊"), "join"),
    (re.compile("^" + _Q.format("member") + r"\s*通过\s*" + _WHO.format("inviter") + r"\s*的邀请二维码加入群聊"), "join"),
    (re.compile("^" + _WHO.format("inviter") + r"\s*邀请\s*(?P<members>(?:你和)?\".+\")\s*加入了群聊"), "invite"),
    (re.compile("^" + _WHO.format("inviter") + r"\s*邀请\s*(?P<members>你)加入了群聊"), "invite"),
    (re.compile("^" + _WHO.format("remover") + r"\s*将\s*(?P<members>\".+\")\s*移出了群聊"), "remove"),
    (re.compile("^" + _Q.format("member") + r"\s*退出了群聊"), "leave"),
    (re.compile("^" + _Q.format("member") + r"\s*加入了群聊"), "join"),
    (re.compile("^" + _Q.format("member") + r" joined (?:the|a) group chat via (?:the )?QR [Cc]ode shared by " + _WHO.format("inviter")), "join"),
    (re.compile("^" + _WHO.format("inviter") + r" invited (?P<members>(?:you and )?\".+\"|you) (?:to|into) (?:the|a) group chat"), "invite"),
    (re.compile("^" + _WHO.format("remover") + r" removed (?P<members>\".+\") from the group chat"), "remove"),
    (re.compile("^" + _Q.format("member") + r" left the group chat"), "leave"),
    (re.compile("^" + _Q.format("member") + r" joined the group chat"), "join"),
)
# WeChat's template of a join (sysmsgtemplate XML): the line with $placeholders$, and each
# placeholder's people with their wxids. A template left unfilled names nobody.
TEMPLATE = re.compile(r"<template>\s*<!\[CDATA\[(?P<line>.*?)\]\]>\s*</template>", re.S)
TEMPLATE_LINK = re.compile(r"<link\s+name=\"(?P<name>[^\"]+)\"[^>]*>(?P<body>.*?)</link>", re.S)
TEMPLATE_MEMBER = re.compile(r"<member>\s*<username>\s*(?:<!\[CDATA\[)?(?P<wxid>[^<\]]*)(?:\]\]>)?\s*</username>\s*<nickname>\s*(?:<!\[CDATA\[)?(?P<name>.*?)(?:\]\]>)?\s*</nickname>", re.S)
PLACEHOLDER = re.compile(r"\$[A-Za-z_]+\$")
REVOKABLE = re.compile(r"\s*\$revoke\$\s*$")
MENTION = re.compile(r"@([^\s\u2005@]+)")
PAGED = re.compile(r"(@chatroom)_\d+_\d+$")
WXID = re.compile(r"^(?:wxid_[0-9a-z]+|[A-Za-z][-_A-Za-z0-9]{5,19})$")  # WeChat ids; display names are free text


def find_columns(columns: list[str], given: Mapping[str, str]) -> dict[str, str]:
    """Field → the column that holds it in this file: ``--map`` first, then the known names.

    PyWxDump's ``talker`` is the sender's wxid in current versions (``我`` for your own rows)
    and a display name in some older ones: in its layout (``room_name`` and ``talker``, no
    nickname column) it is both, and each cell is read as what it looks like (``sender``)."""
    unknown = sorted(set(given) - set(COLUMNS))
    if unknown:
        raise InvalidInput(f"--map: unknown wechat field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} — the fields are: {', '.join(COLUMNS)}")
    found = {field: next((name for name in names if name in columns), "") for field, names in COLUMNS.items()}
    if found["name"] == "talker" and "room_name" in columns and not found["member"]:
        found["member"] = "talker"
    found.update(given)
    return {field: column for field, column in found.items() if column}


LEARNED = ("name", "member", "remark", "is_sender")  # the fields of a row that say who is who


class People:
    """Who is who in one chat: display names (nickname or remark) → wxid, and who exported it;
    and the kinds of rows it has (stripped type cells), so that quotes' memory is kept only for
    a chat with quotes.

    ``talker``: the sender's column is PyWxDump's ``talker``, read as an id or as a name."""

    def __init__(self, talker: bool = False) -> None:
        self.names = NameIndex()
        self.senders: set[str] = set()
        self.self_id: str | None = None
        self.self_name = ""  # the exporter's display name, from a row of theirs that gives one
        self.self_wrote = False  # rows of the exporter's own (IsSender=1, or 我 as PyWxDump's talker)
        self.talker = talker
        self.kinds: set[str] = set()
        self._talkers: dict[str, tuple[str, str]] = {}  # talker cell → sender, once all rows are learnt

    @classmethod
    def scan(cls, table: CsvFile, columns: Mapping[str, str]) -> People:
        """Learn from every row that ``table.rows()`` would give, looking at its sender's and
        type cells only.

        Learning from a row is idempotent unless it says who exported the chat (the last such
        row wins), so a row whose cells were already learnt is skipped unchecked: after the CSV
        parse, a set lookup per row."""
        people = cls(talker=columns.get("member") == columns.get("name"))
        position = {name: index for index, name in enumerate(table.columns)}  # a repeated name: the last, as a Row's dict keeps it
        fields = [field for field in LEARNED if field in columns]
        indexes = [position[columns[field]] for field in fields]
        learnt_cells = itemgetter(*indexes, position[columns["type"]])  # the type last; at least two cells, so always a tuple
        width, learnt = len(table.columns), set()
        for cells in table.cells():
            if len(cells) != width:
                continue  # rejected in the second pass
            key = learnt_cells(cells)
            if key in learnt or not table.usable(cells):
                continue
            people.kinds.add(key[-1].strip())
            values = {field: cell.strip() for field, cell in zip(fields, key)}  # noqa: B905 - key has the type cell more, on purpose
            if not people.learn(values.get("name", ""), values.get("member", ""), values.get("remark", ""), values.get("is_sender", "")):
                learnt.add(key)
        return people

    def learn(self, name: str, wxid: str, remark: str, is_sender: str) -> bool:
        """Learn from one row's (stripped) cells; True if the row said who exported the chat."""
        if self.talker:  # PyWxDump's talker: an id or a name, never both
            if name in SELF_NAMES:
                self.self_wrote = True
            elif name and not WXID.match(name):
                self.senders.add(name)
            return False
        if wxid in SELF_NAMES:
            self.self_wrote = True
            return False
        self.senders.update(shown for shown in (name, remark) if shown)
        if not wxid:
            return False
        self.names.learn(name, wxid)
        self.names.learn(remark, wxid)
        if is_sender == "1":
            self.self_id, self.self_wrote = wxid, True
            self.self_name = name or remark or self.self_name
            return True
        return False

    @property
    def exporter(self) -> tuple[str, str] | None:
        """The id and name of whoever exported the chat, if rows of theirs are in it."""
        return (self.self_id or SELF_ID, self.self_name) if self.self_wrote else None

    def resolve(self, name: str) -> str:
        if name == SELF:
            return self.self_id or SELF_ID
        return self.names.resolve(name)

    def sender(self, wxid: str, name: str, remark: str) -> tuple[str, str]:
        """The sender's id and display name (empty when the row has none), from a row's
        stripped cells (in the talker layout ``wxid`` and ``name`` are the same cell)."""
        if wxid in SELF_NAMES:
            return self.self_id or SELF_ID, ""
        if self.talker:  # a regular expression and a lookup, once per talker (0.3 µs a row)
            known = self._talkers.get(wxid)
            if known is None:
                known = self._talkers[wxid] = (wxid, "") if WXID.match(wxid) else (self.resolve(name), name)
            return known
        return wxid or self.resolve(name), name or remark


def read_wechat(path: str, options: Mapping[str, Any]) -> Iterator[SourceRecord | Rejected]:
    """Events from a WeChat group chat CSV, read twice, one row in memory at a time."""
    if path == "-":
        raise InvalidInput("-: `--source wechat` reads the file twice (names first) — pass the .csv path instead of standard input")
    tz: ZoneInfo = options["timezone"]
    with CsvFile(path) as table:
        given = options.get("map") or {}
        columns = find_columns(table.columns, given)
        table.require({**{field: columns.get(field, _alternatives(field)) for field in REQUIRED}, **given}, "is this a WeChat chat export? Accepted columns are listed in docs/sources.md; name others with --map")
        people = People.scan(table, columns)
    report = options.get("report")
    if report is not None and people.exporter is not None:
        report.exported_by(*people.exporter)  # staff, which community.yaml must say (a warning if not)
    # MemoTrace writes <群名>_utf8.csv; PyWxDump <…@chatroom>_<first>_<last>.csv, a file per 5,000 messages.
    chat = Chat(columns, people, PAGED.sub(r"\1", Path(path).stem.removesuffix("_utf8")), tz)
    with CsvFile(path) as table:
        yield from chat.read(table)


class Chat:
    """The second pass: each row's events. A plain message — most rows — is read by column
    position (``message``); any other row as a Row by ``events_from_row``, the reference that
    ``message`` is tested against."""

    def __init__(self, columns: Mapping[str, str], people: People, group_name: str, tz: ZoneInfo):
        self.columns, self.people, self.group_name = columns, people, group_name
        self.times = CsvTimes(tz)
        self.recent = Recent() if people.kinds & QUOTE_TYPES else None  # only a quote reads it (0.4 µs a message)

    def read(self, table: CsvFile) -> Iterator[SourceRecord | Rejected]:
        header, columns, people, group_name, times, recent = table.columns, self.columns, self.people, self.group_name, self.times, self.recent
        position = {name: index for index, name in enumerate(header)}  # a repeated name: the last, as a Row's dict keeps it
        at = {field: position[column] for field, column in columns.items()}
        message = self.message_reader(at)
        for record in table.records():
            if isinstance(record, Rejected):
                yield record
                continue
            line, cells = record
            try:
                item = message(line, cells)
                if item is None:
                    events = events_from_row(Row(line, dict(zip(header, cells))), columns, people, group_name, times, recent)  # noqa: B905 - records() compared the lengths
            except ValueError as exc:
                yield Rejected(line, reason_of(exc), Row(line, dict(zip(header, cells))).text)  # noqa: B905 - as above
                continue
            if item is not None:
                yield item
                continue
            for event in events:
                if group_name != event["group"]:
                    event["group_name"] = group_name  # PyWxDump's room_name is the …@chatroom id
                yield SourceRecord(line, event)

    def message_reader(self, at: Mapping[str, int]) -> Callable[[int, list[str]], SourceRecord | None]:
        """A function giving the record of a row that is a plain message, with the event
        ``events_from_row`` gives and its Event already built (the event check would cost more
        than reading the row), or None for any other row (a system line, a quote, a recall, no
        time, no sender): a row to its checked Event in 2.7 µs (3.5 with PyWxDump's text times
        and quotes' memory), where the dict alone took 2.2 and the check 3.6 more."""
        people, group_name, times, recent = self.people, self.group_name, self.times, self.recent
        at_time, at_type, at_text, at_name = at["ts"], at["type"], at["text"], at["name"]
        at_member, at_remark, at_group, at_id, at_subtype = at.get("member"), at.get("remark"), at.get("group"), at.get("id"), at.get("subtype")
        sender, add_recent, moment = people.sender, recent.add if recent is not None else None, times.moment

        def message(line: int, cells: list[str]) -> SourceRecord | None:
            kind = cells[at_type].strip()
            readable = kind in TEXT_TYPES
            if not readable and (kind in NOT_MESSAGES or kind.startswith("消息撤回")):
                return None
            text = cells[at_text].strip()
            if text.startswith('{"'):
                text = cell_text(text)
            when, name = cells[at_time].strip(), cells[at_name].strip()
            wxid = cells[at_member].strip() if at_member is not None else ""
            group = (cells[at_group].strip() if at_group is not None else "") or group_name
            if "<revokemsg" in text or not when or not (name or wxid) or not group:
                return None
            ts, epoch = moment(when)
            member, name = sender(wxid, name, cells[at_remark].strip() if at_remark is not None else "")
            event: dict[str, Any] = {"ts": ts, "group": group, "type": "message", "member": member}
            if name:
                event["name"] = name
            ident = cells[at_id].strip() if at_id is not None else ""
            if "+" in ident and ROUNDED.match(ident):  # 7.00112E+18: a 19-digit id Excel rounded, no id any more
                ident = ""
            if ident:
                event["id"] = ident
                if add_recent is not None:
                    add_recent(when, ident, member, name)
            mentions: list[str] = []
            if not readable:
                text = event["text"] = placeholder(kind, cells[at_subtype].strip() if at_subtype is not None else "")
            elif text:
                event["text"] = text
                if "@" in text and (mentions := _mentions(text, people)):
                    event["mentions"] = mentions
            if group != group_name:
                event["group_name"] = group_name  # PyWxDump's room_name is the …@chatroom id
            if epoch is None:  # a time read the general way: the event check reads it too
                return SourceRecord(line, event)
            # Event's fields in their order (by keyword, 1 µs more an event): t, type, member,
            # group, name, id, text, mentions, reply_to, activity, participants, tags,
            # attributes, channel, amount, inviter, reason, group_name, raw, line.
            return SourceRecord(line, event, Event(
                float(epoch), "message", member, group, name or None, ident or None, text or None, tuple(mentions),
                None, None, (), (), {}, None, None, None, None, event.get("group_name"), event, line,
            ))

        return message


class Recent:
    """The last messages by the time cell they were written at: a quote (引用) names the quoted
    message by its time and its sender's name only, so this is how its id is found."""

    def __init__(self, size: int = RECENT):
        self.size = size
        # Ordered for popitem(last=False): a dict's oldest key, once the front is deleted, is
        # found by skipping the deleted slots (2 µs a message in a 200,000-message chat).
        self._by_time: OrderedDict[str, list[tuple[str, str, str]]] = OrderedDict()

    def add(self, when: str, ident: str, member: str, name: str) -> None:
        self._by_time.setdefault(when, []).append((ident, member, name))
        if len(self._by_time) > self.size:
            self._by_time.popitem(last=False)

    def find(self, when: str, name: str, people: People) -> str | None:
        candidates = self._by_time.get(when, [])
        named = [ident for ident, member, shown in candidates if name in (shown, member) or people.resolve(name) == member]
        if len(named) == 1:
            return named[0]
        return candidates[0][0] if len(candidates) == 1 else None


def _alternatives(field: str) -> str:
    return " or ".join(COLUMNS[field])


def events_from_row(row: Row, columns: Mapping[str, str], people: People, default_group: str, times: CsvTimes, recent: Recent | None = None) -> list[dict[str, Any]]:
    """The native events one CSV row stands for; ValueError says why it cannot be used."""
    when = row.get(columns["ts"])
    if not when:
        raise ValueError(Reason("empty_time", column=columns["ts"]))
    base = {"ts": times.rfc3339(when), "group": row.get(columns.get("group")) or default_group}
    kind, text = row.get(columns["type"]), cell_text(row.get(columns["text"]))
    if "<revokemsg" in text or kind.startswith("消息撤回") or (kind in SYSTEM_TYPES and RECALLED.match(text)):
        return [revoke_event(text, base, people)]
    if kind in SYSTEM_TYPES:
        return system_events(text, base, people)
    if not row.get(columns["name"]) and not row.get(columns.get("member")):
        raise ValueError(Reason("no_sender", column=columns["name"]))
    member, name = people.sender(row.get(columns.get("member")), row.get(columns["name"]), row.get(columns.get("remark")))
    event: dict[str, Any] = {**base, "type": "message", "member": member, "name": name}
    ident = row.get(columns.get("id"))
    if ident and not ROUNDED.match(ident):
        event["id"] = ident
    readable = kind in TEXT_TYPES or kind in QUOTE_TYPES
    event["text"] = text if readable else placeholder(kind, row.get(columns.get("subtype")))
    if kind in QUOTE_TYPES and (quote := QUOTED.search(text)):
        event["text"] = text[: quote.start()]
        event["reply_to"] = recent.find(quote["time"], quote["name"], people) if recent is not None else None
    mentions = _mentions(event["text"], people) if readable else []
    if mentions:
        event["mentions"] = mentions
    if recent is not None and event.get("id"):
        recent.add(when, event["id"], event["member"], name)
    return [{key: value for key, value in event.items() if value}]


def placeholder(kind: str, subtype: str) -> str:
    """The text of a row the tool cannot read (an image, a file …): what it was, as WeChat shows it in a list."""
    if kind == "49" and subtype in APP_PLACEHOLDERS:
        return APP_PLACEHOLDERS[subtype]
    return PLACEHOLDERS.get(kind) or f"[{kind}]"


def cell_text(cell: str) -> str:
    """A content cell as the member wrote it: PyWxDump's older CSV wrote ``{"src": "", "msg": "…"}``
    (the message as JSON) where newer versions write the text."""
    if cell.startswith('{"') and '"msg"' in cell:
        try:
            decoded = json.loads(cell)
        except ValueError:
            return cell
        if isinstance(decoded, dict) and isinstance(decoded.get("msg"), str):
            return str(decoded["msg"])
    return cell


def revoke_event(text: str, base: Mapping[str, Any], people: People) -> dict[str, Any]:
    """A recalled message (撤回): WeChat's ``<sysmsg type="revokemsg">`` XML or its plain line,
    as ``wechat_revoke`` with the line people saw, who recalled it and the recalled message's id."""
    shown = REVOKE.search(text)
    line = (shown["line"] if shown else text).strip()
    event: dict[str, Any] = {**base, "type": "wechat_revoke", "text": line}
    if by := REVOKED_BY.match(line):
        name = _name(by["member"])
        event["member"] = people.resolve(SELF if name in SELF_NAMES else name)
        if name not in SELF_NAMES:
            event["name"] = name
    if revoked := REVOKED_ID.search(text):
        event["revoked"] = revoked[1]
    return event


def _mentions(text: str, people: People) -> list[str]:
    """``@name`` (WeChat ends it with U+2005) for people who wrote in this chat; other @s are plain text."""
    ids = []
    for name in MENTION.findall(text):
        member = people.resolve(name)
        if name in people.senders and member not in ids:
            ids.append(member)
    return ids


def system_events(text: str, base: Mapping[str, Any], people: People) -> list[dict[str, Any]]:
    """Joins and leaves from WeChat's system lines; any other system line is kept as ``wechat_system``."""
    line = REVOKABLE.sub("", text.strip())  # "你邀请"赵六"加入了群聊  $revoke$": the inviter may take it back
    known: dict[str, str] = {}  # name → wxid, from a template's people
    if "sysmsgtemplate" in line or PLACEHOLDER.search(line):
        filled = _filled_template(line, known)
        if filled is None:  # a template nobody filled in names nobody
            shown = TEMPLATE.search(line)
            return [{**base, "type": "wechat_system", "text": shown["line"] if shown else line}]
        line = filled
    plain = line.replace("“", '"').replace("”", '"')
    if '"' in plain:
        for pattern, kind in QUOTED_FORMS:
            if match := pattern.match(plain):
                return _quoted_events(kind, match, base, people, known)
        return [{**base, "type": "wechat_system", "text": line}]
    if match := JOIN_BY_QR.match(line):
        return [_member_event(base, "member_joined", _name(match["member"]), people, inviter=people.resolve(_name(match["inviter"])))]
    if match := INVITED.match(line):
        inviter = people.resolve(_name(match["inviter"]))
        return [_member_event(base, "member_joined", name, people, inviter=inviter) for name in _names(match["members"])]
    if match := REMOVED.match(line):
        return [_member_event(base, "member_left", name, people, reason="removed") for name in _names(match["members"])]
    if match := LEFT.match(line):
        return [_member_event(base, "member_left", _name(match["member"]), people, reason="left")]
    if match := JOINED.match(line):
        return [_member_event(base, "member_joined", _name(match["member"]), people)]
    return [{**base, "type": "wechat_system", "text": line}]


def _quoted_events(kind: str, match: re.Match[str], base: Mapping[str, Any], people: People, known: Mapping[str, str]) -> list[dict[str, Any]]:
    """The events of a system line whose names are quoted (``QUOTED_FORMS``)."""
    groups = match.groupdict()

    def who(field: str) -> str:
        return SELF if groups.get(field + "_you") else groups[field].strip()

    def resolve(name: str) -> str:
        return known.get(name) or people.resolve(name)

    if kind == "leave":
        return [_member_event(base, "member_left", who("member"), people, known, reason="left")]
    if kind == "remove":
        return [_member_event(base, "member_left", name, people, known, reason="removed") for name in _quoted_names(groups["members"])]
    inviter = resolve(who("inviter")) if "inviter" in groups and (groups["inviter"] or groups.get("inviter_you")) else None
    extra = {"inviter": inviter} if inviter else {}
    names = [who("member")] if kind == "join" else _quoted_names(groups["members"])
    return [_member_event(base, "member_joined", name, people, known, **extra) for name in names]


def _quoted_names(text: str) -> list[str]:
    """``"B"、"C"``, ``你和"B"``, ``you and "B", "C"`` → their names (你 for you). Names are split
    only between quotes: a nickname may hold 、 or , (``"甲、乙"``), even a quote."""
    names = []
    text = text.strip()
    for you in ("你和", "you and ", "You and "):
        if text.startswith(you):
            names.append(SELF)
            text = text[len(you) :].strip()
    if text in ("你", "you", "You"):
        return [*names, SELF]
    for part in re.split(r'"\s*[、，,]\s*"', text):
        name = part.removeprefix('"').removesuffix('"').strip()
        if name:
            names.append(name)
    return names


def _filled_template(xml: str, known: dict[str, str]) -> str | None:
    """The line a join's template (``<sysmsg type="sysmsgtemplate">``, or its bare text) shows,
    with each ``$placeholder$`` filled with its people's names (quoted, as WeChat shows them;
    their wxids learnt into ``known``); None when a placeholder has nobody."""
    shown = TEMPLATE.search(xml)
    template = shown["line"] if shown else xml
    people = {link["name"]: [(found["wxid"].strip(), found["name"].strip()) for found in TEMPLATE_MEMBER.finditer(link["body"])] for link in TEMPLATE_LINK.finditer(xml)}
    unfilled = False

    def fill(placeholder: re.Match[str]) -> str:
        nonlocal unfilled
        named = [(wxid, name or wxid) for wxid, name in people.get(placeholder[0].strip("$"), []) if wxid or name]
        if not named:
            unfilled = True
            return placeholder[0]
        for wxid, name in named:
            if wxid and name != wxid:
                known[name] = wxid
        return '"、"'.join(name for _, name in named)

    line = PLACEHOLDER.sub(fill, REVOKABLE.sub("", template.strip()))
    return None if unfilled else line


def _member_event(base: Mapping[str, Any], kind: str, name: str, people: People, known: Mapping[str, str] | None = None, **extra: str) -> dict[str, Any]:
    member = (known or {}).get(name) or people.resolve(name)
    event = {**base, "type": kind, "member": member, **extra}
    if name != SELF:
        event["name"] = name
    if event.get("inviter") == member:
        del event["inviter"]
    return event


def _name(text: str) -> str:
    return text.strip(QUOTES)


def _names(text: str) -> list[str]:
    """``B、C`` → [B, C]: bare names (an older export's line) are separated with 、 (and sometimes ，)."""
    return [name for name in (_name(part) for part in re.split(r"[、，,]", text)) if name]


@hookimpl
def register_sources(register: Callable[[EventSource], None]) -> None:
    register(EventSource("wechat", read_wechat, "WeChat group chat CSV (MemoTrace/留痕, PyWxDump layouts); joins and leaves from system lines; streamed.", recognize))


def recognize(head: str) -> int:
    """A CSV whose header has the columns only WeChat exports write (``StrContent``, ``IsSender``,
    PyWxDump's ``talker`` …) is surely one (2)."""
    header = head.split("\n", 1)[0]
    own = {"StrContent", "IsSender", "TalkerId", "talker", "is_sender", "MsgSvrID"}
    return 2 if "," in header and own & {cell.strip().strip('"') for cell in header.split(",")} else 0
