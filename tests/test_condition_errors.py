"""One way to report a condition error, for `if:`, `becomes:` and lifecycle stages alike:
at validate time where it can be known, otherwise as a recorded skip (--explain, summary)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from playbook_engine import hookimpl
from playbook_engine.contract import MEMBER_FIELDS, Member
from playbook_engine.errors import InvalidPlaybooks
from playbook_engine.expressions import Condition, PlaybookEnvironment, check_source
from playbook_engine.localtime import DAY
from playbook_engine.members import MEMBER_FIELD_KINDS, MemberView
from playbook_engine.plugins import Registry, get_plugin_manager
from tests.conftest import COMMUNITY, config_from, plan, task_keys, write_jsonl
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
            assert value is None or isinstance(value, python_types[kind]), (name, value)  # type: ignore[index]  # kinds checked against the table just above
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


# -- failures only the run can know: recorded skips ---------------------------------------------

CITY = "member.attributes.city.upper() == 'X'"  # fails for a member without a city: an unknown value cannot be called
RULES = (
    "playbook: p\nrules:\n"
    "  - id: watch\n    when: {becomes: \"" + CITY + "\"}\n    do:\n      - notify: \"{{ member.name }} is in X\"\n"
    "  - id: hello\n    when: {event: message}\n    do:\n      - dm: hi\n"
)
STAGES = COMMUNITY + "  lifecycle:\n    - {stage: city, label: 城市, if: \"" + CITY + "\"}\n    - {stage: other, label: 其他, if: true}\n"


def profile(ts: str, member: str = "m1", **attributes) -> dict:
    return {"ts": f"2026-03-{ts}+08:00", "type": "profile", "member": member, "group": "g1", "attributes": attributes}


def errors(result) -> list[tuple[str, str | None, str]]:
    return [(note.rule, note.member, note.reason) for note in result.notes if note.kind == "error"]


def test_a_failing_becomes_condition_is_a_recorded_skip_and_the_rule_fires_once_it_holds(make_config):
    config = make_config({"p.yaml": RULES}, COMMUNITY + "  merge: []\n")  # each rule's task on its own
    events = [msg("01T09:00:00"), profile("01T10:00:00", city="x"), msg("01T11:00:00")]
    result = plan(config, events, explain=True)
    failed = "condition `member.attributes.city.upper() == 'X'` failed: 'dict object' has no attribute 'city'"
    assert errors(result) == [("p/watch", "m1", failed)]
    assert result.counts["error"] == 1
    assert task_keys(result, "rule", "due") == [
        ("hello", "2026-03-01T09:00:00+08:00"), ("watch", "2026-03-01T10:00:00+08:00"), ("hello", "2026-03-01T11:00:00+08:00"),
    ]


def test_a_failing_stage_condition_skips_that_stage_as_a_recorded_skip(make_config):
    config = make_config(playbook("{event: message}"), STAGES)
    result = plan(config, [msg("01T09:00:00"), profile("01T10:00:00", city="x")], explain=True)
    assert [(rule, member) for rule, member, _ in errors(result)] == [("lifecycle/city", "m1")]
    assert result.counts["error"] == 1
    assert result.evaluation.members["m1"].stage == "city"  # once the condition can be answered


def test_failures_are_counted_the_same_without_explain(make_config):
    """The default sink counts what --explain writes down: the summary line needs no --explain."""
    config = make_config({"p.yaml": RULES}, STAGES)
    events = [msg("01T09:00:00"), msg("01T09:00:00", "m2"), profile("01T10:00:00", city="x")]
    explained, plain = plan(config, events, explain=True), plan(config, events)
    assert plain.counts["error"] == explained.counts["error"] == len(errors(explained)) == 4  # becomes and stage, for m1 and m2
    assert task_keys(plain, "id") == task_keys(explained, "id")


def test_the_summary_and_explain_show_a_failing_becomes_and_stage_condition(make_config, registry, tmp_path):
    from click.testing import CliRunner

    from playbook_engine.cli import cli

    make_config({"p.yaml": RULES}, STAGES)
    events = write_jsonl(tmp_path / "events.jsonl", [msg("01T09:00:00", name="小王")])
    args = ["run", str(tmp_path / "pb"), "--events", str(events), "--format", "jsonl"]
    plain = CliRunner().invoke(cli, args, obj={"registry": registry})
    assert plain.exit_code == 0, plain.output
    assert "  2 rule evaluation(s) failed and were skipped — run with --explain to see them" in plain.stderr.splitlines()
    explained = CliRunner().invoke(cli, [*args, "--explain"], obj={"registry": registry})
    lines = explained.stderr.splitlines()
    reason = "condition `member.attributes.city.upper() == 'X'` failed: 'dict object' has no attribute 'city'"
    assert f"2026-03-01 09:00  error      lifecycle/city → 小王 (m1): {reason}" in lines
    assert f"2026-03-01 09:00  error      p/watch → 小王 (m1): {reason}" in lines


class StrictNumber:
    """A filter plugin that refuses what is not a number, as a third-party filter may."""

    @hookimpl
    def register_filters(self, register):
        register("strict_number", lambda value: float(value))


@pytest.fixture
def strict_registry():
    pm = get_plugin_manager(entrypoints=False)
    plugin = StrictNumber()
    pm.register(plugin, name="strict-number")
    yield Registry.collect(pm)
    pm.unregister(plugin)


FILTERED = "member.name | strict_number > 2"  # a scalar field: the memoised paths are taken
FILTER_PLACES = {
    "if": ({"p.yaml": playbook("{event: message}", extra=f"    if: \"{FILTERED}\"\n")["p.yaml"]}, COMMUNITY, "p/r"),
    "becomes": (playbook(f"{{becomes: \"{FILTERED}\"}}"), COMMUNITY, "p/r"),
    "stage": (playbook("{event: message}"), COMMUNITY + f"  lifecycle:\n    - {{stage: high, if: \"{FILTERED}\"}}\n    - {{stage: other, if: true}}\n", "lifecycle/high"),
}


@pytest.mark.parametrize("place", list(FILTER_PLACES))
def test_a_filter_that_raises_is_an_error_note_in_if_becomes_and_stages_alike(place, strict_registry, tmp_path):
    """Two members with the same name: a failure is said for each, never remembered as an answer."""
    files, community, rule = FILTER_PLACES[place]
    config = config_from(files, community, tmp_path / "pb", strict_registry)
    result = plan(config, [msg("01T09:00:00", "m1", name="小王"), msg("01T09:00:00", "m2", name="小王")], explain=True)
    failed = f"condition `{FILTERED}` failed: could not convert string to float: '小王'"
    assert errors(result) == [(rule, "m1", failed), (rule, "m2", failed)]
    assert result.counts["error"] == 2
