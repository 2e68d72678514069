"""Generate a realistic, deterministic community event stream in the native JSON Lines format.

The stream imitates what an export of a large community looks like:

- heavy-tailed activity: per-member rates are Pareto-distributed, a share of members are
  lurkers who almost never speak, so a few KOLs write a large part of the messages;
- members already present before the history starts (first seen by a message, no join),
  others joining in waves (campaign days, clustered around one evening hour), some leaving
  (``left`` or ``removed``) and some fading into silence, so silence and stage timers fire;
- questions (texts matching the default ``community.question`` patterns), replies that
  answer them or earlier messages (``reply_to`` an earlier id of the same group), mentions
  of recent speakers, reactions, profiles (tags, attributes), purchases;
- activities per group: ``activity_started``, ``activity_joined`` by engaged members,
  ``activity_ended`` with the ``participants``;
- several groups of heavy-tailed sizes; a daily rhythm (morning, lunch, evening peaks) and
  quieter weekends.

The same options and seed give the same bytes. The output is streamed day by day, so a
million events need only one day of events in memory.

``--next-day EVENTS`` writes instead the day after that history, in the same community: the
same members and groups, message ids and conversations continuing where the history ended,
a few new members joining and some leaving — the daily increment a ``--state`` run reads.

Example: python bench/generate.py --events 100000 --members 10000 --groups 20 --days 90 --seed 1 --out bench/out/100k.jsonl
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

GENERATOR_VERSION = 1  # bump when the output for a given seed changes: cached streams are named by it

OFFSET = "+08:00"
DAY = 86400

# Shares of the event budget taken by structural events (capped so a small stream is mostly chatter).
JOIN_SHARE = 0.04
LEAVE_SHARE = 0.008
ACTIVITY_SHARE = 0.03

NEW_MEMBER_SHARE = 0.35  # members who join during the history; the rest were there before it
LEAVER_SHARE = 0.06
LURKER_SHARE = 0.45
FADER_SHARE = 0.3  # members whose activity drops to almost nothing at some day (silence, decline, churn)
SECOND_GROUP_SHARE = 0.12
MAX_RATE = 3000.0
NEVER = 1 << 30  # a day after every day generated: never leaves, never fades

# Within a day: relative activity per local hour (quiet at night, peaks at 9, 12 and 20–22).
HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 4, 8, 14, 18, 16, 15, 18, 16, 12, 12, 13, 14, 15, 18, 22, 24, 20, 9)
WEEKDAY_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.05, 0.8, 0.75)  # Monday … Sunday

CHATTER = (
    "今天读完了《置身事内》第三章，讲地方债那段很透彻", "打卡：今天读了40页", "收藏了", "刚下班，补一下聊天记录",
    "同意楼上", "谢谢分享！", "晚安各位", "这段话太戳我了", "周末的线下读书会我报名了", "推荐一本《我的职业是小说家》",
    "早上好～", "哈哈哈哈", "这个观点我不太认同，作者忽略了执行层面的成本", "学到了", "👍", "今天的共读进度跟上了",
    "分享一篇文章，讲得挺好的 https://example.com/post", "第一次在群里发言，大家好", "这周太忙了，周末补上",
    "+1", "我也是这么想的", "刚看完纪录片，推荐给大家", "笔记整理好了，放在群文件里", "明天见",
)
QUESTIONS = (
    "请问这周的共读书目是哪本？", "有人知道线下活动在哪里吗？", "怎么加入打卡小组", "如何才能坚持每天读书呢",
    "新人想问一下群文件在哪？", "请问电子版去哪里下载", "这本书适合零基础吗？", "周末的活动还有名额吗",
    "笔记模板怎么用？", "如何申请成为领读人", "下一期主题定了吗？", "有没有推荐的入门书？",
)
REPLIES = (
    "在群公告里，置顶第一条", "可以看看群文件里的进度表", "我去年读过，挺适合入门的", "私信你了",
    "@群主 可以回答一下", "还有名额，直接报名就行", "我一般用番茄钟，每天半小时", "下周一会发通知",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("小", "阿", "老", "大")
NAME_CHARS = "明华芳娟敏静丽强磊军洋勇艳杰娜涛超秀霞平刚桂英晨悦"
LATIN_NAMES = ("Emma", "Leo", "Amy", "Jack", "Lily", "Tom", "Coco", "Kevin", "Vivian", "Max")
CITIES = ("北京", "上海", "杭州", "深圳", "成都", "广州", "武汉", "南京")
ROLES = ("C端", "B端", "学生", "老师")


@dataclass(frozen=True)
class Options:
    events: int = 10_000
    members: int = 1_000
    groups: int = 5
    days: int = 90
    seed: int = 1
    start: date = date(2026, 3, 1)
    # > 0: the stream is not the history but the day after it, with this many events (the
    # history is generated first and discarded, so everything continues from it).
    next_day: int = 0


class _Community:
    """Who the members are, when each is present, how active, and in which groups."""

    def __init__(self, options: Options, rng: random.Random):
        n, g, days = options.members, options.groups, options.days
        self.n, self.days = n, days
        group_weights = [1 / (rank + 1) ** 0.9 for rank in range(g)]
        group_cum = list(itertools.accumulate(group_weights))
        self.home = [bisect.bisect(group_cum, rng.random() * group_cum[-1]) for _ in range(n)]
        self.second = [rng.randrange(g) if g > 1 and rng.random() < SECOND_GROUP_SHARE else -1 for _ in range(n)]
        rates = []
        for _ in range(n):
            rate = min(rng.paretovariate(1.2), MAX_RATE)
            if rng.random() < LURKER_SHARE:
                rate *= 0.03
            rates.append(rate)
        self.cum_rates = list(itertools.accumulate(rates))
        # Presence: joiners arrive on a day (clustered on campaign days), leavers go on a later one.
        self.start_day = [-1] * n  # -1: there before the history begins
        self.end_day = [NEVER] * n  # leaves on this day
        self.fade_day = [NEVER] * n
        budget_joins = int(options.events * JOIN_SHARE)
        budget_leaves = int(options.events * LEAVE_SHARE)
        joiners = rng.sample(range(n), min(int(n * NEW_MEMBER_SHARE), budget_joins))
        waves = sorted(rng.sample(range(days), max(1, days // 14)))
        self.joins: dict[int, list[int]] = {}
        for member in joiners:
            if rng.random() < 0.7:
                day = min(days - 1, rng.choice(waves) + int(rng.expovariate(1.0)))
            else:
                day = rng.randrange(days)
            self.start_day[member] = day
            self.joins.setdefault(day, []).append(member)
        self.wave_days = set(waves)
        self.leaves: dict[int, list[int]] = {}
        for member in rng.sample(range(n), min(int(n * LEAVER_SHARE), budget_leaves)):
            first = self.start_day[member] + 1
            if first < days:
                day = rng.randrange(first, days)
                self.end_day[member] = day
                self.leaves.setdefault(day, []).append(member)
        for member in rng.sample(range(n), int(n * FADER_SHARE)):
            self.fade_day[member] = rng.randrange(days)

    def add_member(self, day: int, group_cum: list[float], rng: random.Random) -> int:
        """A new member (beyond the history's population) who joins on ``day``; their index."""
        member = self.n
        self.n += 1
        self.home.append(bisect.bisect(group_cum, rng.random() * group_cum[-1]))
        self.second.append(-1)
        rate = min(rng.paretovariate(1.2), MAX_RATE)
        self.cum_rates.append(self.cum_rates[-1] + rate)
        self.start_day.append(day)
        self.end_day.append(NEVER)
        self.fade_day.append(NEVER)
        self.joins.setdefault(day, []).append(member)
        return member

    def chatty_on(self, member: int, day: int, rng: random.Random) -> bool:
        """Whether ``member`` may write on ``day`` (joined earlier, not gone, not faded away)."""
        if not self.start_day[member] < day < self.end_day[member]:
            return False
        return day < self.fade_day[member] or rng.random() < 0.03


class Generator:
    """Yield events as JSON-ready dicts in time order, one local day at a time."""

    def __init__(self, options: Options):
        if options.events < 0 or options.members < 1 or options.groups < 1 or options.days < 1:
            raise ValueError("--events must be ≥ 0 and --members, --groups, --days ≥ 1")
        self.options = options
        self.rng = random.Random(options.seed)
        self.community = _Community(options, self.rng)
        self.names = [_name(member, options.seed) for member in range(options.members)]
        self.hour_cum = list(itertools.accumulate(HOUR_WEIGHTS))
        self.message_seq = 0
        self.activity_seq = 0
        # Per group: recent messages (id, member) to reply to, recent speakers to mention, open questions.
        self.recent: list[deque[tuple[str, int]]] = [deque(maxlen=40) for _ in range(options.groups)]
        self.speakers: list[deque[int]] = [deque(maxlen=30) for _ in range(options.groups)]
        self.open_questions: list[deque[tuple[str, int, int]]] = [deque(maxlen=10) for _ in range(options.groups)]
        self.activity_plan = self._plan_activities()
        self.chatter_per_day = self._allocate_chatter()

    # -- planning ------------------------------------------------------------------------

    def _plan_activities(self) -> dict[int, list[tuple[int, int]]]:
        """day → [(group, participants wanted)]: each group holds an activity about weekly."""
        options, rng = self.options, self.rng
        budget = int(options.events * ACTIVITY_SHARE)
        plan: dict[int, list[tuple[int, int]]] = {}
        used = 0
        for day in range(options.days):
            for group in range(options.groups):
                if rng.random() < 1 / 7:
                    wanted = 3 + int(rng.paretovariate(1.5) * 3)
                    cost = 2 + wanted
                    if used + cost > budget:
                        continue
                    used += cost
                    plan.setdefault(day, []).append((group, wanted))
        return plan

    def _structural_upper_bound(self, day: int) -> int:
        community = self.community
        activities = sum(2 + wanted for _, wanted in self.activity_plan.get(day, ()))
        return len(community.joins.get(day, ())) + len(community.leaves.get(day, ())) + activities

    def _allocate_chatter(self) -> list[int]:
        """Messages, reactions … per day: the event budget left after structural events, by weekday."""
        options = self.options
        structural = [self._structural_upper_bound(day) for day in range(options.days)]
        remaining = max(0, options.events - sum(structural))
        weights = [WEEKDAY_WEIGHTS[(options.start + timedelta(days=day)).weekday()] * (1 + 0.3 * day / options.days) for day in range(options.days)]
        total = sum(weights)
        shares = [remaining * weight / total for weight in weights]
        counts = [int(share) for share in shares]
        # Largest remainders first, so the days add up to exactly the budget.
        for day in sorted(range(options.days), key=lambda d: counts[d] - shares[d])[: remaining - sum(counts)]:
            counts[day] += 1
        return counts

    # -- one day ----------------------------------------------------------------------------

    def events(self) -> Iterator[dict[str, Any]]:
        """The history's days; with ``next_day``, only the day after them."""
        history = (record for day in range(self.options.days) for record in self._day(day))
        if not self.options.next_day:
            yield from history
            return
        for _ in history:
            pass  # the rng, ids, open questions and recent speakers continue from the history
        yield from self._day(self._plan_next_day(self.options.next_day))

    def _plan_next_day(self, events: int) -> int:
        """Plan the day after the history like one of its days, for ``events`` events; its index.

        New members (beyond ``members``) join, some present members leave, groups hold their
        activities, and the rest of the budget is chatter by the members still there.
        """
        options, rng, community = self.options, self.rng, self.community
        day = options.days
        group_weights = [1 / (rank + 1) ** 0.9 for rank in range(options.groups)]
        group_cum = list(itertools.accumulate(group_weights))
        for _ in range(int(events * JOIN_SHARE)):
            member = community.add_member(day, group_cum, rng)
            self.names.append(_name(member, options.seed))
        present = [member for member in range(options.members) if community.start_day[member] < day and community.end_day[member] == NEVER]
        for member in rng.sample(present, min(len(present), int(events * LEAVE_SHARE))):
            community.end_day[member] = day
            community.leaves.setdefault(day, []).append(member)
        budget, used = int(events * ACTIVITY_SHARE), 0
        for group in range(options.groups):
            if rng.random() < 1 / 7:
                wanted = 3 + int(rng.paretovariate(1.5) * 3)
                if used + 2 + wanted <= budget:
                    used += 2 + wanted
                    self.activity_plan.setdefault(day, []).append((group, wanted))
        self.chatter_per_day.append(max(0, events - self._structural_upper_bound(day)))
        return day

    def _second_of_day(self) -> int:
        hour = bisect.bisect(self.hour_cum, self.rng.random() * self.hour_cum[-1])
        return hour * 3600 + self.rng.randrange(3600)

    def _day(self, day: int) -> Iterator[dict[str, Any]]:
        rng, community = self.rng, self.community
        skeleton: list[tuple[int, int, str, int, Any]] = []  # (second, order, kind, member/group, extra)
        order = itertools.count()
        wave_second = 19 * 3600 + rng.randrange(3 * 3600)
        for member in community.joins.get(day, ()):
            if day in community.wave_days or rng.random() < 0.5:
                second = min(DAY - 1, max(0, int(rng.gauss(wave_second, 1800))))
            else:
                second = self._second_of_day()
            skeleton.append((second, next(order), "member_joined", member, None))
        for member in community.leaves.get(day, ()):
            skeleton.append((self._second_of_day(), next(order), "member_left", member, None))
        wanted = self.chatter_per_day[day]
        for group, places in self.activity_plan.get(day, ()):
            # Participants are engaged members: recent speakers of the group who are still in it.
            candidates = [m for m in dict.fromkeys(self.speakers[group]) if community.start_day[m] < day < community.end_day[m]]
            participants = sorted(rng.sample(candidates, min(places, len(candidates))))
            wanted += places - len(participants)  # unfilled places go to chatter: the total stays exact
            begin = 19 * 3600 + 30 * 60 + rng.randrange(3600)
            self.activity_seq += 1
            skeleton.append((begin, next(order), "activity", group, (self.activity_seq, participants, begin)))
        population = range(community.n)
        while wanted > 0:
            drawn = rng.choices(population, cum_weights=community.cum_rates, k=wanted + 16)
            for member in drawn:
                if wanted and community.chatty_on(member, day, rng):
                    skeleton.append((self._second_of_day(), next(order), "chatter", member, None))
                    wanted -= 1
            if wanted and not any(community.chatty_on(m, day, rng) for m in rng.sample(population, min(community.n, 200))):
                break  # nobody can speak today (a tiny community all gone): a shorter stream, never a hang
        skeleton.sort()
        today = (self.options.start + timedelta(days=day)).isoformat()
        pending_activities: list[tuple[int, int, str, dict[str, Any]]] = []
        for second, _, kind, subject, extra in skeleton:
            # Activity joins and ends are placed after their start; flush those due before this event.
            while pending_activities and pending_activities[0][0] <= second:
                pending_second, _, _, record = pending_activities.pop(0)
                record["ts"] = _ts(today, pending_second)
                yield _ordered(record)
            for record in self._records(day, second, kind, subject, extra, pending_activities):
                record["ts"] = _ts(today, second)
                yield _ordered(record)
        for pending_second, _, _, record in pending_activities:
            record["ts"] = _ts(today, pending_second)
            yield _ordered(record)

    def _records(self, day: int, second: int, kind: str, subject: int, extra: Any, pending: list[tuple[int, int, str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
        rng, community = self.rng, self.community
        if kind == "member_joined":
            record: dict[str, Any] = {"type": "member_joined", "group": _group_id(community.home[subject]), "member": _member_id(subject), "name": self.names[subject]}
            if rng.random() < 0.6 and self.speakers[community.home[subject]]:
                record["inviter"] = _member_id(rng.choice(self.speakers[community.home[subject]]))
            yield record
        elif kind == "member_left":
            reason = "removed" if rng.random() < 0.1 else "left"
            yield {"type": "member_left", "group": _group_id(community.home[subject]), "member": _member_id(subject), "name": self.names[subject], "reason": reason}
        elif kind == "activity":
            yield from self._activity(day, second, subject, extra, pending)
        else:
            yield self._chatter(day, subject)

    def _activity(self, day: int, second: int, group: int, extra: Any, pending: list[tuple[int, int, str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
        rng = self.rng
        sequence, participants, begin = extra
        activity = f"act-{sequence}"
        yield {"type": "activity_started", "group": _group_id(group), "activity": activity, "text": f"第{sequence}期线上共读"}
        joined: list[tuple[int, int, str, dict[str, Any]]] = []
        for member in participants:
            at = begin + rng.randrange(1, 1800)
            joined.append((at, member, "activity_joined", {"type": "activity_joined", "group": _group_id(group), "member": _member_id(member), "name": self.names[member], "activity": activity}))
        end = min(DAY - 1, begin + 5400)
        ended = {"type": "activity_ended", "group": _group_id(group), "activity": activity, "participants": [_member_id(m) for m in participants]}
        pending.extend(joined)
        pending.append((end, 1 << 60, "activity_ended", ended))
        pending.sort(key=lambda item: (item[0], item[1]))

    def _chatter(self, day: int, member: int) -> dict[str, Any]:
        rng, community = self.rng, self.community
        group = community.home[member]
        if community.second[member] >= 0 and rng.random() < 0.2:
            group = community.second[member]
        group_id = _group_id(group)
        roll = rng.random()
        if roll < 0.11:
            recent = self.recent[group]
            if recent:
                return {"type": "reaction", "group": group_id, "member": _member_id(member), "name": self.names[member], "reply_to": rng.choice(recent)[0]}
        elif roll < 0.115:
            attributes = {"city": rng.choice(CITIES), "role": rng.choice(ROLES)}
            record: dict[str, Any] = {"type": "profile", "member": _member_id(member), "name": self.names[member], "attributes": attributes}
            if rng.random() < 0.3:
                record["tags"] = ["vip"]
            return record
        elif roll < 0.12:
            return {"type": "purchase", "group": group_id, "member": _member_id(member), "name": self.names[member], "amount": rng.choice((9.9, 29.0, 99.0, 199.0))}
        self.message_seq += 1
        message_id = f"msg-{self.message_seq}"
        record = {"type": "message", "group": group_id, "member": _member_id(member), "name": self.names[member], "id": message_id}
        mentions: list[int] = []
        open_questions = self.open_questions[group]
        answer = next((q for q in open_questions if q[1] != member), None) if open_questions and rng.random() < 0.5 else None
        if answer is not None:
            open_questions.remove(answer)
            if rng.random() < 0.75:
                record["reply_to"] = answer[0]
            else:
                mentions.append(answer[1])
            record["text"] = rng.choice(REPLIES)
        elif rng.random() < 0.15 and self.recent[group]:
            target = rng.choice(self.recent[group])
            record["reply_to"] = target[0]
            record["text"] = rng.choice(CHATTER)
            if rng.random() < 0.3 and target[1] != member:
                mentions.append(target[1])
        elif rng.random() < 0.07:
            record["text"] = rng.choice(QUESTIONS)
            open_questions.append((message_id, member, day))
        else:
            record["text"] = rng.choice(CHATTER)
        if rng.random() < 0.06 and self.speakers[group]:
            other = rng.choice(self.speakers[group])
            if other != member and other not in mentions:
                mentions.append(other)
        if mentions:
            record["mentions"] = [_member_id(m) for m in mentions]
        self.recent[group].append((message_id, member))
        self.speakers[group].append(member)
        return record


_FIELD_ORDER = ("ts", "type", "group", "member", "name", "id", "text", "mentions", "reply_to", "inviter", "reason", "activity", "participants", "tags", "attributes", "amount")


_ID_FIELDS = ("group", "member", "id", "reply_to", "inviter", "activity")
_LIST_FIELDS = ("mentions", "participants")


def renamed(record: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``record`` with every id in it (members, groups, messages, activities) prefixed: the
    same stream as another community's, sharing nobody and nothing with the first."""
    for key in _ID_FIELDS:
        if key in record:
            record[key] = prefix + record[key]
    for key in _LIST_FIELDS:
        if key in record:
            record[key] = [prefix + item for item in record[key]]
    return record


def _ordered(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in _FIELD_ORDER if key in record}


def _ts(today: str, second: int) -> str:
    hours, rest = divmod(second, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{today}T{hours:02d}:{minutes:02d}:{seconds:02d}{OFFSET}"


def _member_id(index: int) -> str:
    return f"m{index + 1}"


def _group_id(index: int) -> str:
    return f"g{index + 1}"


def _name(index: int, seed: int) -> str:
    # Names depend only on the member and seed, so they stay put when other options change.
    rng = random.Random(seed * 1_000_003 + index)
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(LATIN_NAMES) + str(rng.randrange(10, 99))
    if roll < 0.4:
        return rng.choice(GIVEN) + rng.choice(SURNAMES)
    return rng.choice(SURNAMES) + rng.choice(NAME_CHARS) + (rng.choice(NAME_CHARS) if rng.random() < 0.6 else "")


def write(options: Options, stream: TextIO) -> int:
    """Write the stream for ``options`` to ``stream``; return the number of events written."""
    written = 0
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    buffer: list[str] = []
    for record in Generator(options).events():
        buffer.append(dumps(record))
        written += 1
        if len(buffer) >= 8192:
            stream.write("\n".join(buffer) + "\n")
            buffer.clear()
    if buffer:
        stream.write("\n".join(buffer) + "\n")
    return written


def generate_file(options: Options, path: str | Path) -> int:
    """Write the stream to ``path`` atomically (via a ``.partial`` file); return the event count."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with open(partial, "w", encoding="utf-8") as stream:
        count = write(options, stream)
    partial.replace(target)
    return count


def _count(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.rsplit("\n\n", 1)[-1])
    parser.add_argument("--events", type=_count, default=10_000, help="events to write (10k, 1M … accepted)")
    parser.add_argument("--members", type=_count, default=None, help="member population (default: events / 10)")
    parser.add_argument("--groups", type=int, default=None, help="groups (default: events / 5000, at least 2)")
    parser.add_argument("--days", type=int, default=90, help="days of history (default 90)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 3, 1), help="first local day (default 2026-03-01)")
    parser.add_argument("--next-day", type=_count, default=0, metavar="EVENTS", help="write only the day after the history, with this many events (10k accepted)")
    parser.add_argument("--out", default="-", help="output file (default: standard output)")
    args = parser.parse_args(argv)
    options = Options(
        events=args.events,
        members=args.members if args.members is not None else max(10, args.events // 10),
        groups=args.groups if args.groups is not None else max(2, args.events // 5000),
        days=args.days,
        seed=args.seed,
        start=args.start,
        next_day=args.next_day,
    )
    if args.out == "-":
        try:
            count = write(options, sys.stdout)
        except BrokenPipeError:  # e.g. piped into head: stop quietly
            sys.stderr.close()
            return 0
    else:
        count = generate_file(options, args.out)
    what = f"the day after {options.days} days" if options.next_day else f"{options.days} days"
    print(f"generate: {count} events, {options.members} members, {options.groups} groups, {what}, seed {options.seed}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
