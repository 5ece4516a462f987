"""Error rows: queries whose answer (``error``: the model's request failed) or verdict
(``judge_error``: the judge's request failed) is an error, not a reading of an answer.

They are no answer at all: scores leave them out (neither right, wrong nor N/A), a resume and a
``rejudge`` ask them again, and a run that keeps more of them than ``max_error_share`` allows is
unfinished. ``metrics.json`` counts them (``errors/<task>/n``, ``errors/n``, ``errors/share``)
only when there are some, so a run without error rows writes the same keys as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from unsafe_vlm.errors import UserError

ERROR_FIELDS = ("error", "judge_error")
PREFIX = "errors"

Rows = Sequence[Mapping[str, Any]]


class UnfinishedRun(UserError):
    """A run that kept more error rows than ``max_error_share`` allows."""


def is_error_row(row: Mapping[str, Any]) -> bool:
    return any(field in row for field in ERROR_FIELDS)


def without_error_rows(rows: Rows) -> list[Mapping[str, Any]]:
    return [row for row in rows if not is_error_row(row)]


def error_counts(rows_by_task: Mapping[str, Rows]) -> dict[str, int | float]:
    """``errors/<task>/n`` of each task with error rows, ``errors/n`` and ``errors/share`` (of all
    rows); empty when there are none."""
    counts = {task: sum(map(is_error_row, rows)) for task, rows in rows_by_task.items()}
    total = sum(counts.values())
    if not total:
        return {}
    rows = sum(len(task_rows) for task_rows in rows_by_task.values())
    keyed: dict[str, int | float] = {f"{PREFIX}/{task}/n": n for task, n in counts.items() if n}
    return {**keyed, f"{PREFIX}/n": total, f"{PREFIX}/share": total / rows}


def error_summary(metrics: Mapping[str, Any]) -> str | None:
    """"3 error rows (alignment_image 2, perception 1; 12.5% of the queries)", or None without any."""
    total = metrics.get(f"{PREFIX}/n")
    if not total:
        return None
    tasks = [f"{key.split('/')[1]} {n}" for key, n in metrics.items() if key.startswith(PREFIX + "/") and
             key.count("/") == 2]  # fmt: skip
    return f"{total} error rows ({', '.join(tasks)}; {metrics[PREFIX + '/share']:.1%} of the queries)"


def check_error_share(metrics: Mapping[str, Any], max_share: float, where: Any, *, again: str) -> None:
    """Refuse (one line: how many, and ``again``: how to ask them again) a run whose share of error
    rows is above ``max_share``; its scores and report are written before, without those rows."""
    summary = error_summary(metrics)
    if summary is None or metrics[PREFIX + "/share"] <= max_share:
        return
    raise UnfinishedRun(
        f"{where}: unfinished, {summary} got no valid answer or verdict, above max_error_share={max_share:g}; "
        f"{again}"
    )


def rerun_hint(run_dir: Any) -> str:
    return f"the same command with hydra.run.dir={run_dir} asks only them again"
