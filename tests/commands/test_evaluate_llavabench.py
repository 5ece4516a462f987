"""``evaluate data=llavabench`` end to end: the tiny model answers, a scripted endpoint judge scores each
answer and the reference, and metrics.json, report.md and ``report``'s rescoring agree with the rows."""

from __future__ import annotations

import json

import pytest
from helpers.cli_runner import run_cli
from helpers.image_sets import write_llavabench_tsv
from helpers.scripted_server import ScriptedServer

from unsafe_vlm.report.rescore import rescore_run

CATEGORIES = ["conv", "detail", "complex", "conv", "detail", "complex"]


def scores_for(prompt: str) -> str:
    if "Reference answer 1." in prompt:
        return "Both answers are fine."  # no scores on the first line: N/A
    return "9 3\nAnswer 2 misses the point." if "Reference answer 0." in prompt else "8 6"


@pytest.mark.slow
def test_evaluate_scores_llavabench_with_an_endpoint_judge(tmp_path):
    path = write_llavabench_tsv(tmp_path / "LLaVABench.tsv", CATEGORIES)
    run = tmp_path / "run"
    with ScriptedServer(answer=scores_for) as server:
        result = run_cli(
            "evaluate", "model=tiny", "data=llavabench", f"data.path={path}", "data.name=lb_tiny",
            "data.eval_batch_size=4", "generation.max_new_tokens=6", "judge=llm",
            f"+judge.api={{base_url: '{server.url}', model: judge}}", f"hydra.run.dir={run}",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(server.requests) == 6, "one judge request per answer"
    rows = [json.loads(line) for line in (run / "responses" / "llavabench.jsonl").read_text().splitlines()]
    by_id = {row["id"]: row for row in rows}
    assert by_id["llavabench/1"]["judged"] == "N/A" and by_id["llavabench/1"]["answer_score"] is None
    assert by_id["llavabench/1"]["judge_output"] == "Both answers are fine."
    assert (by_id["llavabench/0"]["reference_score"], by_id["llavabench/0"]["answer_score"]) == (9.0, 3.0)
    assert (
        by_id["llavabench/2"]["caption"] == "A photo of thing 2."
        and by_id["llavabench/2"]["gold"] == "Reference answer 2."
    )

    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["general/lb_tiny/relative_score"] == pytest.approx((3 + 6 * 4) / (9 + 8 * 4))
    assert metrics["general/lb_tiny/relative_score/conv"] == pytest.approx((3 + 6) / (9 + 8))
    assert metrics["general/lb_tiny/relative_score/detail"] == pytest.approx(6 / 8)
    assert (metrics["general/lb_tiny/n"], metrics["general/lb_tiny/n_answered"]) == (6, 5)
    assert metrics["general/lb_tiny/na_rate"] == pytest.approx(1 / 6)
    assert "ci95/general/lb_tiny/relative_score/low" in metrics
    assert rescore_run(run).metrics == metrics, "the report command scores the saved rows the same way"
    report = (run / "report.md").read_text()
    assert "General capability, relative score: lb_tiny" in report
    assert f"{100 * metrics['general/lb_tiny/relative_score']:.1f}%" in report
    assert "| 5 scored of 6 (the rest N/A) |" in report, "the N/A replies are counted and reported"
