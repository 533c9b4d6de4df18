"""Deciding: the planner asks the model for the next move (a tool call, a step worked out in words, a plan, a fact
to keep, or the answer) as one typed union, turns a move into tasks, and keeps the board of tasks in order."""
