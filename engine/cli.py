"""The ``playbook`` command line: parse options, call the core, print. No logic lives here."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import click

from playbook_engine.api import DEFAULT_PATHS, registry_from, source_options, undeclared_exporters
from playbook_engine.contract import SCOPE_GROUP, EventSource, SourceReport
from playbook_engine.durations import DurationError, parse_duration
from playbook_engine.errors import InvalidInput, InvalidPlaybooks, PlaybookError
from playbook_engine.events import EventError, parse_time
from playbook_engine.printable import terminal_text
from playbook_engine.words import plan_words, say, words_for

if TYPE_CHECKING:
    from playbook_engine.contract import Task
    from playbook_engine.model import Config
    from playbook_engine.runner import RunResult
    from playbook_engine.state import StateStore


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="playbook-engine")
@click.option("--skip-broken-plugins", is_flag=True, help="Leave out installed plugins that fail to load, with a warning, instead of stopping.")
def cli(skip_broken_plugins: bool) -> None:
    """Community-operations playbooks: plan operator tasks from your groups' history.

    Example: playbook run playbooks --events examples/events.jsonl
    """
    # skip_broken_plugins is not read here: main() looks for the flag in argv, because the
    # plugins are loaded (and may fail) before click parses anything. The option is declared
    # so that click accepts it and --help shows it.


def _time_option(value: str | None, tz: Any, name: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_time(value, tz)
    except EventError:
        raise click.BadParameter(f"{value!r} is not a time — write e.g. 2026-03-08 or 2026-03-08T09:00:00+08:00", param_hint=name) from None


def _duration_option(value: str, name: str) -> float | None:
    if value.strip().lower() == "off":
        return None
    try:
        return parse_duration(value)
    except DurationError as error:
        raise click.BadParameter(f"{error} (or `off`)", param_hint=name) from None


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--events", "events", required=True, help="Event file (JSON Lines by default); - for standard input.")
@click.option("--source", default="jsonl", show_default=True, help="Event-source plugin that reads the file (see `playbook plugins`).")
@click.option("--map", "column_map", help="For sources that take it (csv): which input column is which event field, e.g. ts=time,member=user_id,text=content.")
@click.option("--from", "start", help="Plan only tasks due at or after this time; earlier events build state.")
@click.option("--until", help="Stop the clock here; timers due before it fire after the last event. Tasks due after it are checked with what is known by then.")
@click.option("--format", "output_format", help="table (default on a terminal), jsonl (default when piped), json, csv, md; with --out FILE, what its extension says (plan.csv: csv).")
@click.option("--out", type=click.Path(dir_okay=False), help="Write tasks to this file instead of standard output.")
@click.option("--explain", is_flag=True, help="Also show what did not fire, and why (on standard error).")
@click.option("--member", "member_id", help="Only tasks (and explanations) for this member id.")
@click.option("--state", "state_path", type=click.Path(dir_okay=False), help="SQLite file keeping members, timers, planned tasks and a watermark between runs.")
@click.option("--ahead", is_flag=True, help="With --state: also plan, from the history so far, the tasks the clock brings through the end of the next day (scheduled posts, festivals, leaderboards, silence nudges), so that the morning's list holds them; the next run plans them again from the history then (docs/daily-routine.md).")
@click.option("--rejects", type=click.Path(dir_okay=False), help="Write rejected event lines here as JSON Lines.")
@click.option("--strict", is_flag=True, help="Fail (exit 1) on the first rejected event instead of going on.")
@click.option("--chat", help="For a Telegram whole-account export: the chat to read, by name or id (without it, the chats are listed).")
@click.option("--private-chats", is_flag=True, help="Also plan for private chats, group DMs and Telegram channels (refused by default: playbooks plan group work).")
@click.option("--max-future", default="1d", show_default=True, help="Reject an event dated more than this after the latest event so far (or the --state watermark), unless the next event is not earlier: one line dated 2099 cannot move the clock. `off` accepts any.")
@click.option("--report", "report_out", type=click.Path(dir_okay=False), help="Also write the HTML report (as `playbook report` does) once the run is saved: of the --state, or without it of this run alone. Needs the `report` extra.")
@click.option("--runner", "runner_name", type=click.Choice(["local", "beam"]), default="local", show_default=True, help="beam: the community's independent parts (operator teams) run as an Apache Beam pipeline, the same plan (docs/scale.md). Needs the `beam` extra.")
@click.option("--beam-option", "beam_options", multiple=True, metavar="KEY=VALUE", help="With --runner beam: a Beam pipeline option, e.g. runner=FlinkRunner, flink_master=host:8081 (repeat for several). Default: Beam's FnApiRunner, in this process.")
@click.pass_context
def run(ctx: click.Context, paths: Sequence[str], events: str, source: str, column_map: str | None, start: str | None, until: str | None, output_format: str | None, out: str | None, explain: bool, member_id: str | None, state_path: str | None, ahead: bool, rejects: str | None, strict: bool, chat: str | None, private_chats: bool, max_future: str, report_out: str | None, runner_name: str, beam_options: Sequence[str]) -> None:
    """Dry-run playbooks over events: print the operator tasks they would plan.

    Tasks go to standard output; rejected events, explanations and the summary go to
    standard error. With --report, the report of the state is written after the run (all of
    its tasks, whatever --member shows); without --state, of this run's tasks, held in memory.

    Example: playbook run playbooks --events examples/events.jsonl --format jsonl
    """
    from playbook_engine.loading import load_config
    from playbook_engine.output import write_tasks
    from playbook_engine.runner import plan as plan_tasks
    from playbook_engine.runner import read_source
    from playbook_engine.state import StateStore

    registry = registry_from(ctx)
    if ahead and state_path is None:
        raise click.BadParameter("plans ahead from a --state: give it one (--state ops.db), the file the nightly runs keep", param_hint="--ahead")
    if beam_options and runner_name != "beam":
        raise click.BadParameter("only with --runner beam", param_hint="--beam-option")
    if runner_name == "beam":
        _beam_refuses(state_path, report_out, explain, member_id)
        from playbook_engine.beam import check_installed as beam_installed

        beam_installed()
    if report_out is not None:
        from playbook_engine.report import check_installed

        check_installed()  # before the run, not after it
    config = load_config(list(paths) or list(DEFAULT_PATHS), registry)
    tz = config.community.tz
    start_at, until_at = _time_option(start, tz, "--from"), _time_option(until, tz, "--until")
    horizon = _duration_option(max_future, "--max-future")
    fmt = output_format or _format_of(out, registry.formats) or ("table" if sys.stdout.isatty() and out is None else "jsonl")
    if fmt not in registry.formats:
        raise click.BadParameter(f"unknown format `{fmt}` — one of: {', '.join(sorted(registry.formats))}", param_hint="--format")
    report = SourceReport()
    records = read_source(registry, source, events, source_options(column_map, tz, chat=chat, private_chats=private_chats, report=report))
    if strict:
        records = _strict(records, events, tz, config.community.language)
    if sys.stderr.isatty():
        records = _with_progress(records)
    context = {"tz": tz, "title": plan_words(config.community.language).title.format(community=config.community.name), "width": None, "language": config.community.language, "actions": config.community.action_names, "groups": config.community.group_names, "operators": {operator.id: operator.name for operator in config.community.operators}, "options": registry.option_names(config.community.language), "channels": registry.channel_names(config.community.language), "written_links": config.links()}
    if runner_name == "beam":
        from playbook_engine.beam import run_beam

        result, parts = run_beam(config, records, paths=list(paths) or list(DEFAULT_PATHS), entrypoints=not (ctx.obj or {}).get("no_entrypoints", False), start=start_at, until=until_at, max_future=horizon, options=beam_options)
        write_tasks(registry, fmt, iter(result.tasks), out, context)
        count = len(parts.parts)
        joined = f" (parts whose tasks met at one operator joined and run again: {parts.rounds} round{'s' if parts.rounds != 1 else ''})" if parts.rounds else ""
        click.echo(f"playbook: --runner beam: {count} part{'s' if count != 1 else ''}" + (f" (one part: {parts.note})" if parts.note else joined), err=True)
        _after_run(result, events, rejects, config, report, False, None, None, source=source)
        return
    state = StateStore.open(state_path) if state_path else None
    if state is None and report_out is not None:
        state = StateStore.open(":memory:", lock=False)  # the report reads a state: this run's own, kept only until the report is written
    stream = plan_tasks(config, records, start=start_at, until=until_at, explain=explain or member_id is not None, state=state, keep_suppressed=False, max_future=horizon)
    explaining = explain or member_id is not None
    kept: list[Task] = []  # --explain shows the planned tasks in its timeline too

    planned_ahead: list[Task] = []

    def tasks() -> Iterator[Task]:
        for task in stream:
            if explaining:
                kept.append(task)
            if member_id is None or task.member == member_id:
                yield task
        if ahead and state_path is not None and state is not None:
            # The run saved first: planning ahead runs on from its state, which stays where
            # the history ends (engine/ahead.py).
            stream.result.save_state()
            from datetime import datetime

            from playbook_engine.ahead import plan_ahead
            from playbook_engine.state import task_data

            found = plan_ahead(config, state_path)
            state.save_ahead(found.tasks, found.kept, {task.id: task_data(task.record(tz)) for task in found.tasks}, found.no_room_by)
            planned_ahead.extend(found.tasks)
            if found.until is not None and (found.tasks or found.no_room):
                last_day = datetime.fromtimestamp(found.until - 1, tz).date()
                said = words_for(config.community.language).summary
                if found.tasks:
                    click.echo("playbook: " + said.ahead.format(count=len(found.tasks), day=last_day.isoformat()), err=True)
                if found.no_room:
                    listed = config.by_playbook(found.no_room, said.separator)
                    click.echo("playbook: " + said.ahead_no_room.format(count=found.no_room.total(), day=last_day.isoformat(), listed=listed), err=True)
            yield from (task for task in found.tasks if member_id is None or task.member == member_id)

    write_tasks(registry, fmt, tasks(), out, context)  # written as the run goes, for jsonl and csv
    result = stream.result
    result.tasks = kept
    result.ahead = planned_ahead
    _after_run(result, events, rejects, config, report, explaining, member_id, state, report_out, source)


def _beam_refuses(state_path: str | None, report_out: str | None, explain: bool, member_id: str | None) -> None:
    """What --runner beam does not do, and what to do instead (docs/scale.md)."""
    if state_path is not None:
        raise click.BadParameter("the Beam runner keeps no state between runs — run the daily `--state` runs with the local runner, and Beam for backfills and one-off runs over long histories (docs/scale.md)", param_hint="--state")
    if report_out is not None:
        raise click.BadParameter("not with --runner beam — write the report of a local run (`playbook run … --report FILE`) or of its --state (`playbook report`)", param_hint="--report")
    if explain or member_id is not None:
        raise click.BadParameter("not with --runner beam — explain a member or a run with the local runner: the explanation is the run's own timeline", param_hint="--explain" if explain else "--member")


def _export_hint(events: str, sources: Mapping[str, EventSource], language: str | None) -> str | None:
    """When most lines of ``events`` were not events: the source whose input it looks like most
    (``EventSource.recognize``), and how to read it with that source. None if none
    recognizes it, or it cannot be read."""
    if events == "-":
        return None
    try:
        with open(events, "rb") as stream:
            head = stream.read(65536).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    except OSError:
        return None
    scores = sorted(((source.recognize(head), name) for name, source in sources.items() if source.recognize is not None), key=lambda item: (-item[0], item[1]))
    if not scores or scores[0][0] <= 0:
        return None
    return words_for(language).summary.not_events.format(file=events, source=scores[0][1])


def _after_run(result: RunResult, events: str, rejects: str | None, config: Config, report: SourceReport, explaining: bool, member_id: str | None, state: StateStore | None, report_out: str | None = None, source: str = "jsonl") -> None:
    """What every run says after its tasks: rejected lines, the explanation (of ``member_id``,
    or of the whole run), warnings, the summary; then the state saved and the report written."""
    from playbook_engine.output import render_explanation, render_summary

    tz = config.community.tz
    words = words_for(config.community.language)
    for rejected in result.rejected:
        click.echo(terminal_text(words.inputs.rejected.format(where=f"{events}:{rejected.line}", reason=say(rejected.reason, words))), err=True)  # a reason may quote the line
    if rejects:
        with open(rejects, "w", encoding="utf-8") as rejects_file:
            for rejected in result.rejected:
                rejects_file.write(json.dumps({"line": rejected.line, "reason": say(rejected.reason, words), "text": rejected.text}, ensure_ascii=False) + "\n")
    result.save_state()  # only after the tasks are out: a run killed before this changed nothing
    if explaining:
        click.echo(render_explanation(result, tz, member_id), err=True, nl=False)
    community = config.community
    exporters = undeclared_exporters(report, community.staff, community.language, community.file)
    hint = _export_hint(events, config.registry.sources, community.language) if source == "jsonl" and result.counts["rejected"] > result.counts["accepted"] else None
    for warning in [*report.warnings, *exporters, *filter(None, [hint, result.undeclared_groups(community), result.unread_groups(community), result.unassigned_groups(community)])]:
        click.echo(words.inputs.warning.format(warning=say(warning, words)), err=True)
    result.counts["duplicates"] += report.counts["duplicates"]
    click.echo("playbook: " + words_for(config.community.language).explain.times.format(timezone=config.community.timezone, file=config.community.file), err=True)
    click.echo(render_summary(result, config.community), err=True)
    if state is not None:
        try:
            if report_out is not None:
                _write_report(state, report_out, config)
        finally:
            state.close()
    if result.counts["rejected"] and not result.counts["accepted"]:
        # Not one event: the wrong file, or a layout no source was told of — not a quiet day.
        raise InvalidInput(f"{events}: none of its {result.counts['rejected']} line(s) is an event (each says why above) — check that it is the export you meant and give its --source (docs/sources.md); nothing was planned")


def _with_progress(records: Any) -> Any:
    """Show events read and the rate on stderr, but only once a run has taken a second."""
    import time

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

    started = time.monotonic()
    progress: Progress | None = None
    task: TaskID | None = None
    try:
        for count, item in enumerate(records, 1):
            if count % 5000 == 0:
                elapsed = time.monotonic() - started
                if progress is None and elapsed > 1:
                    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=Console(stderr=True), transient=True, redirect_stdout=False, redirect_stderr=False)
                    progress.start()
                    task = progress.add_task("reading events")
                if progress is not None and task is not None:
                    progress.update(task, description=f"reading events: {count:,} ({count / elapsed:,.0f}/s)")
            yield item
    finally:
        if progress is not None:
            progress.stop()


def _strict(records: Any, events: str, tz: Any, language: str) -> Any:
    """``records`` checked against the event contract as they come: the first a source or the
    check rejects (a line that is not JSON, a `ts` that is not a time …) stops the run."""
    from playbook_engine.contract import Rejected
    from playbook_engine.events import to_event

    for item in records:
        event = to_event(item, tz)
        if isinstance(event, Rejected):
            words = words_for(language)
            raise PlaybookError(words.inputs.strict.format(where=f"{events}:{event.line}", reason=say(event.reason, words)))
        yield event


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.pass_context
def validate(ctx: click.Context, paths: Sequence[str]) -> None:
    """Check playbooks and community.yaml: structure, then meaning; list every problem.

    Each problem is printed as file:line:col: what is wrong — what to write. Exit 1 if any.

    Example: playbook validate playbooks
    """
    from playbook_engine.loading import load_config, off_day_warnings, placeholder_warnings, tag_order_warnings

    config = load_config(list(paths) or list(DEFAULT_PATHS), registry_from(ctx))
    for warning in [*tag_order_warnings(config), *placeholder_warnings(config), *off_day_warnings(config)]:
        click.echo(f"warning: {warning}", err=True)
    rules = sum(len(playbook.rules) for playbook in config.playbooks)
    community = config.community
    operators = community.operators
    if operators and all(operator.groups for operator in operators):
        covered = {group for operator in operators for group in operator.groups}
        for group, name in community.group_names.items():
            if group not in covered:
                click.echo(f"warning: {community.file}: group {group} 「{name}」 is in no operator's `groups:` — its tasks would go to nobody; add it to an operator's groups, or give one operator no `groups:` to take the rest", err=True)
    click.echo(f"ok: {len(config.playbooks)} playbooks, {rules} rules, community {community.name}")


@cli.command(name="test")
@click.argument("paths", nargs=-1, type=click.Path())
@click.pass_context
def test_command(ctx: click.Context, paths: Sequence[str]) -> None:
    """Run the examples in each playbook's `tests:`; exit 1 if any fails.

    Example: playbook test playbooks
    """
    from playbook_engine.loading import load_config
    from playbook_engine.testing import run_playbook_tests

    config = load_config(list(paths) or list(DEFAULT_PATHS), registry_from(ctx))
    outcomes = run_playbook_tests(config)
    for outcome in outcomes:
        mark = "PASS" if outcome.passed else "FAIL"
        click.echo(f"{mark} {outcome.playbook}: {outcome.name}")
        for failure in outcome.failures:
            click.echo(f"  {outcome.file}:{outcome.line}: {failure}")
    failed = sum(not outcome.passed for outcome in outcomes)
    click.echo(f"{len(outcomes) - failed} passed, {failed} failed")
    if failed:
        ctx.exit(1)


@cli.command()
@click.argument("kind", default="playbook", type=click.Choice(["playbook", "community", "event", "task"]))
@click.pass_context
def schema(ctx: click.Context, kind: str) -> None:
    """Print the JSON Schema of a playbook, community.yaml, an event or a task (with plugin additions).

    Example: playbook schema playbook > playbook.schema.json
    """
    from playbook_engine.schema import build_schema

    click.echo(json.dumps(build_schema(kind, registry_from(ctx)), ensure_ascii=False, indent=2))


@cli.group()
def state() -> None:
    """Look into a --state database.

    Example: playbook state show --state ops.db --member m123
    """


@state.command("show")
@click.option("--state", "state_path", required=True, type=click.Path(exists=True, dir_okay=False), help="The --state database.")
@click.option("--member", "member_id", help="Show everything known about this member.")
def state_show(state_path: str, member_id: str | None) -> None:
    """What the engine knows: watermark and totals, or one member's state as JSON.

    Example: playbook state show --state ops.db --member m123
    """
    from playbook_engine.state import StateStore, describe_member, describe_state

    store = StateStore.open(state_path, lock=False)  # reading only: a run may go on meanwhile
    try:
        if member_id is None:
            click.echo(describe_state(store))
            return
        described = describe_member(store, member_id)
        if described is None:
            raise PlaybookError(f"no member `{member_id}` in {state_path}")
        click.echo(described)
    finally:
        store.close()


@cli.group()
def tasks() -> None:
    """What the operators did: list the planned tasks, mark them, import a filled-in plan.

    Example: playbook tasks list --state ops.db --date today --status todo
    """


def _clock(ctx: click.Context) -> Callable[[], float]:
    """The wall clock (tests give their own): when a task is marked, unless --at says."""
    import time

    clock: Callable[[], float] = (ctx.obj or {}).get("clock") or time.time
    return clock


def _moment_option(value: str | None, store: Any, name: str) -> float | None:
    from playbook_engine.tasks import parse_moment, timezone_of

    if value is None:
        return None
    try:
        return parse_moment(value, timezone_of(store))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time — write e.g. 2026-03-08 09:15 or 2026-03-08T09:15:00+08:00", param_hint=name) from None


@tasks.command("list")
@click.option("--state", "state_path", required=True, type=click.Path(dir_okay=False), help="The --state database the nightly `playbook run` keeps.")
@click.option("--status", "statuses", multiple=True, type=click.Choice(["todo", "late", "overtaken", "done", "skipped", "failed", "replied", "stale", "displaced"]), help="Only tasks with this status (repeat for several; todo includes late; overtaken: still to do, but the rest of their day made them unneeded). Default: all but stale and displaced.")
@click.option("--assignee", help="Only this operator's tasks (their id, or their name as community.yaml gives it).")
@click.option("--date", "day", help="Only tasks due on this local day: YYYY-MM-DD, today or tomorrow.")
@click.option("--format", "output_format", type=click.Choice(["table", "csv", "jsonl", "md"]), help="table (default on a terminal), csv (to fill in and import), jsonl (default when piped), md.")
@click.option("--now", "now", help="Late means past its deadline at this time (default: the state's watermark, where the last run's events ended).")
@click.pass_context
def tasks_list(ctx: click.Context, state_path: str, statuses: Sequence[str], assignee: str | None, day: str | None, output_format: str | None, now: str | None) -> None:
    """The planned tasks the state holds, with what was done: status, outcome, when marked, note.

    A task still to do whose deadline has passed is shown as late: past it at the state's
    watermark (the engine reads no clock), or at --now.

    Example: playbook tasks list --state ops.db --date 2026-03-08 --assignee op-lily --format csv > today.csv
    """
    from playbook_engine.delivery import parse_day
    from playbook_engine.tasks import open_state, select, timezone_of, words_of, write_list

    store = open_state(state_path, lock=False)  # reading only: a run may go on meanwhile
    try:
        tz = timezone_of(store)
        try:
            the_day = parse_day(day, tz, _clock(ctx)) if day is not None else None
        except ValueError:
            raise click.BadParameter(f"{day!r} is not a day — write e.g. 2026-03-08, today or tomorrow", param_hint="--date") from None
        names = store.operator_names()
        if assignee is not None and assignee not in names:
            # The operator's name, as the plan and this list show it (Lily, 阿May): their id.
            assignee = next((operator for operator, name in names.items() if name == assignee), assignee)
        listed = select(store, statuses=statuses, assignee=assignee, day=the_day, now=_moment_option(now, store, "--now"))
        known = store.assignees() if assignee is not None and not listed else []
        if known and assignee not in known:  # an operator's name for their id, a typo: not "no tasks"
            raise click.BadParameter(f"no task in {state_path} is assigned to {assignee!r} — give an operator's id or name: {', '.join(f'{operator} ({names[operator]})' if names.get(operator, operator) != operator else operator for operator in known)}", param_hint="--assignee")
        fmt = output_format or ("table" if sys.stdout.isatty() else "jsonl")
        language = store.meta("language")
        says = words_for(language).explain
        groups = store.group_names()
        registry = registry_from(ctx)
        in_group = frozenset(name for name, kind in registry.actions.items() if kind.scope == SCOPE_GROUP)
        write_list(listed, fmt, sys.stdout, words_of(store), tz, terminal=sys.stdout.isatty(), actions=registry.action_names(language), priorities=says.priorities, columns=says.columns, groups=groups, operators=names, in_group=in_group, links=frozenset(json.loads(store.meta("written_links") or "[]")), channels=registry.channel_names(language))
    finally:
        store.close()


def _mark_status(value: str) -> str:
    from playbook_engine.tasks import mark_status

    status = mark_status(value)
    if status is None:
        raise click.BadParameter(f"{value!r} is not a status — write done, skipped, failed or replied (完成, 跳过, 失败, 已回复)", param_hint="--status")
    return status


@tasks.command("mark")
@click.argument("task_ids", nargs=-1, required=True)
@click.option("--state", "state_path", required=True, type=click.Path(dir_okay=False), help="The --state database the nightly `playbook run` keeps.")
@click.option("--status", required=True, callback=lambda ctx, param, value: _mark_status(value), help="What became of the tasks: done, skipped, failed or replied (or as the spreadsheet says it: 完成, 跳过, 失败, 已回复); replied: the member answered (a task still to do is then done).")
@click.option("--at", help="When (default: now, by this machine's clock), e.g. 2026-03-08 09:15.")
@click.option("--note", help="A note kept with each task.")
@click.pass_context
def tasks_mark(ctx: click.Context, task_ids: Sequence[str], state_path: str, status: str, at: str | None, note: str | None) -> None:
    """Say what became of tasks, by id: done, skipped, failed, or replied.

    A later `playbook run --state` never sets these back. An id the state does not hold
    stops the command before anything changes.

    Example: playbook tasks mark --state ops.db t-b4110c5ca4 t-0e55a1f2c3 --status done
    """
    from playbook_engine.tasks import mark, open_state, summary

    store = open_state(state_path, lock=True)  # a run meanwhile could take a marked task back
    try:
        when = _moment_option(at, store, "--at")
        applied = mark(store, task_ids, status, note, _clock(ctx)() if when is None else when)
        click.echo(summary(applied, words_for(store.meta("language")).marks), err=True)
    finally:
        store.close()


@tasks.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--state", "state_path", required=True, type=click.Path(dir_okay=False), help="The --state database the plan came from.")
@click.option("--at", help="When the tasks were marked (default: now, by this machine's clock).")
@click.pass_context
def tasks_import(ctx: click.Context, file: str, state_path: str, at: str | None) -> None:
    """Read the statuses operators wrote into the plan's CSV (from Excel, WPS or 腾讯文档).

    The `status` (状态) column may say done/完成/已完成/已发送, skipped/跳过, failed/失败 or
    replied/已回复; empty leaves the task as it is; a `note` (备注) column is kept. Lines with an
    unknown id or word are reported (FILE:LINE) and change nothing, the rest is applied at
    once; exit 1 if any line was reported. Importing the same file again changes nothing.

    Example: playbook tasks import --state ops.db plan.csv
    """
    from playbook_engine.tasks import import_file, open_state, summary

    store = open_state(state_path, lock=True)
    try:
        when = _moment_option(at, store, "--at")
        imported = import_file(store, file, _clock(ctx)() if when is None else when)
        words = words_for(store.meta("language")).marks  # the community's, as the last run saved it
    finally:
        store.close()
    for problem in imported.problems:
        click.echo(f"error: {problem}", err=True)
    click.echo(f"{file}: {summary(imported.applied, words, imported.unchanged, len(imported.problems))}", err=True)
    if imported.problems:
        ctx.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--state", "state_path", required=True, type=click.Path(dir_okay=False), help="The --state database the nightly `playbook run` keeps.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The HTML file to write (one file: no scripts, no links, opens with no network).")
@click.pass_context
def report(ctx: click.Context, paths: Sequence[str], state_path: str, out: str) -> None:
    """Write how the planned tasks went as one self-contained HTML page of charts, each with its table.

    Tasks per operator per day, by playbook and rule, done / on-time / replied rates and the
    tasks taken back, from the state alone, in the community's language. Name the playbooks
    folder (PATHS) to draw each operator's capacity too: the state does not keep it.
    Needs the `report` extra: pip install 'playbook-engine[report]'.

    Example: playbook report playbooks --state ops.db --out report.html
    """
    from playbook_engine.tasks import open_state

    config = None
    if paths:
        from playbook_engine.loading import load_config

        config = load_config(list(paths), registry_from(ctx))
    store = open_state(state_path, lock=False)  # reading only: a run may go on meanwhile
    try:
        _write_report(store, out, config)
    finally:
        store.close()


def _write_report(store: StateStore, out: str, config: Config | None) -> None:
    """The report of ``store``, with each operator's capacity when the playbooks are known."""
    from playbook_engine.report import write_report

    capacities = None if config is None else {operator.id: operator.capacity for operator in config.community.operators}
    # The rules that plan tasks, so that one that planned none shows as such (0), not as absent.
    planning = None if config is None else [rule.key for rule in config.rules if any(action.kind.makes_task for action in rule.actions)]
    counts = write_report(store, out, capacities, planning)
    click.echo(words_for(store.meta("language")).report.written.format(out=out, given=counts.given), err=True)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--state", "state_path", type=click.Path(dir_okay=False), help="The --state database the nightly `playbook run` keeps (read only: nothing in it changes).")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 366), help="How many local days, the watermark's own day first.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True, help="table for people, json for scripts.")
@click.pass_context
def forecast(ctx: click.Context, paths: Sequence[str], state_path: str | None, days: int, output_format: str) -> None:
    """What the timers already set will give each operator per day, against their capacity.

    The engine runs on from the state's watermark with no new events: silence nudges, stage
    moves, scheduled posts and festivals come due, tasks left to check are checked. Each
    operator's tasks per local day are counted before capacity moves or drops any, and the days
    over capacity are named with the playbooks that fill them. Nothing is saved to the state.

    Example: playbook forecast playbooks --state ops.db --days 14
    """
    from playbook_engine.forecast import forecast as forecast_days
    from playbook_engine.forecast import write
    from playbook_engine.loading import load_config
    from playbook_engine.tasks import open_state

    if state_path is None:
        raise click.UsageError("forecast runs on from what a --state database holds (its timers, members and planned tasks) — give it: --state ops.db, the file the nightly `playbook run … --state ops.db` keeps")
    config = load_config(list(paths) or list(DEFAULT_PATHS), registry_from(ctx))
    # The lock: a run saving meanwhile would change the timers and members half-way through.
    store = open_state(state_path, lock=True, read_only=True)
    try:
        found = forecast_days(config, store, days)
    finally:
        store.close()
    write(found, output_format, sys.stdout, terminal=sys.stdout.isatty())
    click.echo("playbook: " + words_for(config.community.language).explain.times.format(timezone=config.community.timezone, file=config.community.file), err=True)
    click.echo(words_for(found.language).forecast.summary(found.total, len(found.days), len(found.over())), err=True)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--state", "state_path", required=True, type=click.Path(dir_okay=False), help="The --state database the nightly `playbook run` keeps.")
@click.option("--date", "day", required=True, help="The local day whose tasks to send: YYYY-MM-DD, today or tomorrow (in the community's time zone).")
@click.option("--dry-run", is_flag=True, help="Print what each operator would be sent (never the address); send and record nothing.")
@click.pass_context
def deliver(ctx: click.Context, paths: Sequence[str], state_path: str, day: str, dry_run: bool) -> None:
    """Send each operator that day's tasks in their work chat (企业微信, 飞书, 钉钉, Slack, a webhook).

    One message per operator, split where the robot limits its size, to the inbox that
    community.yaml gives them (operators[].inbox, docs/delivery.md). What a robot accepted is
    recorded in the state: delivering the same day again sends only what was not sent yet.

    Example: playbook deliver playbooks --state ops.db --date 2026-03-08 --dry-run
    """
    from playbook_engine.delivery import Transport, parse_day
    from playbook_engine.delivery import deliver as deliver_day
    from playbook_engine.loading import load_config

    config = load_config(list(paths) or list(DEFAULT_PATHS), registry_from(ctx))
    transport = (ctx.obj or {}).get("transport") or Transport()  # tests give one that does not wait
    try:
        the_day = parse_day(day, config.community.tz, transport.clock)
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a day — write e.g. 2026-03-08, today or tomorrow", param_hint="--date") from None
    report = deliver_day(config, state_path, the_day, dry_run=dry_run, transport=transport, say=lambda line: click.echo(line, err=True))
    says = words_for(config.community.language).delivery
    for operator, inbox_type, message in report.previews:
        part = message.part
        click.echo(says.preview.format(operator=operator.id, name=operator.name, inbox=inbox_type, part=part.part, parts=part.parts, tasks=len(part.items), size=f"{len(message.body):,}"))
        click.echo(json.dumps(message.payload, ensure_ascii=False, indent=2))
    for note in report.notes:
        click.echo(says.note.format(note=note), err=True)
    for outcome in report.outcomes:
        if outcome.error is None:
            tasks = sum(len(message.part.items) for message in outcome.sent)
            click.echo(says.delivered.format(operator=outcome.operator.id, name=outcome.operator.name, tasks=tasks, inbox=outcome.inbox, messages=len(outcome.sent)), err=True)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        ctx.exit(1)


@cli.command()
@click.pass_context
def plugins(ctx: click.Context) -> None:
    """List installed plugins (built-in and third-party) and what each provides.

    Example: playbook plugins
    """
    from playbook_engine.plugins import DEFAULT_PLUGINS

    registry = registry_from(ctx)
    provided: dict[str, dict[str, list[str]]] = {}
    for (kind, name), plugin in sorted(registry.owners.items()):
        provided.setdefault(plugin, {}).setdefault(kind + ("es" if kind.endswith("x") else "s"), []).append(name)
    distributions = getattr(registry.pm, "distributions", {})
    # get_name is None only for a plugin that is not registered: these all are.
    plugin_names = sorted(cast(str, registry.pm.get_name(plugin)) for plugin in registry.pm.get_plugins()) if registry.pm else []
    for name in plugin_names:
        origin = "built-in" if name in DEFAULT_PLUGINS else f"installed ({distributions.get(name, 'entry point')})"
        kinds = provided.get(name, {})
        what = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in sorted(kinds.items())) or "commands or observers only"
        click.echo(f"{name} [{origin}] — {what}")
    for name, channel in sorted(registry.channels.items()):
        click.echo(f"  channel {name}: {channel.title}; can {', '.join(sorted(channel.capabilities))}; up to {channel.max_length} characters")
    for name, inbox in sorted(registry.inboxes.items()):
        click.echo(f"  inbox {name}: {inbox.title}" + (f"; {inbox.limit}" if inbox.limit else "") + ("; signs with `secret:`" if inbox.sign else ""))


def _format_of(out: str | None, formats: Mapping[str, Any]) -> str | None:
    """The output format an --out file's extension names (``plan.csv``: csv), if it names one:
    an operator who asks for plan.csv means a sheet, not JSON Lines in a .csv file."""
    if out is None:
        return None
    extension = Path(out).suffix.lower().lstrip(".")
    return extension if extension in formats else None


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: map the core's errors to exit 1 with a message, no traceback."""
    from playbook_engine.plugins import Registry, get_plugin_manager

    debug = os.environ.get("PLAYBOOK_DEBUG") == "1"
    args = list(argv) if argv is not None else sys.argv[1:]
    skip_broken = "--skip-broken-plugins" in args[: args.index("--")] if "--" in args else "--skip-broken-plugins" in args
    try:
        skipped: list[str] = []
        pm = get_plugin_manager(entrypoints=True, skip_broken=skip_broken, skipped=skipped)
        registry = Registry.collect(pm, skip_broken=skip_broken, skipped=skipped)
        for message in skipped:
            click.echo(f"warning: skipped: {message}", err=True)
        pm.hook.register_commands(cli=cli)
        status = cli.main(args=args, prog_name="playbook", standalone_mode=False, obj={"registry": registry})
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        _show(exc)
        sys.exit(1)  # a usage error too (click's own is 2): every error exits 1
    except InvalidPlaybooks as exc:
        if debug:
            raise
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        count = len(exc.problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''} found", err=True)
        sys.exit(1)
    except PlaybookError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except OSError as exc:
        if debug:
            raise
        click.echo(f"error: {exc.filename or ''}: {exc.strerror}", err=True)
        sys.exit(1)
    code = status if isinstance(status, int) else 0
    if argv is None:  # the `playbook` command itself, not a caller in the same process
        exit_now(code)
    sys.exit(code)


def _show(exc: click.ClickException) -> None:
    """Every error the one way, in one line: ``error: …`` (click's own say ``Error:``, after the
    usage and a hint to --help); a usage error ends with where its help is."""
    where = f" (see `{exc.ctx.command_path} {exc.ctx.help_option_names[0]}`)" if isinstance(exc, click.UsageError) and exc.ctx is not None else ""
    click.echo(f"error: {exc.format_message()}{where}", err=True)


def exit_now(code: int) -> NoReturn:
    """End the process without tearing the interpreter down.

    After a long run, freeing every member, timer and task one object at a time takes a tenth
    of a daily --state run. Everything the command writes is written and closed by now (the
    state database committed); standard output and error are flushed here.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: nothing more can be said there
    os._exit(code)


if __name__ == "__main__":
    main()

