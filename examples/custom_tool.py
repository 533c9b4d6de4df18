"""A custom tool in a few lines: the docstring is what the model reads, the type hints check its arguments, and an
example of its use shows the model when to call it ({a} inserts the objective's quoted text)."""

from agent import Agent, tool


@tool(examples=[("How many words does 'to be or not to be' have?", {"text": "{a}"})])
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


if __name__ == "__main__":
    result = Agent(tools=[word_count], max_cycles=2).run("How many words are in 'the quick brown fox jumps'?")
    print(result.final_answer)
