"""Read the safe side: a folder of ordinary images (ImageNet-1k in the paper), each named by its concept.

::

    safe_root/
      metadata.jsonl    {"image_filename": "images/<i>.png", "concept": "goldfish"}  ("category": "Safe" optional)
      images/<i>.png
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from unsafe_vlm.data.benchmark import METADATA
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.image_files import resolve_image_path, verify_image
from unsafe_vlm.data.jsonl import read_jsonl, require_strings
from unsafe_vlm.data.samples import ImageSample
from unsafe_vlm.data.taxonomy import SAFE_CATEGORY, published_taxonomy


def load_safe_images(
    root: str | Path,
    *,
    vocabulary: Collection[str] | None = None,
    verify_images: bool = False,
) -> list[ImageSample]:
    """Read every safe image, checking each row; fail on the first bad one.

    Args:
        root: the folder holding ``metadata.jsonl``; image paths are relative to it.
        vocabulary: the allowed concept names; any name when None (ImageNet's 1,000 classes
            are not shipped). A name of an unsafe concept is always an error.
        verify_images: also check that each image decodes.

    Returns:
        One sample per row, in file order, with category ``"Safe"``.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(root, "safe data root is not a folder")
    metadata = root / METADATA
    unsafe = {c.casefold() for c in published_taxonomy().concepts}
    allowed = None if vocabulary is None else set(vocabulary)
    samples = []
    first_row: dict[Path, int] = {}
    for line, row in read_jsonl(metadata):
        require_strings(row, ("image_filename", "concept"), metadata, line)
        concept = row["concept"]
        if row.get("category", SAFE_CATEGORY) != SAFE_CATEGORY:
            raise DataError(metadata, f"unknown category {row['category']!r} for a safe image (expected 'Safe')", line)
        if concept.casefold() in unsafe:
            raise DataError(metadata, f"concept {concept!r} is an unsafe concept, not a safe one", line)
        if allowed is not None and concept not in allowed:
            raise DataError(metadata, f"unknown concept {concept!r} (not in the safe concept list)", line)
        image = resolve_image_path(root, row["image_filename"], metadata, line)
        if image in first_row:
            raise DataError(metadata, f"image {image} is already listed on line {first_row[image]}", line)
        first_row[image] = line
        if verify_images:
            verify_image(image, metadata, line)
        samples.append(
            ImageSample(
                index=line - 1, image=image, concept=concept, category=SAFE_CATEGORY, source=f"{metadata}:{line}"
            )
        )
    return samples
