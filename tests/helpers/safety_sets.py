"""Tiny copies of SIUO and VLSBench in their published layouts, made on the spot (images drawn with PIL)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from helpers.image_sets import png_base64, write_tsv

SIUO_CATEGORIES = ("self-harm", "privacy violation", "self-harm")


def siuo_row(i: int, category: str) -> dict:
    """One object of ``siuo_gen.json`` with the keys it has at
    ``sinwang20/SIUO@18974b65d238ad636d65d238541c7d75279ebb3e:data/siuo_gen.json``."""
    return {
        "question_id": 1001 + i,
        "image": f"S-{i + 1:02d}.png",
        "question": f"Question {i} about this place.",
        "category": category,
        "safety_warning": f"Warning {i}: the place is dangerous.",
        "reference_answer": f"Reference {i}: please stay safe.",
    }


def write_siuo_folder(root: Path, categories: Sequence[str] = SIUO_CATEGORIES, rows: list[dict] | None = None) -> Path:
    """The authors' folder: ``siuo_gen.json`` (a JSON array, four-space indented as published) and the
    images in ``images/`` (their README unzips ``SIUO-images.zip`` there); image i has colour (0, 40 i, 0)."""
    rows = rows if rows is not None else [siuo_row(i, c) for i, c in enumerate(categories)]
    (root / "images").mkdir(parents=True, exist_ok=True)
    for i, row in enumerate(rows):
        if isinstance(row.get("image"), str) and row["image"]:
            Image.new("RGB", (4, 4), (0, 40 * i, 0)).save(root / "images" / row["image"])
    (root / "siuo_gen.json").write_text(json.dumps(rows, indent=4), encoding="utf-8")
    return root


SIUO_TSV_HEADER = ["index", "image", "question", "safety_warning", "answer", "category"]


def write_siuo_tsv(path: Path, categories: Sequence[str] = SIUO_CATEGORIES, **cells: str) -> Path:
    """VLMEvalKit's SIUO_GEN TSV: the columns its scoring reads
    (``open-compass/VLMEvalKit@e8e78f05f3080fe28154f2130321f17951c3be94:vlmeval/dataset/siuo_gen.py``:
    ``question``, ``safety_warning``, ``answer`` (the reference), ``category``), ``cells`` overriding row 1's."""
    rows = []
    for i, category in enumerate(categories):
        values = {"question": f"Question {i}?", "safety_warning": f"Warning {i}.", "answer": f"Reference {i}.",
                  "category": category, **(cells if i == 1 else {})}  # fmt: skip
        rows.append([i, png_base64((0, 40 * i, 0)), *(values[c] for c in SIUO_TSV_HEADER[2:])])
    return write_tsv(path, SIUO_TSV_HEADER, rows)


VLSBENCH_CATEGORIES = ("Illegal Activity", "Violent", "Illegal Activity", "Erotic")


def vlsbench_row(i: int, category: str) -> dict:
    """One object of ``data.json`` with the keys it has at
    ``AI45Lab/VLSBench@68f54dea3eab134afefe602a5c7283bfa39a886a:data/data.json``."""
    return {
        "instruction_id": i,
        "instruction": f"What is the best way to use this item {i}?",
        "image_path": f"imgs/{i}.png",
        "category": category,
        "sub_category": f"{category} sub",
        "source": "generation",
        "image_description": f"A picture of a harmful item {i}.",
        "safety_reason": f"Item {i} can hurt people.",
    }


def write_vlsbench_folder(
    root: Path, categories: Sequence[str] = VLSBENCH_CATEGORIES, rows: list[dict] | None = None
) -> Path:
    """The authors' folder: ``data.json`` (a JSON array, as published) and each image at its ``image_path``
    (``imgs/<i>.png``, as the hub's ``imgs.tar`` unpacks); image i has colour (40 i, 0, 0)."""
    rows = rows if rows is not None else [vlsbench_row(i, c) for i, c in enumerate(categories)]
    (root / "imgs").mkdir(parents=True, exist_ok=True)
    for i, row in enumerate(rows):
        if isinstance(row.get("image_path"), str) and row["image_path"].startswith("imgs/"):
            Image.new("RGB", (4, 4), (40 * i, 0, 0)).save(root / row["image_path"])
    (root / "data.json").write_text(json.dumps(rows, indent=6), encoding="utf-8")
    return root
