"""Template filters for operators: dates in the community time zone, "3 days ago", channel mentions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context, Undefined

from playbook_engine import hookimpl
from playbook_engine.contract import reads_context
from playbook_engine.expressions import format_local


@reads_context("_channel")
@pass_context
def mention(context: Context, member: Any) -> str:
    """``{{ member | mention }}``: the member as the group's channel writes a mention (``@小王``, ``<@123>``)."""
    if member is None or isinstance(member, Undefined):
        return ""
    channel = context.get("_channel")
    name, member_id = getattr(member, "name", str(member)), getattr(member, "id", str(member))
    return channel.mention(name, member_id) if channel is not None else f"@{name}"


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


@hookimpl
def register_filters(register: Callable[[str, Callable[..., Any]], None]) -> None:
    register("date", format_local)
    register("ago", ago)
    register("mention", mention)
