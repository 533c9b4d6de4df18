"""A prompt never outgrows the model's context: worked examples go first, then long material is cut, and the
run says what was left out."""

import pytest

from agent.errors import ModelError
from agent.events import ModelCalled
from agent.models.fake import ScriptedModel
from agent.prompting.fitting import fit
from agent.prompting.meter import Meter
from agent.prompting.templates import conversation


def words(messages) -> int:
    return sum(len(m["content"].split()) for m in messages)


EXAMPLES = [(f"Objective: example {n} " + "pad " * 40, f"reply {n}") for n in range(5)]


def test_what_fits_is_left_untouched():
    messages = conversation("What is 2 + 2?", "What next?", "system text", EXAMPLES)
    fitted = fit(messages, 10_000, words)
    assert fitted.messages == messages and fitted.note == ""


def test_worked_examples_go_first_oldest_first_and_the_objective_stays_whole():
    messages = conversation("What is 2 + 2?", "What next?", "system text", EXAMPLES)
    fitted = fit(messages, words(messages) - 50, words)
    assert fitted.examples_left_out == 2 and fitted.chars_left_out == 0
    assert [m["content"] for m in fitted.messages[1:-1:2]] == [asked for asked, _ in EXAMPLES[2:]]
    assert fitted.messages[0] == messages[0] and fitted.messages[-1] == messages[-1]
    assert words(fitted.messages) <= words(messages) - 50 and fitted.note == "2 worked example(s)"


def test_long_material_is_cut_at_its_end_with_a_note_and_its_markers_kept():
    recall = " ".join(f"fact{n}" for n in range(2_000))
    prompt = f"Remembered:\n<data>short one</data>\n<data>{recall}</data>\nWhat next?"
    messages = conversation("What is the code word?", prompt, "system text")
    fitted = fit(messages, 600, words)
    last = fitted.messages[-1]["content"]
    assert words(fitted.messages) <= 600
    assert "<data>short one</data>" in last and "fact0 fact1" in last and "fact1999" not in last
    assert last.count("<data>") == last.count("</data>") == 2 and last.endswith("What next?")
    assert f"[{fitted.chars_left_out} characters left out]</data>" in last
    assert fitted.note == f"{fitted.chars_left_out} characters of material"


def test_material_cut_twice_keeps_one_note_with_the_whole_count():
    recall = " ".join(f"fact{n}" for n in range(2_000))
    messages = conversation("What is the code word?", f"Remembered:\n<data>{recall}</data>\nWhat next?", "system")

    def pessimistic(ms) -> int:  # one message alone looks dense: each cut falls short and is cut again
        return words(ms) * 3 if len(ms) == 1 else words(ms)

    fitted = fit(messages, 600, pessimistic)
    last = fitted.messages[-1]["content"]
    assert pessimistic(fitted.messages) <= 600 and last.count("characters left out") == 1
    inner = last[last.index("<data>") + 6:last.index(" … [")]
    assert recall.startswith(inner) and fitted.chars_left_out == len(recall) - len(inner)
    assert f"[{fitted.chars_left_out} characters left out]</data>" in last


def test_a_prompt_that_cannot_fit_says_so_in_one_line():
    messages = conversation("word " * 900, "What next?", "system text")
    with pytest.raises(ModelError, match="shorten the objective") as caught:
        fit(messages, 300, words)
    assert "\n" not in str(caught.value)


def test_every_call_through_the_meter_fits_the_model_context_and_reports_what_was_left_out():
    model = ScriptedModel(default="ok", context=400)
    events = []
    meter = Meter(model, max_tokens=100_000, max_seconds=60, emit=events.append)
    material = "<data>" + "x " * 1_000 + "</data>"
    meter.generate(conversation("obj", material, "sys", EXAMPLES), purpose="decide", max_new_tokens=100)
    meter.generate_interjected(conversation("obj", "short", "sys"), lambda text: None, purpose="execute",
                               max_new_tokens=100)
    sent = [call.messages for call in model.calls]
    assert words(sent[0]) <= 300 and len(sent[0]) == 2  # every example left out, then the material cut
    called = [e for e in events if isinstance(e, ModelCalled)]
    assert called[0].left_out.startswith("5 worked example(s), ") and called[1].left_out == ""
    assert called[0].prompt_tokens <= 300


def test_a_model_of_unknown_context_gets_its_prompt_as_it_is():
    model = ScriptedModel(default="ok")
    meter = Meter(model, max_tokens=100_000, max_seconds=60, emit=lambda e: None)
    messages = conversation("obj", "word " * 5_000, "sys")
    meter.generate(messages, purpose="decide")
    assert model.calls[0].messages == messages
