"""Built-in channels: the chat platforms our operators run groups on."""

from __future__ import annotations

from collections.abc import Callable

from engine import hookimpl
from engine.plugins import Channel

WECHAT = Channel(
    name="wechat",
    title="WeChat groups (微信群)",
    capabilities=frozenset({"post", "mention", "dm", "remove"}),
    max_length=2000,
    mention=lambda name, member_id: f"@{name}",
    options_schema={"type": "object", "additionalProperties": False, "properties": {}},
    instructions={
        "mention": "在群「{group}」里 @{member} 并发送：{text}",
        "dm": "私信 {member}：{text}",
        "post": "在群「{group}」发布：{text}",
        "warn": "在群「{group}」里 @{member} 提醒：{text}",
        "remove": "将 {member} 移出群「{group}」（{text}）",
    },
)


@hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    register(WECHAT)
