"""Match a classifier's own label list to the suite's class order."""

from __future__ import annotations

import re
from collections.abc import Sequence

from unsafe_vlm.judges.errors import JudgeError


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).casefold())  # "N/A", "n-a", "NA" -> "na"


def names_classes(labels: Sequence[str], classes: Sequence[str]) -> bool:
    """True if ``labels`` is some ordering of ``classes`` (spelling of N/A, case and punctuation aside)."""
    return sorted(map(_key, labels)) == sorted(map(_key, classes))


def column_order(labels: Sequence[str], classes: Sequence[str], key: str) -> list[int]:
    """Columns to take from a head whose outputs are ``labels`` so they come out in ``classes`` order.

    ``probs_head[:, column_order(...)]`` has its columns in ``classes`` order.
    """
    labels = list(labels)
    if not names_classes(labels, classes):
        raise JudgeError(f"judge.{key} must list each of {', '.join(classes)} once, in the head's order; got {labels}")
    position = {_key(name): index for index, name in enumerate(labels)}
    return [position[_key(name)] for name in classes]
