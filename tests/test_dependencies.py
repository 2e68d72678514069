"""What conditions and templates read: the analysis the engine uses to skip checks."""

from __future__ import annotations

import pytest
from jinja2 import pass_context

from playbook_engine import hookimpl
from playbook_engine.contract import reads_context
from playbook_engine.dependencies import identity_only, member_fields_read, names_read, steady
from playbook_engine.loading import load_config
from playbook_engine.plugins import Registry, get_plugin_manager, load_registry
from tests.conftest import ROOT, config_from, plan


@pytest.fixture(scope="module")
def env():
    return load_config([ROOT / "playbooks"], load_registry(entrypoints=False)).env


@pytest.mark.parametrize(("source", "fields"), [
    ("member.active_days_30d < 8", {"active_days_30d"}),
    ("3 <= member.active_days_30d < 8 and member.messages > 2", {"active_days_30d", "messages"}),
    ("'vip' in member.tags", {"tags"}),
    ("member.attributes.city == '杭州'", {"attributes"}),
    ("member.messages | int > 3", {"messages"}),
    ("community.name == '读书会' and member.stage == 'growth'", {"stage"}),
    ("'douban.com' in content.链接白名单 and member.messages > 0", {"messages"}),  # content.yaml: fixed for the run
    ("member.attributes.get('gender') == '女'", {"attributes"}),  # a lookup in the member's data, as member.attributes.city is
    ("true", set()),
    # Their truth can change with nothing about the member changing:
    ("now.hour > 20", None),
    ("member | mention", None),  # a filter that sees the whole context
    ("member.last_message_at | ago", None),
    ("event.text", None),
    ("range(3) | length > member.messages", None),  # a call
    ("member.attributes.get(member.name) == 1", None),  # a lookup by a key that is not a constant
    ("member.attributes.items() | length > 0", None),  # any call but .get
])
def test_member_fields_read(env, source, fields):
    expected = None if fields is None else frozenset(fields)
    assert member_fields_read(env, [source]) == expected


def test_a_text_reading_content_yaml_is_fixed_once_its_member_is(env):
    """content.yaml's values are the same for the whole run (operators edit them between runs):
    a text reading them and the member's name is written the same at any due time, and its
    task needs no check again unless its member changes (silent-member-care's nudge)."""
    text = "{{ member | mention }} 这周大家在读{{ content.本周书目 }}，正聊到「{{ content.本周话题 }}」"
    assert identity_only(env, [text]) and steady(env, ["member.messages > 0"], [text])
    assert not steady(env, [], ["{{ content.本周书目 }} {{ now.hour }}"])  # `now` still moves
    assert not identity_only(env, ["{{ content.本周书目 }} {{ member.messages }}"])


def test_a_text_looking_a_key_up_in_its_event_is_written_the_same_at_any_due_time(env):
    """activity-feedback's survey thanks the member for `event.raw.get('title')`: the event that
    fired it does not change, so the text is fixed once its member is."""
    text = "{{ member.name }}，谢谢你来参加{{ event.raw.get('title') or '这次活动' }}！"
    assert identity_only(env, [text]) and steady(env, ["'asked-absent' not in member.tags"], [text])
    assert not steady(env, [], ["{{ event.raw.get(now.hour) }}"])


def test_names_read_in_conditions_and_templates(env):
    assert names_read(env, ["member.messages > 3 and now.hour < 8"]) == {"member", "now"}
    text = "{{ member | mention }} {% if event.text %}{{ event.text }}{% endif %} {{ member.last_message_at | ago }}"
    # mention reads _channel and ago reads now from the context, though the text names neither.
    assert names_read(env, [text], templates=True) == {"member", "event", "_channel", "now"}


def test_an_unknown_context_filter_counts_as_reading_everything(env):
    from jinja2 import pass_context

    @pass_context
    def peek(context, value):
        return context.get("event")

    env.filters["peek"] = peek
    try:
        assert "*" in names_read(env, ["{{ member.name | peek }}"], templates=True)
        assert member_fields_read(env, ["member.name | peek"]) is None
    finally:
        del env.filters["peek"]


class _SincePlugin:
    """A third-party context filter that declares what it reads, as the built-in `ago` does."""

    @hookimpl
    def register_filters(self, register):
        @reads_context("now")
        @pass_context
        def weeks_since(context, moment):
            return int((context.get("now") - moment).days // 7)

        register("weeks_since", weeks_since)


def test_a_third_party_context_filter_declares_what_it_reads(tmp_path):
    pm = get_plugin_manager(entrypoints=False)
    pm.register(_SincePlugin(), name="since")
    registry = Registry.collect(pm)
    body = 'playbook: p\nrules:\n  - id: r\n    when: {event: message}\n    do:\n      - dm: "入群 {{ member.joined_at | weeks_since }} 周"\n'
    config = config_from({"p.yaml": body}, directory=tmp_path / "pb", registry=registry)
    assert names_read(config.env, ["{{ member.joined_at | weeks_since }}"], templates=True) == {"member", "now"}
    events = [
        {"ts": "2026-03-01T09:00:00+08:00", "type": "member_joined", "group": "g1", "member": "m1"},
        {"ts": "2026-03-16T09:00:00+08:00", "type": "message", "group": "g1", "member": "m1", "text": "hi"},
    ]
    assert [task.text for task in plan(config, events).tasks] == ["入群 2 周"]
