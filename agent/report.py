"""A run as one self-contained HTML page: header, task DAG, cycle timeline, usage per task, results, answer.

The page has no script and loads nothing (a CSP says so too); every string from the run is escaped, because
task results are model- and tool-written data."""

import html
import json
import sqlite3
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import UsageError
from agent.records import RunResult, Task, Usage
from agent.store import STATE_FILE
from agent.trace import read_trace

PURPOSES = {"plan": "#5b8def", "prioritize": "#9c6ade", "choose_tool": "#f0a030", "execute": "#2fa37a",
            "integrate": "#e0604f", "final": "#555b66"}
OTHER_COLOR = "#9aa3ad"
NODE_W, NODE_H, GAP_X, GAP_Y, PAD, LINE_CHARS = 230, 78, 64, 16, 16, 34


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


@dataclass
class Cost:
    calls: int = 0
    prompt: int = 0
    completion: int = 0
    seconds: float = 0.0

    def add(self, event: dict) -> None:
        self.calls += 1
        self.prompt += int(event.get("prompt_tokens") or 0)
        self.completion += int(event.get("completion_tokens") or 0)
        self.seconds += float(event.get("seconds") or 0.0)


@dataclass
class Cycle:
    label: str
    wall: float = 0.0  # seconds between this cycle's events, not counting the gap before a resume
    purposes: dict[str, Cost] = field(default_factory=lambda: defaultdict(Cost))
    own: Cost = field(default_factory=Cost)  # calls not attributed to a task: planning, integration
    verdict: str = ""


@dataclass
class RunView:
    run_id: str
    objective: str
    model: str
    status: str
    final_answer: str
    usage: Usage
    tasks: list[Task]
    trace: list[dict]
    finished: bool = False
    task_costs: dict[int, Cost] = field(default_factory=lambda: defaultdict(Cost))
    tools: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    cycles: dict[str, Cycle] = field(default_factory=dict)
    interrupted: set[int] = field(default_factory=set)  # started, never finished


def read_run(run_path: Path) -> RunView:
    """The run's state (read-only: a live run keeps its lock), its result if written, and its trace."""
    meta: dict = {}
    tasks: list[Task] = []
    state = run_path / STATE_FILE
    if state.is_file():
        try:
            db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
            try:
                meta = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
                tasks = [Task.model_validate_json(b) for (b,) in db.execute("SELECT body FROM tasks ORDER BY id")]
            finally:
                db.close()
        except (sqlite3.DatabaseError, ValueError):
            meta, tasks = {}, []  # result.json and the trace may still tell the story
    result = None
    if (run_path / "result.json").is_file():
        try:
            result = RunResult.model_validate_json((run_path / "result.json").read_text(encoding="utf-8"))
        except ValueError:
            result = None
    if not meta and result is None:
        raise UsageError(f"{run_path} is not a readable run directory (no usable {STATE_FILE} or result.json); "
                         "pass a directory from `agent runs`")
    trace = read_trace(run_path / "trace.jsonl") if (run_path / "trace.jsonl").is_file() else []
    started = next((e for e in trace if e.get("kind") == "run_started"), {})
    view = RunView(
        run_id=result.run_id if result else meta.get("run_id", run_path.name),
        objective=result.objective if result else meta.get("objective", ""),
        model=meta.get("model") or started.get("model", ""),
        status=result.status.value if result else meta.get("status", "unknown"),
        final_answer=result.final_answer if result else meta.get("final_answer", ""),
        usage=result.usage if result else Usage(**meta.get("usage", {})),
        tasks=result.tasks if result else tasks, trace=trace,
        finished=result is not None or any(e.get("kind") == "run_finished" for e in trace))
    attribute(view)
    return view


def attribute(view: RunView) -> None:
    """Model calls between a task's start and finish are that task's. A batch starts several tasks at once:
    its choose_tool calls come task by task (a re-ask stays on its task), then one execute call per task that
    no tool settled, in start order."""
    cycle = view.cycles.setdefault("start", Cycle("start"))  # calls before any cycle: a resume mid-cycle
    batch: list[int] = []
    open_: set[int] = set()
    tooled: set[int] = set()
    answered: set[int] = set()
    cursor, last_time = 0, None
    for event in view.trace:
        kind, now = event.get("kind"), event.get("time")
        delta = now - last_time if isinstance(now, (int, float)) and last_time is not None else 0.0
        last_time = now if isinstance(now, (int, float)) else last_time
        if kind == "run_started":
            delta, batch, cursor = 0.0, [], 0
            view.interrupted |= open_
            open_ = set()
        elif kind == "cycle_started":
            label = str(event.get("cycle"))
            cycle = view.cycles.setdefault(label, Cycle(label))
        elif kind == "task_started":
            if not open_:
                batch, tooled, answered, cursor = [], set(), set(), 0
            task_id = event["task"]["id"]
            batch.append(task_id)
            open_.add(task_id)
        elif kind == "task_finished":
            open_.discard(event["task"]["id"])
        elif kind == "tool_called":
            tooled.add(event.get("task_id"))
            view.tools[event.get("task_id")].append(event)
        elif kind == "output_rejected" and event.get("purpose") == "choose_tool":
            cursor -= 1
        elif kind == "step_failed" and event.get("purpose") == "choose_tool":
            cursor += 1
        elif kind == "judged":
            cycle.verdict = ("done: " if event.get("done") else "not yet: ") + str(event.get("reason", ""))
        elif kind == "model_called":
            purpose = str(event.get("purpose", "?"))
            if purpose == "final":
                cycle = view.cycles.setdefault("final", Cycle("final"))
            cycle.purposes[purpose].add(event)
            owner = None
            if len(batch) == 1 and open_:
                owner = batch[0]
            elif open_ and purpose == "choose_tool" and 0 <= cursor < len(batch):
                owner, cursor = batch[cursor], cursor + 1
            elif open_ and purpose == "execute":
                owner = next((t for t in batch if t not in tooled and t not in answered), None)
                answered.add(owner)
            (view.task_costs[owner] if owner is not None else cycle.own).add(event)
        cycle.wall += max(delta, 0.0)
    if not view.finished:
        view.interrupted |= open_
    if not view.cycles["start"].purposes:
        del view.cycles["start"]


def layout(tasks: list[Task]) -> dict[int, tuple[int, int]]:
    """(column, row) per task. Column: the cycle that created it, pushed right of every dependency (the
    longest dependency path); row: near its dependencies, to keep edges short."""
    cycles = sorted({t.cycle for t in tasks if t.cycle is not None})
    column: dict[int, int] = {}
    for task in sorted(tasks, key=lambda t: t.id):  # dependencies always have smaller ids
        deps = [column[d] + 1 for d in task.depends_on if d in column]
        column[task.id] = max([cycles.index(task.cycle) if task.cycle in cycles else 0, *deps])
    place: dict[int, tuple[int, int]] = {}
    for col in sorted(set(column.values())):
        def centre(t: Task) -> tuple[float, int]:
            parents = [place[d][1] for d in t.depends_on if d in place]
            return (sum(parents) / len(parents) if parents else float("inf"), t.id)

        members = sorted((t for t in tasks if column[t.id] == col), key=centre)
        for row, task in enumerate(members):
            place[task.id] = (col, row)
    return place


def dag_svg(view: RunView) -> str:
    if not view.tasks:
        return '<p class="muted">No task was created.</p>'
    place = layout(view.tasks)
    cols, rows = max(c for c, _ in place.values()) + 1, max(r for _, r in place.values()) + 1
    width, height = 2 * PAD + cols * NODE_W + (cols - 1) * GAP_X, 2 * PAD + 22 + rows * (NODE_H + GAP_Y) - GAP_Y
    xy = {i: (PAD + c * (NODE_W + GAP_X), PAD + 22 + r * (NODE_H + GAP_Y)) for i, (c, r) in place.items()}
    parts = [f'<svg class="dag" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="task graph"><defs><marker id="arrow" '
             'viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">'
             '<path d="M0,0 L10,5 L0,10 z" fill="#7a8491"/></marker></defs>']
    for col in range(cols):
        found = sorted({t.cycle for t in view.tasks if place[t.id][0] == col and t.cycle is not None})
        label = "cycle " + ", ".join(map(str, found)) if found else f"layer {col + 1}"
        parts.append(f'<text class="col" x="{PAD + col * (NODE_W + GAP_X) + NODE_W / 2}" y="{PAD + 8}">'
                     f'{esc(label)}</text>')
    for task in view.tasks:
        x2, y2 = xy[task.id]
        for dep in task.depends_on:
            if dep in xy:
                x1, y1 = xy[dep][0] + NODE_W, xy[dep][1] + NODE_H / 2
                bend = max((x2 - x1) / 2, 30)
                parts.append(f'<path class="edge" data-from="{dep}" data-to="{task.id}" d="M{x1},{y1} C{x1 + bend},'
                             f'{y1} {x2 - bend},{y2 + NODE_H / 2} {x2 - 2},{y2 + NODE_H / 2}" marker-end="url(#arrow)"/>')
    for task in view.tasks:
        x, y = xy[task.id]
        status = status_of(view, task)
        lines = textwrap.wrap(task.description, LINE_CHARS, max_lines=3, placeholder=" …") or [""]
        text = "".join(f'<text x="{x + 10}" y="{y + 38 + 15 * i}">{esc(line)}</text>' for i, line in enumerate(lines))
        parts.append(f'<g class="task {status}" data-task-id="{task.id}"><title>#{task.id} {esc(task.description)}'
                     f' ({status})</title><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="7"/>'
                     f'<text class="head" x="{x + 10}" y="{y + 19}">#{task.id} · {status}'
                     f'{" · " + esc(task.tool) if task.tool else ""}</text>{text}</g>')
    return "".join(parts) + "</svg>"


def status_of(view: RunView, task: Task) -> str:
    status = task.status.value if task.status.value in {"done", "failed"} else "pending"
    return "interrupted" if status == "pending" and task.id in view.interrupted else status


def timeline_svg(view: RunView) -> str:
    """Per cycle: its wall time (grey) and its model calls' seconds stacked by purpose."""
    cycles = list(view.cycles.values())
    if not cycles:
        return '<p class="muted">The trace holds no cycle.</p>'
    scale = max(max(c.wall, sum(p.seconds for p in c.purposes.values())) for c in cycles) or 1.0
    left, bar, row = 90, 640, 30
    height = len(cycles) * row + 10
    parts = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{left + bar + 300}" '
             f'height="{height}" viewBox="0 0 {left + bar + 300} {height}" role="img" aria-label="cycle timeline">']
    for i, cycle in enumerate(cycles):
        y = 6 + i * row
        name = f"cycle {cycle.label}" if cycle.label.isdigit() else cycle.label
        parts.append(f'<text class="rowlabel" x="{left - 10}" y="{y + 15}">{esc(name)}</text>'
                     f'<rect class="wall" x="{left}" y="{y}" width="{max(cycle.wall / scale * bar, 1):.1f}" '
                     f'height="20" rx="3"><title>wall {cycle.wall:.2f} s</title></rect>')
        x = float(left)
        total = Cost()
        for purpose in sorted(cycle.purposes, key=lambda p: list(PURPOSES).index(p) if p in PURPOSES else 99):
            cost = cycle.purposes[purpose]
            w = max(cost.seconds / scale * bar, 2.0)
            parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="14" fill="'
                         f'{PURPOSES.get(purpose, OTHER_COLOR)}"><title>{esc(purpose)}: {cost.calls} calls, '
                         f'{cost.seconds:.2f} s, {cost.prompt + cost.completion:,} tokens</title></rect>')
            x += w
            total.calls, total.seconds = total.calls + cost.calls, total.seconds + cost.seconds
            total.prompt, total.completion = total.prompt + cost.prompt, total.completion + cost.completion
        parts.append(f'<text class="rowinfo" x="{max(x, left + cycle.wall / scale * bar) + 8:.1f}" y="{y + 15}">'
                     f'{total.calls} calls · {total.seconds:.2f} s model / {cycle.wall:.2f} s wall · '
                     f'{total.prompt + total.completion:,} tok</text>')
    legend = "".join(f'<span class="key"><i style="background:{c}"></i>{p}</span>' for p, c in PURPOSES.items())
    return ("".join(parts) + "</svg>" + f'<p class="legend">{legend}<span class="key"><i class="wallkey"></i>'
            "wall time of the cycle (model, tools, memory, bookkeeping)</span></p>")


def cost_table(view: RunView) -> str:
    def row(cells: list[str], cls: str = "") -> str:
        return f'<tr class="{cls}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"

    def nums(c: Cost) -> list[str]:
        return [str(c.calls), f"{c.prompt:,}", f"{c.completion:,}", f"{c.seconds:.2f}"]

    rows, total = [], Cost()
    for task in view.tasks:
        cost = view.task_costs.get(task.id, Cost())
        rows.append(row([f"#{task.id}", esc(task.description), f'<span class="badge {status_of(view, task)}">'
                         f"{status_of(view, task)}</span>", esc(task.cycle or ""), *nums(cost)]))
    for cycle in view.cycles.values():
        purposes = ", ".join(p for p in cycle.purposes if cycle.purposes[p].calls)
        rows.append(row(["", f"cycle {esc(cycle.label)}: {esc(purposes) or 'no model call'} (not task work)", "",
                         esc(cycle.label), *nums(cycle.own)], "muted"))
    for cost in [*view.task_costs.values(), *(c.own for c in view.cycles.values())]:
        total.calls, total.seconds = total.calls + cost.calls, total.seconds + cost.seconds
        total.prompt, total.completion = total.prompt + cost.prompt, total.completion + cost.completion
    rows.append(row(["", "total", "", "", *nums(total)], "total"))
    head = "".join(f"<th>{h}</th>" for h in ["id", "task", "status", "cycle", "calls", "prompt tok",
                                             "completion tok", "model s"])
    return f'<table class="costs"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def results_html(view: RunView) -> str:
    parts = []
    for task in view.tasks:
        status = status_of(view, task)
        tools = "".join(f'<p class="tool">{esc(t.get("tool"))}({esc(json.dumps(t.get("arguments"), ensure_ascii=False))})'
                        f' → {"ok" if t.get("ok") else "failed"}</p>' for t in view.tools.get(task.id, []))
        deps = f'<p class="muted">depends on {", ".join(f"#{d}" for d in task.depends_on)}</p>' if task.depends_on else ""
        body = f"<pre>{esc(task.result)}</pre>" if task.result else '<p class="muted">no result</p>'
        parts.append(f'<details id="task-{task.id}"><summary><span class="badge {status}">{status}</span> '
                     f"#{task.id} {esc(task.description)}</summary>{deps}{tools}{body}</details>")
    return "".join(parts) or '<p class="muted">No task was created.</p>'


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2328;
margin:0;background:#f6f7f9}main{max-width:1160px;margin:0 auto;padding:24px}
section,header{background:#fff;border:1px solid #dde1e6;border-radius:10px;padding:16px 20px;margin:0 0 18px}
h1{font-size:20px;margin:0 0 6px}h2{font-size:16px;margin:0 0 12px}.objective{font-size:16px;margin:0 0 12px}
dl{display:grid;grid-template-columns:repeat(4,auto);gap:4px 18px;margin:0 0 12px;justify-content:start}
dt{color:#59636e}dd{margin:0;font-variant-numeric:tabular-nums}.scroll{overflow-x:auto}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;border-radius:6px;padding:10px;margin:8px 0}
.answer{border-left:4px solid #2e7d32}.muted{color:#6b7480}.note{background:#fff8e1;padding:8px 12px;border-radius:6px}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;background:#eceff3;color:#444}
.badge.done{background:#e3f3e6;color:#1d6b2a}.badge.failed{background:#fbe4e2;color:#a32018}
.badge.interrupted{background:#fff1cc;color:#8a5a00}.badge.running{background:#fff1cc;color:#8a5a00}
.dag text{font-size:12px;fill:#1f2328}.dag text.head{font-weight:600;font-size:11.5px;fill:#3b434c}
.dag text.col{text-anchor:middle;fill:#6b7480;font-size:12px}.dag .edge{fill:none;stroke:#7a8491;stroke-width:1.4}
.dag rect{stroke-width:1.6;fill:#f3f4f6;stroke:#9aa3ad}.dag .done rect{fill:#e8f5ea;stroke:#2e7d32}
.dag .failed rect{fill:#fdecea;stroke:#c62828}.dag .interrupted rect{fill:#fff8e1;stroke:#e0a000;stroke-dasharray:5 3}
.timeline text{font-size:12px;fill:#1f2328}.timeline .rowlabel{text-anchor:end}.timeline .rowinfo{fill:#59636e}
.timeline .wall{fill:#e3e6ea}.legend{margin:6px 0 0;font-size:12px;color:#59636e}.key{margin-right:14px}
.key i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}.wallkey{background:#e3e6ea}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff3}
td:nth-child(n+5),th:nth-child(n+5){text-align:right;font-variant-numeric:tabular-nums}
tr.muted td{color:#6b7480}tr.total td{border-top:2px solid #c9ced4;font-weight:600}
details{border-bottom:1px solid #eceff3;padding:6px 0}summary{cursor:pointer}.tool{font-family:monospace;margin:4px 0}
"""


def render_report(run_path: Path) -> str:
    """The report's HTML for the run at `run_path`."""
    view = read_run(run_path)
    u = view.usage
    counts = {s: sum(status_of(view, t) == s for t in view.tasks) for s in ("done", "failed", "pending", "interrupted")}
    status = view.status if view.finished or view.status != "running" else "running"
    note = "" if view.finished else ('<p class="note">This run has not finished (interrupted, or still running): '
                                     "what follows is its last recorded state.</p>")
    answer = view.final_answer or "(no final answer yet)"
    short = answer if len(answer) <= 400 else answer[:400] + " …"
    facts = [("run id", esc(view.run_id)), ("status", f'<span class="badge {esc(status)}">{esc(status)}</span>'),
             ("model", esc(view.model)), ("cycles", str(sum(c.isdigit() for c in view.cycles))),
             ("tasks", ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "0"),
             ("model calls", f"{u.llm_calls:,}"), ("tokens", f"{u.prompt_tokens:,} prompt + {u.completion_tokens:,}"
                                                            f" completion = {u.total_tokens:,}"),
             ("time", f"{u.seconds:.1f} s")]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Run {esc(view.run_id)}</title><style>{CSS}</style></head><body><main>
<header><h1>Run report</h1><p class="objective">{esc(view.objective)}</p><dl>{dl}</dl>{note}
<pre class="answer">{esc(short)}</pre></header>
<section><h2>Tasks</h2><div class="scroll">{dag_svg(view)}</div></section>
<section><h2>Timeline</h2><div class="scroll">{timeline_svg(view)}</div></section>
<section><h2>Tokens and time</h2><div class="scroll">{cost_table(view)}</div></section>
<section><h2>Results</h2>{results_html(view)}</section>
<section id="answer"><h2>Final answer</h2><pre class="answer">{esc(answer)}</pre></section>
</main></body></html>
"""


def write_report(run_path: Path, out: Path | None = None) -> Path:
    """Write the run's report (default `run_path/report.html`) and return its path."""
    if not run_path.is_dir():
        raise UsageError(f"{run_path} is not a run directory; pass one from `agent runs`")
    out = out or run_path / "report.html"
    page = render_report(run_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
