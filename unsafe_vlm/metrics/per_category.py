"""The base of the task metrics: states kept per category, in a fixed category order."""

from __future__ import annotations

from collections.abc import Sequence

from torchmetrics import Metric


class PerCategoryMetric(Metric):
    """A metric whose states are vectors over ``categories``; a subclass adds them in ``__init__``."""

    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    def __init__(self, categories: Sequence[str], **kwargs):
        super().__init__(**kwargs)
        if not categories or len(set(categories)) != len(categories):
            raise ValueError(f"categories must be a non-empty list without repeats, got {list(categories)}")
        self.categories = tuple(categories)
        self._index = {name: i for i, name in enumerate(self.categories)}

    def category_indices(self, categories: Sequence[str]) -> list[int]:
        """Each category's position, or a ``ValueError`` naming the ones this metric does not know."""
        unknown = sorted(set(categories) - set(self._index))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; this metric knows {list(self.categories)}")
        return [self._index[c] for c in categories]
