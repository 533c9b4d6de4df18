"""Fetch CoNLL-2003, fine-tune a small NER head, score it, then let an agent use it as a tool.

    python examples/train_ner_head.py --train-examples 2000 --epochs 1    # a few minutes on a CPU
"""

import argparse
from pathlib import Path

from agent import Agent
from agent.heads import evaluate_head, fetch_datasets, format_report, train_head
from agent.tools.heads import HeadTool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"), help="datasets directory (downloaded once)")
    parser.add_argument("--out", type=Path, default=Path("ner-head"), help="where the head is saved")
    parser.add_argument("--train-examples", type=int, default=2000, help="train on the first N sentences")
    parser.add_argument("--eval-examples", type=int, default=500, help="validate and test on N sentences")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--device", default=None, help="cpu, cuda; default: the GPU when there is one")
    args = parser.parse_args()

    fetch_datasets(args.data)
    report = train_head("ner", args.data, args.out, epochs=args.epochs, max_train_examples=args.train_examples,
                        max_eval_examples=args.eval_examples, device=args.device)
    print(f"best valid {report.metric_name}: {report.best_metric:.4f} ({report.seconds:.0f} s)")
    print(format_report(evaluate_head(args.out, args.data, "test", args.eval_examples, device=args.device)))

    # The agent sees the head as the tool `extract_entities`; its weights load on the first call.
    agent = Agent(tools=[HeadTool(args.out, device=args.device)], max_cycles=2)
    result = agent.run("List the people and places in: 'Angela Merkel met Emmanuel Macron in Paris.'")
    for task in result.tasks:
        print(f"[{task.id}] {task.description} ({task.tool or 'model'}): {task.result}")
    print(result.final_answer)


if __name__ == "__main__":
    main()
