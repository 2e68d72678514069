"""``playbook deliver``: each operator's day, read from the ``--state`` database, posted to the
robot of their work chat (企业微信, 飞书, 钉钉, Slack, a JSON webhook — inbox types are plugins).

Four steps, each a function: ``gather`` reads the day's printed tasks still to do from the state
and what earlier deliveries of that day already sent; ``compose`` words them in the community's
language (one ``DeliveryItem`` per task); ``split`` packs them into as few messages as the
robot's size limit allows (``InboxType.fits``); ``send`` posts each part, retrying on 429 and
5xx with exponential backoff, and records it in the state only once the platform accepted it.
So a second delivery of the same day sends nothing again, and one that failed half-way, run
again, sends only the rest.

A robot's address is a password: whoever has it posts to the group. It is held in a ``Secret``
(shown as ``***``), and any text that leaves this module — the platform's error, the network's
— passes ``redact`` first; errors are raised ``from None``, so not even ``PLAYBOOK_DEBUG=1``
shows the exception urllib raised with the address in it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as dtime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playbook_engine.contract import DeliveryItem, DeliveryPart, InboxType, Reply, Verdict
from playbook_engine.errors import PlaybookError
from playbook_engine.model import ENV_PREFIX, Config, InboxSettings, Operator
from playbook_engine.plugins import option_name
from playbook_engine.printable import terminal_text
from playbook_engine.state import StateStore
from playbook_engine.words import EN, DeliveryWords, Reason, noted_before_text, words_for
from playbook_engine.words import say as said_in

_MAX_REPLY_BYTES = 65536  # of a robot's answer: its code and message are at the start
_MAX_REASON = 200  # characters of a platform's message quoted in an error
# How many days back a day's list looks for tasks still to do that no list has sent yet (their
# deadline not passed): a deadline is at most days after the trigger (24 h, 72 h by default).
CARRY_OVER_DAYS = 7


class DeliveryError(PlaybookError):
    """A delivery cannot go on; the message names the operator, never the address."""


# -- the address and the secret ------------------------------------------------------------------


class Secret:
    """A robot's address or signing secret: ``***`` wherever it is printed; ``reveal()`` only
    where the request is made."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


@dataclass(frozen=True)
class Inbox:
    """An operator's inbox, its address and secret read (from the environment where written ``env:NAME``)."""

    kind: InboxType
    url: Secret = field(repr=False)
    secret: Secret | None = field(repr=False)
    settings: InboxSettings


def resolve(operator: Operator, kinds: Mapping[str, InboxType], environ: Mapping[str, str]) -> tuple[Inbox | None, list[str]]:
    """``operator``'s inbox with its address and secret read, or None and what keeps them from
    being read: each environment variable it names that is not set, or holds no address."""
    settings = operator.inbox
    assert settings is not None
    problems: list[str] = []  # Reasons: English in the error a delivery stops with, said in the community's language by --dry-run
    values: dict[str, Secret | None] = {}
    for key, written in (("url", settings.url), ("secret", settings.secret)):
        if written is None:
            values[key] = None
        elif written.startswith(ENV_PREFIX):
            name = written[len(ENV_PREFIX) :]
            value = environ.get(name, "").strip()
            if not value:
                problems.append(Reason("env_unset", name=name, operator=operator.id, key=Reason(key)))
            elif key == "url" and not re.fullmatch(r"https?://\S+", value):
                problems.append(Reason("env_no_address", name=name, operator=operator.id, key=Reason(key)))
            values[key] = Secret(value)
        else:
            values[key] = Secret(written)
    url = values["url"]
    if problems or url is None:
        return None, problems
    return Inbox(kinds[settings.type], url, values["secret"], settings), []


def redact(text: str, *secrets: Secret | None) -> str:
    """``text`` with every secret, and every part of an address long enough to identify it
    (host, path segments, query values), replaced by ``***``."""
    pieces: set[str] = set()
    for secret in secrets:
        if secret is None or not secret.reveal():
            continue
        value = secret.reveal()
        pieces.add(value)
        parsed = urllib.parse.urlsplit(value)
        pieces.update(part for part in (parsed.netloc, parsed.path, parsed.query, *parsed.path.split("/")) if part)
        for _, query_value in urllib.parse.parse_qsl(parsed.query, keep_blank_values=True):
            pieces.add(query_value)
            pieces.add(urllib.parse.quote(query_value, safe=""))
    for piece in sorted((piece for piece in pieces if len(piece) >= 4), key=len, reverse=True):
        text = text.replace(piece, "***")
    # What is left of an address a platform quotes back (decoded, re-encoded, cut): every word
    # that touches a redacted part or looks like an address or a query goes whole.
    return _ADDRESS_LIKE.sub("***", text)


_ADDRESS_LIKE = re.compile(r"\S*(?:\*\*\*|://|[?&=])\S*")


# -- the day -------------------------------------------------------------------------------------


@dataclass
class OperatorDay:
    """One operator's part of the day: the tasks still to deliver, and what earlier deliveries sent."""

    operator: Operator
    records: list[dict[str, Any]]
    earlier: int = 0  # tasks of the day already delivered
    last_part: int = 0


@dataclass
class Day:
    """The day's printed tasks still to do, by operator."""

    date: date
    start: float
    end: float
    operators: list[OperatorDay]
    unassigned: int = 0  # tasks with no operator, or an operator community.yaml no longer has
    unrecorded: int = 0  # planned before the state kept task records (state version 6)
    total: int = 0
    overtaken: list[tuple[str, str]] = field(default_factory=list)  # (id, why) of the day before, no longer needed by the history of the last run (not sent; named)
    left_out: int = 0  # tasks left out as no longer needed, those of earlier days (named before) included
    missed: list[tuple[dict[str, Any], float]] = field(default_factory=list)  # (record, deadline) of tasks no list sent whose deadline passed since the day before began (named)


AHEAD_MARK = "@ahead"  # a gathered record's mark: the task was planned ahead (`run --ahead`)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[float, float]:
    """The local day ``day`` as [start, end) in epoch seconds (23 or 25 hours on a daylight-saving day)."""
    start = datetime.combine(day, datetime.min.time(), tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
    return start.timestamp(), end.timestamp()


def gather(config: Config, store: StateStore, day: date) -> Day:
    """The day's tasks still to do from ``store``, each operator's less those already delivered."""
    tz = config.community.tz
    start, end = day_bounds(day, tz)
    # Tasks of the week before still to do that no list has sent (a nightly run plans the day's
    # event tasks after their time): the day's list carries them.
    first = day - timedelta(days=CARRY_OVER_DAYS)
    since, _ = day_bounds(first, tz)
    # Carried only if it can still be done in time: its deadline after the operators' day begins
    # (the end of quiet hours), not only after midnight — a welcome due by 07:36 is not sent at 08:00.
    quiet = config.community.quiet_hours

    def begins_on(day: date) -> float:
        return datetime.combine(day, dtime(quiet[1] // 60, quiet[1] % 60), tz).timestamp() if quiet is not None and quiet[1] < 12 * 60 else day_bounds(day, tz)[0]

    begins = begins_on(day)
    rows = store.carried_over(since, start, day.isoformat(), first.isoformat(), begins) + store.tasks_due(start, end)
    overtaken = store.overtaken()
    named_since = day_bounds(day - timedelta(days=1), tz)[0]  # named on the morning after its day, not on each later one
    # The tasks no list sent whose deadline passed since the day before began (planned after
    # their time and their deadline both, e.g. a welcome for someone who joined after the
    # export was cut): named, on one morning, so that the operator can still do them late.
    missed = [(json.loads(data), deadline) for task_id, _, data, deadline in store.missed(since, start, day.isoformat(), first.isoformat(), begins_on(day - timedelta(days=1)), begins) if task_id not in overtaken]
    if not rows and not missed:
        raise DeliveryError(_no_tasks(store, day, tz))
    delivered = store.deliveries(day.isoformat())
    elsewhere = store.delivered_elsewhere(day.isoformat(), first.isoformat())  # in an earlier day's list, as still to do then
    by_operator: dict[str, list[dict[str, Any]]] = {}
    merged: set[str] = set()
    ahead = store.ahead_ids()
    gone: list[tuple[str, str]] = []
    dues = {task_id: due for task_id, due in store.task_dues(list(overtaken))} if overtaken else {}
    for task_id, assignee, data in rows:
        if task_id in overtaken:
            if dues.get(task_id, start) >= named_since:
                gone.append((task_id, overtaken[task_id]))  # e.g. the question was answered that afternoon: not sent
            continue
        record = json.loads(data)
        if task_id in ahead:
            record[AHEAD_MARK] = True  # planned ahead by the last run (compose says so)
        merged.update(part["id"] for part in record.get("parts", ()) if part.get("id") != task_id)
        by_operator.setdefault(assignee or "", []).append(record)
    known = {operator.id for operator in config.community.operators}
    result = Day(day, start, end, [], total=len(rows), overtaken=gone, left_out=sum(task_id in overtaken for task_id, _, _ in rows), missed=missed)
    result.unassigned = sum(len(records) for assignee, records in by_operator.items() if assignee not in known)
    result.unrecorded = sum(task_id not in merged for task_id in store.unrecorded_due(start, end))
    for operator in config.community.operators:
        records = by_operator.get(operator.id, [])
        sent, last_part = delivered.get(operator.id, (set(), 0))
        fresh = [record for record in records if record["id"] not in sent and record["id"] not in elsewhere]
        result.operators.append(OperatorDay(operator, fresh, len(records) - len(fresh), last_part))
    return result


MISSED_NAMED = 10  # an operator's missed tasks named under their list; the others counted


def _missed_notes(config: Config, missed: list[tuple[dict[str, Any], float]], words: DeliveryWords, day: date, group_names: Mapping[str, str]) -> tuple[str, ...]:
    """The lines under an operator's list that name their tasks no list carried in time (as the
    command's output names them for whoever runs it): the operator reads the list, not the log."""
    if not missed:
        return ()
    lines = missed_lines(config, missed, words, day, group_names)
    named = lines[:MISSED_NAMED]
    if len(lines) > MISSED_NAMED:
        named.append(words.missed_more.format(count=len(lines) - MISSED_NAMED))
    return (words.missed_note.format(count=len(lines)), *named)


def _no_room_notes(config: Config, no_room: Mapping[str, int], words: DeliveryWords) -> tuple[str, ...]:
    """What the night's look-ahead found no room for in the operator's day, by playbook: a
    festival's greetings her capacity could not hold, which she may still want to send by hand."""
    if not no_room:
        return ()
    listed = config.by_playbook(no_room, words_for(config.community.language).plan.list_separator)
    return (words.no_room_note.format(count=sum(no_room.values()), listed=listed),)


def missed_lines(config: Config, missed: list[tuple[dict[str, Any], float]], words: DeliveryWords, day: date, group_names: Mapping[str, str]) -> list[str]:
    """Each task no list carried in time as one line: id, who, what (its first line), deadline."""
    deadlines = {record["id"]: deadline for record, deadline in missed}
    items = compose(config, [record for record, _ in missed], words, day, group_names)
    return [words.missed_item.format(id=item.id, who=item.who, what=item.text.splitlines()[0] if item.text else "", deadline=datetime.fromtimestamp(deadlines[item.id], config.community.tz).strftime("%m-%d %H:%M")) for item in items]


def _no_tasks(store: StateStore, day: date, tz: ZoneInfo) -> str:
    known = store.due_range()
    if known is None:
        return f"{store.path} holds no planned task to do — run `playbook run PATHS --events FILE --state {store.path}` first, then deliver"
    first, last = (datetime.fromtimestamp(t, tz).date().isoformat() for t in known)
    return f"{day.isoformat()}: no tasks to do are due that day in {store.path} — tasks are due from {first} to {last} ({tz.key}); check --date"


# -- the words -------------------------------------------------------------------------------------


def compose(config: Config, records: Sequence[Mapping[str, Any]], words: DeliveryWords, day: date | None = None, group_names: Mapping[str, str] | None = None) -> list[DeliveryItem]:
    """One item per task record, as the operator reads it; one due before ``day`` says its day too.
    ``group_names``: the names the state knows (community.yaml's, else the export's)."""
    community, registry = config.community, config.registry
    language = words_for(community.language)
    names = group_names if group_names is not None else community.group_names
    options = registry.option_names(community.language)
    items = []
    # Private messages the plan could not make one (yesterday's left over beside today's, one
    # triggered after the first was due): the first to each member, named beside the others.
    private = frozenset(community.merge) - frozenset(community.merge_in_group)
    first_to: dict[str, str] = {}
    for record in sorted(records, key=lambda record: (record["due"], -_RANK.get(record["priority"], 0), record["id"])):
        group = record.get("group")
        group_name = names.get(group, group) if group else ""
        member, name = record.get("member"), record.get("member_name")
        who = words.group if member is None else (words.member.format(name=name, member=member) if name and name != member else str(member))
        channel = registry.channels.get(record["channel"])
        text = record["text"]
        params = record.get("params") or {}
        if params:
            text += " · " + ", ".join(words.option.format(name=option_name(options, record["action"], key), value="、".join(map(str, value)) if isinstance(value, list) else value) for key, value in sorted(params.items()))
        shown = text
        if channel is not None and record["action"] in channel.instructions and community.language == "zh-CN":
            text = channel.how_to(record["action"], group_name, name or member or "", text)  # the channel's own words: they are Chinese
        else:
            text = words.action(record["action"], text)
        others = [action for action in dict.fromkeys(part.get("action") for part in record.get("parts") or ()) if action and action != record["action"]]
        if others:  # a merged message: the other actions it carries, where the operator reads what to do
            text = noted_before_text(text, shown, language.explain.also.format(actions=language.plan.list_separator.join(community.action_names.get(action, action) for action in others)))
        mark = {"urgent": words.urgent, "high": words.high}.get(record["priority"], "")
        # The channel only when the community has more than its own (a WeChat community's every
        # task is on WeChat: "wechat" on each line says nothing, in English).
        where = " · ".join(part for part in (group_name, record["channel"] if record["channel"] != community.channel else "") if part)
        time = record["due"][11:16]
        if day is not None and record["due"][:10] < day.isoformat():  # the local day, as the record writes it
            time = words.earlier_day(date.fromisoformat(record["due"][:10]), time)
        reason = record.get("reason", "") + (words.ahead if record.get(AHEAD_MARK) else "")  # what it means: once, in the head
        if member is not None and record["action"] in private:
            earlier = first_to.setdefault(member, record["id"])
            if earlier != record["id"]:
                reason += words.same_member.format(id=earlier)
        items.append(DeliveryItem(record["id"], time, record["priority"], mark, who, where, text, reason, record))
    return items


_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


# -- the parts ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One part, ready to send: what it holds and its JSON body (unsigned)."""

    part: DeliveryPart
    payload: dict[str, Any]
    body: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def encode(payload: Mapping[str, Any]) -> bytes:
    """A payload as it is sent: compact UTF-8 JSON (not \\u escapes: those would triple the size of Chinese text)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def split(kind: InboxType, operator_day: OperatorDay, items: list[DeliveryItem], config: Config, day: date, words: DeliveryWords, notes: tuple[str, ...] = ()) -> list[Message]:
    """``items`` in as few messages as ``kind`` takes, in order; a task too long for a message
    of its own is shortened (its text, then its reason) until it fits. ``notes`` end the last
    message — or, when they do not fit there, a message of their own, as many of them as fit."""
    operator = operator_day.operator
    community = config.community
    count, earlier = len(items), operator_day.earlier

    def message(chunk: Sequence[DeliveryItem], number: int, parts: int, lines: tuple[str, ...] = ()) -> Message:
        title = words.title(day, count) + (words.earlier.format(count=earlier) if earlier else "") + (words.part.format(part=number, parts=parts) if parts > 1 else "")
        part = DeliveryPart(operator.id, operator.name, community.name, day.isoformat(), number, parts, title, _summary(operator, community.name, items, words, day), tuple(chunk), community.language, {"why": words.why}, lines)
        payload = kind.render(part)
        return Message(part, payload, encode(payload))

    def fits(chunk: Sequence[DeliveryItem], lines: tuple[str, ...] = ()) -> bool:
        probe = message(chunk, 99, 99, lines)  # the longest part number a title can carry: numbering later only shortens it
        return kind.fits(probe.payload, probe.body)

    chunks: list[list[DeliveryItem]] = []
    if fits(items):
        chunks = [items]  # most days: one message (and no robot limit at all for a webhook)
    else:
        current: list[DeliveryItem] = []
        for item in items:  # greedy: each message as full as the robot takes, the tasks in due order
            if fits([*current, item]):
                current.append(item)
                continue
            if current:
                chunks.append(current)
            current = [item if fits([item]) else _shorten(item, fits)]
        if current:
            chunks.append(current)
    last: tuple[str, ...] = ()
    if notes:
        if chunks and fits(chunks[-1], notes):
            last = notes
        else:
            while len(notes) > 1 and not fits([], notes):
                notes = notes[:-1]  # the head and as many named tasks as a message holds
            if fits([], notes):
                chunks.append([])
                last = notes
    return [message(chunk, number, len(chunks), last if number == len(chunks) else ()) for number, chunk in enumerate(chunks, 1)]


def _shorten(item: DeliveryItem, fits: Callable[[Sequence[DeliveryItem]], bool]) -> DeliveryItem:
    """``item`` with its text, then its reason, cut (ending in …) until a message of it alone fits."""
    for name in ("text", "why", "who", "where"):
        value = getattr(item, name)
        low, high = 0, len(value)  # the longest prefix that fits, by bisection: a few renders, not one per character
        while low < high:
            middle = (low + high + 1) // 2
            if fits([_with(item, name, value[:middle] + "…")]):
                low = middle
            else:
                high = middle - 1
        candidate = _with(item, name, value[:low] + "…")
        if fits([candidate]):
            return candidate
        item = _with(item, name, "…")
    if fits([item]):
        return item
    raise DeliveryError(f"task {item.id} does not fit in one message even cut short — its inbox type's size limit is too small for any task")


def _with(item: DeliveryItem, name: str, text: str) -> DeliveryItem:
    changes: dict[str, Any] = {name: text}
    return replace(item, **changes)


def _summary(operator: Operator, community: str, items: Iterable[DeliveryItem], words: DeliveryWords, day: date | None = None) -> str:
    """Whose list it is, how many cannot wait, and how many are an earlier day's still to do
    (review 7: a morning of 63 whose first 23 were the evening before's welcomes)."""
    items = list(items)
    priorities = Counter(item.priority for item in items)
    pressing = [words.counts.format(label=label, count=priorities[name]) for name, label in (("urgent", words.urgent), ("high", words.high)) if priorities[name]]
    today = day.isoformat() if day is not None else ""
    carried = sum(1 for item in items if str(item.record.get("due", ""))[:10] < today)
    if carried:
        pressing.append(words.counts.format(label=words.carried, count=carried))
    ahead = sum(1 for item in items if item.record.get(AHEAD_MARK))
    if ahead:  # each such task is marked 预排; what that asks of the operator is said here, once
        pressing.append(words.ahead_head.format(count=ahead))
    return " · ".join([operator.name, community, *pressing])


# -- sending -----------------------------------------------------------------------------------------


@dataclass
class Transport:
    """How ``send`` reaches the robots. Tests give their own ``sleep`` and ``clock``: the waits
    of a retry then take no time, and signatures are made at a known instant."""

    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    timeout: float = 10.0  # seconds for one request
    attempts: int = 5  # of one message: the first and four retries
    backoff: float = 1.0  # seconds before the first retry; doubled before each next one
    max_wait: float = 300.0  # a longer Retry-After stops the delivery: run it again later
    last_sent: dict[str, float] = field(default_factory=dict)  # by address: when a message last went there


class _Unreachable(Exception):
    """The request got no HTTP answer (refused, timed out, no such host …)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A robot answers where it is asked; a redirect would turn the POST into a GET elsewhere."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, timeout: float) -> tuple[Reply, str | None]:
    """POST ``body`` as JSON to ``url``: the reply, and its Retry-After header if any."""
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Reply(response.status, response.read(_MAX_REPLY_BYTES)), response.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        try:
            body = error.read(_MAX_REPLY_BYTES)
        except Exception:  # broad: the answer to a failed request may break off anywhere; its status is what counts
            body = b""
        return Reply(error.code, body), error.headers.get("Retry-After") if error.headers else None
    except urllib.error.URLError as error:
        raise _Unreachable(str(error.reason)) from None
    except Exception as error:  # broad: urllib, http.client and ssl raise many kinds, some quoting the address; all mean no answer
        raise _Unreachable(f"{type(error).__name__}: {error}") from None


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds a Retry-After header asks to wait (a number, or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


@dataclass
class Outcome:
    """What became of one operator's delivery."""

    operator: Operator
    inbox: str
    sent: list[Message] = field(default_factory=list)
    error: str | None = None


def send(store: StateStore, operator: Operator, inbox: Inbox, messages: list[Message], transport: Transport, first_part: int, say: Callable[[str], None], words: DeliveryWords = EN.delivery) -> Outcome:
    """Post ``messages`` in order; record each in ``store`` once accepted. A message that fails
    ends the operator's delivery (the later parts are not sent, so a rerun sends the rest in
    order); the error says what the platform said, without the address."""
    kind = inbox.kind
    outcome = Outcome(operator, kind.name)
    url = inbox.url.reveal()
    for index, message in enumerate(messages):
        try:
            _deliver_one(inbox, message, transport, url)
        except DeliveryError as error:
            done = f"{index} of {len(messages)} messages were sent; " if index else ""
            outcome.error = f"{operator.id} ({operator.name}): {error} — {done}nothing else was recorded; fix it and run `playbook deliver` again to send the rest"
            return outcome
        store.record_delivery(operator.id, message.part.date, first_part + index, kind.name, message.digest, [item.id for item in message.part.items], transport.clock())
        outcome.sent.append(message)
        say(words.accepted.format(operator=operator.id, part=index + 1, parts=len(messages), inbox=kind.name, tasks=len(message.part.items)))
    return outcome


def _deliver_one(inbox: Inbox, message: Message, transport: Transport, url: str) -> None:
    kind = inbox.kind
    reason = ""
    for attempt in range(transport.attempts):
        _pace(kind, url, transport)
        target, payload = url, message.payload
        if inbox.secret is not None and kind.sign is not None:
            try:
                target, payload = kind.sign(url, inbox.secret.reveal(), dict(message.payload), transport.clock())
            except Exception as error:  # broad: a plugin's signing code fails with what it was given in its message
                raise DeliveryError(f"signing the message for the {kind.name} robot failed ({type(error).__name__})") from None
        retry_after: float | None = None
        try:
            reply, retry_after_header = post(target, encode(payload), transport.timeout)
        except _Unreachable as error:
            retry, reason = True, f"could not reach the {kind.name} robot ({redact(str(error), inbox.url, inbox.secret, Secret(target))})"
        else:
            transport.last_sent[url] = transport.clock()
            retry_after = _retry_after(retry_after_header, transport.clock())
            if reply.status == 429 or 500 <= reply.status < 600:
                retry, reason = True, f"the {kind.name} robot answered HTTP {reply.status}{_quote(reply, inbox, target)}"
            else:
                verdict = _checked(kind, reply)
                if verdict.accepted:
                    return
                retry = verdict.retry
                reason = f"the {kind.name} robot refused the message ({redact(verdict.reason, inbox.url, inbox.secret, Secret(target))[:_MAX_REASON]})"
        if not retry or attempt == transport.attempts - 1:
            tries = f" after {attempt + 1} tries" if attempt else ""
            raise DeliveryError(reason + tries)
        wait = max(transport.backoff * 2**attempt, _pace_left(kind, url, transport))  # never closer than the robot's rate
        if retry_after is not None:
            if retry_after > transport.max_wait:
                raise DeliveryError(f"{reason}; it asks to wait {retry_after:.0f} s before trying again")
            wait = max(wait, retry_after)
        transport.sleep(min(wait, transport.max_wait))


def _checked(kind: InboxType, reply: Reply) -> Verdict:
    try:
        return kind.check(reply)
    except Exception as error:  # broad: a plugin reading an answer it did not expect must not end the delivery with a traceback
        return Verdict(False, reason=f"its answer could not be read: {type(error).__name__}")


def _quote(reply: Reply, inbox: Inbox, target: str) -> str:
    text = terminal_text(reply.body[:_MAX_REASON].decode("utf-8", "replace")).strip()
    return f": {redact(text, inbox.url, inbox.secret, Secret(target))}" if text else ""


def _pace_left(kind: InboxType, url: str, transport: Transport) -> float:
    """Seconds until the robot's rate allows the next message: ``kind.min_interval`` after the last one to this address."""
    last = transport.last_sent.get(url)
    return 0.0 if last is None else max(0.0, last + kind.min_interval - transport.clock())


def _pace(kind: InboxType, url: str, transport: Transport) -> None:
    wait = _pace_left(kind, url, transport)
    if wait > 0:
        transport.sleep(wait)


# -- the whole delivery ------------------------------------------------------------------------------


@dataclass
class Report:
    """What ``deliver`` did: per operator, and what it could not deliver."""

    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said on standard error, not errors
    previews: list[tuple[Operator, str, Message]] = field(default_factory=list)  # --dry-run: (operator, inbox type, message)

    @property
    def errors(self) -> list[str]:
        return [outcome.error for outcome in self.outcomes if outcome.error]


def deliver(config: Config, state_path: str, day: date, *, dry_run: bool = False, transport: Transport | None = None, environ: Mapping[str, str] | None = None, say: Callable[[str], None] = lambda line: None) -> Report:
    """Send each operator the tasks of local day ``day`` not yet delivered (``dry_run``: only
    show what would be sent). Raises DeliveryError, with the state untouched, when there is
    nothing that day, an address cannot be read, or the state cannot be opened."""
    transport = transport or Transport()
    environ = os.environ if environ is None else environ
    if not Path(state_path).is_file():
        raise DeliveryError(f"{state_path}: no such state file — run `playbook run PATHS --events FILE --state {state_path}` first, or check the path")
    words = words_for(config.community.language).delivery
    store = StateStore.open(state_path, lock=not dry_run)  # two deliveries at once would both send
    try:
        the_day = gather(config, store, day)
        report = Report()
        todo: list[tuple[OperatorDay, Inbox | None, list[Message]]] = []
        missing: list[str] = []
        kinds = config.registry.inboxes
        # A group community.yaml does not name is called by its export's name (Telegram's chat,
        # PyWxDump's file), as the run's own output calls it, not by its number.
        group_names = store.group_names()
        group_names.update((group, name) for group, name in config.community.group_names.items() if name != group or group not in group_names)
        for operator_day in the_day.operators:
            operator = operator_day.operator
            if not operator_day.records:
                if operator_day.earlier:
                    report.notes.append(words.nothing_new.format(operator=operator.id, count=operator_day.earlier, day=day.isoformat()))
                continue
            if operator.inbox is None:
                report.notes.append(words.no_inbox.format(operator=operator.id, file=config.community.file, count=len(operator_day.records)))
                continue
            inbox, absent = resolve(operator, kinds, environ)
            missing += absent
            kind = kinds[operator.inbox.type]
            # Their tasks no list carried in time, under their list: they read it, not the log
            # (a morning with no list for them: the log alone).
            notes = _missed_notes(config, [(record, deadline) for record, deadline in the_day.missed if record.get("assignee") == operator.id], words, day, group_names)
            notes += _no_room_notes(config, store.no_room(day.isoformat(), operator.id), words)
            messages = split(kind, operator_day, compose(config, operator_day.records, words, day, group_names), config, day, words, notes)
            todo.append((operator_day, inbox, messages))
        if the_day.unassigned:
            report.notes.append(words.unassigned.format(count=the_day.unassigned, day=day.isoformat(), file=config.community.file))
        if the_day.unrecorded:
            report.notes.append(words.unrecorded.format(count=the_day.unrecorded, day=day.isoformat()))
        if the_day.overtaken:
            listed = "".join(f"\n  {task_id} {why}" for task_id, why in the_day.overtaken)
            report.notes.append(words.overtaken.format(count=len(the_day.overtaken), listed=listed))
        if the_day.missed:
            lines = missed_lines(config, the_day.missed, words, day, group_names)
            # One task a line: a morning after a join wave names dozens.
            report.notes.append(words.missed.format(count=len(lines), listed="".join("\n  " + line for line in lines)))
        if missing:
            if not dry_run:
                raise DeliveryError(f"{'; '.join(missing)} — set {'them' if len(missing) > 1 else 'it'} to the robot's address or secret where `playbook deliver` runs (docs/delivery.md); nothing was sent")
            language = words_for(config.community.language)
            report.notes.append(words.would_stop.format(what=language.plan.list_separator.join(said_in(problem, language) for problem in missing)))
        if not todo and not any(operator_day.earlier for operator_day in the_day.operators) and not the_day.left_out and not the_day.missed:
            raise DeliveryError(f"{day.isoformat()}: none of the {the_day.total} task(s) due that day can be delivered — {'; '.join(report.notes)}")
        for operator_day, inbox, messages in todo:
            operator = operator_day.operator
            if dry_run or inbox is None:
                report.previews += [(operator, operator.inbox.type if operator.inbox else "", message) for message in messages]
                continue
            report.outcomes.append(send(store, operator, inbox, messages, transport, operator_day.last_part + 1, say, words))
        return report
    finally:
        store.close()


def parse_day(value: str, tz: ZoneInfo, clock: Callable[[], float] = time.time) -> date:
    """``--date``: YYYY-MM-DD, or ``today`` / ``tomorrow`` in the community's time zone. ValueError otherwise."""
    word = value.strip().lower()
    if word in ("today", "tomorrow"):
        today = datetime.fromtimestamp(clock(), tz).date()
        return today + timedelta(days=1 if word == "tomorrow" else 0)
    return date.fromisoformat(value.strip())
