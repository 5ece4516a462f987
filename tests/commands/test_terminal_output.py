"""What a user sees of ``fit`` and ``evaluate`` on the tiny model: each stage labelled, none of Lightning's
environment notes, the epoch count Lightning runs, and last lines naming the run folder and what to run next."""

from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path

import pytest
from helpers.cli_runner import run_cli

TASKS = "[perception,alignment_image,alignment_text,alignment_test]"
QUERIES = 4 * 4  # data.limit_per_task=4 over the four tasks


def tiny(run_dir: Path, cache: Path) -> list[str]:
    return [
        "model=tiny", "data=synthetic", "data.limit_per_task=4", f"data.tasks={TASKS}", f"data.cache_dir={cache}",
        "generation.max_new_tokens=4", f"hydra.run.dir={run_dir}",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, data_cache) -> tuple[Path, subprocess.CompletedProcess]:
    run_dir = tmp_path_factory.mktemp("fit") / "run"
    result = run_cli("fit", "+method=sft", *tiny(run_dir, data_cache), "method.batch_size=2", "trainer.max_epochs=2")
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir, result


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, data_cache) -> tuple[Path, subprocess.CompletedProcess]:
    run_dir = tmp_path_factory.mktemp("evaluate") / "run"
    result = run_cli("evaluate", *tiny(run_dir, data_cache))
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir, result


def last_lines(result: subprocess.CompletedProcess, count: int) -> list[str]:
    return [line.strip() for line in result.stdout.strip().splitlines()[-count:]]


@pytest.mark.slow
def test_fit_ends_with_its_run_folder_its_files_and_the_next_commands(fitted):
    run_dir, result = fitted
    stdout = result.stdout
    summary = stdout[stdout.rindex(f"metrics, responses and report in {run_dir}") :]
    for name in ("metrics.json", "comparison.md", "comparison.png", "report.md", "report.html", "adapter/"):
        assert name in summary, name
    assert f"python -m unsafe_vlm report {run_dir}" in summary
    assert f"model.adapter={run_dir / 'adapter'}" in summary
    assert last_lines(result, 1)[0].startswith(f"python -m unsafe_vlm report {run_dir} ")


@pytest.mark.slow
def test_evaluate_ends_with_its_run_folder_and_the_next_command(evaluated):
    run_dir, result = evaluated
    assert f"metrics, responses and report in {run_dir}" in result.stdout
    assert result.stdout.count("metrics, responses and report in") == 1
    assert last_lines(result, 1)[0].startswith(f"python -m unsafe_vlm report {run_dir} ")


@pytest.mark.slow
def test_each_stage_is_labelled(fitted, evaluated):
    fit_out, evaluate_out = fitted[1].stdout, evaluated[1].stdout
    stages = [f"before training: {QUERIES} queries", "training: 2 epochs of", f"after training: {QUERIES} queries"]
    assert all(stage in fit_out for stage in stages), fit_out[:3000]
    assert [fit_out.index(stage) for stage in stages] == sorted(fit_out.index(stage) for stage in stages)
    assert f"evaluating: {QUERIES} queries" in evaluate_out
    assert "Predicting" not in fit_out + evaluate_out


@pytest.mark.slow
def test_lightning_s_environment_notes_and_tips_are_not_shown(fitted, evaluated):
    for _, result in (fitted, evaluated):
        shown = result.stdout + result.stderr
        for note in ("GPU available", "TPU available", "Tip:"):
            assert note not in shown, note


@pytest.mark.slow
def test_the_epoch_count_shown_is_the_number_of_epochs_lightning_runs(fitted):
    run_dir, result = fitted
    with (run_dir / "logs" / "version_0" / "metrics.csv").open() as handle:
        epochs_run = len({row["epoch"] for row in csv.DictReader(handle)})
    shown = re.findall(r"epoch (\d+)/(\d+)", result.stdout)
    assert epochs_run == 2
    assert shown and shown[-1] == (str(epochs_run), str(epochs_run))
