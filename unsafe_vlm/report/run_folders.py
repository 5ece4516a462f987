"""A folder that holds runs rather than being one (``outputs/fit``): which runs are in it."""

from __future__ import annotations

from pathlib import Path

from unsafe_vlm.errors import UserError
from unsafe_vlm.metrics.metrics_json import METRICS_FILE

SHOWN = 12  # runs named in the message; the rest are counted


def runs_inside(folder: Path) -> list[Path]:
    """The sub-folders of ``folder`` that are runs (a ``metrics.json`` or a ``responses/``), by name."""
    return sorted(
        (child for child in folder.iterdir() if (child / METRICS_FILE).is_file() or (child / "responses").is_dir()),
        key=lambda child: child.name,
    )


def check_not_a_folder_of_runs(folder: Path) -> None:
    """Refuse, in one line listing them, a folder whose sub-folders are runs: name one of them."""
    runs = runs_inside(folder) if folder.is_dir() else []
    if not runs:
        return
    names = [run.name for run in runs[-SHOWN:]]
    more = f"{len(runs) - SHOWN} older and " if len(runs) > SHOWN else ""
    raise UserError(
        f"{folder}: not a run but a folder of {len(runs)} run(s): {more}{', '.join(names)}; "
        f"name one, e.g. python -m unsafe_vlm report {runs[-1]}"
    )
