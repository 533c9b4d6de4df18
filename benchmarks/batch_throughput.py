"""Batch throughput on one machine: 2 workers with 1 core each against 1 worker with 2 cores, on a real local Ray.

    python benchmarks/batch_throughput.py                               # 40 scripted, 8 default-model objectives
    python benchmarks/batch_throughput.py --scripted 200 --default 16
    python benchmarks/batch_throughput.py --default 0                   # the scripted model only

Both layouts run the same objectives through `agent.batch` on Ray actors (the model loaded once per worker,
before the clock starts). "1 core" pins the worker's process to one core (sched_setaffinity, torch threads 1)
before its model loads; "2 cores" leaves it both. The scripted model measures the agent's own per-objective cost
(loop, run store, acknowledgement, Ray), which two workers should nearly double; the default model
(SmolLM2-135M int4, onnxruntime-genai) measures decoding, which one worker already spreads over its cores.
Prints objectives/min per layout, the ratio, the per-objective cost each figure implies, and the model calls and
tokens per objective, completion tokens among them (what a shared model server would have to serve). Figures
depend on the machine's load: say so when quoting them."""

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import ray  # noqa: E402

from agent.batch.executor import Placement  # noqa: E402
from agent.batch.ledger import BatchDir, batches_root  # noqa: E402
from agent.batch.objectives import number_lines, parse_lines  # noqa: E402
from agent.batch.ray_pool import RayPool  # noqa: E402
from agent.batch.runner import ObjectiveWorkers, run_batch  # noqa: E402
from agent.config import build_settings  # noqa: E402

from batch_helpers import FileMemories, GateTools, ScriptedFactory  # noqa: E402  (the batch tests' scripted parts)

LAYOUTS = [("1 worker x 2 cores", 1, 2), ("2 workers x 1 core", 2, 1)]
DEFAULT_OBJECTIVES = ["What is {a} * {b}?", "What is {a} + {b}? Answer with the number.",
                      "What is {a} minus {b}?", "Name a use for a paperclip number {a}."]


def claim_cores(cores: int, claims: Path) -> list[int]:
    """`cores` cores of this machine no other worker of this layout holds, claimed by creating files."""
    mine: list[int] = []
    for core in sorted(os.sched_getaffinity(0)):
        if len(mine) == cores:
            break
        try:
            os.close(os.open(claims / f"core-{core}", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            continue
        mine.append(core)
    return mine


@dataclass(frozen=True)
class Pinned:
    """Confine the worker process to `cores` cores before its model is made, then make it (None: the
    configured model)."""

    cores: int
    claims: Path
    settings: object
    scripted: bool

    def __call__(self):
        import torch

        cores = claim_cores(self.cores, self.claims)
        if cores:
            os.sched_setaffinity(0, cores)
        torch.set_num_threads(self.cores)
        if self.scripted:
            return ScriptedFactory()()
        from agent.run.agent import load_configured_model

        return load_configured_model(self.settings)


def objectives_of(kind: str, count: int) -> list[str]:
    if kind == "scripted":
        return [json.dumps({"objective": f"handle item-{i}"}) for i in range(count)]
    return [json.dumps({"objective": DEFAULT_OBJECTIVES[i % len(DEFAULT_OBJECTIVES)].format(a=17 + i, b=3 + i)})
            for i in range(count)]


def measure(kind: str, count: int, workers: int, cores: int, root: Path) -> dict:
    root.mkdir(parents=True)
    (root / "claims").mkdir()
    values = {"run_dir": root / "runs", "experience": False, "shared_memory": False, "max_cycles": 3}
    if kind == "scripted":
        values["similar_task_threshold"] = None
    settings = build_settings(values)
    make_model = Pinned(cores, root / "claims", settings, kind == "scripted")
    factory = ObjectiveWorkers(settings, make_model, GateTools(root) if kind == "scripted" else None,
                               FileMemories(root / "memories") if kind == "scripted" else None)
    batches = batches_root(settings.run_dir)
    batches.mkdir(parents=True)
    folder = BatchDir.create(batches, "bench", settings.model_dump(mode="json", exclude={"api_key"}),
                             number_lines(parse_lines(objectives_of(kind, count)), "bench"), kind)
    pool = RayPool(factory, Placement(workers=workers, cpus_per_worker=cores))  # models loaded: clock not started
    try:
        started = time.perf_counter()
        with folder:
            report = run_batch(folder, pool, progress=False)
        seconds = time.perf_counter() - started
    finally:
        pool.close()
    statuses = sorted({ack.status or "error" for ack in report.acks})
    return {"objectives": count, "seconds": round(seconds, 2), "per_minute": round(60 * count / seconds, 1),
            "seconds_per_objective_per_worker": round(seconds * workers / count, 3), "statuses": statuses,
            "model_calls_per_objective": round(sum(a.llm_calls for a in report.acks) / count, 2),
            "tokens_per_objective": round(sum(a.tokens for a in report.acks) / count),
            "completion_tokens_per_objective": round(sum(
                json.loads((folder.path / "results" / f"{a.id}.json").read_text())["usage"]["completion_tokens"]
                for a in report.acks if a.error is None) / count)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scripted", type=int, default=40, help="objectives for the scripted model (0: skip)")
    parser.add_argument("--default", type=int, default=8, help="objectives for the default model (0: skip)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    args = parser.parse_args()
    tests = str(Path(__file__).resolve().parent.parent / "tests")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1",
             runtime_env={"env_vars": {"PYTHONPATH": tests}})
    figures: dict[str, dict] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="agent-batch-bench-") as scratch:
            for kind, count in (("scripted", args.scripted), ("default", args.default)):
                if count <= 0:
                    continue
                rows = {label: measure(kind, count, workers, cores, Path(scratch) / kind / str(workers))
                        for label, workers, cores in LAYOUTS}
                one, two = (rows[label]["per_minute"] for label, _, _ in LAYOUTS)
                figures[kind] = {**rows, "ratio_2x1_over_1x2": round(two / one, 2) if one else None}
    finally:
        ray.shutdown()
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{'model':<10} {'layout':<20} {'objectives':>10} {'seconds':>8} {'obj/min':>8} "
          f"{'s/obj/worker':>13} {'calls/obj':>9} {'tokens/obj':>10} {'of them out':>11}  statuses")
    for kind, rows in figures.items():
        for label, _, _ in LAYOUTS:
            r = rows[label]
            print(f"{kind:<10} {label:<20} {r['objectives']:>10} {r['seconds']:>8} {r['per_minute']:>8} "
                  f"{r['seconds_per_objective_per_worker']:>13} {r['model_calls_per_objective']:>9} "
                  f"{r['tokens_per_objective']:>10} {r['completion_tokens_per_objective']:>11}  "
                  f"{','.join(r['statuses'])}")
        print(f"{kind:<10} 2 workers x 1 core / 1 worker x 2 cores: {rows['ratio_2x1_over_1x2']}x")


if __name__ == "__main__":
    main()
