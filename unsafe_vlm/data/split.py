"""Seeded choices and the paper's train/test split.

Choices are keyed by name, so each record's draw depends only on (seed, key), not on order.
The split: 80/20 per unsafe concept; safe images 80/20, cut to balance.

The random draws follow the released code's order (one ``random.Random(seed)`` shuffling
each concept's images in turn, concepts sorted by name; a fresh one for the safe images),
so seed 2024 gives the same membership as the paper's split.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from unsafe_vlm.data.records import LETTERS, Sample

log = logging.getLogger(__name__)
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


def draw_options(concept: str, pool: Sequence[str], rng: random.Random) -> tuple[tuple[str, ...], str]:
    """Put ``concept`` and three distractors from ``pool`` at random places; return ``(options, letter)``."""
    distractors = rng.sample([c for c in pool if c != concept], len(LETTERS) - 1)
    position = rng.randrange(len(LETTERS))
    options = distractors[:position] + [concept] + distractors[position:]
    return tuple(options), LETTERS[position]


@dataclass(frozen=True)
class Split:
    train: tuple[Sample, ...]
    test: tuple[Sample, ...]


def split_unsafe(samples: Sequence[Sample], seed: int, train_ratio: float = 0.8) -> Split:
    """Per concept: shuffle its images (in metadata order) and put ``int(n * train_ratio)`` in train."""
    rng = random.Random(seed)
    train: list[Sample] = []
    test: list[Sample] = []
    for concept in sorted({s.concept for s in samples}):
        items = [s for s in samples if s.concept == concept]
        cut = int(len(items) * train_ratio)
        rng.shuffle(items)
        train += items[:cut]
        test += items[cut:]
    return Split(train=tuple(train), test=tuple(test))


def split_safe(samples: Sequence[Sample], seed: int, train_ratio: float = 0.8) -> Split:
    """Shuffle all safe images together and put ``int(n * train_ratio)`` in train."""
    items = list(samples)
    random.Random(seed).shuffle(items)
    cut = int(len(items) * train_ratio)
    return Split(train=tuple(items[:cut]), test=tuple(items[cut:]))


def truncate_to(safe: Sequence[Sample], size: int, part: str) -> tuple[Sample, ...]:
    """Keep the first ``size`` safe images so the part is balanced; say so if there are fewer."""
    if len(safe) < size:
        log.warning(
            "safe %s images: only %d for %d unsafe ones; the %s split is not balanced", part, len(safe), size, part
        )
    return tuple(safe[:size])


def balanced_split(
    unsafe: Sequence[Sample], safe: Sequence[Sample], seed: int, train_ratio: float = 0.8
) -> tuple[Split, Split]:
    """Return ``(unsafe_split, safe_split)`` with each safe part cut to its unsafe part's size."""
    unsafe_split = split_unsafe(unsafe, seed, train_ratio)
    safe_split = split_safe(safe, seed, train_ratio)
    return unsafe_split, Split(
        train=truncate_to(safe_split.train, len(unsafe_split.train), "train"),
        test=truncate_to(safe_split.test, len(unsafe_split.test), "test"),
    )
