"""Write the evaluation suites (JSON lines for `agent eval`), reproducibly: fixed seeds, pinned data.

    python examples/suites/make_suites.py --data DATA_DIR [--out examples/suites] [--size 15]

dev.jsonl         the dev suite: about 7 items of each kind below, seeds DEV_SEEDS, CoNLL and Pang & Lee test splits
train.jsonl       the same kinds from TRAIN_SEEDS and the train splits, disjoint from dev, for learning
arithmetic.jsonl  reasoning-gym basic_arithmetic (pip install reasoning-gym), checked by number; calculator
entities.jsonl    CoNLL-2003 test sentences with >= 2 entities, checked by all gold strings; extract_entities
sentiment.jsonl   three Pang & Lee test sentences, "how many are positive?", checked by number; classify_sentiment
memory.jsonl      pairs sharing a memory key: store a code word, then ask for it in a later run; no tools

Kinds (dev and train): word_problems (gsm_symbolic), arithmetic (basic_arithmetic), products, legs
(leg_counting), calendar (calendar_arithmetic; dates tool), entities, sentiment, memory (store, then ask in a
later run), multistep (two tools or a result carried into a later step). Every expected answer is recomputed
here (our calculator, python's datetime, gold annotations; see kinds.py) and an item that cannot be verified,
or that its own objective would pass if echoed back, is dropped.

DATA_DIR is filled by `agent heads fetch-data DATA_DIR` (done here when missing).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import composite
import kinds

from agent.evaluation.suite import parse_suite, passes
from agent.heads.data import fetch_datasets, iob_spans, load_split
from agent.tools.calculator import evaluate

ARITHMETIC_SEED, ENTITIES_SEED, SENTIMENT_SEED, MEMORY_SEED = 2024, 2003, 2005, 17
PROJECTS = ["Lark", "Heron", "Finch", "Osprey", "Wren", "Kestrel", "Plover", "Egret", "Curlew", "Merlin"]
COLOURS = ["amber", "cobalt", "scarlet", "jade", "ivory", "umber", "violet", "saffron"]

KINDS = ("word_problems", "arithmetic", "products", "legs", "calendar", "entities", "sentiment", "memory",
         "multistep")
PREFIX = {"word_problems": "word", "arithmetic": "arith", "products": "prod", "legs": "legs", "calendar": "cal",
          "entities": "ner", "sentiment": "sent", "memory": "mem", "multistep": "multi"}
DEV_SEEDS = {kind: 7100 + n for n, kind in enumerate(KINDS)}
TRAIN_SEEDS = {kind: 9300 + n for n, kind in enumerate(KINDS)}
DEV_SIZES = {**{kind: 7 for kind in KINDS}, "memory": 4, "multistep": 12}  # memory: pairs
TRAIN_SIZES = {**{kind: 28 for kind in KINDS}, "memory": 14, "multistep": 32}


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


def triples(kind: str, data: Path, split: str, seed: int, count: int) -> list[kinds.Triple]:
    """`count` verified (objective, check, tools) of `kind`, never one its own echoed objective would pass."""
    if kind in ("entities", "sentiment", "multistep"):
        made = getattr(composite if kind == "multistep" else kinds, kind)(data, split, seed, count * 2)
    else:
        made = getattr(kinds, kind)(seed, count)
    kept = [(objective, check, tools) for objective, check, tools in made
            if not passes(parse_suite([json.dumps({"id": "x", "objective": objective, "check": check})])[0].check,
                          objective)]
    if len(kept) < count:
        raise SystemExit(f"{kind}: only {len(kept)} verified items from seed {seed}; raise the pool size")
    return kept[:count]


def kind_items(kind: str, data: Path, split: str, seed: int, count: int, id_prefix: str) -> list[dict]:
    stem = f"{id_prefix}{PREFIX[kind]}"
    if kind != "memory":
        return [{"id": f"{stem}-{n:02d}", "kind": kind, "objective": objective, "check": check, "tools": tools}
                for n, (objective, check, tools) in enumerate(triples(kind, data, split, seed, count))]
    items = []
    for n, (key, store, store_check, ask, ask_check, tools) in enumerate(composite.memory_pairs(seed, count)):
        items.append({"id": f"{stem}-{n:02d}-store", "kind": kind, "objective": store, "check": store_check,
                      "tools": [], "memory": f"{id_prefix}{key}"})
        items.append({"id": f"{stem}-{n:02d}-ask", "kind": kind, "objective": ask, "check": ask_check,
                      "tools": tools, "memory": f"{id_prefix}{key}"})
    return items


def suite(data: Path, split: str, seeds: dict[str, int], sizes: dict[str, int], id_prefix: str,
          exclude: set[str] = frozenset()) -> list[dict]:  # type: ignore[assignment]
    """Every kind in KINDS order; items whose objective is in `exclude` (the dev suite's) are left out."""
    items = [item for kind in KINDS for item in kind_items(kind, data, split, seeds[kind], sizes[kind], id_prefix)]
    # a memory pair goes as a whole: a recall without its store (or the reverse) measures nothing
    dropped = {item.get("memory") or item["id"] for item in items if item["objective"] in exclude}
    return [item for item in items if (item.get("memory") or item["id"]) not in dropped]


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
    dev = suite(args.data, "test", DEV_SEEDS, DEV_SIZES, "")
    write(args.out / "dev.jsonl", dev)
    write(args.out / "train.jsonl", suite(args.data, "train", TRAIN_SEEDS, TRAIN_SIZES, "train-",
                                          {item["objective"] for item in dev}))
    write(args.out / "arithmetic.jsonl", arithmetic(args.size))
    write(args.out / "entities.jsonl", entities(args.data, args.size))
    write(args.out / "sentiment.jsonl", sentiment(args.data, args.size))
    write(args.out / "memory.jsonl", memory(min(len(PROJECTS), args.size // 2)))


if __name__ == "__main__":
    main()
