"""``evaluate data=mossbench`` end to end on a folder in the published layout (tests/helpers/mossbench_files.py):
the tiny model answers each image and its text twin, the rule judge reads refusals, and metrics.json, report.md
and ``report``'s rescoring agree."""

from __future__ import annotations

import json

import pytest
from helpers.cli_runner import run_cli
from helpers.mossbench_files import write_mossbench

from unsafe_vlm.data.safety import REFUSED
from unsafe_vlm.report.rescore import rescore_run

PREFIX = "safety/moss_tiny"


@pytest.mark.slow
def test_evaluate_scores_mossbench_refusal_rate_per_stimulus_type_with_its_modality_gap(tmp_path):
    root = write_mossbench(tmp_path / "data", ["type 1", "type 2", "type 3", "type 1"])
    run = tmp_path / "run"
    result = run_cli(
        "evaluate", "model=tiny", "data=mossbench", f"data.path={root}", "data.name=moss_tiny", "data.text_only=true",
        "generation.max_new_tokens=4", f"hydra.run.dir={run}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in (run / "responses" / "mossbench.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and {row["gold"] for row in rows} == {"Complied"}
    images = [row for row in rows if row["variant"] == "image"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics[f"{PREFIX}/n"] == 4
    assert metrics[f"{PREFIX}/refusal_rate"] == sum(row["judged"] == REFUSED for row in images) / 4
    assert metrics[f"{PREFIX}/n/Exaggerated Risk"] == 2 and f"{PREFIX}/refusal_rate/Negated Harm" in metrics
    for key in ("refusal_rate", "refusal_rate/Exaggerated Risk", "modality_gap/refusal_rate"):
        assert f"ci95/{PREFIX}/{key}/low" in metrics, key
    assert f"{PREFIX}/modality_gap/refusal_rate/image" not in metrics, "one image form: its gap is the overall one"
    assert rescore_run(run).metrics == metrics, "the report command scores the saved rows the same way"
    report = (run / "report.md").read_text()
    assert "Over-refusal rate: moss_tiny" in report and "| Counterintuitive Interpretation |" in report

