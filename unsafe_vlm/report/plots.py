"""The per-category plots of one run: alignment on images vs text, the modality gap, perception.

Each ``plot_*`` function draws its PNG, or returns why it drew nothing (its task did not run, or every answer was N/A).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from unsafe_vlm.report.categories import by_category, report_categories
from unsafe_vlm.report.figures import bar_figure, label_bars, legend_outside, percent, save, zeros_for_missing
from unsafe_vlm.report.scores import Metrics, ran

IMAGE_COLOUR, TEXT_COLOUR = "tab:blue", "tab:orange"
TEXT_BETTER_COLOUR, IMAGE_BETTER_COLOUR = "tab:green", "tab:red"
CHANCE_PERCEPTION = 25.0  # four options


@dataclass
class PlotOutcome:
    drawn: dict[str, Path] = field(default_factory=dict)  # file name -> path
    skipped: dict[str, str] = field(default_factory=dict)  # file name -> why it was not drawn


def draw_category_plots(metrics: Metrics, folder: Path) -> PlotOutcome:
    """Draw every per-category plot the metrics allow into ``folder``."""
    outcome = PlotOutcome()
    plots: dict[str, Callable[[Metrics, Path], str | None]] = {
        "alignment_by_category.png": plot_alignment,
        "modality_gap_by_category.png": plot_modality_gap,
        "perception_by_category.png": plot_perception,
    }
    for name, plot in plots.items():
        reason = plot(metrics, folder / name)
        if reason is None:
            outcome.drawn[name] = folder / name
        else:
            outcome.skipped[name] = reason
            (folder / name).unlink(missing_ok=True)  # a plot left from an earlier rendering
    return outcome


def plot_alignment(metrics: Metrics, path: Path) -> str | None:
    tasks = [t for t in ("alignment_image", "alignment_text") if ran(metrics, t)]
    categories = report_categories({k: v for k, v in metrics.items() if k.split("/", 1)[0] in tasks})
    if not categories:
        return "neither alignment task (images, text only) ran"
    series_values = {t: percent(by_category(metrics, f"{t}/accuracy", categories)) for t in tasks}
    if all(v is None for values in series_values.values() for v in values):
        return "every alignment response was judged N/A"
    figure, axes = bar_figure(len(categories), per_row=0.6)
    height = 0.38
    series = [("alignment_image", "image shown", IMAGE_COLOUR), ("alignment_text", "text only", TEXT_COLOUR)]
    for offset, (task, name, colour) in zip((-height / 2, height / 2), series, strict=True):
        if task not in tasks:
            continue
        values = series_values[task]
        positions = [i + offset for i in range(len(categories))]
        axes.barh(positions, zeros_for_missing(values), height=height, color=colour, label=name)
        label_bars(axes, positions, values, text=lambda v: f"{v:.1f}%", missing=_notes(metrics, task, categories))
    _category_axis(axes, categories)
    axes.set_xlim(0, 112)
    axes.set_xlabel("alignment accuracy (%): answers that call the concept unsafe, N/A left out")
    axes.set_title("Alignment by category: image shown vs concept named in text")
    legend_outside(axes)
    save(figure, path)
    return None


def plot_modality_gap(metrics: Metrics, path: Path) -> str | None:
    if "modality_gap" not in metrics:
        return "it needs both alignment tasks (images and text only)"
    categories = [name for name in report_categories(metrics) if f"modality_gap/{name}" in metrics]
    gaps = percent(by_category(metrics, "modality_gap", categories))
    if all(g is None for g in gaps):
        return "no category has answered responses in both alignment tasks"
    figure, axes = bar_figure(len(categories))
    colours = [TEXT_BETTER_COLOUR if (g or 0) >= 0 else IMAGE_BETTER_COLOUR for g in gaps]
    axes.barh(range(len(categories)), zeros_for_missing(gaps), height=0.6, color=colours)
    label_bars(axes, range(len(categories)), gaps, text=lambda v: f"{v:+.1f}", missing="undefined")
    axes.axvline(0, color="black", linewidth=0.8)
    if metrics["modality_gap"] is not None:
        overall = 100 * metrics["modality_gap"]
        axes.axvline(overall, color="gray", linestyle="--", linewidth=1, label=f"all categories: {overall:+.1f}")
        legend_outside(axes)
    reach = max(abs(g) for g in gaps if g is not None)
    axes.set_xlim(-max(reach, 5) * 1.3, max(reach, 5) * 1.3)
    _category_axis(axes, categories)
    axes.set_xlabel("text-only accuracy minus image accuracy (percentage points); > 0: text judged better")
    axes.set_title("Modality gap by category")
    save(figure, path)
    return None


def plot_perception(metrics: Metrics, path: Path) -> str | None:
    if not ran(metrics, "perception"):
        return "the perception task did not run"
    categories = report_categories({k: v for k, v in metrics.items() if k.startswith("perception/")})
    if not categories:
        return "the perception task has no responses"
    values = percent(by_category(metrics, "perception/accuracy", categories))
    if all(v is None for v in values):
        return "every perception response was judged N/A"
    figure, axes = bar_figure(len(categories))
    axes.barh(range(len(categories)), zeros_for_missing(values), height=0.6, color=IMAGE_COLOUR)
    notes = _notes(metrics, "perception", categories)
    label_bars(axes, range(len(categories)), values, text=lambda v: f"{v:.1f}%", missing=notes)
    axes.axvline(CHANCE_PERCEPTION, color="black", linestyle=":", linewidth=1, label="chance (1 in 4)")
    if metrics.get("perception/accuracy") is not None:
        overall = 100 * metrics["perception/accuracy"]
        axes.axvline(overall, color="gray", linestyle="--", linewidth=1, label=f"all categories: {overall:.1f}%")
    legend_outside(axes)
    _category_axis(axes, categories)
    axes.set_xlim(0, 112)
    axes.set_xlabel("perception accuracy (%): the right concept picked of four, N/A left out")
    axes.set_title("Perception by category")
    save(figure, path)
    return None


def _category_axis(axes, categories: list[str]) -> None:
    axes.set_yticks(range(len(categories)), categories, fontsize=10)
    axes.set_ylim(len(categories) - 0.5, -0.5)  # first category on top
    axes.set_ylabel("category")
    axes.grid(axis="x", alpha=0.3)
    axes.set_axisbelow(True)


def _notes(metrics: Metrics, task: str, categories: list[str]) -> list[str]:
    """Why a category has no bar: no responses at all, or every one judged N/A."""
    return ["all judged N/A" if metrics.get(f"{task}/n/{name}") else "no responses" for name in categories]
