"""``playbook run --runner beam``: the same plan, the community's parts run on Apache Beam.

The pipeline (docs/scale.md):

1. **Read and screen, on the driver.** The event source is read once and screened as the local
   runner's loop screens it (``partition.screen``: rejects, order, ``--until``, ``--max-future``,
   repeated messages): those decisions need the whole input in order. The part map (route →
   parts: a group, or a member with no group) is worked out there too (``partition.part_keys``).
2. **Key each event by its part** (``FlatMap`` with the part map as a side input; string keys),
   **GroupByKey**, and on the workers **run the pure core over each part**: its events sorted
   back into input order, the whole run's ``--from``/``--until`` and end of history
   (``partition.run_part``). The config is loaded once per worker (``setup``) from the
   playbook paths: nothing unpicklable crosses to the workers.
3. **Merge, on the driver**: each part's outcome comes back as a file of pickled records (under
   ``temp_location`` when the pipeline options give one, else a local temporary directory),
   and ``partition.merge`` makes the one plan: the tasks in the local runner's order.

Without ``--beam-option runner=…`` the pipeline runs in this process on the ``FnApiRunner``
(the DirectRunner would first try Prism, which downloads a binary and fails offline).
"""

from __future__ import annotations

import base64
import logging
import pickle
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playbook_engine.contract import Event, Rejected, SourceRecord
from playbook_engine.errors import PlaybookError
from playbook_engine.model import Config
from playbook_engine.partition import WHOLE, Outcome, Parts, merge, part_keys, run_part, screen
from playbook_engine.runner import RunResult

INSTALL = "pip install 'playbook-engine[beam]'"


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


def part_map(config: Config, events: list[Event]) -> tuple[dict[str, list[str]], str | None]:
    """Route → the parts an event of that route goes to; and why there is one part, if so."""
    keys, note = part_keys(config, events)
    staff = config.community.staff
    routes: dict[str, list[str]] = {}
    for event, into in zip(events, keys, strict=True):
        routes.setdefault(route(event, staff), into)
    return routes, note


class _RunPart:
    """The DoFn's work, kept apart from Beam's class so that it can be read (and typed) alone."""

    def __init__(self, paths: Sequence[str], entrypoints: bool, start: float | None, until: float | None, end: float | None):
        self.paths, self.entrypoints, self.start, self.until, self.end = list(paths), entrypoints, start, until, end
        self.config: Config | None = None

    def setup(self) -> None:
        from playbook_engine.loading import load_config
        from playbook_engine.plugins import load_registry

        self.config = load_config(self.paths, load_registry(entrypoints=self.entrypoints))

    def process(self, element: tuple[str, Iterable[tuple[int, Event]]]) -> Iterator[str]:
        if self.config is None:
            self.setup()
        assert self.config is not None
        key, numbered = element
        events = [event for _, event in sorted(numbered, key=lambda item: item[0])]  # back in input order
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

    screened = screen(config, items, until=until, max_future=max_future)
    routes, note = part_map(config, screened.events)
    flags = [_flag(option) for option in options]
    pipeline_options = PipelineOptions(flags)
    given = pipeline_options.get_all_options(drop_default=True)
    where = given.get("temp_location") or tempfile.mkdtemp(prefix="playbook-beam-")
    prefix = FileSystems.join(where, f"playbook-parts-{uuid.uuid4().hex}", "part")
    work = _RunPart([str(Path(path).resolve()) for path in paths], entrypoints, start, until, screened.last)
    staff = config.community.staff

    class RunPart(beam.DoFn):  # type: ignore[misc]  # Beam's classes are not typed
        def __init__(self, work: _RunPart):
            self.work = work

        def setup(self) -> None:
            self.work.setup()

        def process(self, element: Any) -> Iterator[str]:
            return self.work.process(element)

    def keyed(item: tuple[int, Event], parts: dict[str, list[str]]) -> Iterator[tuple[str, tuple[int, Event]]]:
        for key in parts.get(route(item[1], staff), [WHOLE]):
            yield key, item

    runner = None if given.get("runner") else FnApiRunner()
    with _quiet(), beam.Pipeline(runner=runner, options=pipeline_options) as pipeline:
        the_map = pipeline | "part map" >> beam.Create([routes])
        (
            pipeline
            | "events" >> beam.Create(list(enumerate(screened.events)), reshuffle=False)
            | "key by part" >> beam.FlatMap(keyed, beam.pvalue.AsSingleton(the_map))
            | "group by part" >> beam.GroupByKey()
            | "run each part" >> beam.ParDo(RunPart(work))
            | "write outcomes" >> beam.io.WriteToText(prefix)
        )
    outcomes: list[tuple[str, Outcome]] = []
    for match in FileSystems.match([prefix + "*"])[0].metadata_list:
        with FileSystems.open(match.path) as stream:
            for line in stream.read().decode("ascii").splitlines():
                if line:
                    outcomes.append(pickle.loads(base64.b64decode(line)))
    FileSystems.delete([match.path for match in FileSystems.match([prefix + "*"])[0].metadata_list])
    outcomes.sort(key=lambda item: item[0])
    parts = Parts(screened, {key: [] for key, _ in outcomes}, note)
    return merge(config, screened, [outcome for _, outcome in outcomes], start=start, until=until), parts


def _flag(option: str) -> str:
    key, equals, value = option.partition("=")
    if not equals or not key.strip():
        raise PlaybookError(f"--beam-option {option!r}: write KEY=VALUE, e.g. --beam-option runner=FlinkRunner")
    return f"--{key.strip().lstrip('-')}={value}"
