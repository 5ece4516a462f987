"""``write_report``: a run's ``report.md`` and ``plots/*.png``, readable without the code."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from unsafe_vlm.metrics.error_rows import error_summary
from unsafe_vlm.metrics.metrics_json import BEFORE_FILE, METRICS_FILE, read_metrics
from unsafe_vlm.report.before_after import fit_evaluations, write_fit_comparison
from unsafe_vlm.report.comparison import Evaluation, comparison_rows
from unsafe_vlm.report.comparison_plot import plot_comparison
from unsafe_vlm.report.page import write_page
from unsafe_vlm.report.plots import draw_category_plots
from unsafe_vlm.report.safety import safety_section
from unsafe_vlm.report.scores import Metrics
from unsafe_vlm.report.sections import (
    HOW_TO_READ,
    before_after_section,
    category_section,
    headline_section,
    judge_section,
    plots_section,
    tasks_section,
)

PLOTS_DIR = "plots"
REPORT_FILE = "report.md"
HEADLINE_PLOT = "headline_scores.png"  # beside report.md, as comparison.png is beside comparison.md


@dataclass
class ReportFiles:
    markdown: Path
    plots: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # plot file name -> why it was not drawn
    headline_plot: Path | None = None  # the headline scores as bars; None when none is defined


def write_report(
    run_dir: str | Path, metrics: Metrics, *, title: str | None = None, before: Metrics | None = None
) -> ReportFiles:
    """Write ``report.md`` (and the same as ``report.html``, with a browser over every saved answer),
    ``headline_scores.png`` and ``plots/*.png`` into ``run_dir`` from a flat metrics dict.

    ``before``: the scores before training; by default read from ``run_dir/metrics_before.json``
    when that exists, adding a before/after table.
    """
    run_dir = Path(run_dir)
    if before is None:
        before = read_metrics(run_dir / BEFORE_FILE, missing_ok=True)
    outcome = draw_category_plots(metrics, run_dir / PLOTS_DIR)
    evaluation = Evaluation("this run", metrics, run_dir / METRICS_FILE)
    headline = plot_comparison([evaluation], run_dir / HEADLINE_PLOT, title="Headline scores")
    comparison = _before_after(run_dir, before, metrics) if before is not None else None
    sections = [
        f"# {title or f'Evaluation report: {run_dir.name}'}\n",
        *_unfinished(run_dir, metrics),
        judge_section(metrics),
        headline_section(metrics, HEADLINE_PLOT if headline else None),
        tasks_section(metrics),
        *filter(None, [safety_section(metrics)]),
        *([comparison] if comparison is not None else []),
        category_section(metrics),
        plots_section(outcome, PLOTS_DIR),
        HOW_TO_READ,
    ]
    path = run_dir / REPORT_FILE
    text = "\n".join(sections)
    path.write_text(text, encoding="utf-8")
    write_page(run_dir, text, title=title or f"Evaluation report: {run_dir.name}")
    return ReportFiles(path, list(outcome.drawn.values()), outcome.skipped, headline_plot=headline)


def _unfinished(run_dir: Path, metrics: Metrics) -> list[str]:
    """A run with error rows is unfinished: a line saying so, above every score."""
    errors = error_summary(metrics)
    if errors is None:
        return []
    return [
        f"**Unfinished:** {errors} got no valid answer or verdict; every score below leaves them out. "
        f"The same command with `hydra.run.dir={run_dir}` asks them again.\n"
    ]


def _before_after(run_dir: Path, before: Metrics, after: Metrics) -> str:
    """Write ``comparison.md`` and ``comparison.png``; the report's section holding the same rows and figure."""
    files, changes = write_fit_comparison(run_dir, before, after)
    header, rows = comparison_rows(fit_evaluations(run_dir, before, after), changes)
    return before_after_section(header, rows, files.plot.name if files.plot else None, paired=changes is not None)
