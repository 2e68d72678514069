"""The same ten rules on the same events in this engine, in durable_rules and in rule-engine: events/s of each.

Ten rules — an event type, message keywords, conditions on member attributes (messages,
tags, profile attributes), every match fired — are written three ways:

- **this engine**: the playbook in ``bench/peer-rules/`` (one ``community.yaml``, one
  playbook of ten rules, each tagging its member with a tag no condition reads, no cooldown,
  ``once`` or limit), run through the Python API as ``playbook run`` runs it;
- **durable_rules** (``durable.lang``): one ruleset per rule, since an event posted to a
  ruleset is consumed by the first rule it matches, and every event is posted to all ten;
- **rule-engine**: ten ``rule_engine.Rule`` expressions, each event tested against all ten.

Each peer also runs "by type": an event goes only to the rules of its event type (an index
the engine's matcher keeps itself), the peer's best case.

Each runs in its own fresh subprocess over the same generated stream (``bench/generate.py``,
cached in ``bench/out/``), ``--repeat`` times in turn; CPU time (user + system) is taken from
``os.wait4`` and the median counts. Every run includes starting Python and reading the file.

What each does, for fairness: the peers know nothing of members, so each peer's child keeps,
before matching, what the conditions read — a member's message count, tags and profile
attributes — counted as the engine counts them, and hands it to the peer with each event
(durable_rules could keep it in facts, at a cost this leaves out). Their time includes that
pass; "rules only" is the matching loop alone. The engine does more with the same events: it
keeps every member's whole state (counters over windows, active days, groups, lifecycle stage
re-assessed after each change with its timers), runs the event-time clock, applies the tags,
checks each firing against `once`/stages/groups, and could explain each miss. ``--tasks``
adds a run of the engine that plans, renders and writes an operator task (``notify``) per
match instead of the tag. All match counts must be equal, or the run fails (exit 1).

The peers are installed only for this benchmark: pip install -e '.[peers]'.

Example: python bench/peers.py --events 100k --repeat 5
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PLAYBOOKS = HERE / "peer-rules"
sys.path.insert(0, str(HERE))

# The ten rules as the peers see them: (rule id, event type, keywords, rule-engine condition).
# Each peer record holds the event's type and text and its member's `messages`, `tags`,
# `role` and `city` after the event (see member_records); bench/peer-rules/ten-rules.yaml is
# the engine's side of this table, rule by rule. durable_rules' side is durable_conditions().
RULES: list[tuple[str, str, tuple[str, ...], str | None]] = [
    ("r01-question", "message", ("请问", "怎么", "如何"), None),
    ("r02-book-talk", "message", ("书", "读"), "messages > 10"),
    ("r03-vip-activity", "message", ("活动", "线下", "报名"), "'vip' in tags"),
    ("r04-newcomer-hello", "message", ("大家好", "新人", "早上好"), "messages <= 3"),
    ("r05-joined", "member_joined", (), None),
    ("r06-regular-joins-activity", "activity_joined", (), "messages >= 10"),
    ("r07-active-left", "member_left", (), "messages >= 5"),
    ("r08-key-profile", "profile", (), "'vip' in tags or role == 'B端'"),
    ("r09-city-purchase", "purchase", (), "city in ['北京', '上海']"),
    ("r10-active-reactor", "reaction", (), "messages >= 20"),
]


def rule_engine_source(kind: str, keywords: tuple[str, ...], condition: str | None) -> str:
    """One rule as a rule-engine expression: the type, any keyword in the text, the condition."""
    parts = [f"type == {kind!r}"]
    if keywords:
        parts.append("(" + " or ".join(f"{word!r} in text" for word in keywords) + ")")
    if condition:
        parts.append(f"({condition})")
    return " and ".join(parts)


def durable_conditions() -> list[Any]:
    """The ten rules as durable_rules conditions, in the order of RULES (keywords as a regex).

    No rule negates a test on a list: durable_rules has no `not` of ``anyItem``, and
    ``allItems`` is false on an empty list.
    """
    from durable.lang import item, m

    def words(*keywords: str) -> Any:
        return m.text.matches(".*(" + "|".join(keywords) + ").*")

    vip = m.tags.anyItem(item == "vip")
    return [
        (m.type == "message") & words("请问", "怎么", "如何"),
        (m.type == "message") & words("书", "读") & (m.messages > 10),
        (m.type == "message") & words("活动", "线下", "报名") & vip,
        (m.type == "message") & words("大家好", "新人", "早上好") & (m.messages <= 3),
        m.type == "member_joined",
        (m.type == "activity_joined") & (m.messages >= 10),
        (m.type == "member_left") & (m.messages >= 5),
        (m.type == "profile") & (vip | (m.role == "B端")),
        (m.type == "purchase") & ((m.city == "北京") | (m.city == "上海")),
        (m.type == "reaction") & (m.messages >= 20),
    ]


# -- the measured children ------------------------------------------------------------------


def member_records(path: str) -> list[dict[str, Any]]:
    """Each event as a flat record with its member's attributes after it, as the engine counts
    them: a message adds one to ``messages``; a profile adds its tags and updates its attributes."""
    import orjson

    members: dict[str, tuple[list[int], set[str], dict[str, Any]]] = {}
    records = []
    with open(path, "rb") as stream:
        for line in stream:
            event = orjson.loads(line)
            kind = event["type"]
            member_id = event.get("member")
            record: dict[str, Any] = {"type": kind, "text": event.get("text", ""), "messages": 0, "tags": [], "role": None, "city": None}
            if member_id is not None:
                member = members.get(member_id)
                if member is None:
                    member = members[member_id] = ([0], set(), {})
                count, tags, attributes = member
                if kind == "message":
                    count[0] += 1
                elif kind == "profile":
                    tags.update(event.get("tags", ()))
                    attributes.update(event.get("attributes", {}))
                record.update(messages=count[0], tags=sorted(tags), role=attributes.get("role"), city=attributes.get("city"))
            records.append(record)
    return records


def child_engine(path: str, playbooks: str = str(PLAYBOOKS)) -> dict[str, Any]:
    from playbook_engine.api import source_options
    from playbook_engine.loading import load_config
    from playbook_engine.output import write_tasks
    from playbook_engine.plugins import load_registry
    from playbook_engine.runner import plan, read_source

    cpu_started = time.process_time()
    registry = load_registry(entrypoints=False)
    config = load_config([playbooks], registry)
    tz = config.community.tz
    stream = plan(config, read_source(registry, "jsonl", path, source_options(None, tz)), keep_suppressed=False)
    write_tasks(registry, "jsonl", stream, os.devnull, {"tz": tz, "title": "bench", "width": None})
    result = stream.result
    counts = result.counts
    return {"events": counts["read"], "rejected": counts["rejected"], "fired": counts["fired"], "matches": counts["matched"], "members": len(result.evaluation.members), "tasks": result.tally.total, "rules_cpu": time.process_time() - cpu_started}


def by_type(names: list[str]) -> dict[str, list[str]]:
    """The rules of each event type: the routed runs hand an event only to the rules of its type,
    as the engine's matcher does."""
    routes: dict[str, list[str]] = {}
    for name, kind, *_ in RULES:
        if name in names:
            routes.setdefault(kind, []).append(name)
    return routes


def child_rule_engine(path: str, routed: bool = False) -> dict[str, Any]:
    import rule_engine

    records = member_records(path)
    context = rule_engine.Context(default_value=None)  # a record without a city has city null
    rules = {name: rule_engine.Rule(rule_engine_source(kind, keywords, condition), context=context) for name, kind, keywords, condition in RULES}
    per_rule = dict.fromkeys(rules, 0)
    every = list(rules.items())
    routes = {kind: [(name, rules[name]) for name in names] for kind, names in by_type(list(rules)).items()}
    cpu_started = time.process_time()
    for record in records:
        for name, rule in routes.get(record["type"], ()) if routed else every:
            if rule.matches(record):
                per_rule[name] += 1
    return {"events": len(records), "matches": sum(per_rule.values()), "per_rule": per_rule, "rules_cpu": time.process_time() - cpu_started}


def child_durable(path: str, routed: bool = False) -> dict[str, Any]:
    from durable.engine import MessageNotHandledException
    from durable.lang import post, ruleset, when_all

    records = member_records(path)
    per_rule = dict.fromkeys((name for name, *_ in RULES), 0)
    names = [name for name, *_ in RULES]

    def counter(name: str) -> Any:
        def fired(context: Any) -> None:  # one argument: durable_rules takes a second one for an asynchronous action
            per_rule[name] += 1

        return fired

    for name, condition in zip(names, durable_conditions(), strict=True):
        with ruleset(name):
            when_all(condition)(counter(name))
    routes = by_type(names)
    cpu_started = time.process_time()
    for record in records:
        for name in routes.get(record["type"], ()) if routed else names:
            try:
                post(name, record)
            except MessageNotHandledException:  # how durable_rules says no rule matched
                pass
    return {"events": len(records), "matches": sum(per_rule.values()), "per_rule": per_rule, "rules_cpu": time.process_time() - cpu_started}


CHILDREN: dict[str, Callable[..., dict[str, Any]]] = {
    "engine": child_engine,
    "durable_rules": child_durable,
    "rule-engine": child_rule_engine,
    "durable_rules, by type": functools.partial(child_durable, routed=True),
    "rule-engine, by type": functools.partial(child_rule_engine, routed=True),
}


# -- the benchmark --------------------------------------------------------------------------

TASKS = "engine, a task per match"


def notify_playbooks(target: Path) -> Path:
    """bench/peer-rules/ with each rule's `tag` replaced by a `notify` task with its member's
    name: the engine then plans, renders and writes a task for every match."""
    import re

    target.mkdir(parents=True, exist_ok=True)
    (target / "community.yaml").write_text((PLAYBOOKS / "community.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    rules = (PLAYBOOKS / "ten-rules.yaml").read_text(encoding="utf-8")
    rules, replaced = re.subn(r"do: \[\{tag: (r\d+)\}\]", r'do: [{notify: "\1 {{ member.name }}"}]', rules)
    assert replaced == len(RULES), replaced
    (target / "ten-rules.yaml").write_text(rules, encoding="utf-8")
    return target


def peers_missing() -> list[str]:
    import importlib.util

    return [name for module, name in (("durable", "durable-rules"), ("rule_engine", "rule-engine")) if importlib.util.find_spec(module) is None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.rsplit("\n\n", 1)[-1])
    parser.add_argument("--events", default="100k", help="events in the generated stream (default 100k)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, taking turns; the median counts (default 3)")
    parser.add_argument("--timeout", type=float, default=900, help="stop a run after this many seconds (default 900)")
    parser.add_argument("--tasks", action="store_true", help=f"also run the engine with a `notify` task per match instead of a tag ({TASKS!r})")
    parser.add_argument("--json", metavar="FILE", help="write all measurements to FILE as JSON")
    args = parser.parse_args(argv)
    missing = peers_missing()
    if missing:
        print(f"bench: the peers are not installed ({', '.join(missing)}): pip install -e '.[peers]'", file=sys.stderr)
        return 2

    from generate import _count
    from run import OUT, ensure_stream, measure, stream_options, warm_up

    OUT.mkdir(parents=True, exist_ok=True)
    warm_up()
    options = stream_options(_count(args.events), seed=args.seed)
    path = ensure_stream(options)
    print(f"bench: {options.events:,} events ({path.name}), 10 rules, {args.repeat} runs each, taking turns; Python {sys.version.split()[0]}", file=sys.stderr)
    children = {name: [name, str(path)] for name in CHILDREN}
    if args.tasks:
        children[TASKS] = ["engine", str(path), str(notify_playbooks(OUT / "peer-rules-notify"))]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in children}
    for attempt in range(args.repeat):
        for name, child in children.items():
            report = measure([sys.executable, __file__, "--child", *child], args.timeout)
            if report.get("timed_out"):
                print(f"bench: the {name} run failed or was stopped", file=sys.stderr)
                return 1
            runs[name].append(report)
            print(f"  {attempt + 1}. {name}: {report['cpu']:.2f} CPU s, {report['matches']:,} matches", file=sys.stderr, flush=True)

    engine_cpu = statistics.median(report["cpu"] for report in runs["engine"])
    lines = [f"| ten rules, {options.events:,} events | CPU s (median of {args.repeat}) | events/s | CPU × the engine's | rules only, CPU s | matches |", "|---|---:|---:|---:|---:|---:|"]
    matches = {}
    for name, reports in runs.items():
        cpu = statistics.median(report["cpu"] for report in reports)
        inside = statistics.median(report["rules_cpu"] for report in reports)
        matches[name] = {report["matches"] for report in reports}
        ratio = "1" if name == "engine" else f"{cpu / engine_cpu:.2f}"
        only = "—" if name in ("engine", TASKS) else f"{inside:.2f}"
        lines.append(f"| {name} | {cpu:.2f} | {options.events / cpu:,.0f} | {ratio} | {only} | {', '.join(f'{count:,}' for count in sorted(matches[name]))} |")
    print("\n".join(lines))
    for name in ("durable_rules", "rule-engine"):  # the routed runs count the same per rule
        print(f"{name} per rule: {json.dumps(runs[name][0]['per_rule'], ensure_ascii=False)}", file=sys.stderr)
    print(f"engine: {runs['engine'][0]['fired']:,} firings, {runs['engine'][0]['members']:,} members, {runs['engine'][0]['rejected']} events rejected", file=sys.stderr)
    if args.tasks:
        print(f"{TASKS}: {runs[TASKS][0]['tasks']:,} tasks planned", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(runs, ensure_ascii=False, indent=2), encoding="utf-8")
    if len({count for counts in matches.values() for count in counts}) != 1:
        print(f"bench: the match counts differ: {matches}", file=sys.stderr)
        return 1
    print(f"match counts equal: {next(iter(matches['engine'])):,} in each")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:  # a measured subprocess: see main()
        kind, *arguments = sys.argv[2:]
        print(json.dumps(CHILDREN[kind](*arguments), ensure_ascii=False))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)  # as `playbook run` ends (playbook_engine.cli.exit_now), for all three alike
    sys.exit(main())
