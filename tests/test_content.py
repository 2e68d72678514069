"""Texts written several ways (`dm: [..., ...]`, used in turn) and content.yaml (values an
operator edits once a week, read as `content.NAME`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_engine.errors import InvalidPlaybooks
from playbook_engine.runner import run
from playbook_engine.state import StateStore
from tests.conftest import COMMUNITY, config_from, plan, records
from tests.test_clock_properties import START

DAY = 86400

DAILY = """\
playbook: daily
rules:
  - id: hi
    when: {event: message}
    cooldown: 1d
    do:
      - dm: ["早，{{ member.name }}", "嗨，{{ member.name }}", "你好，{{ member.name }}"]
  - id: notice
    when: {schedule: "0 9 * * *"}
    do:
      - post: ["公告一", "公告二"]
"""


def _messages(days: int, members: list[str]) -> list[dict]:
    return [{"type": "message", "ts": START + day * DAY + index * 60 + 3600, "member": member, "group": "g1", "text": "在"} for day in range(days) for index, member in enumerate(members)]


def _texts(result, who: str) -> list[str]:
    return [task.text for task in sorted(result.tasks, key=lambda task: task.due) if (task.member or task.group) == who]


def test_each_target_gets_the_variants_in_turn_never_the_same_twice_in_a_row():
    config = config_from({"daily.yaml": DAILY})
    result = plan(config, _messages(7, ["m1", "m2"]))
    for member, name in (("m1", "m1"), ("m2", "m2")):
        texts = _texts(result, member)
        assert len(texts) == 7
        assert all(a != b for a, b in zip(texts, texts[1:], strict=False))
        assert {text.split("，")[0] for text in texts} == {"早", "嗨", "你好"}
        assert all(text.endswith(name) for text in texts)
    posts = [task.text for task in sorted(result.tasks, key=lambda task: task.due) if task.action == "post"]
    assert len(posts) >= 5 and all(a != b for a, b in zip(posts, posts[1:], strict=False))
    # The same input, the same words.
    assert [task.text for task in plan(config, _messages(7, ["m1", "m2"])).tasks] == [task.text for task in result.tasks]


@settings(max_examples=15, deadline=None)
@given(days=st.integers(2, 6), cut=st.integers(1, 5))
def test_daily_state_runs_use_the_variants_one_run_uses(days, cut):
    config = config_from({"daily.yaml": DAILY})
    events = _messages(days, ["m1", "m2", "m3"])
    pieces = [events[: cut * 3], events[cut * 3 :]] if cut < days else [events]
    texts = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, parts in (("one", [events]), ("many", pieces)):
            path = str(Path(directory) / f"{name}.db")
            found = {}
            for part in parts:
                store = StateStore.open(path)
                result = run(config, records(part), state=store)
                result.save_state()
                store.close()
                found.update((task.id, task.text) for task in result.tasks)
            texts[name] = found
    assert texts["many"] == texts["one"]


def test_a_task_marked_before_the_next_run_still_took_its_texts_turn():
    """A task of the day a night's history left open, marked done (or delivered) before the next
    night, is not written again: the next text rotates on from its words all the same, as in
    one run — not the same post twice in a row."""
    from playbook_engine.tasks import mark

    config = config_from({"daily.yaml": DAILY})
    events = _messages(5, ["m1"])
    nights = [[event for event in events if START + day * DAY <= event["ts"] < START + (day + 1) * DAY] for day in range(5)]
    found = {}
    with tempfile.TemporaryDirectory() as directory:
        path = str(Path(directory) / "ops.db")
        for day, night in enumerate(nights):
            store = StateStore.open(path)
            result = run(config, records(night), state=store)
            result.save_state()
            found.update((task.id, task.text) for task in result.tasks)
            mark(store, [task.id for task in result.tasks], "done", None, START + (day + 1) * DAY)
            store.close()
    one = {task.id: task.text for task in plan(config, events).tasks}
    assert found == one
    posts = [text for _, text in sorted((task.due, task.text) for task in plan(config, events).tasks if task.action == "post")]
    assert all(a != b for a, b in zip(posts, posts[1:], strict=False))


CARE = """\
playbook: care
rules:
  - id: invite
    when: {event: member_joined}
    do:
      - dm: "{{ member.name }}，本周共读《{{ content.本周书目 }}》，{{ content.下次活动.时间 }} 见"
"""


def _with_content(directory: Path, text: str) -> None:
    (directory / "content.yaml").write_text(text, encoding="utf-8")


def test_texts_read_content_yaml_and_it_is_not_a_playbook(tmp_path):
    _with_content(tmp_path, "# 每周改一次\ncontent:\n  本周书目: 活着\n  下次活动: {时间: 周六 20:00, 地点: 腾讯会议}\n")
    config = config_from({"care.yaml": CARE}, directory=tmp_path)
    assert [playbook.id for playbook in config.playbooks] == ["care"]
    result = plan(config, [{"type": "member_joined", "ts": START, "member": "m1", "name": "小王", "group": "g1"}])
    assert [task.text for task in result.tasks] == ["小王，本周共读《活着》，周六 20:00 见"]


def test_a_name_content_yaml_lacks_is_said_where_it_is_used(tmp_path):
    _with_content(tmp_path, "content:\n  本周书目: 活着\n")
    with pytest.raises(InvalidPlaybooks) as raised:
        config_from({"care.yaml": CARE}, directory=tmp_path)
    assert "care.yaml:6:13: rules[0].do[0].dm.text: unknown `content.下次活动` — add `下次活动: …` under `content:` in content.yaml (beside community.yaml); it has: 本周书目" in str(raised.value)


@pytest.mark.parametrize(("text", "message"), [
    ("本周书目: 活着\n", "content.yaml:1:1: content.yaml holds one mapping, `content:`"),
    ("content:\n  1号: x\n", "content.yaml:2:3: content.1号: `1号` cannot be read as content.1号"),
    ("content:\n  本周书目:\n", "content.yaml:2:3: content.本周书目: `本周书目` has no value"),
])
def test_content_yaml_problems_name_the_place(tmp_path, text, message):
    _with_content(tmp_path, text)
    with pytest.raises(InvalidPlaybooks) as raised:
        config_from({"care.yaml": CARE.replace("{{ content.本周书目 }}", "x").replace("{{ content.下次活动.时间 }}", "y")}, directory=tmp_path)
    assert message in str(raised.value)


def test_every_variant_is_checked(tmp_path):
    bad = DAILY.replace('"嗨，{{ member.name }}"', '"嗨，{{ member.nmae }}"').replace('["公告一", "公告二"]', '["公告一", "' + "长" * 3000 + '"]')
    with pytest.raises(InvalidPlaybooks) as raised:
        config_from({"daily.yaml": bad}, COMMUNITY, directory=tmp_path)
    found = str(raised.value)
    assert "daily.yaml:7:37: rules[0].do[0].dm[1]: unknown `member.nmae` — did you mean `member.name`?" in found
    assert "text is at least 3000 characters" in found


LINKS = """\
playbook: links
rules:
  - id: spam
    when: {event: message, regex: "https?://|www\\\\.|\\\\.(com|cn)"}
    if: event.text | links(content.链接白名单) | length >= 1
    do:
      - notify: "{{ event.text | links(content.链接白名单) | join(' ') }}"
"""


@pytest.mark.parametrize(("text", "found"), [
    ("分享一篇 https://mp.weixin.qq.com/s/AbC 好文", None),
    ("豆瓣小组 https://www.douban.com/group/1/ 和 book.douban.com/subject/2", None),
    ("看这个 https://example.com/post，讲得挺好", "https://example.com/post"),
    ("加V领 https://t.cn/A6x 还有 www.shop.example.cn/a", "https://t.cn/A6x www.shop.example.cn/a"),
    ("https://douban.com.evil.cn/x 不是豆瓣", "https://douban.com.evil.cn/x"),
    ("邮箱 reader@qq.com 不是链接", None),
], ids=["allowed", "subdomain", "other-site", "two-links", "lookalike", "e-mail"])
def test_links_leaves_out_the_allowed_sites_and_their_subdomains(tmp_path, text, found):
    _with_content(tmp_path, "content:\n  链接白名单: [mp.weixin.qq.com, douban.com]\n")
    config = config_from({"links.yaml": LINKS}, directory=tmp_path)
    result = plan(config, [{"type": "message", "ts": START, "member": "m1", "group": "g1", "text": text}])
    assert [task.text for task in result.tasks] == ([] if found is None else [found])
