"""Several evaluations side by side: ``comparison.md``, ``comparison.png`` and a rich table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from unsafe_vlm.metrics.error_rows import error_summary
from unsafe_vlm.metrics.metrics_json import METRICS_FILE
from unsafe_vlm.report.comparison_plot import plot_comparison
from unsafe_vlm.report.markdown import markdown_table
from unsafe_vlm.report.scores import UNDEFINED, Metrics, compared_scores, format_change, format_score


@dataclass(frozen=True)
class Evaluation:
    label: str  # a column heading
    metrics: Metrics
    source: Path  # the metrics file the scores are in


Intervals = Mapping[str, tuple[float | None, float | None]]


@dataclass(frozen=True)
class Changes:
    """The paired change between two evaluations, over the queries both answered (``report.before_after``)."""

    intervals: Intervals  # metrics.json key -> the 95% interval of the change (``metrics.intervals``)
    common: tuple[Metrics, Metrics] | None = None  # both scored over the shared queries, where their sets differ
    only: tuple[int, int] = (0, 0)  # the queries each answered that the other did not
    shared: int = 0  # the queries both answered

    def differ_line(self, labels: Sequence[str]) -> str | None:
        """One line when the two query sets differ: how many each has that the other lacks."""
        if self.common is None:
            return None
        first, second = labels
        return (
            f"The runs answered different queries: {first} has {self.only[0]} that {second} lacks, {second} has "
            f"{self.only[1]} that {first} lacks; each change is over the {self.shared} queries both answered."
        )


@dataclass
class ComparisonFiles:
    markdown: Path
    plot: Path | None  # None when no headline score is defined in any evaluation


def comparison_rows(
    evaluations: Sequence[Evaluation], changes: Changes | None = None
) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per compared score any evaluation has, one column per evaluation
    (each score with its 95% interval where the evaluation has one).

    With exactly two evaluations a column gives the change from the first to the second, and with
    ``changes`` (a paired bootstrap over the queries both answered) one more says whether it is
    significant: its 95% interval, and "yes" when that excludes 0.
    """
    header = ["Score", *(e.label for e in evaluations)]
    two = len(evaluations) == 2
    if two:
        header.append(f"Change ({evaluations[1].label} − {evaluations[0].label})")
        if changes is not None:
            header.append("Significant (95%, paired)")
    rows = []
    for score in compared_scores(e.metrics for e in evaluations):
        if not any(score.key in e.metrics for e in evaluations):
            continue
        row = [score.label, *(format_score(e.metrics, score, interval=True) for e in evaluations)]
        if two:
            pair = changes.common if changes is not None and changes.common is not None else None
            before, after = pair or (evaluations[0].metrics, evaluations[1].metrics)
            row.append(format_change(before, after, score.key))
            if changes is not None:
                row.append(_significance(changes.intervals.get(score.key)))
        rows.append(row)
    return header, rows


def write_comparison(
    evaluations: Sequence[Evaluation],
    out_dir: str | Path,
    changes: Changes | None = None,
    *,
    title: str = "Comparison of runs",
) -> ComparisonFiles:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header, rows = comparison_rows(evaluations, changes)
    plot = plot_comparison(evaluations, out_dir / "comparison.png", title=f"Headline scores: {title.lower()}")
    sources = [f"- **{e.label}**: `{e.source}`" for e in evaluations]
    picture = "![headline scores by run](comparison.png)\n" if plot else "No headline score is defined, so no plot.\n"
    text = "\n".join(
        [
            f"# {title}\n",
            "Accuracies leave out responses judged N/A; the modality gap and changes are in percentage points.",
            "A change is significant when the 95% interval of a paired bootstrap over the queries both runs"
            " answered (the same images or concepts drawn for both) excludes 0.\n" if changes is not None else "",
            *_differ(changes, evaluations),
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


def _differ(changes: Changes | None, evaluations: Sequence[Evaluation]) -> list[str]:
    line = changes.differ_line([e.label for e in evaluations]) if changes is not None else None
    return [line + "\n"] if line else []


def _significance(interval: tuple[float | None, float | None] | None) -> str:
    if interval is None or None in interval:
        return UNDEFINED
    low, high = interval
    verdict = "yes" if low > 0 or high < 0 else "no"
    return f"{verdict} [{100 * low:+.1f}, {100 * high:+.1f}]"


def print_comparison(
    evaluations: Sequence[Evaluation],
    console: Console | None = None,
    *,
    title: str | None = None,
    changes: Changes | None = None,
) -> None:
    """The comparison as a rich table in the terminal (the same rows and formatting as ``comparison.md``)."""
    header, rows = comparison_rows(evaluations, changes)
    default = "Comparison" if len(evaluations) > 1 else f"Scores: {evaluations[0].label}"
    table = Table(title=title or default)
    table.add_column(header[0], min_width=14)
    for heading in header[1:]:
        table.add_column(heading, justify="right")
    for row in rows:
        table.add_row(*row)
    console = console or Console()
    console.print(table)
    line = changes.differ_line([e.label for e in evaluations]) if changes is not None else None
    if line:
        console.print(f"[yellow]{line}[/]", soft_wrap=True)


def print_scores(metrics: Metrics, *, title: str, source: Path) -> None:
    """One evaluation's scores in the terminal (``commands/summary.py`` then says where its files are)."""
    console = Console()
    print_comparison([Evaluation("value", metrics, source)], console, title=title)
    if "api/prompt_tokens" in metrics:
        console.print(
            f"API usage: {metrics['api/prompt_tokens']:,} prompt and {metrics['api/completion_tokens']:,} "
            "completion tokens"
        )
    errors = error_summary(metrics)
    if errors:
        console.print(
            f"[yellow]{errors} got no valid answer or verdict[/] (in responses/, left out of every score); "
            "the same command asks them again",
            soft_wrap=True,
        )


def print_before_after(before: Metrics | None, after: Metrics, *, title: str, run_dir: Path) -> None:
    """A fit run's evaluations before and after training side by side, with the change and whether
    it is significant (a paired bootstrap over the saved answers of both)."""
    from unsafe_vlm.report.before_after import fit_evaluations, paired_changes  # it builds on this module

    if before is None:
        print_comparison([Evaluation("after", after, run_dir / METRICS_FILE)], title=title)
        return
    evaluations = fit_evaluations(run_dir, before, after)
    print_comparison(evaluations, title=title, changes=paired_changes(evaluations))
