"""One grouped bar plot of the headline scores, a bar per evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from unsafe_vlm.report.figures import bar_figure, label_bars, legend_outside, save, zeros_for_missing
from unsafe_vlm.report.scores import headline_scores

if TYPE_CHECKING:
    from unsafe_vlm.report.comparison import Evaluation


def plot_comparison(
    evaluations: Sequence[Evaluation], path: Path, *, title: str = "Headline scores by run"
) -> Path | None:
    """Draw to ``path``; None (and no file) when no evaluation has any headline score defined."""
    merged = {key: value for e in evaluations for key, value in e.metrics.items()}
    scores = [s for s in headline_scores(merged) if any(e.metrics.get(s.key) is not None for e in evaluations)]
    if not scores:
        path.unlink(missing_ok=True)
        return None
    slot = 0.8 / len(evaluations)  # each score's row holds one bar per evaluation
    figure, axes = bar_figure(len(scores), per_row=0.2 + 0.22 * len(evaluations))
    lowest = 0.0
    for i, evaluation in enumerate(evaluations):
        values = [_points(evaluation.metrics.get(s.key)) for s in scores]
        positions = [row - 0.4 + slot * (i + 0.5) for row in range(len(scores))]
        errors = _error_bars(evaluation.metrics, [s.key for s in scores])
        axes.barh(positions, zeros_for_missing(values), height=slot * 0.9, label=evaluation.label,
                  xerr=errors, error_kw={"elinewidth": 1, "capsize": 2})  # fmt: skip
        notes = ["undefined" if s.key in evaluation.metrics else "not run" for s in scores]
        reach = list(zip(*errors, strict=True)) if errors else None
        label_bars(axes, positions, values, text=lambda v: f"{v:.1f}", missing=notes, reach=reach)
        ends = [v - (reach[k][0] if reach else 0.0) for k, v in enumerate(values) if v is not None]
        lowest = min([lowest, *ends])  # the far end of a negative bar's error bar
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_yticks(range(len(scores)), [s.label for s in scores], fontsize=10)
    axes.set_ylim(len(scores) - 0.5, -0.5)
    axes.set_xlim(lowest - 14 if lowest < 0 else 0, 114)  # room for a label left of the lowest error bar
    axes.grid(axis="x", alpha=0.3)
    axes.set_axisbelow(True)
    axes.set_xlabel("score (%), N/A left out; modality gap in percentage points; bars: 95% bootstrap interval")
    axes.set_ylabel("headline score")
    axes.set_title(title)
    legend_outside(axes, title="run")
    return save(figure, path)


def _error_bars(metrics, keys: list[str]) -> list[list[float]] | None:
    """(2, N) distances below and above each score to its 95% interval's ends (0 where it has none)."""
    below, above = [], []
    for key in keys:
        value, low, high = metrics.get(key), metrics.get(f"ci95/{key}/low"), metrics.get(f"ci95/{key}/high")
        known = None not in (value, low, high)
        below.append(max(100 * (value - low), 0.0) if known else 0.0)
        above.append(max(100 * (high - value), 0.0) if known else 0.0)
    return [below, above] if any(below) or any(above) else None


def _points(value: float | None) -> float | None:
    return None if value is None else 100 * value
