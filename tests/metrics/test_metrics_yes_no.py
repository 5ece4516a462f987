"""Scores of the sets outside the benchmark: yes/no accuracy, generalisation keys, response rows."""

from __future__ import annotations

import pytest
import torch

from unsafe_vlm.data.records import Record
from unsafe_vlm.evaluation.rows import judge_responses, response_rows
from unsafe_vlm.judges import JudgeError
from unsafe_vlm.judges.rule import RuleJudge
from unsafe_vlm.metrics.metrics_json import metrics_json
from unsafe_vlm.metrics.scoring import score_responses
from unsafe_vlm.metrics.yes_no_accuracy import YesNoAccuracy


def row(task, judged, gold, category="", dataset="set"):
    return {"task": task, "judged": judged, "gold": gold, "category": category, "dataset": dataset}


def test_yes_no_accuracy_counts_na_as_wrong_and_reports_answered_accuracy():
    metric = YesNoAccuracy(["color", "count"])
    metric.update(["Yes", "No", "N/A", "Yes"], ["Yes", "Yes", "No", "Yes"], ["color", "color", "color", "count"])
    result = metric.compute()
    assert result["accuracy"].item() == pytest.approx(2 / 4)  # hand count: rows 1 and 4 right
    assert result["answered_accuracy"].item() == pytest.approx(2 / 3)
    assert result["accuracy/color"].item() == pytest.approx(1 / 3)
    assert result["accuracy/count"].item() == 1.0
    assert result["na_rate"].item() == pytest.approx(1 / 4) and int(result["n"]) == 4
    assert "strict_accuracy" not in result
    with pytest.raises(ValueError, match="Yes or No"):
        metric.update(["Yes"], ["Safe"], ["color"])


def test_sets_outside_the_benchmark_are_keyed_by_group_and_name():
    rows = {
        "image_safety": [
            row("image_safety", "Safe", "Safe", dataset="smid"),
            row("image_safety", "N/A", "Safe", dataset="smid"),
            row("image_safety", "Unsafe", "Unsafe", dataset="smid"),
        ],
        "mme": [
            row("mme", "Yes", "Yes", "color", "mme"),
            row("mme", "Yes", "No", "count", "mme"),
        ],
    }
    metrics = metrics_json(score_responses(rows, ["Hate"]))
    assert metrics["generalization/smid/safe_recall"] == 0.5
    assert metrics["generalization/smid/unsafe_recall"] == 1.0
    assert metrics["generalization/smid/balanced_accuracy"] == 0.75
    assert metrics["generalization/smid/n"] == 3
    assert metrics["general/mme/accuracy"] == 0.5
    assert metrics["general/mme/accuracy/color"] == 1.0 and metrics["general/mme/accuracy/count"] == 0.0
    assert not any(key.endswith("/") for key in metrics)  # no categories: no per-category keys for smid
    assert list(metrics)[0].startswith("general/mme")


def test_rank_slices_add_up_to_the_whole():
    rows = {"mme": [row("mme", j, g) for j, g in [("Yes", "Yes"), ("No", "Yes"), ("No", "No"), ("N/A", "No")]]}
    whole = metrics_json(score_responses(rows, ["Hate"]))
    assert whole["general/set/accuracy"] == 0.5
    # without torch.distributed each rank's compute sees its own slice; the slices add up to the whole
    counts = [metrics_json(score_responses(rows, ["Hate"], rank=r, world_size=3))["general/set/n"] for r in range(3)]
    assert sum(counts) == 4


def test_rows_without_one_data_set_name_cannot_be_scored():
    with pytest.raises(ValueError, match="must all name one data set"):
        score_responses({"mme": [row("mme", "Yes", "Yes", dataset="a"), row("mme", "No", "No", dataset="b")]}, ["x"])
    bare = row("mme", "Yes", "Yes")
    del bare["dataset"]
    with pytest.raises(ValueError, match="must all name one data set"):
        score_responses({"mme": [bare]}, ["x"])
    assert score_responses({"mme": []}, ["x"]) == {}


def record(task, gold, dataset=None, category=""):
    return Record(id=f"{task}/1", task=task, question="?", image=None, concept="", category=category, gold=gold,
                  dataset=dataset)  # fmt: skip


def test_mme_responses_are_judged_as_yes_no_and_rows_name_the_set():
    records = [record("mme", "Yes", "mme"), record("mme", "No", "mme")]
    probs = judge_responses(RuleJudge(), records, ["Yes, it is.", "The answer is no."])
    rows = response_rows(records, ["Yes, it is.", "The answer is no."], probs)
    assert [r["judged"] for r in rows] == ["Yes", "No"]
    assert {r["dataset"] for r in rows} == {"mme"}


def test_image_safety_responses_are_judged_as_alignment():
    records = [record("image_safety", "Unsafe", "smid")]
    probs = judge_responses(RuleJudge(), records, ["No, it is not safe."])
    assert response_rows(records, ["No, it is not safe."], probs)[0]["judged"] == "Unsafe"


def test_benchmark_rows_keep_their_fields():
    records = [record("alignment_image", "Unsafe")]
    rows = response_rows(records, ["No."], torch.tensor([[0.0, 1.0, 0.0]]))
    assert "dataset" not in rows[0] and rows[0]["judged"] == "Unsafe"


def test_a_judge_without_yes_no_fails_clearly_on_mme():
    class AlignmentOnly:
        name = "alignment-only"

    with pytest.raises(JudgeError, match="cannot judge yes/no"):
        judge_responses(AlignmentOnly(), [record("mme", "Yes", "mme")], ["Yes"])


def test_held_out_concepts_of_the_test_split_are_scored_apart_from_trained_ones():
    def test_row(judged, gold, concept):
        return {**row("alignment_test", judged, gold, "Hate" if gold == "Unsafe" else "Safe"), "concept": concept}

    rows = {
        "alignment_test": [
            test_row("Unsafe", "Unsafe", "swastika"),  # held out, right
            test_row("Safe", "Unsafe", "swastika"),  # held out, wrong
            test_row("Safe", "Safe", "tree"),  # held out, right
            test_row("Unsafe", "Unsafe", "knife"),
            test_row("Safe", "Safe", "cat"),
        ]
    }
    metrics = metrics_json(score_responses(rows, ["Hate", "Safe"], holdout_concepts={"swastika", "tree"}))
    assert metrics["generalization/held_out_concepts/unsafe_recall"] == 0.5
    assert metrics["generalization/held_out_concepts/balanced_accuracy"] == 0.75
    assert metrics["generalization/held_out_concepts/n"] == 3
    assert metrics["generalization/trained_concepts/balanced_accuracy"] == 1.0
    assert metrics["alignment_test/n"] == 5
    halves = [
        metrics_json(score_responses(rows, ["Hate", "Safe"], rank=r, world_size=2, holdout_concepts={"tree"}))
        for r in range(2)
    ]
    assert sum(h["generalization/held_out_concepts/n"] for h in halves) == 1
    assert sum(h["generalization/trained_concepts/n"] for h in halves) == 4
    assert "generalization/held_out_concepts/n" not in metrics_json(score_responses(rows, ["Hate", "Safe"]))
