"""MME's substring match and accuracy+ from saved rows, against hand-worked values, and their intervals."""

from __future__ import annotations

import math

import pytest

from unsafe_vlm.metrics.intervals import headline_intervals
from unsafe_vlm.metrics.metrics_json import metrics_json
from unsafe_vlm.metrics.mme_scores import mme_scores
from unsafe_vlm.metrics.scoring import score_responses


def row(image: str, gold: str, response: str | None, judged: str, category: str = "") -> dict:
    return {"id": f"mme/{image}/{gold}/{response}", "task": "mme", "image": image, "gold": gold,
            "response": response, "judged": judged, "category": category, "dataset": "mme"}  # fmt: skip


ROWS = [
    row("a", "Yes", "Yes, there is.", "Yes", "color"),  # a: both right either way
    row("a", "No", "No.", "No", "color"),
    row("b", "Yes", "yes", "Yes", "color"),  # lower case: the judge reads it, the substring does not
    row("b", "No", "Nothing like that. No.", "No", "color"),
    row("c", "Yes", "No, Yes", "N/A", "count"),  # holds both: the substring match calls it right
    row("c", "No", None, "N/A", "count"),  # an error row: wrong under both
    row("d", "No", "Not at all", "Yes", "count"),  # misread; "Not" holds "No"; d is asked one question only
]


def test_substring_accuracy_and_accuracy_plus_by_hand():
    scores = mme_scores(ROWS)
    assert scores["substring_accuracy"] == pytest.approx(5 / 7)  # all but b's "yes" and c's error row
    assert scores["accuracy_plus"] == pytest.approx(2 / 3)  # a and b right, c not; d has no pair
    assert scores["substring_accuracy_plus"] == pytest.approx(1 / 3)  # only a
    assert scores["n_paired_images"] == 3
    assert scores["substring_accuracy/color"] == pytest.approx(3 / 4)
    assert scores["substring_accuracy/count"] == pytest.approx(2 / 3)
    assert scores["accuracy_plus/count"] == 0.0 and scores["n_paired_images/count"] == 1


def test_without_pairs_accuracy_plus_is_undefined_and_a_set_without_categories_has_none():
    scores = mme_scores([row("a", "Yes", "Yes", "Yes"), row("b", "No", "No", "No")])
    assert math.isnan(scores["accuracy_plus"]) and scores["n_paired_images"] == 0
    assert scores["substring_accuracy"] == 1.0
    assert not any("/" in key for key in scores)


def test_the_scores_go_in_metrics_json_beside_the_judges_accuracy_with_intervals():
    copies = [{**r, "id": f"{r['id']}/{k}", "image": f"{r['image']}{k}"} for k in range(5) for r in ROWS]
    rows = {"mme": copies}
    metrics = metrics_json(score_responses(rows, ["color", "count"]), intervals=headline_intervals(rows))
    assert metrics["general/mme/accuracy"] == pytest.approx(4 / 7)  # the judge's reading, N/A wrong
    assert metrics["general/mme/substring_accuracy"] == pytest.approx(5 / 7)
    assert metrics["general/mme/accuracy_plus"] == pytest.approx(2 / 3)
    assert metrics["general/mme/n_paired_images"] == 15 and isinstance(metrics["general/mme/n_paired_images"], int)
    for key in ("accuracy", "substring_accuracy", "accuracy_plus"):
        low, high = metrics[f"ci95/general/mme/{key}/low"], metrics[f"ci95/general/mme/{key}/high"]
        assert low <= metrics[f"general/mme/{key}"] <= high and low < high


def test_the_interval_resamples_images_with_their_questions_together():
    # every image has one question right and one wrong: any resample of images scores exactly 1/2
    rows = [row(image, gold, gold if gold == "Yes" else "Yes", "N/A") for image in "abcdef" for gold in ("Yes", "No")]
    intervals = headline_intervals({"mme": rows})
    assert intervals["ci95/general/mme/substring_accuracy/low"] == pytest.approx(0.5)
    assert intervals["ci95/general/mme/substring_accuracy/high"] == pytest.approx(0.5)
    assert intervals["ci95/general/mme/accuracy_plus/high"] == 0.0
