"""Batches of objectives on a real local Ray cluster (head + 2 worker processes on 127.0.0.1): every
objective finishes exactly once, through a worker killed mid-objective and a driver killed mid-batch."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import ray

from agent.batch import placement as executor_module
from agent.batch.collect import CollectWorkers, collect_on
from agent.batch.executor import InProcess, Placement
from agent.batch.ledger import BatchDir, batches_root
from agent.batch.objectives import number_lines, parse_lines
from agent.batch.placement import open_executor
from agent.batch.ray_pool import RayPool
from agent.batch.runner import ObjectiveWorkers, run_batch
from agent.batch.suite import item_groups, run_suite_on
from agent.config import build_settings
from agent.errors import UsageError
from agent.evaluation.suite import EvalItem
from agent.learning.dataset import TrajectoryLog

from batch_helpers import FileMemories, GateTools, ScriptedFactory, SuiteScripted, SuiteWorkers, lines, no_tools

TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster, its workers able to import the helpers beside the tests."""
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                       _node_ip_address="127.0.0.1",
                       runtime_env={"env_vars": {"PYTHONPATH": str(TESTS)}})
    yield context.address_info["gcs_address"]
    ray.shutdown()


def settings_for(run_dir: Path):
    return build_settings({"run_dir": run_dir, "max_cycles": 3, "experience": False, "shared_memory": False,
                           "similar_task_threshold": None})


def new_batch(run_dir: Path, count: int, batch_id: str = "b1") -> BatchDir:
    settings = settings_for(run_dir)
    objectives = number_lines(parse_lines([json.dumps({"objective": f"handle item-{i}"}) for i in range(count)]),
                              batch_id)
    root = batches_root(run_dir)
    root.mkdir(parents=True, exist_ok=True)
    return BatchDir.create(root, batch_id, settings.model_dump(mode="json", exclude={"api_key"}), objectives,
                           "test")


def workers_for(run_dir: Path, held: tuple[str, ...] = ()) -> ObjectiveWorkers:
    return ObjectiveWorkers(settings_for(run_dir), ScriptedFactory(), GateTools(run_dir, held),
                            FileMemories(run_dir / "memories"))


def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + 60  # a guard against a hang only; every wait is on an event
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def assert_each_once(run_dir: Path, folder: BatchDir, count: int) -> None:
    acked = [json.loads(line)["id"] for line in lines(folder.path / "acks.jsonl")]
    assert sorted(acked) == sorted(f"line-{i + 1:04d}" for i in range(count))  # none lost, none acked twice
    assert sorted(lines(run_dir / "done.log")) == sorted(f"item-{i}" for i in range(count))  # none run twice
    summary = [json.loads(line) for line in lines(folder.path / "summary.jsonl")]
    assert [s["status"] for s in summary] == ["done"] * count
    assert [s["final_answer"] for s in summary] == [f"passed item-{i}" for i in range(count)]
    assert all((folder.path / "results" / f"{s['id']}.json").is_file() for s in summary)


def test_lines_are_checked_one_by_one():
    parsed = parse_lines(['"a bare objective"', '{"objective": "x", "id": "one", "max_cycles": 2}', ""])
    assert parsed[0].objective == "a bare objective" and parsed[1].overrides() == {"max_cycles": 2}
    for bad, said in (('{"objective": "x", "colour": 1}', "line 1"), ("{not json", "not JSON"),
                      ('{"objective": ""}', "objective"), ('{"objective": "x", "max_cycles": 0}', "max_cycles")):
        with pytest.raises(UsageError, match=said) as caught:
            parse_lines([bad], "f.jsonl")
        assert "\n" not in str(caught.value)
    with pytest.raises(UsageError, match="already used on line 1"):
        parse_lines(['{"objective": "a", "id": "x"}', '{"objective": "b", "id": "x"}'])


def test_without_ray_one_worker_runs_in_process_and_more_say_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(executor_module, "ray_available", lambda: False)
    assert isinstance(open_executor(workers_for(tmp_path), Placement(workers=1)), InProcess)
    with pytest.raises(UsageError, match=r"--workers 2 .*pip install -e '\.\[ray\]'"):
        open_executor(workers_for(tmp_path), Placement(workers=2))
    folder = new_batch(tmp_path, 3)
    with folder:
        report = run_batch(folder, InProcess(workers_for(tmp_path)), progress=False)
    assert report.ran == 3
    assert_each_once(tmp_path, folder, 3)
    with folder:  # finished: a resume runs nothing
        assert run_batch(folder, InProcess(workers_for(tmp_path)), progress=False).ran == 0


def on_ray(tmp_path, folder, workers: int = 2):
    """The batch in `folder` run to its end on a pool of `workers` Ray workers; the report and the pool."""
    pool = RayPool(workers_for(tmp_path), Placement(workers=workers))
    try:
        with folder:
            return run_batch(folder, pool, progress=False), pool
    finally:
        pool.close()


def test_two_workers_run_a_batch_on_ray(cluster, tmp_path):
    folder = new_batch(tmp_path, 6)
    report, pool = on_ray(tmp_path, folder)
    assert_each_once(tmp_path, folder, 6)
    assert {ack.worker for ack in report.acks} == {0, 1}
    assert len(set(pool.pids)) == 2 and os.getpid() not in pool.pids


def test_a_worker_killed_mid_objective_is_replaced_and_its_run_resumed(cluster, tmp_path):
    folder = new_batch(tmp_path, 5)
    pool = RayPool(workers_for(tmp_path, held=("item-1",)), Placement(workers=2))
    failure: list[BaseException] = []

    def drive() -> None:
        try:
            with folder:
                run_batch(folder, pool, progress=False)
        except BaseException as exc:  # handed to the test thread
            failure.append(exc)

    driver = threading.Thread(target=drive)
    driver.start()
    try:
        wait_for(lambda: any(line.startswith("item-1\t") for line in lines(tmp_path / "started.log")),
                 "item-1 started")
        pid = int(next(line for line in lines(tmp_path / "started.log") if line.startswith("item-1\t")).split()[1])
        os.kill(pid, signal.SIGKILL)  # mid-objective: its gate is waiting for the release file
        wait_for(lambda: pool.started == 3, "a replacement worker")
        (tmp_path / "release").touch()
        driver.join()
    finally:
        (tmp_path / "release").touch()
        driver.join()
        pool.close()
    assert not failure
    assert_each_once(tmp_path, folder, 5)
    starts = [line.split("\t") for line in lines(tmp_path / "started.log") if line.startswith("item-1\t")]
    assert len(starts) == 2 and starts[0][1] != starts[1][1]  # cut off, then resumed on the new worker


def test_a_batch_whose_driver_was_killed_resumes_without_running_anything_twice(cluster, tmp_path):
    folder = new_batch(tmp_path, 5)
    # both workers are held in the gate of their last item (3 and 4) when the driver dies: nothing else is in
    # flight, so no gate can have finished in a run whose state was not yet stored (that step would run again)
    driver = subprocess.Popen([sys.executable, str(TESTS / "batch_driver.py"), cluster, str(tmp_path), "b1",
                               str(tmp_path), "item-3,item-4"], env={**os.environ, "PYTHONPATH": str(TESTS)})

    def started() -> dict[str, int]:
        return {item: int(pid) for item, pid in (line.split("\t") for line in lines(tmp_path / "started.log"))}

    try:
        wait_for(lambda: {"item-3", "item-4"} <= started().keys(), "items 3 and 4 started")
        driver.kill()  # the driver dies; Ray ends its actors with it
    finally:
        driver.kill()
        driver.wait()
    held_by = {started()["item-3"], started()["item-4"]}
    wait_for(lambda: not any(alive(pid) for pid in held_by), "the dead driver's workers ended by Ray")
    acked_before = len(lines(folder.path / "acks.jsonl"))
    assert acked_before < 5
    (tmp_path / "release").touch()
    report, _ = on_ray(tmp_path, folder)
    assert report.ran == 5 - acked_before
    assert_each_once(tmp_path, folder, 5)


def suite_items(count: int, shared: int = 0) -> list[EvalItem]:
    return [EvalItem(id=f"q-{i}", objective=f"Say what is {i} plus one", tools=[],
                     memory="shared" if i < shared else None, check={"type": "number", "value": i + 1})
            for i in range(count)]


def test_an_evaluation_on_two_workers_keeps_a_memory_group_on_one_worker_in_order(cluster, tmp_path):
    items = suite_items(7, shared=3)
    assert [len(group) for group in item_groups(items)] == [3, 1, 1, 1, 1]
    pool = RayPool(SuiteWorkers(settings_for(tmp_path), tmp_path / "ran.log"), Placement(workers=2))
    try:
        report = run_suite_on(pool, items, progress=False)
    finally:
        pool.close()
    assert [r.id for r in report.items] == [item.id for item in items] and report.passed == 7
    ran = [line.split("\t") for line in lines(tmp_path / "ran.log")]
    assert sorted(item for item, _ in ran) == sorted(item.id for item in items)  # each item once
    group = [(item, pid) for item, pid in ran if item in ("q-0", "q-1", "q-2")]
    assert [item for item, _ in group] == ["q-0", "q-1", "q-2"] and len({pid for _, pid in group}) == 1


def test_trajectories_from_two_workers_land_in_one_log_each_run_once(cluster, tmp_path):
    items = suite_items(5)
    log = TrajectoryLog(tmp_path / "trajectories.jsonl")
    workers = CollectWorkers(settings_for(tmp_path), settings_for(tmp_path), None, no_tools, samples=2,
                             temperature=0.8, model=SuiteScripted())
    pool = RayPool(workers, Placement(workers=2))
    try:
        assert collect_on(pool, items, log, "scripted", seed=0) == 5
        assert collect_on(pool, items, log, "scripted", seed=0) == 0  # a rerun finds every run in the log
    finally:
        pool.close()
    again = TrajectoryLog(tmp_path / "trajectories.jsonl").runs
    assert sorted(t.item_id for t in again) == sorted(item.id for item in items)
    assert all(t.passed and t.model == "scripted" for t in again)


@pytest.mark.parametrize(("args", "lines_text", "message"), [
    ((), None, "give OBJECTIVES.jsonl to start a batch, or --resume ID"),
    (("@FILE",), '{"objective": "a"}\n{"objective": "b", "colour": "red"}\n', "@FILE line 2: "),
    (("@FILE",), '{"objective": "a", "tools": ["no_such_tool"]}\n', "objective 1: unknown tool(s) no_such_tool"),
    (("@FILE",), "\n\n", "holds no objectives"),
    (("--resume", "nope"), None, "no batch 'nope'"),
    (("@FILE", "--workers", "2"), '"a"\n', "--workers 2 runs workers on Ray, which is not installed: pip install"),
])
def test_bad_batch_input_is_one_line_and_writes_nothing(monkeypatch, capsys, tmp_path, args, lines_text, message):
    from cli_calls import cli

    monkeypatch.setattr(executor_module, "ray_available", lambda: False)
    path = tmp_path / "objectives.jsonl"
    if lines_text is not None:
        path.write_text(lines_text)
    args = tuple(str(path) if a == "@FILE" else a for a in args)
    code, out, err = cli(monkeypatch, capsys, "batch", *args, "--run-dir", str(tmp_path / "runs"))
    shown = message.replace("@FILE", str(path))
    assert code == 2 and err.startswith("agent: error: ") and shown in err and err.count("\n") == 1, err
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_a_batch_with_the_default_model_on_two_ray_workers_then_resumed(cluster, tmp_path):
    objectives = tmp_path / "objectives.jsonl"
    objectives.write_text('{"id": "mult", "objective": "What is 614 * 624?"}\n"List three uses of a paperclip"\n')
    command = [sys.executable, "-m", "agent", "batch", "--run-dir", str(tmp_path / "runs"),
               "--ray-address", cluster, "--workers", "2", "--max-cycles", "2"]
    done = subprocess.run([*command, str(objectives), "--json"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    summary = [json.loads(line) for line in done.stdout.splitlines()]
    assert [s["id"] for s in summary] == ["mult", "line-0002"]
    assert all(s["status"] and s["error"] is None and s["final_answer"] for s in summary)
    batch_id = done.stderr.split("batch ", 1)[1].split(":", 1)[0]
    again = subprocess.run([*command[:-4], "--resume", batch_id], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "2 objectives" in again.stdout and "0 run now" in again.stdout


def test_an_unknown_model_is_refused_before_the_batch_is_written(monkeypatch, capsys, tmp_path):
    from cli_calls import cli

    path = tmp_path / "objectives.jsonl"
    path.write_text('"a"\n')
    code, _, err = cli(monkeypatch, capsys, "batch", str(path), "--model", str(tmp_path / "no-such-model"),
                       "--run-dir", str(tmp_path / "runs"))
    assert code == 2 and err.startswith("agent: error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "runs" / ".batches").exists()
