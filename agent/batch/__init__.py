"""Many objectives at once: a durable batch of runs, and the executor (in-process or Ray actors) that runs
batches, evaluations and trajectory collection on several workers."""
