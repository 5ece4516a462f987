"""Whether a run's saved responses are all there: ``report`` scores a finished evaluation only.

- A line cut short by a kill (no newline at its end) is refused, naming its file and line: the
  evaluation drops it and asks again on a resume, but a report would score one answer fewer.
- A run whose ``responses/tasks.json`` records how many queries each task asks is finished when
  every task has that many answers.
- A run made before the evaluation wrote ``tasks.json`` is finished when every task with shards
  also has its merged ``<task>.jsonl`` (the evaluation merges the shards at its very end).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from unsafe_vlm.errors import UserError
from unsafe_vlm.evaluation.responses import QUERY_COUNTS_FILE, ResponseStore

Rows = Mapping[str, Sequence[Mapping[str, Any]]]


def check_finished(store: ResponseStore, rows: Rows) -> None:
    """Refuse (one line naming the file and line, or the unfinished tasks) unless every answer is saved."""
    finish = f"rerun its evaluate or fit with hydra.run.dir={store.folder.parent} to finish"
    for task in rows:
        for where in store.cut_short(task):
            raise UserError(f"{where}: cut short (no newline at its end: the run was killed writing it); {finish}")
    counts = store.query_counts()
    if counts is None:
        _check_merged(store, rows, finish)
    else:
        _check_counts(store, rows, counts, finish)


def _check_counts(store: ResponseStore, rows: Rows, counts: Mapping[str, int], finish: str) -> None:
    answered = {task: len(rows.get(task, ())) for task in counts}
    for task, n in answered.items():
        if n > counts[task]:
            raise UserError(
                f"{store.folder / QUERY_COUNTS_FILE}: says {task} asks {counts[task]} queries, "
                f"but {n} are answered; restore it or evaluate again in another hydra.run.dir"
            )
    unfinished = [f"{task} {answered[task]} of {counts[task]}" for task in counts if answered[task] < counts[task]]
    if unfinished:
        raise UserError(
            f"{store.folder}: {sum(answered.values())} of {sum(counts.values())} queries answered "
            f"({', '.join(unfinished)} unfinished); {finish}"
        )


def _check_merged(store: ResponseStore, rows: Rows, finish: str) -> None:
    unmerged = [task for task in rows if not store.merged_path(task).is_file()]
    if unmerged:
        saved = sum(len(rows[task]) for task in unmerged)
        raise UserError(
            f"{store.folder}: {', '.join(unmerged)} unfinished ({saved} answers in shards never merged "
            f"into <task>.jsonl: the evaluation stopped before its end); {finish}"
        )
