"""A run as one self-contained HTML page: header, task DAG, cycle timeline, usage per task, results, answer.

The page has no script and loads nothing (a CSP says so too); every string from the run is escaped, because
task results are model- and tool-written data."""

import html
import json
import textwrap
from pathlib import Path

from agent.errors import UsageError
from agent.observing.run_view import Cost, RunView, read_run
from agent.records import Task

PURPOSES = {"plan": "#5b8def", "prioritize": "#9c6ade", "choose_tool": "#f0a030", "execute": "#2fa37a",
            "integrate": "#e0604f", "final": "#555b66"}
OTHER_COLOR = "#9aa3ad"
NODE_W, NODE_H, GAP_X, GAP_Y, PAD, LINE_CHARS = 214, 78, 52, 16, 16, 29


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


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
    # a wide graph shrinks to fit, down to 3/4 of its size (text stays readable); past that the box scrolls
    parts = [(f'<svg class="dag" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
              f'style="width:100%;max-width:{width}px;min-width:{width * 3 // 4}px" aria-label="task graph">'
              '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
              'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#7a8491"/></marker></defs>')]
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
                parts.append(f'<path class="edge" data-from="{dep}" data-to="{task.id}" d="M{x1},{y1} '
                             f'C{x1 + bend},{y1} {x2 - bend},{y2 + NODE_H / 2} {x2 - 2},{y2 + NODE_H / 2}" '
                             'marker-end="url(#arrow)"/>')
    for task in view.tasks:
        x, y = xy[task.id]
        status = status_of(view, task)
        lines = textwrap.wrap(task.description, LINE_CHARS, max_lines=3, placeholder=" …") or [""]
        text = "".join(f'<text x="{x + 10}" y="{y + 38 + 15 * i}">{esc(line)}</text>'
                       for i, line in enumerate(lines))
        parts.append(f'<g class="task {status}" data-task-id="{task.id}"><title>#{task.id} {esc(task.description)}'
                     f' ({status})</title><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="7"/>'
                     f'<text class="head" x="{x + 10}" y="{y + 19}">#{task.id} · {status}'
                     f'{" · " + esc(task.tool) if task.tool else ""}</text>{text}</g>')
    return "".join(parts) + "</svg>"


def status_of(view: RunView, task: Task) -> str:
    status = task.status.value if task.status.value in {"done", "failed"} else "pending"
    return "interrupted" if status == "pending" and task.id in view.interrupted else status


def cycle_name(label: str) -> str:
    return f"cycle {label}" if label.isdigit() else {"final": "final answer", "start": "before cycle"}.get(label, label)


def timeline_svg(view: RunView) -> str:
    """Per cycle: its wall time (grey) and its model calls' seconds stacked by purpose."""
    cycles = list(view.cycles.values())
    if not cycles:
        return '<p class="muted">The trace holds no cycle.</p>'
    scale = max(max(c.wall, sum(p.seconds for p in c.purposes.values())) for c in cycles) or 1.0
    left, bar, row = 90, 640, 30
    height = len(cycles) * row + 10
    parts = [(f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{left + bar + 300}" '
              f'height="{height}" viewBox="0 0 {left + bar + 300} {height}" role="img" aria-label="timeline">')]
    for i, cycle in enumerate(cycles):
        y = 6 + i * row
        name = cycle_name(cycle.label)
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
            x, total = x + w, total + cost
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

    rows = []
    for task in view.tasks:
        cost = view.task_costs.get(task.id, Cost())
        badge = f'<span class="badge {status_of(view, task)}">{status_of(view, task)}</span>'
        rows.append(row([f"#{task.id}", esc(task.description), badge, esc(task.cycle or ""), *nums(cost)]))
    for cycle in view.cycles.values():
        name = cycle_name(cycle.label)
        purposes = ", ".join(cycle.own_purposes) or "no model call"
        verdict = f" · judged {esc(cycle.verdict)}" if cycle.verdict else ""
        rows.append(row(["", f"{esc(name)}: {esc(purposes)}{verdict}", "", esc(cycle.label), *nums(cycle.own)],
                        "muted"))
    total = sum([*view.task_costs.values(), *(c.own for c in view.cycles.values())], Cost())
    rows.append(row(["", "total", "", "", *nums(total)], "total"))
    head = "".join(f"<th>{h}</th>" for h in ["id", "task", "status", "cycle", "calls", "prompt tok",
                                             "completion tok", "model s"])
    return f'<table class="costs"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def results_html(view: RunView) -> str:
    parts = []
    for task in view.tasks:
        status = status_of(view, task)
        tools = "".join(f'<p class="tool">{esc(t.get("tool"))}({esc(json.dumps(t.get("arguments")))}) → '
                        f'{"ok" if t.get("ok") else "failed"}</p>' for t in view.tools.get(task.id, []))
        needs = ", ".join(f"#{d}" for d in task.depends_on)
        deps = f'<p class="muted">depends on {needs}</p>' if needs else ""
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
.answer{border-left:4px solid #2e7d32;font-family:inherit;font-size:14.5px}.muted{color:#6b7480}
.note{background:#fff8e1;padding:8px 12px;border-radius:6px}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;background:#eceff3;color:#444}
.badge.done{background:#e3f3e6;color:#1d6b2a}.badge.failed{background:#fbe4e2;color:#a32018}
.badge.interrupted,.badge.running{background:#fff1cc;color:#8a5a00}
.dag text{font-size:12px;fill:#1f2328}.dag text.head{font-weight:600;font-size:11.5px;fill:#3b434c}
.dag text.col{text-anchor:middle;fill:#6b7480;font-size:12px}.dag .edge{fill:none;stroke:#7a8491;stroke-width:1.4}
.dag rect{stroke-width:1.6;fill:#f3f4f6;stroke:#9aa3ad}.dag .done rect{fill:#e8f5ea;stroke:#2e7d32}
.dag .failed rect{fill:#fdecea;stroke:#c62828}.dag .interrupted rect{fill:#fff8e1;stroke:#e0a000;stroke-dasharray:5 3}
.timeline text{font-size:12px;fill:#1f2328}.timeline .rowlabel{text-anchor:end}.timeline .rowinfo{fill:#59636e}
.timeline .wall{fill:#e3e6ea}.legend{margin:6px 0 0;font-size:12px;color:#59636e}.key{margin-right:14px}
.key i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}.wallkey{background:#e3e6ea}
table{border-collapse:collapse;width:100%}th{white-space:nowrap}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff3}
td:nth-child(n+5),th:nth-child(n+5){text-align:right;font-variant-numeric:tabular-nums}
tr.muted td{color:#6b7480}tr.total td{border-top:2px solid #c9ced4;font-weight:600}
details{border-bottom:1px solid #eceff3;padding:6px 0}summary{cursor:pointer}.tool{font-family:monospace;margin:4px 0}
"""


def render_report(run_path: Path) -> str:
    """The report's HTML for the run at `run_path`."""
    view = read_run(run_path)
    u = view.usage
    states = [status_of(view, t) for t in view.tasks]
    counts = {s: states.count(s) for s in ("done", "failed", "pending", "interrupted")}
    note = "" if view.finished else ('<p class="note">This run has not finished (interrupted, or still running): '
                                     "what follows is its last recorded state.</p>")
    answer = view.final_answer or "(no final answer yet)"
    short = answer if len(answer) <= 400 else answer[:400] + " …"
    badge = f'<span class="badge {esc(view.status)}">{esc(view.status)}</span>'
    facts = [("run id", esc(view.run_id)), ("status", badge),
             ("model", esc(view.model)), ("cycles", str(sum(c.isdigit() for c in view.cycles))),
             ("tasks", ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "0"),
             ("model calls", f"{u.llm_calls:,}"),
             ("tokens", f"{u.prompt_tokens:,} prompt + {u.completion_tokens:,} completion = {u.total_tokens:,}"),
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
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot write the report to {out} ({exc.strerror}); pass --out FILE") from None
    return out
