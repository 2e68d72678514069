"""``playbook graph``: the lifecycle stages and the rules that act in each, as a Mermaid flowchart.

A rule acts in the stages its ``stages:`` (or its playbook's) lists, or in every stage when
neither says; a rule triggered by entering a stage (``when: {stage: decline}``) acts in that
stage only. ``rules_by_stage`` is that mapping as data; ``mermaid`` draws it. So that a diagram
of a dozen playbooks stays readable, rules that act in every stage are drawn once, in a box of
their own, instead of once per stage.
"""

from __future__ import annotations

import re

from playbook_engine.model import Config, Rule, Stage

# What a node shows in front of its trigger: the kind at a glance. Plugin triggers get "•".
TRIGGER_MARKS = {
    "event": "⚡",
    "silence": "🤫",
    "after_join": "⏳",
    "unanswered": "❓",
    "stage": "🚪",
    "schedule": "⏰",
    "holiday": "🎉",
    "leaderboard": "🏆",
    "milestone": "🎯",
    "activity_ended": "📋",
}
# Event-driven triggers, clock-driven ones, and lifecycle ones are told apart by colour too.
TRIGGER_STYLES = {
    "by_event": "fill:#e8f1ff,stroke:#4a78c2",
    "by_clock": "fill:#fff4e0,stroke:#c28a2a",
    "by_stage": "fill:#f1e8ff,stroke:#7a4ac2",
}
CLOCK_TRIGGERS = frozenset({"silence", "after_join", "unanswered", "schedule", "holiday", "leaderboard"})
ALL_STAGES = "all_stages"


def rule_stages(rule: Rule, stages: list[Stage]) -> list[str]:
    """The stages ``rule`` acts in, in lifecycle order."""
    names = [stage.stage for stage in stages]
    if rule.stages is not None:
        names = [name for name in names if name in rule.stages]
    if rule.trigger.name == "stage":
        names = [name for name in names if name == rule.trigger.value]
    return names


def rules_by_stage(config: Config) -> list[tuple[Stage, list[Rule]]]:
    """Each lifecycle stage, in community.yaml order, with the rules that act in it."""
    lifecycle = config.community.lifecycle
    acting = {rule.key: set(rule_stages(rule, lifecycle)) for rule in config.rules}
    return [(stage, [rule for rule in config.rules if stage.stage in acting[rule.key]]) for stage in lifecycle]


def _acts_everywhere(rule: Rule) -> bool:
    return rule.stages is None and rule.trigger.name != "stage"


def _node_id(*parts: str) -> str:
    return "__".join(re.sub(r"[^A-Za-z0-9_]", "_", part) for part in parts)


def _escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label (entity codes instead of quotes and brackets)."""
    for plain, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(plain, code)
    return " ".join(text.split())


def _trigger_class(rule: Rule) -> str:
    if rule.trigger.name == "stage":
        return "by_stage"
    return "by_clock" if rule.trigger.name in CLOCK_TRIGGERS else "by_event"


def _node(rule: Rule, scope: str) -> str:
    mark = TRIGGER_MARKS.get(rule.trigger.name, "•")
    title = _escape(rule.title or rule.id)
    trigger = _escape(f"{mark} {rule.trigger.describe()}")
    where = _escape(f"{rule.playbook}/{rule.id}")
    return f'    {_node_id(scope, rule.playbook, rule.id)}["{title}<br/><small>{trigger} · {where}</small>"]:::{_trigger_class(rule)}'


def mermaid(config: Config) -> str:
    """The Mermaid flowchart text: one box per lifecycle stage, one node per rule acting there."""
    lines = [
        "flowchart TB",
        f"  %% {_escape(config.community.name)}: lifecycle stages (community.yaml order) and the rules that act in each",
    ]
    boxes = []
    for stage, rules in rules_by_stage(config):
        box = _node_id("stage", stage.stage)
        boxes.append(box)
        lines.append(f'  subgraph {box}["{_escape(stage.label)} · {_escape(stage.stage)}<br/><small>{_escape(stage.source)}</small>"]')
        lines.append("    direction TB")
        specific = [rule for rule in rules if not _acts_everywhere(rule)]
        lines.extend(_node(rule, stage.stage) for rule in specific)
        if not specific:
            placeholder = "（只有不限阶段的规则）" if any(map(_acts_everywhere, rules)) else "（没有规则）"
            lines.append(f'    {_node_id("none", stage.stage)}["{placeholder}"]:::empty')
        lines.append("  end")
    everywhere = [rule for rule in config.rules if _acts_everywhere(rule)]
    if everywhere:
        lines.append(f'  subgraph {ALL_STAGES}["所有阶段 · all stages<br/><small>rules without stages: act in every stage above</small>"]')
        lines.append("    direction TB")
        lines.extend(_node(rule, ALL_STAGES) for rule in everywhere)
        lines.append("  end")
    if len(boxes) > 1:
        lines.append("  " + " ~~~ ".join(boxes))  # invisible links: keep the stages in order
    for name, style in TRIGGER_STYLES.items():
        lines.append(f"  classDef {name} {style}")
    lines.append("  classDef empty fill:#f6f6f6,stroke:#bbbbbb,color:#888888")
    return "\n".join(lines) + "\n"
