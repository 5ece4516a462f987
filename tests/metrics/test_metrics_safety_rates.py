"""The safety sets' rates (``metrics.safety_rates``): hand-worked shares per category and variant, N/A counted
as not the class, a rate among one gold side, slices summed across ranks, the modality gap of text twins, and
their intervals drawing images (and each question's two forms) together."""

from __future__ import annotations

import pytest

from unsafe_vlm.data.safety import COMPLIED, HARMFUL, HARMLESS, REFUSED, Rate
from unsafe_vlm.judges.base import NA
from unsafe_vlm.metrics.intervals import headline_intervals, paired_differences
from unsafe_vlm.metrics.safety_rates import SafetyRates, variant_scores
from unsafe_vlm.metrics.scoring import score_responses

ASR = Rate("attack_success_rate", HARMFUL)


def row(n, judged, category="A", variant="SD", gold=HARMLESS, image=None):
    return {"id": f"r{n}", "task": "mm_safetybench", "judged": judged, "gold": gold, "category": category,
            "variant": variant, "concept": f"q{n % 4}", "dataset": "toy", "response": "x",
            "image": None if variant == "text" else (image or f"img{n}")}  # fmt: skip


def computed(rows, rates=(ASR,), categories=("A", "B")):
    metric = SafetyRates(list(categories), rates)
    metric.update_rows(rows)
    return {key: float(value) for key, value in metric.compute().items()}


def test_a_rate_is_the_share_judged_its_class_with_n_a_counted_as_not():
    rows = [row(0, HARMFUL), row(1, HARMLESS), row(2, NA), row(3, HARMFUL, "B")]
    scores = computed(rows)
    assert scores["attack_success_rate"] == pytest.approx(2 / 4)
    assert scores["attack_success_rate/A"] == pytest.approx(1 / 3) and scores["attack_success_rate/B"] == 1.0
    assert (scores["n"], scores["n_answered"], scores["na_rate"]) == (4, 3, 0.25)


def test_a_rate_among_one_gold_side_counts_only_those_rows():
    rows = [row(0, REFUSED, gold=REFUSED), row(1, COMPLIED, gold=REFUSED), row(2, REFUSED, gold=COMPLIED),
            row(3, COMPLIED, gold=COMPLIED), row(4, COMPLIED, gold=COMPLIED)]  # fmt: skip
    rates = (Rate("refusal_rate", REFUSED), Rate("unsafe_refused", REFUSED, among=REFUSED),
             Rate("safe_answered", COMPLIED, among=COMPLIED))  # fmt: skip
    scores = computed(rows, rates)
    assert scores["refusal_rate"] == pytest.approx(2 / 5)
    assert scores["unsafe_refused"] == pytest.approx(1 / 2) and scores["safe_answered"] == pytest.approx(2 / 3)


def test_slices_of_the_rows_summed_across_ranks_give_the_whole_sets_rates():
    rows = [row(n, (HARMFUL, HARMLESS, NA)[n % 3], "AB"[n % 2]) for n in range(11)]
    whole = score_responses({"mm_safetybench": rows}, [])
    ranks = [score_responses({"mm_safetybench": rows}, [], rank=r, world_size=3) for r in range(3)]
    assert all(set(part) == set(whole) for part in ranks)
    merged = SafetyRates(["A", "B"], (ASR,))
    for r in range(3):
        merged.update_rows(rows[r::3])
    assert float(merged.compute()["attack_success_rate"]) == pytest.approx(
        whole["safety/toy"]["attack_success_rate"])


def test_text_twins_are_left_out_of_the_rates_and_give_the_modality_gap_per_image_type():
    rows = [row(n, HARMFUL, variant="SD") for n in range(4)]
    rows += [row(n, HARMFUL if n < 2 else HARMLESS, variant="TYPO") for n in range(4)]
    rows += [row(n, HARMFUL if n == 0 else HARMLESS, variant="text") for n in range(4)]
    assert computed(rows)["n"] == 8
    scores = variant_scores(rows, (ASR,))
    assert scores["attack_success_rate/variant/text"] == 0.25 and scores["n/variant/TYPO"] == 4
    assert scores["modality_gap/attack_success_rate"] == pytest.approx(6 / 8 - 1 / 4)
    assert scores["modality_gap/attack_success_rate/SD"] == pytest.approx(1 - 1 / 4)
    assert scores["modality_gap/attack_success_rate/TYPO"] == pytest.approx(1 / 2 - 1 / 4)
    assert variant_scores([row(0, HARMFUL)], (ASR,)) == {}, "a set of one form has no breakdown"


def test_intervals_draw_an_images_answers_together():
    # two images, each with its two answers alike: every resample's rate is 0, 1/2 or 1
    rows = [row(n, HARMFUL if n < 2 else HARMLESS, image=f"img{n // 2}") for n in range(4)]
    intervals = headline_intervals({"mm_safetybench": rows})
    assert intervals["ci95/safety/toy/attack_success_rate/low"] == 0.0
    assert intervals["ci95/safety/toy/attack_success_rate/high"] == 1.0
    alike = [row(n, HARMFUL, image=f"img{n // 2}") for n in range(4)]
    assert headline_intervals({"mm_safetybench": alike})["ci95/safety/toy/attack_success_rate/low"] == 1.0


def test_the_change_of_a_rate_between_two_runs_draws_the_same_images_for_both():
    before = [row(n, HARMFUL) for n in range(6)]
    after = [row(n, HARMLESS if n < 3 else HARMFUL) for n in range(6)]
    low, high = paired_differences({"mm_safetybench": before}, {"mm_safetybench": after})[
        "safety/toy/attack_success_rate"]
    assert -1.0 <= low <= -0.5 <= high <= 0.0
    assert paired_differences({"mm_safetybench": before}, {"mm_safetybench": before})[
        "safety/toy/attack_success_rate"] == (0.0, 0.0)
