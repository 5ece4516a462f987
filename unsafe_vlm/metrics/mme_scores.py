"""MME's other scores, from the saved rows of a yes/no set: the paper's substring match and accuracy+.

- ``substring_accuracy``: a response is right when it holds the gold answer ("Yes" or "No") as
  a substring, case as written (the paper's code tests ``gold in response``: "yes" does not hold
  "Yes", "Nothing" holds "No", and an answer holding both is right either way); over all
  questions (error rows never reach it: ``score_responses`` leaves them out); per category too.
- ``accuracy_plus``: MME's accuracy+, the share of images whose questions (MME asks two per
  image) are all right under the judge's reading (N/A wrong), over the images asked at least two
  questions; ``substring_accuracy_plus`` the same under the substring match; ``n_paired_images``
  how many images that is. Rows share an image when their ``image`` names are equal.

Not counts summed across DDP ranks: every rank computes them from all the rows (a pair may fall
on two ranks), so every rank gets the same value. Undefined (NaN) with nothing to divide by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Rows = Sequence[Mapping[str, Any]]


def substring_right(row: Mapping[str, Any]) -> bool:
    response = row.get("response")
    return response is not None and row["gold"] in response


def judged_right(row: Mapping[str, Any]) -> bool:
    return row["judged"] == row["gold"]


def mme_scores(rows: Rows) -> dict[str, float]:
    """The scores above, overall and per category (a set without categories, "", gets none)."""
    scores = _scores(rows)
    for category in sorted({row["category"] for row in rows} - {""}):
        mine = [row for row in rows if row["category"] == category]
        scores.update({f"{key}/{category}": value for key, value in _scores(mine).items()})
    return scores


def _scores(rows: Rows) -> dict[str, float]:
    by_image: dict[Any, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_image.setdefault(row.get("image"), []).append(row)
    paired = [group for group in by_image.values() if len(group) >= 2]
    return {
        "substring_accuracy": _share([substring_right(row) for row in rows]),
        "accuracy_plus": _share([all(map(judged_right, group)) for group in paired]),
        "substring_accuracy_plus": _share([all(map(substring_right, group)) for group in paired]),
        "n_paired_images": float(len(paired)),
    }


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")
