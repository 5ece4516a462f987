"""Linear warm-up then cosine decay to zero, as a multiplier of the base learning rate."""

from __future__ import annotations

import math

import torch


def warmup_cosine(step: int, *, total_steps: int, warmup_steps: int) -> float:
    """The learning-rate factor at ``step`` (0-based) of ``total_steps``."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    remaining = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / remaining)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_cosine_scheduler(
    optimizer: torch.optim.Optimizer, *, total_steps: int, warmup_ratio: float
) -> torch.optim.lr_scheduler.LambdaLR:
    warmup_steps = int(round(warmup_ratio * total_steps))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_cosine(step, total_steps=total_steps, warmup_steps=warmup_steps)
    )
