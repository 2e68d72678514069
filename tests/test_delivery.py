"""`playbook deliver`: each operator's day posted to a real HTTP server on 127.0.0.1, standing in
for the robot of each platform — exact bodies, signatures, retries, splits, a second delivery
that sends nothing, a failed one that sends the rest — and no address or secret ever shown."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import sqlite3
import textwrap
import urllib.parse
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug import Response

from playbook_engine import hookimpl
from playbook_engine.cli import cli, main
from playbook_engine.contract import DeliveryItem, InboxType, Verdict
from playbook_engine.delivery import Transport, encode
from playbook_engine.plugins import Registry, get_plugin_manager, load_registry
from playbook_plugins.inboxes import about, plain_item
from tests.conftest import write_jsonl

KEY = "SECRETKEY-6f0c1a9d"  # in every robot address: it must never be shown
SIGNING = "SECsigning-77ab41"  # a signing secret
NOW = 1772420400.0  # 2026-03-02 11:00 +08:00: when the tests' clock says the messages go out

PLAYBOOK = """\
playbook: thanks
rules:
  - id: thank
    when: {event: message}
    do:
      - dm: "{{ member.name }}，谢谢你的分享！{{ event.text }}"
"""


def community(inboxes: dict[str, str], language: str = "zh-CN") -> str:
    """Two operators, op-a for 一群 and op-b for 二群, each with the inbox given (YAML flow text)."""
    lines = []
    for operator, name, group in (("op-a", "阿兰", "g1"), ("op-b", "Bob", "g2")):
        inbox = f", inbox: {inboxes[operator]}" if operator in inboxes else ""
        lines.append(f"    - {{id: {operator}, name: {name}, groups: [{group}]{inbox}}}")
    return textwrap.dedent(f"""\
        community:
          name: 读书会
          timezone: Asia/Shanghai
          language: {language}
          channel: wechat
          merge: []
          groups:
            - {{id: g1, name: 一群}}
            - {{id: g2, name: 二群}}
          operators:
        """) + "\n".join(lines) + "\n"


@dataclass
class Clock:
    """The transport's clock and sleep: sleeping moves the clock, and is remembered."""

    now: float = NOW
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds

    def time(self) -> float:
        return self.now

    def transport(self) -> Transport:
        return Transport(sleep=self.sleep, clock=self.time)


@dataclass
class Setup:
    directory: Path
    state: Path
    records: list[dict[str, Any]]
    registry: Registry
    clock: Clock = field(default_factory=Clock)

    def deliver(self, *args: str, env: dict[str, str] | None = None) -> Any:
        result = CliRunner().invoke(cli, ["deliver", str(self.directory), "--state", str(self.state), *args], obj={"registry": self.registry, "transport": self.clock.transport()}, env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result

    def of(self, operator: str) -> list[dict[str, Any]]:
        return [record for record in self.records if record["assignee"] == operator]

    def deliveries(self) -> list[tuple]:
        return sqlite3.connect(self.state).execute("SELECT operator, date, part, inbox, tasks FROM deliveries ORDER BY operator, part").fetchall()


def make_setup(tmp_path: Path, inboxes: dict[str, str], messages: dict[str, int], *, text: str = "好书", language: str = "zh-CN", registry: Registry | None = None, name: str = "书友{number}") -> Setup:
    """A --state run over ``messages[group]`` messages in each group on 2026-03-02 (one member
    each, from 10:00 a minute apart): one DM task each, due at once, for the group's operator."""
    registry = registry or load_registry(entrypoints=False)
    directory = tmp_path / "pb"
    directory.mkdir()
    (directory / "community.yaml").write_text(community(inboxes, language), encoding="utf-8")
    (directory / "thanks.yaml").write_text(PLAYBOOK, encoding="utf-8")
    events = []
    for group, count in messages.items():
        for number in range(count):
            events.append({"ts": f"2026-03-02T10:{number:02d}:00+08:00", "type": "message", "group": group, "member": f"{group}-m{number}", "name": name.format(number=number), "text": text})
    events.sort(key=lambda event: event["ts"])
    state = tmp_path / "ops.db"
    result = CliRunner().invoke(cli, ["run", str(directory), "--events", str(write_jsonl(tmp_path / "events.jsonl", events)), "--state", str(state), "--format", "jsonl"], obj={"registry": registry})
    assert result.exit_code == 0, result.output
    return Setup(directory, state, [json.loads(line) for line in result.stdout.splitlines()], registry)


def ok_json(server: Any, path: str, answer: dict[str, Any]) -> None:
    server.expect_request(path, method="POST").respond_with_json(answer)


def bodies(server: Any) -> list[dict[str, Any]]:
    return [json.loads(request.get_data()) for request, _ in server.log]


def env_for(server: Any, **paths: str) -> dict[str, str]:
    return {name: server.url_for(path) for name, path in paths.items()}


# -- 企业微信 ----------------------------------------------------------------------------------------


def test_wecom_gets_one_markdown_message_per_operator_with_the_day_in_chinese(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}", "op-b": "{type: wecom, url: 'env:WECOM_B'}"}, {"g1": 2, "g2": 1})
    ok_json(server, "/a/send", {"errcode": 0, "errmsg": "ok"})
    ok_json(server, "/b/send", {"errcode": 0, "errmsg": "ok"})
    env = env_for(server, WECOM_A=f"/a/send?key={KEY}", WECOM_B=f"/b/send?key={KEY}")
    result = setup.deliver("--date", "2026-03-02", env=env)
    assert result.exit_code == 0, result.output
    first, second = setup.of("op-a")
    expected_a = {
        "msgtype": "markdown",
        "markdown": {
            "content": "\n".join([
                "## 3月2日 待办 2 条",
                "阿兰 · 读书会",
                "",
                f"**10:00** 书友0（g1-m0） · 一群 · {first['id']}",
                "私信 书友0：书友0，谢谢你的分享！好书",
                '<font color="comment">原因：2026-03-02 10:00 发言</font>',
                "",
                f"**10:01** 书友1（g1-m1） · 一群 · {second['id']}",
                "私信 书友1：书友1，谢谢你的分享！好书",
                '<font color="comment">原因：2026-03-02 10:01 发言</font>',
            ])
        },
    }
    requests = {request.path: request for request, _ in server.log}
    assert requests["/a/send"].get_data() == encode(expected_a)  # compact UTF-8 JSON, byte for byte
    assert requests["/a/send"].args["key"] == KEY and requests["/a/send"].headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(requests["/b/send"].get_data())["markdown"]["content"].startswith("## 3月2日 待办 1 条\nBob · 读书会\n")
    assert "op-a（阿兰）：2 个任务已分 1 条消息推送到 wecom" in result.stderr
    assert [(operator, part, inbox, json.loads(tasks)) for operator, _, part, inbox, tasks in setup.deliveries()] == [("op-a", 1, "wecom", [first["id"], second["id"]]), ("op-b", 1, "wecom", [setup.of("op-b")[0]["id"]])]


def test_a_long_day_is_split_under_4096_bytes_every_task_once_in_order(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}"}, {"g1": 40}, text="这本书讲的是一个人如何在山里过完一生。" * 6)
    ok_json(server, "/a", {"errcode": 0, "errmsg": "ok"})
    result = setup.deliver("--date", "2026-03-02", env=env_for(server, WECOM_A="/a"))
    assert result.exit_code == 0, result.output
    contents = [body["markdown"]["content"] for body in bodies(server)]
    assert len(contents) >= 3 and all(len(content.encode("utf-8")) <= 4096 for content in contents)
    assert [content.splitlines()[0] for content in contents] == [f"## 3月2日 待办 40 条（{part}/{len(contents)}）" for part in range(1, len(contents) + 1)]
    shown = [record["id"] for content in contents for record in setup.of("op-a") if f" · {record['id']}\n" in content]
    assert shown == [record["id"] for record in setup.of("op-a")]  # each once, in due order
    # A robot takes 20 messages a minute: three seconds between two parts.
    assert setup.clock.slept == [3.0] * (len(contents) - 1)


def test_a_task_too_long_for_one_message_is_cut_short_not_dropped(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}"}, {"g1": 1}, text="长" * 3000)
    ok_json(server, "/a", {"errcode": 0, "errmsg": "ok"})
    assert setup.deliver("--date", "2026-03-02", env=env_for(server, WECOM_A="/a")).exit_code == 0
    (content,) = [body["markdown"]["content"] for body in bodies(server)]
    assert len(content.encode("utf-8")) <= 4096 and "长长长…" in content and setup.of("op-a")[0]["id"] in content


def test_a_second_delivery_of_the_day_sends_nothing(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}"}, {"g1": 3})
    ok_json(server, "/a", {"errcode": 0, "errmsg": "ok"})
    env = env_for(server, WECOM_A="/a")
    assert setup.deliver("--date", "2026-03-02", env=env).exit_code == 0
    again = setup.deliver("--date", "2026-03-02", env=env)
    assert again.exit_code == 0, again.output
    assert len(server.log) == 1 and len(setup.deliveries()) == 1
    assert "提示：op-a：没有新任务 — 2026-03-02 的 3 个任务已经推送过" in again.stderr


def test_the_next_mornings_list_holds_what_the_nightly_run_planned_for_the_day_before(tmp_path, httpserver_ipv4, monkeypatch, capsys):
    """The routine: `run` at night over the day's export plans the thanks of 2 March (due at 10:00
    and 10:01, deadline 24 h later) after their time; the morning's `deliver --date 2026-03-03`
    sends them, their day shown, once. A day after their deadline has nothing of them."""
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}"}, {"g1": 2})
    ok_json(server, "/a", {"errcode": 0, "errmsg": "ok"})
    env = env_for(server, WECOM_A="/a")
    result = setup.deliver("--date", "2026-03-03", env=env)
    assert result.exit_code == 0, result.output
    content = json.loads(server.log[0][0].get_data())["markdown"]["content"]
    first, second = setup.of("op-a")
    # The head says how many are an earlier day's (review 7: a morning's first 23 were the evening before's).
    assert content.startswith(f"## 3月3日 待办 2 条\n阿兰 · 读书会 · 前几天留下的 2\n\n**3月2日 10:00** 书友0（g1-m0） · 一群 · {first['id']}\n")
    assert f"**3月2日 10:01** 书友1（g1-m1） · 一群 · {second['id']}" in content
    again = setup.deliver("--date", "2026-03-03", env=env)
    assert again.exit_code == 0 and len(server.log) == 1 and "提示：op-a：没有新任务 — 2026-03-03 的 2 个任务已经推送过" in again.stderr
    assert setup.deliver("--date", "2026-03-02", "--dry-run", env=env).stdout == ""  # sent already, on the 3rd
    code, _, err = run_main(setup, "--date", "2026-03-04", env=env, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and "2026-03-04: no tasks to do are due that day" in err  # past their deadline: nothing to send


def test_a_task_with_no_deadline_or_more_than_a_week_old_is_not_carried_to_a_later_list(tmp_path, httpserver_ipv4, monkeypatch, capsys):
    """A state an engine before version 7 wrote holds its tasks without deadlines: the first
    list after the upgrade must not bring back every task of the history no list sent. The
    week before is as far as a list looks back."""
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}"}, {"g1": 2})
    ok_json(server, "/a", {"errcode": 0, "errmsg": "ok"})
    first, second = setup.of("op-a")
    with sqlite3.connect(setup.state) as db:
        db.execute("UPDATE tasks SET deadline = NULL WHERE id = ?", (first["id"],))
        db.execute("UPDATE tasks SET deadline = deadline + 30 * 86400 WHERE id = ?", (second["id"],))
    listed = setup.deliver("--date", "2026-03-03", "--dry-run", env=env_for(server, WECOM_A="/a")).stdout
    assert second["id"] in listed and first["id"] not in listed
    assert second["id"] in setup.deliver("--date", "2026-03-09", "--dry-run", env=env_for(server, WECOM_A="/a")).stdout  # 7 days before: still carried
    code, _, err = run_main(setup, "--date", "2026-03-10", "--dry-run", env=env_for(server, WECOM_A="/a"), monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and "2026-03-10: no tasks to do are due that day" in err  # 8 days before: not looked at


@pytest.mark.parametrize("busy", [(429, {"Retry-After": "7"}), (503, {})], ids=["429 with Retry-After", "503"])
def test_a_busy_robot_is_asked_again_with_backoff(tmp_path, httpserver_ipv4, busy):
    server = httpserver_ipv4
    status, headers = busy
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}"}, {"g1": 1})
    server.expect_ordered_request("/a").respond_with_data("busy", status=status, headers=headers)
    server.expect_ordered_request("/a").respond_with_data("busy", status=status, headers=headers)
    server.expect_ordered_request("/a").respond_with_json({"errcode": 45009, "errmsg": "api freq out of limit"})  # WeCom's own rate limit, in an HTTP 200
    server.expect_ordered_request("/a").respond_with_json({"errcode": 0, "errmsg": "ok"})
    result = setup.deliver("--date", "2026-03-02", env=env_for(server, WECOM_A="/a"))
    assert result.exit_code == 0, result.output
    assert len(server.log) == 4 and len(set(request.get_data() for request, _ in server.log)) == 1
    # 1 s, 2 s, 4 s, doubled each time, but never closer than the robot's rate (3 s for 20 a
    # minute); a Retry-After longer than that is honoured.
    assert setup.clock.slept == ([7.0, 7.0, 4.0] if status == 429 else [3.0, 3.0, 4.0])
    assert len(setup.deliveries()) == 1


def test_a_robot_still_busy_after_five_tries_fails_and_nothing_is_recorded(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}"}, {"g1": 1})
    server.expect_request("/a").respond_with_data("overloaded", status=502)
    result = setup.deliver("--date", "2026-03-02", env=env_for(server, WECOM_A="/a"))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == "error: op-a (阿兰): the wecom robot answered HTTP 502: overloaded after 5 tries — nothing else was recorded; fix it and run `playbook deliver` again to send the rest"
    assert setup.clock.slept == [3.0, 3.0, 4.0, 8.0] and setup.deliveries() == []


def test_a_failed_part_is_not_recorded_and_a_rerun_sends_only_the_rest(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}", "op-b": "{type: wecom, url: 'env:WECOM_B'}"}, {"g1": 40, "g2": 1}, text="这本书讲的是一个人如何在山里过完一生。" * 6)
    env = env_for(server, WECOM_A="/a", WECOM_B="/b")
    server.expect_ordered_request("/a").respond_with_json({"errcode": 0, "errmsg": "ok"})
    server.expect_ordered_request("/a").respond_with_json({"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"})
    ok_json(server, "/b", {"errcode": 0, "errmsg": "ok"})
    failed = setup.deliver("--date", "2026-03-02", env=env)
    assert failed.exit_code == 1
    assert "error: op-a (阿兰): the wecom robot refused the message (errcode 40058: markdown.content exceed max length 4096) — 1 of " in failed.stderr
    assert "op-b（Bob）：1 个任务已分 1 条消息推送到 wecom" in failed.stderr  # another operator's day goes out all the same
    sent_first = json.loads(setup.deliveries()[0][4])
    assert [row[:4] for row in setup.deliveries()] == [("op-a", "2026-03-02", 1, "wecom"), ("op-b", "2026-03-02", 1, "wecom")]
    server.clear()
    ok_json(server, "/a", {"errcode": 0, "errmsg": "ok"})
    rerun = setup.deliver("--date", "2026-03-02", env=env)
    assert rerun.exit_code == 0, rerun.output
    contents = [body["markdown"]["content"] for body in bodies(server)]
    rest = [record["id"] for record in setup.of("op-a") if record["id"] not in sent_first]
    assert contents[0].startswith(f"## 3月2日 待办 {len(rest)} 条（另有 {len(sent_first)} 条已发过）")
    assert [record_id for content in contents for record_id in rest if record_id in content] == rest
    assert not any(record_id in content for content in contents for record_id in sent_first)
    assert [row[2] for row in setup.deliveries() if row[0] == "op-a"] == list(range(1, 2 + len(contents)))  # parts go on numbering


# -- 钉钉 ---------------------------------------------------------------------------------------------


def test_dingtalk_gets_markdown_and_a_signature_when_a_secret_is_set(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: dingtalk, url: 'env:DING_A', secret: 'env:DING_A_SECRET'}"}, {"g1": 1})
    ok_json(server, "/robot/send", {"errcode": 0, "errmsg": "ok"})
    env = {"DING_A": server.url_for(f"/robot/send?access_token={KEY}"), "DING_A_SECRET": SIGNING}
    result = setup.deliver("--date", "2026-03-02", env=env)
    assert result.exit_code == 0, result.output
    (request, _), = server.log
    (record,) = setup.of("op-a")
    assert json.loads(request.get_data()) == {
        "msgtype": "markdown",
        "markdown": {
            "title": "3月2日 待办 1 条",
            "text": "\n\n".join(["#### 3月2日 待办 1 条", "阿兰 · 读书会", f"**10:00** 书友0（g1-m0） · 一群 · {record['id']}", "私信 书友0：书友0，谢谢你的分享！好书", "> 原因：2026-03-02 10:00 发言"]),
        },
    }
    # 加签, as DingTalk documents it: HmacSHA256("timestamp\nsecret") keyed with the secret, Base64, URL-encoded.
    query = urllib.parse.parse_qs(request.query_string.decode("ascii"))
    assert query["access_token"] == [KEY] and query["timestamp"] == [str(int(NOW * 1000))]
    expected = base64.b64encode(hmac.new(SIGNING.encode(), f"{int(NOW * 1000)}\n{SIGNING}".encode(), hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected]
    assert f"sign={urllib.parse.quote_plus(expected)}" in request.query_string.decode("ascii")


def test_dingtalk_without_a_secret_sends_the_address_as_it_is(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: dingtalk, url: 'env:DING_A'}"}, {"g1": 1})
    ok_json(server, "/robot/send", {"errcode": 0, "errmsg": "ok"})
    assert setup.deliver("--date", "2026-03-02", env={"DING_A": server.url_for(f"/robot/send?access_token={KEY}")}).exit_code == 0
    (request, _), = server.log
    assert request.query_string.decode() == f"access_token={KEY}"


def test_dingtalk_sending_too_fast_is_retried(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: dingtalk, url: 'env:DING_A'}"}, {"g1": 1})
    server.expect_ordered_request("/d").respond_with_json({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})
    server.expect_ordered_request("/d").respond_with_json({"errcode": 0, "errmsg": "ok"})
    assert setup.deliver("--date", "2026-03-02", env=env_for(server, DING_A="/d")).exit_code == 0
    assert setup.clock.slept == [3.0] and len(setup.deliveries()) == 1


def test_a_long_dingtalk_day_is_split_under_20000_bytes(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: dingtalk, url: 'env:DING_A'}"}, {"g1": 60}, text="这本书讲的是一个人如何在山里过完一生。" * 8)
    ok_json(server, "/d", {"errcode": 0, "errmsg": "ok"})
    assert setup.deliver("--date", "2026-03-02", env=env_for(server, DING_A="/d")).exit_code == 0
    sizes = [len(request.get_data()) for request, _ in server.log]
    assert len(sizes) >= 2 and max(sizes) <= 20000
    assert sum(body["markdown"]["text"].count(" · t-") for body in bodies(server)) == 60


# -- 飞书 ---------------------------------------------------------------------------------------------


def test_feishu_gets_a_card_signed_in_the_body(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-b": "{type: feishu, url: 'env:FEISHU_B', secret: 'env:FEISHU_B_SECRET'}"}, {"g2": 1})
    ok_json(server, f"/open-apis/bot/v2/hook/{KEY}", {"code": 0, "msg": "success", "data": {}})
    env = {"FEISHU_B": server.url_for(f"/open-apis/bot/v2/hook/{KEY}"), "FEISHU_B_SECRET": SIGNING}
    assert setup.deliver("--date", "2026-03-02", env=env).exit_code == 0
    (record,) = setup.of("op-b")
    timestamp = str(int(NOW))
    sign = base64.b64encode(hmac.new(f"{timestamp}\n{SIGNING}".encode(), b"", hashlib.sha256).digest()).decode()
    assert bodies(server) == [{
        "timestamp": timestamp,
        "sign": sign,
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": "3月2日 待办 1 条"}, "template": "blue"},
            "elements": [
                {"tag": "div", "text": {"tag": "plain_text", "content": "Bob · 读书会"}},
                {"tag": "div", "text": {"tag": "plain_text", "content": f"10:00 书友0（g2-m0） · 二群 · {record['id']}\n私信 书友0：书友0，谢谢你的分享！好书\n原因：2026-03-02 10:00 发言"}},
            ],
        },
    }]


def test_a_long_feishu_day_is_split_under_20_kb_with_room_for_the_signature(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-b": "{type: feishu, url: 'env:FEISHU_B', secret: 'env:FEISHU_B_SECRET'}"}, {"g2": 50}, text="这本书讲的是一个人如何在山里过完一生。" * 8)
    ok_json(server, "/f", {"code": 0, "msg": "success", "data": {}})
    assert setup.deliver("--date", "2026-03-02", env={"FEISHU_B": server.url_for("/f"), "FEISHU_B_SECRET": SIGNING}).exit_code == 0
    sizes = [len(request.get_data()) for request, _ in server.log]
    assert len(sizes) >= 2 and max(sizes) <= 20000  # signed bodies, as sent
    cards = [body["card"] for body in bodies(server)]
    assert [card["header"]["title"]["content"] for card in cards] == [f"3月2日 待办 50 条（{part}/{len(cards)}）" for part in range(1, len(cards) + 1)]
    assert sum(len(card["elements"]) - 1 for card in cards) == 50
    assert setup.clock.slept == [0.6] * (len(cards) - 1)  # 100 a minute


def test_feishu_refusing_the_signature_is_an_error_that_says_what_to_check(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-b": "{type: feishu, url: 'env:FEISHU_B', secret: 'env:FEISHU_B_SECRET'}"}, {"g2": 1})
    ok_json(server, "/f", {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"})
    result = setup.deliver("--date", "2026-03-02", env={"FEISHU_B": server.url_for("/f"), "FEISHU_B_SECRET": SIGNING})
    assert result.exit_code == 1 and len(server.log) == 1
    assert "error: op-b (Bob): the feishu robot refused the message (code 19021: sign match fail or timestamp is not within one hour from current time — the signature was refused: check `secret:` (and the machine's clock))" in result.stderr
    assert setup.deliveries() == []


# -- Slack ----------------------------------------------------------------------------------------------


def test_slack_gets_blocks_and_in_english_when_the_community_is(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: slack, url: 'env:SLACK_A'}"}, {"g1": 1}, language="en")
    server.expect_request(f"/services/{KEY}").respond_with_data("ok")
    assert setup.deliver("--date", "2026-03-02", env=env_for(server, SLACK_A=f"/services/{KEY}")).exit_code == 0
    (record,) = setup.of("op-a")
    assert bodies(server) == [{
        "text": "Mon Mar 2: 1 task",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Mon Mar 2: 1 task"}},
            {"type": "context", "elements": [{"type": "plain_text", "text": "阿兰 · 读书会"}]},
            {"type": "section", "text": {"type": "plain_text", "text": f"10:00 书友0 (g1-m0) · 一群 · {record['id']}\ndm: 书友0，谢谢你的分享！好书\nwhy: message at 2026-03-02 10:00"}},
        ],
    }]


def test_a_long_slack_day_keeps_to_50_blocks_a_message(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: slack, url: 'env:SLACK_A'}"}, {"g1": 59})
    server.expect_request("/s").respond_with_data("ok")
    assert setup.deliver("--date", "2026-03-02", env=env_for(server, SLACK_A="/s")).exit_code == 0
    blocks = [body["blocks"] for body in bodies(server)]
    assert [len(part) for part in blocks] == [50, 13]  # a header, a context line and 48 tasks; then 11
    assert setup.clock.slept == [1.0]  # one message a second


def test_slack_refusing_the_payload_names_the_operator_and_records_nothing(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: slack, url: 'env:SLACK_A'}"}, {"g1": 1})
    server.expect_request("/s").respond_with_data("invalid_blocks", status=400)
    result = setup.deliver("--date", "2026-03-02", env=env_for(server, SLACK_A="/s"))
    assert result.exit_code == 1 and len(server.log) == 1  # a 4xx is not retried
    assert "error: op-a (阿兰): the slack robot refused the message (HTTP 400: invalid_blocks)" in result.stderr
    assert setup.deliveries() == []


# -- a plain JSON webhook -------------------------------------------------------------------------------


def test_a_webhook_gets_the_task_records_as_jsonl_prints_them(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: webhook, url: 'env:HOOK_A'}"}, {"g1": 2})
    server.expect_request("/hook").respond_with_data("", status=204)
    assert setup.deliver("--date", "2026-03-02", env=env_for(server, HOOK_A="/hook")).exit_code == 0
    (body,) = bodies(server)
    assert body["tasks"] == setup.of("op-a")
    assert {key: body[key] for key in ("operator", "operator_name", "community", "date", "part", "parts", "title")} == {"operator": "op-a", "operator_name": "阿兰", "community": "读书会", "date": "2026-03-02", "part": 1, "parts": 1, "title": "3月2日 待办 2 条"}
    assert body["text"].startswith("3月2日 待办 2 条\n阿兰 · 读书会\n\n10:00 书友0（g1-m0）")


# -- the dry run ----------------------------------------------------------------------------------------


def test_the_dry_run_prints_each_message_and_sends_and_records_nothing(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    literal = server.url_for(f"/a?key={KEY}")
    setup = make_setup(tmp_path, {"op-a": f"{{type: wecom, url: '{literal}'}}", "op-b": "{type: dingtalk, url: 'env:DING_B', secret: 'env:DING_B_SECRET'}"}, {"g1": 1, "g2": 1})
    before = setup.state.read_bytes()
    result = setup.deliver("--date", "2026-03-02", "--dry-run", env={})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# op-a（阿兰）→ wecom · 第 1/1 条消息 · 1 个任务 · ")
    assert '"content": "## 3月2日 待办 1 条\\n阿兰 · 读书会\\n\\n**10:00** 书友0' in result.stdout
    assert "# op-b（Bob）→ dingtalk · 第 1/1 条消息 · 1 个任务 · " in result.stdout
    assert "提示：环境变量 DING_B（op-b 推送用的地址）没有设置，环境变量 DING_B_SECRET（op-b 推送用的密钥）没有设置：真正推送时会在这里停下" in result.stderr
    assert server.log == [] and setup.state.read_bytes() == before
    assert KEY not in result.output and "127.0.0.1" not in result.output


def test_tasks_of_a_group_no_operator_looks_after_are_noted_in_the_communitys_language(tmp_path, httpserver_ipv4):
    """g3 is nobody's: its task is planned with no assignee, and the note saying it was not sent
    is in Chinese, as the note about an operator without an inbox is."""
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": f"{{type: wecom, url: '{server.url_for('/a')}'}}"}, {"g1": 1, "g3": 1})
    result = setup.deliver("--date", "2026-03-02", "--dry-run", env={})
    assert result.exit_code == 0, result.output
    assert f"提示：2026-03-02 有 1 个任务没有负责的运营（{setup.directory / 'community.yaml'} 里没有哪位运营管它们的群），没有推送" in result.stderr


# -- bad input: one line, exit 1, the state as it was -----------------------------------------------------


def _unchanged(setup: Setup, result: Any, before: bytes) -> str:
    assert result.exit_code == 1, result.output
    assert setup.state.read_bytes() == before
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    return lines[0]


def run_main(setup: Setup, *args: str, env: dict[str, str], monkeypatch: Any, capsys: Any) -> tuple[int, str, str]:
    """``playbook deliver`` as a user runs it (errors mapped to one line by ``main``), with a transport that does not wait."""
    import playbook_engine.delivery as delivery

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(delivery, "Transport", setup.clock.transport)
    with pytest.raises(SystemExit) as exit_info:
        main(["deliver", str(setup.directory), "--state", str(setup.state), *args])
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_a_day_with_no_tasks_says_which_days_have_some(tmp_path, monkeypatch, capsys):
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}"}, {"g1": 1})
    before = setup.state.read_bytes()
    code, out, err = run_main(setup, "--date", "2026-03-05", env={"WECOM_A": "http://127.0.0.1:9/a"}, monkeypatch=monkeypatch, capsys=capsys)
    assert (code, out) == (1, "") and setup.state.read_bytes() == before
    assert err == f"error: 2026-03-05: no tasks to do are due that day in {setup.state} — tasks are due from 2026-03-02 to 2026-03-02 (Asia/Shanghai); check --date\n"


def test_a_missing_environment_variable_stops_before_anything_is_sent(tmp_path, monkeypatch, capsys):
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}", "op-b": "{type: wecom, url: 'env:WECOM_B'}"}, {"g1": 1, "g2": 1})
    monkeypatch.delenv("WECOM_A", raising=False)
    before = setup.state.read_bytes()
    code, out, err = run_main(setup, "--date", "2026-03-02", env={"WECOM_B": "http://127.0.0.1:9/b"}, monkeypatch=monkeypatch, capsys=capsys)
    assert (code, out) == (1, "") and setup.state.read_bytes() == before
    assert err == "error: the environment variable WECOM_A (op-a's inbox url) is not set — set it to the robot's address or secret where `playbook deliver` runs (docs/delivery.md); nothing was sent\n"


def test_a_state_file_that_does_not_exist_is_not_created(tmp_path, monkeypatch, capsys):
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}"}, {"g1": 1})
    setup.state = tmp_path / "typo.db"
    code, out, err = run_main(setup, "--date", "2026-03-02", env={}, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and not setup.state.exists() and not Path(f"{setup.state}.lock").exists()
    assert err == f"error: {setup.state}: no such state file — run `playbook run PATHS --events FILE --state {setup.state}` first, or check the path\n"


def test_an_inbox_without_an_address_is_a_problem_at_its_line(tmp_path, monkeypatch, capsys):
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}"}, {"g1": 1})
    (setup.directory / "community.yaml").write_text(community({"op-a": "{type: wecom}"}), encoding="utf-8")
    before = setup.state.read_bytes()
    code, out, err = run_main(setup, "--date", "2026-03-02", env={}, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and setup.state.read_bytes() == before
    assert err.splitlines()[0] == f'{setup.directory}/community.yaml:11:49: community.operators[0].inbox: missing `url` — add `url: "env:WECOM_LILY"` here'


def test_a_date_that_is_not_a_day_is_a_usage_error(tmp_path):
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}"}, {"g1": 1})
    result = setup.deliver("--date", "3/5")
    assert result.exit_code == 2 and "'3/5' is not a day — write e.g. 2026-03-08, today or tomorrow" in result.output


def test_today_and_tomorrow_are_days_of_the_community_time_zone(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}"}, {"g1": 1})
    ok_json(server, "/a", {"errcode": 0, "errmsg": "ok"})
    setup.clock.now = NOW - 86400  # 2026-03-01 11:00 in Shanghai
    assert setup.deliver("--date", "tomorrow", env=env_for(server, WECOM_A="/a")).exit_code == 0
    assert [row[1] for row in setup.deliveries()] == ["2026-03-02"]


# -- no address, key or secret is ever shown ----------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "PLAYBOOK_DEBUG=1"])
@pytest.mark.parametrize("failure", ["echoed in a 4xx", "unreachable", "5xx until it gives up", "not an address", "a plugin's signing fails"])
def test_no_address_or_secret_appears_in_any_output(tmp_path, httpserver_ipv4, monkeypatch, capsys, failure, debug):
    server = httpserver_ipv4
    registry = _registry_with(_LeakyInbox())
    setup = make_setup(tmp_path, {"op-a": "{type: dingtalk, url: 'env:DING_A', secret: 'env:DING_A_SECRET'}", "op-b": "{type: leaky, url: 'env:LEAKY_B', secret: 'env:LEAKY_B_SECRET'}"}, {"g1": 1, "g2": 1}, registry=registry)
    url = server.url_for(f"/robot/send?access_token={KEY}")
    env = {"DING_A": url, "DING_A_SECRET": SIGNING, "LEAKY_B": url, "LEAKY_B_SECRET": SIGNING, "PLAYBOOK_DEBUG": "1" if debug else "0"}
    # The robot answers with the address it was called at and the whole query, as some do in their error messages.
    server.expect_request("/robot/send").respond_with_handler(lambda request: Response(json.dumps({"errcode": 300001, "errmsg": f"token {request.full_path} invalid, {request.url}"}), status=400, content_type="application/json"))
    if failure == "unreachable":
        env["DING_A"] = f"http://127.0.0.1:{_closed_port()}/robot/send?access_token={KEY}"
    elif failure == "5xx until it gives up":
        server.clear()
        server.expect_request("/robot/send").respond_with_data(f"upstream {KEY} failed", status=500)
    elif failure == "not an address":
        env["DING_A"] = f"qyapi/{KEY}"
    code, out, err = _main_with_registry(setup, registry, env, monkeypatch, capsys, "--date", "2026-03-02")
    assert code == 1
    everything = out + err
    sign = base64.b64encode(hmac.new(SIGNING.encode(), f"{int(NOW * 1000)}\n{SIGNING}".encode(), hashlib.sha256).digest()).decode()
    for secret in (KEY, SIGNING, urllib.parse.quote(SIGNING), str(server.port), sign[:12], urllib.parse.quote_plus(sign)[:12]):
        assert secret not in everything, (failure, everything)
    assert "op-" in err  # the error names the operator


class _LeakyInbox:
    """A plugin whose signing code fails with the secret in its message: the engine must not pass it on."""

    @hookimpl
    def register_inboxes(self, register):
        def sign(url, secret, payload, now):
            raise ValueError(f"cannot sign with {secret} for {url}")

        register(InboxType("leaky", "Leaky robot", render=lambda part: {"text": part.title}, sign=sign, check=lambda reply: Verdict(reply.status == 200)))


def _registry_with(plugin: Any) -> Registry:
    pm = get_plugin_manager(entrypoints=False)
    pm.register(plugin, name="leaky")
    return Registry.collect(pm)


def _main_with_registry(setup: Setup, registry: Registry, env: dict[str, str], monkeypatch: Any, capsys: Any, *args: str) -> tuple[int, str, str]:
    """``main`` (so PLAYBOOK_DEBUG=1 re-raises what it would print) with the test plugin's registry."""
    import playbook_engine.plugins as plugins

    monkeypatch.setattr(plugins.Registry, "collect", classmethod(lambda cls, pm, **options: registry))
    try:
        return run_main(setup, *args, env=env, monkeypatch=monkeypatch, capsys=capsys)
    except Exception:  # PLAYBOOK_DEBUG=1: the error itself, with its traceback
        import traceback

        captured = capsys.readouterr()
        return 1, captured.out, captured.err + traceback.format_exc()


# -- plugins ------------------------------------------------------------------------------------------------


class DiscordInbox:
    """The plugin-author example of docs/plugins.md: a Discord webhook (content ≤ 2000 characters, 204 when taken)."""

    @hookimpl
    def register_inboxes(self, register):
        from playbook_plugins.inboxes import plain_text

        register(InboxType(
            name="discord",
            title="Discord webhook",
            render=lambda part: {"content": plain_text(part)},
            fits=lambda payload, body: len(payload["content"]) <= 2000,
            check=lambda reply: Verdict(reply.status == 204, reason=f"HTTP {reply.status}"),
            min_interval=1.0,
            limit="2000 characters",
        ))


def test_an_inbox_type_from_a_plugin_delivers_like_a_built_in(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    pm = get_plugin_manager(entrypoints=False)
    pm.register(DiscordInbox(), name="discord-inbox")
    registry = Registry.collect(pm)
    setup = make_setup(tmp_path, {"op-a": "{type: discord, url: 'env:DISCORD_A'}"}, {"g1": 30}, registry=registry)
    server.expect_request("/api/webhooks/1/x").respond_with_data("", status=204)
    assert setup.deliver("--date", "2026-03-02", env=env_for(server, DISCORD_A="/api/webhooks/1/x")).exit_code == 0
    contents = [body["content"] for body in bodies(server)]
    assert len(contents) >= 2 and all(len(content) <= 2000 for content in contents)
    assert sum(content.count(" · t-") for content in contents) == 30
    assert registry.owners[("inbox", "discord")] == "discord-inbox"


# -- community.yaml: what `playbook validate` says of an inbox ----------------------------------------------


@pytest.mark.parametrize(
    ("inbox", "said"),
    [
        ("{type: wecon, url: 'env:WECOM_A'}", "11:56: community.operators[0].inbox.type: `wecon` is not a valid value for `type` — did you mean `wecom`?"),
        (f"{{type: wecom, url: 'qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}'}}", "11:68: community.operators[0].inbox.url: `url` is not a web address — write the robot's webhook address (https://…) as the robot's settings show it, or env:NAME to read it from the environment variable NAME"),
        ("{type: wecom, url: 12345678}", "11:68: community.operators[0].inbox.url: `url` must be text: the robot's webhook address (https://…), or env:NAME to read it from the environment variable NAME (better: the file then holds no password)"),
        ("{type: dingtalk, url: 'env:ding-a'}", "11:71: community.operators[0].inbox.url: `url: env:…` must name an environment variable (letters, digits and _), e.g. env:DINGTALK_URL"),
        (f"{{type: wecom, url: 'env:WECOM_A', secret: '{SIGNING}'}}", "11:83: community.operators[0].inbox.secret: 企业微信群机器人 (WeCom group robot) takes no signing secret — remove `secret:`"),
        ("{type: slack, url: 'env:SLACK_A', token: x}", "11:83: community.operators[0].inbox.token: unknown key `token` — allowed here: type, url, secret"),
    ],
    ids=["unknown type", "not an address", "not text", "bad variable name", "secret on a robot that does not sign", "unknown key"],
)
def test_validate_reports_an_inbox_problem_at_its_place_without_quoting_the_address(tmp_path, capsys, inbox, said):
    directory = tmp_path / "pb"
    directory.mkdir()
    (directory / "community.yaml").write_text(community({"op-a": inbox}), encoding="utf-8")
    (directory / "thanks.yaml").write_text(PLAYBOOK, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", str(directory)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert err == f"{directory}/community.yaml:{said}\n1 problem found\n"
    assert KEY not in err and SIGNING not in err and "12345678" not in err


def test_validate_knows_the_inbox_keys_and_the_language(tmp_path, capsys):
    directory = tmp_path / "pb"
    directory.mkdir()
    (directory / "community.yaml").write_text(community({"op-a": "{type: dingtalk, url: 'env:DING_A', secret: 'env:DING_A_SECRET'}", "op-b": "{type: feishu, url: 'https://open.feishu.cn/open-apis/bot/v2/hook/x'}"}), encoding="utf-8")
    (directory / "thanks.yaml").write_text(PLAYBOOK, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", str(directory)])
    assert exit_info.value.code == 0 and "ok: 1 playbooks" in capsys.readouterr().out
    (directory / "community.yaml").write_text(community({}, language="zh"), encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["validate", str(directory)])
    assert "community.yaml:4:13: community.language: `zh` is not a valid value for `language` — write one of: zh-CN, en" in capsys.readouterr().err


def test_state_show_counts_the_messages_delivered(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    setup = make_setup(tmp_path, {"op-a": "{type: webhook, url: 'env:HOOK_A'}"}, {"g1": 1})
    server.expect_request("/hook").respond_with_data("ok")
    assert setup.deliver("--date", "2026-03-02", env=env_for(server, HOOK_A="/hook")).exit_code == 0
    shown = CliRunner().invoke(cli, ["state", "show", "--state", str(setup.state)], obj={"registry": setup.registry})
    assert "已推送：  1 条消息到运营的工作群" in shown.stdout


def test_a_members_name_adds_no_link_tag_or_heading_to_the_list(tmp_path, httpserver_ipv4):
    server = httpserver_ipv4
    name = "[点我](https://evil.example) <font color=info>**坏**</font> # `x`"
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}", "op-b": "{type: dingtalk, url: 'env:DING_B'}"}, {"g1": 1, "g2": 1}, name=name)
    ok_json(server, "/a", {"errcode": 0, "errmsg": "ok"})
    ok_json(server, "/b", {"errcode": 0, "errmsg": "ok"})
    assert setup.deliver("--date", "2026-03-02", env=env_for(server, WECOM_A="/a", DING_B="/b")).exit_code == 0
    wecom, dingtalk = (body["markdown"].get("content") or body["markdown"]["text"] for body in bodies(server))
    shown = "［点我］(https://evil.example) ＜font color=info＞＊＊坏＊＊＜/font＞ ＃ ｀x｀"
    for markdown in (wecom, dingtalk):
        assert shown in markdown and "[点我]" not in markdown and "<font color=info>" not in markdown and "**坏**" not in markdown


def test_a_group_community_yaml_does_not_name_is_called_by_the_exports_name_not_its_id(tmp_path):
    """A Telegram or PyWxDump export names its group (读书会·一群) and community.yaml lists only
    its id: the morning list says the name, as the run's own output does, not the number."""
    directory = tmp_path / "pb"
    directory.mkdir()
    (directory / "community.yaml").write_text(textwrap.dedent("""\
        community:
          name: 读书会
          timezone: Asia/Shanghai
          language: zh-CN
          channel: wechat
          groups:
            - {id: "1987654321"}
          operators:
            - {id: op-a, name: 阿兰, inbox: {type: wecom, url: 'env:WECOM_A'}}
        """), encoding="utf-8")
    (directory / "thanks.yaml").write_text(PLAYBOOK, encoding="utf-8")
    events = [{"ts": "2026-03-02T10:00:00+08:00", "type": "message", "group": "1987654321", "group_name": "读书会·一群", "member": "user1", "name": "书友", "text": "好书"}]
    state = tmp_path / "ops.db"
    registry = load_registry(entrypoints=False)
    run = CliRunner().invoke(cli, ["run", str(directory), "--events", str(write_jsonl(tmp_path / "events.jsonl", events)), "--state", str(state), "--format", "jsonl"], obj={"registry": registry})
    assert run.exit_code == 0, run.output
    result = Setup(directory, state, [], registry).deliver("--date", "2026-03-02", "--dry-run", env={})
    assert result.exit_code == 0, result.output
    assert "书友（user1） · 读书会·一群 · " in result.stdout and "1987654321" not in result.stdout


def test_a_bad_option_value_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    """As every error: one line, `error: …`, exit 1 — where its help is, not click's usage block
    and exit 2."""
    setup = make_setup(tmp_path, {"op-a": "{type: wecom, url: 'env:WECOM_A'}"}, {"g1": 1})
    code, out, err = run_main(setup, "--date", "yesterday", env={}, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and out == ""
    assert err == "error: Invalid value for --date: 'yesterday' is not a day — write e.g. 2026-03-08, today or tomorrow (see `playbook deliver -h`)\n"


def test_a_task_without_a_group_shows_no_empty_place_in_the_list():
    """A member known only from a profile export has no group: the line says who and which
    task, not "老李（m149） ·  · t-…"."""
    item = DeliveryItem("t-3fc34bac7c", "09:00", "normal", "", "老李（m149）", "", "私信 老李：你好", "VIP", {})
    assert about(item) == "老李（m149） · t-3fc34bac7c"
    assert plain_item(item, {"why": "原因："}).splitlines()[0] == "09:00 老李（m149） · t-3fc34bac7c"
    assert about(DeliveryItem("t-1", "09:00", "normal", "", "老李（m149）", "读书会1群", "", "", {})) == "老李（m149） · 读书会1群 · t-1"


def test_notes_under_a_full_list_take_a_message_of_their_own_and_never_stop_the_delivery():
    """Review 8: every message kept room for the missed-task notes, so with a dozen late
    joiners a task could no longer fit even cut short and `deliver` stopped. The notes end the
    last message when they fit there, else take one of their own, as many lines as fit."""
    from playbook_engine.delivery import OperatorDay, split
    from playbook_engine.loading import load_config
    from playbook_engine.words import words_for
    from plugins.inboxes import WECOM, WECOM_CONTENT_BYTES

    config = load_config([Path(__file__).parent.parent / "playbooks"], load_registry(entrypoints=False))
    operator = config.community.operators[0]
    words = words_for("zh-CN").delivery
    items = [DeliveryItem(f"t-{n:010d}", "09:00", "normal", "", f"成员{n}（m{n}）", "读书会1群", "在群「读书会1群」里 @成员 并发送：" + "欢迎！" * 40, "新人入群", {}) for n in range(30)]
    notes = ("另有 40 个任务没赶上推送：", *(f"t-{n:010d} 新人{n}（m{n}）：" + "欢迎你来读书会，" * 20 for n in range(40)))
    messages = split(WECOM, OperatorDay(operator, []), items, config, date(2026, 3, 2), words, notes)
    contents = [message.payload["markdown"]["content"] for message in messages]
    assert all(len(content.encode("utf-8")) <= WECOM_CONTENT_BYTES for content in contents)
    assert sum(content.count("**09:00**") for content in contents) == 30  # every task, in full messages
    assert "另有 40 个任务没赶上推送" in contents[-1] and "**09:00**" not in contents[-1]  # the notes: a message of their own
    assert all("没赶上推送" not in content for content in contents[:-1])
    few = split(WECOM, OperatorDay(operator, []), items[:2], config, date(2026, 3, 2), words, notes[:3])
    assert len(few) == 1 and "没赶上推送" in few[0].payload["markdown"]["content"]  # they fit under the list: there
