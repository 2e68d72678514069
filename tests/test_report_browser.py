"""`playbook report` in a real browser: the page opens in headless Chromium (Playwright driving
the Debian `chromium` package) with every request but the file itself refused, logs no error,
draws every chart — an SVG with a bar for each row of its table — and its Chinese in a font
that has the glyphs. A screenshot of the page is left in the test's tmp_path to look at.

`.ci/run` installs Chromium and a CJK font, and requires the test to run; elsewhere it is
skipped when no Chromium is found (`PLAYBOOK_CHROMIUM=/path/to/chrome` names another one)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from click.testing import CliRunner

from playbook_engine.cli import cli
from playbook_engine.plugins import Registry
from tests.conftest import ROOT, write_jsonl

# A chart whose table gives one row for several bars (a stacked bar per status) says how many.
BARS_PER_ROW = {"taken-back": 2, "holdout": 2, "funnel": 5, "by-playbook": 2}  # the funnel: a week's bar stacks the five stages of the shipped community; a playbook: its done and replied rates
TOTALS = ("合计", "total")  # a table's last row may add the others up: it has no bar

CHARTS = """() => [...document.querySelectorAll("section[data-chart]")].map(section => {
    const svg = section.querySelector("figure svg");
    const box = svg ? svg.getBoundingClientRect() : null;
    return {
        key: section.dataset.chart,
        svgs: section.querySelectorAll("svg").length,
        width: box ? box.width : 0,
        height: box ? box.height : 0,
        marks: svg ? svg.querySelectorAll(".role-mark > *:not(.background)").length : 0,
        bars: svg ? svg.querySelectorAll('[aria-roledescription="bar"]').length : 0,
        rows: [...section.querySelectorAll("table tbody tr")].map(row => row.cells[0].textContent.trim()),
        dashes: [...section.querySelectorAll("table tbody td")].filter(cell => cell.textContent.trim() === "—").length,
    };
})"""


@pytest.fixture
def state(tmp_path: Path, registry: Registry) -> tuple[Path, Path]:
    """The example club run night by night (a --state run a day) with op-lily's capacity cut to
    3 a day, so that later runs take tasks back (stale and displaced), half the members held out,
    then some tasks marked: every chart has something to draw."""
    playbooks = tmp_path / "playbooks"
    shutil.copytree(ROOT / "playbooks", playbooks)
    community = playbooks / "community.yaml"
    text = community.read_text(encoding="utf-8")
    assert "capacity: 40" in text
    assert '  quiet_hours: "22:00-08:00"\n' in text
    # Half the members held out of every playbook: the holdout comparison has rows to draw.
    community.write_text(text.replace("capacity: 40", "capacity: 3").replace('  quiet_hours: "22:00-08:00"\n', '  quiet_hours: "22:00-08:00"\n  holdout: 50%\n'), encoding="utf-8")
    events = [json.loads(line) for line in (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    state = tmp_path / "ops.db"
    runner = CliRunner()
    for day in sorted({event["ts"][:10] for event in events}):
        night = write_jsonl(tmp_path / f"{day}.jsonl", [event for event in events if event["ts"][:10] == day])
        result = runner.invoke(cli, ["run", str(playbooks), "--events", str(night), "--state", str(state), "--format", "jsonl"], obj={"registry": registry})
        assert result.exit_code == 0, result.output
    with sqlite3.connect(state) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM tasks WHERE data IS NOT NULL AND status = 'todo' ORDER BY due, id")]
    for chosen, status in ((ids[0:12], "done"), (ids[12:16], "replied"), (ids[16:18], "skipped")):
        result = runner.invoke(cli, ["tasks", "mark", "--state", str(state), *chosen, "--status", status, "--at", "2026-03-14 20:00"], obj={"registry": registry})
        assert result.exit_code == 0, result.output
    return playbooks, state


def missing(reason: str) -> NoReturn:
    """Skip, except under .ci/run, which installs what the test needs and so must not skip it."""
    if os.environ.get("PLAYBOOK_BROWSER_TEST") == "required":
        pytest.fail(reason + " (PLAYBOOK_BROWSER_TEST=required)")
    pytest.skip(reason)


def chromium() -> str | None:
    return os.environ.get("PLAYBOOK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium()
    if executable is None:
        missing("no Chromium: `apt-get install chromium` (.ci/run does), or PLAYBOOK_CHROMIUM=/path/to/chrome")
    try:
        from playwright import sync_api
    except ImportError:
        missing("no playwright: pip install -e '.[test]'")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)  # Debian's, not one `playwright install` downloads
        yield launched
        launched.close()


def cjk_families() -> set[str] | None:
    """The font families fontconfig says cover Chinese, or None without fontconfig."""
    if shutil.which("fc-list") is None:
        return None
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=True).stdout
    return {name.strip() for line in listed.splitlines() for name in line.split(",")}


def fonts_drawing(page: Any, selector: str) -> set[str]:
    """The fonts Chromium drew the first element matching ``selector`` with."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    assert node, selector
    return {font["familyName"] for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]}


def open_report(browser: Any, report: Path, screenshot: Path) -> tuple[Any, list[str], list[str]]:
    """Open ``report`` with the network refused; the page, the requests it tried beyond the file,
    and the console errors and page errors it gave. Saves a full-page screenshot."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    attempted: list[str] = []
    errors: list[str] = []

    def refuse(route: Any) -> None:
        if route.request.url == report.as_uri():
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    page.route("**/*", refuse)
    page.on("console", lambda message: errors.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"page: {error}"))
    page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url}") if request.url != report.as_uri() else None)
    page.goto(report.as_uri(), wait_until="load")
    page.screenshot(path=str(screenshot), full_page=True)
    return page, attempted, errors


def drawn(page: Any) -> dict[str, dict[str, Any]]:
    """Each chart as the browser shows it, after checking what holds for every chart: one SVG,
    marks where its table has rows, a bar for each row (or ``BARS_PER_ROW``), and none of it
    shown where there is nothing to draw (the table stands alone)."""
    charts = {chart["key"]: chart for chart in page.evaluate(CHARTS)}
    for key, chart in charts.items():
        rows = chart["rows"]
        data_rows = [row for row in rows if row not in TOTALS]  # a table may end in totals (one per series)
        chart["data_rows"] = len(data_rows)
        assert chart["svgs"] == 1, key
        if not data_rows:
            assert chart["marks"] == 0 and chart["width"] == 0, f"{key}: nothing to draw, yet a chart is shown"
            continue
        assert chart["width"] > 50 and chart["height"] > 50, key
        assert chart["marks"] > 0, key
        # A rate with nothing under it ("—" in the table: nothing due, nothing to reply to) has no bar.
        expected = len(data_rows) * BARS_PER_ROW.get(key, 1) - (chart["dashes"] if key == "by-playbook" else 0)
        assert chart["bars"] in (0, expected), (key, chart["bars"], len(data_rows))
    return charts


def assert_chinese_has_its_glyphs(page: Any) -> None:
    families = cjk_families()
    if families is None:
        return
    assert re.search("[\u4e00-\u9fff]", page.inner_text("h1"))
    for selector in ("h1", "table caption", "#workload svg .role-axis-title text"):
        used = fonts_drawing(page, selector)
        assert used and used <= families, f"{selector}: drawn with {used}, which have no Chinese — install a CJK font (Debian: fonts-noto-cjk)"


def test_the_report_opens_offline_in_chromium_and_draws_every_chart(browser: Any, state: tuple[Path, Path], tmp_path: Path, registry: Registry) -> None:
    playbooks, database = state
    report = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", str(playbooks), "--state", str(database), "--out", str(report)], obj={"registry": registry})
    assert result.exit_code == 0, result.output
    page, attempted, errors = open_report(browser, report, tmp_path / "report.png")
    assert attempted == []
    assert errors == []
    charts = drawn(page)  # every chart, those added later too
    for key in ("workload", "by-rule", "rates", "taken-back", "holdout"):  # the fixture gives these something to draw
        assert charts[key]["data_rows"] and charts[key]["bars"], key
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert_chinese_has_its_glyphs(page)
    page.close()


def test_the_readme_example_report_and_its_screenshot_in_docs(browser: Any, tmp_path: Path, registry: Registry) -> None:
    """The README's one command, `playbook run playbooks --events examples/events.jsonl --report
    report.html`: one run, nothing taken back, so that chart shows its table alone.
    PLAYBOOK_REGEN_SCREENSHOT=1 writes its screenshot to docs/report.png."""
    report = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["run", str(ROOT / "playbooks"), "--events", str(ROOT / "examples" / "events.jsonl"), "--format", "jsonl", "--report", str(report)], obj={"registry": registry})
    assert result.exit_code == 0, result.output
    page, attempted, errors = open_report(browser, report, tmp_path / "report.png")
    assert attempted == [] and errors == []
    charts = drawn(page)
    assert charts["taken-back"]["data_rows"] == 0
    assert all(charts[key]["bars"] for key in ("workload", "by-rule", "rates"))
    assert_chinese_has_its_glyphs(page)
    page.close()
    if os.environ.get("PLAYBOOK_REGEN_SCREENSHOT") == "1":
        shutil.copyfile(tmp_path / "report.png", ROOT / "docs" / "report.png")
