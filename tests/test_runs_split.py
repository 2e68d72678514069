"""A history cut into --state runs anywhere gives the plan one run gives (issue 19, point 2).

tests/test_daily_texts.py checks this on generated fortnights of the shipped playbooks; here a
few members do what makes a plan's bookkeeping cross a run's end — a condition that flips
before a task is due, capacity and pace that carry tasks into the next day, deadlines that
drop them there, cooldowns, merged DMs, a daily limit, quiet hours, silence, leaving and
joining, two operators — at drawn moments, and the history is cut at drawn places, mid-day
included. (A `remove` is left out: its effect, at its due time, comes before capacity settles
the day, and cut runs still differ when a day has more removals than slots, or a `becomes`
task falls due at the very instant of one — known, not yet mended.)
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import config_from, plan, task_keys
from tests.test_daily_texts import held

RULES = {
    "p.yaml": """\
        playbook: p
        rules:
          - id: first
            when: {event: message, keywords: [早]}
            priority: high
            do: [{notify: "看一下 {{ member.name }}"}]
          - id: ask
            when: {event: message, keywords: [书]}
            if: "member.attributes.get('tier') == 'A'"
            priority: low
            delay: 20h
            deadline: 1d
            cooldown: 3d
            do: [{dm: "问问 {{ member.name }}"}]
          - id: nudge
            when: {silence: 2d}
            do: [{dm: "好久不见 {{ member.name }}"}]
          - id: hello
            when: {event: member_joined}
            delay: 1h
            do: [{mention: "欢迎 {{ member.name }}"}]
          - id: chatty
            when: {becomes: "member.messages >= 3"}
            priority: normal
            do: [{notify: "{{ member.name }} 开始活跃了"}]
        """,
}

COMMUNITY = """\
    community:
      name: t
      timezone: Asia/Shanghai
      quiet_hours: "22:00-08:00"
      merge: [dm]
      operators:
        - {id: op, groups: [g1], capacity: %d%s}
        - {id: kai, groups: [g2], capacity: 1}
      limits:
        - {actions: [dm], max: 2, per: 1d}
    """

START = datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=8)))
KINDS = ["早", "书", "hi", "A", "B", "join", "leave"]


def event(minute: int, member: int, group: int, kind: str) -> dict[str, Any]:
    base: dict[str, Any] = {"ts": (START + timedelta(minutes=minute)).isoformat(), "group": f"g{group}", "member": f"m{member}"}
    if kind in ("A", "B"):
        return base | {"type": "profile", "attributes": {"tier": kind}}
    if kind in ("join", "leave"):
        return base | {"type": "member_joined" if kind == "join" else "member_left"}
    return base | {"type": "message", "text": kind}


histories = st.lists(
    st.tuples(st.integers(0, 8 * 1440), st.integers(1, 4), st.integers(1, 2), st.sampled_from(KINDS)),
    min_size=1, max_size=40, unique_by=lambda drawn: drawn[0],
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=histories, cuts=st.lists(st.integers(1, 39), max_size=6, unique=True), capacity=st.integers(1, 3), pace=st.sampled_from(["", ", pace: 30m"]))
def test_runs_cut_anywhere_hold_the_plan_of_one_run(tmp_path_factory, drawn, cuts, capacity, pace):
    config = config_from(RULES, COMMUNITY % (capacity, pace), tmp_path_factory.mktemp("pb"))
    events = [event(*item) for item in sorted(drawn)]
    bounds = [0, *sorted(cut for cut in cuts if cut < len(events)), len(events)]
    pieces = [events[start:end] for start, end in itertools.pairwise(bounds) if end > start]
    whole = plan(config, events)
    assert held(config, pieces, tmp_path_factory.mktemp("state") / "ops.db") == sorted(task_keys(whole, "id", "due", "text"))
