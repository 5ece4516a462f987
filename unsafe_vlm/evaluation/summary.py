"""The scores as a rich table in the terminal."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console
from rich.table import Table

from unsafe_vlm.report.scores import headline_scores


def format_score(value: float | int | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def print_scores(metrics: Mapping[str, float | int | None], *, title: str, run_dir: str | None = None) -> None:
    table = Table(title=title)
    table.add_column("score")
    table.add_column("value", justify="right")
    for score in headline_scores(metrics):
        if score.key in metrics:
            table.add_row(score.label, format_score(metrics[score.key]))
    console = Console()
    console.print(table)
    if run_dir is not None:
        console.print(f"metrics, responses and report in {run_dir}")


def print_comparison(
    before: Mapping[str, float | int | None] | None, after: Mapping[str, float | int | None], *, title: str
) -> None:
    """Before and after training side by side, with the change."""
    table = Table(title=title)
    table.add_column("score")
    if before is not None:
        table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    if before is not None:
        table.add_column("change", justify="right")
    for score in headline_scores(after):
        key = score.key
        if key not in after:
            continue
        row = [score.label]
        if before is not None:
            row.append(format_score(before.get(key)))
        row.append(format_score(after[key]))
        if before is not None:
            old, new = before.get(key), after[key]
            row.append("n/a" if old is None or new is None else f"{new - old:+.3f}")
        table.add_row(*row)
    Console().print(table)
