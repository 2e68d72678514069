"""Built-in channels: the chat platforms our operators run groups on.

Each says what an operator can do there, how a mention is written, how long a message may
be, and what the operator does by hand for each kind of task (the engine plans; people send).
"""

from __future__ import annotations

from collections.abc import Callable

from playbook_engine import hookimpl
from playbook_engine.contract import Channel

_NO_OPTIONS = {"type": "object", "additionalProperties": False, "properties": {}}

_CHINESE_STEPS = {
    "mention": "在群「{group}」里 @{member} 并发送：{text}",
    "dm": "私信 {member}：{text}",
    "post": "在群「{group}」发布：{text}",
    "warn": "在群「{group}」里 @{member} 提醒：{text}",
    "remove": "将 {member} 移出群「{group}」（{text}）",
    "reward": "给 {member} 发放奖励：{text}",
    "invite": "邀请 {member} 加入：{text}",
    "survey": "私信 {member} 问卷：{text}",
    "notify": "记录/处理：{text}",
}


_ENGLISH_STEPS = {
    "mention": "In {group}, mention @{member} and send: {text}",
    "dm": "DM {member}: {text}",
    "post": "Post in {group}: {text}",
    "warn": "In {group}, mention @{member} as a reminder: {text}",
    "remove": "Remove {member} from {group} ({text})",
    "reward": "Give {member} a reward: {text}",
    "invite": "Invite {member}: {text}",
    "survey": "DM {member} the survey: {text}",
    "notify": "Note / follow up: {text}",
}


def _at_name(name: str, member_id: str) -> str:
    return f"@{name}"


def _angle_id(name: str, member_id: str) -> str:
    return f"<@{member_id}>"


CHANNELS = (
    Channel(
        name="wechat",
        names={"zh-CN": "微信", "en": "WeChat"},
        title="WeChat groups (微信群)",
        capabilities=frozenset({"post", "mention", "dm", "remove", "reward"}),
        max_length=2000,
        mention=_at_name,
        options_schema=_NO_OPTIONS,
        instructions=_CHINESE_STEPS,
        instructions_in={"en": _ENGLISH_STEPS},
    ),
    Channel(
        name="wecom",
        names={"zh-CN": "企业微信", "en": "WeCom"},
        title="WeCom customer groups (企业微信客户群)",
        capabilities=frozenset({"post", "mention", "dm", "remove", "reward"}),
        max_length=4000,
        mention=_at_name,
        options_schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"corp": {"type": "string", "description": "Corporation name shown to members."}},
        },
        instructions={**_CHINESE_STEPS, "dm": "在企业微信里私聊 {member}：{text}"},
        instructions_in={"en": {**_ENGLISH_STEPS, "dm": "Message {member} one to one in WeCom: {text}"}},
    ),
    Channel(
        name="qq",
        names={"zh-CN": "QQ", "en": "QQ"},
        title="QQ groups (QQ群)",
        capabilities=frozenset({"post", "mention", "dm", "remove"}),
        max_length=4500,
        mention=_at_name,
        options_schema=_NO_OPTIONS,
        instructions={**_CHINESE_STEPS, "dm": "通过群临时会话私聊 {member}：{text}"},
        instructions_in={"en": {**_ENGLISH_STEPS, "dm": "Message {member} through a temporary group chat: {text}"}},
    ),
    Channel(
        name="discord",
        names={"zh-CN": "Discord", "en": "Discord"},
        title="Discord servers",
        capabilities=frozenset({"post", "mention", "dm", "remove", "reward"}),
        max_length=2000,
        mention=_angle_id,
        options_schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"reward_role": {"type": "string", "description": "Role granted as a reward, e.g. KOL."}},
        },
        instructions={**_CHINESE_STEPS, "mention": "在频道 #{group} 发送（含 @{member}）：{text}", "remove": "将 {member} 踢出服务器（{text}）", "reward": "给 {member} 授予奖励身份组：{text}"},
        instructions_in={"en": {**_ENGLISH_STEPS, "mention": "Send in #{group} (mentioning @{member}): {text}", "remove": "Kick {member} from the server ({text})", "reward": "Give {member} the reward role: {text}"}},
    ),
    Channel(
        name="slack",
        names={"zh-CN": "Slack", "en": "Slack"},
        title="Slack workspaces",
        capabilities=frozenset({"post", "mention", "dm", "remove"}),
        max_length=4000,
        mention=_angle_id,
        options_schema=_NO_OPTIONS,
        instructions={**_CHINESE_STEPS, "mention": "在频道 #{group} 发送（含 @{member}）：{text}", "remove": "将 {member} 移出频道 #{group}（{text}）"},
        instructions_in={"en": {**_ENGLISH_STEPS, "mention": "Send in #{group} (mentioning @{member}): {text}", "remove": "Remove {member} from #{group} ({text})"}},
    ),
    Channel(
        name="telegram",
        names={"zh-CN": "Telegram", "en": "Telegram"},
        title="Telegram groups",
        capabilities=frozenset({"post", "mention", "dm", "remove"}),
        max_length=4096,
        mention=_at_name,
        options_schema=_NO_OPTIONS,
        instructions={**_CHINESE_STEPS, "dm": "私信 {member}（对方需先和你或机器人说过话）：{text}", "remove": "在群「{group}」封禁 {member}（{text}）"},
        instructions_in={"en": {**_ENGLISH_STEPS, "dm": "DM {member} (they must have written to you or the bot first): {text}", "remove": "Ban {member} from {group} ({text})"}},
    ),
    Channel(
        name="email",
        names={"zh-CN": "邮件", "en": "email"},
        title="Email (newsletters and one-to-one mail)",
        capabilities=frozenset({"post", "dm"}),
        max_length=100_000,
        mention=lambda name, member_id: name,
        options_schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"sender": {"type": "string", "description": "From address operators send with."}},
        },
        instructions={**_CHINESE_STEPS, "dm": "给 {member} 发邮件：{text}", "post": "向「{group}」邮件列表群发：{text}"},
        instructions_in={"en": {**_ENGLISH_STEPS, "dm": "Email {member}: {text}", "post": "Send to the {group} mailing list: {text}"}},
    ),
)


@hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    for channel in CHANNELS:
        register(channel)
