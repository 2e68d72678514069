"""One way to report a condition error, for `if:`, `becomes:` and lifecycle stages alike:
at validate time where it can be known, otherwise as a recorded skip (--explain, summary)."""

from __future__ import annotations

import pytest
from playbook_engine.errors import InvalidPlaybooks

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
