"""An endpoint that starts serving another model under the same name stops the run: answers of two
models are never mixed in one result, in one run or across a resume, for the model and an LLM judge."""

from __future__ import annotations

import json

import pytest
from helpers.cli_runner import run_cli

from tests.evaluation.test_error_rows import evaluate, judge_answer, rows
from tests.helpers.scripted_server import ScriptedServer


def answer(question: str) -> str:
    return "Yes, it is unsafe." if "unsafe" in question.lower() else "No."


@pytest.mark.slow
def test_a_resume_against_another_served_model_is_refused_and_mixes_nothing(tmp_path, data_cache):
    run_dir = tmp_path / "run"
    with ScriptedServer(answer=answer, served=lambda n: "vendor-model-2025-01") as model, ScriptedServer(
        answer=judge_answer
    ) as judge:
        first = evaluate(model, judge, run_dir, data_cache)
        assert first.returncode == 0, first.stderr[-2000:]
        saved = sorted((row["id"], row["response"]) for row in rows(run_dir))
        pinned = json.loads((run_dir / "responses" / "served_model.json").read_text())
        assert pinned == {"requested": "organism", "served": "vendor-model-2025-01"}
    (run_dir / "responses" / "alignment_text.jsonl").unlink()  # as if the run had stopped before that task
    for shard in (run_dir / "responses").glob("alignment_text.rank*.jsonl"):
        shard.unlink()
    with ScriptedServer(answer=answer, port=model.port, served=lambda n: "vendor-model-2025-06") as model, (
        ScriptedServer(answer=judge_answer, port=judge.port)
    ) as judge:
        resumed = evaluate(model, judge, run_dir, data_cache)
    assert resumed.returncode == 2
    line = resumed.stderr.strip().splitlines()[-1]
    assert "the endpoint now answers as 'vendor-model-2025-06', but this run's earlier answers came from " in line
    assert "'vendor-model-2025-01'" in line and "use another hydra.run.dir" in line
    kept = sorted((row["id"], row["response"]) for row in rows(run_dir))
    assert set(kept) <= set(saved), "no answer of the other model is written"


@pytest.mark.slow
def test_a_model_that_changes_mid_run_stops_it_and_keeps_only_the_first_models_answers(tmp_path, data_cache):
    run_dir = tmp_path / "run"
    with ScriptedServer(answer=answer, served=lambda n: "a" if n < 3 else "b") as model, ScriptedServer(
        answer=judge_answer
    ) as judge:
        result = evaluate(model, judge, run_dir, data_cache)
    assert result.returncode == 2
    assert "model.model='organism': the endpoint now answers as 'b'" in result.stderr.strip().splitlines()[-1]
    assert 0 < len(rows(run_dir)) <= 3, "only answers of the first served model are kept"


@pytest.mark.slow
def test_a_rejudge_whose_judge_endpoint_changes_model_is_refused(tmp_path, data_cache):
    run_dir = tmp_path / "run"
    with ScriptedServer(answer=answer) as model, ScriptedServer(answer=judge_answer) as judge:
        assert evaluate(model, judge, run_dir, data_cache).returncode == 0
    with ScriptedServer(answer=judge_answer, served=lambda n: "judge-v1" if n < 2 else "judge-v2") as other:
        rejudge = run_cli("rejudge", str(run_dir), "judge=llm", f"+judge.api={{base_url: '{other.url}', model: j}}")
    assert rejudge.returncode == 2
    assert "judge.api.model='j': the endpoint now answers as 'judge-v2'" in rejudge.stderr.strip().splitlines()[-1]
