"""Helpers for tests of the data sets outside the benchmark: tiny TSVs and folders made on the spot."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

Colour = tuple[int, int, int]


def png_base64(colour: Colour, size: int = 4) -> str:
    """A ``size`` x ``size`` PNG of one colour, as base64 text."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def write_tsv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    """A header line and one tab-joined line per row."""
    lines = ["\t".join(header), *("\t".join(str(v) for v in row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_image_safety_tsv(path: Path, labels: Sequence[object], categories: Sequence[str] | None = None) -> Path:
    """Rows ``index, image, label[, category]``: image i is a PNG of colour (20 * i, 0, 0)."""
    header = ["index", "image", "label", *(["category"] if categories is not None else [])]
    rows = [
        [i, png_base64((20 * i, 0, 0)), label, *([categories[i]] if categories is not None else [])]
        for i, label in enumerate(labels)
    ]
    return write_tsv(path, header, rows)


def write_image_safety_folder(root: Path, labels: Sequence[object], categories: Sequence[str] | None = None) -> Path:
    """``root/metadata.jsonl`` and ``root/images/<i>.png`` (colour (20 * i, 0, 0)), one per label."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i, label in enumerate(labels):
        Image.new("RGB", (4, 4), (20 * i, 0, 0)).save(root / f"images/{i}.png")
        row = {"image": f"images/{i}.png", "label": label}
        if categories is not None:
            row["category"] = categories[i]
        lines.append(json.dumps(row))
    (root / "metadata.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def write_mme_tsv(path: Path, answers: Sequence[str], categories: Sequence[str] | None = None) -> Path:
    """MME-style rows in question pairs: rows 2k and 2k+1 share the image of colour (0, 30 * k, 0).

    The odd row's image cell is the even row's index, as VLMEvalKit stores MME.
    """
    header = ["index", "image", "question", "answer", *(["category"] if categories is not None else [])]
    rows = []
    for i, answer in enumerate(answers):
        image = png_base64((0, 30 * (i // 2), 0)) if i % 2 == 0 else str(i - 1)
        question = f"Is thing {i} in the image? Please answer yes or no."
        rows.append([i, image, question, answer, *([categories[i]] if categories is not None else [])])
    return write_tsv(path, header, rows)


LLAVABENCH_HEADER = ["index", "image", "question", "gpt4_ans", "caption", "category"]


def write_llavabench_tsv(path: Path, categories: Sequence[str]) -> Path:
    """LLaVABench-style rows, one per category given; rows 2k and 2k+1 ask about the image of colour
    (0, 0, 40 * k), the odd row's image cell naming the even row's index."""
    rows = []
    for i, category in enumerate(categories):
        image = png_base64((0, 0, 40 * (i // 2))) if i % 2 == 0 else str(i - 1)
        rows.append([i, image, f"What is in picture {i}?", f"Reference answer {i}.", f"A photo of thing {i}.",
                     category])  # fmt: skip
    return write_tsv(path, LLAVABENCH_HEADER, rows)
