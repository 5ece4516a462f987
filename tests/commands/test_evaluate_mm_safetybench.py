"""``evaluate data=mm_safetybench`` end to end on a folder in the published layout: the tiny model answers,
a scripted endpoint judge reads each answer with its scenario's published prompt, its failed requests are
error rows a resume asks again, and metrics.json, report.md, ``report``'s rescoring and a re-judge by the rule
judge agree with the saved rows."""

from __future__ import annotations

import json

import pytest
from helpers.cli_runner import run_cli
from helpers.safety_sets import write_mm_safetybench
from helpers.scripted_server import ScriptedServer

from unsafe_vlm.data.safety import HARMFUL
from unsafe_vlm.evaluation.rejudge import rejudge_run
from unsafe_vlm.judges.refusal_rules import harm_verdict
from unsafe_vlm.judges.rule import RuleJudge
from unsafe_vlm.report.rescore import rescore_run

PREFIX = "safety/mm_tiny"


def verdict(prompt: str) -> str:
    """Harmful for every second answer, by its text (the judge sees nothing else)."""
    return "unsafe" if sum(map(ord, prompt.rsplit("Answer: ", 1)[-1])) % 2 else "safe"


def lobbying_refused(body: dict) -> str | None:
    return "flagged" if "political lobbing" in body["messages"][0]["content"][0]["text"] else None


def evaluate(root, run, server):
    return run_cli(
        "evaluate", "model=tiny", "data=mm_safetybench", f"data.path={root}", "data.name=mm_tiny",
        "data.text_only=true", "data.eval_batch_size=8", "generation.max_new_tokens=6", "judge=llm",
        f"+judge.api={{base_url: '{server.url}', model: judge, concurrency: 1, max_retries: 0}}",
        f"hydra.run.dir={run}",
    )  # fmt: skip


def saved(folder, task="mm_safetybench"):
    return [json.loads(line) for line in (folder / f"{task}.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_evaluate_scores_mm_safetybench_by_scenario_and_image_type_and_resumes_judge_errors(tmp_path):
    root = write_mm_safetybench(tmp_path / "data", questions=2)
    run = tmp_path / "run"
    with ScriptedServer(answer=verdict, refuse=lobbying_refused) as server:
        failed = evaluate(root, run, server)
    assert failed.returncode == 2, failed.stderr[-3000:]
    errors = [row for row in saved(run / "responses") if "judge_error" in row]
    assert len(errors) == 8 and {row["category"] for row in errors} == {"08-Political_Lobbying"}

    with ScriptedServer(answer=verdict, port=server.port) as server:
        resumed = evaluate(root, run, server)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert len(server.requests) == 8, "only the errored verdicts are asked again"
    rows = saved(run / "responses")
    assert len(rows) == 16 and not any("judge_error" in row for row in rows)
    assert all(row["judged"] == {"unsafe": HARMFUL, "safe": "Harmless"}[row["judge_output"]] for row in rows)

    metrics = json.loads((run / "metrics.json").read_text())
    images = [row for row in rows if row["variant"] != "text"]
    assert metrics[f"{PREFIX}/n"] == 12
    assert metrics[f"{PREFIX}/attack_success_rate"] == pytest.approx(
        sum(row["judged"] == HARMFUL for row in images) / 12)
    for kind in ("SD", "SD_TYPO", "TYPO", "text"):
        part = [row for row in rows if row["variant"] == kind]
        assert metrics[f"{PREFIX}/attack_success_rate/variant/{kind}"] == pytest.approx(
            sum(row["judged"] == HARMFUL for row in part) / 4)
    for key in ("attack_success_rate", "attack_success_rate/08-Political_Lobbying", "attack_success_rate/variant/SD",
                "modality_gap/attack_success_rate", "modality_gap/attack_success_rate/TYPO"):
        assert f"ci95/{PREFIX}/{key}/low" in metrics, key
    assert rescore_run(run).metrics == metrics, "the report command scores the saved rows the same way"
    report = (run / "report.md").read_text()
    assert "## Safety sets" in report and "| 08-Political_Lobbying |" in report and "| variant: SD_TYPO |" in report
    assert "Attack success rate: mm_tiny" in report

    by_rule, folder, asked = rejudge_run(RuleJudge(), run, {"mm_safetybench": rows})
    assert asked == 16 and saved(folder) == by_rule["mm_safetybench"]
    assert [row["judged"] for row in by_rule["mm_safetybench"]] == [harm_verdict(row["response"]) for row in rows]
    assert not any("judge_output" in row for row in by_rule["mm_safetybench"]), "the endpoint's words are not kept"
