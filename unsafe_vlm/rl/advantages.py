"""Generalised advantage estimation over right-padded answers."""

from __future__ import annotations

import torch


def discount_matrix(length: int, factor: float, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """(T, T) upper-triangular matrix with factor ** (s - t) at [t, s] for s >= t."""
    steps = torch.arange(length, device=device, dtype=dtype)
    offsets = steps.unsqueeze(0) - steps.unsqueeze(1)
    powers = torch.pow(torch.tensor(factor, device=device, dtype=dtype), offsets.clamp(min=0))
    return torch.where(offsets >= 0, powers, torch.zeros_like(powers))


def generalised_advantages(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, *, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE without a Python loop over tokens.

    rewards, values: (B, T) per answer token; mask: (B, T) bool, a contiguous prefix per row
    (right padding). The value after a row's last real token is 0 (the episode ends there).

        delta_t = r_t + gamma * V_{t+1} - V_t
        A_t     = sum_{s >= t} (gamma * lam) ** (s - t) * delta_s

    Returns advantages (B, T) and returns = advantages + values, both 0 on padding.
    """
    mask_f = mask.to(values.dtype)
    values = values * mask_f
    next_values = torch.cat([values[:, 1:], torch.zeros_like(values[:, :1])], dim=1)
    deltas = (rewards + gamma * next_values - values) * mask_f
    weights = discount_matrix(rewards.shape[1], gamma * lam, device=rewards.device, dtype=deltas.dtype)
    advantages = (deltas @ weights.T) * mask_f
    return advantages, (advantages + values) * mask_f
