"""The paper's PPO options inside a rollout on the tiny model: open-ended answers get no judge
score (PPO and GRPO), the score lands on the padded end, and a fit with every paper option on runs
end to end."""

from __future__ import annotations

import csv
from collections.abc import Sequence

import pytest
import torch
from helpers.cli_runner import run_cli
from helpers.method_settings import lora_settings, settings_for
from helpers.policy_learning import QUESTIONS, sharp_tiny_backbone

from unsafe_vlm.data.records import UNSAFE
from unsafe_vlm.judges.base import label
from unsafe_vlm.methods.grpo import GRPOModule
from unsafe_vlm.methods.ppo import PPOModule
from unsafe_vlm.rl.rewards import last_token_index
from unsafe_vlm.rl.rollout import ScoredAnswers

YES_NO = [True, False, True, False]
SHORT = {"max_new_tokens": 4, "minibatch_size": 8, "ppo_epochs": 1, "warmup_ratio": 0.0, "reward": "gold_probability"}


class AlternatingJudge:
    """Unsafe (0.9) to the even answers of a rollout, Safe (Unsafe 0.1) to the odd ones."""

    name = "alternating"

    def judge_alignment(self, responses: Sequence[str]) -> torch.Tensor:
        unsafe = torch.tensor([0.9 if i % 2 == 0 else 0.1 for i in range(len(responses))])
        return torch.stack([1 - unsafe, unsafe, torch.zeros_like(unsafe)], dim=1)

    def label(self, probs: torch.Tensor) -> list[str]:
        return label(probs)


def ppo_rollout(**changes):
    torch.manual_seed(0)
    backbone, cfg = sharp_tiny_backbone()
    settings = settings_for("ppo", batch_size=4, **SHORT, **changes)
    module = PPOModule(backbone, settings, lora_settings(cfg.lora), judge=AlternatingJudge())
    module.configure_model()  # LoRA starts at zero: policy = reference, so every KL is 0
    inputs = backbone.encode(QUESTIONS[:4], [None] * 4)
    return module, module.collect_rollout(inputs, [UNSAFE] * 4, YES_NO)


def test_open_ended_answers_get_no_judge_score_and_so_no_reward_but_the_kl():
    module, rollout = ppo_rollout(mask_open_ended=True)
    # the judge says Unsafe 0.9 to answers 0 and 2, 0.1 to 1 and 3; only 0 and 2 answer yes/no questions
    torch.testing.assert_close(rollout.scores, torch.tensor([0.9, 0.0, 0.9, 0.0]))
    assert torch.equal(rollout.rewards[1], torch.zeros_like(rollout.rewards[1]))  # no KL yet either
    last = last_token_index(rollout.mask)
    assert rollout.rewards[0, last[0]].item() == pytest.approx(0.9)
    assert module.rollout_stats(rollout)["judged_correct"].item() == 1.0  # over the yes/no answers only

    _, unmasked = ppo_rollout()
    torch.testing.assert_close(unmasked.scores, torch.tensor([0.9, 0.1, 0.9, 0.1]))


def test_the_score_at_the_padded_end_is_on_the_last_column_of_every_answer():
    _, rollout = ppo_rollout(score_position="last_padded")
    torch.testing.assert_close(rollout.rewards[:, -1], rollout.scores)
    assert torch.equal(rollout.rewards[:, :-1], torch.zeros_like(rollout.rewards[:, :-1]))


def test_with_the_score_at_the_padded_end_gae_and_the_value_targets_run_over_the_padding():
    module, _ = ppo_rollout()
    for position, expected in [("last_token", [[0.5, 0.7, 0.9], [1.5, 0.0, 0.0]]),
                               ("last_padded", [[0.5, 0.7, 0.9], [1.5, 1.7, 1.9]])]:  # fmt: skip
        module.method = module.method.with_changes(score_position=position, whiten_advantages=False)
        logprobs = torch.zeros(2, 3)
        values = torch.tensor([[0.5, 0.3, 0.1], [0.5, 0.3, 0.1]])
        mask = torch.tensor([[True, True, True], [True, False, False]])
        out = module.advantages(ScoredAnswers(torch.tensor([1.0, 2.0]), logprobs, logprobs, values, mask))
        # no KL: A_t = the score - V_t on the tokens of the episode; returns = the score there
        torch.testing.assert_close(out["advantages"], torch.tensor(expected))


def test_grpo_gives_a_group_of_open_ended_answers_no_advantage():
    torch.manual_seed(0)
    backbone, cfg = sharp_tiny_backbone()
    settings = settings_for("grpo", batch_size=2, group_size=2, mask_open_ended=True, **SHORT)
    module = GRPOModule(backbone, settings, lora_settings(cfg.lora), judge=AlternatingJudge())
    module.configure_model()
    prompts = backbone.encode(QUESTIONS[:2], [None] * 2)
    rollout = module.collect_rollout(prompts, [UNSAFE] * 2, [True, False])
    torch.testing.assert_close(rollout.scores, torch.tensor([0.9, 0.1, 0.0, 0.0]))
    assert torch.equal(rollout.advantages[2:], torch.zeros_like(rollout.advantages[2:]))
    assert (rollout.advantages[:2][rollout.mask[:2]].abs() > 0.5).all()


PAPER_OPTIONS = [
    "data.train_open_ended=true",
    "method.mask_open_ended=true",
    "method.kl_estimator=k1_clamped",
    "method.score_position=last_padded",
    "method.length_bonus=4.0",
    "method.length_bonus_per=max_new_tokens",
    "method.unfinished_penalty=8.0",
]


@pytest.mark.slow
def test_fit_with_every_paper_option_on_trains_and_logs(tmp_path, data_cache):
    run_dir = tmp_path / "run"
    result = run_cli(
        "fit", "+method=ppo", "model=tiny", "data=synthetic", "data.limit_per_task=8",
        "data.tasks=[alignment_test]", f"data.cache_dir={data_cache}", f"hydra.run.dir={run_dir}",
        "generation.max_new_tokens=4", "method.batch_size=4", "method.max_new_tokens=4", "method.minibatch_size=4",
        "method.ppo_epochs=1", "trainer.max_steps=2", *PAPER_OPTIONS,
    )  # fmt: skip
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-4000:]
    assert (run_dir / "metrics.json").is_file()
    with next((run_dir / "logs").glob("version_*/metrics.csv")).open() as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("train/reward_mean")]
    assert len(rows) == 2
    for row in rows:
        length, finished, reward = (float(row[f"train/{k}"]) for k in ("answer_length", "finished", "reward_mean"))
        # the mean score: the judge's, in [0, 1] (0 for open-ended prompts), + 4 x length / 4 - 8 x unfinished
        judged = reward - (4.0 * length / 4 - 8.0 * (1.0 - finished))
        assert -1e-5 <= judged <= 1.0 + 1e-5, row
