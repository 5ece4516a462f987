"""Seeded choices keyed by name, so each record's draw depends only on (seed, key), not on order."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def keyed_rng(seed: int, key: str) -> random.Random:
    """A generator of its own for one record: same seed and key, same draws, on any platform."""
    return random.Random(f"{seed}/{key}")


def question_index(seed: int, key: str, count: int) -> int:
    """Which of ``count`` questions the record under ``key`` gets."""
    return keyed_rng(seed, key).randrange(count)


def limit(items: Sequence[T], cap: int | None, seed: int, key: str) -> list[T]:
    """A seeded subset of at most ``cap`` items, in their original order (all of them when None)."""
    if cap is None or cap >= len(items):
        return list(items)
    if cap < 1:
        raise ValueError(f"limit_per_task must be at least 1, got {cap}")
    kept = sorted(keyed_rng(seed, f"limit/{key}").sample(range(len(items)), cap))
    return [items[i] for i in kept]
