"""The plugin contract: hookspecs documented and exercised, built-ins in step, broken plugins named."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest

from playbook_engine import hookimpl, hookspecs
from playbook_engine.contract import (
    ActionType,
    Channel,
    EventSource,
    InboxType,
    OutputFormat,
    TriggerType,
)
from playbook_engine.errors import PluginError
from playbook_engine.plugins import DEFAULT_PLUGINS, Registry, get_plugin_manager
from tests.conftest import ROOT

HOOKS = sorted(name for name, value in vars(hookspecs).items() if callable(value) and hasattr(value, "playbook_spec"))


def test_every_hookspec_is_documented_for_plugin_authors():
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        parameters = inspect.signature(getattr(hookspecs, name)).parameters
        assert doc and all(f":param {parameter}:" in doc for parameter in parameters), name


def test_default_plugins_are_exactly_the_modules_in_plugins():
    files = sorted(f"playbook_plugins.{path.stem}" for path in (ROOT / "plugins").glob("*.py") if path.stem != "__init__")
    assert sorted(DEFAULT_PLUGINS) == files


def test_every_channel_declares_a_valid_options_schema(registry):
    for channel in registry.channels.values():
        jsonschema.Draft202012Validator.check_schema(channel.options_schema)
        assert channel.capabilities and channel.max_length > 0


class Everything:
    """A plugin implementing every hook, to show each one is called and used."""

    def __init__(self) -> None:
        self.observed: list[str] = []

    @hookimpl
    def register_channels(self, register):
        register(Channel("pigeon", "Carrier pigeon", frozenset({"dm"}), max_length=10, mention=lambda name, member_id: f"~{name}"))

    @hookimpl
    def register_triggers(self, register):
        class Sneeze(TriggerType):
            name = "sneeze"
            description = "Fires on every reaction."
            listens = frozenset({"reaction"})

            def on_event(self, run, event, member):
                from playbook_engine.contract import Firing

                yield Firing(member, event.group, event.t, "sneezed")

        register(Sneeze)

    @hookimpl
    def register_actions(self, register):
        register(ActionType("coo", "Coo at the member.", {"type": "string"}, needs="dm", text_required=True))

    @hookimpl
    def register_sources(self, register):
        from playbook_engine.contract import SourceRecord

        def read(path, options):
            yield SourceRecord(1, {"ts": "2026-03-01T09:00:00+08:00", "type": "reaction", "group": "g1", "member": "m1", "name": "鸽"})

        register(EventSource("coop", read, "One reaction, whatever the file says."))

    @hookimpl
    def register_formats(self, register):
        register(OutputFormat("names", lambda tasks, stream, context: stream.write(",".join(t.member_name or "" for t in tasks) + "\n"), "Member names."))

    @hookimpl
    def register_filters(self, register):
        register("shout", lambda text: f"{text}!")

    @hookimpl
    def register_commands(self, cli):
        import click

        @cli.command(name="coo")
        def coo() -> None:
            """Coo. Example: playbook coo"""
            click.echo("coo")

    @hookimpl
    def task_planned(self, task):
        self.observed.append(task.id)

    @hookimpl
    def register_inboxes(self, register):
        register(InboxType("pigeon-post", "A pigeon at the operator's window", render=lambda part: {"scroll": [item.text for item in part.items]}))


EXERCISED = {"register_channels", "register_triggers", "register_actions", "register_sources", "register_formats", "register_filters", "register_commands", "task_planned", "register_inboxes"}


def test_the_test_plugin_covers_every_hookspec():
    assert sorted(EXERCISED) == HOOKS
    assert all(hasattr(Everything, hook) for hook in HOOKS)


@pytest.fixture
def everything():
    pm = get_plugin_manager(entrypoints=False)
    plugin = Everything()
    pm.register(plugin, name="everything")
    yield pm, plugin
    pm.unregister(plugin)


def test_every_hook_of_a_plugin_takes_part_in_a_run(everything, tmp_path):
    import click
    from click.testing import CliRunner

    from playbook_engine.cli import cli as base_cli

    pm, plugin = everything
    registry = Registry.collect(pm)
    directory = tmp_path / "pb"
    directory.mkdir()
    (directory / "community.yaml").write_text("community: {name: t, timezone: Asia/Shanghai, channel: pigeon, operators: [{id: op, groups: [g1], inbox: {type: pigeon-post, url: 'https://coop.example/op'}}]}\n", encoding="utf-8")
    (directory / "p.yaml").write_text('playbook: p\nrules:\n  - id: r\n    when: {sneeze: yes please}\n    do:\n      - coo: "{{ member | mention | shout }}"\n'.replace("yes please", '"x"'), encoding="utf-8")
    group = click.Group(commands=dict(base_cli.commands))
    pm.hook.register_commands(cli=group)
    runner = CliRunner()
    result = runner.invoke(group, ["run", str(directory), "--events", str(tmp_path), "--source", "coop", "--format", "jsonl"], obj={"registry": registry})
    assert result.exit_code == 0, result.output
    assert '"action":"coo","channel":"pigeon"' in result.stdout and '"text":"~鸽!"' in result.stdout
    assert len(plugin.observed) == 1
    assert runner.invoke(group, ["run", str(directory), "--events", str(tmp_path), "--source", "coop", "--format", "names"], obj={"registry": registry}).stdout == "鸽\n"
    assert runner.invoke(group, ["coo"], obj={"registry": registry}).stdout == "coo\n"
    state = str(tmp_path / "ops.db")
    assert runner.invoke(group, ["run", str(directory), "--events", str(tmp_path), "--source", "coop", "--state", state], obj={"registry": registry}).exit_code == 0
    delivered = runner.invoke(group, ["deliver", str(directory), "--state", state, "--date", "2026-03-01", "--dry-run"], obj={"registry": registry})
    assert delivered.exit_code == 0 and delivered.stdout.endswith('{\n  "scroll": [\n    "coo: ~鸽!"\n  ]\n}\n'), delivered.output


def test_a_duplicate_channel_name_names_both_plugins():
    class Copycat:
        @hookimpl
        def register_channels(self, register):
            register(Channel("wechat", "fake", frozenset({"dm"})))

    pm = get_plugin_manager(entrypoints=False)
    pm.register(Copycat(), name="copycat")
    with pytest.raises(PluginError, match=r"^channel `wechat` is registered by two plugins: playbook_plugins.channels and copycat — uninstall one of them$"):
        Registry.collect(pm)


# -- installed plugins, end to end ----------------------------------------------------------------


def _fake_distribution(site: Path, name: str, module_source: str) -> None:
    """An installed distribution with a `playbook_engine` entry point, as pip would leave it."""
    (site / f"{name}.py").write_text(textwrap.dedent(module_source), encoding="utf-8")
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[playbook_engine]\n{name} = {name}\n", encoding="utf-8")


def _playbook(args: list[str], site: Path | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)} if site else dict(os.environ)
    env.pop("PLAYBOOK_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "playbook_engine.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT)


BROKEN = {
    "raises_on_import": ("raise RuntimeError('no token configured')\n", "error: plugin raises_on_import (raises_on_import) failed to import: RuntimeError: no token configured"),
    "duplicate_channel": (
        """
        from playbook_engine import hookimpl
        from playbook_engine.plugins import Channel

        @hookimpl
        def register_channels(register):
            register(Channel("wechat", "another wechat", frozenset({"dm"})))
        """,
        "error: channel `wechat` is registered by two plugins: playbook_plugins.channels and duplicate_channel — uninstall one of them",
    ),
    "misspelled_hook": (
        """
        from playbook_engine import hookimpl

        @hookimpl
        def register_channel(register):
            pass
        """,
        "error: plugin misspelled_hook implements unknown hook `register_channel` — did you mean `register_channels`?",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_plugin_gets_a_one_line_error_naming_it(tmp_path, name):
    source, expected = BROKEN[name]
    _fake_distribution(tmp_path, name, source)
    failed = _playbook(["plugins"], tmp_path)
    assert (failed.returncode, failed.stderr.strip(), failed.stdout) == (1, expected, "")
    skipped = _playbook(["--skip-broken-plugins", "validate", "playbooks"], tmp_path)
    assert skipped.returncode == 0
    assert skipped.stderr.splitlines()[0] == "warning: skipped: " + expected.removeprefix("error: ")  # then validate's own (the shipped survey's example address)


def test_the_example_feishu_plugin_installs_validates_and_plans(tmp_path):
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(ROOT / "examples" / "playbook-feishu")],
        capture_output=True, text=True,
    )
    assert install.returncode == 0, install.stderr
    listed = _playbook(["plugins"], site)
    assert "feishu [installed (playbook-feishu 0.1.0)] — channels: feishu" in listed.stdout

    directory = tmp_path / "pb"
    directory.mkdir()
    (directory / "community.yaml").write_text("community: {name: 飞书社群, timezone: Asia/Shanghai, channel: feishu}\n", encoding="utf-8")
    (directory / "hi.yaml").write_text('playbook: hi\nrules:\n  - id: hello\n    when: {event: member_joined}\n    do:\n      - mention: "欢迎 {{ member | mention }}"\n', encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text('{"ts":"2026-03-01T10:00:00+08:00","type":"member_joined","group":"g1","member":"ou_1","name":"小林"}\n', encoding="utf-8")
    planned = _playbook(["run", str(directory), "--events", str(events), "--format", "jsonl"], site)
    assert planned.returncode == 0, planned.stderr
    assert '"channel":"feishu"' in planned.stdout and '欢迎 <at user_id=\\"ou_1\\">小林</at>' in planned.stdout

    uninstalled = _playbook(["validate", str(directory)], None)
    assert uninstalled.returncode == 1
    problem = uninstalled.stderr.splitlines()[0]
    assert problem.startswith(f"{directory / 'community.yaml'}:1:") and "`feishu`" in problem and "channel" in problem


def test_validate_refuses_an_action_the_channel_cannot_do_and_a_text_too_long(make_config):
    from playbook_engine.errors import InvalidPlaybooks

    community = "community:\n  name: t\n  timezone: Asia/Shanghai\n  channel: email\n"
    long_text = "长" * 100_001
    rules = f'playbook: p\nrules:\n  - id: r\n    when: {{event: message}}\n    do:\n      - remove: 广告\n      - dm: "{long_text}"\n'
    with pytest.raises(InvalidPlaybooks) as raised:
        make_config({"p.yaml": rules}, community)
    messages = [problem.message for problem in raised.value.problems]
    assert messages == [
        "channel `email` cannot remove (remove) — it can: dm, post; use another action, or set `channel:` on this rule to one that can",
        "text is at least 100001 characters, longer than the 100000 that `email` allows in one message — shorten it or split it into two actions",
    ]
    assert [(p.line, p.yaml_path) for p in raised.value.problems] == [(6, "rules[0].do[0].remove"), (7, "rules[0].do[1].dm")]


def test_a_rendered_text_longer_than_the_channel_allows_is_flagged(make_config):
    from playbook_engine.output import render_summary
    from tests.conftest import plan

    rules = 'playbook: p\nrules:\n  - id: r\n    when: {event: message}\n    do:\n      - dm: "{% for i in range(1500) %}字字{% endfor %}"\n'
    result = plan(make_config({"p.yaml": rules}), [{"ts": "2026-03-01T09:00:00+08:00", "type": "message", "group": "g1", "member": "m1"}], explain=True)
    assert len(result.tasks) == 1
    assert [note.reason for note in result.notes if note.kind == "too long"] == ["text of `dm` is 3000 characters, more than the 2000 `wechat` allows: planned anyway, split it before sending"]
    assert (result.counts["too_long"], result.counts["error"]) == (1, 0)  # planned: not a failed rule
    assert "1 planned task text(s) longer than the channel allows — split them before sending" in render_summary(result, result.evaluation.config.community)


def test_installed_import_names_cannot_collide(tmp_path):
    """The folders engine/ and plugins/ install as playbook_engine and playbook_plugins only."""
    probe = "import importlib.util as u; print([u.find_spec(n) is not None for n in ('engine', 'plugins', 'playbook_engine', 'playbook_plugins')])"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert found.stdout.strip() == "[False, False, True, True]", found.stderr
