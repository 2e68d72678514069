"""Feishu (飞书) / Lark group chats as a channel for playbook-engine.

The whole plugin: one hook that registers one Channel. The entry point in pyproject.toml
(group ``playbook_engine``) is what makes ``pip install`` enough for the engine to find it.
"""

from __future__ import annotations

from collections.abc import Callable

from playbook_engine import hookimpl
from playbook_engine.contract import Channel


def _mention(name: str, member_id: str) -> str:
    # Feishu's rich-text mention: the client renders it as @name and notifies the member.
    return f'<at user_id="{member_id}">{name}</at>'


FEISHU = Channel(
    name="feishu",
    title="Feishu / Lark group chats (飞书群)",
    capabilities=frozenset({"post", "mention", "dm", "remove"}),
    max_length=4000,
    mention=_mention,
    options_schema={
        "type": "object",
        "additionalProperties": False,
        "properties": {"tenant": {"type": "string", "description": "Tenant (company) name, shown in instructions."}},
    },
    instructions={
        "mention": "在飞书群「{group}」里 @{member} 并发送：{text}",
        "dm": "在飞书上私聊 {member}：{text}",
        "post": "在飞书群「{group}」发布：{text}",
        "warn": "在飞书群「{group}」里 @{member} 提醒：{text}",
        "remove": "将 {member} 移出飞书群「{group}」（{text}）",
    },
)


@hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    register(FEISHU)
