"""Loading playbook directories: YAML → structure check → meaning check → Config.

Every problem in every file is collected before anything is reported, so an operator fixes
them all in one pass. Phase one is the JSON Schema (``playbook_engine.validate``); phase two, here,
checks meaning against the live plugin registries: trigger and action names, channels,
stages, operators, durations, template and expression syntax and variables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from playbook_engine.contract import (
    EVENT_TEMPLATE_FIELDS,
    GROUP_FIELDS,
    MEMBER_FIELDS,
    SCOPE_GROUP,
    TriggerContext,
    TriggerProblem,
    TriggerType,
)
from playbook_engine.dependencies import stages_compared
from playbook_engine.durations import DurationError, format_duration, parse_duration
from playbook_engine.errors import InvalidPlaybooks, Problem, suggest
from playbook_engine.expressions import (
    Condition,
    PlaybookEnvironment,
    Text,
    Variants,
    check_source,
)
from playbook_engine.festivals import SilentDays, check_country, off_days, off_kinds
from playbook_engine.localtime import local_time
from playbook_engine.model import (
    DEFAULT_LIFECYCLE,
    DEFAULT_ME_TOO_PATTERNS,
    DEFAULT_QUESTION_PATTERNS,
    DEFAULT_SOLVED_PATTERNS,
    ENV_PREFIX,
    ActionSpec,
    Community,
    Config,
    InboxSettings,
    Limit,
    Operator,
    Playbook,
    Rule,
    Stage,
)
from playbook_engine.patterns import PatternError, compile_pattern
from playbook_engine.plugins import Registry
from playbook_engine.schema import build_schema
from playbook_engine.validate import schema_problems
from playbook_engine.yamlfile import MAX_BYTES, Document, load_yaml, too_big
from playbook_engine.yamlfile import Path as YamlPath

COMMUNITY_FILE = "community.yaml"
CONTENT_FILE = "content.yaml"  # beside it: the values texts read as `content.NAME` (_load_content)
COMMUNITY_FIELDS = ("name", "timezone", "channel")


def find_files(paths: Sequence[str | Path]) -> tuple[Path | None, list[Path]]:
    """The community file and the playbook files named by ``paths`` (directories or files)."""
    community: Path | None = None
    playbooks: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidate = path / COMMUNITY_FILE
            if candidate.exists() and community is None:
                community = candidate
            playbooks.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.name not in (COMMUNITY_FILE, CONTENT_FILE)))
        elif path.name == CONTENT_FILE:
            continue  # read with community.yaml, beside it
        elif path.name == COMMUNITY_FILE:
            community = community or path
        else:
            playbooks.append(path)
            candidate = path.parent / COMMUNITY_FILE
            if community is None and candidate.exists():
                community = candidate
    return community, playbooks


def load_config(paths: Sequence[str | Path], registry: Registry) -> Config:
    """Load and check everything under ``paths``; raise InvalidPlaybooks listing every problem."""
    problems: list[Problem] = []
    community_path, playbook_paths = find_files(paths)
    missing = [str(p) for p in map(Path, paths) if not p.exists()]
    if missing:
        raise InvalidPlaybooks([Problem(name, 1, 1, "no such file or directory") for name in missing])
    env = PlaybookEnvironment(registry.filters)
    if community_path is None:
        where = str(Path(paths[0]) / COMMUNITY_FILE) if paths else COMMUNITY_FILE
        raise InvalidPlaybooks([Problem(where, 1, 1, "community.yaml not found — every playbook directory needs one (`playbook init DIR` writes a starter)")])
    community = _load_community(community_path, registry, env, problems)
    content_path = community_path.parent / CONTENT_FILE
    if community is not None and content_path.exists():
        community.content = _load_content(content_path, problems)
    playbooks: list[Playbook] = []
    seen_ids: dict[str, str] = {}
    schema = build_schema("playbook", registry)  # the same for every file: built once
    for position, path in enumerate(playbook_paths):
        playbook, doc = _load_playbook(path, position, community, registry, schema, env, problems)
        if playbook is None or doc is None:
            continue
        if playbook.id in seen_ids:
            problems.append(doc.problem(("playbook",), f"playbook id `{playbook.id}` is already used by {seen_ids[playbook.id]} — give each playbook its own id, e.g. `{playbook.id}-2`"))
            continue
        seen_ids[playbook.id] = str(path)
        playbooks.append(playbook)
    if problems:
        raise InvalidPlaybooks(problems)
    assert community is not None
    return Config(community, playbooks, registry, env)


def _read(path: Path, problems: list[Problem]) -> Document | None:
    """The file as a Document, or None when it is not readable YAML (the problems say why).

    A document whose reader found lesser problems (a duplicate key, an unquoted `yes`) is
    still returned, with those places flagged, so that the other checks run too and the
    operator sees every problem in one pass.
    """
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:  # before reading: a 50 MB file must not be slurped to be refused
            problems.append(too_big(str(path), size))
            return None
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(str(path), 1, 1, f"cannot read the file: {exc.strerror} — check the path and the file's permissions"))
        return None
    doc, found = load_yaml(raw, str(path))
    problems.extend(found)
    return doc if doc.readable else None


def _load_community(path: Path, registry: Registry, env: PlaybookEnvironment, problems: list[Problem]) -> Community | None:
    doc = _read(path, problems)
    if doc is None:
        return None
    if doc.data is None:
        problems.append(Problem(str(path), 1, 1, "community.yaml is empty — it starts with `community:` and holds at least `name:` and `timezone:` (`playbook init DIR` writes a starter)"))
        return None
    problems.extend(schema_problems(doc, build_schema("community", registry)))
    if doc.flagged:
        return None
    data = doc.data["community"]
    base: YamlPath = ("community",)
    community = _community_settings(doc, base, data, path, registry, problems)
    _read_operators(doc, base, data, community, registry, problems)
    _read_staff(data, community)
    _read_guardrails(doc, base, data, community, registry, problems)
    _read_question(doc, base, data, community, problems)
    _read_lifecycle(doc, base, data, community, env, problems)
    setting = data.get("days_silent")
    kinds = off_kinds(setting.get("not_counting")) if isinstance(setting, dict) else None
    if kinds:  # 沉默天数不算节假日: one count of silent days for stages, conditions and silences
        community.days_silent_not_counting = kinds
        community.silent_days = SilentDays(off_days(kinds, community.country, community.language), local_time(community.tz))
    return community


def _load_content(path: Path, problems: list[Problem]) -> dict[str, Any]:
    """content.yaml: values operators change often (this week's book, the next event, links),
    which texts and conditions read as ``content.NAME``, so a weekly edit touches one file and no
    playbook. Any YAML value: text, number, list, or a mapping of them."""
    doc = _read(path, problems)
    if doc is None or doc.data is None:
        return {}
    data = doc.data
    if not isinstance(data, dict) or set(data) != {"content"} or not isinstance(data["content"], dict):
        problems.append(Problem(str(path), 1, 1, "content.yaml holds one mapping, `content:`, of names and values — e.g. `content: {本周书目: 《活着》}`"))
        return {}
    values: dict[str, Any] = {}
    for name, value in data["content"].items():
        if not isinstance(name, str) or not _CONTENT_NAME.fullmatch(name):
            problems.append(doc.problem(("content", name), f"`{name}` cannot be read as content.{name} — a name is letters (汉字 too), digits and _, not starting with a digit", key=True))
        elif value is None:
            problems.append(doc.problem(("content", name), f"`{name}` has no value — write one, or remove the line", key=True))
        else:
            values[name] = value
    return values


_CONTENT_NAME = re.compile(r"[^\W\d]\w*")


def _community_settings(doc: Document, base: YamlPath, data: Mapping[str, Any], path: Path, registry: Registry, problems: list[Problem]) -> Community:
    """The community's name, time zone, default channel and groups."""
    try:
        tz = ZoneInfo(data["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(doc.problem(base + ("timezone",), _unknown_timezone(data["timezone"])))
        tz = ZoneInfo("UTC")
    channel = data.get("channel", "wechat")
    if channel not in registry.channels:
        problems.append(doc.problem(base + ("channel",), f"unknown channel `{channel}`{suggest(channel, registry.channels) or ' — installed: ' + ', '.join(sorted(registry.channels))}"))
    community = Community(name=data["name"], timezone=data["timezone"], tz=tz, channel=channel, file=str(path), language=data.get("language", "en"))
    community.channel_options = dict(data.get("channel_options") or {})
    community.action_names = registry.action_names(community.language)
    seen_ids: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    for index, group in enumerate(data.get("groups", [])):
        name = group.get("name", group["id"])
        for seen, key, value in ((seen_ids, "id", group["id"]), (seen_names, "name", name)):
            if value in seen:
                first_line = doc.where(base + ("groups", seen[value]))[0]
                again = "give each group one entry" if key == "id" else f"give each group its own name (the checklists show groups by name), e.g. {value}2"
                problems.append(doc.problem(base + ("groups", index, key if key in group else "id"), f"group {key} `{value}` is already used at line {first_line} — {again}"))
                break  # one entry twice: said once
            seen.setdefault(value, index)
        if group["id"] in community.group_names:
            continue
        community.group_names[group["id"]] = name
        if "channel" in group:
            community.group_channels[group["id"]] = group["channel"]
        if "created" in group:
            try:
                community.group_created[group["id"]] = date.fromisoformat(str(group["created"])).toordinal()
            except ValueError:
                problems.append(doc.problem(base + ("groups", index, "created"), f"`{group['created']}` is not a date — write the day the group was created as YYYY-MM-DD, e.g. created: 2026-03-20"))
    community.seed_groups = frozenset(group["id"] for group in data.get("groups", []) if group.get("seed") is True)
    return community


def _read_operators(doc: Document, base: YamlPath, data: Mapping[str, Any], community: Community, registry: Registry, problems: list[Problem]) -> None:
    seen_operators: dict[str, int] = {}
    known_groups = _known_groups(community)
    for index, item in enumerate(data.get("operators", [])):
        if item["id"] in seen_operators:
            first_line = doc.where(base + ("operators", seen_operators[item["id"]], "id"))[0]
            problems.append(doc.problem(base + ("operators", index, "id"), f"operator id `{item['id']}` is already used at line {first_line} — give each operator one entry (list all their groups there)"))
        seen_operators.setdefault(item["id"], index)
        _groups(doc, base + ("operators", index, "groups"), item.get("groups"), known_groups, problems, _ids_by_name(community))
        pace = _duration(doc, base + ("operators", index, "pace"), item["pace"], problems) if "pace" in item else None
        member = item.get("member")
        inbox = _read_inbox(doc, base + ("operators", index, "inbox"), item["inbox"], registry, problems) if "inbox" in item else None
        community.operators.append(Operator(item["id"], item.get("name", item["id"]), tuple(item.get("groups", ())), item.get("capacity"), pace, None if member is None else str(member), inbox))


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _read_inbox(doc: Document, path: YamlPath, item: Mapping[str, Any], registry: Registry, problems: list[Problem]) -> InboxSettings | None:
    """An operator's `inbox:`. Its address and secret are never quoted back in a message: a
    webhook address is a password (whoever has it posts to the group)."""
    if doc.is_flagged(path) or doc.is_flagged(path + ("type",)):
        return None  # the schema check said what is wrong (no `url`, an unknown type …)
    kind = registry.inboxes[item["type"]]
    before = len(problems)
    for key, what in (("url", "the robot's webhook address (https://…)"), ("secret", "the robot's signing secret")):
        if key not in item or doc.is_flagged(path + (key,)):
            continue
        value = item[key]
        if not isinstance(value, str) or not value.strip():
            problems.append(doc.problem(path + (key,), f"`{key}` must be text: {what}, or env:NAME to read it from the environment variable NAME (better: the file then holds no password)"))
        elif value.startswith(ENV_PREFIX):
            if not _ENV_NAME.fullmatch(value[len(ENV_PREFIX) :]):
                problems.append(doc.problem(path + (key,), f"`{key}: env:…` must name an environment variable (letters, digits and _), e.g. env:{item['type'].upper().replace('-', '_')}_{key.upper()}"))
        elif key == "url" and not re.fullmatch(r"https?://\S+", value):
            problems.append(doc.problem(path + (key,), f"`url` is not a web address — write {what} as the robot's settings show it, or env:NAME to read it from the environment variable NAME"))
    if "secret" in item and kind.sign is None:
        problems.append(doc.problem(path + ("secret",), f"{kind.title} takes no signing secret — remove `secret:`", key=True))
    if len(problems) > before:
        return None
    line, _ = doc.where(path)
    return InboxSettings(item["type"], item["url"], item.get("secret"), f"{doc.file}:{line}")


def _read_staff(data: Mapping[str, Any], community: Community) -> None:
    """The community's own people: `staff:` and each operator's `member:` account.

    Ids are read as the events' are (a number is its text: exports write numeric ids); one
    listed twice, or both as staff and as an operator's account, is the same person.
    """
    accounts = [operator.member for operator in community.operators if operator.member is not None]
    community.staff = frozenset([*map(str, data.get("staff", ())), *accounts])


def _read_guardrails(doc: Document, base: YamlPath, data: Mapping[str, Any], community: Community, registry: Registry, problems: list[Problem]) -> None:
    """Quiet hours, the longest delay, the contact limits and what is merged."""
    if "quiet_hours" in data:
        community.quiet_hours = _quiet_hours(doc, base + ("quiet_hours",), data["quiet_hours"], problems)
    if "reply_window" in data:
        reply_window = _duration(doc, base + ("reply_window",), data["reply_window"], problems)
        if reply_window is not None:
            community.reply_window = reply_window
    if "holdout" in data:
        community.holdout = _share(doc, base + ("holdout",), data["holdout"], problems) or 0.0
    if "max_delay" in data:
        max_delay = _duration(doc, base + ("max_delay",), data["max_delay"], problems)
        if max_delay is not None:
            community.max_delay = max_delay
    if "country" in data:
        country = str(data["country"]).upper()
        problem = check_country(str(data["country"])) if country != "CN" else None
        if problem is not None:
            problems.append(doc.problem(base + ("country",), problem))
        else:
            community.country = country
    for index, item in enumerate(data.get("limits", [])):
        per = _duration(doc, base + ("limits", index, "per"), item["per"], problems)
        kinds = None if item["actions"] == "any" else frozenset(item["actions"])
        for offset, name in enumerate(item["actions"] if kinds else ()):
            if name not in registry.actions:
                problems.append(doc.problem(base + ("limits", index, "actions", offset), f"unknown action `{name}`{suggest(name, registry.actions)}"))
        community.limits.append(Limit(kinds, item["max"], per or 1))
    if "merge" in data:  # action names: checked by the schema, which lists the registered ones
        community.merge = frozenset(data["merge"])
        community.merge_in_group = frozenset(name for name in community.merge if name in registry.actions and registry.actions[name].scope == SCOPE_GROUP)


def _read_question(doc: Document, base: YamlPath, data: Mapping[str, Any], community: Community, problems: list[Problem]) -> None:
    """How a question is recognised (`patterns`), what answers it (`answered_by`, `answer_window`),
    what its asker writes when she solved it herself (`solved`), and what others write that asks
    it again rather than answering it (`me_too`)."""
    question = data.get("question", {})
    for index, pattern in enumerate(question.get("patterns", DEFAULT_QUESTION_PATTERNS)):
        try:
            community.question_patterns.append(compile_pattern(pattern))
        except PatternError as exc:
            problems.append(doc.problem(base + ("question", "patterns", index), f"{exc}, e.g. \"[?？]\\\\s*$\"" if str(exc).startswith("not a valid") else str(exc)))
    for index, pattern in enumerate(question.get("solved", DEFAULT_SOLVED_PATTERNS)):
        try:
            community.question_solved.append(compile_pattern(pattern))
        except PatternError as exc:
            problems.append(doc.problem(base + ("question", "solved", index), f"{exc}, e.g. \"解决了\"" if str(exc).startswith("not a valid") else str(exc)))
    for index, pattern in enumerate(question.get("me_too", DEFAULT_ME_TOO_PATTERNS)):
        try:
            community.question_me_too.append(compile_pattern(pattern))
        except PatternError as exc:
            problems.append(doc.problem(base + ("question", "me_too", index), f"{exc}, e.g. \"同问\"" if str(exc).startswith("not a valid") else str(exc)))
    if "answered_by" in question:  # its words are checked by the schema
        community.question_answered_by = frozenset(question["answered_by"])
    if "answer_window" in question:
        window = _duration(doc, base + ("question", "answer_window"), question["answer_window"], problems)
        if window is not None:
            community.question_answer_window = window


def _read_lifecycle(doc: Document, base: YamlPath, data: Mapping[str, Any], community: Community, env: PlaybookEnvironment, problems: list[Problem]) -> None:
    """The lifecycle stages, in order (the built-in ones if community.yaml defines none)."""
    lifecycle = data.get("lifecycle")
    items: Iterable[tuple[YamlPath, str, str, Any]]
    if lifecycle is None:
        items = (((), stage, label, source) for stage, label, source in DEFAULT_LIFECYCLE)
    else:
        items = ((base + ("lifecycle", i), s["stage"], s.get("label", s["stage"]), s["if"]) for i, s in enumerate(lifecycle))
    seen_stages: dict[str, YamlPath] = {}
    for where, stage, label, source in items:
        if stage in seen_stages:
            first_line = doc.where(seen_stages[stage] + ("stage",))[0]
            problems.append(doc.problem(where + ("stage",), f"stage `{stage}` is already defined at line {first_line} — a member is in the first stage that matches, so the second can never apply; give it another id or delete it"))
        seen_stages.setdefault(stage, where)
        condition = _condition(doc, where + ("if",), source, env, {"member": MEMBER_FIELDS, "now": None, "community": COMMUNITY_FIELDS}, problems)
        if condition is not None:
            community.lifecycle.append(Stage(stage, label, condition, condition.source))


_TIMEZONE_MISTAKES = ("beijing", "北京", "china", "cst", "utc+8", "gmt+8", "+08:00", "+8", "8", "asia/beijing", "中国")


def _unknown_timezone(name: Any) -> str:
    if str(name).strip().lower() in _TIMEZONE_MISTAKES:
        return f"unknown time zone `{name}` — write `Asia/Shanghai` for China time (an IANA name, not an offset or a city)"
    hint = suggest(name, sorted(available_timezones()))
    return f"unknown time zone `{name}`{hint or ' — write an IANA name such as Asia/Shanghai or Asia/Singapore'}"


def _quiet_hours(doc: Document, path: YamlPath, text: str, problems: list[Problem]) -> tuple[int, int] | None:
    try:
        start, end = (part.strip() for part in text.split("-"))
        minutes = []
        for part in (start, end):
            hours, mins = (int(x) for x in part.split(":"))
            if not (0 <= hours <= 24 and 0 <= mins < 60):
                raise ValueError
            minutes.append(hours * 60 + mins)
        if minutes[0] == minutes[1]:
            raise ValueError
        return minutes[0], minutes[1]
    except ValueError:
        problems.append(doc.problem(path, f"`{text}` is not a time window — write e.g. \"22:00-08:00\""))
        return None


def _share(doc: Document, path: YamlPath, value: Any, problems: list[Problem]) -> float | None:
    """A `holdout:` percentage (the schema checks its form) as a fraction, at most one half."""
    if doc.is_flagged(path) or not isinstance(value, str):
        return None
    share = float(value.strip().rstrip("%")) / 100
    if share > 0.5:
        problems.append(doc.problem(path, f"a holdout of {value.strip()} keeps most members out of the playbook — hold out at most 50%, usually 10%"))
        return None
    return share


def _duration(doc: Document, path: YamlPath, value: Any, problems: list[Problem]) -> int | None:
    try:
        return parse_duration(value)
    except DurationError as exc:
        problems.append(doc.problem(path, str(exc)))
        return None


def _condition(doc: Document, path: YamlPath, source: Any, env: PlaybookEnvironment, fields: Mapping[str, Any], problems: list[Problem]) -> Condition | None:
    text = ("true" if source else "false") if isinstance(source, bool) else str(source)
    found = check_source(env, text, expression=True, fields=fields)
    problems.extend(doc.problem(path, message) for message in found)
    return None if found else Condition(env, text)


def _text(doc: Document, path: YamlPath, source: str, env: PlaybookEnvironment, fields: Mapping[str, Any], problems: list[Problem]) -> Text | None:
    found = check_source(env, source, expression=False, fields=fields)
    problems.extend(doc.problem(path, message) for message in found)
    return None if found else Text(env, source)


def _load_playbook(path: Path, position: int, community: Community | None, registry: Registry, schema: Mapping[str, Any], env: PlaybookEnvironment, problems: list[Problem]) -> tuple[Playbook | None, Document | None]:
    doc = _read(path, problems)
    if doc is None:
        return None, None
    if doc.data is None:
        problems.append(Problem(str(path), 1, 1, "the file is empty — a playbook starts with `playbook: ID` and `rules:`"))
        return None, None
    problems.extend(schema_problems(doc, schema))
    if any(_blocks_rules(place) for place in doc.flagged):
        return None, None  # what the rules are read with is wrong: their meaning cannot be checked
    if community is None:
        return None, None  # its problems are reported; the meaning of rules depends on it
    data = doc.data
    playbook = Playbook(id=data["playbook"], file=str(path), title=data.get("title", ""), description=data.get("description", ""))
    playbook.tests = [] if doc.is_flagged(("tests",)) else list(data.get("tests", []))
    playbook.test_lines = [doc.where(("tests", i))[0] for i in range(len(playbook.tests))]
    stage_names = [stage.stage for stage in community.lifecycle]
    operator_ids = [operator.id for operator in community.operators]
    known_groups = _known_groups(community)
    if "holdout" in data:
        playbook.holdout = _share(doc, ("holdout",), data["holdout"], problems)
    stage_labels = {stage.label: stage.stage for stage in community.lifecycle if stage.label and stage.label != stage.stage}
    default_stages = _stages(doc, ("stages",), data.get("stages"), stage_names, problems, stage_labels)
    group_ids = _ids_by_name(community)
    operator_names = {operator.name: operator.id for operator in community.operators if operator.name and operator.name != operator.id}
    default_groups = _groups(doc, ("groups",), data.get("groups"), known_groups, problems, group_ids)
    default_channel = data.get("channel")
    if default_channel is not None:
        _check_channel(doc, ("channel",), default_channel, registry, problems)
    seen_rules: dict[str, int] = {}
    for index, raw in enumerate(data["rules"]):
        where: YamlPath = ("rules", index)
        if any(place == where[: len(place)] for place in doc.flagged) or doc.is_flagged(where + ("id",)):
            continue  # not a readable rule (e.g. no `when:`, no usable id): already reported
        if raw["id"] in seen_rules:
            first_line = doc.where(("rules", seen_rules[raw["id"]], "id"))[0]
            problems.append(doc.problem(where + ("id",), f"rule id `{raw['id']}` is already used at line {first_line} — give each rule its own id, e.g. `{raw['id']}-2`"))
        seen_rules.setdefault(raw["id"], index)
        readable = {key: value for key, value in raw.items() if not doc.is_flagged(where + (key,))}
        stages = _stages(doc, where + ("stages",), readable["stages"], stage_names, problems, stage_labels) if "stages" in readable else default_stages
        groups = _groups(doc, where + ("groups",), readable["groups"], known_groups, problems, group_ids) if "groups" in readable else default_groups
        if "channel" in readable:
            _check_channel(doc, where + ("channel",), raw["channel"], registry, problems)
        assignee = readable.get("assignee")
        if assignee is not None and assignee not in operator_ids and assignee in operator_names:
            problems.append(doc.problem(where + ("assignee",), f"`{assignee}` is the name of operator {operator_names[assignee]} — write the operator's id here: {operator_names[assignee]}"))
        elif assignee is not None and assignee not in operator_ids:
            problems.append(doc.problem(where + ("assignee",), f"no operator `{assignee}` in community.yaml{suggest(assignee, operator_ids) or ' — operators: ' + (', '.join(operator_ids) or 'none defined; add them under `operators:`')}"))
        entered = readable.get("when", {}).get("stage")
        if isinstance(entered, str) and stages is not None and entered in stage_names and entered not in stages:
            problems.append(doc.problem(where + ("when", "stage"), f"this rule fires when a member enters `{entered}`, but `stages:` allows only {', '.join(sorted(stages))}, so it can never fire — add `{entered}` to `stages:` or remove `stages:`"))
        rule = _load_rule(doc, where, raw, playbook, (position, index), community, registry, env, problems)
        if rule is None:
            continue
        if stages is not None and rule.trigger is not None and not rule.trigger.per_member:
            if "stages" in readable:
                problems.append(doc.problem(where + ("stages",), "`stages:` filters members, but this trigger fires once per group, so the rule could never fire — remove `stages:`, or add `each: member` to the trigger"))
            stages = None  # the playbook's stages speak of members; a group-wide rule is not about one
        rule.stages = stages
        rule.groups = groups
        rule.channel = raw.get("channel", default_channel)
        problems.extend(_channel_problems(doc, where, rule, community, registry))
        playbook.rules.append(rule)
    problems.extend(_test_problems(doc, data.get("tests"), list(seen_rules), known_groups, group_ids))
    return playbook, doc


def _test_problems(doc: Document, tests: Any, rule_ids: list[str], known_groups: list[str] | None, group_ids: Mapping[str, str]) -> list[Problem]:
    """A test's expected (or absent) task naming a rule the playbook does not have, or a group
    community.yaml does not declare: it could never match, and `playbook test` would say only
    that the task was not planned."""
    found: list[Problem] = []
    if not isinstance(tests, list):
        return found
    for number, test in enumerate(tests):
        for part in ("expect", "absent") if isinstance(test, dict) else ():
            expectations = test.get(part)
            for index, expected in enumerate(expectations if isinstance(expectations, list) else ()):
                where: YamlPath = ("tests", number, part, index)
                if not isinstance(expected, dict):
                    continue
                rule_id = expected.get("rule")
                if isinstance(rule_id, str) and rule_id not in rule_ids and not doc.is_flagged(where + ("rule",)):
                    found.append(doc.problem(where + ("rule",), f"no rule `{rule_id}` in this playbook{suggest(rule_id, rule_ids) or ' — its rules: ' + ', '.join(rule_ids)}"))
                group = expected.get("group")
                if isinstance(group, str) and known_groups is not None and group not in known_groups and not doc.is_flagged(where + ("group",)):
                    if group in group_ids:
                        found.append(doc.problem(where + ("group",), f"`{group}` is the name of group {group_ids[group]} — a task names its group by id: {group_ids[group]}"))
                    else:
                        found.append(doc.problem(where + ("group",), f"group `{group}` is not in community.yaml `groups:`{suggest(group, known_groups) or ' — groups: ' + ', '.join(known_groups)}"))
    return found


def _channels_of(rule: Rule, community: Community) -> list[str]:
    """Every channel the rule's tasks may be planned on."""
    if rule.channel:
        return [rule.channel]
    if rule.groups is not None:
        return sorted({community.group_channels.get(group, community.channel) for group in rule.groups})
    return sorted({community.channel, *community.group_channels.values()})


def _channel_problems(doc: Document, where: YamlPath, rule: Rule, community: Community, registry: Registry) -> list[Problem]:
    """Actions a channel cannot carry out, and texts longer than it allows."""
    found = []
    for name in _channels_of(rule, community):
        channel = registry.channels.get(name)
        if channel is None:
            continue  # reported where the channel is named
        for action in rule.actions:
            place = where + ("do", action.index, action.kind.name)
            needs = action.kind.needs
            if needs is not None and needs not in channel.capabilities:
                can = ", ".join(sorted(channel.capabilities))
                found.append(doc.problem(place, f"channel `{name}` cannot {needs} ({action.kind.name}) — it can: {can}; use another action, or set `channel:` on this rule to one that can"))
            texts = action.text.texts if isinstance(action.text, Variants) else [action.text] if action.text is not None else []
            for text in texts:
                static = _static_length(text.source)
                if static > channel.max_length:
                    found.append(doc.problem(place, f"text is at least {static} characters, longer than the {channel.max_length} that `{name}` allows in one message — shorten it or split it into two actions"))
    return found


_TAG_CLOSERS = {"{{": "}}", "{%": "%}", "{#": "#}"}
_TAG_OPENER = re.compile(r"\{[{%#]")


def _static_length(source: str) -> int:
    """Characters of a template outside its {{ … }}, {% … %} and {# … #} parts: the least it
    can render to. One pass: a tag with no closer is text, and so is every later one of its kind."""
    kept: list[str] = []
    index, unclosed = 0, set()
    while (opener := _TAG_OPENER.search(source, index)) is not None:
        start = opener.start()
        closer = _TAG_CLOSERS[opener.group()]
        end = -1 if closer in unclosed else source.find(closer, start + 2)
        if end == -1:
            unclosed.add(closer)
            kept.append(source[index : start + 1])
            index = start + 1
            continue
        kept.append(source[index:start])
        index = end + 2
    kept.append(source[index:])
    return len("".join(kept).strip())


def _blocks_rules(place: YamlPath) -> bool:
    """Whether a problem at ``place`` keeps the rules from being checked (a misspelled title does not)."""
    if not place or place[0] in ("playbook", "stages", "groups", "channel"):
        return True
    return place[0] == "rules" and (len(place) < 2 or not isinstance(place[1], int))


def _known_groups(community: Community) -> list[str] | None:
    """The group ids community.yaml declares under `groups:`, or None when it declares none."""
    return sorted(community.group_names) if community.group_names else None


def _groups(doc: Document, path: YamlPath, names: list[str] | None, known: list[str] | None, problems: list[Problem], named: Mapping[str, str] | None = None) -> frozenset[str] | None:
    """``names`` checked against the group ids community.yaml declares; ``named``: its groups' ids by name."""
    if names is None:
        return None
    for offset, name in enumerate(names):
        if known is not None and name not in known:
            if named and name in named:
                problems.append(doc.problem(path + (offset,), f"`{name}` is the name of group {named[name]} — write its id here: {named[name]}"))
                continue
            problems.append(doc.problem(path + (offset,), f"group `{name}` is not in community.yaml `groups:`, so this can never apply{suggest(name, known) or ' — groups: ' + ', '.join(known) + '; add it there if it is a new group'}"))
    return frozenset(names)


def _ids_by_name(community: Community) -> dict[str, str]:
    """community.yaml's groups by name: a group written by its name where its id belongs is told its id."""
    return {name: group for group, name in community.group_names.items() if name and name != group}


def _stages(doc: Document, path: YamlPath, names: list[str] | None, known: list[str], problems: list[Problem], labels: Mapping[str, str] | None = None) -> frozenset[str] | None:
    """``names`` checked against the lifecycle's stages; ``labels``: each stage by its label (新手期 → newbie)."""
    if names is None:
        return None
    for offset, name in enumerate(names):
        if labels and name not in known and name in labels:
            problems.append(doc.problem(path + (offset,), f"`{name}` is the label of stage {labels[name]} — write the stage here: {labels[name]}"))
            continue
        if name not in known:
            problems.append(doc.problem(path + (offset,), f"stage `{name}` is not defined in community.yaml lifecycle, so this can never apply{suggest(name, known) or ' — stages: ' + ', '.join(known)}"))
    return frozenset(names)


def _check_stages_compared(doc: Document, where: YamlPath, raw: dict[str, Any], conditions: list[Condition], community: Community, env: PlaybookEnvironment, problems: list[Problem]) -> None:
    """An `if:` comparing `member.stage` with a name the lifecycle does not define (a typo:
    `member.stage == 'newbee'`) is never true: said at the condition, as `stages:` is."""
    known = [stage.stage for stage in community.lifecycle]
    if not known:
        return
    listed = isinstance(raw.get("if"), list)
    sources = raw.get("if") if listed else [raw.get("if")]
    compiled = {condition.source for condition in conditions}
    for offset, source in enumerate(sources or ()):
        if not isinstance(source, str) or source not in compiled:
            continue  # not a condition that compiled: its problems are said already
        for name in stages_compared(env, source):
            if name not in known:
                problems.append(doc.problem(where + (("if", offset) if listed else ("if",)), f"stage `{name}` is not defined in community.yaml lifecycle, so `member.stage` is never `{name}`{suggest(name, known) or ' — stages: ' + ', '.join(known)}"))


def _check_channel(doc: Document, path: YamlPath, name: str, registry: Registry, problems: list[Problem]) -> None:
    if name not in registry.channels:
        problems.append(doc.problem(path, f"unknown channel `{name}`{suggest(name, registry.channels) or ' — installed: ' + ', '.join(sorted(registry.channels))}"))


def _load_rule(doc: Document, where: YamlPath, raw: dict[str, Any], playbook: Playbook, order: tuple[int, int], community: Community, registry: Registry, env: PlaybookEnvironment, problems: list[Problem]) -> Rule | None:
    before = len(problems)
    when_unchecked = doc.is_flagged(where + ("when",))
    trigger = None if when_unchecked else _trigger(doc, where, raw, playbook, community, registry, env, problems)
    # A trigger that could not be read may well provide `event`: do not report its use then.
    uses_event = bool(trigger is not None and trigger.uses_event) or when_unchecked
    fields = {
        "member": MEMBER_FIELDS,
        "group": GROUP_FIELDS,
        "now": None,
        "community": ("name", "timezone", "channel"),
        "content": tuple(community.content),
        "trigger": None,
        **({"event": EVENT_TEMPLATE_FIELDS} if uses_event else {}),
    }
    # Every problem of the rule is found before giving up on it (all problems at once).
    conditions = _rule_conditions(doc, where, raw, env, fields, problems)
    _check_stages_compared(doc, where, raw, conditions, community, env, problems)
    actions = _rule_actions(doc, where, raw, registry, env, fields, problems)
    _check_into_groups(doc, where, actions, community, problems)
    if trigger is None:
        return None  # its problems are said (or `when:` was flagged by the schema check)
    rule = Rule(
        playbook=playbook.id,
        id=raw["id"],
        trigger=trigger,
        conditions=conditions,
        actions=actions,
        file=doc.file,
        line=doc.where(where)[0],
        order=order,
        title=raw.get("title", ""),
        description=raw.get("description", ""),
        priority=raw.get("priority", "normal"),
        once=bool(raw.get("once", False)),
        recheck=raw.get("recheck", True) is not False,
        until=raw.get("until") if raw.get("until") == "replied" else None,
        assignee=raw.get("assignee"),
        not_on=off_kinds(raw.get("not_on")),
    )
    if "cooldown" in raw and not doc.is_flagged(where + ("cooldown",)):
        rule.cooldown = _duration(doc, where + ("cooldown",), raw["cooldown"], problems)
    if "delay" in raw and not doc.is_flagged(where + ("delay",)):
        rule.delay = _duration(doc, where + ("delay",), raw["delay"], problems) or 0
    if "deadline" in raw and not doc.is_flagged(where + ("deadline",)):
        rule.deadline = _duration(doc, where + ("deadline",), raw["deadline"], problems)
        if rule.deadline is not None and rule.deadline < rule.delay:
            problems.append(doc.problem(where + ("deadline",), f"deadline {format_duration(rule.deadline)} is shorter than delay {format_duration(rule.delay)}: every task would be past its deadline before it is due — write a deadline longer than the delay"))
    elif rule.delay and "delay" in raw:
        late = _past_default_deadline(trigger, rule.delay)
        if late is not None:
            problems.append(doc.problem(where + ("delay",), f"delay {format_duration(rule.delay)} is past {late}: every task would be dropped before it is due — write `deadline:` longer than the delay (e.g. `deadline: {format_duration(rule.delay + 86400)}`)"))
    if rule.deadline is None and rule.priority != "urgent" and trigger.default_deadline == "day" and community.quiet_hours is not None and len(problems) == before:
        _check_quiet_instants(doc, where, raw, trigger, rule.delay, community.quiet_hours, problems)
    return rule if len(problems) == before else None


def _check_quiet_instants(doc: Document, where: YamlPath, raw: dict[str, Any], trigger: TriggerType, delay: int, quiet: tuple[int, int], problems: list[Problem]) -> None:
    """A trigger that fires only at some times of day (a cron), all of them late enough that
    quiet hours move the task into the next day — past the end of the trigger's day, its
    default deadline — plans nothing: `schedule: "30 22 * * *"` with quiet hours 22:00-08:00."""
    minutes = trigger.fire_minutes()
    start, end = quiet
    if not minutes or start <= end:
        return  # any time of day; or quiet hours that end the same day they start
    if all(minute + delay // 60 >= start for minute in minutes):  # at or after the start: moved into the next day (or there already)
        window = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
        problems.append(doc.problem(where + ("when", trigger.name) if trigger.name in raw["when"] else where + ("when",), (
            f"every time it fires{' (after the delay)' if delay else ''} is inside quiet hours {window}, which move its tasks to the next morning,"
            " past their deadline (the end of the day it fired): every task would be dropped — fire it before quiet hours begin, or give the rule"
            " `deadline: 12h` to send them in the morning, or `priority: urgent` to send them at once"
        )))


def _past_default_deadline(trigger: TriggerType, delay: int) -> str | None:
    """What a rule's ``delay`` always falls past when the rule gives no `deadline:`, if it
    does: the trigger's default deadline (docs/why-dropped.md), a duration after the trigger,
    or the end of the trigger's local day, which no delay of a day or more can reach."""
    default = trigger.default_deadline
    name = trigger.name or type(trigger).__name__
    if default == "day":
        return f"the end of the trigger's local day, the default deadline for `{name}`" if delay >= 86400 else None
    seconds = parse_duration(default)
    return f"the default deadline for `{name}`, {format_duration(seconds)} after the trigger" if delay > seconds else None


def _check_into_groups(doc: Document, where: YamlPath, actions: list[ActionSpec], community: Community, problems: list[Problem]) -> None:
    """An action into a group (`invite: {group: …}`) names a group community.yaml declares, by
    id or name, when it declares any: otherwise the task invites into a group nobody runs."""
    if not community.group_names:
        return
    known = {*community.group_names, *community.group_names.values()}
    for action in actions:
        option = action.kind.into_group
        value = action.params.get(option) if option else None
        if isinstance(value, str) and value not in known:
            listed = ", ".join(f"{group_id} ({name})" if name != group_id else group_id for group_id, name in sorted(community.group_names.items()))
            hint = suggest(value, sorted(known)) or f" — write the id or name of one of: {listed}; or add it to community.yaml `groups:`"
            problems.append(doc.problem(where + ("do", action.index, action.kind.name, option), f"group `{value}` is not in community.yaml `groups:`{hint}"))


def _trigger(doc: Document, where: YamlPath, raw: dict[str, Any], playbook: Playbook, community: Community, registry: Registry, env: PlaybookEnvironment, problems: list[Problem]) -> TriggerType | None:
    """The rule's trigger, built from its `when:` (None, with the problems said, if it cannot be)."""
    when = raw["when"]
    trigger_names = [key for key in when if key in registry.triggers]
    if len(trigger_names) != 1:
        what = "no trigger" if not trigger_names else "triggers " + ", ".join(f"`{n}`" for n in trigger_names)
        problems.append(doc.problem(where + ("when",), f"`when:` holds {what} — write exactly one of: {', '.join(sorted(registry.triggers))}"))
        return None
    name = trigger_names[0]
    trigger_type = registry.triggers[name]
    options = {key: value for key, value in when.items() if key != name}
    for key in options:
        if key not in trigger_type.options:
            owner = next((t.name for t in registry.triggers.values() if key in t.options), None)
            hint = f" — `{key}` belongs with `{owner}`" if owner else ""
            problems.append(doc.problem(where + ("when", key), f"`{key}` is not an option of `{name}`{hint}", key=True))
    try:
        return trigger_type(when[name], options, TriggerContext(f"{playbook.id}/{raw['id']}", community, env))
    except TriggerProblem as exc:
        problems.extend(doc.problem(where + ("when", exc.key or name), message) for message in exc.problems)
        return None


def _rule_conditions(doc: Document, where: YamlPath, raw: dict[str, Any], env: PlaybookEnvironment, fields: Mapping[str, Any], problems: list[Problem]) -> list[Condition]:
    """The rule's `if:`, one condition or a list of them."""
    sources = raw.get("if")
    sources = sources if isinstance(sources, list) else ([] if sources is None else [sources])
    conditions = []
    for offset, source in enumerate(sources):
        path = where + ("if", offset) if isinstance(raw.get("if"), list) else where + ("if",)
        if doc.is_flagged(path):
            continue
        condition = _condition(doc, path, source, env, fields, problems)
        if condition is not None:
            conditions.append(condition)
    return conditions


def _rule_actions(doc: Document, where: YamlPath, raw: dict[str, Any], registry: Registry, env: PlaybookEnvironment, fields: Mapping[str, Any], problems: list[Problem]) -> list[ActionSpec]:
    """The rule's `do:`, each action with its text checked and its options apart."""
    actions = []
    for offset, item in enumerate([] if doc.is_flagged(where + ("do",)) and not isinstance(raw["do"], list) else raw["do"]):
        if doc.is_flagged(where + ("do", offset)):
            continue
        (name, value), = item.items()
        action_type = registry.actions[name]
        path = where + ("do", offset, name)
        if isinstance(value, (str, list)):
            value = {action_type.value_key: value}
        value = value or {}
        text_source = value.get("text")
        params = {key: item for key, item in value.items() if key != "text"}
        if text_source is None and action_type.text_required:
            problems.append(doc.problem(path, f"`{name}` needs a text — write `- {name}: \"…\"`"))
        text: Text | Variants | None = None
        if isinstance(text_source, list):  # variants, used in turn (expressions.Variants)
            at = path if isinstance(item[name], list) else path + ("text",)
            texts = [_text(doc, at + (index,), source, env, fields, problems) for index, source in enumerate(text_source)]
            text = Variants([found for found in texts if found is not None]) if all(texts) and texts else None
        elif text_source is not None:
            text = _text(doc, path + ("text",), text_source, env, fields, problems)
        if action_type.text_in_apply and text is not None:
            params["text"] = text  # its apply renders it (contract.ActionType.text_in_apply)
        actions.append(ActionSpec(action_type, text, params, offset))
    return actions


def tag_order_warnings(config: Config) -> list[str]:
    """Rules that read, in ``if:``, a tag an earlier rule gives on the same event: at one
    event the firings are handled one after another (priority, then file order) and a tag is
    given at its firing, so the later rule already sees it at the event that gave it — "warn,
    and remove on the second offence" written in that order removes at the first. Each as
    `file:line: what happens — what to write`."""
    rules = sorted(config.rules, key=lambda rule: rule.precedence)
    warnings = []
    for position, giver in enumerate(rules):
        # A tag its own `if:` asks the member to have is given again, not newly: nothing changes.
        given = [tag for action in giver.actions if action.kind.gives_tags for tag in _tags_of(action.params) if not any(_holds_tag(condition.source, tag) for condition in giver.conditions)]
        if not given or not giver.trigger.fires_at_event:
            continue
        for reader in rules[position + 1 :]:
            if not (reader.trigger.fires_at_event and giver.trigger.listens & reader.trigger.listens):
                continue
            read = [tag for tag in given if any(_holds_tag(condition.source, tag) for condition in reader.conditions)]
            if read:
                event = "/".join(sorted(giver.trigger.listens & reader.trigger.listens))
                warnings.append(
                    f"{reader.file}:{reader.line}: rule `{reader.id}` asks whether the member has the tag `{read[0]}`, which rule `{giver.key}` "
                    f"gives on the same `{event}` event and is handled first — at the event that gives the tag, `{reader.id}` already sees it "
                    f"(a first offence taken for a second); put `{reader.id}` before `{giver.id}`, or give it a higher `priority:`"
                )
    return warnings


# The years `off_day_warnings` looks at: which festivals and weekdays fall on days off is much
# the same from one year to the next (the statutory festivals are days off every year).
_WARNING_YEARS = (2026, 2027)


def off_day_warnings(config: Config) -> list[str]:
    """Rules whose `not_on:` skips most of their tasks: a `holiday` greeting on a festival that
    is a day off, or a `schedule` that fires on the weekend with `not_on: weekends`. Their tasks
    are worth nothing after their day (no `deadline:`), so they are skipped, not moved: an
    operator who put `not_on: holidays` on every rule loses the 春节 greeting without a word.
    Each as `file:line: what happens — what to write`."""
    warnings = []
    for rule in config.rules:
        if rule.not_on is None or rule.deadline is not None or rule.trigger.default_deadline != "day":
            continue
        off = off_days(rule.not_on, config.community.country, config.community.language)
        days = _firing_days(rule.trigger, config.community.tz)
        if not days:
            continue
        skipped = [(day, name) for day, name in days if off.name(day.toordinal()) is not None]
        kinds = sorted(rule.not_on)
        kept_off = f"`not_on: {kinds[0]}`" if len(kinds) == 1 else f"`not_on: [{', '.join(kinds)}]`"
        if rule.trigger.name == "holiday" and skipped:
            names = "、".join(dict.fromkeys(name for _, name in skipped))
            warnings.append(
                f"{rule.file}:{rule.line}: rule `{rule.id}` greets on {names}, days its {kept_off} keeps tasks off — "
                f"those greetings are skipped, not moved (worth nothing after their day); take `not_on` off this rule, or give it a `deadline:` to send them after the break"
            )
        elif rule.trigger.name != "holiday" and 2 * len(skipped) > len(days):
            warnings.append(
                f"{rule.file}:{rule.line}: rule `{rule.id}`'s schedule falls on days its {kept_off} keeps tasks off ({len(skipped)} of its {len(days)} days in {_WARNING_YEARS[0]}–{_WARNING_YEARS[-1]}) — "
                f"those tasks are skipped, not moved (worth nothing after their day); choose other days in its schedule, take `not_on` off, or give it a `deadline:` to send them after"
            )
    return warnings


def _firing_days(trigger: Any, tz: ZoneInfo) -> list[tuple[date, str]]:
    """(local day, what it is) of each day in ``_WARNING_YEARS`` a `holiday` or `schedule`
    trigger fires on; [] for other triggers."""
    if trigger.name == "holiday":
        from playbook_engine.festivals import festivals_in_year, label

        return [(day, label(key, trigger.country)) for year in _WARNING_YEARS for day, key in festivals_in_year(year, trigger.country) if trigger.keys is None or key in trigger.keys]
    cron = getattr(trigger, "cron", None)
    if trigger.name != "schedule" or not isinstance(cron, str):
        return []
    from croniter import croniter

    first = datetime(_WARNING_YEARS[0], 1, 1, tzinfo=tz)
    end = datetime(_WARNING_YEARS[-1] + 1, 1, 1, tzinfo=tz)
    days: dict[date, str] = {}
    moment = croniter(cron, first - timedelta(seconds=1)).get_next(datetime)
    for _ in range(1000):  # a schedule of every few minutes: a fair sample of its days is enough
        if moment >= end:
            break
        days.setdefault(moment.date(), "")
        # On to the next day it fires: what it does within a day does not change the answer.
        moment = croniter(cron, datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), tz) - timedelta(seconds=1)).get_next(datetime)
    return list(days.items())


# A web address left as the example it was copied from: a reserved example domain (RFC 2606:
# example.com/.net/.org, *.example, *.invalid, *.test) or a "your-…"/"xxx" stand-in in it.
_PLACEHOLDER_HOST = re.compile(r"(?:^|\.)(?:example\.(?:com|net|org)|[^.]+\.(?:example|invalid|test)|localhost)$")
_PLACEHOLDER_WORDS = re.compile(r"your[-_]?(?:form|link|id|domain|site|url|group|code)|\byour[-_]|xxxx?|替换|换成", re.IGNORECASE)


def placeholder_warnings(config: Config) -> list[str]:
    """The web addresses the playbooks and content.yaml write that are an example left in place
    (``https://wj.qq.com/s2/your-form-id``): every task would carry a dead link. Each as
    `file:line:col: what is wrong — what to write`, where the address is written."""
    placeholders = sorted(link for link in config.links() if _is_placeholder(link))
    if not placeholders:
        return []
    files = [config.community.file, str(Path(config.community.file).parent / CONTENT_FILE), *(playbook.file for playbook in config.playbooks)]
    warnings = []
    for path in dict.fromkeys(files):
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for number, line in enumerate(lines, 1):
            text = line.split("#", 1)[0] if line.lstrip().startswith("#") else line
            for link in placeholders:
                column = text.find(link)
                if column >= 0:
                    warnings.append(f"{path}:{number}:{column + 1}: `{link}` looks like an example address left in place — every task that carries it sends a dead link; write your own (a form, a page, a group QR code)")
    return warnings


def _is_placeholder(link: str) -> bool:
    """Whether web address ``link`` is an example's stand-in rather than a real address."""
    host = link.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0].lower()
    return _PLACEHOLDER_HOST.search(host) is not None or _PLACEHOLDER_WORDS.search(link) is not None


def _tags_of(params: Mapping[str, Any]) -> list[str]:
    tags = params.get("tags", [])
    return [tags] if isinstance(tags, str) else [tag for tag in tags if isinstance(tag, str)]


def _holds_tag(source: str, tag: str) -> bool:
    """Whether condition ``source`` asks that the member has ``tag`` (``'warned' in member.tags``)."""
    return re.search(r"""(?<![\w'"])['"]""" + re.escape(tag) + r"""['"]\s+in\s+member\.tags\b""", source) is not None

