"""Matplotlib figures drawn straight onto the Agg canvas: no display and no global pyplot state."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

BAR_ROW_INCHES = 0.42  # vertical room per bar row, enough for a 10 pt category name
WIDTH_INCHES = 9.0
_CLEAR = {"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85}  # reference lines pass behind labels


def bar_figure(rows: int, *, per_row: float = BAR_ROW_INCHES) -> tuple[Figure, Axes]:
    """A figure for horizontal bars, tall enough that ``rows`` labels never overlap."""
    figure = Figure(figsize=(WIDTH_INCHES, 1.8 + per_row * max(rows, 1)), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def label_bars(
    axes: Axes,
    positions: Sequence[float],
    values: Sequence[float | None],
    *,
    text,
    missing: str | Sequence[str] = "no answered responses",
    offset: float = 1.0,
    reach: Sequence[tuple[float, float]] | None = None,
) -> None:
    """Write ``text(value)`` past the end of each bar; a missing value gets the ``missing`` note at zero
    (one note for all, or one per bar).

    ``reach``: per bar, how far its error bar goes below and above the value; the label starts past
    the error bar's outer end, so that the bar's line never crosses the digits.
    """
    notes = [missing] * len(values) if isinstance(missing, str) else list(missing)
    reach = list(reach) if reach is not None else [(0.0, 0.0)] * len(values)
    for y, value, note, (below, above) in zip(positions, values, notes, reach, strict=True):
        if value is None:
            axes.text(offset, y, note, va="center", fontsize=8, color="dimgray", style="italic")
            continue
        end = value + above + offset if value >= 0 else value - below - offset
        axes.text(end, y, text(value), va="center", ha="left" if value >= 0 else "right", fontsize=8,
                  bbox=_CLEAR, zorder=4)  # fmt: skip


def legend_outside(axes: Axes, **options) -> None:
    """The legend right of the plot, where it can never hide a bar."""
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, **options)


def percent(values: Sequence[float | None]) -> list[float | None]:
    return [None if v is None else 100 * v for v in values]


def zeros_for_missing(values: Sequence[float | None]) -> list[float]:
    return [0.0 if v is None else v for v in values]


def save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path
