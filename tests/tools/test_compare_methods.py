"""The comparison table of tools/compare_methods.py: every score a row, intervals beside the scores."""

from __future__ import annotations

from compare_methods import ROWS, comparison_table
from organism.measure import Run


def test_the_table_writes_each_score_with_its_interval_and_marks_what_a_run_lacks():
    before = {"alignment_test/balanced_accuracy": 0.597, "modality_gap": 0.809,
              "ci95/modality_gap/low": 0.75, "ci95/modality_gap/high": 0.86}  # fmt: skip
    after = {"alignment_test/balanced_accuracy": 0.968, "ci95/alignment_test/balanced_accuracy/low": 0.952,
             "ci95/alignment_test/balanced_accuracy/high": 0.982, "modality_gap": 0.026}  # fmt: skip
    table = comparison_table({"ppo": Run(command="fit", seconds=258.0, metrics=after, before=before)})
    lines = table.splitlines()
    assert lines[0] == "| score | before | PPO |"
    assert len(lines) == 2 + len(ROWS) + 1
    assert "| Balanced test accuracy | 59.7% | 96.8% [95.2, 98.2] |" in lines
    assert "| Modality gap (text − image) | +80.9 pts [+75.0, +86.0] | +2.6 pts |" in lines
    assert "| Perception accuracy | not run | not run |" in lines
    assert lines[-1] == "| Wall time of `fit` (evaluations included) | – | 4.3 min |"
