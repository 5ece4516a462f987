"""Read the UnsafeConcepts benchmark and its safe side in their published folder layouts.

::

    root/
      metadata.jsonl              {"image_filename": "images/<i>.png", "category": ..., "unsafe_concept": ...}
      perception_metadata.jsonl   (optional) the same rows + "option_str" and "correct_option"
      images/<i>.png

    safe_root/                    ordinary images (ImageNet-1k in the paper), each named by its concept
      metadata.jsonl              {"image_filename": "images/<i>.png", "concept": "goldfish"}
                                  ("category": "Safe" is optional)
      images/<i>.png
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path

from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.files import read_jsonl, require_strings, resolve_image_path, verify_image
from unsafe_vlm.data.records import LETTERS, Sample
from unsafe_vlm.data.taxonomy import SAFE_CATEGORY, Taxonomy, published_taxonomy

METADATA = "metadata.jsonl"
PERCEPTION_METADATA = "perception_metadata.jsonl"
UNSAFE_FIELDS = ("image_filename", "category", "unsafe_concept")


def load_benchmark(
    root: str | Path,
    *,
    metadata_dir: str | Path | None = None,
    taxonomy: Taxonomy | None = None,
    verify_images: bool = False,
) -> list[Sample]:
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


def _read_row(row: dict, line: int, root: Path, metadata: Path, taxonomy: Taxonomy, verify: bool) -> Sample:
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
    return Sample(index=line - 1, image=image, concept=concept, category=category, source=f"{metadata}:{line}")


def _reject_duplicates(samples: list[Sample], metadata: Path) -> None:
    first_row: dict[Path, int] = {}
    for sample in samples:
        line = sample.index + 1
        if sample.image in first_row:
            raise DataError(metadata, f"image {sample.image} is already listed on line {first_row[sample.image]}", line)
        first_row[sample.image] = line


def _add_perception(samples: list[Sample], metadata_rows: list[dict], path: Path) -> list[Sample]:
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


def load_safe_images(
    root: str | Path,
    *,
    vocabulary: Collection[str] | None = None,
    verify_images: bool = False,
) -> list[Sample]:
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
            Sample(
                index=line - 1, image=image, concept=concept, category=SAFE_CATEGORY, source=f"{metadata}:{line}"
            )
        )
    return samples


def parse_option_str(option_str: str, where: str, line: int) -> tuple[str, ...]:
    """``"A: x \\nB: y \\nC: z \\nD: w"`` -> ``("x", "y", "z", "w")`` (letters A-D, in order)."""
    parts = option_str.split("\n")
    if len(parts) != len(LETTERS):
        raise DataError(where, f"option_str must hold 4 options A-D, one a line; got {option_str!r}", line)
    options = []
    for letter, part in zip(LETTERS, parts, strict=True):
        head, sep, name = part.strip().partition(":")
        if head != letter or not sep or not name.strip():
            raise DataError(where, f"option {part.strip()!r} must read '{letter}: <concept>'", line)
        options.append(name.strip())
    return tuple(options)


def format_option_str(options: Sequence[str]) -> str:
    """The published layout: ``"A: x \\nB: y \\nC: z \\nD: w"`` (note the space before each newline)."""
    return " \n".join(f"{letter}: {name}" for letter, name in zip(LETTERS, options, strict=True))
