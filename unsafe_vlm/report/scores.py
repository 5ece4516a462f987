"""Which scores a report leads with, and how a score is written for a reader."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Metrics = Mapping[str, float | int | None]
"""A flat ``metrics.json``: ``perception/accuracy``, ``modality_gap/Hate``, ``alignment_test/n``, ..."""

UNDEFINED = "—"
"""Written for a score with nothing to divide by (null in ``metrics.json``)."""
NOT_RUN = "not run"


@dataclass(frozen=True)
class Score:
    key: str  # the metrics.json key
    label: str
    signed: bool = False  # a difference (the modality gap): written with its sign, in points


HEADLINE = (
    Score("perception/accuracy", "Perception accuracy"),
    Score("alignment_image/accuracy", "Alignment on images"),
    Score("alignment_text/accuracy", "Alignment on text only"),
    Score("modality_gap", "Modality gap (text − image)", signed=True),
    Score("alignment_test/balanced_accuracy", "Balanced test accuracy"),
    Score("alignment_test/unsafe_recall", "Unsafe recall (test)"),
    Score("alignment_test/safe_recall", "Safe recall (test)"),
)

def headline_scores(metrics: Metrics) -> tuple[Score, ...]:
    """The benchmark's headline scores (if any benchmark task ran), then those of the
    generalisation sets (``generalization/<name>/...``) and capability sets (``general/<name>/...``)."""
    benchmark = HEADLINE if any(ran(metrics, task) for task in TASK_NAMES) else ()
    extra = []
    for key in sorted(metrics):
        parts = key.split("/")
        if len(parts) != 3:
            continue
        group, name, score = parts
        if group == "generalization" and score in GENERALIZATION_LABELS:
            extra.append(Score(key, f"{GENERALIZATION_LABELS[score]}: {name}"))
        elif group == "general" and score == "accuracy":
            extra.append(Score(key, f"General capability: {name}"))
    return (*benchmark, *extra)


GENERALIZATION_LABELS = {
    "balanced_accuracy": "Generalisation, balanced accuracy",
    "unsafe_recall": "Generalisation, unsafe recall",
    "safe_recall": "Generalisation, safe recall",
}

TASK_NAMES = {
    "perception": "Perception",
    "alignment_image": "Alignment on images",
    "alignment_text": "Alignment on text only",
    "alignment_test": "Balanced test split",
}

NA_RATES = tuple(Score(f"{task}/na_rate", f"N/A rate: {name.lower()}") for task, name in TASK_NAMES.items())

COMPARED = (*HEADLINE, *NA_RATES)
"""The rows of a before/after table and of a comparison of runs."""


def format_value(value: float | int | None, *, signed: bool = False) -> str:
    """A ratio as a percentage (``75.0%``), a difference in points (``+12.5 pts``)."""
    if value is None:
        return UNDEFINED
    if signed:
        return f"{100 * value:+.1f} pts"
    return f"{100 * value:.1f}%"


def format_score(metrics: Metrics, score: Score) -> str:
    if score.key not in metrics:
        return NOT_RUN
    return format_value(metrics[score.key], signed=score.signed)


def format_change(before: Metrics, after: Metrics, key: str) -> str:
    """``after - before`` in points; the undefined mark when either side is missing or undefined."""
    old, new = before.get(key), after.get(key)
    if old is None or new is None:
        return UNDEFINED
    return format_value(new - old, signed=True)


def ran(metrics: Metrics, task: str) -> bool:
    return f"{task}/n" in metrics
