"""Helpers for tests of code that uses the data layer (here and in the rest of the suite)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import torch
from PIL import Image

from unsafe_vlm.data.benchmark import METADATA, PERCEPTION_METADATA
from unsafe_vlm.data.files import read_jsonl, write_jsonl
from unsafe_vlm.paths import UNSAFE_CONCEPTS_DIR


class FakeBackbone:
    """Stands in for a ``VLMBackbone`` in collation: records every ``encode`` call.

    ``encode`` returns ``input_ids``/``attention_mask``/``answer_mask`` (B, L) and
    ``pixel_values`` (B, 3, 4, 4): zeros for a missing image, else the mean colour.
    """

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def encode(self, questions, images, answers=None) -> dict[str, torch.Tensor]:
        self.calls.append({"questions": list(questions), "images": list(images), "answers": answers})
        batch, length = len(questions), 6
        pixels = torch.zeros(batch, 3, 4, 4)
        for row, image in enumerate(images):
            if image is not None:
                mean = torch.tensor(image.resize((1, 1)).getpixel((0, 0)), dtype=torch.float32) / 255
                pixels[row] = mean[:, None, None]
        answer_mask = torch.zeros(batch, length, dtype=torch.bool)
        if answers is not None:
            answer_mask[:, length // 2 :] = True
        return {
            "input_ids": torch.ones(batch, length, dtype=torch.long),
            "attention_mask": torch.ones(batch, length, dtype=torch.long),
            "answer_mask": answer_mask,
            "pixel_values": pixels,
        }


def write_placeholder_benchmark(root: Path, *, png: bool = False, perception: bool = True) -> Path:
    """The published metadata with placeholder images: empty files, or 2x2 PNGs if ``png``."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(UNSAFE_CONCEPTS_DIR / METADATA, root / METADATA)
    if perception:
        shutil.copyfile(UNSAFE_CONCEPTS_DIR / PERCEPTION_METADATA, root / PERCEPTION_METADATA)
    tiny = Image.new("RGB", (2, 2), (128, 128, 128))
    for _, row in read_jsonl(root / METADATA):
        path = root / row["image_filename"]
        if png:
            tiny.save(path, format="PNG")
        else:
            path.touch()
    return root


def write_safe_images(root: Path, concepts: list[str], per_concept: int = 1, *, png: bool = True) -> Path:
    """A safe-images folder, ``per_concept`` images of each concept: 2x2 PNGs, or empty files."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    tiny = Image.new("RGB", (2, 2), (10, 200, 10))
    rows = []
    for concept in concepts:
        for _ in range(per_concept):
            name = f"images/{len(rows)}.png"
            if png:
                tiny.save(root / name, format="PNG")
            else:
                (root / name).touch()
            rows.append({"image_filename": name, "concept": concept})
    write_jsonl(root / METADATA, rows)
    return root


def error_at(where: Path | str, line: int | None = None) -> str:
    """A regex for the start of a ``DataError`` message: ``^<where>:<line>: `` (or ``^<where>: ``)."""
    prefix = str(where) if line is None else f"{where}:{line}"
    return "^" + re.escape(prefix) + ": "
