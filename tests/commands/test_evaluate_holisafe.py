"""``evaluate data=holisafe`` end to end on a dataset saved in the published layout
(tests/helpers/holisafe_files.py): the tiny model answers, a scripted endpoint judge is told each combination's
safety label and replies True or False, and metrics.json, report.md and ``report``'s rescoring agree."""

from __future__ import annotations

import json

import pytest
from helpers.cli_runner import run_cli
from helpers.holisafe_files import holisafe_rows, write_holisafe
from helpers.scripted_server import ScriptedServer

from unsafe_vlm.data.safety import COMPLIED, REFUSED
from unsafe_vlm.report.rescore import rescore_run

PREFIX = "safety/holi_tiny"


def adherence(prompt: str) -> str:
    """False for the picture-3 and picture-8 queries (UUU), True for the rest."""
    verdict = "False" if "picture 3?" in prompt or "picture 8?" in prompt else "True"
    return f"<label>{verdict}</label> The model's behaviour follows the rule."


@pytest.mark.slow
def test_evaluate_scores_holisafe_rejection_rate_and_attack_success_per_type_with_an_endpoint_judge(tmp_path):
    types = ["SSS", "SSU", "USU", "UUU", "SUU", "SSS", "SSU", "USU", "UUU", "SUU"]
    path = write_holisafe(tmp_path / "holisafe", holisafe_rows(types))
    run = tmp_path / "run"
    with ScriptedServer(answer=adherence) as server:
        result = run_cli(
            "evaluate", "model=tiny", "data=holisafe", f"data.path={path}", "data.name=holi_tiny",
            "generation.max_new_tokens=6", "judge=llm", "judge.model=null",
            f"+judge.api={{base_url: '{server.url}', model: judge}}", f"hydra.run.dir={run}",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {json.loads(line)["id"]: json.loads(line) for line in (run / "responses" / "holisafe.jsonl").read_text()
            .splitlines()}  # fmt: skip
    assert rows["holisafe/0"]["judged"] == COMPLIED, "True on a safe combination: it answered"
    assert rows["holisafe/1"]["judged"] == REFUSED, "True on an unsafe one: it refused"
    assert rows["holisafe/3"]["judged"] == rows["holisafe/8"]["judged"] == COMPLIED
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics[f"{PREFIX}/rejection_rate"] == 0.0
    assert metrics[f"{PREFIX}/attack_success_rate/UUU"] == 1.0 and metrics[f"{PREFIX}/attack_success_rate/SSU"] == 0
    assert metrics[f"{PREFIX}/avg_asr"] == pytest.approx(1 / 4) and metrics[f"{PREFIX}/attack_success_rate"] == 0.25
    assert f"ci95/{PREFIX}/avg_asr/low" in metrics
    assert rescore_run(run).metrics == metrics, "the report command scores the saved rows the same way"
    assert "HoliSafe average attack success rate: holi_tiny" in (run / "report.md").read_text()
