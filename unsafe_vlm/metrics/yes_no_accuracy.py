"""Accuracy of answers to yes/no questions (MME), where a response with no usable answer is wrong.

On top of ``TaskAccuracy``'s counts, ``compute`` gives:

- ``accuracy`` = R / N: right answers over all responses (N/A counts as wrong, as in MME's
  own scoring, so a model that stops answering loses capability); per category too;
- ``answered_accuracy`` = R / A: over the responses judged Yes or No;
- ``na_rate``, ``n``, ``n_answered`` as in ``TaskAccuracy``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from unsafe_vlm.metrics.task_accuracy import TaskAccuracy, safe_ratio

GOLD_ANSWERS = ("Yes", "No")


class YesNoAccuracy(TaskAccuracy):
    """``TaskAccuracy`` with N/A counted as wrong in ``accuracy``; states are sums (DDP adds them)."""

    def update(self, predictions: Sequence[str], targets: Sequence[str], categories: Sequence[str]) -> None:
        wrong = sorted(set(targets) - set(GOLD_ANSWERS))
        if wrong:
            raise ValueError(f"yes/no gold labels must be Yes or No, got {wrong}")
        super().update(predictions, targets, categories)

    def compute(self) -> dict[str, torch.Tensor]:
        result = super().compute()
        result["answered_accuracy"] = result["accuracy"]
        result["accuracy"] = result.pop("strict_accuracy")
        for i, name in enumerate(self.categories):
            result[f"accuracy/{name}"] = safe_ratio(self.right[i], self.total[i])
        return result
