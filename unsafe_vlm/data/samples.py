"""One image of a data set, as read from its metadata row (before any task is built on it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from unsafe_vlm.data.taxonomy import SAFE_CATEGORY


@dataclass(frozen=True)
class ImageSample:
    """An image with its concept; ``options``/``correct_option`` only where perception metadata gave them."""

    index: int  # row number in its metadata file, from 0 (image i of the benchmark is row i)
    image: Path  # absolute path, checked to exist
    concept: str
    category: str  # one of the unsafe categories, or "Safe"
    source: str  # "metadata-file:line", for error messages
    options: tuple[str, ...] | None = None  # the four perception options, A to D
    correct_option: str | None = None  # "A".."D"

    @property
    def is_safe(self) -> bool:
        return self.category == SAFE_CATEGORY
