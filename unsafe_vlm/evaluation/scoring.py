"""Scores from saved responses, with torchmetrics (summed across DDP ranks in ``compute``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from unsafe_vlm.metrics.alignment_test import AlignmentTestAccuracy
from unsafe_vlm.metrics.report import Results
from unsafe_vlm.metrics.task_accuracy import TaskAccuracy


def task_metric(task: str, categories: Sequence[str]) -> TaskAccuracy:
    """The metric of a task: the balanced test split also gets balanced accuracy and recalls."""
    metric_class = AlignmentTestAccuracy if task == "alignment_test" else TaskAccuracy
    return metric_class(categories)


def score_responses(
    rows_by_task: Mapping[str, Sequence[Mapping[str, Any]]],
    categories: Sequence[str],
    *,
    rank: int = 0,
    world_size: int = 1,
) -> Results:
    """Each task's ``compute()`` result over all its rows.

    Under DDP every rank passes the same rows and counts its own ``rank::world_size`` slice;
    ``compute`` then sums the counts of all ranks, so every row counts once.
    """
    results = {}
    for task, rows in rows_by_task.items():
        mine = list(rows)[rank::world_size]
        metric = task_metric(task, categories)
        metric.update([r["judged"] for r in mine], [r["gold"] for r in mine], [r["category"] for r in mine])
        results[task] = metric.compute()
    return results
