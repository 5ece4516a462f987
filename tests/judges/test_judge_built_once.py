"""Each command builds its judge once and hands it down: evaluate, fit with PPO (the evaluations
before and after training and the reward share one judge) and rejudge."""

from __future__ import annotations

import sys

import pytest

from unsafe_vlm.cli import main
from unsafe_vlm.judges.rule import RuleJudge

TINY = ("model=tiny", "data=synthetic", "data.limit_per_task=2", "data.tasks=[alignment_image]",
        "generation.max_new_tokens=2")  # fmt: skip


@pytest.fixture
def built(monkeypatch) -> list[str]:
    """The class of every rule judge constructed from now on."""
    made: list[str] = []
    construct = RuleJudge.__init__

    def counting(self, *args, **kwargs):
        made.append(type(self).__name__)
        construct(self, *args, **kwargs)

    monkeypatch.setattr(RuleJudge, "__init__", counting)
    monkeypatch.setattr(sys, "argv", ["unsafe_vlm"])
    return made


def test_evaluate_builds_one_judge(built, tmp_path, data_cache):
    main(["evaluate", *TINY, f"data.cache_dir={data_cache}", f"hydra.run.dir={tmp_path / 'run'}"])
    assert (tmp_path / "run" / "metrics.json").is_file()
    assert built == ["RuleJudge"]


@pytest.mark.slow
def test_fit_with_ppo_builds_one_judge_for_both_evaluations_and_the_reward(built, tmp_path, data_cache):
    main([
        "fit", "+method=ppo", *TINY, f"data.cache_dir={data_cache}", f"hydra.run.dir={tmp_path / 'run'}",
        "method.batch_size=2", "method.minibatch_size=2", "method.ppo_epochs=1", "method.max_new_tokens=2",
        "trainer.max_steps=1",
    ])  # fmt: skip
    assert (tmp_path / "run" / "metrics_before.json").is_file() and (tmp_path / "run" / "metrics.json").is_file()
    assert built == ["RuleJudge"]


def test_rejudge_builds_one_judge(built, tmp_path, data_cache):
    run = tmp_path / "run"
    main(["evaluate", *TINY, f"data.cache_dir={data_cache}", f"hydra.run.dir={run}"])
    built.clear()
    main(["rejudge", str(run), "judge.smoothing=0.1"])
    assert (run / "rejudged").is_dir()
    assert built == ["RuleJudge"]
