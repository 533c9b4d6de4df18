"""Which executor a placement needs: in this process, or Ray actors (and a one-line hint where Ray is missing)."""

from __future__ import annotations

from agent.batch.executor import Executor, InProcess, Placement, WorkerFactory
from agent.errors import UsageError

RAY_HINT = "pip install -e '.[ray]'"


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def check_placement(placement: Placement) -> None:
    """A one-line UsageError when the placement needs Ray and Ray is not installed."""
    if needs_ray(placement) and not ray_available():
        what = "--ray-address" if placement.address else "--gpus-per-worker" if placement.gpus_per_worker else \
            f"--workers {placement.workers}"
        raise UsageError(f"{what} runs workers on Ray, which is not installed: {RAY_HINT}")


def needs_ray(placement: Placement) -> bool:
    return placement.workers > 1 or placement.address is not None or placement.gpus_per_worker > 0


def open_executor(factory: WorkerFactory, placement: Placement) -> Executor:
    """In this process for one worker with no cluster or GPU asked for; else a pool of Ray actors."""
    check_placement(placement)
    if not needs_ray(placement):
        return InProcess(factory)
    from agent.batch.ray_pool import RayPool

    return RayPool(factory, placement)
