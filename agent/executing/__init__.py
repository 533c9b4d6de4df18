"""Executing: runs the ready tasks, each a tool call or a step the model works out in words, with results of
earlier tasks inserted by reference and arithmetic computed as the model writes it."""
