"""The flat ``metrics.json`` of an evaluation run.

Keys are ``<task>/<name>`` from each task's ``compute()`` result: ``perception/accuracy``,
``alignment_image/strict_accuracy``, ``alignment_test/balanced_accuracy``,
``alignment_text/accuracy/Self-harm``, ``perception/n``, ... plus ``modality_gap`` and
``modality_gap/<Category>`` when both ``alignment_text`` and ``alignment_image`` ran.
Data sets outside the benchmark are keyed by the group of their task and their name
(``SCORE_GROUPS``): ``generalization/smid/balanced_accuracy``, ``generalization/smid/unsafe_recall``,
``general/mme/accuracy``, ``general/mme/accuracy/<category>``; they come after the benchmark's.
Tasks that did not run are absent, and so are the per-category keys of a category with no
responses in that task. Counts are ints; an undefined value (NaN: no responses to divide
by) is None, written as JSON null, because JSON has no NaN.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import torch

from unsafe_vlm.metrics.modality_gap import modality_gap

BENCHMARK_TASKS = ("perception", "alignment_image", "alignment_text", "alignment_test")
SCORE_GROUPS = {"image_safety": "generalization", "mme": "general"}
"""Tasks of data sets outside the benchmark -> the group their scores are keyed under."""
TASKS = (*BENCHMARK_TASKS, *SCORE_GROUPS)
_COUNTS = ("n", "n_answered")

Results = Mapping[str, Mapping[str, torch.Tensor | float]]
"""Task name (or ``<group>/<name>`` for a set outside the benchmark) -> its ``compute()`` result."""


def metrics_json(results: Results) -> dict[str, float | int | None]:
    """Flatten computed task results (and the modality gap) into one JSON-ready dict."""
    present = {task: _seen_categories_only(result) for task, result in results.items()}
    flat: dict[str, float | int | None] = {}
    for task in sorted(present, key=lambda t: (TASKS.index(t) if t in TASKS else len(TASKS), t)):
        for key, value in present[task].items():
            flat[f"{task}/{key}"] = _plain(key, value)
    if "alignment_text" in present and "alignment_image" in present:
        flat.update(modality_gap(present["alignment_text"], present["alignment_image"]))
    return flat


def write_metrics_json(path: str | Path, results: Results) -> dict[str, float | int | None]:
    """Write ``metrics_json(results)`` to ``path`` and return it."""
    metrics = metrics_json(results)
    Path(path).write_text(json.dumps(metrics, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return metrics


def _seen_categories_only(result: Mapping[str, torch.Tensor | float]) -> dict[str, torch.Tensor | float]:
    """Drop the per-category keys of categories with no responses."""
    unseen = {key.removeprefix("n/") for key, value in result.items() if key.startswith("n/") and int(value) == 0}
    return {key: value for key, value in result.items() if "/" not in key or key.split("/", 1)[1] not in unseen}


def _plain(key: str, value: torch.Tensor | float) -> float | int | None:
    if key.split("/", 1)[0] in _COUNTS:
        return int(value)
    number = float(value)
    return None if math.isnan(number) else number
