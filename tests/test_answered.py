"""Answered means answered: `community.question.answered_by` and `answer_window`, read from
community.yaml and honoured by the `unanswered` trigger."""

from __future__ import annotations

import pytest

from playbook_engine.errors import InvalidPlaybooks
from tests.conftest import COMMUNITY


def question_settings(text: str) -> str:
    return COMMUNITY + "  question:\n" + "".join(f"    {line}\n" for line in text.splitlines())


def test_by_default_a_reply_a_mention_and_the_next_message_within_10m_answer(make_config):
    community = make_config({}).community
    assert (community.question_answered_by, community.question_answer_window) == (frozenset({"reply", "mention", "next_message"}), 600)


def test_answered_by_and_answer_window_are_read_from_community_yaml(make_config):
    community = make_config({}, question_settings("answered_by: [reply]\nanswer_window: 1h30m")).community
    assert (community.question_answered_by, community.question_answer_window) == (frozenset({"reply"}), 5400)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param("answered_by: [reply, mentions]", r"community.yaml:8:\d+: community.question.answered_by\[1\]: `mentions` is not a valid value for `answered_by` — did you mean `mention`\?", id="unknown-word"),
        pytest.param("answered_by: []", r"community.yaml:8:\d+: community.question.answered_by: `answered_by` is empty", id="empty"),
        pytest.param("answer_window: 十分钟", r"community.yaml:8:\d+: community.question.answer_window: `十分钟` is not a duration", id="not-a-duration"),
        pytest.param("answer_window: 0m", r"community.yaml:8:\d+: community.question.answer_window: `0m` is zero", id="zero"),
    ],
)
def test_a_bad_answer_setting_is_reported_at_its_place(make_config, settings, expected):
    with pytest.raises(InvalidPlaybooks, match=expected):
        make_config({}, question_settings(settings))
