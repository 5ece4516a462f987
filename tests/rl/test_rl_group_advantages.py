"""GRPO's and RLOO's group advantages against values worked out by hand: groups of equal rewards
give zeros (not NaN), and padded tokens get nothing."""

from __future__ import annotations

import math

import pytest
import torch

from unsafe_vlm.rl.group_advantages import group_advantages, group_stats, token_advantages


def v(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def test_grpo_subtracts_the_group_mean_and_divides_by_its_std():
    # group [1, 0, 0, 1]: mean 0.5, unbiased std sqrt(4 * 0.25 / 3) = 0.57735; 0.5 / 0.57735 = 0.86603
    # group [3, 1]: mean 2, std sqrt(2); 1 / sqrt(2) = 0.70711
    a = 0.5 / math.sqrt(1 / 3)
    torch.testing.assert_close(group_advantages(v(1, 0, 0, 1), 4), v(a, -a, -a, a), atol=1e-5, rtol=0)
    b = 1 / math.sqrt(2)
    torch.testing.assert_close(group_advantages(v(3, 1, 0, 2), 2), v(b, -b, -b, b), atol=1e-5, rtol=0)


def test_without_the_std_the_advantage_is_the_reward_minus_the_group_mean():
    # Dr. GRPO: [0.9, 0.5, 0.1] - 0.5
    torch.testing.assert_close(group_advantages(v(0.9, 0.5, 0.1), 3, scale_by_std=False), v(0.4, 0.0, -0.4))


def test_rloo_subtracts_the_mean_of_the_other_answers():
    # [1, 0, 0, 1]: 1 - (0 + 0 + 1) / 3 = 2/3, 0 - (1 + 0 + 1) / 3 = -2/3; [3, 1]: 3 - 1, 1 - 3
    rloo = group_advantages(v(1, 0, 0, 1), 4, baseline="rloo", scale_by_std=False)
    torch.testing.assert_close(rloo, v(2 / 3, -2 / 3, -2 / 3, 2 / 3))
    torch.testing.assert_close(group_advantages(v(3, 1), 2, baseline="rloo", scale_by_std=False), v(2, -2))


def test_rloo_is_the_mean_baseline_scaled_by_g_over_g_minus_one():
    rewards = torch.rand(24, generator=torch.Generator().manual_seed(0))
    for size in (2, 3, 4, 6):
        for scale in (False, True):
            rloo = group_advantages(rewards, size, baseline="rloo", scale_by_std=scale)
            mean = group_advantages(rewards, size, baseline="mean", scale_by_std=scale)
            torch.testing.assert_close(rloo, mean * size / (size - 1))


@pytest.mark.parametrize("baseline", ["mean", "rloo"])
@pytest.mark.parametrize("scale", [True, False])
def test_a_group_of_equal_rewards_gets_zero_advantages_not_nan(baseline, scale):
    advantages = group_advantages(v(1, 0, 0, 1, 0.2, 0.2, 0.2, 0.2), 4, baseline=baseline, scale_by_std=scale)
    assert torch.isfinite(advantages).all()
    assert torch.equal(advantages[4:], torch.zeros(4))
    assert (advantages[:4] != 0).all()


def test_every_group_is_normalised_on_its_own():
    # the same rewards shifted by 10 in the second group: the same advantages
    advantages = group_advantages(v(0.1, 0.7, 0.4, 10.1, 10.7, 10.4), 3)
    torch.testing.assert_close(advantages[:3], advantages[3:], atol=1e-4, rtol=0)


def test_each_answer_gets_its_advantage_on_every_real_token_and_padding_none():
    mask = torch.tensor([[True, True, False], [True, False, False], [False, False, False]])
    expected = torch.tensor([[0.5, 0.5, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert torch.equal(token_advantages(v(0.5, -1.0, 3.0), mask), expected)


def test_group_stats_give_the_mean_std_and_the_share_of_groups_without_signal():
    stats = group_stats(v(1, 0, 0, 1, 0.2, 0.2, 0.2, 0.2), 4)
    torch.testing.assert_close(stats.reward_std, torch.tensor(math.sqrt(1 / 3) / 2))
    assert stats.no_signal.item() == 0.5


def test_groups_that_cannot_be_formed_are_refused():
    with pytest.raises(ValueError, match="group_size: 1 must be at least 2"):
        group_advantages(v(1, 0), 1)
    with pytest.raises(ValueError, match=r"shape \(5,\) do not split into groups of 2"):
        group_advantages(v(1, 0, 1, 0, 1), 2)
    with pytest.raises(ValueError, match="unknown baseline 'median'"):
        group_advantages(v(1, 0), 2, baseline="median")
