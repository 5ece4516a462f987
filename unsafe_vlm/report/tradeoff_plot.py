"""One figure of every method's front: balanced test accuracy against capability accuracy (left) and
against safe-context recall on images (right), a point per setting, the evaluation before training
as a star, the targets as dashed lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from unsafe_vlm.report.figures import save
from unsafe_vlm.report.tradeoff import BALANCED, CAPABILITY, SAFE_CONTEXTS, SCORES, TARGETS

PANELS = ((CAPABILITY, TARGETS.capability_loss_at_most), (SAFE_CONTEXTS, TARGETS.safe_contexts_loss_at_most))


def plot_fronts(table: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Draw to ``path`` from ``tradeoff.rows``: error bars are the interval over seeds where there is
    one, else the run's own bootstrap interval; each method's non-dominated settings are joined."""
    figure = Figure(figsize=(12.0, 5.2), layout="constrained")
    FigureCanvasAgg(figure)
    before = next((row for row in table if row["method"] == "before"), None)
    methods = list(dict.fromkeys(row["method"] for row in table if row["method"] != "before"))
    for axes, (x_key, loss) in zip(figure.subplots(1, 2, sharey=True), PANELS, strict=True):
        for n, method in enumerate(methods):
            points = [p for p in (_point(row, x_key) for row in table if row["method"] == method) if p is not None]
            if not points:
                continue
            color = f"C{n % 10}"
            for x, y, x_err, y_err in points:
                axes.errorbar(x, y, xerr=[[x_err[0]], [x_err[1]]], yerr=[[y_err[0]], [y_err[1]]], fmt="o",
                              color=color, markersize=5, elinewidth=0.8, capsize=2, alpha=0.85)  # fmt: skip
            front = _front([(x, y) for x, y, _, _ in points])
            axes.plot(*zip(*front, strict=True), color=color, linewidth=1.2, label=method)
        axes.axhline(100 * TARGETS.balanced_at_least, color="gray", linestyle="--", linewidth=0.8)
        if before is not None and before.get(x_key, {}).get("mean") is not None:
            bx, by = 100 * before[x_key]["mean"], before.get(BALANCED, {}).get("mean")
            axes.axvline(bx - 100 * loss, color="gray", linestyle=":", linewidth=0.8)
            if by is not None:
                axes.plot([bx], [100 * by], marker="*", markersize=14, color="black", linestyle="none", label="before")
        axes.set_xlabel(f"{SCORES[x_key]} (%)")
        axes.grid(alpha=0.3)
        axes.set_title(f"{SCORES[BALANCED]} against {SCORES[x_key].lower()}", fontsize=10)
    figure.axes[0].set_ylabel(f"{SCORES[BALANCED]} (%)")
    if figure.axes[-1].get_legend_handles_labels()[0]:
        figure.axes[-1].legend(loc="best", fontsize=8, title="method: front")
    figure.suptitle("The alignment tax: dashed, the balanced-accuracy target; dotted, the most capability it may "
                    "cost; bars: 95% interval over seeds, else within the run", fontsize=9)  # fmt: skip
    return save(figure, path)


def _point(row: Mapping[str, Any], x_key: str):
    """(x, y, x error, y error) in percent, or None where a score is missing."""
    x, y = row.get(x_key), row.get(BALANCED)
    if not x or not y or x["mean"] is None or y["mean"] is None:
        return None
    return 100 * x["mean"], 100 * y["mean"], _reach(x), _reach(y)


def _reach(cell: Mapping[str, Any]) -> tuple[float, float]:
    interval = cell["over_seeds"] or cell["within_run"]
    if interval is None:
        return 0.0, 0.0
    return max(100 * (cell["mean"] - interval[0]), 0.0), max(100 * (interval[1] - cell["mean"]), 0.0)


def _front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other beats on both axes, by x."""
    kept = [p for p in points if not any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in points)]
    return sorted(set(kept))
