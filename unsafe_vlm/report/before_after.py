"""A fit run's evaluations before and after training: the paired change of every headline score,
``comparison.md`` and ``comparison.png`` in the run folder. ``fit`` and ``report`` both come here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from unsafe_vlm.metrics.error_rows import without_error_rows
from unsafe_vlm.metrics.intervals import paired_differences
from unsafe_vlm.metrics.metrics_json import BEFORE_FILE, METRICS_FILE
from unsafe_vlm.report.comparison import Changes, ComparisonFiles, Evaluation, write_comparison
from unsafe_vlm.report.rescore import AFTER, BEFORE, load_task_rows, rescore
from unsafe_vlm.report.scores import Metrics


def fit_evaluations(run_dir: Path, before: Metrics, after: Metrics) -> list[Evaluation]:
    return [Evaluation("before", before, run_dir / BEFORE_FILE), Evaluation("after", after, run_dir / METRICS_FILE)]


def paired_changes(evaluations: Sequence[Evaluation]) -> Changes | None:
    """The paired change of the second evaluation from the first over the queries both answered (error
    rows are no answer), from the rows of their responses folders: its bootstrap intervals and, where
    the two query sets differ, both evaluations scored over the shared queries alone, so that the
    change printed is the one the interval is about. None when either folder holds no rows (a run
    that kept only its scores)."""
    folders = [_responses_of(e.source) for e in evaluations]
    first, second = (load_task_rows(folder) for folder in folders)
    if not first or not second:
        return None
    intervals = paired_differences(first, second)
    answered = [_answered(rows) for rows in (first, second)]
    shared = answered[0] & answered[1]
    only = (len(answered[0] - shared), len(answered[1] - shared))
    if only == (0, 0):
        return Changes(intervals, shared=len(shared))
    common = tuple(rescore(folder, _only(rows, shared)) for folder, rows in zip(folders, (first, second), strict=True))
    return Changes(intervals, common=common, only=only, shared=len(shared))


def _only(rows_by_task: Mapping[str, Sequence[Mapping]], queries: set[tuple[str, str]]) -> dict[str, list]:
    """The rows of ``queries`` alone, for each task that has some."""
    kept = {task: [row for row in rows if (task, row["id"]) in queries] for task, rows in rows_by_task.items()}
    return {task: rows for task, rows in kept.items() if rows}


def _answered(rows_by_task: Mapping[str, Sequence[Mapping]]) -> set[tuple[str, str]]:
    return {(task, row["id"]) for task, rows in rows_by_task.items() for row in without_error_rows(rows)}


def write_fit_comparison(run_dir: Path, before: Metrics, after: Metrics) -> tuple[ComparisonFiles, Changes | None]:
    """``comparison.md`` (with the paired significance where both folders of answers are there) and
    ``comparison.png`` (before and after with their intervals) in ``run_dir``."""
    evaluations = fit_evaluations(run_dir, before, after)
    changes = paired_changes(evaluations)
    return write_comparison(evaluations, run_dir, changes, title="Before and after training"), changes


def _responses_of(metrics_file: Path) -> Path:
    """The responses folder a metrics file was scored from (``metrics_before.json``: ``responses_before``)."""
    return metrics_file.parent / (BEFORE if metrics_file.name == BEFORE_FILE else AFTER)
