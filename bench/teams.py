"""A community of several operator teams: each team's groups, members and operator its own.

Each team's history is ``bench/generate.py``'s stream with its own seed (members in one or two
of the team's groups, mentions, replies, joins, leaves and removals, activities); team 1 keeps
the generator's ids (g1, m1 …: the groups the shipped playbooks name), team k's ids are
prefixed ``tk-``. The streams are merged in time order. ``--boss`` adds a staff account (the
community's owner, ``boss``) writing in every team's groups: staff do not join the teams' parts.

``--playbooks DIR`` writes the shipped playbooks there with a community.yaml whose operators
are the teams' (``op-1`` … each with ``capacity`` and ``pace``): what ``playbook run
--runner beam`` splits into one part per team (docs/scale.md).

Example: python bench/teams.py --teams 4 --events 10000 --out bench/out/teams-10k.jsonl --playbooks bench/out/teams-playbooks
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import Generator, Options, renamed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def prefix(team: int) -> str:
    return "" if team == 1 else f"t{team}-"


def team_records(team: int, options: Options) -> Iterator[dict[str, Any]]:
    """Team ``team``'s history, its ids prefixed (team 1's as generated)."""
    mark = prefix(team)
    for record in Generator(replace(options, seed=options.seed * 101 + team)).events():
        yield renamed(record, mark) if mark else record


def team_groups(team: int, options: Options) -> list[str]:
    return [f"{prefix(team)}g{index + 1}" for index in range(options.groups)]


def records(teams: int, options: Options, boss: bool = False, early_profiles: bool = True) -> Iterator[dict[str, Any]]:
    """Every team's history (``options`` per team), merged in time order (ties: team order).

    ``early_profiles=False`` leaves out a member's ``profile`` lines that come before their first
    line in a group: a rule firing on one plans a task with no group, which goes to the default
    operator (team 1's), and joins the member's team with team 1 (docs/scale.md)."""
    streams = [_numbered(team, options) if early_profiles else _grouped_first(_numbered(team, options)) for team in range(1, teams + 1)]
    rng = random.Random(options.seed)
    groups = [group for team in range(1, teams + 1) for group in team_groups(team, options)]
    for count, (_, _, _, record) in enumerate(heapq.merge(*streams)):
        yield record
        if boss and count % 40 == 39 and record.get("group"):
            yield {"ts": record["ts"], "type": "message", "group": rng.choice(groups), "member": "boss", "name": "群主", "text": "请问大家这周的进度怎么样？"}


def _numbered(team: int, options: Options) -> Iterator[tuple[str, int, int, dict[str, Any]]]:
    for index, record in enumerate(team_records(team, options)):
        yield record["ts"], team, index, record


def _grouped_first(stream: Iterator[tuple[str, int, int, dict[str, Any]]]) -> Iterator[tuple[str, int, int, dict[str, Any]]]:
    seen: set[str] = set()
    for item in stream:
        record = item[3]
        if record.get("group") is not None and record.get("member") is not None:
            seen.add(record["member"])
        elif record.get("group") is None and record.get("member") not in seen:
            continue
        yield item


def write(teams: int, options: Options, stream: TextIO, boss: bool = False, early_profiles: bool = True) -> int:
    written = 0
    for record in records(teams, options, boss, early_profiles):
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        written += 1
    return written


def community(teams: int, options: Options, capacity: int = 8, pace: str | None = "10m", boss: bool = False) -> str:
    """The shipped community.yaml with one operator per team (and its groups declared)."""
    data = yaml.safe_load((ROOT / "playbooks" / "community.yaml").read_text(encoding="utf-8"))
    settings = data["community"]
    declared = {group["id"] for group in settings["groups"]}
    operators = []
    for team in range(1, teams + 1):
        groups = team_groups(team, options)
        for group in groups:
            if group not in declared:
                settings["groups"].append({"id": group, "name": f"{team}队{group.rsplit('g', 1)[1]}群"})
        if team == 1:
            groups = sorted(set(groups) | declared)  # the shipped groups (the seed group g4 …) are team 1's
        operator: dict[str, Any] = {"id": f"op-{team}", "name": f"运营{team}", "groups": groups, "capacity": capacity}
        if pace:
            operator["pace"] = pace
        operators.append(operator)
    settings["operators"] = operators
    settings["staff"] = ["boss"] if boss else []
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def write_playbooks(directory: Path, teams: int, options: Options, capacity: int = 8, pace: str | None = "10m", boss: bool = False) -> None:
    """The shipped playbooks in ``directory``, with the teams' community.yaml."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "playbooks").glob("*.yaml"):
        text = community(teams, options, capacity, pace, boss) if path.name == "community.yaml" else path.read_text(encoding="utf-8")
        (directory / path.name).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.rsplit("\n\n", 1)[-1])
    parser.add_argument("--teams", type=int, default=4)
    parser.add_argument("--events", type=int, default=10_000, help="events in all (about; split evenly between the teams)")
    parser.add_argument("--members", type=int, default=None, help="members per team (default: events per team / 10)")
    parser.add_argument("--groups", type=int, default=3, help="groups per team")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--capacity", type=int, default=8)
    parser.add_argument("--boss", action="store_true", help="a staff account writing in every team's groups")
    parser.add_argument("--grouped-first", action="store_true", help="leave out a member's profile lines before their first line in a group (their tasks would go to team 1's operator)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--playbooks", help="also write the shipped playbooks with the teams' community.yaml here")
    args = parser.parse_args(argv)
    per_team = max(1, args.events // args.teams)
    options = Options(events=per_team, members=args.members or max(10, per_team // 10), groups=args.groups, days=args.days, seed=args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as stream:
        count = write(args.teams, options, stream, args.boss, not args.grouped_first)
    if args.playbooks:
        write_playbooks(Path(args.playbooks), args.teams, options, args.capacity, boss=args.boss)
    print(f"{out}: {count} events, {args.teams} teams", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
