"""One way to report a condition error, for `if:`, `becomes:` and lifecycle stages alike:
at validate time where it can be known, otherwise as a recorded skip (--explain, summary)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playbook_engine.contract import MEMBER_FIELDS, Member
from playbook_engine.errors import InvalidPlaybooks
from playbook_engine.expressions import Condition, PlaybookEnvironment, check_source
from playbook_engine.localtime import DAY
from playbook_engine.members import MEMBER_FIELD_KINDS, MemberView

from tests.conftest import COMMUNITY, plan
from tests.test_triggers import msg, playbook


def problems_of(make_config, files: dict[str, str], community: str = COMMUNITY) -> list[str]:
    with pytest.raises(InvalidPlaybooks) as raised:
        make_config(files, community)
    return [problem.message for problem in raised.value.problems]


def test_a_becomes_condition_reports_every_problem_at_once(make_config):
    found = problems_of(make_config, playbook('{becomes: "member.mesages >= 3 and member.tag == 1"}'))
    assert found == [
        "unknown `member.mesages` — did you mean `member.messages`?",
        "unknown `member.tag` — did you mean `member.tags`?",
    ]


def test_a_stage_condition_reads_community_as_it_was_validated_to(make_config):
    """`community` is allowed in a stage condition at validate time: the run must give it."""
    community = COMMUNITY + (
        "  lifecycle:\n"
        "    - {stage: home, if: \"community.name == '测试群'\"}\n"
        "    - {stage: other, if: true}\n"
    )
    result = plan(make_config(playbook("{event: message}"), community), [msg("01T09:00:00")])
    assert result.evaluation.members["m1"].stage == "home"


# -- wrong types, known before the run --------------------------------------------------------

WRONG_TYPES = {
    'member.messages == "10"': 'condition compares member.messages (a number) with "10" (text), which is never true — write 10',
    "member.name > 3": "condition compares member.name (text) with 3 (a number), which fails for every member — to compare its length, write `member.name | length > 3`",
    "member.tags > 2": "condition compares member.tags (a list of texts) with 2 (a number), which fails for every member — to count them, write `member.tags | length > 2`",
    "'vip' in member.messages": "condition looks for \"vip\" (text) in member.messages (a number), which fails for every member: it holds no items — look in a list such as member.tags, e.g. `'vip' in member.tags`",
    "member.tags == 'vip'": "condition compares member.tags (a list of texts) with \"vip\" (text), which is never true — to test for one, write `'vip' in member.tags`",
    "3 in member.tags": "condition looks for 3 (a number) in member.tags (a list of texts), which is never true: it holds only text — write `'3' in member.tags`",
    "member.name == 3": "condition compares member.name (text) with 3 (a number), which is never true — write `member.name == '3'`",
    "member.left == 'true'": "condition compares member.left (true or false) with \"true\" (text), which is never true — write `member.left` or `not member.left` to test whether it is true",
    "member.joined_at > '2026-01-01'": "condition compares member.joined_at (a date and time) with \"2026-01-01\" (text), which fails for every member — compare a count of days, e.g. `member.days_since_join >= 30`",
    "member.messages in ['1', '2']": "condition looks for member.messages (a number) in [\"1\", \"2\"] (a list), which is never true: its items are text — write the items as numbers, without quotes",
    "member.messages + '1' > 2": "condition computes member.messages (a number) + \"1\" (text), which fails for every member — write 1",
    "member.name + 1 == 'x1'": "condition computes member.name (text) + 1 (a number), which fails for every member — to join them as text, write `member.name ~ 1`",
    "1 < member.messages < '5'": "condition compares member.messages (a number) with \"5\" (text), which fails for every member — write 5",
}
RIGHT_TYPES = [
    "member.messages > 0 and 'vip' in member.tags",
    "member.days_silent >= -1",
    "member.left == 0",
    "member.messages == true",
    "member.stage in ['churn', 'decline']",
    "member.messages in [1, '2']",
    "member.tags == []",
    "member.stage == none",
    "member.attributes.level > 2",
    "member.attributes.level == '2'",
    "member.tags | length > 2",
    "member.messages | string == '10'",
    "member.name * 2 == 'aa'",
    "'%s' % member.messages == '1'",
    "member.name ~ 1 == 'a1'",
    "'a' in member.name",
    "member.joined_at < now",
    "member.points / 2 > 1.5",
]
MEMBER_FIELD_NAMES = {"member": MEMBER_FIELDS, "now": None, "community": ("name", "timezone", "channel")}
TZ = ZoneInfo("Asia/Shanghai")
NOW = 1772330400.0  # 2026-03-01 10:00
SAMPLE_MEMBERS = [
    Member("m1"),
    Member("m2", name="小王", groups={"g1"}, joined_at=NOW - 3 * DAY, last_message_at=NOW - 3600, messages=10, questions=2,
           points=2.5, tags={"vip", "3"}, attributes={"level": 3}, stage="growth", stage_since=NOW - DAY, left=True),
]


@pytest.mark.parametrize("source", list(WRONG_TYPES), ids=list(WRONG_TYPES))
def test_a_member_field_compared_with_a_value_of_the_wrong_type_is_a_validation_problem(source):
    assert check_source(PlaybookEnvironment(), source, expression=True, fields=MEMBER_FIELD_NAMES) == [WRONG_TYPES[source]]


@pytest.mark.parametrize("source", RIGHT_TYPES, ids=RIGHT_TYPES)
def test_comparisons_that_can_work_are_not_refused(source):
    assert check_source(PlaybookEnvironment(), source, expression=True, fields=MEMBER_FIELD_NAMES) == []


@pytest.mark.parametrize("source", list(WRONG_TYPES), ids=list(WRONG_TYPES))
def test_what_the_type_check_refuses_really_fails_or_never_changes_at_run_time(source):
    """The slow, obvious check of the static one: on members of every shape, through both
    evaluation paths, a refused condition raises or gives one answer whatever the member."""
    env = PlaybookEnvironment()
    condition = Condition(env, source)
    outcomes = set()
    for member in SAMPLE_MEMBERS:
        context = {"member": MemberView(member, NOW, TZ), "now": None}
        for test in (condition.test, condition.test_with_jinja):
            try:
                outcomes.add(test(context))
            except TypeError:
                outcomes.add("fails")
    assert len(outcomes - {"fails"}) <= 1, outcomes


def test_every_member_field_has_a_kind_its_values_have():
    """The kinds are read from MemberView's annotations: check them against real values."""
    python_types = {"number": (int, float), "text": str, "truth": bool, "moment": datetime, "texts": list, "mapping": dict}
    assert set(MEMBER_FIELD_KINDS) == set(MEMBER_FIELDS)
    assert all(kind in python_types for kind in MEMBER_FIELD_KINDS.values()), MEMBER_FIELD_KINDS
    for member in SAMPLE_MEMBERS:
        view = MemberView(member, NOW, TZ)
        for name, kind in MEMBER_FIELD_KINDS.items():
            value = getattr(view, name)
            assert value is None or isinstance(value, python_types[kind]), (name, value)  # type: ignore[index]
            if kind == "texts":
                assert all(isinstance(item, str) for item in value)


def test_a_wrong_type_is_reported_in_if_becomes_and_stage_conditions_alike(make_config):
    files = {"p.yaml": (
        "playbook: p\nrules:\n"
        "  - id: a\n    when: {event: message}\n    if: member.messages == \"10\"\n    do:\n      - dm: hi\n"
        "  - id: b\n    when: {becomes: \"member.messages == '10'\"}\n    do:\n      - dm: hi\n"
    )}
    community = COMMUNITY + "  lifecycle:\n    - {stage: busy, if: \"member.messages == '10'\"}\n    - {stage: other, if: true}\n"
    expected = 'condition compares member.messages (a number) with "10" (text), which is never true — write 10'
    assert problems_of(make_config, files, community) == [expected] * 3
