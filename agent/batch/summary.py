"""A batch's report, and its summary as a plain-text table: one row per objective, then the totals."""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO

from agent.batch.ledger import Ack


@dataclass
class BatchReport:
    batch_id: str
    acks: list[Ack]  # one per objective, in the order of the batch file
    ran: int  # objectives finished by this call (the others were acknowledged before)
    seconds: float

    @property
    def per_minute(self) -> float:
        return 60 * self.ran / self.seconds if self.seconds > 0 else 0.0


def format_table(report: BatchReport, width: int = 120) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    for name in ("id", "run", "status", "calls", "tokens", "s", "answer / error"):
        table.add_column(name, justify="right" if name in ("calls", "tokens", "s") else "left",
                         overflow="ellipsis", no_wrap=name == "answer / error")
    for a in report.acks:
        shown = a.error or " ".join(a.final_answer.split())
        table.add_row(a.id, a.run_id, a.status or "error", str(a.llm_calls), str(a.tokens), f"{a.seconds:.1f}",
                      shown[:80])
    buffer = StringIO()
    Console(file=buffer, width=width, no_color=True, highlight=False).print(table)
    statuses: dict[str, int] = {}
    for a in report.acks:
        statuses[a.status or "error"] = statuses.get(a.status or "error", 0) + 1
    counts = ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
    buffer.write(f"\nbatch {report.batch_id}: {len(report.acks)} objectives ({counts}); {report.ran} run now in "
                 f"{report.seconds:.1f} s ({report.per_minute:.1f} objectives/min)\n")
    return buffer.getvalue()
