"""The actions of the spec: tasks for operators (mention, dm, post …) and state changes (tag)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from playbook_engine import hookimpl
from playbook_engine.contract import ActionType, Firing, Member, Run

_TEXT = {"type": "string", "description": "The message; a Jinja2 template over member, group, event, now."}


def _text_action(extra: Mapping[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    properties = {"text": _TEXT, **(extra or {})}
    return {
        "oneOf": [
            {"type": "string"},
            {"type": "object", "additionalProperties": False, "required": list(required), "properties": properties},
        ]
    }


def _tags_value() -> dict[str, Any]:
    return {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}, {"type": "object", "additionalProperties": False, "required": ["tags"], "properties": {"tags": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}}}]}


def _tag_list(params: Mapping[str, Any]) -> list[str]:
    tags = params.get("tags", [])
    return [tags] if isinstance(tags, str) else list(tags)


def _add_tags(run: Run, member: Member, params: Mapping[str, Any], group: str | None) -> None:
    member.tags.update(_tag_list(params))


def _remove_tags(run: Run, member: Member, params: Mapping[str, Any], group: str | None) -> None:
    member.tags.difference_update(_tag_list(params))


def _reward(run: Run, member: Member, params: Mapping[str, Any], group: str | None) -> None:
    member.points += params.get("points", 0) or 0


def _remove(run: Run, member: Member, params: Mapping[str, Any], group: str | None) -> None:
    run.remove_from_group(member, group)


def _mentioned(run: Run, firing: Firing) -> list[Member]:
    """Each member the firing's message mentions, but its author and anyone who left: the
    other side of a quarrel, the friend a member brought along."""
    event = firing.event
    author = firing.member.id if firing.member else None
    mentioned = [run.members.get(member_id) for member_id in dict.fromkeys(event.mentions if event else ())]
    return [target for target in mentioned if target is not None and target.id != author and not target.left]


def _describe_reward(params: Mapping[str, Any]) -> str:
    parts = []
    if params.get("points"):
        parts.append(f"{params['points']} points")
    if params.get("coupon"):
        parts.append(f"coupon {params['coupon']}")
    if params.get("gift"):
        parts.append(f"gift {params['gift']}")
    return "reward: " + (", ".join(parts) or "as decided by the operator")


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
ACTIONS = (
    ActionType("mention", "@mention the member in the group with this text.", _text_action(_TARGET), needs="mention", text_required=True, targets=_TARGETS),
    ActionType("dm", "Send the member a private message (私信).", _text_action(_TARGET), needs="dm", text_required=True, targets=_TARGETS),
    ActionType("post", "Post this message in the group.", _text_action(), needs="post", text_required=True),
    ActionType(
        "reward",
        "Reward the member: points (added to member.points), a coupon or a gift.",
        _text_action({"points": {"type": "integer", "minimum": 1, "description": "Points to add to member.points."}, "coupon": {"type": "string", "description": "Coupon to hand out."}, "gift": {"type": "string", "description": "Gift to send."}}),
        needs="reward",
        apply=_reward,
        summary=_describe_reward,
    ),
    ActionType("invite", "Invite the member to another group (e.g. the seed-user group 种子用户群).", _text_action({"group": {"type": "string", "description": "Group to invite to."}}, required=("group",)), needs="dm", summary=_describe("invite to group {group}")),
    ActionType("survey", "Send the member a survey form.", _text_action({"form": {"type": "string", "description": "Survey form URL or id."}}, required=("form",)), needs="dm", summary=_describe("survey: {form}")),
    ActionType("warn", "Warn the member about a group rule.", _text_action(_TARGET), needs="mention", text_required=True, targets=_TARGETS, counts_toward_limits=False),
    ActionType("remove", "Remove the member from the group (they are then out of it for later rules).", {"oneOf": [{"type": "null"}, _text_action()["oneOf"][0], _text_action()["oneOf"][1]]}, needs="remove", apply=_remove, summary=_describe("remove from the group"), counts_toward_limits=False),
    ActionType("notify", "Tell an operator or admin (not the member).", _text_action({"to": {"type": "string", "description": "Operator id or admin to notify (default: the assignee)."}}), text_required=True, counts_toward_limits=False),
    ActionType("tag", "Add tags to the member (state only, no task).", _tags_value(), makes_task=False, value_key="tags", apply=_add_tags),
    ActionType("untag", "Remove tags from the member (state only, no task).", _tags_value(), makes_task=False, value_key="tags", apply=_remove_tags),
)


@hookimpl
def register_actions(register: Callable[[ActionType], None]) -> None:
    for action in ACTIONS:
        register(action)
