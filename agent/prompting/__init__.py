"""Asking the model: prompt files rendered with strict variables, the conversation and worked examples they go
into, structured calls validated against a schema (retried with the error attached), and the meter that counts
every call against the run's budgets."""
