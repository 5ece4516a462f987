"""A run killed with SIGKILL at any moment and started again with the same command (``ckpt_path=last``
for ``fit`` once a checkpoint exists) ends with the same metrics.json and adapter weights, byte for
byte, as a run that was never interrupted: evaluation, SFT and PPO, killed at the moments of ``CASES``."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli_runner import run_cli
from helpers.kills import kill_when, lines_in

LIMIT = 8
COMMON = ["model=tiny", "data=synthetic", f"data.limit_per_task={LIMIT}", "data.eval_batch_size=2",
          "data.tasks=[perception,alignment_image,alignment_text,alignment_test]",
          "generation.max_new_tokens=4"]  # fmt: skip
FIT = {
    "sft": ["+method=sft", "method.batch_size=2"],
    "ppo": ["+method=ppo", "method.batch_size=2", "method.max_new_tokens=4", "method.minibatch_size=2",
            "method.ppo_epochs=1"],
}  # fmt: skip


def command(kind: str, run: Path, cache: Path) -> list[str]:
    head = ["evaluate"] if kind == "evaluate" else ["fit", *FIT[kind]]
    return [*head, *COMMON, f"data.cache_dir={cache}", f"hydra.run.dir={run}"]


def stage(kind: str) -> str:
    return "evaluate" if kind == "evaluate" else "fit"


def checkpointed(run: Path) -> bool:
    return (run / "checkpoints" / "last.ckpt").is_file()


MOMENTS = {
    "evaluate": {
        "middle task": lambda run: lines_in(run / "responses", "alignment_image.rank0.jsonl") >= 2,
    },
    "fit": {
        "evaluation before": lambda run: lines_in(run / "responses_before", "alignment_image.rank0.jsonl") >= 2,
        "training": lambda run: checkpointed(run) and not (run / "adapter").exists(),
        "evaluation after": lambda run: lines_in(run / "responses", "alignment_image.rank0.jsonl") >= 2,
    },
}
# Every moment is covered once for fit and once for evaluate, every kind at its training moment (the
# CI's 20 minutes do not hold all nine pairs; tests/evaluation/test_evaluate_resume.py kills evaluations more).
CASES = [
    ("evaluate", "middle task"),
    ("sft", "evaluation before"),
    ("sft", "training"),
    ("ppo", "training"),
    ("ppo", "evaluation after"),
]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, data_cache) -> dict[str, Path]:
    runs = {}
    for kind in ("evaluate", "sft", "ppo"):
        run = tmp_path_factory.mktemp(f"whole-{kind}") / "run"
        result = run_cli(*command(kind, run, data_cache))
        assert result.returncode == 0, result.stderr[-3000:]
        runs[kind] = run
    return runs


def outputs(run: Path) -> dict[str, bytes]:
    names = ["metrics.json", "metrics_before.json", "adapter/adapter_model.safetensors"]
    return {name: (run / name).read_bytes() for name in names if (run / name).is_file()}


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "moment"), CASES)
def test_a_killed_run_resumed_equals_an_uninterrupted_one(kind, moment, uninterrupted, tmp_path, data_cache):
    run = tmp_path / "run"
    args = command(kind, run, data_cache)
    kill_when(args, lambda: MOMENTS[stage(kind)][moment](run))
    assert not (run / "metrics.json").exists()  # killed before the end
    resume = [*args, "ckpt_path=last"] if checkpointed(run) else args
    result = run_cli(*resume)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = outputs(uninterrupted[kind])
    assert set(outputs(run)) == set(expected)
    for name, data in expected.items():
        assert outputs(run)[name] == data, f"{name} differs from the uninterrupted run's"
