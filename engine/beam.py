"""``playbook run --runner beam``: the same plan, the community's parts run on Apache Beam.

The pipeline (docs/scale.md):

1. **Read and screen, on the driver.** The event source is read once and screened as the local
   runner's loop screens it (``partition.screen``: rejects, order, ``--until``, ``--max-future``,
   repeated messages): those decisions need the whole input in order. The part map (route →
   parts: a group, or a member with no group) is worked out there too (``partition.part_keys``).
2. **Key each event by its part** (the screened events written as shard files the workers read;
   ``FlatMap`` with the part map as a side input; string keys),
   **GroupByKey**, and on the workers **run the pure core over each part**: its events sorted
   back into input order, the whole run's ``--from``/``--until`` and end of history
   (``partition.run_part``). The playbooks go to the workers as their texts, loaded once per
   worker (``setup``): nothing unpicklable crosses, and no worker needs the driver's disk.
3. **Check and merge, on the driver**: each part's outcome comes back as a file of pickled
   records (under ``temp_location`` when the pipeline options give one, else a local temporary
   directory). Parts whose tasks met at one operator (``partition.joins``: a rule's
   ``assignee:``, a task with no group) are joined and run again in another pipeline, until
   none do; then ``partition.merge`` makes the one plan, the tasks in the local runner's order.

Without ``--beam-option runner=…`` the pipeline runs in this process on the ``FnApiRunner``
(the DirectRunner would first try Prism, which downloads a binary and fails offline).
"""

from __future__ import annotations

import base64
import logging
import pickle
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playbook_engine.contract import Event, Rejected, SourceRecord
from playbook_engine.errors import PlaybookError
from playbook_engine.model import Config
from playbook_engine.partition import WHOLE, Outcome, Parts, joins, merge, run_part, split
from playbook_engine.runner import RunResult

INSTALL = "pip install 'playbook-engine[beam]'"
SHARD = 20_000  # events per file the workers read


def check_installed() -> None:
    """Say how to install Apache Beam if it is not: before anything is read."""
    try:
        with _quiet():
            import apache_beam  # noqa: F401
    except ImportError:
        raise PlaybookError(f"`--runner beam` needs Apache Beam, which is not installed — install it with: {INSTALL}") from None


@contextmanager
def _quiet() -> Iterator[None]:
    """Beam logs on the root logger (optional Google Cloud libraries missing, its workers'
    progress): standard error is the run's summary and rejects, so only Beam's errors show."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def route(event: Event, staff: frozenset[str]) -> str:
    """What decides an event's part: its group, else its member (a staff account: where they write)."""
    if event.group is not None:
        return "g:" + event.group
    return ("s:" if event.member in staff else "m:") + (event.member or "")


def part_map(config: Config, parts: Parts) -> dict[str, list[str]]:
    """Route → the parts an event of that route goes to."""
    staff = config.community.staff
    routes: dict[str, list[str]] = {}
    for event, into in zip(parts.screened.events, parts.keys, strict=True):
        routes.setdefault(route(event, staff), into)
    return routes


def bundle(paths: Sequence[str]) -> list[tuple[str, str]]:
    """The files ``playbook run`` loads from ``paths`` (community.yaml, content.yaml beside it,
    the playbooks in the order they are loaded), as (name, text) for a worker that cannot read
    the driver's disk: the playbooks' names are numbered, so that they load in the same order."""
    from playbook_engine.loading import COMMUNITY_FILE, CONTENT_FILE, find_files

    community, playbooks = find_files(paths)
    files = []
    if community is not None:
        files.append((COMMUNITY_FILE, community.read_text(encoding="utf-8")))
        content = community.parent / CONTENT_FILE
        if content.exists():
            files.append((CONTENT_FILE, content.read_text(encoding="utf-8")))
    files += [(f"{index:04d}-{path.name}", path.read_text(encoding="utf-8")) for index, path in enumerate(playbooks)]
    return files


class _RunPart:
    """The DoFn's work, kept apart from Beam's class so that it can be read (and typed) alone.
    It carries the playbooks' texts, not their paths: a worker loads them once (``setup``)."""

    def __init__(self, files: list[tuple[str, str]], entrypoints: bool, start: float | None, until: float | None, end: float | None):
        self.files, self.entrypoints, self.start, self.until, self.end = files, entrypoints, start, until, end
        self.config: Config | None = None

    def setup(self) -> None:
        from playbook_engine.loading import load_config
        from playbook_engine.plugins import load_registry

        with tempfile.TemporaryDirectory(prefix="playbook-") as folder:
            for name, text in self.files:
                (Path(folder) / name).write_text(text, encoding="utf-8")
            self.config = load_config([folder], load_registry(entrypoints=self.entrypoints))

    def process(self, element: tuple[str, Iterable[tuple[int, str, bytes]]]) -> Iterator[str]:
        if self.config is None:
            self.setup()
        assert self.config is not None
        key, numbered = element
        events = [pickle.loads(data) for _, _, data in sorted(numbered, key=lambda item: item[0])]  # back in input order
        outcome = run_part(self.config, events, start=self.start, until=self.until, end=self.end)
        yield base64.b64encode(pickle.dumps((key, outcome), protocol=pickle.HIGHEST_PROTOCOL)).decode("ascii")


def run_beam(config: Config, items: Iterable[SourceRecord | Rejected | Event], *, paths: Sequence[str], entrypoints: bool = True, start: float | None = None, until: float | None = None, max_future: float | None = None, options: Sequence[str] = ()) -> tuple[RunResult, Parts]:
    """The local runner's result, the parts run as a Beam pipeline. ``options``: ``K=V`` pairs
    for Beam's PipelineOptions (``runner=FlinkRunner``, ``flink_master=host:8081`` …)."""
    check_installed()
    import apache_beam as beam
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner.fn_runner import FnApiRunner

    parts = split(config, items, until=until, max_future=max_future)
    flags = [_flag(option) for option in options]
    pipeline_options = PipelineOptions(flags)
    given = pipeline_options.get_all_options(drop_default=True)
    own = None if given.get("temp_location") else tempfile.mkdtemp(prefix="playbook-beam-")  # removed when the run ends
    where = given.get("temp_location") or own
    work = _RunPart(bundle(paths), entrypoints, start, until, parts.screened.last)
    staff = config.community.staff

    class RunPart(beam.DoFn):  # type: ignore[misc]  # Beam's classes are not typed
        def __init__(self, work: _RunPart):
            self.work = work

        def setup(self) -> None:
            self.work.setup()

        def process(self, element: Any) -> Iterator[str]:
            return self.work.process(element)

    def run_parts(wanted: frozenset[str] | None) -> dict[str, Outcome]:
        """One pipeline: the parts ``wanted`` (all: None) run on the workers; their outcomes."""
        def keyed(item: tuple[int, str, bytes], routes: dict[str, list[str]]) -> Iterator[tuple[str, tuple[int, str, bytes]]]:
            for key in routes.get(item[1], [WHOLE]):
                if wanted is None or key in wanted:
                    yield key, item

        # Each event as (input position, route, pickled bytes): Beam's coders pass bytes as they
        # are, where an Event object would be pickled again, slowly, at every step. The events go
        # to the workers as shard files beside the outcomes, not inside the pipeline's graph.
        numbered = [(seq, route(event, staff), pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL)) for seq, (event, into) in enumerate(zip(parts.screened.events, parts.keys, strict=True)) if wanted is None or not wanted.isdisjoint(into)]
        folder = FileSystems.join(where, f"playbook-parts-{uuid.uuid4().hex}")
        prefix = FileSystems.join(folder, "part")
        shards = []
        for index in range(0, len(numbered), SHARD):
            shards.append(FileSystems.join(folder, f"events-{index // SHARD:05d}.pickle"))
            with FileSystems.create(shards[-1]) as stream:
                stream.write(pickle.dumps(numbered[index:index + SHARD], protocol=pickle.HIGHEST_PROTOCOL))
        runner = None if given.get("runner") else FnApiRunner()
        with _quiet(), beam.Pipeline(runner=runner, options=pipeline_options) as pipeline:
            the_map = pipeline | "part map" >> beam.Create([part_map(config, parts)])
            (
                pipeline
                | "event shards" >> beam.Create(shards)
                | "read shards" >> beam.FlatMap(_read_shard)
                | "key by part" >> beam.FlatMap(keyed, beam.pvalue.AsSingleton(the_map))
                | "group by part" >> beam.GroupByKey()
                | "run each part" >> beam.ParDo(RunPart(work))
                | "write outcomes" >> beam.io.WriteToText(prefix)
            )
        got: dict[str, Outcome] = {}
        files = [match.path for match in FileSystems.match([prefix + "*"])[0].metadata_list]
        for path in files:
            with FileSystems.open(path) as stream:
                for line in stream.read().decode("ascii").splitlines():
                    if line:
                        key, outcome = pickle.loads(base64.b64decode(line))
                        got[key] = outcome
        FileSystems.delete(files + shards)
        if Path(folder).is_dir():  # a local folder outlives its files; an object store has none
            Path(folder).rmdir()
        return got

    try:
        outcomes = run_parts(None)
        while joined := joins(parts.owners, outcomes):  # parts whose tasks met at one operator: joined, and run again
            for keys in joined:
                for key in keys:
                    del outcomes[key]
            outcomes.update(run_parts(frozenset(parts.join(joined))))
    finally:
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)
    return merge(config, parts.screened, [outcomes[key] for key in sorted(outcomes)], start=start, until=until), parts


def _read_shard(path: str) -> list[tuple[int, str, bytes]]:
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path) as stream:
        shard: list[tuple[int, str, bytes]] = pickle.loads(stream.read())
    return shard


def _flag(option: str) -> str:
    key, equals, value = option.partition("=")
    if not equals or not key.strip():
        raise PlaybookError(f"--beam-option {option!r}: write KEY=VALUE, e.g. --beam-option runner=FlinkRunner")
    return f"--{key.strip().lstrip('-')}={value}"
