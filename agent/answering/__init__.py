"""Answering: folds the results into the final answer, and the answer checks that refuse an answer which
cannot stand (a quoted step that failed, an echo of the objective, a placeholder that names nothing)."""
