"""Which scores a report leads with (from the task table, ``data.tasks.TASKS``), and how a score is
written for a reader: the one formatter of terminal tables, ``report.md`` and ``comparison.md``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from unsafe_vlm.data.tasks import TASKS, Headline, Task

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
    meaning: str = ""  # what it measures, for report.md


def named_tasks() -> list[Task]:
    """The tasks whose scores are keyed by their own name (the benchmark's, and any added like them)."""
    return [task for task in TASKS.values() if task.group is None]


def headline_scores(metrics: Metrics) -> tuple[Score, ...]:
    """The headline scores of the tasks keyed by name (all of them, if any of those ran), then those of
    the sets keyed by group and name (``generalization/<name>/...``, ``general/<name>/...``), sorted by key."""
    named = named_tasks()
    scores = []
    if any(ran(metrics, task.name) for task in named):
        scores += [_score(task.prefix(), headline) for task in named for headline in task.headline]
    for key in sorted(metrics):
        parts = key.split("/")
        if len(parts) != 3:
            continue
        group, name, score_name = parts
        # several tasks of one group may lead with a score of one name (the safety sets' rates): the first says it
        headline = next((h for task in TASKS.values() if task.group == group for h in task.headline
                         if h.score == score_name), None)  # fmt: skip
        if headline is not None:
            score = _score(f"{group}/{name}", headline)
            scores.append(Score(score.key, f"{headline.label}: {name}", score.signed, score.meaning))
    return tuple(scores)


def compared_scores(evaluations: Iterable[Metrics]) -> tuple[Score, ...]:
    """The rows of a before/after table and of a comparison of runs: every headline score any of
    them has, then the N/A rate of each task keyed by name."""
    merged: dict[str, float | int | None] = {}
    for metrics in evaluations:
        merged.update(metrics)
    na_rates = tuple(Score(f"{t.name}/na_rate", f"N/A rate: {t.label.lower()}") for t in named_tasks())
    return (*headline_scores(merged), *na_rates)


def _score(prefix: str, headline: Headline) -> Score:
    key = headline.score if headline.absolute else f"{prefix}/{headline.score}"
    name = prefix.rsplit("/", 1)[-1]
    return Score(key, headline.label, headline.signed, headline.meaning.format(name=name))


def format_value(value: float | int | None, *, signed: bool = False) -> str:
    """A ratio as a percentage (``75.0%``), a difference in points (``+12.5 pts``)."""
    if value is None:
        return UNDEFINED
    if signed:
        return f"{100 * value:+.1f} pts"
    return f"{100 * value:.1f}%"


def format_score(metrics: Metrics, score: Score, *, interval: bool = False) -> str:
    """The score and, with ``interval`` where the run has one, its 95% interval: ``96.0% [94.1, 97.6]``."""
    if score.key not in metrics:
        return NOT_RUN
    value = format_value(metrics[score.key], signed=score.signed)
    if not interval:
        return value
    low, high = metrics.get(f"ci95/{score.key}/low"), metrics.get(f"ci95/{score.key}/high")
    if low is None or high is None or metrics[score.key] is None:
        return value
    scale, sign = 100, "+" if score.signed else ""
    return f"{value} [{scale * low:{sign}.1f}, {scale * high:{sign}.1f}]"


def format_change(before: Metrics, after: Metrics, key: str) -> str:
    """``after - before`` in points; the undefined mark when either side is missing or undefined."""
    old, new = before.get(key), after.get(key)
    if old is None or new is None:
        return UNDEFINED
    return format_value(new - old, signed=True)


def ran(metrics: Metrics, task: str) -> bool:
    return f"{task}/n" in metrics
