"""Error rows: a model endpoint that rejects every second image and a judge endpoint that rejects a third
of its prompts (HTTP 400, as a content filter does). Their rows are no answer: left out of every score,
counted in metrics.json, the run exits 2, and a resume and a ``rejudge`` ask exactly them again."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import pytest
from helpers.cli_runner import run_cli
from omegaconf import OmegaConf

from tests.helpers.scripted_server import ScriptedServer
from unsafe_vlm.data.records import Record
from unsafe_vlm.evaluation.rows import judged_rows
from unsafe_vlm.judges.registry import build_judge, judge_settings
from unsafe_vlm.metrics.error_rows import error_counts, is_error_row
from unsafe_vlm.metrics.scoring import score_responses
from unsafe_vlm.paths import CONF_DIR

TASKS = "data.tasks=[alignment_image,alignment_text]"
QUERIES = 12  # 6 per task


def every(n: int, message: str):
    """A ``refuse`` that turns down every ``n``-th request it is shown (counted across threads)."""
    count, lock = itertools.count(1), threading.Lock()

    def refuse(body: dict) -> str | None:
        with lock:
            return message if next(count) % n == 0 else None

    return refuse


def refusing_every_second_image():
    refuse = every(2, "this image is not allowed")

    def refuse_image(body: dict) -> str | None:
        content = body["messages"][-1]["content"]
        shows_image = isinstance(content, list) and any(part.get("type") == "image_url" for part in content)
        return refuse(body) if shows_image else None

    return refuse_image


def answer(question: str) -> str:
    return "I cannot help with that." if len(question) % 2 else "Sure, here it is."


def judge_answer(prompt: str) -> str:
    return "Safe" if "I cannot help with that." in prompt else "Unsafe"


def evaluate(model: ScriptedServer, judge: ScriptedServer, run_dir: Path, cache: Path):
    return run_cli(
        "evaluate", "model=api", f"model.base_url={model.url}", "model.concurrency=2", "model.max_retries=0",
        "data=synthetic", f"data.cache_dir={cache}", "data.limit_per_task=6", "data.eval_batch_size=2", TASKS,
        "judge=llm", f"+judge.api={{base_url: '{judge.url}', model: judge, max_retries: 0}}",
        f"hydra.run.dir={run_dir}",
    )  # fmt: skip


def rows(run_dir: Path, folder: str = "responses") -> list[dict]:
    return [json.loads(line) for path in sorted((run_dir / folder).glob("*.jsonl")) for line in path.open()]


def test_error_rows_are_left_out_of_every_score_not_counted_as_n_a():
    right = {"id": "a", "task": "alignment_text", "concept": "c", "category": "Hate", "image": None,
             "response": "no", "judged": "Unsafe", "gold": "Unsafe"}  # fmt: skip
    failed = [{**right, "id": "b", "response": None, "judged": "N/A", "error": "400: no"},
              {**right, "id": "c", "judged": "N/A", "judge_error": "400: filtered"}]  # fmt: skip
    alone = score_responses({"alignment_text": [right]}, ["Hate"])
    mixed = score_responses({"alignment_text": [right, *failed]}, ["Hate"])
    assert float(mixed["alignment_text"]["accuracy"]) == float(alone["alignment_text"]["accuracy"]) == 1.0
    assert int(mixed["alignment_text"]["n"]) == 1, "an error row is neither right, wrong nor N/A"
    assert [is_error_row(row) for row in (right, *failed)] == [False, True, True]
    assert error_counts({"alignment_text": [right, *failed]}) == {
        "errors/alignment_text/n": 2, "errors/n": 2, "errors/share": 2 / 3,
    }  # fmt: skip
    assert error_counts({"alignment_text": [right]}) == {}, "a run without error rows gets no error keys"


def test_a_prompt_asked_twice_with_one_request_failing_makes_both_rows_error_rows():
    records = [Record(id=f"q{i}", task="alignment_text", concept="c", category="Hate", question="q", image=None,
                      options=None, gold="Unsafe") for i in range(3)]  # fmt: skip
    with ScriptedServer(answer=judge_answer, refuse=every(2, "flagged")) as server:  # one at a time: the second
        cfg = OmegaConf.load(CONF_DIR / "judge" / "llm.yaml")
        OmegaConf.update(cfg, "api", {"base_url": server.url, "model": "judge", "max_retries": 0,
                                      "concurrency": 1}, force_add=True)  # fmt: skip
        judge = build_judge(judge_settings(OmegaConf.to_container(cfg)))
        got = judged_rows(judge, records, ["Sure, here it is.", "Sure, here it is.", "I cannot help with that."])
    assert ["judge_error" in row for row in got] == [True, True, False], got
    assert [row["judged"] for row in got] == ["N/A", "N/A", "Safe"]
    assert got[2]["judge_output"] == "Safe"


@pytest.mark.slow
def test_errors_of_the_model_and_the_judge_are_error_rows_a_resume_asks_again_and_rejudge_too(tmp_path, data_cache):
    run_dir, clean_dir = tmp_path / "run", tmp_path / "clean"
    refused_prompts = every(3, "flagged by the content filter")
    with (
        ScriptedServer(answer=answer, refuse=refusing_every_second_image()) as model,
        ScriptedServer(answer=judge_answer, refuse=refused_prompts) as judge,
    ):
        failed = evaluate(model, judge, run_dir, data_cache)
    assert failed.returncode == 2, failed.stderr[-2000:]
    kept = rows(run_dir)
    errors = [row for row in kept if is_error_row(row)]
    model_errors = [row for row in errors if "error" in row]
    judge_errors = [row for row in errors if "judge_error" in row]
    assert len(kept) == QUERIES and len(model_errors) == 3, "every second of the 6 images is refused"
    assert judge_errors and all("flagged by the content filter" in row["judge_error"] for row in judge_errors)
    assert all("judge_output" not in row for row in judge_errors), "a failed request is no reply of the judge"
    line = failed.stderr.strip().splitlines()[-1]
    assert f"{len(errors)} error rows" in line and f"hydra.run.dir={run_dir}" in line and "max_error_share=0" in line
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["errors/n"] == len(errors) and metrics["errors/share"] == len(errors) / QUERIES
    by_task = {task: sum(row["task"] == task for row in errors) for task in ("alignment_image", "alignment_text")}
    assert {task: metrics.get(f"errors/{task}/n", 0) for task in by_task} == by_task
    assert metrics["alignment_image/n"] + metrics["alignment_text/n"] == QUERIES - len(errors)
    assert "**Unfinished:**" in (run_dir / "report.md").read_text()
    report = run_cli("report", str(run_dir))
    assert report.returncode == 0 and f"unfinished: {run_dir}: {len(errors)} error rows" in report.stdout

    with ScriptedServer(answer=answer, port=model.port) as model, ScriptedServer(answer=judge_answer,
                                                                                   port=judge.port) as judge:
        resumed = evaluate(model, judge, run_dir, data_cache)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert len(model.requests) == len(model_errors), "the model is asked its error rows again, nothing more"
        assert len(judge.requests) == len(errors), "the judge reads the new answers and its errored verdicts again"
        model.requests.clear()
        clean = evaluate(model, judge, clean_dir, data_cache)
        assert clean.returncode == 0, clean.stderr[-2000:]
    resumed_metrics = json.loads((run_dir / "metrics.json").read_text())
    assert resumed_metrics == json.loads((clean_dir / "metrics.json").read_text())
    assert not any(key.startswith("errors/") for key in resumed_metrics), "a clean run writes no error keys"

    with ScriptedServer(answer=judge_answer, refuse=every(3, "flagged")) as other:
        rejudge = ["rejudge", str(clean_dir), "judge=llm", f"+judge.api={{base_url: '{other.url}', model: other}}"]
        first = run_cli(*rejudge)
        assert first.returncode == 2 and "the same rejudge asks only the errored verdicts again" in first.stderr
        rejudged = rows(clean_dir / "rejudged", next((clean_dir / "rejudged").glob("llm-*")).name)
        flagged = sum("judge_error" in row for row in rejudged)
        assert flagged >= QUERIES // 3, "a third of the prompts is refused (and their equals in the same call)"
    with ScriptedServer(answer=judge_answer, port=other.port) as other:
        again = run_cli(*rejudge)
        assert again.returncode == 0, again.stderr[-2000:]
        assert len(other.requests) == flagged, "only the errored verdicts are asked again; the others are reused"
    assert not any(is_error_row(row) for row in rows(clean_dir / "rejudged", next((clean_dir / "rejudged").glob(
        "llm-*")).name))
