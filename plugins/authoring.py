"""Commands for playbook authors: ``playbook graph`` (a Mermaid map) and ``playbook init`` (a starter).

``init`` writes a directory that passes ``validate`` and ``test`` as it is, so a new operator
starts from something that works and changes one thing at a time. It never overwrites a file:
a starter written over someone's edited playbooks would be a silent loss.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from playbook_engine import hookimpl
from playbook_engine.api import DEFAULT_PATHS, registry_from
from playbook_engine.errors import InvalidInput, PlaybookError

STARTER_COMMUNITY = """\
# 社群设置：时区、运营、免打扰时间、频率上限、成员生命周期。每个剧本目录一份。
community:
  name: {name}
  timezone: {timezone}
  language: zh-CN                     # 引擎自己写的字（表头、原因、摘要、--explain）用中文；en 为英文
  channel: wechat
  groups:
    - {{id: g1, name: {group_name}}}
  operators:
    - {{id: op-1, name: 运营, groups: [g1], capacity: 40}}   # 每天最多处理的任务数；member: 运营自己在群里的账号
  staff: []                           # 群主、管理员等自己人的成员 id：不派任务、不进排行，消息照样算群活跃
  quiet_hours: "22:00-08:00"          # 这段时间不安排任务，顺延到结束时
  limits:                             # 每位成员、所有剧本合计
    - {{actions: [dm], max: 2, per: 7d}}
    - {{actions: any, max: 4, per: 7d}}
  lifecycle:                          # 自上而下，第一个成立的就是成员所处阶段
    - {{stage: churn,   label: 流失期, if: "member.left or member.days_silent >= 30"}}
    - {{stage: decline, label: 衰退期, if: "member.days_silent >= 14"}}
    - {{stage: newbie,  label: 新手期, if: "member.days_since_join < 7"}}
    - {{stage: mature,  label: 成熟期, if: "member.active_days_30d >= 12"}}
    - {{stage: growth,  label: 成长期, if: "true"}}
"""

STARTER_WELCOME = """\
playbook: welcome
title: 新人欢迎
description: 新人进群时在群里 @ 欢迎，十分钟后私信请TA做个自我介绍。改文案、加规则，然后运行 playbook test 看看。
rules:
  - id: hello
    title: 群内@欢迎
    when: {event: member_joined}
    do:
      - mention: "欢迎 {{ member | mention }} 加入{{ group.name }}！有问题随时在群里问～"
      - tag: newbie
    once: true

  - id: ask-intro
    title: 私信请做自我介绍
    when: {event: member_joined}
    delay: 10m
    do:
      - dm: "{{ member.name }} 你好～方便的话在群里做个简单的自我介绍吧：称呼 + 城市 + 最近在忙什么。"
    once: true

tests:
  - name: a new member is welcomed and asked for an introduction
    events:
      - {ts: "2026-03-02T10:00:00+08:00", type: member_joined, group: g1, member: m1, name: 小王}
    expect:
      - {rule: hello, action: mention, member: m1, due: "2026-03-02T10:00:00+08:00"}
      - {rule: ask-intro, action: dm, member: m1, due: "2026-03-02T10:10:00+08:00"}
"""

STARTER_SILENT = """\
playbook: silent-care
title: 沉默成员关怀
description: 说过话又沉默了 7 天的成员，私信问问近况；只针对成长期和成熟期的成员。
stages: [growth, mature]
rules:
  - id: ask-why
    title: 沉默7天，私信问候
    when: {silence: 7d}
    if: member.messages > 0
    do:
      - dm: "{{ member.name }}，好久没在群里看到你了，最近还好吗？有想聊的话题随时告诉我～"
    cooldown: 30d

tests:
  - name: a member silent for a week gets a DM
    events:
      - {ts: "2026-03-01T09:00:00+08:00", type: message, group: g1, member: m2, name: 老李, text: 早上好}
    until: "2026-03-09T00:00:00+08:00"
    expect:
      - {rule: ask-why, action: dm, member: m2, due: "2026-03-08T09:00:00+08:00"}
  - name: speaking again restarts the week
    events:
      - {ts: "2026-03-01T09:00:00+08:00", type: message, group: g1, member: m2, name: 老李, text: 早上好}
      - {ts: "2026-03-05T20:00:00+08:00", type: message, group: g1, member: m2, text: 最近在读一本好书}
    until: "2026-03-09T00:00:00+08:00"
    absent:
      - {rule: ask-why}
"""

STARTER_EVENTS = """\
{"ts":"2026-03-01T09:00:00+08:00","type":"message","group":"g1","member":"m2","name":"老李","id":"msg-1","text":"早上好"}
{"ts":"2026-03-01T10:30:00+08:00","type":"message","group":"g1","member":"m3","name":"阿珍","id":"msg-2","text":"请问这周读哪本？"}
{"ts":"2026-03-02T10:00:00+08:00","type":"member_joined","group":"g1","member":"m1","name":"小王"}
{"ts":"2026-03-02T10:20:00+08:00","type":"message","group":"g1","member":"m1","name":"小王","id":"msg-3","text":"大家好，我是小王"}
{"ts":"2026-03-03T21:00:00+08:00","type":"message","group":"g1","member":"m4","name":"小张","id":"msg-m4-3","text":"第一章读完了"}
{"ts":"2026-03-04T21:00:00+08:00","type":"message","group":"g1","member":"m4","name":"小张","id":"msg-m4-4","text":"有人一起讨论第三章吗"}
{"ts":"2026-03-05T21:00:00+08:00","type":"message","group":"g1","member":"m4","name":"小张","id":"msg-m4-5","text":"今天读到一半"}
{"ts":"2026-03-06T21:00:00+08:00","type":"message","group":"g1","member":"m4","name":"小张","id":"msg-m4-6","text":"周末继续读"}
{"ts":"2026-03-07T21:00:00+08:00","type":"message","group":"g1","member":"m4","name":"小张","id":"msg-m4-7","text":"这段写得真好"}
{"ts":"2026-03-08T21:00:00+08:00","type":"message","group":"g1","member":"m4","name":"小张","id":"msg-m4-8","text":"明天聊第二部分"}
{"ts":"2026-03-09T12:00:00+08:00","type":"message","group":"g1","member":"m3","name":"阿珍","id":"msg-4","text":"这本书第二部分更好看"}
"""


def starter_files(name: str, timezone: str) -> dict[str, str]:
    """The starter directory's files (name → text) for a community called ``name``."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone `{timezone}` — write an IANA name such as Asia/Shanghai") from None
    quoted = json.dumps(name, ensure_ascii=False)  # a JSON string is a YAML string, whatever the name holds
    group_name = json.dumps(f"{name}1群", ensure_ascii=False)
    return {
        "community.yaml": STARTER_COMMUNITY.format(name=quoted, timezone=timezone, group_name=group_name),
        "welcome.yaml": STARTER_WELCOME,
        "silent-care.yaml": STARTER_SILENT,
        "events.jsonl": STARTER_EVENTS,
    }


def write_starter(directory: Path, name: str = "我的社群", timezone: str = "Asia/Shanghai") -> list[Path]:
    """Write the starter files into ``directory`` (created if needed); refuse if any exists."""
    files = starter_files(name, timezone)
    existing = [directory / file for file in files if (directory / file).exists()]
    if existing:
        names = ", ".join(str(path) for path in existing)
        raise InvalidInput(f"{names} already exist{'s' if len(existing) == 1 else ''} — nothing was written; choose a new directory, e.g. playbook init my-community")
    if directory.exists() and not directory.is_dir():
        raise InvalidInput(f"{directory} is a file, not a directory — give a directory name")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file, text in files.items():
        path = directory / file
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command()
    @click.argument("paths", nargs=-1, type=click.Path())
    @click.pass_context
    def graph(ctx: click.Context, paths: Sequence[str]) -> None:
        """Print a Mermaid flowchart: lifecycle stages and the rules that act in each.

        Rules without `stages:` act in every stage and are drawn once, in their own box.
        Paste the output into a ```mermaid block (GitHub, many wikis) or https://mermaid.live.

        Example: playbook graph playbooks > playbooks.mmd
        """
        from playbook_engine.graph import mermaid
        from playbook_engine.loading import load_config

        config = load_config(list(paths) or list(DEFAULT_PATHS), registry_from(ctx))
        click.echo(mermaid(config), nl=False)

    @cli.command()
    @click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--name", default="我的社群", show_default=True, help="Community name, used in texts.")
    @click.option("--timezone", default="Asia/Shanghai", show_default=True, help="IANA time zone of the community.")
    def init(directory: Path, name: str, timezone: str) -> None:
        """Write a starter playbook directory that passes `validate` and `test` as it is.

        It holds community.yaml, two small playbooks with tests and a few example events.
        Existing files are never overwritten: if any is there, nothing is written.

        Example: playbook init my-community && playbook test my-community
        """
        try:
            written = write_starter(directory, name, timezone)
        except PlaybookError as exc:
            raise click.ClickException(str(exc)) from None
        for path in written:
            click.echo(f"created {path}")
        click.echo(
            f"next: playbook validate {directory} && playbook test {directory}\n"
            f"      playbook run {directory} --events {directory / 'events.jsonl'}",
            err=True,
        )
