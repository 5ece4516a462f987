"""The unsafe categories a run has scores for, in the published order."""

from __future__ import annotations

from collections.abc import Sequence

from unsafe_vlm.data.taxonomy import SAFE_CATEGORY, published_taxonomy
from unsafe_vlm.report.scores import Metrics

CATEGORY_TASKS = ("alignment_image", "alignment_text", "perception")
"""The tasks asked only about unsafe concepts (the balanced test split mixes in safe images)."""


def report_categories(metrics: Metrics) -> list[str]:
    """Categories with responses in any of ``CATEGORY_TASKS``: published ones first, others sorted."""
    seen = {key.split("/n/", 1)[1] for task in CATEGORY_TASKS for key in metrics if key.startswith(f"{task}/n/")}
    seen.discard(SAFE_CATEGORY)
    published = [name for name in published_taxonomy().categories if name in seen]
    return [*published, *sorted(seen - set(published))]


def by_category(metrics: Metrics, prefix: str, categories: Sequence[str]) -> list[float | None]:
    """``metrics[f"{prefix}/{category}"]`` per category; None where absent or undefined."""
    return [metrics.get(f"{prefix}/{name}") for name in categories]
