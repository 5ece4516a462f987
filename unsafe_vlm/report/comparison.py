"""Several evaluations side by side: ``comparison.md``, ``comparison.png`` and a rich table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from unsafe_vlm.report.comparison_plot import plot_comparison
from unsafe_vlm.report.markdown import markdown_table
from unsafe_vlm.report.scores import COMPARED, Metrics, format_change, format_score


@dataclass(frozen=True)
class Evaluation:
    label: str  # a column heading
    metrics: Metrics
    source: Path  # the metrics file the scores are in


@dataclass
class ComparisonFiles:
    markdown: Path
    plot: Path | None  # None when no headline score is defined in any evaluation


def comparison_rows(evaluations: Sequence[Evaluation]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per compared score any evaluation has, one column per evaluation.

    With exactly two evaluations a last column gives the change from the first to the second.
    """
    header = ["Score", *(e.label for e in evaluations)]
    two = len(evaluations) == 2
    if two:
        header.append(f"Change ({evaluations[1].label} − {evaluations[0].label})")
    rows = []
    for score in COMPARED:
        if not any(score.key in e.metrics for e in evaluations):
            continue
        row = [score.label, *(format_score(e.metrics, score) for e in evaluations)]
        if two:
            row.append(format_change(evaluations[0].metrics, evaluations[1].metrics, score.key))
        rows.append(row)
    return header, rows


def write_comparison(evaluations: Sequence[Evaluation], out_dir: str | Path) -> ComparisonFiles:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header, rows = comparison_rows(evaluations)
    plot = plot_comparison(evaluations, out_dir / "comparison.png")
    sources = [f"- **{e.label}**: `{e.source}`" for e in evaluations]
    picture = "![headline scores by run](comparison.png)\n" if plot else "No headline score is defined, so no plot.\n"
    text = "\n".join(
        [
            "# Comparison of runs\n",
            "Accuracies leave out responses judged N/A; the modality gap and changes are in percentage points.\n",
            markdown_table(header, rows),
            picture,
            "Scores from:\n",
            *sources,
            "",
        ]
    )
    path = out_dir / "comparison.md"
    path.write_text(text, encoding="utf-8")
    return ComparisonFiles(markdown=path, plot=plot)


def print_comparison(evaluations: Sequence[Evaluation], console: Console | None = None) -> None:
    header, rows = comparison_rows(evaluations)
    table = Table(title="Comparison" if len(evaluations) > 1 else f"Scores: {evaluations[0].label}")
    table.add_column(header[0])
    for heading in header[1:]:
        table.add_column(heading, justify="right")
    for row in rows:
        table.add_row(*row)
    (console or Console()).print(table)
