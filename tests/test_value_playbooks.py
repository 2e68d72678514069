"""The shipped 价值分层 (value-tiers), 需求回访 (needs-revisit) and vip-service playbooks together:
tags that follow purchases and activity, and one member never asked about their needs twice in
short order by the two playbooks that ask."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_engine.loading import load_config
from playbook_engine.members import MemberView
from playbook_engine.model import Config
from playbook_engine.plugins import load_registry
from tests.conftest import ROOT, plan
from tests.test_clock_properties import START

DAY = 86400
SHIPPED = load_config([ROOT / "playbooks"], load_registry(entrypoints=False))
TIERS = frozenset({"高价值", "沉睡付费", "潜力"})


def _alone(*playbooks: str) -> Config:
    return Config(SHIPPED.community, [playbook for playbook in SHIPPED.playbooks if playbook.id in playbooks], SHIPPED.registry, SHIPPED.env)


def _expected_tiers(purchases: int, active_days: int, days_silent: int | None) -> list[set[str]]:
    """The value tags a member may hold: one set, or two where the tier depends on the way there
    (a buyer neither active nor silent for 30 days: still 沉睡付费 if they were, else no tag)."""
    if purchases:
        if active_days >= 3:
            return [{"高价值"}]
        return [{"沉睡付费"}] if days_silent is not None and days_silent >= 30 else [set(), {"沉睡付费"}]
    return [{"潜力"}] if active_days >= 8 else [set()]


members = st.sampled_from(["m51", "m52", "m53"])
steps = st.lists(st.tuples(st.integers(0, 3 * DAY), members, st.sampled_from(["message", "message", "message", "purchase"])), min_size=1, max_size=40)


@settings(max_examples=40, deadline=None)
@given(drawn=steps, after=st.integers(0, 40 * DAY))
def test_each_member_holds_the_value_tier_their_purchases_and_activity_give(drawn, after):
    """Over generated histories, at the end (some time after the last event, so that old speaking
    days leave the window): one tier at most, the one the definitions give — tags moved by
    `becomes:` as thresholds were crossed, never by a daily scan; nothing but notes to operators."""
    config = _alone("value-tiers")
    events, t = [], START
    for gap, member, kind in drawn:
        t += gap
        event = {"ts": t, "type": kind, "group": "g1", "member": member}
        event.update({"text": "打卡"} if kind == "message" else {"amount": 99})
        events.append(event)
    until = t + after
    result = plan(config, events, until=until)
    for member_id in {member for _, member, _ in drawn}:
        member = result.evaluation.members[member_id]
        view = MemberView(member, until, config.community.tz)
        assert member.tags & TIERS in _expected_tiers(view.purchases, view.active_days_30d, view.days_silent), (member_id, view.purchases, view.active_days_30d, view.days_silent)
    assert all(task.action == "notify" for task in result.tasks)


def _at(day: int, hour: int = 10) -> float:
    return START + day * DAY + hour * 3600


def _tasks(result, member: str) -> list[tuple[str, str, str, str]]:
    tz = SHIPPED.community.tz
    return [(task.record(tz)["due"][:16], task.playbook, task.rule, task.action) for task in result.tasks if task.member == member]


def test_a_member_asked_by_needs_revisit_is_greeted_by_vip_service_without_being_asked_again():
    config = _alone("needs-revisit", "vip-service")
    events = [
        {"ts": _at(0), "type": "purchase", "group": "g1", "member": "m51", "name": "阿珍", "amount": 199},
        {"ts": _at(1), "type": "message", "group": "g1", "member": "m51", "text": "第三章读完了"},
        {"ts": _at(4), "type": "profile", "member": "m51", "tags": ["vip"]},  # three days after the needs DM
        {"ts": _at(30), "type": "message", "group": "g1", "member": "m51", "text": "早"},
    ]
    result = plan(config, events, until=_at(32))
    dms = [task for task in result.tasks if task.member == "m51" and task.action == "dm" and task.rule != "quiet-vip"]
    assert [(task.playbook, task.rule) for task in dms] == [("needs-revisit", "ask"), ("vip-service", "first-touch")]
    revisit, first_touch = dms
    assert "最近在读书和学习上" in revisit.text
    assert first_touch.text.strip() == "阿珍，之后有任何需要都可以直接私信我～"  # the greeting, no question; she knows the operator from the needs DM
    note = next(task for task in result.tasks if task.rule == "first-touch" and task.action == "notify")
    assert "两周内刚被需求回访问过需求" in note.text
    # Day 30: within the 60 days since the needs DM, so not asked again.
    assert [task.due for task in result.tasks if task.playbook == "needs-revisit"] == [_at(2), _at(2)]  # the DM and the note


def test_needs_revisit_holds_back_for_two_weeks_after_vip_service_asked():
    config = _alone("needs-revisit", "vip-service")
    events = [
        {"ts": _at(0), "type": "purchase", "group": "g1", "member": "m51", "name": "阿珍", "amount": 199},
        {"ts": _at(1, 9), "type": "profile", "member": "m51", "tags": ["vip"]},
        # Every few days (never silent for five: no quiet-vip DM); asked once two weeks have passed.
        *({"ts": _at(day, 11), "type": "message", "group": "g1", "member": "m51", "text": "打卡"} for day in (5, 9, 13, 16)),
    ]
    result = plan(config, events, until=_at(18))
    assert [(task.playbook, task.rule, task.action) for task in result.tasks if task.action == "dm"] == [
        ("vip-service", "first-touch", "dm"),
        ("needs-revisit", "ask", "dm"),
    ]
    asked = next(task for task in result.tasks if task.playbook == "needs-revisit" and task.action == "dm")
    assert asked.due == _at(17, 11)
    first_touch = next(task for task in result.tasks if task.rule == "first-touch" and task.action == "dm")
    assert "最想读" in first_touch.text


def test_a_needs_dm_due_the_day_after_vip_service_asked_is_held_back():
    """The same day as vip-service's first touch, the loop fields do not show it yet (a day's tasks
    are final at its midnight): the needs DM, due the next day, is checked again then and dropped."""
    config = _alone("needs-revisit", "vip-service")
    events = [
        {"ts": _at(0), "type": "purchase", "group": "g1", "member": "m51", "name": "阿珍", "amount": 199},
        {"ts": _at(1, 9), "type": "profile", "member": "m51", "tags": ["vip"]},
        {"ts": _at(1, 11), "type": "message", "group": "g1", "member": "m51", "text": "谢谢"},
    ]
    result = plan(config, events, until=_at(4))
    assert [task.playbook for task in result.tasks] == ["vip-service", "vip-service"]
    assert result.planner.suppressed_counts["stale"] == 2  # the DM and the note


def test_a_vip_first_touch_the_day_of_another_dm_waits_and_asks_without_introducing_again():
    """Review 17: 王总 joins at 10:00 (the welcome asks her to introduce herself at 10:20: "你好，我
    是读书会的运营"); her VIP profile comes at 10:30. The first touch was a second DM that day,
    introducing the operator again. It waits for the next day (its rule gives it two days): one
    DM a day, and by then she knows the operator — the greeting without the introduction, and
    still the question about her team's needs (only needs-revisit's question holds that back)."""
    config = _alone("new-member-welcome", "vip-service")
    events = [
        {"ts": _at(0, 10), "type": "member_joined", "group": "g2", "member": "m102", "name": "王总"},
        {"ts": _at(0, 10.5), "type": "profile", "member": "m102", "tags": ["vip"], "attributes": {"role": "B端"}},
    ]
    result = plan(config, events, until=_at(3))
    dms = [task for task in result.tasks if task.member == "m102" and task.action == "dm"]
    assert [(task.rule, task.due // DAY) for task in dms] == [("ask-intro", _at(0, 10) // DAY), ("first-touch", _at(1, 10) // DAY)]
    assert dms[1].due == _at(1, 10.5)  # the same time, the next day
    assert dms[1].text.startswith("王总，之后有任何需要都可以直接私信我～\n想了解一下：你们团队")
    note = next(task for task in result.tasks if task.rule == "first-touch" and task.action == "notify")
    assert note.due > dms[1].due and "记进成员档案" in note.text  # the note goes with its DM


def test_no_why_so_quiet_dm_to_a_member_who_came_to_an_activity():
    """Review 17: 阿珍, silent in the group for ten days, came to the morning's 晨读会 and was
    thanked for it with a survey; that afternoon silent-member-care asked her "这阵子没怎么在群里
    看到你". The survey's `surveyed` tag keeps that DM back."""
    config = _alone("activity-feedback", "silent-member-care")
    events = [
        {"ts": _at(0, 15), "type": "message", "group": "g1", "member": "m101", "name": "阿珍", "text": "早"},
        {"ts": _at(0, 15.01), "type": "message", "group": "g1", "member": "m101", "text": "打卡"},
        {"ts": _at(10, 8), "type": "activity_started", "group": "g1", "activity": "a", "title": "晨读会"},
        {"ts": _at(10, 8.1), "type": "activity_joined", "group": "g1", "member": "m101", "activity": "a"},
        {"ts": _at(10, 9), "type": "activity_ended", "group": "g1", "activity": "a", "participants": ["m101"], "title": "晨读会"},
    ]
    result = plan(config, events, until=_at(12))
    assert [(task.rule, task.action) for task in result.tasks if task.member == "m101"] == [("nudge", "mention"), ("survey-participants", "survey")]
