"""MME's accuracy+: the share of images whose every question was answered right.

A model that answers "Yes" to everything gets half of the questions of an image asked once with
gold Yes and once with gold No right, and no image right: accuracy+ tells knowing from guessing.
N/A is wrong, as in ``YesNoAccuracy``. Not a sum of counts (an image's questions may sit on
different DDP ranks), so every rank computes it from all the rows, as ``text_quality`` is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def accuracy_plus(rows: Sequence[Mapping[str, Any]]) -> dict[str, float | int]:
    """``accuracy_plus`` over the images of ``rows`` (grouped by ``image``; NaN when there are none)
    and ``n_images``."""
    all_right: dict[Any, bool] = {}
    for row in rows:
        all_right[row["image"]] = all_right.get(row["image"], True) and row["judged"] == row["gold"]
    whole = sum(all_right.values())
    return {"accuracy_plus": whole / len(all_right) if all_right else float("nan"), "n_images": len(all_right)}
