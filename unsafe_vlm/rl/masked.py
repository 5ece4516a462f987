"""Statistics over the real tokens of padded (B, T) tensors, all-reduced across DDP ranks if asked."""

from __future__ import annotations

import torch
import torch.distributed as dist


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is True (0 if the mask is empty)."""
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def masked_sum_stats(values: torch.Tensor, mask: torch.Tensor, *, all_reduce: bool = False) -> torch.Tensor:
    """[sum, sum of squares, count] of the masked values, summed over ranks when all_reduce."""
    mask = mask.to(values.dtype)
    stats = torch.stack([(values * mask).sum(), (values.square() * mask).sum(), mask.sum()])
    if all_reduce and dist.is_available() and dist.is_initialized():
        dist.all_reduce(stats)
    return stats


def masked_whiten(values: torch.Tensor, mask: torch.Tensor, *, all_reduce: bool = False) -> torch.Tensor:
    """(values - mean) / std over the masked tokens of every rank; padding comes out 0.

    The variance is the unbiased one (n - 1); with a single token the std is taken as 1.
    """
    total, total_sq, count = masked_sum_stats(values.float(), mask, all_reduce=all_reduce)
    mean = total / count.clamp(min=1.0)
    variance = (total_sq - count * mean.square()) / (count - 1.0).clamp(min=1.0)
    std = torch.where(count > 1, variance.clamp(min=0.0).sqrt(), torch.ones_like(variance))  # no host sync
    whitened = (values.float() - mean) / (std + 1e-8)
    return whitened.masked_fill(~mask.bool(), 0.0).to(values.dtype)
