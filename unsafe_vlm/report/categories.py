"""The unsafe categories a run has scores for, in the published order."""

from __future__ import annotations

from collections.abc import Sequence

from unsafe_vlm.data.tasks import TASKS
from unsafe_vlm.data.taxonomy import SAFE_CATEGORY, published_taxonomy
from unsafe_vlm.report.scores import Metrics


def category_tasks() -> tuple[str, ...]:
    """The tasks asked only about unsafe concepts (``per_category`` in the task table)."""
    return tuple(name for name, task in TASKS.items() if task.per_category)


def report_categories(metrics: Metrics) -> list[str]:
    """Categories with responses in any of ``category_tasks()``: published ones first, others sorted."""
    seen = {key.split("/n/", 1)[1] for task in category_tasks() for key in metrics if key.startswith(f"{task}/n/")}
    seen.discard(SAFE_CATEGORY)
    published = [name for name in published_taxonomy().categories if name in seen]
    return [*published, *sorted(seen - set(published))]


def by_category(metrics: Metrics, prefix: str, categories: Sequence[str]) -> list[float | None]:
    """``metrics[f"{prefix}/{category}"]`` per category; None where absent or undefined."""
    return [metrics.get(f"{prefix}/{name}") for name in categories]
