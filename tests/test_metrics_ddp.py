"""The metrics under a real two-process gloo group: each rank sees half, both compute the global scores."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from unsafe_vlm.metrics import AlignmentTestAccuracy

CATEGORIES = ["Hate", "Self-harm", "Safe"]
PREDICTIONS = ["Unsafe", "Safe", "N/A", "Unsafe", "Safe", "Safe", "N/A", "Unsafe"]
TARGETS = ["Unsafe", "Unsafe", "Unsafe", "Unsafe", "Safe", "Safe", "Safe", "Safe"]
GROUPS = ["Hate", "Hate", "Self-harm", "Self-harm", "Safe", "Safe", "Safe", "Safe"]


def _rank_main(rank: int, folder: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=2)
    try:
        metric = AlignmentTestAccuracy(CATEGORIES)
        shard = slice(rank, None, 2)  # ranks see different categories in different amounts
        metric.update(PREDICTIONS[shard], TARGETS[shard], GROUPS[shard])
        torch.save(metric.compute(), f"{folder}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_ranks_compute_the_single_process_scores(tmp_path):
    mp.spawn(_rank_main, args=(str(tmp_path),), nprocs=2, join=True)
    single = AlignmentTestAccuracy(CATEGORIES)
    single.update(PREDICTIONS, TARGETS, GROUPS)
    expected = single.compute()
    for rank in range(2):
        synced = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        for key in expected:
            assert torch.allclose(synced[key], expected[key], equal_nan=True), (rank, key)
