"""The guards of the shipped group-rules, silent-member-care, churn-winback and activity-feedback,
checked on generated months as an operator would read the plan: no article sharer warned, no
self-talk taken for an insult, nobody nudged who never spoke, nobody asked about an activity
twice in a month, at most 10 non-participants asked per activity, and no member DMed by silent
care and winback in the same week."""

from __future__ import annotations

import io
import json
import sys
from collections import defaultdict
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_engine.events import parse_jsonl
from playbook_engine.loading import load_config
from playbook_engine.plugins import load_registry
from playbook_engine.runner import run
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from generate import Options, write  # noqa: E402

WEEK, MONTH = 7 * 86400, 30 * 86400
# What group-rules must let be, put into the generated chatter.
HARMLESS = ("我真是白痴，又忘了打卡", "帮她代购口红，大家有推荐的色号吗", "滚蛋吧肿瘤君 这本书看哭了", "分享一篇文章，讲得挺好的 https://example.com/post", "公众号这篇不错 https://mp.weixin.qq.com/s/AbC")


def _month(seed: int, members: int, days: int) -> list[dict]:
    stream = io.StringIO()
    write(Options(events=members * 20, members=members, groups=2, days=days, seed=seed), stream)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    messages = [event for event in events if event["type"] == "message"]
    for index, event in enumerate(messages[::17]):
        event["text"] = HARMLESS[index % len(HARMLESS)]
    return events


def _plan(tmp_path, events: list[dict]):
    directory = tmp_path / "pb"
    directory.mkdir(exist_ok=True)
    for path in (ROOT / "playbooks").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if path.name == "community.yaml":  # one task per rule, to read them apart
            assert "  merge: [dm, reward, invite, survey, mention]\n" in text
            text = text.replace("  merge: [dm, reward, invite, survey, mention]\n", "  merge: []\n")
        (directory / path.name).write_text(text, encoding="utf-8")
    config = load_config([directory], load_registry(entrypoints=False))
    lines = "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in events)
    return run(config, parse_jsonl(io.StringIO(lines))).tasks


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(60, 150), days=st.integers(25, 40))
def test_a_generated_month_keeps_the_guards_an_operator_checks(tmp_path_factory, seed, members, days):
    events = _month(seed, members, days)
    tasks = _plan(tmp_path_factory.mktemp("month"), events)
    said: dict[tuple[str, float], str] = {}
    first_words: dict[str, float] = {}
    joined: dict[str, float] = {}
    for event in events:
        if event["type"] == "member_joined":
            joined[event["member"]] = datetime.fromisoformat(event["ts"]).timestamp()
        if event["type"] == "message":
            moment = datetime.fromisoformat(event["ts"]).timestamp()
            said[(event["member"], moment)] = event["text"]
            first_words.setdefault(event["member"], moment)
    activity_asks: dict[str, list[float]] = defaultdict(list)
    per_activity: dict[str, int] = defaultdict(int)
    care: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for task in tasks:
        key = f"{task.playbook}/{task.rule}"
        if task.playbook == "group-rules" and task.rule not in ("nickname", "warn-link-spam", "remove-link-spam"):
            assert said.get((task.member, task.trigger_at)) not in HARMLESS, (key, task.member)
        if task.rule in ("warn-link-spam", "remove-link-spam"):  # several links from a newcomer only
            assert joined.get(task.member, float("-inf")) > task.trigger_at - WEEK, (key, task.member)
        if task.playbook == "silent-member-care":
            assert first_words.get(task.member, float("inf")) < task.trigger_at, (key, task.member)
        if task.playbook == "activity-feedback":
            activity_asks[task.member].append(task.trigger_at)
            if task.rule == "ask-non-participants":
                per_activity[task.reason] += 1
        if key in ("silent-member-care/ask-why", "churn-winback/decline"):
            care[task.member].append((task.trigger_at, key))
    for member, moments in activity_asks.items():
        moments.sort()
        assert all(later - earlier >= MONTH for earlier, later in zip(moments, moments[1:], strict=False)), member
    assert all(count <= 10 for count in per_activity.values()), per_activity
    for member, dms in care.items():
        assert not any(abs(a - b) < WEEK for a, first in dms for b, second in dms if first != second), member
