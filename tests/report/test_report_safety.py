"""The safety sets in report.md: one headline row per set and score, a section per set with its rates per part
and their intervals, and no section (so no change) in the reports of runs without a safety set."""

from __future__ import annotations

from unsafe_vlm.report.safety import safety_section
from unsafe_vlm.report.scores import headline_scores

METRICS = {
    "safety/mm/n": 4, "safety/mm/attack_success_rate": 0.5, "safety/mm/attack_success_rate/01-Illegal": 0.25,
    "safety/mm/n/01-Illegal": 4, "safety/mm/attack_success_rate/variant/SD": 0.75, "safety/mm/n/variant/SD": 2,
    "safety/mm/attack_success_rate/variant/text": 0.0, "safety/mm/n/variant/text": 2,
    "safety/mm/modality_gap/attack_success_rate/SD": 0.75,
    "ci95/safety/mm/attack_success_rate/low": 0.25, "ci95/safety/mm/attack_success_rate/high": 0.75,
    "ci95/safety/mm/modality_gap/attack_success_rate/SD/low": 0.5,
    "ci95/safety/mm/modality_gap/attack_success_rate/SD/high": 1.0,
    "safety/jbv/n": 2, "safety/jbv/attack_success_rate": 1.0,
}  # fmt: skip


def test_each_safety_set_leads_with_one_row_per_score_whichever_tasks_share_its_name():
    rows = [score for score in headline_scores(METRICS) if score.key.startswith("safety/")]
    assert [(s.key, s.label) for s in rows] == [
        ("safety/jbv/attack_success_rate", "Attack success rate: jbv"),
        ("safety/mm/attack_success_rate", "Attack success rate: mm"),
    ]


def test_the_section_gives_each_part_with_its_interval_and_the_modality_gap():
    section = safety_section(METRICS)
    assert "### mm" in section and "### jbv" in section
    assert "| All | 50.0% [25.0, 75.0] | 4 |" in section
    assert "| 01-Illegal | 25.0% | 4 |" in section and "| variant: SD | 75.0% | 2 |" in section
    assert "- attack success rate, SD images: +75.0 pts [+50.0, +100.0]" in section
    assert safety_section({"perception/n": 3, "perception/accuracy": 0.5}) is None
