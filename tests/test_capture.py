"""Reading a self-introduction into member attributes: the `set` action and the `capture` filter.
Nothing is guessed: a text that renders to nothing writes nothing, and a value held is kept."""

from __future__ import annotations

import pytest

from playbook_engine.errors import InvalidPlaybooks
from playbook_plugins.filters import capture
from tests.conftest import config_from, plan

START = 1772326800.0  # 2026-03-01T09:00:00+08:00

SET = """\
playbook: p
rules:
  - id: r
    when: {event: message}
    do:
      - set: {attribute: city, text: "{{ event.text | capture('坐标(北京|上海)') }}"}
      - set: {attribute: book, text: "{{ event.text | capture('《([^》]+)》') }}"}
"""


def message(t: float, text: str, member: str = "m1") -> dict:
    return {"ts": t, "type": "message", "group": "g1", "member": member, "text": text}


@pytest.mark.parametrize(("text", "pattern", "found"), [
    ("坐标上海，在读《活着》", "《([^》]+)》", "活着"),
    ("坐标上海", "坐标(?:北京|上海)", "坐标上海"),  # no group: the whole match
    ("魔都打工人", "坐标(北京|上海)", ""),
    (None, "x", ""),
], ids=["group", "whole-match", "no-match", "none"])
def test_capture_reads_the_first_group_of_the_first_match_or_nothing(text, pattern, found):
    assert capture(text, pattern) == found


def test_set_writes_what_it_reads_and_nothing_when_it_reads_nothing():
    config = config_from({"p.yaml": SET})
    result = plan(config, [message(START, "大家好，坐标上海"), message(START + 60, "在读《活着》，坐标北京", "m2"), message(START + 120, "魔都打工人", "m3")])
    members = result.evaluation.members
    assert members["m1"].attributes == {"city": "上海"}
    assert members["m2"].attributes == {"city": "北京", "book": "活着"}
    assert members["m3"].attributes == {}
    assert result.tasks == []


def test_explain_shows_the_value_set_wrote_not_its_template():
    """`--explain` says what happened to the member: 记录属性 city = 上海, not the Jinja source."""
    from playbook_engine.output import render_explanation

    config = config_from({"p.yaml": SET})
    result = plan(config, [message(START, "大家好，坐标上海，在读《活着》")], explain=True)
    shown = render_explanation(result, config.community.tz, "m1")
    assert "set city = 上海" in shown and "set book = 活着" in shown
    assert "capture" not in shown


def test_set_keeps_a_value_the_member_already_has():
    config = config_from({"p.yaml": SET})
    events = [{"ts": START, "type": "profile", "member": "m1", "attributes": {"city": "苏州"}}, message(START + 60, "坐标上海"), message(START + 120, "坐标北京，《活着》")]
    assert plan(config, events).evaluation.members["m1"].attributes == {"city": "苏州", "book": "活着"}


def test_a_set_whose_text_fails_writes_nothing_and_the_run_goes_on():
    config = config_from({"p.yaml": SET.replace("坐标(北京|上海)", "坐标(?=上海)")})  # lookahead: RE2 refuses it when the text is written
    result = plan(config, [message(START, "坐标上海，《活着》")])
    assert result.evaluation.members["m1"].attributes == {"book": "活着"}


def test_set_is_checked_like_any_text():
    with pytest.raises(InvalidPlaybooks) as raised:
        config_from({"p.yaml": SET.replace("event.text | capture", "event.txt | capture", 1)})
    assert "rules[0].do[0].set.text: unknown `event.txt`" in str(raised.value)
    with pytest.raises(InvalidPlaybooks) as raised:
        config_from({"p.yaml": SET.replace("attribute: city", "attribute: home.city")})
    assert "rules[0].do[0].set.attribute:" in str(raised.value)
