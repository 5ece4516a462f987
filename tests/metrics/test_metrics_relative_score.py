"""LLaVABench's relative score from judged rows: hand-worked sums, N/A rows counted, intervals, re-judging."""

from __future__ import annotations

import math

import pytest
import torch

from unsafe_vlm.data.records import Record
from unsafe_vlm.evaluation.rejudge import rejudge_rows
from unsafe_vlm.evaluation.rows import relative_rows
from unsafe_vlm.judges.relative import RelativeReading
from unsafe_vlm.metrics.intervals import headline_intervals
from unsafe_vlm.metrics.metrics_json import metrics_json
from unsafe_vlm.metrics.scoring import score_responses

NAN = float("nan")


def records(images: str, categories: list[str]) -> list[Record]:
    return [
        Record(id=f"llavabench/{i}", task="llavabench", question=f"Q{i}?", image=f"set.tsv#{image}", concept=category,
               category=category, gold=f"Reference {i}.", dataset="lb", caption=f"Caption {i}.")
        for i, (image, category) in enumerate(zip(images, categories, strict=True))
    ]  # fmt: skip


def judged(scores: list[list[float]], images: str = "aabc", categories=("conv", "conv", "detail", "detail")):
    asked = records(images, list(categories))
    replies = [f"reply {i}" for i in range(len(asked))]
    return relative_rows(
        asked, [f"answer {i}" for i in range(len(asked))], RelativeReading(torch.tensor(scores), replies)
    )


def test_rows_keep_both_scores_and_an_unread_reply_is_na():
    rows = judged([[8, 7], [9, 3], [NAN, NAN], [5, 5]])
    assert [r["judged"] for r in rows] == ["Scored", "Scored", "N/A", "Scored"]
    assert rows[0]["reference_score"] == 8 and rows[0]["answer_score"] == 7 and rows[0]["judge_output"] == "reply 0"
    assert rows[2]["reference_score"] is None and rows[2]["answer_score"] is None
    assert rows[1]["gold"] == "Reference 1." and rows[1]["caption"] == "Caption 1." and rows[1]["dataset"] == "lb"


def test_the_relative_score_is_the_answers_sum_over_the_references_by_hand():
    rows = {"llavabench": judged([[8, 7], [9, 3], [NAN, NAN], [5, 5]])}
    metrics = metrics_json(score_responses(rows, ["conv", "detail"]))
    assert metrics["general/lb/relative_score"] == pytest.approx((7 + 3 + 5) / (8 + 9 + 5))
    assert metrics["general/lb/relative_score/conv"] == pytest.approx(10 / 17)
    assert metrics["general/lb/relative_score/detail"] == pytest.approx(1.0)
    assert metrics["general/lb/answer_score"] == pytest.approx(5.0)
    assert metrics["general/lb/reference_score"] == pytest.approx(22 / 3)
    assert (metrics["general/lb/n"], metrics["general/lb/n_answered"]) == (4, 3)
    assert metrics["general/lb/na_rate"] == 0.25 and metrics["general/lb/na_rate/detail"] == 0.5
    assert not any("accuracy" in key for key in metrics)


def test_with_no_reply_read_the_score_is_undefined_and_every_row_is_na():
    metrics = metrics_json(score_responses({"llavabench": judged([[NAN, NAN]] * 4)}, ["conv", "detail"]))
    assert metrics["general/lb/relative_score"] is None and metrics["general/lb/na_rate"] == 1.0


def test_the_interval_draws_images_with_all_their_questions():
    scores = [[8, 4], [8, 8]] * 5  # on every image the answers score 12 of the reference's 16
    rows = judged(scores, images="aabbccddee", categories=["conv"] * 10)
    intervals = headline_intervals({"llavabench": rows})
    assert intervals["ci95/general/lb/relative_score/low"] == pytest.approx(0.75)
    assert intervals["ci95/general/lb/relative_score/high"] == pytest.approx(0.75)
    rows = judged([[8, 2 * (k % 5) + 1] for k in range(10)], images="abcdefghij", categories=["conv"] * 10)
    metrics = metrics_json(
        score_responses({"llavabench": rows}, ["conv"]), intervals=headline_intervals({"llavabench": rows})
    )
    low, high = metrics["ci95/general/lb/relative_score/low"], metrics["ci95/general/lb/relative_score/high"]
    assert low < metrics["general/lb/relative_score"] < high


class FixedScores:
    name = "fixed"

    def judge_relative(self, items):
        scores = [[6.0, 3.0] if "answer 0" in item.response else [NAN, NAN] for item in items]
        return RelativeReading(torch.tensor(scores, dtype=torch.float64), [f"re: {item.response}" for item in items])


def test_a_rejudge_scores_the_saved_rows_again_and_leaves_error_rows_na():
    rows = judged([[8, 7], [9, 3], [NAN, NAN], [5, 5]])
    rows[3] = {**rows[3], "response": None, "judged": "N/A", "reference_score": None, "answer_score": None}
    rescored = rejudge_rows(FixedScores(), "llavabench", rows)
    assert [r["judged"] for r in rescored] == ["Scored", "N/A", "N/A", "N/A"]
    assert (rescored[0]["reference_score"], rescored[0]["answer_score"]) == (6.0, 3.0)
    assert rescored[1]["answer_score"] is None and rescored[1]["judge_output"] == "re: answer 1"
    assert "judge_output" not in rescored[3] and math.isclose(rows[0]["answer_score"], 7)
