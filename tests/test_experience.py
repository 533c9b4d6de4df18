"""Experience memory: successful runs stored across runs, recalled by similar objectives; `agent experience`."""

import json

import pytest
from cli_calls import cli

from agent.errors import UsageError
from agent.memory.experience import (
    Experience,
    ExperienceStore,
    Step,
    as_example,
    experience_from_result,
    experience_root,
    quantities,
)
from agent.records import RunResult, RunStatus, Task, TaskStatus, Usage


def result(objective: str, status: RunStatus = RunStatus.done) -> RunResult:
    tasks = [Task(id=1, description="multiply the numbers", status=TaskStatus.done, result="391", tool="calculator"),
             Task(id=2, description="an abandoned step", status=TaskStatus.failed, result="error")]
    return RunResult(run_id="r1", objective=objective, status=status, final_answer="17 * 23 = 391", tasks=tasks,
                     usage=Usage())


def test_experience_from_result_keeps_the_done_steps():
    experience = experience_from_result(result("What is 17 * 23?"))
    assert experience.objective == "What is 17 * 23?" and experience.answer == "17 * 23 = 391"
    assert [(s.description, s.tool, s.result) for s in experience.steps] == [
        ("multiply the numbers", "calculator", "391")]
    assert experience.success
    assert not experience_from_result(result("x", RunStatus.max_cycles)).success


def test_similar_returns_nearest_successes_above_the_threshold(tmp_path):
    store = ExperienceStore(tmp_path / "exp")
    store.add(experience_from_result(result("What is 17 * 23?")))
    store.add(Experience(objective="What is 45 * 12?", answer="540",
                         steps=[Step(description="multiply", tool="calculator", arguments={"expression": "45*12"},
                                     result="540")]))
    store.add(Experience(objective="Who wrote Hamlet?", answer="Shakespeare"))
    store.add(Experience(objective="What is 19 * 21?", answer="wrong", success=False))
    found = store.similar("What is 18 * 24?", k=3)
    assert {e.objective for e in found} == {"What is 17 * 23?", "What is 45 * 12?"}  # not the failure, not Hamlet
    assert store.similar("Describe the migration routes of arctic terns", k=3) == []
    assert "calculator({\"expression\": \"45*12\"})" in as_example(found[0]) + as_example(found[-1])


def test_a_past_run_is_shown_only_for_objectives_handing_over_as_many_quantities(tmp_path):
    store = ExperienceStore(tmp_path / "exp")
    store.add(Experience(objective="On which weekday did August 6, 2022 fall? Answer with the weekday name.",
                         answer="Saturday", steps=[Step(description="weekday", tool="dates",
                                                        arguments={"operation": "weekday", "date": "August 6, 2022"},
                                                        result="Saturday")]))
    store.add(experience_from_result(result("What is 17 * 23?")))
    weekday = "Name the day of the week for 07/12/2022. Answer with the weekday name."
    composite = "Which weekday is it 9 times 11 days after Wednesday, December 11, 2019? Answer with the weekday name."
    assert quantities(weekday) == 1 and quantities(composite) == 3  # a date is one quantity
    assert quantities("What is (65 + 87) + -8 + 97?") == 1  # an expression is one passage, handed over whole
    assert quantities("What is -298 + 507 + -223? And 4 * 5?") == 2
    assert [e.answer for e in store.similar(weekday)] == ["Saturday"]
    assert store.similar(composite) == []  # the one-step run would teach it to skip the product


def test_store_persists_replaces_by_objective_and_can_be_pruned(tmp_path):
    store = ExperienceStore(tmp_path / "exp")
    first = store.add(Experience(objective="What is 2 + 2?", answer="4"))
    assert store.add(Experience(objective="what is  2 + 2?", answer="four")) == first  # same objective
    again = ExperienceStore(tmp_path / "exp")
    assert again.count() == 1 and again.get(first).answer == "four"
    again.add(Experience(objective="Capital of France?", answer="Paris"))
    again.rm(first)
    assert [e.objective for _, e in again.list()] == ["Capital of France?"]
    with pytest.raises(UsageError, match="no experience"):
        again.rm(first)
    assert again.clear() == 1 and again.count() == 0


def test_for_settings_respects_the_switch(tmp_path):
    from agent.config import build_settings

    assert ExperienceStore.for_settings(build_settings({"run_dir": tmp_path, "experience": False})) is None
    store = ExperienceStore.for_settings(build_settings({"run_dir": tmp_path}))
    assert store is not None and store.path == experience_root(tmp_path)


def test_experience_cli(monkeypatch, capsys, tmp_path):
    store = ExperienceStore(experience_root(tmp_path))
    kept = store.add(experience_from_result(result("What is 17 * 23?")))
    run_dir = ["--run-dir", str(tmp_path)]
    code, out, _ = cli(monkeypatch, capsys, "experience", "list", *run_dir, "--json")
    assert code == 0 and [e["id"] for e in json.loads(out)] == [kept]
    code, out, _ = cli(monkeypatch, capsys, "experience", "show", kept, *run_dir)
    assert code == 0 and out.startswith("Objective: What is 17 * 23?") and "calculator" in out
    code, out, err = cli(monkeypatch, capsys, "experience", "rm", "exp-missing", *run_dir)
    assert code == 2 and "no experience 'exp-missing'" in err
    code, out, _ = cli(monkeypatch, capsys, "experience", "clear", *run_dir)
    assert code == 0 and "removed 1" in out


def test_feedback_on_a_run_keeps_or_removes_its_experience(monkeypatch, capsys, tmp_path, memory):
    from agent import Agent, ScriptedModel
    from agent.tools.builtin import calculator

    from moves import call, finish

    model = ScriptedModel([call("calculator", expression="17 * 23"), finish("17 * 23 = {1}")])
    run = Agent(model=model, tools=[calculator], memory=memory, run_dir=tmp_path).run("What is 17 * 23?")
    store = ExperienceStore(experience_root(tmp_path))
    assert store.count() == 0  # judged done by the model alone: not kept unless keep_judged
    code, out, _ = cli(monkeypatch, capsys, "feedback", run.run_id, "--good", "--run-dir", str(tmp_path))
    assert code == 0 and "kept as experience" in out
    assert [e.answer for _, e in store.list()] == ["17 * 23 = 391"]
    code, out, _ = cli(monkeypatch, capsys, "feedback", run.run_id, "--bad", "--run-dir", str(tmp_path))
    assert code == 0 and "removed experience" in out and store.count() == 0


def test_keep_judged_keeps_every_run_the_model_judges_done(tmp_path, memory):
    from agent import Agent, ScriptedModel
    from agent.tools.builtin import calculator

    from moves import call, finish

    model = ScriptedModel([call("calculator", expression="17 * 23"), finish("17 * 23 = {1}")])
    Agent(model=model, tools=[calculator], memory=memory, run_dir=tmp_path, keep_judged=True).run("What is 17 * 23?")
    looping = ScriptedModel(default=json.dumps(call("calculator", expression="18 * 24")))
    stopped = Agent(model=looping, tools=[calculator], memory=memory, run_dir=tmp_path, keep_judged=True,
                    max_cycles=2).run("What is 18 * 24?")
    assert stopped.status is RunStatus.max_cycles  # never judged done: not kept
    assert [e.answer for _, e in ExperienceStore(experience_root(tmp_path)).list()] == ["17 * 23 = 391"]


def test_a_replayed_experience_shows_references_as_written_not_the_texts_they_stood_for(tmp_path, memory):
    from agent import Agent, ScriptedModel
    from agent.deciding.examples import experience_turns
    from agent.tools.builtin import calculator

    from moves import call, finish

    objective = "Evaluate: -161 - 859 - -453"
    model = ScriptedModel([call("calculator", expression="{a}"), finish("{a} = {1}")])
    run = Agent(model=model, tools=[calculator], memory=memory, run_dir=tmp_path).run(objective)
    assert run.final_answer == "-161 - 859 - -453 = -567"
    assert run.tasks[0].arguments == {"expression": "-161 - 859 - -453"}  # what ran, for the user and feedback
    experience = experience_from_result(run)
    assert experience.steps[0].arguments == {"expression": "{a}"}  # what the model wrote
    first, last = experience_turns(experience.objective, experience.steps, experience.answer)
    assert json.loads(first[1]) == call("calculator", expression="{a}")
    # a later objective copies the pattern, not -161 - 859
    assert json.loads(last[1]) == finish("<data>{a} = {1}</data>")


def test_a_replayed_experience_shows_every_move_and_the_answer_as_the_model_wrote_it(tmp_path, memory):
    from agent import Agent, ScriptedModel
    from agent.deciding.examples import experience_turns
    from agent.tools.builtin import calculator

    from moves import call, finish

    objective = "Add 714 and 844, then multiply the sum by 28. What is the final number?"
    model = ScriptedModel([call("calculator", expression="714 + 844"), call("calculator", expression="{1} * 28"),
                           finish("The final number is {2}.")])
    run = Agent(model=model, tools=[calculator], memory=memory, run_dir=tmp_path).run(objective)
    assert run.final_answer == "The final number is 43624."
    assert "written_answer" not in run.to_json_document()  # the public document is unchanged
    experience = experience_from_result(run)
    assert experience.written_answer == "The final number is {2}."
    turns = experience_turns(experience.objective, experience.steps, experience.answer, experience.written_answer)
    assert [json.loads(reply) for _, reply in turns] == [
        call("calculator", expression="714 + 844"), call("calculator", expression="{1} * 28"),
        finish("<data>The final number is {2}.</data>")]
    assert "1558" in turns[1][0] and "1558" not in turns[0][0]  # each move sees the steps done before it


def test_a_replayed_answer_keeps_a_reference_into_a_structured_result():
    from agent.deciding.examples import experience_turns
    from agent.memory.experience import Experience, Step

    counts = json.dumps({"counts": {"positive": 0, "negative": 2}})
    experience = Experience(objective="Count how many of these sentences are positive: (a) dull. (b) flat.",
                            steps=[Step(description="classify", tool="classify_sentiment", result=counts,
                                        arguments={"texts": ["{a}", "{b}"]})],
                            answer="0 sentences are positive.",
                            written_answer="{1.counts.positive} sentences are positive.")
    last = json.loads(experience_turns(experience.objective, experience.steps, experience.answer,
                                       experience.written_answer)[-1][1])
    # not the "0" a later run would copy
    assert last["answer"] == "<data>{1.counts.positive} sentences are positive.</data>"
    unwritten = json.loads(experience_turns(experience.objective, experience.steps, experience.answer)[-1][1])
    # an experience kept before answers were written down
    assert unwritten["answer"] == "<data>0 sentences are positive.</data>"
    stray = experience_turns(experience.objective, experience.steps, experience.answer, "{3} are positive.")
    # a reference to no replayed step
    assert json.loads(stray[-1][1])["answer"] == "<data>0 sentences are positive.</data>"
