"""A web address copied from an example and never replaced (``your-form-id``, example.com)
sends a dead link in every task that carries it: `playbook validate` says where it is written.
And the activity's name, not its id, is what a text can show (``trigger.activity_title``)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from playbook_engine.cli import cli
from playbook_engine.loading import _is_placeholder
from playbook_engine.plugins import load_registry
from tests.conftest import config_from, plan
from tests.test_clock_properties import START

COMMUNITY = "community:\n  name: t\n  timezone: Asia/Shanghai\n  groups: [{id: g1, name: 一群}]\n"
SURVEY = """playbook: feedback
rules:
  - id: survey
    when: {{activity_ended: {{participated: true}}}}
    do:
      - survey:
          form: {form}
          text: "{{{{ member.name }}}}，谢谢你来参加{{{{ trigger.activity_title or '这次活动' }}}}！"
"""


def _validate(tmp_path, form: str, content: str | None = None) -> tuple[int, str]:
    (tmp_path / "community.yaml").write_text(COMMUNITY, encoding="utf-8")
    (tmp_path / "feedback.yaml").write_text(SURVEY.format(form=form), encoding="utf-8")
    if content is not None:
        (tmp_path / "content.yaml").write_text(content, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)], obj={"registry": load_registry(entrypoints=False)})
    return result.exit_code, result.stderr


def test_validate_names_where_a_placeholder_address_is_written(tmp_path):
    code, stderr = _validate(tmp_path, "https://wj.qq.com/s2/your-form-id")
    assert code == 0  # a warning: the playbooks load and run
    assert stderr.startswith(f"warning: {tmp_path / 'feedback.yaml'}:7:17: `https://wj.qq.com/s2/your-form-id` looks like an example address left in place")


def test_validate_says_nothing_of_a_real_address(tmp_path):
    assert _validate(tmp_path, "https://wj.qq.com/s2/14020391/f3a1") == (0, "")


def test_a_placeholder_in_content_yaml_is_named_there(tmp_path):
    code, stderr = _validate(tmp_path, "https://wj.qq.com/s2/14020391/f3a1", "content:\n  报名链接: https://www.example.com/signup\n")
    assert stderr.startswith(f"warning: {tmp_path / 'content.yaml'}:2:9: `https://www.example.com/signup`")


@pytest.mark.parametrize("link, placeholder", [
    ("https://wj.qq.com/s2/your-form-id", True),
    ("https://example.com/form", True),
    ("https://shop.example.org/x", True),
    ("http://club.example/join", True),
    ("https://forms.test/a", True),
    ("https://mp.weixin.qq.com/s/xxxx", True),
    ("https://docs.qq.com/form/page/DZUZ", False),
    ("https://book.douban.com/subject/35546622/", False),
    ("https://examples.com.cn/a", False),  # a real domain that only starts like one
])
def test_what_counts_as_a_placeholder(link, placeholder):
    assert _is_placeholder(link) is placeholder


def test_a_text_shows_the_activity_by_its_name_and_never_by_its_id():
    config = config_from({"feedback.yaml": SURVEY.format(form="https://wj.qq.com/s2/14020391/f3a1")}, COMMUNITY)
    events = [{"type": "message", "ts": START, "member": "m1", "group": "g1", "text": "来了"}]
    for day, (activity, name) in enumerate((("a1", {"text": "第3期线上共读"}), ("a2", {"title": "三月线下读书会"}), ("a3", {}))):
        events += [
            {"type": "activity_started", "ts": START + 86400 * day + 3600, "group": "g1", "activity": activity, "participants": ["m1"], **name},
            {"type": "activity_ended", "ts": START + 86400 * day + 7200, "group": "g1", "activity": activity},
        ]
    texts = sorted(task.text for task in plan(config, events).tasks)
    assert texts == ["m1，谢谢你来参加三月线下读书会！", "m1，谢谢你来参加第3期线上共读！", "m1，谢谢你来参加这次活动！"]
