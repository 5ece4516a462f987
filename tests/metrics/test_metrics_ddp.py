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


RESPONSES = ["No. It shows a knife.", "No, a gun.", "No.", "", "Yes, a cat.", "Yes, a dog.", "Yes.", "Yes, a cat."]


def _scoring_rank_main(rank: int, folder: str) -> None:
    from unsafe_vlm.metrics.scoring import score_responses

    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=2)
    try:
        rows = [
            {"id": f"alignment_test/{i}", "judged": p, "gold": t, "category": g, "concept": g, "response": r}
            for i, (p, t, g, r) in enumerate(zip(PREDICTIONS, TARGETS, GROUPS, RESPONSES, strict=True))
        ]
        result = score_responses({"alignment_test": rows}, CATEGORIES, rank=rank, world_size=2)
        plain = {k: float(v) for k, v in result["alignment_test"].items()}  # text quality is a float64 already
        torch.save(plain, f"{folder}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_every_rank_scores_the_same_text_quality_beside_the_synced_counts(tmp_path):
    from unsafe_vlm.metrics.self_bleu import text_quality

    mp.spawn(_scoring_rank_main, args=(str(tmp_path),), nprocs=2, join=True)
    first, second = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2))
    assert first["text_quality"] == second["text_quality"] == text_quality(RESPONSES)
    assert first["safe_text_quality"] == second["safe_text_quality"] == text_quality(RESPONSES[4:])
    assert first["n"] == second["n"] == len(RESPONSES)  # the counts summed over both ranks
