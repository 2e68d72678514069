"""Compiled conditions answer exactly as Jinja2 does, keep the sandbox, and are used for real."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.exceptions import SecurityError

from playbook_engine.compiler import compile_condition
from playbook_engine.contract import Member
from playbook_engine.expressions import Condition, PlaybookEnvironment, Variants
from playbook_engine.loading import load_config
from playbook_engine.members import MemberView
from playbook_engine.plugins import load_registry
from tests.conftest import ROOT

TZ = ZoneInfo("Asia/Shanghai")
EXTRA = [
    "member.days_silent >= 14 and not member.left",
    "member.attributes.get('role') == 'B端' or 'vip' in member.tags",
    "3 <= member.active_days_30d < 8",
    "member.name ~ '!' == '小王!'",
    "member.points * 2 + 1 > 10 if member.points else false",
    "member.attributes.level > 2",
    "member.attributes.city == none",
    "member.tags | length >= 2",
    "member.joined_at is none",
    "(member.messages // 3) % 2 == 1",
    "event.text and '广告' in event.text",
    "trigger.rank <= 3",
    "group.members > 5 and group.id in ['g1', 'g2']",
]


def _shipped_conditions() -> list[str]:
    config = load_config([ROOT / "playbooks"], load_registry(entrypoints=False))
    sources = [condition.source for rule in config.rules for condition in rule.conditions]
    sources += [stage.source for stage in config.community.lifecycle]
    return sorted(set(sources))


CONDITIONS = _shipped_conditions() + EXTRA
ENV = PlaybookEnvironment(load_registry(entrypoints=False).filters)


def test_every_shipped_condition_is_compiled_not_left_to_jinja():
    assert [source for source in _shipped_conditions() if compile_condition(ENV, source) is None] == []


members = st.builds(
    lambda messages, joined, silent, tags, attributes, points, left: _member(messages, joined, silent, tags, attributes, points, left),
    st.integers(0, 40),
    st.one_of(st.none(), st.integers(0, 60)),
    st.one_of(st.none(), st.integers(0, 60)),
    st.sets(st.sampled_from(["vip", "newbie", "活跃", "中度", "潜水", "不活跃", "warned"])),
    st.dictionaries(st.sampled_from(["role", "city", "gender", "level"]), st.sampled_from(["B端", "上海", "女", 1, 3, None])),
    st.integers(0, 30),
    st.booleans(),
)
NOW = datetime(2026, 3, 20, 12, tzinfo=TZ).timestamp()


def _member(messages, joined, silent, tags, attributes, points, left) -> Member:
    member = Member("m1", name="小王", messages=messages, tags=set(tags), attributes=dict(attributes), points=points, left=left, groups={"g1"})
    member.purchases = points % 3  # some bought, once or twice; most did not
    member.spent = member.purchases * 49.9
    member.joined_at = None if joined is None else NOW - joined * 86400
    member.last_message_at = None if silent is None else NOW - silent * 86400
    for day in range(min(messages, 30)):
        member.count_message(datetime.fromtimestamp(NOW, TZ).toordinal() - 29 + day)
    return member


@settings(max_examples=200, deadline=None)
@given(member=members, text=st.sampled_from([None, "", "加我微信看广告", "大家好"]), rank=st.integers(1, 5), group_members=st.integers(0, 9))
def test_compiled_conditions_agree_with_jinja(member, text, rank, group_members):
    context = {
        "member": MemberView(member, NOW, TZ),
        "event": {"text": text, "type": "message"},
        "trigger": {"rank": rank},
        "group": {"id": "g1", "members": group_members},
        "now": datetime.fromtimestamp(NOW, TZ),
        "community": {"name": "读书会"},
    }
    for source in CONDITIONS:
        condition = Condition(ENV, source)
        try:
            expected = condition.test_with_jinja(context)
        except Exception as exc:  # then the compiled path must fail the same way
            with pytest.raises(type(exc)):
                condition.test(context)
            continue
        assert condition.test(context) == expected, source


@pytest.mark.parametrize("source", ["member.__class__", "member._member", "member.attributes.__class__.__mro__"])
def test_internal_attributes_stay_unreachable_in_compiled_conditions(source):
    """As in Jinja2's sandbox, an unsafe attribute is an undefined value: it reveals nothing."""
    member = MemberView(Member("m1", attributes={"role": "x"}), NOW, TZ)
    condition = Condition(ENV, source)
    assert condition._fast is not None
    assert condition.test({"member": member}) is False
    assert str(condition._fast({"member": member})) == ""


@pytest.mark.parametrize("source", ["member.tags.append('x')", "member.attributes.update({'a': 1})", "member.attributes.__class__()"])
def test_unsafe_calls_are_refused_in_compiled_conditions(source):
    member = MemberView(Member("m1", attributes={"role": "x"}), NOW, TZ)
    with pytest.raises(SecurityError):
        Condition(ENV, source).test({"member": member})


def test_compiled_texts_render_exactly_as_jinja_on_the_example_history(monkeypatch):
    # Every text a real run renders is rendered both ways, in the very context of the run.
    from playbook_engine.expressions import Text
    from playbook_engine.runner import read_source, run

    registry = load_registry(entrypoints=False)
    config = load_config([ROOT / "playbooks"], registry)
    compared: set[str] = set()
    fast_render = Text.render

    def both(self, context):
        text = fast_render(self, context)
        assert text == self.render_with_jinja(context), self.source
        if self._fast is not None:
            compared.add(self.source)
        return text

    monkeypatch.setattr(Text, "render", both)
    result = run(config, read_source(registry, "jsonl", str(ROOT / "examples" / "events.jsonl")))
    assert result.tasks
    texts = [text for rule in config.rules for action in rule.actions for text in _written(action.text)]
    compiled = {text.source for text in texts if text._fast is not None}
    assert len(compiled) >= 30
    assert len(compared) >= 15, f"only {len(compared)} compiled texts were rendered by the example history"


def _written(text):
    """Each way a text is written: one, or the variants of ``dm: [..., ...]``."""
    return [] if text is None else text.texts if isinstance(text, Variants) else [text]


@pytest.mark.parametrize(("source", "compiles"), [
    ("{{ member.name }}，你好", True),
    ("{% if member.messages > 3 %}老朋友{% elif member.messages %}新朋友{% else %}潜水员{% endif %} {{ member | mention }}", True),
    ("{{ missing }}|{{ none }}|{{ member.attributes.city }}|{{ [1, 2] }}|{{ 1.5 }}", True),
    ("{{ member.last_message_at | ago }} {{ member.joined_at | date('%m-%d') }}", True),
    ("  {{ member.tags | length }}  ", True),
    ("{{ member.tags | join('、') }}", False),  # an eval-context filter: Jinja2 renders it
    ("{% for tag in member.tags %}{{ tag }}{% endfor %}", False),
])
def test_compiled_texts_agree_with_jinja_on_edge_cases(source, compiles):
    from playbook_engine.compiler import compile_template
    from playbook_engine.expressions import Text

    env = load_config([ROOT / "playbooks"], load_registry(entrypoints=False)).env
    assert (compile_template(env, source) is not None) == compiles
    member = Member("m1", name="小王", messages=5, tags={"vip", "读书"}, last_message_at=NOW - 7200, joined_at=NOW - 86400 * 3)
    context = {"member": MemberView(member, NOW, TZ), "now": datetime.fromtimestamp(NOW, TZ), "_channel": None}
    text = Text(env, source)
    assert text.render(context) == text.render_with_jinja(context)


# -- member predicates (engine/predicates.py) ---------------------------------------------------

PREDICATE_EXTRA = [
    "member.messages_7d >= 2", "member.messages_30d >= 3.5", "member.days_since_join < 7", "not member.left",
    "member.stage == 'newbie' or 'vip' in member.tags", "'-' not in member.name and '－' not in member.name",
    "member.attributes.get('gender') == '女'", "member.attributes.get('level', 0) > 2", "member.attributes.get('city') in ['上海', '杭州']",
    "member.days_silent > member.days_since_join", "1 < member.points <= 20 == member.points", "member.messages - member.replies * 2 >= 0",
    "member.points / member.messages > 0.5", "member.joined_at < member.last_message_at", "'g1' in member.groups", "member.tags == ['vip']",
    "['vip'] in member.tags", "member.stage_since", "member.name == community.name", "(member.questions if member.messages else -1) >= 0",
    "member.days_silent is none", "member.purchases == 0", "member.purchases >= 1 and member.spent > 60",
]
# Outside the translated part (a test, a filter, a key read as an attribute): the closures answer.
UNTRANSLATED = {"member.days_silent is none", "member.name ~ '!' == '小王!'", "member.joined_at is none", "member.tags | length >= 2", "member.attributes.level > 2", "member.attributes.city == none"}


def _member_only(source: str) -> bool:
    from playbook_engine.dependencies import names_read

    return names_read(ENV, [source]) <= {"member", "community"}


PREDICATE_CONDITIONS = [source for source in sorted(set(CONDITIONS + PREDICATE_EXTRA)) if _member_only(source)]


def test_shipped_member_conditions_are_translated():
    from playbook_engine.predicates import compile_member_predicate

    shipped = [source for source in _shipped_conditions() if _member_only(source)]
    assert len(shipped) >= 15
    assert [source for source in shipped if compile_member_predicate(ENV, [source], TZ, {"name": "读书会"}) is None] == []


@settings(max_examples=300, deadline=None)
@given(member=members, stage=st.sampled_from([None, "newbie", "growth"]), name=st.sampled_from([None, "小王", "杭州-小王", "读书会"]), offset=st.integers(-3 * 86400, 3 * 86400))
def test_member_predicates_agree_with_the_closures(member, stage, name, offset):
    """Every member-only condition answers the same (or fails the same way) as a function of
    the Member as through the closures over a MemberView, alone and all together."""
    from playbook_engine.predicates import compile_member_predicate

    member.stage, member.name = stage, name
    member.stage_since = None if stage is None else NOW - 3600
    now = NOW + offset
    context = {"member": MemberView(member, now, TZ), "community": {"name": "读书会", "timezone": "Asia/Shanghai", "channel": "wechat"}}
    answers = {}
    for source in PREDICATE_CONDITIONS:
        predicate = compile_member_predicate(ENV, [source], TZ, context["community"])
        if predicate is None:
            assert source in UNTRANSLATED
            continue
        assert source not in UNTRANSLATED
        try:
            expected = Condition(ENV, source).test(context)
        except Exception as exc:  # the predicate must fail too: the engine then asks the closures
            with pytest.raises(type(exc)):
                predicate(member, now)
            continue
        answers[source] = expected
        assert predicate(member, now) is expected, source
    together = list(answers)
    assert compile_member_predicate(ENV, together, TZ, context["community"])(member, now) is all(answers[source] for source in together)


def test_member_predicates_run_without_builtins():
    from playbook_engine.predicates import compile_member_predicate

    predicate = compile_member_predicate(ENV, ["member.messages > 1"], TZ, {})
    assert predicate.__globals__["__builtins__"] == {}
    assert compile_member_predicate(ENV, ["member.__class__ == 1"], TZ, {}) is None
    assert compile_member_predicate(ENV, ["member.name.upper() == 'A'"], TZ, {}) is None


@settings(max_examples=200, deadline=None)
@given(member=members, stage=st.sampled_from([None, "newbie", "growth"]), offset=st.integers(-3 * 86400, 3 * 86400))
def test_a_becomes_reason_shows_the_same_values_read_as_a_tuple_as_through_a_member_view(member, stage, offset):
    """A `becomes` firing's values (its reason's "member.messages = 3 …") are taken from the
    field values its check just read, not asked of a member view again: the same values."""
    from playbook_engine.contract import SCALAR_MEMBER_FIELDS
    from playbook_engine.dependencies import member_fields_read
    from playbook_engine.explain import field_values, values_reader
    from playbook_engine.predicates import compile_member_values

    member.stage = stage
    member.stage_since = None if stage is None else NOW - 3600
    now = NOW + offset
    community = {"name": "读书会", "timezone": "Asia/Shanghai", "channel": "wechat"}
    for source in PREDICATE_CONDITIONS:
        fields = member_fields_read(ENV, [source])
        if fields is None or not fields <= SCALAR_MEMBER_FIELDS:
            continue
        order = tuple(sorted(fields | {"messages"}))
        read = values_reader(source, order)
        assert read is not None, source
        expected = field_values(source, {"member": MemberView(member, now, TZ), "community": community})
        assert read(compile_member_values(order, TZ)(member, now), community) == expected, source
        assert list(read(compile_member_values(order, TZ)(member, now), community)) == list(expected)  # in the same order


def test_a_view_of_a_moment_before_the_members_last_message_counts_no_negative_days():
    """Fuzzing (review 21, c6464031): a text written with the values of its due time (08:00) from a
    copy of the member taken after she wrote at 08:00:30 said "沉默了 -1 天". A view of a moment
    before her last message or her join says 0."""
    member = Member("m1", joined_at=NOW + 30, last_message_at=NOW + 30)
    view = MemberView(member, NOW, TZ)
    assert (view.days_silent, view.days_since_join) == (0, 0)
    assert MemberView(member, NOW + 2 * 86400 + 60, TZ).days_silent == 2
