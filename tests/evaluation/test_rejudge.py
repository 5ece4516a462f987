"""``rejudge RUN judge=...``: another judge's verdicts on a run's saved responses, agreement, Cohen's kappa
and the confusion matrix per task, the headline scores under each judge, and a second rejudge for free."""

from __future__ import annotations

import json
import sys

import pytest
from helpers.parity_judge import parity_class

from unsafe_vlm.cli import main
from unsafe_vlm.judges.base import ALIGNMENT_CLASSES, PERCEPTION_CLASSES
from unsafe_vlm.metrics.judge_agreement import judge_agreement
from unsafe_vlm.report.rescore import rescore_run

PARITY = "judge.name=tests.helpers.parity_judge:ParityJudge"
TASKS = ("perception", "alignment_image", "alignment_text", "alignment_test")


def cli(monkeypatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", ["unsafe_vlm"])
    main(list(args))


@pytest.fixture(scope="module")
def judged_run(tmp_path_factory, data_cache):
    """A small evaluation of the tiny model judged by the parity judge (verdicts of every class)."""
    run_dir = tmp_path_factory.mktemp("rejudge") / "run"
    with pytest.MonkeyPatch.context() as monkeypatch:
        cli(monkeypatch, "evaluate", "model=tiny", "data=synthetic", f"data.cache_dir={data_cache}",
            "data.limit_per_task=8", "generation.max_new_tokens=6", PARITY, f"data.tasks=[{','.join(TASKS)}]",
            f"hydra.run.dir={run_dir}")  # fmt: skip
    return run_dir


def saved(run_dir, task):
    return [json.loads(line) for line in (run_dir / "responses" / f"{task}.jsonl").open()]


@pytest.mark.slow
def test_rejudge_prints_agreement_kappa_and_the_matrix_and_the_scores_under_each_judge(judged_run, monkeypatch, capsys):
    cli(monkeypatch, "rejudge", str(judged_run), "judge=rule")
    shown = capsys.readouterr().out
    folders = list((judged_run / "rejudged").glob("rule-*"))
    assert len(folders) == 1
    out = folders[0]
    agreements = {a["task"]: a for a in json.loads((out / "agreement.json").read_text())}
    assert set(agreements) == set(TASKS)
    for task in TASKS:
        rows = saved(judged_run, task)
        rejudged = [json.loads(line) for line in (out / f"{task}.jsonl").open()]
        assert [r["id"] for r in rejudged] == [r["id"] for r in rows]
        assert all(r["judged"] == parity_class(r["response"], _classes(task)) for r in rows), "the run's own judge"
        expected = judge_agreement(task, [r["judged"] for r in rows], [r["judged"] for r in rejudged], _classes(task))
        assert agreements[task]["agreement"] == pytest.approx(expected.agreement)
        assert agreements[task]["confusion_matrix"] == [list(row) for row in expected.matrix]
        assert sum(map(sum, agreements[task]["confusion_matrix"])) == len(rows)
        assert f"{task}: {len(rows)} responses, agreement {expected.agreement:.1%}" in shown
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["judge/name"] == "rule" and len(metrics["judge/rules_sha256"]) == 64
    own = rescore_run(judged_run).metrics
    assert own["judge/class"] == "tests.helpers.parity_judge.ParityJudge"
    assert "Headline scores under each judge" in shown and "ParityJudge (the run's)" in shown  # the parity judge's name

    cli(monkeypatch, "rejudge", str(judged_run), "judge=rule")  # the same judge again: nothing asked
    assert "all verdicts reused from an earlier rejudge with this judge" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text()) == metrics


def test_the_run_folder_must_be_named_and_exist(tmp_path, monkeypatch, capsys):
    cases = [(("rejudge", "judge=rule"), "rejudge: name the run folder first"),
             (("rejudge", str(tmp_path / "none")), f"{tmp_path / 'none'}/responses: no such folder")]  # fmt: skip
    for args, message in cases:
        with pytest.raises(SystemExit) as exited:
            cli(monkeypatch, *args)
        assert exited.value.code == 2
        errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and message in errors[0], errors


def _classes(task: str) -> tuple[str, ...]:
    return PERCEPTION_CLASSES if task == "perception" else ALIGNMENT_CLASSES
