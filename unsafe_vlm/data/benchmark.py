"""Read the UnsafeConcepts benchmark in its published folder layout.

::

    root/
      metadata.jsonl              {"image_filename": "images/<i>.png", "category": ..., "unsafe_concept": ...}
      perception_metadata.jsonl   (optional) the same rows + "option_str" and "correct_option"
      images/<i>.png
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.image_files import resolve_image_path, verify_image
from unsafe_vlm.data.jsonl import read_jsonl, require_strings
from unsafe_vlm.data.perception_options import LETTERS, parse_option_str
from unsafe_vlm.data.samples import ImageSample
from unsafe_vlm.data.taxonomy import Taxonomy, published_taxonomy

METADATA = "metadata.jsonl"
PERCEPTION_METADATA = "perception_metadata.jsonl"
UNSAFE_FIELDS = ("image_filename", "category", "unsafe_concept")


def load_benchmark(
    root: str | Path,
    *,
    metadata_dir: str | Path | None = None,
    taxonomy: Taxonomy | None = None,
    verify_images: bool = False,
) -> list[ImageSample]:
    """Read every image of the benchmark, checking each row; fail on the first bad one.

    Args:
        root: the folder that image paths are relative to.
        metadata_dir: where ``metadata.jsonl`` (and ``perception_metadata.jsonl``) are;
            ``root`` when None.
        taxonomy: the known concepts and categories; the published one when None.
        verify_images: also check that each image decodes (slower; existence is always checked).

    Returns:
        One sample per metadata row, in file order; with perception options when
        ``perception_metadata.jsonl`` is present.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(root, "data root is not a folder")
    metadata_dir = root if metadata_dir is None else Path(metadata_dir).expanduser()
    taxonomy = taxonomy or published_taxonomy()
    metadata = metadata_dir / METADATA
    rows = read_jsonl(metadata)
    samples = [_read_row(row, line, root, metadata, taxonomy, verify_images) for line, row in rows]
    _reject_duplicates(samples, metadata)
    perception = metadata_dir / PERCEPTION_METADATA
    if perception.exists():
        samples = _add_perception(samples, [row for _, row in rows], perception)
    return samples


def _read_row(row: dict, line: int, root: Path, metadata: Path, taxonomy: Taxonomy, verify: bool) -> ImageSample:
    require_strings(row, UNSAFE_FIELDS, metadata, line)
    concept, category = row["unsafe_concept"], row["category"]
    if category not in taxonomy.categories:
        raise DataError(metadata, f"unknown category {category!r} (known: {', '.join(taxonomy.categories)})", line)
    if concept not in taxonomy.category_of:
        raise DataError(metadata, f"unknown concept {concept!r}", line)
    if taxonomy.category_of[concept] != category:
        expected = taxonomy.category_of[concept]
        raise DataError(metadata, f"concept {concept!r} belongs to category {expected!r}, not {category!r}", line)
    image = resolve_image_path(root, row["image_filename"], metadata, line)
    if verify:
        verify_image(image, metadata, line)
    return ImageSample(index=line - 1, image=image, concept=concept, category=category, source=f"{metadata}:{line}")


def _reject_duplicates(samples: list[ImageSample], metadata: Path) -> None:
    first_row: dict[Path, int] = {}
    for sample in samples:
        line = sample.index + 1
        if sample.image in first_row:
            raise DataError(metadata, f"image {sample.image} is already listed on line {first_row[sample.image]}", line)
        first_row[sample.image] = line


def _add_perception(samples: list[ImageSample], metadata_rows: list[dict], path: Path) -> list[ImageSample]:
    """Attach each perception row's options to the sample on the same line, checking they agree."""
    rows = read_jsonl(path)
    if len(rows) != len(samples):
        raise DataError(path, f"has {len(rows)} rows but {METADATA} has {len(samples)}")
    joined = []
    for sample, metadata_row, (line, row) in zip(samples, metadata_rows, rows, strict=True):
        require_strings(row, (*UNSAFE_FIELDS, "option_str", "correct_option"), path, line)
        if any(row[field] != metadata_row[field] for field in UNSAFE_FIELDS):
            raise DataError(path, f"row does not match line {line} of {METADATA}", line)
        options = parse_option_str(row["option_str"], str(path), line)
        letter = row["correct_option"]
        if letter not in LETTERS:
            raise DataError(path, f"correct_option {letter!r} is not among the options A-D", line)
        if options[LETTERS.index(letter)] != sample.concept:
            named = options[LETTERS.index(letter)]
            raise DataError(
                path, f"correct_option {letter} names {named!r}, but the image shows {sample.concept!r}", line
            )
        joined.append(replace(sample, options=options, correct_option=letter))
    return joined
