"""Built-in inbox types: the work-chat robots `playbook deliver` posts an operator's day to.

Each is the platform's documented webhook payload and limit (docs/delivery.md cites them):

| type | payload | one message holds at most | rate |
|---|---|---|---|
| wecom | 企业微信群机器人 ``msgtype: markdown`` | ``content`` of 4096 bytes (UTF-8) | 20 a minute |
| dingtalk | 钉钉自定义机器人 ``msgtype: markdown`` (+ ``timestamp`` and ``sign`` in the URL when 加签) | a body of 20000 bytes | 20 a minute |
| feishu | 飞书自定义机器人 ``msg_type: interactive`` (a card; + ``timestamp`` and ``sign`` when 签名校验) | a body of 20 KB | 100 a minute, 5 a second |
| slack | Slack incoming webhook ``blocks`` | 50 blocks, 3000 characters a section | 1 a second |
| webhook | plain JSON: the task records | (no limit) | — |

Texts from the history (member names, messages) are made inert where a platform renders
markup: WeCom and DingTalk markdown get markup characters in full width (a name cannot add a
link or a heading); Feishu and Slack get ``plain_text`` objects, which render nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from playbook_engine import hookimpl
from playbook_engine.contract import DeliveryItem, DeliveryPart, InboxType, Reply, Verdict
from playbook_engine.printable import terminal_text

# Markup characters of the robots' Markdown, shown in full width: a link, an HTML or <font> tag,
# emphasis, code, a heading or a quote of a member's choosing cannot appear in the operator's list.
_FULL_WIDTH = str.maketrans({"[": "［", "]": "］", "<": "＜", ">": "＞", "*": "＊", "`": "｀", "#": "＃", "|": "｜", "~": "～"})


def inert(text: str) -> str:
    """``text`` for a robot's Markdown: no control characters, no markup."""
    return terminal_text(text).translate(_FULL_WIDTH)


def about(item: DeliveryItem, shown: Callable[[str], str] = str) -> str:
    """For whom, where and which task: "阿珍（m1） · 读书会1群 · t-…"; a part the task has not
    (no group: a member known only from their profile) is left out, not shown empty."""
    return " · ".join(shown(part) for part in (item.who, item.where) if part) + f" · {item.id}"


def plain_item(item: DeliveryItem, labels: Mapping[str, str]) -> str:
    """A task as plain lines: when and for whom, what to do, why."""
    head = " ".join(part for part in (item.time, item.mark, about(item)) if part)
    return f"{head}\n{item.text}\n{labels.get('why', 'why: ')}{item.why}"


def plain_text(part: DeliveryPart) -> str:
    """The whole part as plain text."""
    return "\n\n".join([f"{part.title}\n{part.summary}", *(plain_item(item, part.labels) for item in part.items), *part.notes])


def _json(reply: Reply) -> dict[str, Any]:
    try:
        value = json.loads(reply.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _coded(field: str, busy: frozenset[int], hints: Mapping[int, str] | None = None) -> Callable[[Reply], Verdict]:
    """A check for the robots that answer HTTP 200 with ``{field: 0}`` when they took the
    message, and another code (with ``errmsg``/``msg``) when they did not: ``busy`` codes are
    retried (rate limits), the others refuse; ``hints`` add what to do."""

    def check(reply: Reply) -> Verdict:
        answer = _json(reply)
        code = answer.get(field, answer.get("StatusCode"))
        message = str(answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or "")
        if reply.status == 200 and code == 0:
            return Verdict(True)
        if code is None:
            return Verdict(False, reason=f"HTTP {reply.status}, not the answer of a {field} robot")
        hint = (hints or {}).get(code, "")
        return Verdict(False, retry=code in busy, reason=f"{field} {code}: {message}{hint}")

    return check


# -- 企业微信群机器人 ---------------------------------------------------------------------------------

WECOM_CONTENT_BYTES = 4096  # markdown.content "最长不超过4096个字节，必须是utf8编码" (errcode 40058 beyond)


def render_wecom(part: DeliveryPart) -> dict[str, Any]:
    lines = [f"## {inert(part.title)}", inert(part.summary)]
    for item in part.items:
        mark = f' <font color="warning">{item.mark}</font>' if item.mark else ""
        lines += ["", f"**{item.time}**{mark} {about(item, inert)}", inert(item.text), f'<font color="comment">{inert(part.labels.get("why", ""))}{inert(item.why)}</font>']
    for note in part.notes:
        lines += ["", f'<font color="warning">{inert(note)}</font>']
    return {"msgtype": "markdown", "markdown": {"content": "\n".join(lines)}}


WECOM = InboxType(
    name="wecom",
    title="企业微信群机器人 (WeCom group robot)",
    render=render_wecom,
    fits=lambda payload, body: len(payload["markdown"]["content"].encode("utf-8")) <= WECOM_CONTENT_BYTES,
    # -1: system busy, try again; 45009: calls over the frequency limit.
    check=_coded("errcode", frozenset({-1, 45009}), {93000: " — the webhook key is not valid: copy the robot's address again"}),
    min_interval=3.0,  # 20 messages a minute per robot
    limit=f"markdown of {WECOM_CONTENT_BYTES} bytes",
)


# -- 钉钉自定义机器人 -----------------------------------------------------------------------------------

DINGTALK_BODY_BYTES = 20000  # "body 大小不合法 … 请保持大小在 20000bytes 以内"


def render_dingtalk(part: DeliveryPart) -> dict[str, Any]:
    # Paragraphs, not single line breaks: every line of the list stays a line.
    blocks = [f"#### {inert(part.title)}", inert(part.summary)]
    for item in part.items:
        mark = f" {item.mark}" if item.mark else ""
        blocks += [f"**{item.time}**{mark} {about(item, inert)}", inert(item.text), f"> {inert(part.labels.get('why', ''))}{inert(item.why)}"]
    blocks += [inert(note) for note in part.notes]
    return {"msgtype": "markdown", "markdown": {"title": terminal_text(part.title), "text": "\n\n".join(blocks)}}


def sign_dingtalk(url: str, secret: str, payload: dict[str, Any], now: float) -> tuple[str, dict[str, Any]]:
    """加签: HmacSHA256 of "timestamp\\nsecret" keyed with the secret, Base64, URL-encoded; the
    timestamp (milliseconds) and the sign go into the URL's query."""
    timestamp = str(int(now * 1000))
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}", payload


DINGTALK = InboxType(
    name="dingtalk",
    title="钉钉自定义机器人 (DingTalk custom robot)",
    render=render_dingtalk,
    fits=lambda payload, body: len(body) <= DINGTALK_BODY_BYTES,
    # -1: system busy; 130101: sent too fast (over 20 a minute: the robot is held for 10 minutes).
    check=_coded("errcode", frozenset({-1, 130101}), {310000: " — the signature, keyword or IP address was refused: check `secret:` and the robot's 安全设置", 300001: " — the access token is not valid: copy the robot's address again"}),
    sign=sign_dingtalk,
    min_interval=3.0,  # 20 messages a minute per robot
    limit=f"a body of {DINGTALK_BODY_BYTES} bytes",
)


# -- 飞书自定义机器人 -----------------------------------------------------------------------------------

FEISHU_BODY_BYTES = 20000  # "请求体的数据大小不能超过 20 KB"
_FEISHU_SIGNATURE_BYTES = 100  # room for "timestamp" and "sign", added when sent


def render_feishu(part: DeliveryPart) -> dict[str, Any]:
    urgent = any(item.priority == "urgent" for item in part.items)

    def div(text: str) -> dict[str, Any]:
        return {"tag": "div", "text": {"tag": "plain_text", "content": terminal_text(text)}}

    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": terminal_text(part.title)}, "template": "red" if urgent else "blue"},
            "elements": [div(part.summary), *(div(plain_item(item, part.labels)) for item in part.items), *(div(note) for note in part.notes)],
        },
    }


def sign_feishu(url: str, secret: str, payload: dict[str, Any], now: float) -> tuple[str, dict[str, Any]]:
    """签名校验: HmacSHA256 keyed with "timestamp\\nsecret" over nothing, Base64; the timestamp
    (seconds) and the sign go into the body."""
    timestamp = str(int(now))
    sign = base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode("ascii")
    return url, {"timestamp": timestamp, "sign": sign, **payload}


FEISHU = InboxType(
    name="feishu",
    title="飞书自定义机器人 (Feishu / Lark custom bot)",
    render=render_feishu,
    fits=lambda payload, body: len(body) <= FEISHU_BODY_BYTES - _FEISHU_SIGNATURE_BYTES,
    # 11232: frequency limited.
    check=_coded("code", frozenset({11232}), {19021: " — the signature was refused: check `secret:` (and the machine's clock)", 19024: " — the robot's keyword is not in the message: remove the keyword setting, or add it to the community name", 19022: " — this machine's IP address is not on the robot's list"}),
    sign=sign_feishu,
    min_interval=0.6,  # 100 messages a minute, 5 a second per robot
    limit=f"a body of {FEISHU_BODY_BYTES} bytes",
)


# -- Slack incoming webhook ---------------------------------------------------------------------------

SLACK_BLOCKS = 50  # blocks in one message
SLACK_SECTION_CHARACTERS = 3000  # a section's text
SLACK_HEADER_CHARACTERS = 150  # a header's text
# Past about 13,000 characters of blocks in all, Slack refuses a message (msg_blocks_too_long)
# although each block is within its limit: kept well under.
SLACK_TOTAL_CHARACTERS = 12000


def render_slack(part: DeliveryPart) -> dict[str, Any]:
    title = terminal_text(part.title)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:SLACK_HEADER_CHARACTERS]}},
        {"type": "context", "elements": [{"type": "plain_text", "text": terminal_text(part.summary)}]},
    ]
    blocks += [{"type": "section", "text": {"type": "plain_text", "text": terminal_text(plain_item(item, part.labels))}} for item in part.items]
    blocks += [{"type": "section", "text": {"type": "plain_text", "text": terminal_text(note)}} for note in part.notes]
    return {"text": title, "blocks": blocks}


def slack_fits(payload: Mapping[str, Any], body: bytes) -> bool:
    blocks = payload["blocks"]
    sections = [block["text"]["text"] for block in blocks if block["type"] == "section"]
    return len(blocks) <= SLACK_BLOCKS and all(len(text) <= SLACK_SECTION_CHARACTERS for text in sections) and sum(map(len, sections)) <= SLACK_TOTAL_CHARACTERS


def slack_check(reply: Reply) -> Verdict:
    # An incoming webhook answers 200 "ok"; otherwise an error word (invalid_payload, no_service …).
    text = reply.body.decode("utf-8", "replace").strip()
    if reply.status == 200 and text == "ok":
        return Verdict(True)
    return Verdict(False, reason=f"HTTP {reply.status}: {text[:100]}")


SLACK = InboxType(
    name="slack",
    title="Slack incoming webhook",
    render=render_slack,
    fits=slack_fits,
    check=slack_check,
    min_interval=1.0,  # one message a second per webhook
    limit=f"{SLACK_BLOCKS} blocks, {SLACK_SECTION_CHARACTERS} characters a task",
)


# -- any JSON webhook ------------------------------------------------------------------------------------


def render_webhook(part: DeliveryPart) -> dict[str, Any]:
    return {
        "operator": part.operator,
        "operator_name": part.operator_name,
        "community": part.community,
        "date": part.date,
        "part": part.part,
        "parts": part.parts,
        "title": part.title,
        "text": plain_text(part),
        "tasks": [dict(item.record) for item in part.items],
        "notes": list(part.notes),
    }


WEBHOOK = InboxType(
    name="webhook",
    title="Any JSON webhook (the task records)",
    render=render_webhook,
    limit="no limit: the day in one message",
)


@hookimpl
def register_inboxes(register: Callable[[InboxType], None]) -> None:
    for inbox in (WECOM, DINGTALK, FEISHU, SLACK, WEBHOOK):
        register(inbox)
