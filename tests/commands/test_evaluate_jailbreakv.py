"""``evaluate data=jailbreakv`` end to end with the rule judge: the tiny model answers JailBreakV-28K rows made in
the published layout and their plain requests as text, and metrics.json and report.md give the attack success
rate per format (FigStep among them) and policy, and the modality gap, with intervals."""

from __future__ import annotations

import json

import pytest
from helpers.cli_runner import run_cli
from helpers.safety_sets import write_jailbreakv

from unsafe_vlm.report.rescore import rescore_run

PREFIX = "safety/jbv"


@pytest.mark.slow
def test_evaluate_scores_jailbreakv_per_format_and_policy_with_the_rule_judge(tmp_path):
    path = write_jailbreakv(tmp_path / "JailBreakV_28K")
    run = tmp_path / "run"
    result = run_cli("evaluate", "model=tiny", "data=jailbreakv", f"data.path={path}", "data.name=jbv",
                     "data.text_only=true", "generation.max_new_tokens=4", f"hydra.run.dir={run}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in (run / "responses" / "jailbreakv.jsonl").read_text().splitlines()]
    assert len(rows) == 8 + 4 and {row["judged"] for row in rows} <= {"Harmful", "Harmless", "N/A"}
    metrics = json.loads((run / "metrics.json").read_text())
    images = [row for row in rows if row["variant"] != "text"]
    assert metrics[f"{PREFIX}/n"] == 8
    assert metrics[f"{PREFIX}/attack_success_rate"] == pytest.approx(sum(r["judged"] == "Harmful" for r in images) / 8)
    figstep = [row for row in rows if row["variant"] == "figstep"]
    assert metrics[f"{PREFIX}/attack_success_rate/variant/figstep"] == pytest.approx(
        sum(r["judged"] == "Harmful" for r in figstep) / 4)
    for key in ("attack_success_rate/Malware", "attack_success_rate/Fraud", "modality_gap/attack_success_rate",
                "modality_gap/attack_success_rate/figstep"):
        assert f"{PREFIX}/{key}" in metrics and f"ci95/{PREFIX}/{key}/low" in metrics, key
    assert rescore_run(run).metrics == metrics
    report = (run / "report.md").read_text()
    assert "### jbv" in report and "| variant: figstep |" in report and "| Malware |" in report
