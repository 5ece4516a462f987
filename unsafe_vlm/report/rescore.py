"""Scores recomputed from a run's saved responses, the same way the evaluation computed them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unsafe_vlm.data.tasks import TASKS
from unsafe_vlm.errors import UserError
from unsafe_vlm.evaluation.responses import ResponseStore
from unsafe_vlm.judges.identity import saved_identity
from unsafe_vlm.metrics.api_usage import api_usage
from unsafe_vlm.metrics.error_rows import error_counts
from unsafe_vlm.metrics.intervals import headline_intervals
from unsafe_vlm.metrics.metrics_json import BEFORE_FILE, metrics_json, read_metrics
from unsafe_vlm.metrics.scoring import ordered_categories, score_responses
from unsafe_vlm.report.finished import check_finished
from unsafe_vlm.report.run_folders import check_not_a_folder_of_runs

AFTER, BEFORE = "responses", "responses_before"  # a fit run evaluates before training and after
SCORED_FIELDS = ("judged", "gold", "category")


@dataclass
class RunScores:
    run_dir: Path
    metrics: dict[str, Any]
    before: dict[str, Any] | None  # from responses_before/ (or metrics_before.json) of a fit run
    before_rescored: bool  # True: ``before`` was recomputed and metrics_before.json needs rewriting


def rescore_run(run_dir: str | Path) -> RunScores:
    """Recompute a run's metrics (and its before-training metrics, if any) from its responses."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: {'not a directory' if run_dir.exists() else 'no such directory'}")
    after_rows, before_rows = load_task_rows(run_dir / AFTER), load_task_rows(run_dir / BEFORE)
    if not after_rows:
        if not before_rows:
            check_not_a_folder_of_runs(run_dir)
        where = f" (only {BEFORE}/: the run stopped before training finished?)" if before_rows else ""
        raise UserError(f"{run_dir}: no saved responses in {AFTER}/<task>.jsonl, task one of {', '.join(TASKS)}{where}")
    metrics = rescore(run_dir / AFTER, after_rows)
    if before_rows:
        return RunScores(run_dir, metrics, rescore(run_dir / BEFORE, before_rows), before_rescored=True)
    return RunScores(run_dir, metrics, read_metrics(run_dir / BEFORE_FILE, missing_ok=True), before_rescored=False)


def load_task_rows(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Saved rows per task, for each task with a merged file or shards in ``folder``; refused
    unless the evaluation that wrote them finished (``report.finished``)."""
    store = ResponseStore(folder.parent, name=folder.name)
    rows = {}
    for task in TASKS:
        if store.merged_path(task).is_file() or any(folder.glob(f"{task}.rank*.jsonl")):
            rows[task] = store.load(task)
            _check_fields(store.merged_path(task), rows[task])
    check_finished(store, rows)
    return rows


def rescore(folder: Path, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    settings = _saved_settings(folder)
    holdout = list(settings.get("data.holdout_concepts") or [])
    try:
        results = score_responses(rows, ordered_categories(rows), holdout_concepts=holdout)
    except ValueError as error:  # an unknown gold label, say
        raise UserError(f"{folder}: cannot score the responses: {error}") from None
    intervals = headline_intervals(rows)
    return metrics_json(
        results, api_usage(rows), judge=saved_identity(settings), intervals=intervals, errors=error_counts(rows)
    )


def _saved_settings(folder: Path) -> dict[str, Any]:
    """The settings saved beside the responses (the concepts held out of training, the judge's identity)."""
    path = folder / "config.json"
    if not path.is_file():
        return {}
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error})") from None
    return settings if isinstance(settings, dict) else {}


def _check_fields(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    for row in rows:
        for name in SCORED_FIELDS:
            if not isinstance(row.get(name), str):
                raise UserError(f"{path}: response {row['id']!r} needs a string {name!r} field to be scored")
