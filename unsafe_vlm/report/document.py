"""``write_report``: a run's ``report.md`` and ``plots/*.png``, readable without the code."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from unsafe_vlm.report.metrics_files import BEFORE_FILE, read_metrics
from unsafe_vlm.report.plots import draw_category_plots
from unsafe_vlm.report.scores import Metrics
from unsafe_vlm.report.sections import (
    HOW_TO_READ,
    before_after_section,
    category_section,
    headline_section,
    plots_section,
    tasks_section,
)

PLOTS_DIR = "plots"


@dataclass
class ReportFiles:
    markdown: Path
    plots: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # plot file name -> why it was not drawn


def write_report(
    run_dir: str | Path, metrics: Metrics, *, title: str | None = None, before: Metrics | None = None
) -> ReportFiles:
    """Write ``run_dir/report.md`` and ``run_dir/plots/*.png`` from a flat metrics dict.

    ``before``: the scores before training; by default read from ``run_dir/metrics_before.json``
    when that exists, adding a before/after table.
    """
    run_dir = Path(run_dir)
    if before is None:
        before = read_metrics(run_dir / BEFORE_FILE, missing_ok=True)
    outcome = draw_category_plots(metrics, run_dir / PLOTS_DIR)
    sections = [
        f"# {title or f'Evaluation report: {run_dir.name}'}\n",
        headline_section(metrics),
        tasks_section(metrics),
        *([before_after_section(before, metrics)] if before is not None else []),
        category_section(metrics),
        plots_section(outcome, PLOTS_DIR),
        HOW_TO_READ,
    ]
    path = run_dir / "report.md"
    path.write_text("\n".join(sections), encoding="utf-8")
    return ReportFiles(markdown=path, plots=list(outcome.drawn.values()), skipped=outcome.skipped)
