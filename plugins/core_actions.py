"""The actions of the spec: tasks for operators (mention, dm, post …) and state changes (tag)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from playbook_engine import hookimpl
from playbook_engine.contract import SCOPE_GROUP, SCOPE_PRIVATE, TAG_EXPIRY, ActionType, Firing, Member, Run
from playbook_engine.durations import parse_duration
from playbook_engine.schema import DURATION_PATTERN

# Each schema carries its title and examples: editors show them as completion and hover help.
_TEXT = {
    "description": "The message; a Jinja2 template over member, group, event, now, content. A list: the message written several ways, each target getting them in turn (not the same words twice in a row).",
    "title": "Text 内容",
    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
    "examples": ["{{ member.name }}，欢迎加入！", ["本周读书分享会周六 20:00 开始，欢迎来聊～", "周六 20:00 读书分享会，等你来～"]],
}


def _option(kind: str, description: str, title: str, examples: list[Any], **schema: Any) -> dict[str, Any]:
    return {"type": kind, **schema, "description": description, "title": title, "examples": examples}


def _text_object(extra: Mapping[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(required), "properties": {"text": _TEXT, **(extra or {})}}


def _text_action(title: str, examples: list[Any], extra: Mapping[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    variants = {"type": "array", "items": {"type": "string"}, "minItems": 1}  # the text written several ways
    return {"oneOf": [{"type": "string"}, variants, _text_object(extra, required)], "title": title, "examples": examples}


def _tags_value(title: str, examples: list[Any], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    tags = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}], "title": "Tags", "description": "Tags.", "examples": ["newbie", ["vip", "kol"]]}
    branches = [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}, {"type": "object", "additionalProperties": False, "required": ["tags"], "properties": {"tags": tags, **(extra or {})}}]
    return {"oneOf": branches, "title": title, "examples": examples}


# `tag: {tags: warned, for: 45d}`: a tag that comes off by itself (a warning that lapses, a
# "asked this week" that frees the member again), so no rule has to watch the time to untag.
_FOR = {
    "for": _option(
        "string",
        "How long the tags stay: they come off by themselves this long after the tag was (last) given; giving it again starts the time again. Without it a tag stays until `untag`.",
        "For 有效期",
        ["45d", "7d", "1d"],
        pattern=DURATION_PATTERN,
    )
}


def _tag_list(params: Mapping[str, Any]) -> list[str]:
    tags = params.get("tags", [])
    return [tags] if isinstance(tags, str) else list(tags)


def _add_tags(run: Run, member: Member, params: Mapping[str, Any], group: str | None) -> bool:
    """Tag the member, until ``for`` is over if given; False if every tag was already held
    and none has a time to (re)start (nothing changed)."""
    tags = _tag_list(params)
    held = len(member.tags)
    member.tags.update(tags)
    lasting = params.get("for")
    until = run.now + parse_duration(lasting) if lasting is not None else None
    if until is not None or TAG_EXPIRY in member.marks:  # a tag given without `for` stays
        for tag in tags:
            run.tag_until(member, tag, until)
    return until is not None or len(member.tags) != held


def _remove_tags(run: Run, member: Member, params: Mapping[str, Any], group: str | None) -> bool:
    """Take the tags off; False if the member held none of them (nothing changed)."""
    tags = _tag_list(params)
    held = len(member.tags)
    member.tags.difference_update(tags)
    if TAG_EXPIRY in member.marks:
        for tag in tags:
            run.tag_until(member, tag, None)
    return len(member.tags) != held


def _set_attribute(run: Run, member: Member, params: Mapping[str, Any], group: str | None) -> bool:
    """Write what the text renders to into the member's attribute — unless it renders to
    nothing (nothing could be read: unknown stays unknown) or the member already has a value
    (from a profile, or read before: a later guess never overwrites it)."""
    name = params["attribute"]
    if member.attributes.get(name) not in (None, ""):
        return False
    try:
        value = params["text"].render(run.firing_context()).strip()
    except Exception:  # broad: a text that fails (a pattern RE2 refuses …) reads nothing; the run goes on
        return False
    if not value:
        return False
    member.attributes[name] = value
    return True


def _reward(run: Run, member: Member, params: Mapping[str, Any], group: str | None) -> bool:
    points = params.get("points", 0) or 0
    member.points += points
    return points != 0  # a coupon or a gift alone changes nothing the engine knows


def _remove(run: Run, member: Member, params: Mapping[str, Any], group: str | None) -> None:
    run.remove_from_group(member, group)


def _mentioned(run: Run, firing: Firing) -> list[Member]:
    """Each member the firing's message mentions, but its author and anyone who left: the
    other side of a quarrel, the friend a member brought along."""
    event = firing.event
    author = firing.member.id if firing.member else None
    mentioned = [run.members.get(member_id) for member_id in dict.fromkeys(event.mentions if event else ())]
    return [target for target in mentioned if target is not None and target.id != author and not target.left]


# What a reward without a text says, by language: each option's words, how they are joined,
# the lead-in, and what is said when the rule names none.
_REWARD_WORDS = {
    "en": ({"points": "{} points", "coupon": "coupon {}", "gift": "gift {}"}, ", ", "reward: ", "as decided by the operator"),
    "zh-CN": ({"points": "{} 积分", "coupon": "优惠券 {}", "gift": "礼品 {}"}, "、", "奖励：", "由运营决定"),
}


def _reward_summary(language: str) -> Callable[[Mapping[str, Any]], str]:
    options, joiner, lead, undecided = _REWARD_WORDS[language]

    def describe(params: Mapping[str, Any]) -> str:
        parts = [shown.format(params[name]) for name, shown in options.items() if params.get(name)]
        return lead + (joiner.join(parts) or undecided)

    return describe


def _describe(template: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda params: template.format(**params)


_TARGETS = {"mentioned": _mentioned}
_TARGET = {
    "target": {
        "enum": ["member", "mentioned"],
        "description": "Whom the task is for: the member the rule fired for (default), or each member the message mentions — e.g. the other side of a quarrel.",
    }
}

# warn, remove and notify are not counted by `actions: any` limits: a note to an operator does
# not reach the member, and enforcing the group rules must not wait because the member was
# welcomed yesterday.
# Scopes: what happens in a group (mention, post, warn, remove) needs the member in that group;
# what reaches them one to one (dm, reward, invite, survey) needs them in some group of the
# community. A notify is about what the member did in the group (a question left open, a
# quarrel, a second offence): it is moot once they are out of it.
ACTIONS = (
    ActionType("mention", "@mention the member in the group with this text.", _text_action("Mention @提及", ["{{ member | mention }} 这周的话题你一定有想法～"], _TARGET), needs="mention", text_required=True, targets=_TARGETS, scope=SCOPE_GROUP, awaits_reply=True, names={"zh-CN": "群里@"}),
    ActionType("dm", "Send the member a private message (私信).", _text_action("DM 私信", ["{{ member.name }} 你好，好久没在群里看到你了，最近群里的内容对你有帮助吗？"], _TARGET), needs="dm", text_required=True, targets=_TARGETS, scope=SCOPE_PRIVATE, awaits_reply=True, names={"zh-CN": "私信"}),
    ActionType("post", "Post this message in the group.", _text_action("Post 群发", ["本周读书分享会周六 20:00 开始，欢迎大家来聊～"]), needs="post", text_required=True, scope=SCOPE_GROUP, names={"zh-CN": "群发"}),
    ActionType(
        "reward",
        "Reward the member: points (added to member.points), a coupon or a gift.",
        _text_action(
            "Reward 奖励",
            [{"points": 50, "text": "恭喜 {{ member.name }} 获得本月活跃前三！"}, {"gift": "定制书签"}],
            {
                "points": _option("integer", "Points to add to member.points.", "Points", [10, 50], minimum=1),
                "coupon": _option("string", "Coupon to hand out.", "Coupon", ["NEWBIE-10", "VIP-50"]),
                "gift": _option("string", "Gift to send.", "Gift", ["定制书签", "周边帆布袋"]),
            },
        ),
        needs="reward",
        apply=_reward,
        summary=_reward_summary("en"),
        summaries={"zh-CN": _reward_summary("zh-CN")},
        scope=SCOPE_PRIVATE,
        awaits_reply=True,
        names={"zh-CN": "奖励"},
        option_names={"zh-CN": {"points": "积分", "coupon": "优惠券", "gift": "礼品"}},
    ),
    ActionType(
        "invite",
        "Invite the member to another group (e.g. the seed-user group 种子用户群).",
        _text_action("Invite 邀请进群", [{"group": "seed-users", "text": "{{ member.name }}，邀请你加入种子用户群～"}], {"group": _option("string", "Group to invite to.", "Group", ["seed-users", "g2"])}, required=("group",)),
        needs="dm",
        summary=_describe("invite to group {group}"),
        summaries={"zh-CN": _describe("邀请进群 {group}")},
        scope=SCOPE_PRIVATE,
        into_group="group",  # not planned while the member is in it, or has a pending invite into it
        names={"zh-CN": "邀请进群"},
        option_names={"zh-CN": {"group": "群"}},
    ),
    ActionType(
        "survey",
        "Send the member a survey form.",
        _text_action("Survey 问卷", [{"form": "https://wj.qq.com/s2/123456", "text": "这次活动你觉得哪里可以改进？"}], {"form": _option("string", "Survey form URL or id.", "Form", ["https://wj.qq.com/s2/123456", "survey-0308"])}, required=("form",)),
        needs="dm",
        summary=_describe("survey: {form}"),
        summaries={"zh-CN": _describe("问卷：{form}")},
        scope=SCOPE_PRIVATE,
        awaits_reply=True,
        option_names={"zh-CN": {"form": "问卷"}},
        names={"zh-CN": "问卷"},
    ),
    ActionType("warn", "Warn the member about a group rule.", _text_action("Warn 警告", ["请勿在群里发广告，再发将被移出群聊"], _TARGET), needs="mention", text_required=True, targets=_TARGETS, counts_toward_limits=False, scope=SCOPE_GROUP, names={"zh-CN": "警告"}),
    ActionType(
        "remove",
        "Remove the member from the group: they are out of it for later rules, until they join it again.",
        {"oneOf": [{"type": "null"}, {"type": "string"}, _text_object()], "title": "Remove 移出群", "examples": [None, "发广告，已提醒两次"]},
        needs="remove",
        apply=_remove,
        keeps_slot=True,  # out of the group from its due time: the operator must be told to do it
        summary=_describe("remove from the group"),
        summaries={"zh-CN": _describe("移出群")},
        counts_toward_limits=False,
        scope=SCOPE_GROUP,  # so a member already removed is not removed again
        names={"zh-CN": "移出群"},
    ),
    ActionType(
        "notify",
        "Tell an operator or admin (not the member).",
        _text_action("Notify 通知运营", [{"to": "op-lily", "text": "{{ member.name }} 的问题 30 分钟没人回答"}], {"to": _option("string", "Operator id or admin to notify (default: the assignee).", "To", ["op-lily", "admin"])}),
        text_required=True,
        counts_toward_limits=False,
        scope=SCOPE_GROUP,
        note=True,
        names={"zh-CN": "通知运营"},
        option_names={"zh-CN": {"to": "通知对象"}},
    ),
    ActionType(
        "set",
        "Write a member attribute from a template, e.g. the city read from a self-introduction (state only, no task). A text that renders to nothing sets nothing; a value the member already has is kept.",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["attribute", "text"],
            "properties": {
                "attribute": _option("string", "The attribute to write: member.attributes.NAME.", "Attribute", ["city", "reading"], pattern=r"^[^\s.]+$"),
                "text": {"type": "string", "title": "Text 内容", "description": "What to write: a Jinja2 template, e.g. a value read from the message with the `capture` filter. Empty: nothing is written.", "examples": ["{{ event.text | capture('《([^》]{1,30})》') }}"]},
            },
            "title": "Set 记录属性",
            "examples": [{"attribute": "city", "text": "{{ event.text | capture('(北京|上海|广州|深圳)') }}"}],
        },
        makes_task=False,
        apply=_set_attribute,
        text_in_apply=True,
        names={"zh-CN": "记录属性"},
    ),
    ActionType("tag", "Add tags to the member (state only, no task); with `for`, they come off by themselves after that long.", _tags_value("Tag 打标签", ["newbie", ["vip", "kol"], {"tags": "warned", "for": "45d"}], _FOR), makes_task=False, value_key="tags", apply=_add_tags, gives_tags=True, names={"zh-CN": "打标签"}),
    ActionType("untag", "Remove tags from the member (state only, no task).", _tags_value("Untag 去标签", ["newbie"]), makes_task=False, value_key="tags", apply=_remove_tags, names={"zh-CN": "去标签"}),
)


@hookimpl
def register_actions(register: Callable[[ActionType], None]) -> None:
    for action in ACTIONS:
        register(action)
