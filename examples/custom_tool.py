"""A custom tool in five lines: the docstring is what the model reads, the type hints check its arguments."""

from agent import Agent, tool


@tool
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


if __name__ == "__main__":
    result = Agent(tools=[word_count], max_cycles=2).run("How many words are in 'the quick brown fox jumps'?")
    print(result.final_answer)
