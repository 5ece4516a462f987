"""The benchmark and the safe images through Hugging Face ``datasets`` (the optional ``hub`` extra).

A hub dataset (e.g. the gated ``yiting/UnsafeConcepts``) or one saved with
``save_to_disk`` is written out once in the published folder layout, under the cache,
and read from there by the same loaders as a folder: one code path for all sources.

Unsafe side: an ``image`` column, plus ``category`` and ``unsafe_concept`` (and optionally
``option_str``/``correct_option``); without those columns, row i is taken to be line i of
the shipped metadata. Safe side: ``image`` and ``concept`` columns. An ``id`` column, if
any, names the image files (``images/<id>.png``), else the row number does.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from unsafe_vlm.data.benchmark import METADATA, PERCEPTION_METADATA
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.files import building, publish, read_jsonl, write_jsonl
from unsafe_vlm.paths import UNSAFE_CONCEPTS_DIR

UNSAFE_COLUMNS = ("category", "unsafe_concept")
PERCEPTION_COLUMNS = ("option_str", "correct_option")


def require_datasets() -> Any:
    """Import ``datasets`` or explain how to get it."""
    try:
        import datasets
    except ImportError as error:
        raise ImportError(
            "reading data through Hugging Face needs the `datasets` package: pip install 'unsafe-vlm[hub]'"
        ) from error
    return datasets


def open_hub_dataset(source: str, split: str = "train") -> Any:
    """A ``datasets.Dataset`` from a local ``save_to_disk`` folder, else from the hub by id."""
    datasets = require_datasets()
    local = Path(source).expanduser()
    if local.exists():
        dataset = datasets.load_from_disk(str(local))
        return dataset[split] if isinstance(dataset, datasets.DatasetDict) else dataset
    return datasets.load_dataset(source, split=split)


def hub_export(source: str, side: str, cache_dir: str | Path, split: str = "train") -> Path:
    """Return the folder-layout copy of ``source`` under ``cache_dir``, writing it first if needed."""
    key = hashlib.sha256(f"{side}|{source}|{split}".encode()).hexdigest()[:16]
    final = Path(cache_dir).expanduser() / "hub" / f"{side}-{key}"
    if (final / METADATA).is_file():
        return final
    dataset = open_hub_dataset(source, split)
    with building(final) as temporary:
        export_rows(dataset, dataset.column_names, side, temporary, source)
        publish(temporary, final)
    return final


def export_rows(rows: Iterable[Mapping[str, Any]], columns: Iterable[str], side: str, out: Path, source: str) -> None:
    """Write ``rows`` (dicts with a PIL ``image``) to ``out`` in the folder layout of ``side``."""
    columns = set(columns)
    if "image" not in columns:
        raise DataError(source, f"no 'image' column (columns: {', '.join(sorted(columns))})")
    if side == "safe" and "concept" not in columns:
        raise DataError(source, f"no 'concept' column for the safe images (columns: {', '.join(sorted(columns))})")
    (out / "images").mkdir(parents=True)
    metadata, perception = [], []
    for index, row in enumerate(rows):
        filename = f"images/{row.get('id', index)}.png"
        _save_image(row["image"], out / filename, source, index)
        if side == "safe":
            metadata.append({"image_filename": filename, "concept": row["concept"]})
        elif set(UNSAFE_COLUMNS) <= columns:
            metadata.append({"image_filename": filename, **{c: row[c] for c in UNSAFE_COLUMNS}})
            if set(PERCEPTION_COLUMNS) <= columns:
                perception.append({**metadata[-1], **{c: row[c] for c in PERCEPTION_COLUMNS}})
    if side == "unsafe" and not metadata:
        _copy_published_metadata(out, source)
        return
    write_jsonl(out / METADATA, metadata)
    if perception:
        write_jsonl(out / PERCEPTION_METADATA, perception)


def _save_image(image: Any, path: Path, source: str, index: int) -> None:
    if not isinstance(image, Image.Image):
        raise DataError(source, f"row {index}: 'image' is a {type(image).__name__}, not a decoded image")
    image.save(path, format="PNG")


def _copy_published_metadata(out: Path, source: str) -> None:
    """Without label columns, the images are the benchmark's in order: use the shipped metadata."""
    written = len(list((out / "images").iterdir()))
    published = len(read_jsonl(UNSAFE_CONCEPTS_DIR / METADATA))
    if written != published:
        raise DataError(
            source,
            f"has {written} rows and no {'/'.join(UNSAFE_COLUMNS)} columns, but the "
            f"published metadata lists {published} images",
        )
    for name in (METADATA, PERCEPTION_METADATA):
        shutil.copyfile(UNSAFE_CONCEPTS_DIR / name, out / name)
