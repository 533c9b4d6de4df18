"""Train the NER head on the full CoNLL-2003 train set and score it on the test set.

Not part of CI: on a GPU this takes minutes, on a CPU hours. Run from the repository root::

    PYTHONPATH=. python benchmarks/train_ner_full.py            # full run
    PYTHONPATH=. python benchmarks/train_ner_full.py --max-train-examples 50 --epochs 1 --max-eval-examples 50
    PYTHONPATH=. python benchmarks/train_ner_full.py --init HEAD --epochs 1 --lr 3e-5 --out HEAD2   # one more
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from agent.heads import evaluate_head, fetch_datasets, format_report, train_head
from agent.heads.data import HeadDataError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "agent-heads-data")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "agent-heads" / "ner")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max-train-examples", type=int, default=None)
    parser.add_argument("--max-eval-examples", type=int, default=None, help="caps validation and test sentences")
    parser.add_argument("--device", default=None, help="'cpu' to force the CPU; default: GPU when present")
    parser.add_argument("--json", type=Path, default=None, help="also write the summary as JSON here")
    parser.add_argument("--init", type=Path, default=None,
                        help="continue from this trained NER head (e.g. one more epoch at a lower rate)")
    args = parser.parse_args()

    try:
        fetch_datasets(args.data_dir)
    except HeadDataError as error:  # offline, say: one line, as `agent heads fetch-data` says it
        sys.exit(f"error: {error}")
    trained = train_head(
        "ner",
        args.data_dir,
        args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        max_train_examples=args.max_train_examples,
        max_eval_examples=args.max_eval_examples,
        device=args.device,
        init=args.init,
    )
    report = evaluate_head(args.out, args.data_dir, "test", args.max_eval_examples, device=args.device)
    print(format_report(report))
    summary = {
        "train_sentences": args.max_train_examples or "all",
        "epochs_run": trained.epochs_run,
        "best_epoch": trained.best_epoch,
        "valid_entity_f1": trained.best_metric,
        "train_seconds_incl_validation": round(trained.seconds, 1),
        "test_token_micro_f1_with_o": report.reports["token"].micro.f1,
        "test_token_micro_f1_without_o": report.reports["token (without O)"].micro.f1,
        "test_entity_micro_f1": report.reports["entity"].micro.f1,
    }
    print("\n" + "\n".join(f"{key:>30}: {value}" for key, value in summary.items()))
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
