"""The paper's train/test split: 80/20 per unsafe concept; safe images 80/20, cut to balance.

The random draws follow the released code's order (one ``random.Random(seed)`` shuffling
each concept's images in turn, concepts sorted by name; a fresh one for the safe images),
so seed 2024 gives the same membership as the paper's split.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass

from unsafe_vlm.data.samples import ImageSample

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    train: tuple[ImageSample, ...]
    test: tuple[ImageSample, ...]


def split_unsafe(samples: Sequence[ImageSample], seed: int, train_ratio: float = 0.8) -> Split:
    """Per concept: shuffle its images (in metadata order) and put ``int(n * train_ratio)`` in train."""
    rng = random.Random(seed)
    train: list[ImageSample] = []
    test: list[ImageSample] = []
    for concept in sorted({s.concept for s in samples}):
        items = [s for s in samples if s.concept == concept]
        cut = int(len(items) * train_ratio)
        rng.shuffle(items)
        train += items[:cut]
        test += items[cut:]
    return Split(train=tuple(train), test=tuple(test))


def split_safe(samples: Sequence[ImageSample], seed: int, train_ratio: float = 0.8) -> Split:
    """Shuffle all safe images together and put ``int(n * train_ratio)`` in train."""
    items = list(samples)
    random.Random(seed).shuffle(items)
    cut = int(len(items) * train_ratio)
    return Split(train=tuple(items[:cut]), test=tuple(items[cut:]))


def truncate_to(safe: Sequence[ImageSample], size: int, part: str) -> tuple[ImageSample, ...]:
    """Keep the first ``size`` safe images so the part is balanced; say so if there are fewer."""
    if len(safe) < size:
        log.warning(
            "safe %s images: only %d for %d unsafe ones; the %s split is not balanced", part, len(safe), size, part
        )
    return tuple(safe[:size])


def balanced_split(
    unsafe: Sequence[ImageSample], safe: Sequence[ImageSample], seed: int, train_ratio: float = 0.8
) -> tuple[Split, Split]:
    """Return ``(unsafe_split, safe_split)`` with each safe part cut to its unsafe part's size."""
    unsafe_split = split_unsafe(unsafe, seed, train_ratio)
    safe_split = split_safe(safe, seed, train_ratio)
    return unsafe_split, Split(
        train=truncate_to(safe_split.train, len(unsafe_split.train), "train"),
        test=truncate_to(safe_split.test, len(unsafe_split.test), "test"),
    )
