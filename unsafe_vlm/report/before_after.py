"""A fit run's evaluations before and after training: the paired change of every headline score,
``comparison.md`` and ``comparison.png`` in the run folder. ``fit`` and ``report`` both come here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from unsafe_vlm.metrics.intervals import paired_differences
from unsafe_vlm.metrics.metrics_json import BEFORE_FILE, METRICS_FILE
from unsafe_vlm.report.comparison import Changes, ComparisonFiles, Evaluation, write_comparison
from unsafe_vlm.report.rescore import AFTER, BEFORE, load_task_rows
from unsafe_vlm.report.scores import Metrics


def fit_evaluations(run_dir: Path, before: Metrics, after: Metrics) -> list[Evaluation]:
    return [Evaluation("before", before, run_dir / BEFORE_FILE), Evaluation("after", after, run_dir / METRICS_FILE)]


def paired_changes(evaluations: Sequence[Evaluation]) -> Changes | None:
    """The paired bootstrap intervals of the second evaluation's change from the first, from the rows
    of their responses folders; None when either folder holds none (a run that kept only its scores)."""
    first, second = (load_task_rows(_responses_of(e.source)) for e in evaluations)
    if not first or not second:
        return None
    return paired_differences(first, second)


def write_fit_comparison(run_dir: Path, before: Metrics, after: Metrics) -> tuple[ComparisonFiles, Changes | None]:
    """``comparison.md`` (with the paired significance where both folders of answers are there) and
    ``comparison.png`` (before and after with their intervals) in ``run_dir``."""
    evaluations = fit_evaluations(run_dir, before, after)
    changes = paired_changes(evaluations)
    return write_comparison(evaluations, run_dir, changes, title="Before and after training"), changes


def _responses_of(metrics_file: Path) -> Path:
    """The responses folder a metrics file was scored from (``metrics_before.json``: ``responses_before``)."""
    return metrics_file.parent / (BEFORE if metrics_file.name == BEFORE_FILE else AFTER)
