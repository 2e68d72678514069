"""Template filters for operators: dates in the community time zone, "3 days ago", channel mentions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context, Undefined

from playbook_engine import hookimpl
from playbook_engine.contract import reads_context
from playbook_engine.expressions import format_local
from playbook_engine.members import call_name
from playbook_engine.patterns import Pattern, compile_pattern


@reads_context("_channel")
@pass_context
def mention(context: Context, member: Any) -> str:
    """``{{ member | mention }}``: the member as the group's channel writes a mention (``@小王``, ``<@123>``)."""
    if member is None or isinstance(member, Undefined):
        return ""
    channel = context.get("_channel")
    name, member_id = getattr(member, "name", str(member)), getattr(member, "id", str(member))
    return channel.mention(name, member_id) if channel is not None else f"@{name}"


@reads_context()
def call(member: Any) -> str:
    """``{{ member | call_name }}``: what a private message calls the member by — the 称呼 of a
    "城市-称呼" group nickname (上海-Amy → "Amy 你好"), else the nickname. An @ in the group keeps
    the whole nickname (``member | mention``): that is what the group shows."""
    if member is None or isinstance(member, Undefined):
        return ""
    name = getattr(member, "name", None) or getattr(member, "id", None) or str(member)
    return call_name(str(name))


@reads_context("now")
@pass_context
def ago(context: Context, moment: Any) -> str:
    """``{{ member.last_message_at | ago }}``: 3天前 / 5小时前 / 刚刚, measured from event time ``now``."""
    if moment is None or isinstance(moment, Undefined) or not isinstance(moment, datetime):
        return ""
    seconds = (context.get("now") - moment).total_seconds()
    if seconds >= 86400:
        return f"{int(seconds // 86400)}天前"
    if seconds >= 3600:
        return f"{int(seconds // 3600)}小时前"
    if seconds >= 60:
        return f"{int(seconds // 60)}分钟前"
    return "刚刚"


# A link as members write one: with a scheme, from www., or a bare host with a well-known ending
# (t.cn/xyz). Not inside a longer name or address (x@qq.com is not a link).
_LINK = re.compile(
    r"(?:https?://|(?<![\w.@/-])www\.)[^\s<>\"'，。！？、；）】》]+"
    r"|(?<![\w.@/:-])(?:[a-z0-9-]+\.)+(?:com|cn|net|org|io|me|cc|top|xyz|vip|info|club|site|link|ly)(?![a-z0-9-])(?:/[^\s<>\"'，。！？、；）】》]*)?",
    re.IGNORECASE | re.ASCII,
)
_HOST = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?([^/?#:\s]+)", re.IGNORECASE)


def _host(link: str) -> str:
    found = _HOST.match(link.strip())
    host = found.group(1).lower() if found else ""
    return host[4:] if host.startswith("www.") else host


def links(text: Any, allowed: Any = ()) -> list[str]:
    """``{{ event.text | links(content.链接白名单) }}``: the links in a text, as written, but those
    on an ``allowed`` site — a domain or any of its subdomains (``douban.com`` allows
    ``book.douban.com``). ``event.text | links | length >= 2``: two links or more."""
    if not isinstance(text, str) or isinstance(text, Undefined):
        return []
    sites = [] if isinstance(allowed, Undefined) or not isinstance(allowed, (list, tuple)) else [_host(str(site)) for site in allowed]
    sites = [site for site in sites if site]
    found = []
    for match in _LINK.finditer(text):
        host = _host(match.group(0))
        if not any(host == site or host.endswith("." + site) for site in sites):
            found.append(match.group(0))
    return found


@lru_cache(maxsize=256)
def _pattern(pattern: str) -> Pattern:
    return compile_pattern(pattern)


def capture(text: Any, pattern: str) -> str:
    """``{{ event.text | capture('《([^》]+)》') }}``: what the pattern's first group (or, without
    one, the pattern) matches the first time in the text; empty when it does not match — a
    template reads only what is there, it never guesses. Matched in linear time (RE2)."""
    if text is None or isinstance(text, Undefined):
        return ""
    found = _pattern(pattern).search(str(text))
    if found is None:
        return ""
    try:
        return found.group(1) or ""
    except IndexError:  # no group in the pattern: the whole match
        return found.group(0)


@hookimpl
def register_filters(register: Callable[[str, Callable[..., Any]], None]) -> None:
    register("date", format_local)
    register("ago", ago)
    register("mention", mention)
    register("call_name", call)
    register("links", links)
    register("capture", capture)
