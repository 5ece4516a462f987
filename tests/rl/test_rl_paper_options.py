"""The paper's PPO code details, as options of the reward math, against values worked out by hand:
the clamped k1 KL, the score at the padded end, the length bonus per max_new_tokens and the
reward mask of open-ended prompts; and the defaults, which must give today's numbers bit for bit."""

from __future__ import annotations

import math

import pytest
import torch

from unsafe_vlm.rl.advantages import generalised_advantages
from unsafe_vlm.rl.masked import masked_whiten
from unsafe_vlm.rl.rewards import (
    adjusted_scores,
    episode_mask,
    judge_scores,
    kl_estimate,
    min_max_normalise,
    shaped_rewards,
)


def t(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_the_clamped_k1_is_the_log_ratio_where_positive_and_zero_below_the_reference():
    logp = torch.log(t([0.5, 0.25, 0.4]))
    ref = torch.log(t([0.25, 0.5, 0.4]))
    torch.testing.assert_close(kl_estimate(logp, ref, estimator="k1_clamped"), t([math.log(2), 0.0, 0.0]))
    torch.testing.assert_close(kl_estimate(logp, ref, estimator="k1"), t([math.log(2), -math.log(2), 0.0]))
    with pytest.raises(ValueError, match="method.kl_estimator: unknown estimator 'k2'; use k1, k1_clamped, k3"):
        kl_estimate(logp, ref, estimator="k2")


KL = t([0.1, 0.2, 0.3], [0.5, 0.5, 0.5])
MASK = torch.tensor([[True, True, True], [True, False, False]])


def test_the_score_at_the_padded_end_lands_on_the_last_column_and_padding_carries_no_kl():
    rewards = shaped_rewards(torch.tensor([1.0, 2.0]), KL, MASK, kl_coef=0.1, score_position="last_padded")
    torch.testing.assert_close(rewards, t([-0.01, -0.02, 0.97], [-0.05, 0.0, 2.0]))
    ours = shaped_rewards(torch.tensor([1.0, 2.0]), KL, MASK, kl_coef=0.1, score_position="last_token")
    torch.testing.assert_close(ours, t([-0.01, -0.02, 0.97], [1.95, 0.0, 0.0]))
    with pytest.raises(ValueError, match="method.score_position: unknown position 'end'"):
        shaped_rewards(torch.tensor([1.0, 2.0]), KL, MASK, kl_coef=0.1, score_position="end")


def test_the_episode_spans_the_padding_only_when_the_score_is_at_the_padded_end():
    assert episode_mask(MASK, "last_token") is MASK
    assert torch.equal(episode_mask(MASK, "last_padded"), torch.ones(2, 3, dtype=torch.bool))


def test_with_gamma_one_the_padded_score_reaches_the_answer_undiscounted_and_discounted_below_one():
    rewards = t([-0.05, 0.0, 2.0])  # the short row above: one real token, the score two columns later
    values = t([0.5, 0.3, 0.1])
    episode = torch.ones(1, 3, dtype=torch.bool)
    # gamma = lambda = 1: deltas -0.25, -0.2, 1.9; A_0 = 1.45 = r_0 + score - V_0, as with the score on token 0
    advantages, returns = generalised_advantages(rewards, values, episode, gamma=1.0, lam=1.0)
    torch.testing.assert_close(advantages, t([1.45, 1.7, 1.9]))
    torch.testing.assert_close(returns, t([1.95, 2.0, 2.0]))
    ours, _ = generalised_advantages(t([1.95, 0.0, 0.0]), values, MASK[1:], gamma=1.0, lam=1.0)
    assert ours[0, 0].item() == pytest.approx(advantages[0, 0].item())
    # gamma 0.5, lambda 1: A_0 = r_0 + 0.5 r_1 + 0.25 score - V_0 = -0.05 + 0.5 - 0.5
    advantages, _ = generalised_advantages(rewards, values, episode, gamma=0.5, lam=1.0)
    torch.testing.assert_close(advantages, t([-0.05, 0.7, 1.9]))


def test_the_papers_length_bonus_is_a_share_of_max_new_tokens_and_the_penalty_comes_off():
    scores = adjusted_scores(torch.tensor([0.5, 0.2]), torch.tensor([4, 10]), torch.tensor([True, False]),
                             length_bonus=4.0, unfinished_penalty=8.0, max_length=16)  # fmt: skip
    torch.testing.assert_close(scores, torch.tensor([0.5 + 4.0 * 4 / 16, 0.2 + 4.0 * 10 / 16 - 8.0]))
    per_token = adjusted_scores(torch.tensor([0.5, 0.2]), torch.tensor([4, 10]), torch.tensor([True, False]),
                                length_bonus=0.25, unfinished_penalty=0.0)  # fmt: skip
    torch.testing.assert_close(per_token, torch.tensor([1.5, 2.7]))


PROBABILITIES = t([0.9, 0.1], [0.5, 0.5], [0.2, 0.8], [0.99, 0.01])
GOLD = torch.tensor([0, 0, 0, 0])


def test_masked_answers_score_zero_and_leave_the_normalisation_to_the_yes_no_answers():
    scored = torch.tensor([True, True, True, False])
    low, high = math.log(0.2), math.log(0.9)  # the open-ended answer's 0.99 is no maximum
    expected = torch.tensor([1.0, (math.log(0.5) - low) / (high - low), 0.0, 0.0])
    torch.testing.assert_close(judge_scores(PROBABILITIES, GOLD, scored=scored), expected)
    gold_probability = judge_scores(PROBABILITIES, GOLD, kind="gold_probability", scored=scored)
    torch.testing.assert_close(gold_probability, torch.tensor([0.9, 0.5, 0.2, 0.0]))


def test_a_batch_with_no_yes_no_answer_scores_zero_everywhere():
    scores = min_max_normalise(torch.tensor([-0.1, -2.0]), torch.tensor([False, False]))
    assert torch.equal(scores, torch.zeros(2))


def test_the_defaults_give_todays_scores_rewards_and_advantages_bit_for_bit():
    """Today's pipeline written out with the formulas it had before these options existed."""
    torch.manual_seed(0)
    batch, width = 6, 5
    lengths = torch.tensor([5, 3, 1, 4, 2, 5])
    mask = torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)
    logprobs = torch.randn(batch, width).masked_fill(~mask, 0.0)
    ref_logprobs = torch.randn(batch, width).masked_fill(~mask, 0.0)
    values = torch.randn(batch, width)
    probabilities = torch.softmax(torch.randn(batch, 3), dim=1)
    gold = torch.tensor([0, 1, 0, 1, 1, 0])
    finished = torch.tensor([False, True, True, True, True, False])

    log_gold = torch.log(probabilities.gather(1, gold.unsqueeze(1)).squeeze(1).clamp(min=1e-8))
    today_scores = (log_gold - log_gold.min()) / (log_gold.max() - log_gold.min())
    today_scores = today_scores + 0.01 * lengths.float() - 0.5 * (~finished).float()
    today_rewards = -0.1 * (logprobs - ref_logprobs) * mask.float()
    today_rewards[torch.arange(batch), lengths - 1] += today_scores
    today_rewards = today_rewards * mask.float()
    today_advantages, today_returns = generalised_advantages(today_rewards, values, mask, gamma=1.0, lam=1.0)
    today_advantages = masked_whiten(today_advantages, mask)

    scores = adjusted_scores(judge_scores(probabilities, gold), lengths, finished,
                             length_bonus=0.01, unfinished_penalty=0.5)  # fmt: skip
    kl = kl_estimate(logprobs, ref_logprobs, estimator="k1")
    rewards = shaped_rewards(scores, kl, mask, kl_coef=0.1, score_position="last_token")
    episode = episode_mask(mask, "last_token")
    advantages, returns = generalised_advantages(rewards, values, episode, gamma=1.0, lam=1.0)
    advantages = masked_whiten(advantages, episode)
    assert torch.equal(scores, today_scores)
    assert torch.equal(rewards, today_rewards)
    assert torch.equal(advantages, today_advantages)
    assert torch.equal(returns, today_returns)
