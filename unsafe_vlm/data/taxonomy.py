"""The unsafe concepts and their categories (from the published metadata) and the safe concepts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.files import read_jsonl, require_strings
from unsafe_vlm.paths import DATA_DIR, UNSAFE_CONCEPTS_DIR

SAFE_CATEGORY = "Safe"
"""The category of every safe (ImageNet-side) image."""

PUBLISHED_METADATA = UNSAFE_CONCEPTS_DIR / "metadata.jsonl"
SAFE_CONCEPTS_FILE = DATA_DIR / "safe_concepts.txt"


@dataclass(frozen=True)
class Taxonomy:
    """Unsafe concepts and categories, each in order of first appearance in the metadata."""

    categories: tuple[str, ...]
    concepts: tuple[str, ...]
    category_of: dict[str, str]

    def concepts_in(self, category: str) -> tuple[str, ...]:
        return tuple(c for c in self.concepts if self.category_of[c] == category)


def taxonomy_from_metadata(path: Path) -> Taxonomy:
    """Read the taxonomy from a metadata file (``category`` and ``unsafe_concept`` per row)."""
    category_of: dict[str, str] = {}
    for line, row in read_jsonl(path):
        require_strings(row, ("category", "unsafe_concept"), path, line)
        concept, category = row["unsafe_concept"], row["category"]
        known = category_of.setdefault(concept, category)
        if known != category:
            raise DataError(path, f"concept {concept!r} is in category {category!r} here but {known!r} before", line)
    categories = tuple(dict.fromkeys(category_of.values()))
    return Taxonomy(categories=categories, concepts=tuple(category_of), category_of=category_of)


@lru_cache(maxsize=1)
def published_taxonomy() -> Taxonomy:
    """The 75 unsafe concepts in 9 categories of the published UnsafeConcepts benchmark."""
    return taxonomy_from_metadata(PUBLISHED_METADATA)


def read_concept_list(path: Path = SAFE_CONCEPTS_FILE) -> tuple[str, ...]:
    """Read a list of concept names, one a line (``#`` starts a comment line); no duplicates."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        if name.casefold() in seen:
            raise DataError(path, f"concept {name!r} repeats line {seen[name.casefold()]}", number)
        seen[name.casefold()] = number
        names.append(name)
    if not names:
        raise DataError(path, "no concept names")
    return tuple(names)


@lru_cache(maxsize=1)
def safe_concepts() -> tuple[str, ...]:
    """The suite's own list of ordinary (ImageNet-style) object classes for the safe side."""
    return read_concept_list(SAFE_CONCEPTS_FILE)
