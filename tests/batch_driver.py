"""A batch driver in its own process, joined to a running Ray cluster, for the kill-the-driver test:
`python batch_driver.py ADDRESS RUN_DIR BATCH_ID GATE_DIR HELD_ITEM[,HELD_ITEM...]`."""

import sys
from pathlib import Path

import ray

from agent.batch.executor import Placement
from agent.batch.ledger import BatchDir, batches_root
from agent.batch.ray_pool import RayPool
from agent.batch.runner import ObjectiveWorkers, run_batch
from agent.config import build_settings

from batch_helpers import FileMemories, GateTools, ScriptedFactory


def main() -> None:
    address, run_dir, batch_id, gate_dir, held = sys.argv[1:6]
    ray.init(address=address, runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).parent)}},
             log_to_driver=False)
    folder = BatchDir.open(batches_root(Path(run_dir)), batch_id)
    settings = build_settings(folder.settings)
    workers = ObjectiveWorkers(settings, ScriptedFactory(), GateTools(Path(gate_dir), tuple(held.split(","))),
                               FileMemories(Path(run_dir) / "memories"))
    with folder:
        run_batch(folder, RayPool(workers, Placement(workers=2)), progress=False)


if __name__ == "__main__":
    main()
