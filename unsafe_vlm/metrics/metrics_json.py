"""The flat ``metrics.json`` of an evaluation run: built from computed scores, written and read here only.

Keys are ``<prefix>/<name>`` from each task's ``compute()`` result, the prefix being the task's
(``data.tasks.Task.prefix``): ``perception/accuracy``, ``alignment_image/strict_accuracy``,
``alignment_test/balanced_accuracy``, ``alignment_text/accuracy/Self-harm``, ``perception/n``,
``alignment_test/text_quality`` (1 - self-BLEU; ``safe_text_quality`` and ``unsafe_text_quality``
per gold label: no ``/``, which marks a per-category score), ... plus ``modality_gap`` and
``modality_gap/<Category>`` when both ``alignment_text`` and ``alignment_image`` ran, and
``context_modality_gap`` when both context tasks ran; the yes/no tasks also give MME's scores
(``capability/accuracy_plus``, ``n_paired_images``, ...). Data sets outside the benchmark are keyed
by their task's group and their name: ``generalization/smid/balanced_accuracy``,
``generalization/smid/text_quality``, ``general/mme/accuracy/<category>``,
``general/mme/substring_accuracy``, ``general/mme/accuracy_plus``, ``general/llavabench/relative_score``;
they come after the tasks keyed by name (in the order of ``data.tasks.TASKS``), sorted.
``ci95/<key>/low`` and ``ci95/<key>/high`` bound each headline score's 95% bootstrap interval. A model
behind an API adds ``api/prompt_tokens``, ``api/completion_tokens``, ``api/error_rows`` and
``api/rows_without_usage``; a run with error rows (``metrics.error_rows``) adds ``errors/<task>/n``,
``errors/n`` and ``errors/share``; the last keys name the judge: ``judge/name``, ``judge/class`` and what
identifies its reading (``judge/rules_sha256``, ``judge/alignment_sha256``, ...), as text. Tasks that did not run
are absent, and so are the per-category keys of a category with no responses in that task.
Counts are ints; an undefined value (NaN: no responses to divide by) is None, written as JSON
null, because JSON has no NaN.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from unsafe_vlm.data.files import write_atomically
from unsafe_vlm.data.tasks import TASKS
from unsafe_vlm.errors import UserError
from unsafe_vlm.metrics.modality_gap import context_modality_gap, modality_gap

METRICS_FILE = "metrics.json"
BEFORE_FILE = "metrics_before.json"
_COUNTS = ("n", "n_answered", "n_paired_images")

Results = Mapping[str, Mapping[str, torch.Tensor | float]]
"""Score prefix (a task's name, or ``<group>/<name>`` for a set outside the benchmark) -> its ``compute()`` result."""


def metrics_json(
    results: Results,
    usage: Mapping[str, int] | None = None,
    *,
    judge: Mapping[str, str] | None = None,
    intervals: Mapping[str, float | None] | None = None,
    errors: Mapping[str, int | float] | None = None,
) -> dict[str, float | int | str | None]:
    """Flatten computed task results (and the modality gap) into one JSON-ready dict; then the
    headline scores' ``intervals`` (``metrics.intervals``: ``ci95/<key>/low|high``), ``usage``
    (``metrics.api_usage``: the tokens and error rows of a model behind an API), the ``errors``
(``metrics.error_rows``: empty without error rows) and the ``judge``'s
    identity (``judges.identity``: its name, class, and rules' or weights' sha256)."""
    present = {prefix: _seen_categories_only(result) for prefix, result in results.items()}
    flat: dict[str, float | int | None] = {}
    for prefix in sorted(present, key=_order):
        for key, value in present[prefix].items():
            flat[f"{prefix}/{key}"] = _plain(key, value)
    if "alignment_text" in present and "alignment_image" in present:
        flat.update(modality_gap(present["alignment_text"], present["alignment_image"]))
    if "context_text" in present and "context_image" in present:
        flat.update(context_modality_gap(present["context_text"], present["context_image"]))
    flat.update(intervals or {})
    flat.update(usage or {})
    flat.update(errors or {})
    flat.update({f"judge/{key}": value for key, value in (judge or {}).items()})
    return flat


def write_metrics(path: str | Path, metrics: Mapping[str, Any]) -> None:
    """Write a flat metrics dict as ``metrics.json`` is written (atomically: a reader never sees half a file)."""
    write_atomically(Path(path), json.dumps(dict(metrics), indent=2, allow_nan=False) + "\n")


def read_metrics(path: Path, *, missing_ok: bool = False) -> dict[str, Any] | None:
    """The file as a dict (None if it is absent and ``missing_ok``); a bad file names itself."""
    if not path.is_file():
        if missing_ok:
            return None
        raise UserError(f"{path}: no such file")
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(metrics, dict):
        raise UserError(f"{path}: expected one JSON object of metric names to values")
    return metrics


def _order(prefix: str) -> tuple[int, str]:
    """Tasks keyed by their name in table order, then the other prefixes (``<group>/<name>``) by name."""
    names = list(TASKS)
    return (names.index(prefix) if prefix in TASKS else len(names)), prefix


def _seen_categories_only(result: Mapping[str, torch.Tensor | float]) -> dict[str, torch.Tensor | float]:
    """Drop the per-category keys of categories with no responses."""
    unseen = {key.removeprefix("n/") for key, value in result.items() if key.startswith("n/") and int(value) == 0}
    return {key: value for key, value in result.items() if "/" not in key or key.split("/", 1)[1] not in unseen}


def _plain(key: str, value: torch.Tensor | float) -> float | int | None:
    if key.split("/", 1)[0] in _COUNTS:
        return int(value)
    number = float(value)
    return None if math.isnan(number) else number
