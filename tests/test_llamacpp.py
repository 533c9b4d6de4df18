"""The optional llama.cpp backend. It needs `pip install 'agent[llamacpp]'` (a compile), which the default install
and CI leave out; the first test runs wherever it is installed, the second everywhere."""

import sys

import pytest

from agent import UsageError
from agent.deciding.moves import decision_model
from agent.models import load_model
from agent.prompt_files import render
from agent.prompting.structured import parse_reply
from agent.prompting.templates import conversation


@pytest.mark.slow
def test_structured_reply_is_valid_by_construction():
    pytest.importorskip("llama_cpp", reason="the llama.cpp extra is not installed (pip install 'agent[llamacpp]')")
    model = load_model("smollm2-135m", device="cpu", backend="llama.cpp")
    assert type(model).__name__ == "LlamaCppModel"
    Decision = decision_model([], plan=True, finish=False)
    reply = model.generate(conversation("Plan a picnic for four people",
                                        render("decide", recalls=[], tasks=[], dropped=[], refused=None, passages={})),
                           schema=Decision.model_json_schema(), max_new_tokens=200)
    move = parse_reply(reply.text, Decision).root
    assert 0 < reply.completion_tokens <= 200 and reply.prompt_tokens > 20
    assert move.next in {"solve", "plan"}


def test_missing_llama_cpp_is_a_one_line_usage_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail as if not installed
    with pytest.raises(UsageError, match=r"pip install 'agent\[llamacpp\]'"):
        load_model("smollm2-135m", backend="llama.cpp")
