"""Write the example evaluation suites (JSON lines for `agent eval`), reproducibly: fixed seeds, pinned data.

    python examples/suites/make_suites.py --data DATA_DIR [--out examples/suites] [--size 15]

arithmetic.jsonl  reasoning-gym basic_arithmetic (pip install reasoning-gym), checked by number; calculator
entities.jsonl    CoNLL-2003 test sentences with >= 2 entities, checked by all gold strings; extract_entities
sentiment.jsonl   three Pang & Lee test sentences, "how many are positive?", checked by number; classify_sentiment
memory.jsonl      pairs sharing a memory key: store a code word, then ask for it in a later run; no tools

DATA_DIR is filled by `agent heads fetch-data DATA_DIR` (done here when missing).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from agent.evaluation import parse_suite
from agent.heads.data import fetch_datasets, iob_spans, load_split
from agent.tools.calculator import evaluate

ARITHMETIC_SEED, ENTITIES_SEED, SENTIMENT_SEED, MEMORY_SEED = 2024, 2003, 2005, 17
PROJECTS = ["Lark", "Heron", "Finch", "Osprey", "Wren", "Kestrel", "Plover", "Egret", "Curlew", "Merlin"]
COLOURS = ["amber", "cobalt", "scarlet", "jade", "ivory", "umber", "violet", "saffron"]


def arithmetic(size: int) -> list[dict]:
    import reasoning_gym

    # '/' left out: reasoning-gym 0.1.25 states some division answers that differ from the expression shown
    dataset = reasoning_gym.create_dataset(
        "basic_arithmetic", size=size, seed=ARITHMETIC_SEED, min_terms=2, max_terms=4, min_digits=1, max_digits=3,
        operators=("+", "-", "*"), allow_negation=False, format_style="natural")
    items = []
    for index, entry in enumerate(dataset):
        answer = int(entry["answer"])
        assert evaluate(entry["metadata"]["expression"]) == answer, entry  # the suite never ships a wrong key
        items.append({"id": f"arith-{index:02d}", "objective": f"{entry['question']} Answer with the number.",
                      "check": {"type": "number", "value": answer, "tolerance": 0}, "tools": ["calculator"]})
    return items


def entities(data: Path, size: int) -> list[dict]:
    candidates = []
    for tokens, tags in load_split("ner", data, "test"):
        found = list(dict.fromkeys(" ".join(tokens[start:end]) for _, start, end in iob_spans(tags)))
        sentence = " ".join(tokens)
        # short, plain sentences: sports tables and headlines in capitals make poor objectives
        if len(found) >= 2 and 8 <= len(tokens) <= 30 and not sentence.isupper() and sentence[-1] in ".!?\"":
            candidates.append((sentence, found))
    chosen = random.Random(ENTITIES_SEED).sample(candidates, size)
    return [{"id": f"ner-{index:02d}", "objective": f"List the named entities in: {sentence}",
             "check": {"type": "strings", "values": found, "mode": "all"}, "tools": ["extract_entities"]}
            for index, (sentence, found) in enumerate(chosen)]


def sentiment(data: Path, size: int) -> list[dict]:
    pool = [(text, label) for text, label in load_split("sentiment", data, "test") if 20 <= len(text) <= 160]
    rng = random.Random(SENTIMENT_SEED)
    items = []
    for index in range(size):
        picked = rng.sample(pool, 3)
        listed = " ".join(f"{n}. {text}" for n, (text, _) in enumerate(picked, start=1))
        items.append({"id": f"sent-{index:02d}", "objective": f"How many of these sentences are positive? {listed}",
                      "check": {"type": "number", "value": sum(label for _, label in picked), "tolerance": 0},
                      "tools": ["classify_sentiment"]})
    return items


def memory(pairs: int) -> list[dict]:
    rng = random.Random(MEMORY_SEED)
    items = []
    for project in rng.sample(PROJECTS, pairs):
        word = f"{rng.choice(COLOURS)}-{rng.randint(10, 99)}"
        key, slug = f"project-{project.lower()}", project.lower()
        items.append({"id": f"mem-{slug}-store", "objective": f"Remember: the code word for project {project} is "
                      f"'{word}'.", "check": {"type": "strings", "values": [word]}, "tools": [], "memory": key})
        items.append({"id": f"mem-{slug}-recall", "objective": f"What is the code word for project {project}?",
                      "check": {"type": "strings", "values": [word]}, "tools": [], "memory": key})
    return items


def write(path: Path, items: list[dict]) -> None:
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    parse_suite(lines, path.name)  # what is written must load
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{path}: {len(items)} items")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="datasets directory (agent heads fetch-data)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="where the .jsonl files go")
    parser.add_argument("--size", type=int, default=15, help="items per suite (memory: size // 2 pairs)")
    args = parser.parse_args()
    fetch_datasets(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    write(args.out / "arithmetic.jsonl", arithmetic(args.size))
    write(args.out / "entities.jsonl", entities(args.data, args.size))
    write(args.out / "sentiment.jsonl", sentiment(args.data, args.size))
    write(args.out / "memory.jsonl", memory(min(len(PROJECTS), args.size // 2)))


if __name__ == "__main__":
    main()
