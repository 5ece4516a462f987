"""The relative score of answers scored against reference answers (LLaVABench), summable across processes.

Definitions over the responses whose two scores the judge gave (S of N; the rest are N/A: a reply
it could not read, or no answer at all):

- ``relative_score`` = sum of the answers' scores / sum of the reference answers' scores (VLMEvalKit
  reports it x100); per category too;
- ``answer_score``, ``reference_score``: the mean score (1-10) of each;
- ``na_rate`` = (N - S) / N, ``n`` = N, ``n_answered`` = S; per category ``n/<Category>``, ``na_rate/<Category>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from unsafe_vlm.metrics.per_category import PerCategoryMetric
from unsafe_vlm.metrics.task_accuracy import safe_ratio


class RelativeScore(PerCategoryMetric):
    """Per category: summed scores of the answers and of the references, scored and total responses."""

    def __init__(self, categories: Sequence[str], **kwargs):
        super().__init__(categories, **kwargs)
        for state in ("answer_sum", "reference_sum"):
            self.add_state(state, default=torch.zeros(len(self.categories), dtype=torch.float64), dist_reduce_fx="sum")
        for state in ("scored", "total"):
            self.add_state(state, default=torch.zeros(len(self.categories), dtype=torch.long), dist_reduce_fx="sum")

    def update(
        self, answer_scores: Sequence[float | None], reference_scores: Sequence[float | None], categories: Sequence[str]
    ) -> None:
        """Add each response's two scores (None for both where it is N/A) and its category."""
        if not len(answer_scores) == len(reference_scores) == len(categories):
            raise ValueError(f"{len(answer_scores)} answer scores, {len(reference_scores)} reference scores, "
                             f"{len(categories)} categories")  # fmt: skip
        indices = self.category_indices(categories)
        for answer, reference, i in zip(answer_scores, reference_scores, indices, strict=True):
            self.total[i] += 1
            if answer is not None and reference is not None:
                self.scored[i] += 1
                self.answer_sum[i] += float(answer)
                self.reference_sum[i] += float(reference)

    def update_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.update([r.get("answer_score") for r in rows], [r.get("reference_score") for r in rows],
                    [r["category"] for r in rows])  # fmt: skip

    def compute(self) -> dict[str, torch.Tensor]:
        answer, reference, scored, total = self.answer_sum, self.reference_sum, self.scored, self.total
        result = {
            "relative_score": safe_ratio(answer.sum(), reference.sum()),
            "answer_score": safe_ratio(answer.sum(), scored.sum()),
            "reference_score": safe_ratio(reference.sum(), scored.sum()),
            "na_rate": safe_ratio(total.sum() - scored.sum(), total.sum()),
            "n": total.sum(),
            "n_answered": scored.sum(),
        }
        for i, name in enumerate(self.categories):
            result[f"relative_score/{name}"] = safe_ratio(answer[i], reference[i])
            result[f"na_rate/{name}"] = safe_ratio(total[i] - scored[i], total[i])
            result[f"n/{name}"] = total[i].clone()
        return result
