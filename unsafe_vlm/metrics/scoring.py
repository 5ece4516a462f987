"""Scores from saved responses, with torchmetrics (summed across DDP ranks in ``compute``).

Each task is scored by the metric its ``data.tasks`` entry names (``METRICS``) and keyed by
its prefix: a task's name, or, for a task with a ``group`` (the sets outside the benchmark),
``<group>/<name>``, ``name`` being the data set's name saved in each response's ``dataset``
field: ``generalization/smid``, ``general/mme``. Their categories come from their own rows,
and a set without categories ("") gets no per-category scores.

A task marked ``text_quality`` in the table (the balanced test split, the image-safety sets) also
gets ``text_quality`` = 1 - self-BLEU of its answers (``metrics.self_bleu``), and, on a balanced set,
``safe_text_quality`` and ``unsafe_text_quality`` over the answers of each gold class. Self-BLEU is
not a sum of counts: every rank computes it from all the rows (the same rows on every rank, and an
order-free mean), so every rank gets the same value. Error rows (``metrics.error_rows``: no answer or
no verdict came) are left out of every score; an empty answer counts. Fewer than two answers:
undefined (NaN, null in metrics.json).
A yes/no set (MME) also gets ``metrics.mme_scores`` (the paper's substring match, accuracy+), from
all its rows in the same way. A set scored against reference answers (LLaVABench) gets its relative
score (``metrics.relative_score``) from the judge's two scores of each response. A safety set (metric
``rate``) gets its task's rates (``metrics.safety_rates``), and from all its rows their breakdown by
variant and the modality gaps of a set asked as text too.

The yes/no tasks on the benchmark's images (``capability``: two questions per image) get the
same scores as MME; their accuracy+ is the share of images with both questions right.

With concepts held out of alignment training (``data.holdout_concepts``), the balanced test
split is also scored on its held-out concepts alone and on the rest:
``generalization/held_out_concepts/...`` and ``generalization/trained_concepts/...``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from unsafe_vlm.data.tasks import TASKS, get_task
from unsafe_vlm.data.taxonomy import SAFE_CATEGORY, published_taxonomy
from unsafe_vlm.metrics.alignment_test import GOLD_CLASSES, AlignmentTestAccuracy
from unsafe_vlm.metrics.error_rows import without_error_rows
from unsafe_vlm.metrics.metrics_json import Results
from unsafe_vlm.metrics.mme_scores import mme_scores
from unsafe_vlm.metrics.relative_score import RelativeScore
from unsafe_vlm.metrics.safety_rates import SafetyRates, variant_scores
from unsafe_vlm.metrics.self_bleu import text_quality
from unsafe_vlm.metrics.task_accuracy import TaskAccuracy
from unsafe_vlm.metrics.yes_no_accuracy import YesNoAccuracy

METRICS: dict[str, type[TaskAccuracy] | type[RelativeScore]] = {
    "accuracy": TaskAccuracy,
    "balanced": AlignmentTestAccuracy,
    "yes_no": YesNoAccuracy,
    "relative": RelativeScore,
}
"""The metric of each ``data.tasks.MetricKind``."""
ROW_SCORES = {"yes_no": mme_scores}
"""Scores of a metric kind computed from all the rows at once (not summed across ranks), beside its metric's."""
HOLDOUT_GROUP = TASKS["image_safety"].group  # held-out concepts are scored as a generalisation set


def ordered_categories(rows_by_task: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """The category order of every score: the published ones, Safe, then any others seen, sorted."""
    known = [*published_taxonomy().categories, SAFE_CATEGORY]
    seen = {row["category"] for rows in rows_by_task.values() for row in rows}
    return [*known, *sorted(seen - set(known))]


def task_metric(task: str, categories: Sequence[str]) -> TaskAccuracy | RelativeScore | SafetyRates:
    """The metric of a task: balanced sets also get balanced accuracy and recalls; yes/no sets count N/A wrong;
    sets scored against reference answers get their relative score; safety sets their rates."""
    spec = get_task(task)
    if spec.metric == "rate":
        return SafetyRates(categories, spec.rates, spec.means)
    return METRICS[spec.metric](categories)


def score_responses(
    rows_by_task: Mapping[str, Sequence[Mapping[str, Any]]],
    categories: Sequence[str],
    *,
    rank: int = 0,
    world_size: int = 1,
    holdout_concepts: Collection[str] = (),
) -> Results:
    """Each task's ``compute()`` result over all its rows.

    Under DDP every rank passes the same rows and counts its own ``rank::world_size`` slice;
    ``compute`` then sums the counts of all ranks, so every row counts once. A task keyed by
    its data set's name with no rows is left out (it has no name to key its scores by). Error rows
    (``metrics.error_rows``) are left out entirely: they are no answer, neither right, wrong nor N/A.
    """
    results = {}
    rows_by_task = {task: without_error_rows(rows) for task, rows in rows_by_task.items()}
    for task, rows in rows_by_task.items():
        mine = rows[rank::world_size]
        if get_task(task).group is not None:
            if rows:
                results[score_key(task, rows)] = {
                    **_own_categories_score(task, rows, mine), **_whole_set_scores(task, rows)
                }
            continue
        metric = task_metric(task, categories)
        metric.update_rows(mine)
        results[task] = {**metric.compute(), **_whole_set_scores(task, rows)}
    if holdout_concepts and "alignment_test" in rows_by_task:
        results.update(_holdout_scores(list(rows_by_task["alignment_test"]), set(holdout_concepts), rank, world_size))
    return results


def _holdout_scores(rows: Sequence[Mapping[str, Any]], holdout: set[str], rank: int, world_size: int) -> Results:
    """The balanced test split scored on held-out concepts and on trained ones, each sliced by rank."""
    parts = {
        "held_out_concepts": [r for r in rows if r["concept"] in holdout],
        "trained_concepts": [r for r in rows if r["concept"] not in holdout],
    }
    return {
        f"{HOLDOUT_GROUP}/{name}": {
            **_own_categories_score("alignment_test", part, part[rank::world_size]),
            **_whole_set_scores("alignment_test", part),
        }
        for name, part in parts.items()
    }


def score_key(task: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """``<group>/<name>`` of a task keyed by its data set, from its rows' ``dataset`` field."""
    names = sorted({str(r.get("dataset")) for r in rows})
    if len(names) != 1 or names[0] == "None":
        raise ValueError(f"{task} responses must all name one data set in 'dataset', got {names}")
    return get_task(task).prefix(names[0])


def _own_categories_score(task: str, rows: Sequence[Mapping[str, Any]], mine: Sequence[Mapping[str, Any]]) -> dict:
    metric = task_metric(task, sorted({r["category"] for r in rows}))
    metric.update_rows(mine)
    return {key: value for key, value in metric.compute().items() if not key.endswith("/")}


def text_quality_scores(rows: Sequence[Mapping[str, Any]], *, by_gold: bool = False) -> dict[str, float]:
    """``text_quality`` of the rows' answers and, ``by_gold``, ``safe_text_quality`` and
    ``unsafe_text_quality``; error rows (no answer) left out; NaN where fewer than two answers."""
    answered = [r for r in rows if r.get("response") is not None]
    scores = {"text_quality": _or_nan(text_quality([r["response"] for r in answered]))}
    if by_gold:
        for gold in GOLD_CLASSES:
            texts = [r["response"] for r in answered if r["gold"] == gold]
            scores[f"{gold.lower()}_text_quality"] = _or_nan(text_quality(texts))
    return scores


def _whole_set_scores(task: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Text quality (tasks marked so) and the metric kind's ``ROW_SCORES``, from all the rows."""
    spec = get_task(task)
    scores = text_quality_scores(rows, by_gold=spec.metric == "balanced") if spec.text_quality else {}
    row_scores = ROW_SCORES.get(spec.metric)
    if spec.metric == "rate":
        scores.update(variant_scores(rows, spec.rates))
    return {**scores, **(row_scores(rows) if row_scores is not None else {})}


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else value
