"""Read a labelled image-safety set (SMID, NSFW, ...) in either form it circulates in.

Folder::

    root/
      metadata.jsonl   {"image": "imgs/001.jpg", "label": "unsafe", "category": "violence"}  (category optional)
      imgs/001.jpg

TSV (VLMEvalKit style, header row)::

    index <tab> image (base64) <tab> label [<tab> category] [<tab> any other columns]

Labels go through ``SafetyLabels`` (safe/unsafe, or 0/1 with a configurable meaning). A
set without categories gets category "" (no per-category scores). Every image is checked
at setup: a folder's files must exist, a TSV's base64 must decode to an image header.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from unsafe_vlm.data.base64_images import decode_images
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.image_files import resolve_image_path
from unsafe_vlm.data.jsonl import read_jsonl, require_strings
from unsafe_vlm.data.labels import SafetyLabels
from unsafe_vlm.data.tsv import read_tsv

TSV_COLUMNS = ("index", "image", "label")


@dataclass(frozen=True)
class LabelledImage:
    key: str  # unique in the set: the TSV's index, or the image path relative to the folder
    gold: str  # Safe | Unsafe
    category: str  # "" when the set has no categories
    source: str  # "file:line" of the row
    image: str  # absolute path, or "<tsv>#<index>"
    image_bytes: bytes | None = None  # TSV: the decoded image; folder: None (read from ``image``)


def read_labelled_folder(root: Path, metadata_name: str, labels: SafetyLabels) -> list[LabelledImage]:
    """One ``LabelledImage`` per line of ``root/metadata_name``, in file order."""
    if not root.is_dir():
        raise DataError(root, "folder not found" if not root.exists() else "not a folder (format=folder)")
    metadata = root / metadata_name
    first_line: dict[str, int] = {}
    images = []
    for line, row in read_jsonl(metadata):
        require_strings(row, ("image",), metadata, line)
        if "label" not in row:
            raise DataError(metadata, "missing field 'label'", line)
        category = row.get("category", "")
        if not isinstance(category, str):
            raise DataError(metadata, f"field 'category' must be text, got {category!r}", line)
        key = row["image"].strip()
        if key in first_line:
            raise DataError(metadata, f"image {key!r} is already listed on line {first_line[key]}", line)
        first_line[key] = line
        path = resolve_image_path(root, key, metadata, line)
        gold = labels.gold(row["label"], metadata, line)
        images.append(LabelledImage(key, gold, category.strip(), f"{metadata}:{line}", str(path)))
    return images


def read_labelled_tsv(path: Path, labels: SafetyLabels) -> list[LabelledImage]:
    """One ``LabelledImage`` per data row of the TSV at ``path``, in file order."""
    rows = read_tsv(path, TSV_COLUMNS)
    first_line: dict[str, int] = {}
    for line, row in rows:
        labels.gold(row["label"], path, line)  # a bad label fails before the images are decoded
        if not row["index"]:
            raise DataError(path, "empty index", line)
        if row["index"] in first_line:
            raise DataError(path, f"index {row['index']!r} is already used on line {first_line[row['index']]}", line)
        first_line[row["index"]] = line
    decoded = decode_images(rows, path)
    absolute = path.resolve()
    return [
        LabelledImage(
            key=row["index"],
            gold=labels.gold(row["label"], path, line),
            category=row.get("category", ""),
            source=f"{path}:{line}",
            image=f"{absolute}#{row['index']}",
            image_bytes=data,
        )
        for (line, row), data in zip(rows, decoded, strict=True)
    ]
