"""PPO and DPO math against values worked out by hand, and the masking of padded tokens."""

from __future__ import annotations

import math

import pytest
import torch

from unsafe_vlm.rl.advantages import generalised_advantages
from unsafe_vlm.rl.losses import (
    clipped_policy_loss,
    clipped_value_loss,
    dpo_loss,
    entropy_of_log_probabilities,
    token_entropy,
)
from unsafe_vlm.rl.masked import masked_mean, masked_whiten
from unsafe_vlm.rl.rewards import (
    adjusted_scores,
    judge_scores,
    kl_estimate,
    last_token_index,
    min_max_normalise,
    shaped_rewards,
)


def t(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def v(*values: float) -> torch.Tensor:
    """A (B,) tensor: one value per pair (DPO's summed log-probs)."""
    return torch.tensor(values, dtype=torch.float32)


def test_gae_with_gamma_lambda_one_returns_the_sum_of_future_rewards():
    # deltas = [0.6-0.5, 0.7-0.6, 1-0.7] = [0.1, 0.1, 0.3]; A_t = sum of deltas from t on
    advantages, returns = generalised_advantages(
        t([0.0, 0.0, 1.0]), t([0.5, 0.6, 0.7]), torch.ones(1, 3, dtype=torch.bool), gamma=1.0, lam=1.0
    )
    torch.testing.assert_close(advantages, t([0.5, 0.4, 0.3]))
    torch.testing.assert_close(returns, t([1.0, 1.0, 1.0]))


def test_gae_discounts_and_stops_at_the_last_real_token():
    # mask [1, 1, 0]: deltas = [1 + .5*1 - 1, 2 + 0 - 1, 0] = [.5, 1]; A_0 = .5 + .25 * 1
    advantages, returns = generalised_advantages(
        t([1.0, 2.0, 9.0]), t([1.0, 1.0, 5.0]), torch.tensor([[True, True, False]]), gamma=0.5, lam=0.5
    )
    torch.testing.assert_close(advantages, t([0.75, 1.0, 0.0]))
    torch.testing.assert_close(returns, t([1.75, 2.0, 0.0]))


def test_gae_equals_the_textbook_backward_loop():
    torch.manual_seed(0)
    rewards, values = torch.randn(4, 7), torch.randn(4, 7)
    lengths = torch.tensor([7, 5, 1, 3])
    mask = torch.arange(7).unsqueeze(0) < lengths.unsqueeze(1)
    gamma, lam = 0.9, 0.8
    expected = torch.zeros(4, 7)
    for row in range(4):
        running, n = 0.0, int(lengths[row])
        for step in reversed(range(n)):
            next_value = values[row, step + 1] if step + 1 < n else 0.0
            delta = rewards[row, step] + gamma * next_value - values[row, step]
            running = delta + gamma * lam * running
            expected[row, step] = running
    advantages, _ = generalised_advantages(rewards, values, mask, gamma=gamma, lam=lam)
    torch.testing.assert_close(advantages, expected)


def test_whitening_uses_only_real_tokens():
    whitened = masked_whiten(t([1.0, 2.0, 3.0, 100.0]), torch.tensor([[True, True, True, False]]))
    # mean 2, unbiased variance ((1)^2 + 0 + 1^2) / 2 = 1
    torch.testing.assert_close(whitened, t([-1.0, 0.0, 1.0, 0.0]), atol=1e-6, rtol=0)


def test_kl_estimators_by_hand():
    logp, ref = torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.25)])
    assert kl_estimate(logp, ref, estimator="k1").item() == pytest.approx(math.log(2))
    # k3 = (q/p - 1) - log(q/p) with q/p = 0.5
    assert kl_estimate(logp, ref, estimator="k3").item() == pytest.approx(-0.5 + math.log(2))
    with pytest.raises(ValueError, match="kl_estimator"):
        kl_estimate(logp, ref, estimator="k2")


def test_score_lands_on_the_last_real_token_not_the_padded_end():
    kl = t([0.1, 0.2, 0.3], [0.5, 0.5, 0.5])
    mask = torch.tensor([[True, True, True], [True, False, False]])
    rewards = shaped_rewards(torch.tensor([1.0, 2.0]), kl, mask, kl_coef=0.1)
    torch.testing.assert_close(rewards, t([-0.01, -0.02, 0.97], [1.95, 0.0, 0.0]))
    assert last_token_index(mask).tolist() == [2, 0]


def test_negative_cross_entropy_is_min_max_normalised():
    probabilities = t([0.9, 0.1], [0.5, 0.5], [0.2, 0.8])
    scores = judge_scores(probabilities, torch.tensor([0, 0, 0]))
    low, high = math.log(0.2), math.log(0.9)
    expected = torch.tensor([1.0, (math.log(0.5) - low) / (high - low), 0.0])
    torch.testing.assert_close(scores, expected)
    torch.testing.assert_close(judge_scores(probabilities, torch.tensor([1, 1, 1]), kind="gold_probability"),
                               torch.tensor([0.1, 0.5, 0.8]))


def test_min_max_of_an_all_equal_batch_does_not_divide_by_zero():
    scores = min_max_normalise(torch.tensor([-0.3, -0.3, -0.3]))
    assert torch.isfinite(scores).all()
    torch.testing.assert_close(scores, torch.full((3,), 0.5))


def test_length_bonus_and_unfinished_penalty():
    scores = adjusted_scores(torch.tensor([1.0, 1.0]), torch.tensor([4, 10]), torch.tensor([True, False]),
                             length_bonus=0.01, unfinished_penalty=0.5)
    torch.testing.assert_close(scores, torch.tensor([1.04, 0.6]))


def test_clipped_policy_loss_by_hand():
    ratios = torch.tensor([[1.5, 0.5, 1.1]])
    advantages = t([1.0, 1.0, -1.0])
    result = clipped_policy_loss(ratios.log(), torch.zeros(1, 3), advantages, torch.ones(1, 3, dtype=torch.bool),
                                 clip=0.2)
    # per token: max(-1.5, -1.2) = -1.2; max(-0.5, -0.8) = -0.5; max(1.1, 1.1) = 1.1
    assert result.loss.item() == pytest.approx((-1.2 - 0.5 + 1.1) / 3)
    assert result.clip_fraction.item() == pytest.approx(1 / 3)
    expected_kl = 0.5 * sum(math.log(r) ** 2 for r in (1.5, 0.5, 1.1)) / 3
    assert result.approx_kl.item() == pytest.approx(expected_kl)


def test_clipped_value_loss_by_hand():
    result = clipped_value_loss(t([0.5, -0.1]), torch.zeros(1, 2), t([1.0, 1.0]), torch.ones(1, 2, dtype=torch.bool),
                                clip=0.2)
    # token 0: clipped V = 0.2, errors 0.25 vs 0.64 -> 0.64; token 1: both 1.21
    assert result.loss.item() == pytest.approx(0.5 * (0.64 + 1.21) / 2)
    assert result.clip_fraction.item() == pytest.approx(0.5)
    assert result.error.item() == pytest.approx((0.25 + 1.21) / 2)


def test_dpo_loss_of_one_pair_by_hand():
    # chosen -1 vs ref -1.5: reward 0.1 * 0.5 = 0.05; rejected -2 vs ref -1.5: reward -0.05
    # loss = -log sigmoid(0.05 - (-0.05)) = log(1 + e^-0.1)
    result = dpo_loss(v(-1.0), v(-2.0), v(-1.5), v(-1.5), beta=0.1)
    assert result.loss.item() == pytest.approx(math.log(1 + math.exp(-0.1)), abs=1e-6)
    assert result.loss.item() == pytest.approx(0.6443967, abs=1e-6)
    torch.testing.assert_close(result.chosen_reward, v(0.05))
    torch.testing.assert_close(result.rejected_reward, v(-0.05))


def test_dpo_loss_is_the_mean_over_pairs_and_scales_with_beta():
    # pair 2, beta 0.5: chosen -3 vs ref -2 -> -0.5; rejected -1 vs ref -2 -> +0.5;
    # margin -1, loss log(1 + e^1) = 1.3132617. Pair 1 at beta 0.5: margin 0.5, loss log(1 + e^-0.5).
    result = dpo_loss(v(-1.0, -3.0), v(-2.0, -1.0), v(-1.5, -2.0), v(-1.5, -2.0), beta=0.5)
    expected = (math.log(1 + math.exp(-0.5)) + math.log(1 + math.exp(1.0))) / 2
    assert result.loss.item() == pytest.approx(expected, abs=1e-6)
    torch.testing.assert_close(result.chosen_reward, v(0.25, -0.5))
    torch.testing.assert_close(result.rejected_reward, v(-0.25, 0.5))
    margin = result.chosen_reward - result.rejected_reward
    assert (margin > 0).float().mean().item() == 0.5  # reward accuracy: one pair of two ranked right
    assert margin.mean().item() == pytest.approx(-0.25)  # reward margin: (0.5 - 1) / 2


def test_dpo_loss_is_log_two_when_the_policy_is_the_reference():
    logps = v(-4.0, -7.5, -0.3)
    result = dpo_loss(logps, logps - 1, logps, logps - 1, beta=0.1)
    assert result.loss.item() == pytest.approx(math.log(2), abs=1e-7)
    assert result.chosen_reward.abs().max().item() == 0 and result.rejected_reward.abs().max().item() == 0


def test_dpo_rewards_carry_no_gradient_but_the_loss_does():
    chosen = v(-1.0).requires_grad_()
    result = dpo_loss(chosen, v(-2.0), v(-1.5), v(-1.5), beta=0.1)
    result.loss.backward()
    # d/dc of -log sigmoid(beta * (c - r) + const) = -beta * (1 - sigmoid(0.1))
    assert chosen.grad.item() == pytest.approx(-0.1 * (1 - 1 / (1 + math.exp(-0.1))), abs=1e-7)
    assert not result.chosen_reward.requires_grad and not result.rejected_reward.requires_grad


def test_padded_tokens_change_nothing():
    torch.manual_seed(1)
    mask = torch.tensor([[True, True, True, False, False], [True, False, False, False, False]])
    base = {name: torch.randn(2, 5) for name in ("logp", "old", "adv", "values", "old_values", "returns", "rewards")}
    noisy = {name: torch.where(mask, x, torch.randn(2, 5) * 100) for name, x in base.items()}
    outputs = []
    for tensors in (base, noisy):
        policy = clipped_policy_loss(tensors["logp"], tensors["old"], tensors["adv"], mask, clip=0.2)
        value = clipped_value_loss(tensors["values"], tensors["old_values"], tensors["returns"], mask, clip=0.2)
        advantages, returns = generalised_advantages(tensors["rewards"], tensors["values"], mask, gamma=1.0, lam=0.95)
        outputs.append([policy.loss, policy.clip_fraction, value.loss, masked_whiten(tensors["adv"], mask),
                        advantages, returns, masked_mean(tensors["logp"], mask)])
    for clean, dirty in zip(*outputs, strict=True):
        torch.testing.assert_close(clean, dirty)


def test_entropy_of_a_uniform_distribution_is_log_v():
    assert token_entropy(torch.zeros(1, 1, 8)).item() == pytest.approx(math.log(8))


def test_entropy_from_log_probabilities_equals_entropy_from_logits():
    logits = torch.randn(2, 3, 7, generator=torch.Generator().manual_seed(0))
    log_probabilities = torch.log_softmax(logits, dim=-1)
    torch.testing.assert_close(entropy_of_log_probabilities(log_probabilities), token_entropy(logits))
