"""The loaded, checked form of community settings and playbooks: plain data classes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from playbook_engine.contract import PRIORITY_RANK
from playbook_engine.patterns import Pattern
from playbook_engine.printable import links_in
from playbook_engine.words import LANGUAGES as WORDS_BY_LANGUAGE

if TYPE_CHECKING:
    from playbook_engine.contract import ActionType, TriggerType
    from playbook_engine.expressions import Condition, PlaybookEnvironment, Text, Variants
    from playbook_engine.plugins import Registry

DEFAULT_QUESTION_PATTERNS = (r"[?？]\s*$", "请问", "怎么", "如何", r"吗[?？]?$")
# What answers a question (community.yaml `question.answered_by`), all by default: operators
# answer in a plain message seconds later far more often than they reply or @ the asker.
DEFAULT_ANSWERED_BY = ("reply", "mention", "next_message")
DEFAULT_ANSWER_WINDOW = 10 * 60  # `question.answer_window`: how soon a plain message must follow
# What the asker writes when she found the answer herself (`question.solved`): "找到了，谢谢",
# "解决了", "好了我知道了", "搞定了", "知道啦". Not "谢谢" alone: many askers thank in advance ("有人知道吗？
# 先谢谢了"). A word after 不/没 (看不懂了, 没解决了) or before 吗/没/么/吧 (解决了没) does not count;
# RE2 has no lookaround, so the guards are the neighbouring characters.
DEFAULT_SOLVED_PATTERNS = (
    "(?:^|[^不没])(?:(?:找到|解决|搞定|弄好|知道|明白|懂)[了啦]|没事了|不用了)(?:$|[^吗没么嘛呢吧])",
    "已解决",
    r"(?i)\b(?:solved|found it|figured it out|never ?mind|got it)\b",
)
# What someone else writes after a question that asks it again rather than answering it
# (`question.me_too`): "同问", "+1", "我也想知道", "蹲一个", "在线等". Such a message is no
# `next_message` answer: now two people wait.
DEFAULT_ME_TOO_PATTERNS = (
    r"(?i)^\s*(?:同问|同求|同疑问|同想知道|同上|蹲|蹲一个|蹲蹲|蹲个答案|坐等|在线等|等答案|求答案|求解答|求告知|求解|\+\s*1|＋\s*1|1\s*\+|me too|same here|same question)[\s!！。.~～+＋1]*$",
    "我也想(?:知道|问|了解|要)|我也(?:有|是)(?:这个|同样的|一样的)(?:问题|疑问)|同样的问题|一样的问题",
)
DEFAULT_LIFECYCLE = (
    ("churn", "流失期", "member.left or member.days_silent >= 30"),
    ("decline", "衰退期", "member.days_silent >= 14"),
    ("newbie", "新手期", "member.days_since_join < 7"),
    ("mature", "成熟期", "member.active_days_30d >= 12"),
    ("growth", "成长期", "true"),
)


LANGUAGES = tuple(WORDS_BY_LANGUAGE)  # community.language: what the engine itself writes in (engine/words.py, one table each)
ENV_PREFIX = "env:"  # an inbox address or secret written `env:NAME` is read from the environment when delivering


@dataclass(frozen=True)
class InboxSettings:
    """An operator's work-chat inbox as community.yaml writes it: the robot's type, and its
    address and signing secret, each the text itself or ``env:NAME``. Neither is ever shown
    (not in a repr either); they are read, and the environment looked up, only when delivering."""

    type: str
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    where: str = ""  # "playbooks/community.yaml:14" — where a message can send the operator


@dataclass
class Operator:
    id: str
    name: str
    groups: tuple[str, ...] = ()
    capacity: int | None = None
    pace: int | None = None  # seconds: no two of the operator's tasks are due closer together
    member: str | None = None  # the operator's own account in the history: staff
    inbox: InboxSettings | None = None  # where `playbook deliver` posts their day


@dataclass
class Limit:
    actions: frozenset[str] | None  # None: any action
    max: int
    per: int  # seconds


@dataclass
class Stage:
    stage: str
    label: str
    condition: Condition
    source: str


@dataclass
class Community:
    name: str
    timezone: str
    tz: ZoneInfo
    channel: str
    file: str = "community.yaml"
    channel_options: dict[str, Any] = field(default_factory=dict)
    group_names: dict[str, str] = field(default_factory=dict)
    group_channels: dict[str, str] = field(default_factory=dict)
    group_created: dict[str, int] = field(default_factory=dict)  # `created:` as a local day (proleptic ordinal)
    seed_groups: frozenset[str] = frozenset()  # groups marked `seed: true` (种子用户群): `group.seed`
    operators: list[Operator] = field(default_factory=list)
    quiet_hours: tuple[int, int] | None = None  # minutes after local midnight: start, end
    max_delay: int = 3 * 86400  # capacity overflow older than this is dropped, not carried on for ever
    country: str = "CN"  # whose holidays and weekends a rule's `not_on:` keeps its tasks off
    # `days_silent: {not_counting: …}`: the days no silence counts (member.days_silent, stages,
    # `becomes`, and each `silence:` that names none of its own); their SilentDays, or None.
    days_silent_not_counting: frozenset[str] = frozenset()
    silent_days: Any = None
    reply_window: int = 3 * 86400  # a member's message this long after a task marked done is a reply to it
    holdout: float = 0.0  # the share of members kept out of each playbook that sets none (engine/holdout.py)
    limits: list[Limit] = field(default_factory=list)
    question_patterns: list[Pattern] = field(default_factory=list)
    merge: frozenset[str] = frozenset({"dm"})  # actions merged into one task per member, operator and day
    # Of those, the ones that happen in a group (``SCOPE_GROUP``): merged only within one group.
    merge_in_group: frozenset[str] = frozenset()
    question_answered_by: frozenset[str] = frozenset(DEFAULT_ANSWERED_BY)
    question_answer_window: int = DEFAULT_ANSWER_WINDOW  # seconds
    question_solved: list[Pattern] = field(default_factory=list)  # the asker says she found the answer
    question_me_too: list[Pattern] = field(default_factory=list)  # someone else asks it again: no answer
    lifecycle: list[Stage] = field(default_factory=list)
    # Member ids of the community's own people: `staff:` and the operators' `member:`. Never
    # the member of a task, never ranked; their messages still count and answer questions.
    staff: frozenset[str] = frozenset()
    language: str = "en"  # one of LANGUAGES
    action_names: dict[str, str] = field(default_factory=dict)  # action id → its name in `language` (ActionType.names)
    content: dict[str, Any] = field(default_factory=dict)  # content.yaml: what texts read as `content.NAME`

    @cached_property
    def _group_ids(self) -> dict[str, str]:
        return {name: group for group, name in self.group_names.items()}

    def group_id(self, value: Any) -> str | None:
        """The group an option names (an invite's `group`): its id, or its name in community.yaml."""
        if not isinstance(value, str):
            return None
        return self._group_ids.get(value, value)

    def stage_label(self, stage: str | None) -> str:
        for item in self.lifecycle:
            if item.stage == stage:
                return item.label
        return stage or ""


@dataclass
class ActionSpec:
    kind: ActionType
    text: Text | Variants | None  # several: used in turn (Enforcer._variant)
    params: dict[str, Any]
    index: int


@dataclass
class Rule:
    playbook: str
    id: str
    trigger: TriggerType
    conditions: list[Condition]
    actions: list[ActionSpec]
    file: str
    line: int
    order: tuple[int, int]  # playbook position, rule position: ties are broken by file order
    title: str = ""
    description: str = ""
    priority: str = "normal"
    cooldown: int | None = None
    once: bool = False
    delay: int = 0
    deadline: int | None = None  # seconds after the trigger instant; None: the trigger's default
    recheck: bool = True  # checked again when due (dropped as `stale` if it no longer holds)
    # `not_on:`: the days its tasks are not sent on (holidays, weekends), moved to the same time
    # of the next day they may be (遇节假日顺延), their deadline with them. None: any day.
    not_on: frozenset[str] | None = None
    until: str | None = None  # "replied": no task for a member who replied to one of the playbook's
    assignee: str | None = None
    channel: str | None = None
    stages: frozenset[str] | None = None
    groups: frozenset[str] | None = None

    @cached_property
    def key(self) -> str:
        return f"{self.playbook}/{self.id}"

    @cached_property
    def rank(self) -> int:
        return PRIORITY_RANK[self.priority]

    def action_at(self, index: int) -> ActionSpec | None:
        """The action at ``index`` in its ``do:`` list (as a saved task names it), if it still has one."""
        return next((action for action in self.actions if action.index == index), None)

    @cached_property
    def precedence(self) -> tuple[int, tuple[int, int]]:
        """Firings at one instant are handled in this order: higher priority, then file order."""
        return (-self.rank, self.order)

    @cached_property
    def once_key(self) -> str:
        """The member mark of a `once` rule that has fired for them."""
        return self.key + "#once" if self.once else ""

    @cached_property
    def filtered(self) -> bool:
        """Whether the rule has `stages:`, `groups:` or `once`, which refuse firings before conditions."""
        return self.stages is not None or self.groups is not None or self.once


@dataclass
class Playbook:
    id: str
    file: str
    title: str = ""
    description: str = ""
    rules: list[Rule] = field(default_factory=list)
    tests: list[dict[str, Any]] = field(default_factory=list)
    test_lines: list[int] = field(default_factory=list)
    holdout: float | None = None  # its `holdout:` share; None: community.holdout


@dataclass
class Config:
    """Everything a run needs besides events: settings, playbooks, plugins, the sandbox."""

    community: Community
    playbooks: list[Playbook]
    registry: Registry
    env: PlaybookEnvironment

    @property
    def rules(self) -> list[Rule]:
        return [rule for playbook in self.playbooks for rule in playbook.rules]

    def by_playbook(self, counts: Mapping[str, int], separator: str) -> str:
        """``counts`` (playbook id → tasks) as people read them: each playbook by its title, the
        most first — `节日私信问候 91，新人破冰 3`."""
        titles = {playbook.id: playbook.title or playbook.id for playbook in self.playbooks}
        return separator.join(f"{titles.get(playbook, playbook)} {count}" for playbook, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def links(self) -> frozenset[str]:
        """The web addresses the playbooks write — in texts, options and content.yaml: a
        Markdown list keeps them links (a member's own address in a task's text stays inert)."""
        written: list[str] = []

        def collect(value: Any) -> None:
            if isinstance(value, str):
                written.extend(links_in(value))
            elif isinstance(value, Mapping):
                for item in value.values():
                    collect(item)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    collect(item)

        for rule in self.rules:
            for action in rule.actions:
                if action.text is not None:
                    collect(action.text.source)
                collect(action.params)
        collect(self.community.content)
        return frozenset(written)
