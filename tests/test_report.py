"""The HTML report: content, escaping, interrupted runs, attribution, and a real headless Chromium render."""

import contextlib
import html
import os
import shutil
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ListMemory

from agent import Agent, ScriptedModel
from agent.errors import UsageError
from agent.observing.report import write_report
from agent.observing.run_view import read_run
from agent.tools.builtin import calculator

from moves import SOLVE, call, final, finish, plan

EVIL_RESULT = "Areas: <script>alert('x')</script> Tokyo 2194 km2 & <b>Delhi</b> 1484 km2"
EVIL_TASK = "Cross-check the figures </title><script>alert(2)</script> against a second source"
OBJECTIVE = "Rank the three largest cities by density <img src=x onerror=alert(3)>"


DENSITY = "Compute the population density of each city from {1} and {2}"
SCRIPT = [
    plan("Collect the population of the three largest cities", "Find the area of each city", DENSITY, EVIL_TASK),
    call("calculator", expression="1/0"),  # task 1 fails
    "not json", SOLVE, EVIL_RESULT,  # task 2: a rejected choice, its retry, then the answer in words
    call("calculator", expression="37400000/2194"),  # task 3
    SOLVE, "1. Dhaka 2. Tokyo",  # task 4
    finish("Final: Dhaka is densest <b>not bold</b>"),
]
DESCRIPTIONS = ["Collect the population of the three largest cities", "Find the area of each city", DENSITY,
                EVIL_TASK]


def make_run(tmp_path: Path, memory, replies: list = SCRIPT, **options) -> Path:
    """A run made with the scripted model; a script cut short raises mid-run, like a crash."""
    agent = Agent(model=ScriptedModel(list(replies)), tools=[calculator], memory=memory,
                  run_dir=tmp_path / "runs", **{"max_tasks_per_cycle": 4, **options})
    # ScriptedModel runs out of replies (AssertionError): the run stops where a crash would leave it
    with contextlib.suppress(AssertionError):
        agent.run(OBJECTIVE)
    return next(p for p in (tmp_path / "runs").iterdir() if not p.name.startswith("."))


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """One finished run shared by the tests that only read it."""
    return make_run(tmp_path_factory.mktemp("report"), ListMemory())


def test_report_holds_every_task_the_answer_and_usage(finished):
    run = finished
    page = write_report(run).read_text(encoding="utf-8")
    assert (run / "report.html").is_file()
    for number, description in enumerate(DESCRIPTIONS, 1):
        assert f"<title>#{number} {html.escape(description)} (" in page
        assert page.count(html.escape(description)) >= 3  # DAG node, cost table, results
    assert "Final: Dhaka is densest &lt;b&gt;not bold&lt;/b&gt;" in page
    assert page.count('<g class="task') == 4 and page.count('class="edge"') == 2
    for number, status in [(1, "failed"), (2, "done"), (3, "done"), (4, "done")]:
        assert f'<g class="task {status}" data-task-id="{number}">' in page
    view = read_run(run)
    attributed = sum(c.calls for c in view.task_costs.values()) + sum(c.own.calls for c in view.cycles.values())
    assert attributed == len(SCRIPT) == view.usage.llm_calls
    assert [view.task_costs[n].calls for n in (1, 2, 3, 4)] == [1, 3, 1, 2]  # choose_tool (+ re-ask) + execute
    assert view.cycles["1"].own.calls == 1 and view.cycles["2"].own.calls == 1  # the plan; the finish
    assert list(view.cycles) == ["1", "2"]


def test_model_written_markup_is_escaped_and_the_page_loads_nothing(finished, tmp_path):
    page = write_report(finished, tmp_path / "out" / "r.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "<img" not in page.lower() and "<b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;/title&gt;&lt;script&gt;alert(2)" in page and "&lt;img src=x onerror=alert(3)&gt;" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert "default-src 'none'" in page


def test_an_interrupted_run_without_result_json_and_a_cut_trace_line(tmp_path, memory):
    run = make_run(tmp_path, memory, SCRIPT[:5])  # dies at task 3's choose_tool, task 3 started
    assert not (run / "result.json").exists()
    with (run / "trace.jsonl").open("a", encoding="utf-8") as trace:
        trace.write('{"time": 1, "kind": "model_cal')
    page = write_report(run).read_text(encoding="utf-8")
    assert "has not finished" in page and '<g class="task interrupted" data-task-id="3">' in page
    for description in DESCRIPTIONS[:4]:
        assert html.escape(description) in page
    assert "(no final answer yet)" in page


def test_calls_of_a_parallel_batch_go_to_their_own_tasks(tmp_path, memory):
    replies = [plan("first task", "second task"), "not json", SOLVE, call("calculator", expression="2+2"),
               "first result", {"next": "solve"}, "objective answered", final("answer")]
    view = read_run(make_run(tmp_path, memory, replies, parallel_tasks=2, max_cycles=2))
    assert (view.task_costs[1].calls, view.task_costs[2].calls) == (3, 1)  # re-asked choose_tool, execute
    assert view.task_costs[3].calls == 1 and view.cycles["final"].own.calls == 1
    assert view.cycles["1"].own.calls == 1 and view.cycles["2"].own.calls == 1


def test_not_a_run_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not a run directory"):
        write_report(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="not a readable run directory"):
        write_report(tmp_path / "empty")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.access("/usr/bin/chromium", os.X_OK):
        found = "/usr/bin/chromium"
    assert found, "Chromium is needed for the report's render test: install it with `apt-get install -y chromium`"
    return found


def headless(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    """Chromium, headless, offline-quiet, with a throwaway profile."""
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


class TaskNodes(HTMLParser):
    """The text inside each <g class="task ..." data-task-id=...> of the DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: dict[str, str] = {}
        self._open: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "g" and "task" in (attributes.get("class") or "").split():
            self._open, self._depth = attributes["data-task-id"], 0
            self.nodes[self._open] = ""
        elif self._open is not None:
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None:
            self._depth -= 1
            if tag == "g" and self._depth < 0:
                self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.nodes[self._open] += data


def distinct_bytes(png: bytes) -> int:
    """How many byte values the decoded image data holds: a blank page has a handful."""
    chunks, at = [], 8
    while at < len(png):
        size = int.from_bytes(png[at:at + 4], "big")
        if png[at + 4:at + 8] == b"IDAT":
            chunks.append(png[at + 8:at + 8 + size])
        at += 12 + size
    return len(set(zlib.decompress(b"".join(chunks))))


def test_chromium_renders_the_dag_with_every_task(finished, tmp_path):
    report = write_report(finished, tmp_path / "report.html")
    dom = headless(tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = TaskNodes()
    parser.feed(dom.stdout)
    assert sorted(parser.nodes) == ["1", "2", "3", "4"]
    for number, description in enumerate(DESCRIPTIONS, 1):
        assert description in parser.nodes[str(number)]
    assert "<script" not in dom.stdout.lower()  # the page's DOM holds no script element
    shot = tmp_path / "shot.png"
    done = headless(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", report.as_uri())
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[16:24] == (1200).to_bytes(4, "big") + (1600).to_bytes(4, "big")
    assert len(png) > 20_000 and distinct_bytes(png) > 100
    if os.environ.get("REPORT_SHOT"):  # to look at the render by hand
        shutil.copy(shot, os.environ["REPORT_SHOT"])
