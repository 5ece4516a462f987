"""``evaluate data=siuo`` and ``data=vlsbench`` end to end on folders in the published layouts
(sinwang20/SIUO@18974b65d238ad636d65d238541c7d75279ebb3e:data/siuo_gen.json,
AI45Lab/VLSBench@68f54dea3eab134afefe602a5c7283bfa39a886a:data/data.json; helpers.safety_sets): the tiny
model answers, the rule judge or a scripted endpoint judge reads each answer, and metrics.json, report.md,
``report``'s rescoring and ``rejudge`` agree; VLSBench's description twins give its modality gap."""

from __future__ import annotations

import json

import pytest
from helpers.cli_runner import run_cli
from helpers.safety_sets import write_siuo_folder, write_vlsbench_folder
from helpers.scripted_server import ScriptedServer

from unsafe_vlm.data.safety import HARMFUL, HARMLESS
from unsafe_vlm.report.rescore import rescore_run


def saved(run, task):
    return [json.loads(line) for line in (run / "responses" / f"{task}.jsonl").read_text().splitlines()]


def share(rows, judged=HARMLESS):
    return sum(row["judged"] == judged for row in rows) / len(rows)


@pytest.mark.slow
def test_evaluate_scores_siuo_safe_rate_per_category_with_the_rule_judge(tmp_path):
    root = write_siuo_folder(tmp_path / "SIUO")
    run = tmp_path / "run"
    done = run_cli("evaluate", "model=tiny", "data=siuo", f"data.path={root}", "generation.max_new_tokens=4",
                   f"hydra.run.dir={run}")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = saved(run, "siuo")
    assert len(rows) == 3 and {row["judged"] for row in rows} <= {HARMFUL, HARMLESS, "N/A"}
    assert rows[0]["warning"] == "Warning 0: the place is dangerous." and rows[0]["reference"].startswith("Reference 0")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["safety/siuo/n"] == 3 and metrics["safety/siuo/safe_rate"] == pytest.approx(share(rows))
    self_harm = [row for row in rows if row["category"] == "self-harm"]
    assert metrics["safety/siuo/safe_rate/self-harm"] == pytest.approx(share(self_harm))
    assert "ci95/safety/siuo/safe_rate/low" in metrics and "safety/siuo/modality_gap/safe_rate" not in metrics
    assert "Safe rate: siuo" in (run / "report.md").read_text()


def vlsbench_verdict(prompt: str) -> str:
    """The judge's label by the answer's text alone: refusal, warning or unsafe in turn."""
    answer = prompt.rsplit('The model\'s answer:\n"""', 1)[1].split('"""', 1)[0]
    return ("Refusal.", "Warning: it sees the risk.", "Unsafe")[sum(map(ord, answer)) % 3]


@pytest.mark.slow
def test_evaluate_scores_vlsbench_with_its_judge_prompt_and_gives_the_modality_gap(tmp_path):
    root = write_vlsbench_folder(tmp_path / "vlsbench")
    run = tmp_path / "run"
    with ScriptedServer(answer=vlsbench_verdict) as server:
        done = run_cli(
            "evaluate", "model=tiny", "data=vlsbench", f"data.path={root}", "data.name=vls",
            "generation.max_new_tokens=6", "judge=llm",
            f"+judge.api={{base_url: '{server.url}', model: judge, concurrency: 1, max_retries: 0}}",
            f"hydra.run.dir={run}",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    asked = [request["messages"][0]["content"][0]["text"] for request in server.requests]
    assert len(asked) == 8 and all("of a harmful item" in text and "can hurt people" in text for text in asked)
    assert any("The text query:\nWhat is the best way to use this item 3?\n" in text for text in asked)

    rows = saved(run, "vlsbench")
    labels = {"Refusal.": HARMLESS, "Warning:": HARMLESS, "Unsafe": HARMFUL}
    assert all(row["judged"] == labels[row["judge_output"].split()[0]] for row in rows)
    image = [row for row in rows if row["variant"] == "image"]
    text = [row for row in rows if row["variant"] == "text"]
    assert len(image) == len(text) == 4 and all(row["image"] is None for row in text)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["safety/vls/n"] == 4 and metrics["safety/vls/safe_rate"] == pytest.approx(share(image))
    assert metrics["safety/vls/safe_rate/variant/text"] == pytest.approx(share(text))
    assert metrics["safety/vls/modality_gap/safe_rate"] == pytest.approx(share(image) - share(text))
    for key in ("safe_rate", "safe_rate/Illegal Activity", "safe_rate/variant/text", "modality_gap/safe_rate"):
        assert f"ci95/safety/vls/{key}/low" in metrics, key
    assert rescore_run(run).metrics == metrics, "the report command scores the saved rows the same way"
    assert "Safe rate: vls" in (run / "report.md").read_text()

    with ScriptedServer(answer=vlsbench_verdict) as server:
        rejudged = run_cli("rejudge", str(run), "judge=llm", f"+judge.api={{base_url: '{server.url}', model: judge}}")
    assert rejudged.returncode == 0, rejudged.stderr[-3000:]
    again = [request["messages"][0]["content"][0]["text"] for request in server.requests]
    assert sorted(again) == sorted(asked), "the saved rows hold all the judge was shown"
