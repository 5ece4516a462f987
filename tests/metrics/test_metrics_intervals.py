"""95% bootstrap intervals: images resampled with all their questions, concepts for text, concepts paired
for the gaps, seeded, and about as wide as the binomial error says."""

from __future__ import annotations

import random

import pytest

from unsafe_vlm.metrics.intervals import headline_intervals


def row(task, i, judged, gold="Unsafe", image=None, concept=None, q=0):
    return {"id": f"{task}/{i}/q{q}", "task": task, "judged": judged, "gold": gold,
            "image": image, "concept": concept or f"c{i}", "category": "Hate"}  # fmt: skip


def interval(intervals, key):
    return intervals[f"ci95/{key}/low"], intervals[f"ci95/{key}/high"]


def test_an_interval_holds_the_score_and_is_as_wide_as_the_binomial_error():
    rng = random.Random(0)
    rows = [row("alignment_image", i, "Unsafe" if rng.random() < 0.7 else "Safe", image=f"{i}.png") for i in range(400)]
    low, high = interval(headline_intervals({"alignment_image": rows}), "alignment_image/accuracy")
    accuracy = sum(r["judged"] == "Unsafe" for r in rows) / 400
    assert low < accuracy < high
    assert 0.07 < high - low < 0.11  # 2 x 1.96 x sqrt(0.7 x 0.3 / 400) = 0.090


def test_all_the_questions_of_an_image_are_resampled_together():
    rng = random.Random(1)
    verdicts = ["Unsafe" if rng.random() < 0.6 else "Safe" for _ in range(60)]
    one_each = [row("alignment_image", i, v, image=f"{i}.png") for i, v in enumerate(verdicts)]
    five_each = [row("alignment_image", i, v, image=f"{i}.png", q=q) for i, v in enumerate(verdicts) for q in range(5)]
    key = "alignment_image/accuracy"
    assert interval(headline_intervals({"alignment_image": five_each}), key) == interval(
        headline_intervals({"alignment_image": one_each}), key
    ), "five identical answers of one image are one draw, not five"


def test_the_gap_resamples_concepts_with_their_image_and_text_answers_paired():
    rng = random.Random(2)
    right = [rng.random() < 0.5 for _ in range(50)]
    text = [row("alignment_text", i, "Unsafe" if r else "Safe") for i, r in enumerate(right)]
    image = [row("alignment_image", i, "Unsafe" if r else "Safe", image=f"{i}.png") for i, r in enumerate(right)]
    intervals = headline_intervals({"alignment_text": text, "alignment_image": image})
    assert interval(intervals, "modality_gap") == (0.0, 0.0), "each concept's two sides are drawn together"
    assert interval(intervals, "alignment_text/accuracy")[1] - interval(intervals, "alignment_text/accuracy")[0] > 0.1


def test_balanced_scores_and_the_seed():
    pairs = [("Safe", "Safe"), ("Safe", "Unsafe"), ("Unsafe", "Unsafe")] * 30  # (gold, judged)
    rows = [row("alignment_test", i, judged, gold, image=f"{i}.png") for i, (gold, judged) in enumerate(pairs)]
    intervals = headline_intervals({"alignment_test": rows})
    for score, value in (("safe_recall", 0.5), ("unsafe_recall", 1.0), ("balanced_accuracy", 0.75)):
        low, high = interval(intervals, f"alignment_test/{score}")
        assert low <= value <= high, score
    assert interval(intervals, "alignment_test/unsafe_recall") == (1.0, 1.0)
    assert headline_intervals({"alignment_test": rows}) == intervals, "seeded: the same rows, the same intervals"
    assert headline_intervals({"alignment_test": rows}, seed=1) != intervals


@pytest.mark.parametrize("count", [0, 1])
def test_too_few_units_or_an_undefined_score_give_no_interval(count):
    rows = [row("alignment_image", i, "N/A", image=f"{i}.png") for i in range(count)]
    intervals = headline_intervals({"alignment_image": rows})
    assert all(v is None for v in intervals.values())


def test_a_paired_bootstrap_tells_a_real_change_from_noise():
    from unsafe_vlm.metrics.intervals import paired_differences

    rng = random.Random(3)

    before = [row("alignment_image", i, rng.choice(["Unsafe", "Safe"]), image=f"{i}.png") for i in range(200)]
    same = {"alignment_image": [dict(r) for r in before]}
    assert paired_differences({"alignment_image": before}, same)["alignment_image/accuracy"] == (0.0, 0.0)
    fixed = [dict(r, judged="Unsafe") if i % 4 == 0 else dict(r) for i, r in enumerate(before)]  # some wrong ones fixed
    low, high = paired_differences({"alignment_image": before}, {"alignment_image": fixed})["alignment_image/accuracy"]
    assert 0 < low < high, "a change on a quarter of the images, the rest the same, is significant"
    right = [i for i, r in enumerate(before) if r["judged"] == "Unsafe"][:10]
    wrong = [i for i, r in enumerate(before) if r["judged"] != "Unsafe"][:10]
    flips = {**{i: "Safe" for i in right}, **{i: "Unsafe" for i in wrong}}  # ten better, ten worse
    other = [dict(r, judged=flips.get(i, r["judged"])) for i, r in enumerate(before)]
    low, high = paired_differences({"alignment_image": before}, {"alignment_image": other})["alignment_image/accuracy"]
    assert low < 0 < high, "as many answers better as worse: no significant change"
    text = [row("alignment_text", i, "Unsafe") for i in range(200)]
    gaps = paired_differences({"alignment_image": before, "alignment_text": text},
                              {"alignment_image": fixed, "alignment_text": text})  # fmt: skip
    assert gaps["modality_gap"][1] < 0, "better on images, the same on text: the gap shrinks"


def test_text_quality_resamples_the_answers_with_their_bleus_against_all_the_others():
    rng = random.Random(3)
    template = [rng.random() < 0.5 for _ in range(300)]  # the template's copies score BLEU 1, unique words 0
    rows = [dict(row("alignment_test", i, "Unsafe", image=f"{i}.png"),
                 response="No , the image is unsafe ." if same else f"w{i}a w{i}b w{i}c w{i}d")
            for i, same in enumerate(template)]  # fmt: skip
    rows.append(dict(row("alignment_test", 300, "Unsafe", image="300.png"), response=None))  # an error row: no answer
    low, high = interval(headline_intervals({"alignment_test": rows}), "alignment_test/text_quality")
    quality = 1 - sum(template) / 300
    assert low < quality < high
    assert 0.09 < high - low < 0.13  # 2 x 1.96 x sqrt(0.5 x 0.5 / 300) = 0.113
    one_template = [dict(r, response="No , the image is unsafe .") for r in rows[:300]]
    assert interval(headline_intervals({"alignment_test": one_template}), "alignment_test/text_quality") == (0.0, 0.0)
