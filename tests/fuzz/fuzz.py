"""Fuzzer for plan invariants (issue 19, point 2) and nightly-run equality.

Usage:  python tests/fuzz/fuzz.py [--seeds A:B] [--out DIR] [--work DIR] [--cli-every N] [--loop] [--anywhere] [--marks] [--split]
(the engine is imported from the interpreter's environment: `pip install -e '.[test]'`).
Each seed -> one random community + playbook set + event stream, written to OUT/sSEED
(community.yaml, *.yaml, events.jsonl, failure.txt) when a check fails (OUT: fuzz-out/).
minimize.py CASE OUT [KIND] shrinks a case; replay.py CASE_OR_DIR... re-runs the checks.

Drawn: 2-3 groups, 5-30 members, 1-3 operators (groups, capacity 1-6 or none, pace, own
`member`), staff, quiet hours (over midnight, by day, ending 09:15), merge sets, limits,
max_delay, days_silent, question.answered_by/answer_window, seed groups, a short lifecycle;
1-3 playbooks of 1-4 rules: event (message+keywords, member_joined, member_left, purchase,
profile), silence (+not_counting), after_join, unanswered, stage, becomes, schedule (+each:
member), holiday, leaderboard, milestone, activity_ended; actions notify, dm, mention, post,
reward, invite, survey, warn, remove, tag, untag; if:, priority, delay, deadline, cooldown,
once, recheck: false, not_on, rule/playbook groups: and stages:, assignee. A set `validate`
refuses is drawn again. Streams of 3-20 days (six start dates, around 春节, 清明, 国庆, 端午, new
year), with joins, leaves (left/removed), messages (questions, replies, mentions, keywords),
purchases, profiles, reactions, activities; bursts around midnight and quiet hours' edges;
names that change.

With --loop, each case also gets what reads the plan back (from a draw of its own, so a seed's
case is otherwise the one drawn without it): a community or playbook `holdout:` and rule
conditions on the loop's fields (`member.open_tasks`, `member.tasks_30d`, `member.last_task_at`,
`member.last_contact_at`), which the nightly runs read from the state and one run from itself.

With --anywhere, the --state runs are cut at 1-5 random instants instead of local midnights;
with --marks, the operator marks printed tasks done, skipped or replied between them, rules get
`until: replied`, and the check is that a reply ends the sequence (see the README); with
--split, a community of independent teams, whose parts run apart and merged (--runner beam)
must give one run's plan.

Checks (Python API, one run with explain): due <= deadline; no due inside quiet hours (but
urgent); no task for staff or an operator's own account; one merged private message (and one
@ per group) per member, assignee, channel and local day, unless the later was triggered after
the earlier was due, or checked at its own time after its member wrote since then (a text or
if: that reads it); capacity per operator and day; pace; no silence task (or merged silence
part) due after the member wrote since it fired (recheck on); after a planned remove, no @,
warn or remove for the member in that group until a member_joined there (recheck: false tasks
planned before it aside); once; cooldown between kept firings; limits; the same output on a
second run; the plan held after one --state run per local day (as tests' held()) equal to one
run's (ids, due, text); every Nth case, the CLI's --explain output under two PYTHONHASHSEEDs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from playbook_engine.contract import SourceRecord
from playbook_engine.durations import parse_duration
from playbook_engine.errors import InvalidPlaybooks
from playbook_engine.loading import load_config
from playbook_engine.partition import run_split
from playbook_engine.plugins import load_registry
from playbook_engine.runner import run
from playbook_engine.state import StateStore
from playbook_engine.tasks import mark

TZ = timezone(timedelta(hours=8))
REGISTRY = load_registry(entrypoints=False)
WORDS = ["早", "书", "hi", "广告", "谢谢", "急", "加微信", "请问怎么报名？", "大家好我是", "滚", "好的", "同问"]
STARTS = [datetime(2026, 3, 1, tzinfo=TZ), datetime(2026, 2, 12, tzinfo=TZ), datetime(2026, 4, 2, tzinfo=TZ),
          datetime(2026, 9, 28, tzinfo=TZ), datetime(2026, 6, 17, tzinfo=TZ), datetime(2026, 12, 29, tzinfo=TZ)]
LIFECYCLE = """\
  lifecycle:
    - {stage: churn,   label: 流失期, if: "member.left or member.days_silent >= 6"}
    - {stage: decline, label: 衰退期, if: "member.days_silent >= 3"}
    - {stage: newbie,  label: 新手期, if: "member.days_since_join < 2"}
    - {stage: mature,  label: 成熟期, if: "member.active_days_30d >= 4"}
    - {stage: growth,  label: 成长期, if: "true"}
"""


def q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


# -- community ---------------------------------------------------------------------------------


def gen_community(r: random.Random) -> tuple[str, dict[str, Any]]:
    ngroups = r.randint(2, 3)
    groups = [f"g{i}" for i in range(1, ngroups + 1)]
    nmembers = r.randint(5, 30)
    members = [f"m{i}" for i in range(1, nmembers + 1)]
    nops = r.randint(1, 3)
    ops = []
    lines = ["community:", "  name: t", "  timezone: Asia/Shanghai", f"  channel: {r.choice(['wechat', 'wechat', 'wecom'])}"]
    if r.random() < 0.3:
        lines.append("  language: zh-CN")
    if r.random() < 0.4:
        lines.append("  groups:")
        for g in groups:
            extra = ", seed: true" if r.random() < 0.2 else ""
            lines.append(f"    - {{id: {g}, name: 群{g}{extra}}}")
    staff = r.sample(members, k=r.choice([0, 0, 1, 2]))
    if staff:
        lines.append(f"  staff: [{', '.join(staff)}]")
    lines.append("  operators:")
    op_members: list[str] = []
    covered: set[str] = set()
    for i in range(nops):
        gs = sorted(r.sample(groups, k=r.randint(1, len(groups))))
        if i == nops - 1 and r.random() < 0.8:
            gs = sorted(set(gs) | (set(groups) - covered))
        covered |= set(gs)
        capacity = r.choice([1, 1, 2, 2, 3, 4, 6, None])
        pace = r.choice([None, None, "10m", "30m", "1h", "2h"])
        item = [f"id: op{i}", f"groups: [{', '.join(gs)}]"]
        if capacity:
            item.append(f"capacity: {capacity}")
        if pace:
            item.append(f"pace: {pace}")
        if r.random() < 0.3:
            om = r.choice([m for m in members if m not in staff] + [f"x{i}"])
            op_members.append(om)
            item.append(f"member: {om}")
        ops.append({"id": f"op{i}", "groups": gs, "capacity": capacity, "pace": parse_duration(pace) if pace else 0})
        lines.append(f"    - {{{', '.join(item)}}}")
    quiet = r.choice([None, "22:00-08:00", "22:00-08:00", "21:30-09:15", "00:00-07:00", "12:00-14:00"])
    if quiet:
        lines.append(f'  quiet_hours: "{quiet}"')
    merge = r.choice([None, [], ["dm"], ["dm", "reward", "invite", "survey"], ["dm", "reward", "invite", "survey", "mention"], ["mention"]])
    if merge is not None:
        lines.append(f"  merge: [{', '.join(merge)}]")
    limits = []
    for _ in range(r.choice([0, 0, 1, 2])):
        acts = r.choice([["dm"], "any", ["dm", "mention"], ["reward"], ["mention"]])
        mx = r.randint(1, 3)
        per = r.choice(["1d", "2d", "7d", "12h"])
        limits.append((acts, mx, per))
    if limits:
        lines.append("  limits:")
        for acts, mx, per in limits:
            a = acts if acts == "any" else "[" + ", ".join(acts) + "]"
            lines.append(f"    - {{actions: {a}, max: {mx}, per: {per}}}")
    if r.random() < 0.3:
        lines.append(f"  max_delay: {r.choice(['1d', '2d', '12h'])}")
    if r.random() < 0.3:
        lines.append(f"  days_silent: {{not_counting: {r.choice(['holidays', 'weekends'])}}}")
    if r.random() < 0.3:
        ab = r.choice([["reply"], ["reply", "mention"], ["next_message"], ["reply", "mention", "next_message"]])
        lines.append(f"  question: {{patterns: [\"[?？]\\\\s*$\", \"请问\"], answered_by: [{', '.join(ab)}], answer_window: {r.choice(['5m', '10m', '1h'])}}}")
    text = "\n".join(lines) + "\n" + LIFECYCLE
    info = {"groups": groups, "members": members, "staff": set(staff) | set(op_members), "ops": ops, "quiet": quiet,
            "merge": ["dm"] if merge is None else merge, "limits": limits}
    return text, info


# -- playbooks ---------------------------------------------------------------------------------

TRIGGERS = ["event_msg", "event_msg", "event_join", "event_left", "event_purchase", "event_profile", "silence", "silence",
            "after_join", "unanswered", "stage", "becomes", "schedule", "schedule_member", "holiday", "leaderboard",
            "milestone", "activity_ended"]
ACTIONS = ["notify", "dm", "dm", "mention", "post", "reward", "invite", "survey", "warn", "remove", "tag", "untag"]
CONDS = ["member.messages > 0", "member.messages == 0", "member.days_silent >= 1", "'vip' in member.tags",
         "member.attributes.get('tier') == 'A'", "member.stage != 'churn'", "member.messages_7d < 5", "not member.left",
         "'warned' not in member.tags"]


def gen_trigger(r: random.Random, kind: str) -> tuple[str, str]:
    if kind == "event_msg":
        kw = r.sample(["早", "书", "广告", "谢谢", "急", "加微信", "请问", "大家好"], k=r.randint(1, 2))
        return "event", f"{{event: message, keywords: [{', '.join(kw)}]}}" if r.random() < 0.85 else "{event: message}"
    if kind == "event_join":
        return "event", "{event: member_joined}"
    if kind == "event_left":
        return "event_left", "{event: member_left}"
    if kind == "event_purchase":
        return "event", "{event: purchase}"
    if kind == "event_profile":
        return "event", "{event: profile}"
    if kind == "silence":
        extra = f", not_counting: {r.choice(['holidays', 'weekends'])}" if r.random() < 0.15 else ""
        return "silence", f"{{silence: {r.choice(['1d', '2d', '3d', '12h', '1d12h'])}{extra}}}"
    if kind == "after_join":
        return "after_join", f"{{after_join: {r.choice(['1h', '1d', '2d'])}}}"
    if kind == "unanswered":
        return "unanswered", f"{{unanswered: {r.choice(['30m', '2h', '10m'])}}}"
    if kind == "stage":
        return "stage", f"{{stage: {r.choice(['newbie', 'decline', 'churn', 'mature', 'growth'])}}}"
    if kind == "becomes":
        return "becomes", f"{{becomes: {q(r.choice(['member.messages >= 3', 'member.days_silent >= 2', 'member.active_days_30d >= 2', 'member.messages_7d >= 4']))}}}"
    if kind == "schedule":
        return "schedule", f"{{schedule: {q(r.choice(['0 9 * * *', '0 21 * * 1', '30 23 * * *', '0 8 * * *', '15 12 * * *']))}}}"
    if kind == "schedule_member":
        return "schedule", f"{{schedule: {q(r.choice(['0 9 * * *', '0 20 * * 5', '45 23 * * *']))}, each: member}}"
    if kind == "holiday":
        each = ", each: member" if r.random() < 0.5 else ""
        return "holiday", f"{{holiday: any{each}}}"
    if kind == "leaderboard":
        metric = r.choice(["messages", "active_days", "replies", "amount", "questions"])
        return "leaderboard", f"{{leaderboard: {{metric: {metric}, window: {r.choice(['7d', '3d'])}, top: {r.randint(1, 3)}, every: {q(r.choice(['0 20 * * *', '0 20 * * 0', '0 23 * * *']))}}}}}"
    if kind == "milestone":
        return "milestone", f"{{milestone: {{metric: {r.choice(['messages', 'replies', 'questions'])}, at: [2, 5]}}}}"
    if kind == "activity_ended":
        return "activity_ended", f"{{activity_ended: {{participated: {r.choice(['true', 'false'])}}}}}"
    raise ValueError(kind)


def gen_action(r: random.Random, kind: str, groups: list[str], group_wide: bool) -> str:
    text = r.choice(["{{ member.name }} 你好", "看一下 {{ member.name }}，{{ member.messages }} 条", "好久不见", "欢迎 {{ member.name }}"])
    if group_wide and kind in ("dm", "mention", "reward", "invite", "survey", "warn", "remove", "tag", "untag"):
        kind = r.choice(["post", "notify"])
        text = "本周话题"
    if kind in ("notify", "dm", "mention", "post", "warn"):
        return f"{kind}: {q(text)}"
    if kind == "reward":
        return f"reward: {{points: {r.choice([5, 10])}, text: {q(text)}}}"
    if kind == "invite":
        return f"invite: {{group: {r.choice(groups)}, text: {q(text)}}}"
    if kind == "survey":
        return f"survey: {{form: \"https://f.example/1\", text: {q(text)}}}"
    if kind == "remove":
        return "remove: 发广告" if r.random() < 0.8 else "remove: null"
    if kind == "tag":
        return f"tag: {r.choice(['vip', 'warned', 'newbie'])}"
    if kind == "untag":
        return f"untag: {r.choice(['vip', 'warned'])}"
    raise ValueError(kind)


def gen_playbooks(r: random.Random, info: dict[str, Any]) -> tuple[dict[str, str], dict[tuple[str, str], dict[str, Any]]]:
    files: dict[str, str] = {}
    rules_info: dict[tuple[str, str], dict[str, Any]] = {}
    for p in range(r.randint(1, 3)):
        name = f"p{p}"
        lines = [f"playbook: {name}"]
        if r.random() < 0.15:
            lines.append(f"stages: [{', '.join(r.sample(['newbie', 'growth', 'mature', 'decline', 'churn'], k=2))}]")
        if r.random() < 0.1:
            lines.append(f"groups: [{r.choice(info['groups'])}]")
        lines.append("rules:")
        for i in range(r.randint(1, 4)):
            rid = f"r{i}"
            kind = r.choice(TRIGGERS)
            tname, when = gen_trigger(r, kind)
            group_wide = kind in ("schedule", "holiday") and "each: member" not in when
            lines.append(f"  - id: {rid}")
            lines.append(f"    when: {when}")
            opts: dict[str, Any] = {"trigger": tname, "when": when}
            if r.random() < 0.3 and not group_wide:
                cond = r.choice(CONDS)
                lines.append(f"    if: {q(cond)}")
            if r.random() < 0.5:
                lines.append(f"    priority: {r.choice(['low', 'normal', 'high', 'urgent'])}")
            delay = 0
            if r.random() < 0.3:
                dl = r.choice(['10m', '1h', '20h', '2h'])
                delay = parse_duration(dl)
                lines.append(f"    delay: {dl}")
            if r.random() < 0.3:
                dd = r.choice([x for x in ['2h', '1d', '3d', '12h'] if parse_duration(x) > delay])
                lines.append(f"    deadline: {dd}")
            if r.random() < 0.3:
                cd = r.choice(['1d', '3d', '12h'])
                lines.append(f"    cooldown: {cd}")
                opts["cooldown"] = parse_duration(cd)
            if r.random() < 0.1:
                lines.append("    once: true")
                opts["once"] = True
            if r.random() < 0.15:
                lines.append("    recheck: false")
                opts["recheck"] = False
            if r.random() < 0.1:
                lines.append(f"    not_on: {r.choice(['holidays', 'weekends', '[holidays, weekends]'])}")
            if r.random() < 0.1:
                lines.append(f"    groups: [{r.choice(info['groups'])}]")
            if r.random() < 0.1:
                lines.append(f"    stages: [{r.choice(['newbie', 'growth', 'decline'])}]")
            if r.random() < 0.1 and len(info["ops"]) > 1:
                lines.append(f"    assignee: {r.choice(info['ops'])['id']}")
            lines.append("    do:")
            nact = r.choice([1, 1, 2, 2, 3])
            for _ in range(nact):
                act = gen_action(r, r.choice(ACTIONS), info["groups"], group_wide)
                lines.append(f"      - {act}")
            rules_info[(name, rid)] = opts
        files[f"{name}.yaml"] = "\n".join(lines) + "\n"
    return files, rules_info


# -- events ------------------------------------------------------------------------------------


def gen_events(r: random.Random, info: dict[str, Any]) -> list[dict[str, Any]]:
    start = r.choice(STARTS)
    days = r.randint(3, 20)
    n = r.randint(10, min(40 * days, 400))
    members = info["members"]
    groups = info["groups"]
    # a member's home groups
    home = {m: r.sample(groups, k=r.choice([1, 1, 2])) for m in members}
    times: list[int] = []
    for _ in range(n):
        x = r.random()
        day = r.randrange(days)
        if x < 0.2:  # burst around midnight
            minute = day * 1440 + 1440 + r.randint(-40, 40)
        elif x < 0.35:  # around quiet hours' edges
            minute = day * 1440 + r.choice([22 * 60, 8 * 60, 21 * 60 + 30, 9 * 60 + 15, 7 * 60]) + r.randint(-20, 20)
        else:
            minute = day * 1440 + r.randint(0, 1439)
        times.append(max(0, minute) * 60 + r.choice([0, 0, 0, r.randint(0, 59)]))
    times.sort()
    events: list[dict[str, Any]] = []
    msg_ids: list[tuple[str, str, str]] = []  # (id, group, member)
    acts: dict[str, tuple[str, set[str]]] = {}
    k = 0
    for t in times:
        m = r.choice(members)
        g = r.choice(home[m]) if r.random() < 0.85 else r.choice(groups)
        ts = (start + timedelta(seconds=t)).isoformat()
        base = {"ts": ts, "group": g, "member": m}
        x = r.random()
        k += 1
        if r.random() < 0.4:
            base["name"] = r.choice(["小王", "小李", "老张", f"{m}名"])
        if x < 0.08:
            events.append(base | {"type": "member_joined"})
        elif x < 0.13:
            events.append(base | {"type": "member_left", "reason": r.choice(["left", "left", "removed"])})
        elif x < 0.72:
            ev = base | {"type": "message", "id": f"msg{k}", "text": r.choice(WORDS)}
            y = r.random()
            if msg_ids and y < 0.15:
                ev["reply_to"] = r.choice(msg_ids[-5:])[0]
            elif msg_ids and y < 0.25:
                ev["mentions"] = [r.choice(msg_ids[-5:])[2]]
            msg_ids.append((f"msg{k}", g, m))
            events.append(ev)
        elif x < 0.77:
            events.append(base | {"type": "purchase", "amount": r.choice([9, 99, 199])})
        elif x < 0.82:
            prof: dict[str, Any] = {"type": "profile"}
            if r.random() < 0.5:
                prof["tags"] = [r.choice(["vip", "kol"])]
            else:
                prof["attributes"] = {"tier": r.choice(["A", "B"])}
            events.append(base | prof)
        elif x < 0.86:
            events.append(base | {"type": "reaction"})
        else:
            # activities
            open_here = [a for a, (ag, _) in acts.items() if ag == g]
            y = r.random()
            if not open_here or y < 0.3:
                a = f"a{k}"
                acts[a] = (g, set())
                events.append({"ts": ts, "type": "activity_started", "group": g, "activity": a, "text": "读书分享"})
            elif y < 0.75:
                a = r.choice(open_here)
                acts[a][1].add(m)
                events.append(base | {"type": "activity_joined", "activity": a})
            else:
                a = r.choice(open_here)
                ag, parts = acts.pop(a)
                events.append({"ts": ts, "type": "activity_ended", "group": ag, "activity": a, "participants": sorted(parts)})
    return events


# -- checks ------------------------------------------------------------------------------------


def ts_of(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["ts"]).timestamp()


def records(events: list[dict[str, Any]]) -> list[SourceRecord]:
    return [SourceRecord(i, e) for i, e in enumerate(events, 1)]


def in_quiet(quiet: str, t: float) -> bool:
    a, b = [x.strip() for x in quiet.split("-")]
    ha, ma = map(int, a.split(":"))
    hb, mb = map(int, b.split(":"))
    local = datetime.fromtimestamp(t, TZ)
    now = local.hour * 60 + local.minute + local.second / 60
    s, e = ha * 60 + ma, hb * 60 + mb
    if s < e:
        return s <= now < e
    return now >= s or now < e


def check_invariants(result: Any, events: list[dict[str, Any]], info: dict[str, Any], rules: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    bad: list[str] = []
    local = result.evaluation.local
    tasks = result.tasks
    merged_parts = defaultdict(list)
    for item in result.suppressed:
        if item.guardrail == "merged":
            merged_parts[item.task.member].append(item.task)
    ops = {o["id"]: o for o in info["ops"]}
    per_day: dict[tuple[Any, int], int] = defaultdict(int)
    merged_kind: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for t in tasks:
        day = local.day(t.due)
        per_day[(t.assignee, day)] += 1
        if t.due > t.deadline:
            bad.append(f"deadline: {t.id} due {local.text(t.due)} after deadline {local.text(t.deadline)}")
        if info["quiet"] and t.priority != "urgent" and in_quiet(info["quiet"], t.due):
            bad.append(f"quiet: {t.id} due {local.text(t.due)}")
        if t.member is not None and t.member in info["staff"]:
            bad.append(f"staff: {t.id} {t.playbook}/{t.rule} for staff {t.member}")
        if t.action in info["merge"] and t.member is not None:
            # the private actions merge lists are one private message; a mention only within its group
            kind = ("mention", t.group) if t.action == "mention" else ("private",)
            merged_kind[(kind, t.member, t.assignee, t.channel, day)].append(t)
    by_id = {p.id: p for ps in merged_parts.values() for p in ps}

    def known(task: Any) -> float:
        # what the task knows of happened by: its firing, or its member's latest message when it
        # was checked (seen_message: set only for a rule whose text or if: reads what a message changes)
        return max(task.trigger_at, task.seen_message if task.seen_message is not None else float("-inf"))
    for key, group in merged_kind.items():
        group.sort(key=lambda x: x.due)
        for earlier, later in itertools.pairwise(group):
            # A second message the same day may carry only what the first could not say: each part
            # triggered after the first was due, or checked at its own time after its member wrote
            # since then — "texts are rendered at the due time, with the values of that time" (SPEC),
            # so such a part joins the earlier message only if it reads the same as of then (README).
            # (A firing's tasks, merged as they are planned, are one part of it from then on: what
            # one of them knows, the others go with.)
            firings: dict[tuple[str, str, float], float] = {}
            for part in [later] + [by_id[p["id"]] for p in later.parts if p["id"] in by_id]:
                firing = (part.playbook, part.rule, part.trigger_at)
                firings[firing] = max(firings.get(firing, float("-inf")), known(part))
            first = min(firings.values())
            if first <= earlier.due:
                bad.append(f"merge: {key} {earlier.id} ({local.text(earlier.due)}) and {later.id} ({local.text(later.due)}, fired or seen {local.text(first)})")
    for (assignee, day), count in per_day.items():
        if assignee in ops and ops[assignee]["capacity"] and count > ops[assignee]["capacity"]:
            bad.append(f"capacity: {assignee} day {day} has {count} > {ops[assignee]['capacity']}")
    for o in info["ops"]:
        if o["pace"]:
            dues = sorted(t.due for t in tasks if t.assignee == o["id"])
            for a, b in itertools.pairwise(dues):
                if b - a < o["pace"]:
                    bad.append(f"pace: {o['id']} {local.text(a)} {local.text(b)}")
    # silence re-check: the member did not write between the firing and the due time
    msgs: dict[str, list[float]] = defaultdict(list)
    rejected = {item.line for item in result.rejected}  # (a shrunk case may lose the line that confirmed a date)
    for line, e in enumerate(events, 1):
        if e["type"] == "message" and line not in rejected:
            msgs[e["member"]].append(ts_of(e))
    def silent_ok(task: Any, due: float) -> bool:
        return not any(task.trigger_at < at <= due for at in msgs.get(task.member, ()))
    for t in tasks:
        spec = rules.get((t.playbook, t.rule), {})
        if spec.get("trigger") == "silence" and spec.get("recheck", True) and t.member and not silent_ok(t, t.due):
            bad.append(f"silence: {t.id} {t.playbook}/{t.rule} {t.member} due {local.text(t.due)} fired {local.text(t.trigger_at)}")
        for part in t.parts:
            pb, _, rid = part["rule"].partition("/")
            pspec = rules.get((pb, rid), {})
            if pspec.get("trigger") == "silence" and pspec.get("recheck", True):
                ptask = next((x for x in merged_parts[t.member] if x.id == part["id"]), None)
                if ptask is not None and not silent_ok(ptask, t.due):
                    bad.append(f"silence-part: {t.id} part {part['id']} {part['rule']} {t.member}")
    # removals: nothing for the member in the group after it until they join again; no second remove
    joins = [(e["member"], e["group"], ts_of(e)) for e in events if e["type"] == "member_joined"]
    removals = sorted((t for t in tasks if t.action == "remove"), key=lambda t: t.due)
    for rm in removals:
        for t in tasks:
            if t.member != rm.member or t.group != rm.group or t.due <= rm.due or (t.trigger_at == rm.trigger_at and t.action != "remove"):
                continue  # (the removal's own firing's @ or warning goes with it; a second removal never)
            if t.action not in ("mention", "warn", "remove"):  # private actions go on while in another group
                continue
            if not rules.get((t.playbook, t.rule), {}).get("recheck", True) and t.trigger_at < rm.due:
                continue  # recheck: false keeps what was planned before the removal, by the SPEC
            if not any(m == t.member and g == t.group and rm.trigger_at < at <= t.due for m, g, at in joins):  # (pace lists a removal later than it takes effect)
                bad.append(f"after-remove: {rm.id} ({local.text(rm.due)}) then {t.id} {t.playbook}/{t.rule} {t.action} {local.text(t.due)}")
    # cooldown and once: tasks of one rule for one member
    by_rule: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for t in tasks:
        if t.member:
            by_rule[(t.playbook, t.rule, t.member)].append(t)
    for (pb, rid, m), ts in by_rule.items():
        spec = rules.get((pb, rid), {})
        firings = sorted({t.trigger_at for t in ts})
        if spec.get("once") and len(firings) > 1:
            bad.append(f"once: {pb}/{rid} {m} fired {len(firings)}")
        cooldown = spec.get("cooldown")
        if cooldown:
            for a, b in itertools.pairwise(firings):
                if b - a < cooldown:
                    bad.append(f"cooldown: {pb}/{rid} {m} fired {local.text(a)} and {local.text(b)}")
    # per-member limits: a message counts once, under each of its parts' kinds; warn, remove
    # and notify do not count toward `any`
    for acts, mx, per in info["limits"]:
        seconds = parse_duration(per)
        dues: dict[str, list[float]] = defaultdict(list)
        for t in tasks:
            if t.member is None:
                continue
            kinds = {t.action} | {p.get("action", t.action) for p in t.parts}
            counts = bool(kinds - {"warn", "remove", "notify", "post"}) if acts == "any" else bool(kinds & set(acts))
            if counts:
                dues[t.member].append(t.due)
        for m, ds in dues.items():
            ds.sort()
            for i, d in enumerate(ds):
                inside = sum(1 for e in ds[i:] if e - d < seconds)
                if inside > mx:
                    bad.append(f"limit: {m} has {inside} of {acts} within {per} from {local.text(d)} (max {mx})")
                    break
    return bad


def held(config: Any, pieces: list[list[dict[str, Any]]], path: Path, marks: random.Random | None = None, printed: dict[str, Any] | None = None, replies: list[tuple[Any, ...]] | None = None) -> list[tuple[Any, ...]]:
    """The plan an operator holds after one --state run per piece: (id, due, text) of each
    printed task, a later print replacing an earlier, less those a later run took back.

    With ``marks``, after each run the operator marks some of its printed tasks done, skipped or
    replied (at the run's last instant), as `playbook tasks mark` does; ``printed`` then collects
    the held tasks by id as (task, index of the run that printed it, that run's last instant),
    and ``replies`` each reply the state recorded as (member, playbook, when, task id, index of
    the first run that knew of it)."""
    tasks: dict[str, tuple[Any, ...]] = {}
    seen: set[str] = set()
    for index, piece in enumerate(pieces):
        store = StateStore.open(str(path))
        result = run(config, records(piece), state=store)
        result.save_state()
        end = max((ts_of(e) for e in piece), default=float("-inf"))
        if marks is not None and replies is not None:
            # replies the run found in the history (a message after a task marked done): known to it
            for member, rule, at, task_id in store.connection.execute("SELECT member, rule, outcome_at, id FROM tasks WHERE outcome = 'replied' AND member IS NOT NULL"):
                if task_id not in seen:
                    seen.add(task_id)
                    replies.append((member, rule.split("/")[0], at, task_id, index))
            for task in result.tasks:
                status = marks.choice([None, None, "done", "done", "replied", "skipped"])
                if status is not None:
                    mark(store, [task.id], status, None, max(end, task.due) if status == "replied" else end)
                    if status == "replied" and task.member is not None and task.id not in seen:
                        seen.add(task.id)  # known from the next run on
                        replies.append((task.member, task.playbook, max(end, task.due), task.id, index + 1))
        store.close()
        for task_id in result.planner.taken_back():
            tasks.pop(task_id, None)
            if printed is not None:
                printed.pop(task_id, None)
        tz = result.evaluation.tz
        for task in result.tasks:
            rec = task.record(tz)
            tasks[rec["id"]] = (rec["id"], rec["due"], rec["text"])
            if printed is not None:
                printed[rec["id"]] = (task, index, end)
    return sorted(tasks.values())


def dump(result: Any) -> str:
    tz = result.evaluation.tz
    out = [json.dumps(t.record(tz), ensure_ascii=False, sort_keys=True) for t in result.tasks]
    out += [f"S {s.guardrail} {s.task.id} {s.reason}" for s in result.suppressed]
    return "\n".join(out)


LOOP_CONDS = ["member.open_tasks < 2", "member.open_tasks == 0", "member.tasks_30d < 3", "member.last_task_at is none",
              "member.last_contact_at is none or (now - member.last_contact_at).days >= 1"]


def after_when(lines: list[str], add: Callable[[str], str | None]) -> str:
    """Playbook ``lines`` joined, with the line ``add`` gives (None: none) after each rule's
    `when:` line; ``add`` is told the line that follows it ("" at the end)."""
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        if line.startswith("    when: ") and (extra := add(lines[i + 1] if i + 1 < len(lines) else "")) is not None:
            out.append(extra)
    return "\n".join(out)


def with_loop(lr: random.Random, community: str, files: dict[str, str]) -> tuple[str, dict[str, str]]:
    """``community`` and playbook ``files`` with holdouts and conditions on the loop's fields
    added, drawn from ``lr``: the base draw (and so every seed's case without --loop) is kept."""
    if lr.random() < 0.7:
        community = community.replace("community:\n", f"community:\n  holdout: {lr.choice([10, 30, 50])}%\n", 1)

    def condition(following: str) -> str | None:
        # a rule with no `if:` of its own: its `when:` line is followed by anything but `if:`
        if not following.startswith("    if: ") and lr.random() < 0.4:
            return f"    if: {q(lr.choice(LOOP_CONDS))}"
        return None

    out = {}
    for name, text in files.items():
        lines = text.split("\n")
        if lr.random() < 0.3:
            lines.insert(1, f"holdout: {lr.choice([0, 20, 50])}%")
        out[name] = after_when(lines, condition)
    return community, out


def with_until(ur: random.Random, files: dict[str, str]) -> dict[str, str]:
    """Playbook ``files`` with `until: replied` on about half of the rules (drawn from ``ur``)."""
    return {name: after_when(text.split("\n"), lambda _: "    until: replied" if ur.random() < 0.5 else None) for name, text in files.items()}


def as_teams(sr: random.Random, info: dict[str, Any], events: list[dict[str, Any]]) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """For --split: a community of independent teams (each group its own operator, with its
    capacity and pace), most members writing in one group only (a few in two, which joins their
    teams), in place of the drawn one; ``events`` moved to each member's groups."""
    groups, members = info["groups"], info["members"]
    home = {m: [sr.choice(groups)] for m in members}
    for m in sr.sample(members, k=len(members) // 10):
        home[m] = sorted(set(home[m]) | {sr.choice(groups)})
    lines = ["community:", "  name: t", "  timezone: Asia/Shanghai", "  groups:"]
    lines += [f"    - {{id: {g}, name: 群{g}}}" for g in groups]
    lines.append("  operators:")
    ops = []
    for i, g in enumerate(groups):
        capacity = sr.choice([1, 2, 3, None])
        pace = sr.choice([None, "30m", "1h"])
        item = [f"id: op{i}", f"groups: [{g}]"] + ([f"capacity: {capacity}"] if capacity else []) + ([f"pace: {pace}"] if pace else [])
        lines.append(f"    - {{{', '.join(item)}}}")
        ops.append({"id": f"op{i}", "groups": [g], "capacity": capacity, "pace": parse_duration(pace) if pace else 0})
    quiet = sr.choice([None, "22:00-08:00"])
    if quiet:
        lines.append(f'  quiet_hours: "{quiet}"')
    # Each member's events in their groups; replies, mentions and activities inside one group
    # (a reply or an activity id seen in two groups joins them, as does a mention across).
    moved = []
    message_group: dict[str, str] = {}
    for e in events:
        e = dict(e)
        if e.get("member") in home and e.get("group") not in home[e["member"]]:
            e["group"] = sr.choice(home[e["member"]])
        group = e.get("group")
        if "reply_to" in e and message_group.get(e["reply_to"]) != group:
            del e["reply_to"]
        if "mentions" in e:
            e["mentions"] = [m for m in e["mentions"] if group in home.get(m, ())]
        if "participants" in e:
            e["participants"] = [m for m in e["participants"] if group in home.get(m, ())]
        if "activity" in e:
            e["activity"] = f"{e['activity']}-{group}"
        if "id" in e and group is not None:
            message_group[e["id"]] = group
        moved.append(e)
    team_info = dict(info, staff=set(), ops=ops, quiet=quiet, merge=["dm"], limits=[])
    return "\n".join(lines) + "\n" + LIFECYCLE, team_info, moved


def split_differs(config: Any, events: list[dict[str, Any]]) -> list[str]:
    """The plan of the community's independent parts, each run apart and merged (what
    `--runner beam` does on its workers, engine/partition.py), against one run's: (id, due,
    text, assignee) of each task, and the suppressed counts."""
    local = run(config, records(events), keep_suppressed=False)
    merged, parts = run_split(config, records(events))
    if parts.note is not None:
        return []  # one part by construction (a plugin trigger …): nothing to compare
    tz = local.evaluation.tz

    def plan(result: Any) -> list[tuple[Any, ...]]:
        return [(rec["id"], rec["due"], rec["text"], rec.get("assignee")) for rec in (task.record(tz) for task in result.tasks)]

    one, apart = plan(local), plan(merged)
    if one != apart:
        a, b = set(one), set(apart)
        return [f"split: {len(parts.parts)} parts; one run only {sorted(a - b)[:4]} / parts only {sorted(b - a)[:4]}" + (" (order differs)" if a == b else "")]
    if local.planner.suppressed_counts != merged.planner.suppressed_counts:
        return [f"split: suppressed counts differ: {dict(local.planner.suppressed_counts)} / {dict(merged.planner.suppressed_counts)}"]
    return []


def one_case(seed: int, work: Path, cli: bool, loop: bool = False, anywhere: bool = False, marks: bool = False, split: bool = False) -> tuple[list[str], dict[str, Any]]:
    r = random.Random(seed)
    lr = random.Random(f"loop-{seed}")
    community, info = gen_community(r)
    events = gen_events(r, info)
    if split:
        community, info, events = as_teams(random.Random(f"teams-{seed}"), info, events)
    d = work / f"pb{seed}"
    # a drawn set validate refuses (a stage `stages:` excludes, a schedule inside quiet hours
    # past its deadline …) is drawn again: only valid sets are planned
    for _attempt in range(50):
        files, rules = gen_playbooks(r, info)
        written = with_loop(lr, community, files) if loop else (community, files)
        if marks:
            written = (written[0], with_until(random.Random(f"until-{seed}-{_attempt}"), written[1]))
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        (d / "community.yaml").write_text(written[0], encoding="utf-8")
        for name, text in written[1].items():
            (d / name).write_text(text, encoding="utf-8")
        try:
            config = load_config([d], REGISTRY)
            break
        except InvalidPlaybooks:
            continue
    else:
        raise RuntimeError("no valid playbook set drawn")
    (work / f"ev{seed}.jsonl").write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    cuts = draw_cuts(events, random.Random(f"cuts-{seed}")) if anywhere else None
    if cuts is not None:  # saved with a failing case, for replay.py and minimize.py
        (d / "cuts.json").write_text(json.dumps(cuts), encoding="utf-8")
    if marks:  # saved with a failing case, for replay.py and minimize.py
        (d / "marks.txt").write_text(f"marks-{seed}", encoding="utf-8")
    problems = checks(config, events, info, rules, work, cuts, random.Random(f"marks-{seed}") if marks else None)
    if split:
        problems += split_differs(config, events)
    if cli:
        outs = []
        for hs in ("1", "4242"):
            env = dict(os.environ, PYTHONHASHSEED=hs)
            p = subprocess.run([sys.executable, "-m", "playbook_engine.cli", "run", str(d), "--events", str(work / f"ev{seed}.jsonl"), "--format", "jsonl", "--explain"], capture_output=True, text=True, env=env)
            outs.append(p.stdout + p.stderr)
        if outs[0] != outs[1]:
            problems.append("determinism: CLI output differs between hash seeds")
    return problems, {"dir": d, "events": work / f"ev{seed}.jsonl"}


def main() -> None:
    ap = argparse.ArgumentParser(description="Fuzz the planner's invariants and nightly-run equality.")
    ap.add_argument("--seeds", default="0:100", help="seed range A:B (B excluded); default 0:100")
    ap.add_argument("--out", default="fuzz-out", help="where failing cases are saved (default: fuzz-out/)")
    ap.add_argument("--work", default=None, help="scratch directory (default: a temporary directory under the current one, removed at the end)")
    ap.add_argument("--cli-every", type=int, default=0, help="every Nth case, also compare the CLI's --explain output under two PYTHONHASHSEEDs")
    ap.add_argument("--loop", action="store_true", help="also draw holdouts and conditions on the loop's fields (member.open_tasks …)")
    ap.add_argument("--anywhere", action="store_true", help="cut the --state runs at random instants, not at local midnights")
    ap.add_argument("--split", action="store_true", help="a community of independent teams; also compare the plan of its parts, run apart and merged (--runner beam), with one run's")
    ap.add_argument("--marks", action="store_true", help="operators mark printed tasks done, skipped or replied between the --state runs; rules get `until: replied`; checks that a reply ends the sequence (instead of the nightly plan against one run's)")
    args = ap.parse_args()
    a, b = map(int, args.seeds.split(":"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.work is None:
        work = Path(tempfile.mkdtemp(prefix="fuzz-work-", dir="."))
    else:
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
    try:
        fuzz_seeds(a, b, out, work, args.cli_every, args.loop, args.anywhere, args.marks, args.split)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def fuzz_seeds(a: int, b: int, out: Path, work: Path, cli_every: int, loop: bool = False, anywhere: bool = False, marks: bool = False, split: bool = False) -> None:
    ran = failed = 0
    for seed in range(a, b):
        try:
            problems, paths = one_case(seed, work, bool(cli_every) and seed % cli_every == 0, loop, anywhere, marks, split)
        except Exception:  # a crash is a finding too
            problems, paths = ["crash: " + traceback.format_exc()], {"dir": work / f"pb{seed}", "events": work / f"ev{seed}.jsonl"}
        ran += 1
        if problems:
            failed += 1
            case = out / f"s{seed}"
            if case.exists():
                shutil.rmtree(case)
            shutil.copytree(paths["dir"], case)
            shutil.copy(paths["events"], case / "events.jsonl")
            (case / "failure.txt").write_text("\n".join(problems) + "\n", encoding="utf-8")
            print(f"seed {seed}: {len(problems)} problem(s): {problems[0][:200]}", flush=True)
        shutil.rmtree(paths["dir"], ignore_errors=True)
        Path(paths["events"]).unlink(missing_ok=True)
    print(f"ran {ran}, failed {failed}", flush=True)


# -- reading a case back (for the minimiser) ---------------------------------------------------


def info_from(d: Path) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    import yaml

    c = yaml.safe_load((d / "community.yaml").read_text(encoding="utf-8"))["community"]
    ops = [{"id": o["id"], "groups": o.get("groups", []), "capacity": o.get("capacity"), "pace": parse_duration(o["pace"]) if o.get("pace") else 0} for o in c["operators"]]
    staff = set(c.get("staff", [])) | {o["member"] for o in c["operators"] if "member" in o}
    limits = [(item["actions"], item["max"], item["per"]) for item in c.get("limits", [])]
    info = {"groups": [], "members": [], "staff": staff, "ops": ops, "quiet": c.get("quiet_hours"), "merge": c.get("merge", ["dm"]), "limits": limits}
    rules: dict[tuple[str, str], dict[str, Any]] = {}
    for p in sorted(d.glob("*.yaml")):
        if p.name == "community.yaml":
            continue
        pb = yaml.safe_load(p.read_text(encoding="utf-8"))
        for rule in pb["rules"]:
            when = rule["when"]
            trig = next(k for k in when if k not in ("keywords", "regex", "exclude", "at", "every", "each", "country", "not_counting"))
            if trig == "event" and when["event"] == "member_left":
                trig = "event_left"
            rules[(pb["playbook"], rule["id"])] = {"trigger": trig, "recheck": rule.get("recheck", True), "once": rule.get("once", False), "cooldown": parse_duration(rule["cooldown"]) if rule.get("cooldown") else 0}
    return info, rules


def check_dir(d: Path, events: list[dict[str, Any]], work: Path) -> list[str]:
    """All checks on a case directory (community.yaml + playbooks, and cuts.json if the case
    was drawn with --anywhere) and events."""
    info, rules = info_from(d)
    cuts = json.loads((d / "cuts.json").read_text(encoding="utf-8")) if (d / "cuts.json").exists() else None
    marks = random.Random((d / "marks.txt").read_text(encoding="utf-8")) if (d / "marks.txt").exists() else None
    return checks(load_config([d], REGISTRY), events, info, rules, work, cuts, marks)


def draw_cuts(events: list[dict[str, Any]], rng: random.Random) -> list[float]:
    """1-5 instants to cut ``events`` at, between two of its instants (an operator who exports
    the history at 21:30 one day and at 07:10 the next), not at local midnights."""
    instants = sorted({ts_of(e) for e in events})
    return sorted(rng.sample(instants[1:], k=min(len(instants) - 1, rng.randint(1, 5))))


def cut_at(events: list[dict[str, Any]], at: list[float]) -> list[list[dict[str, Any]]]:
    """``events`` in pieces: a piece starts at each instant of ``at``."""
    pieces: list[list[dict[str, Any]]] = [[] for _ in range(len(at) + 1)]
    for e in events:
        pieces[sum(ts_of(e) >= t for t in at)].append(e)
    return pieces


def checks(config: Any, events: list[dict[str, Any]], info: dict[str, Any], rules: Any, work: Path, cuts: list[float] | None = None, marks: random.Random | None = None) -> list[str]:
    """The invariants of one run with --explain, a second run's bytes, and the plan held after
    one --state run per local day (or per piece, cut at the instants ``cuts``) against one run's."""
    whole = run(config, records(events), explain=True)
    problems = check_invariants(whole, events, info, rules)
    if dump(whole) != dump(run(config, records(events), explain=True)):
        problems.append("determinism: second run differs")
    if cuts is None:
        by_day: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for e in events:
            by_day[datetime.fromisoformat(e["ts"]).astimezone(TZ).toordinal()].append(e)
        pieces = [by_day[k] for k in sorted(by_day)]
    else:
        pieces = cut_at(events, cuts)
    dbdir = Path(tempfile.mkdtemp(dir=work))
    try:
        if marks is not None:
            # Marks make the nightly plan another plan than one run's: what must hold is that
            # `until: replied` ends a sequence (no later task of it due after the reply).
            printed: dict[str, Any] = {}
            replies: list[tuple[Any, ...]] = []
            held(config, pieces, dbdir / "s.db", marks, printed, replies)
            by_key: dict[tuple[str, str], list[tuple[float, str, int]]] = defaultdict(list)
            for member, playbook, at, task_id, known_from in replies:
                by_key[(member, playbook)].append((at, task_id, known_from))
            until = {rule.key for rule in config.rules if rule.until == "replied" and rule.recheck}  # recheck: false keeps its tasks regardless
            for task, index, end in printed.values():
                if task.due > end:
                    continue  # due after the last run that printed it: no run has checked it at its due time
                # a merged message: each part's rule (the message's own is its first part); a
                # reply to the message itself (marked done before it was due) ends nothing of it
                own = {task.id} | {part["id"] for part in task.parts}
                for key in [part["rule"] for part in task.parts] or [f"{task.playbook}/{task.rule}"]:
                    before = [at for at, replied, known_from in by_key.get((task.member, key.split("/")[0]), ())
                              if replied not in own and known_from <= index and task.due - 30 * 86400 <= at < task.due]
                    if key in until and before:
                        problems.append(f"until: {task.id} ({key}) for {task.member} due {task.due} after a reply at {min(before)}")
            return problems
        nightly = held(config, pieces, dbdir / "s.db")
    finally:
        shutil.rmtree(dbdir, ignore_errors=True)
    tz = whole.evaluation.tz
    one = sorted((rec["id"], rec["due"], rec["text"]) for rec in (t.record(tz) for t in whole.tasks))
    if nightly != one:
        a, b = set(one), set(nightly)
        problems.append(f"nightly: one run only {sorted(a - b)[:6]} / nightly only {sorted(b - a)[:6]}")
    return problems


if __name__ == "__main__":
    main()
