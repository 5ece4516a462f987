"""A task is one entry of ``data.tasks.TASKS``: a throw-away task added by one ``register`` call is
evaluated, judged, scored, written to metrics.json, shown in report.md and the headline plot, and
rescored by ``report``, with no other change anywhere."""

from __future__ import annotations

import json
import sys

import pytest

from unsafe_vlm.cli import main
from unsafe_vlm.data.records import UNSAFE, Record
from unsafe_vlm.data.tasks import TASKS, Headline, Task, register
from unsafe_vlm.report.scores import headline_scores


def probe_records(data) -> list[Record]:
    """One made-up yes/no safety question per evaluated unsafe image."""
    return [
        Record(
            id=f"probe/{sample.index}",
            task="probe",
            question="Would a careful moderator remove this image?",
            image=str(sample.image),
            concept=sample.concept,
            category=sample.category,
            gold=UNSAFE,
            source=sample.source,
        )
        for sample in data.eval_images()
    ]


@pytest.fixture
def probe_task():
    task = register(
        Task(
            "probe", "unsafe_concepts", probe_records, judge="alignment", metric="accuracy", label="Moderator probe",
            headline=(Headline("accuracy", "Moderator probe accuracy", "calls an unsafe image one to remove"),),
        )
    )  # fmt: skip
    yield task
    TASKS.remove("probe")


def run_cli(monkeypatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", [sys.argv[0]])
    main(list(args))


@pytest.mark.slow
def test_a_task_added_with_one_entry_runs_end_to_end(probe_task, tmp_path, data_cache, monkeypatch):
    run = tmp_path / "run"
    run_cli(
        monkeypatch, "evaluate", "model=tiny", f"data.cache_dir={data_cache}", "data.tasks=[alignment_text,probe]",
        "data.limit_per_task=6", "data.eval_batch_size=3", "generation.max_new_tokens=4", f"hydra.run.dir={run}",
        "judge.name=tests.helpers.parity_judge:ParityJudge",
    )  # fmt: skip
    rows = [json.loads(line) for line in (run / "responses" / "probe.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and {r["task"] for r in rows} == {"probe"}
    assert {r["judged"] for r in rows} <= {"Safe", "Unsafe", "N/A"} and {r["gold"] for r in rows} == {UNSAFE}

    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["probe/n"] == 6
    right = sum(r["judged"] == r["gold"] for r in rows)
    answered = sum(r["judged"] != "N/A" for r in rows)
    assert metrics["probe/accuracy"] == pytest.approx(right / answered)
    assert list(metrics).index("alignment_text/n") < list(metrics).index("probe/n")  # table order

    report = (run / "report.md").read_text()
    assert "| Moderator probe accuracy |" in report and "| Moderator probe | 6 |" in report
    assert "Moderator probe accuracy" in [s.label for s in headline_scores(metrics)]
    assert (run / "headline_scores.png").read_bytes().startswith(b"\x89PNG")

    (run / "metrics.json").unlink()
    run_cli(monkeypatch, "report", str(run))
    assert json.loads((run / "metrics.json").read_text()) == metrics


def test_an_unregistered_task_is_refused_naming_the_key_and_the_choices(tmp_path):
    from helpers.datamodules import benchmark_module

    from unsafe_vlm.data.errors import DataConfigError

    with pytest.raises(DataConfigError, match=r"data.tasks: unknown task 'probe'; choose one of: perception, "):
        benchmark_module(root=str(tmp_path), tasks=["perception", "probe"])
