"""The synthetic generator's parameters, and the cache key they make."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

GENERATOR_VERSION = 2  # bump when the drawing changes, so cached data sets are made anew


@dataclass(frozen=True)
class SynthParams:
    seed: int = 0  # same seed, same bytes
    image_size: int = 32  # side of every image in pixels
    images_per_concept: int = 20  # images of each unsafe concept (when published_counts is false)
    published_counts: bool = False  # true: as many images per unsafe concept as the real benchmark (1,567)
    safe_images_per_concept: int | None = None  # None: just enough for the safe side to balance after the split
    safe_concepts: int | None = None  # how many names of data/safe_concepts.txt to use; None: all
    train_ratio: float = 0.8  # the split the safe side is sized for
    noise: float = 6.0  # standard deviation of the pixel noise (0-255 scale)
    supersample: int = 4  # drawing resolution factor before the box-filter downscale

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> SynthParams:
        """Build from plain values; keys that are not parameters are an error naming the valid ones."""
        if values is None:
            return cls()
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown synthetic parameter(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}")
        params = cls(**values)
        params.check()
        return params

    def check(self) -> None:
        if self.image_size < 8 or self.supersample < 1 or self.noise < 0:
            raise ValueError(f"synthetic: need image_size >= 8, supersample >= 1, noise >= 0; got {self}")
        if self.images_per_concept < 1 or (self.safe_images_per_concept or 1) < 1 or (self.safe_concepts or 1) < 1:
            raise ValueError(f"synthetic: image and concept counts must be at least 1; got {self}")
        if not 0 < self.train_ratio < 1:
            raise ValueError(f"synthetic: train_ratio must lie between 0 and 1, got {self.train_ratio}")

    def cache_key(self) -> str:
        """16 hex digits that change with any parameter or the generator's version."""
        text = json.dumps({"version": GENERATOR_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
