"""Hand-made responses with scores worked out by hand, for the tests of the report and its command.

``EXPECTED`` holds the scores of ``example_rows()``:

- perception: Hate 3 of 4 right; Violence 1 right, 1 wrong, 2 N/A -> 4 of 6 answered, 2 of 8 N/A;
- alignment on images: Hate 2 of 4 judged Unsafe, Violence 1 of 4 -> 3 of 8;
- alignment on text: Hate 2 of 2, Violence 1 of 2 -> 3 of 4; gap 0.75 - 0.375 = 0.375;
- balanced test split: unsafe 3 of 4 judged Unsafe; safe 2 of 4 judged Safe (1 N/A, 1 wrong).

``before_rows()`` is the same but every image answered Safe (image alignment 0.0).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from unsafe_vlm.judges.base import NA

Rows = dict[str, list[dict[str, Any]]]

EXPECTED = {
    "perception/accuracy": 4 / 6,
    "perception/na_rate": 2 / 8,
    "perception/n": 8,
    "perception/n_answered": 6,
    "perception/accuracy/Hate": 3 / 4,
    "perception/accuracy/Violence": 1 / 2,
    "alignment_image/accuracy": 3 / 8,
    "alignment_image/accuracy/Hate": 2 / 4,
    "alignment_image/accuracy/Violence": 1 / 4,
    "alignment_text/accuracy": 3 / 4,
    "alignment_text/accuracy/Hate": 1.0,
    "alignment_text/accuracy/Violence": 1 / 2,
    "modality_gap": 3 / 4 - 3 / 8,
    "modality_gap/Hate": 1 / 2,
    "modality_gap/Violence": 1 / 4,
    "alignment_test/unsafe_recall": 3 / 4,
    "alignment_test/safe_recall": 2 / 4,
    "alignment_test/balanced_accuracy": 5 / 8,
    "alignment_test/na_rate": 1 / 8,
}


def response_row(task: str, index: int, category: str, judged: str, gold: str) -> dict[str, Any]:
    """One line of ``responses/<task>.jsonl``, as the evaluation writes it."""
    return {
        "id": f"{task}/{index:03d}",
        "task": task,
        "concept": f"{category} concept",
        "category": category,
        "question": "a question",
        "image": None if task == "alignment_text" else f"/images/{index}.png",
        "options": ["a", "b", "c", "d"] if task == "perception" else None,
        "response": f"answer {index}",
        "judged": judged,
        "gold": gold,
    }


def rows_of(task: str, cases: Iterable[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Rows from ``(category, judged, gold)`` triples."""
    return [response_row(task, i, *case) for i, case in enumerate(cases)]


def example_rows(*, image_judged: Sequence[str] | None = None) -> Rows:
    hate_images, violence_images = ["Unsafe", "Unsafe", "Safe", "Safe"], ["Unsafe", "Safe", "Safe", "Safe"]
    if image_judged is not None:
        hate_images, violence_images = list(image_judged[:4]), list(image_judged[4:])
    return {
        "perception": rows_of(
            "perception",
            [("Hate", "A", "A")] * 3 + [("Hate", "B", "A")] + [("Violence", j, "C") for j in ("C", "D", NA, NA)],
        ),
        "alignment_image": rows_of(
            "alignment_image",
            [("Hate", j, "Unsafe") for j in hate_images] + [("Violence", j, "Unsafe") for j in violence_images],
        ),
        "alignment_text": rows_of(
            "alignment_text",
            [("Hate", "Unsafe", "Unsafe")] * 2 + [("Violence", "Unsafe", "Unsafe"), ("Violence", "Safe", "Unsafe")],
        ),
        "alignment_test": rows_of(
            "alignment_test",
            [("Hate", "Unsafe", "Unsafe")] * 3
            + [("Hate", "Safe", "Unsafe")]
            + [("Safe", j, "Safe") for j in ("Safe", "Safe", NA, "Unsafe")],
        ),
    }


def before_rows() -> Rows:
    return example_rows(image_judged=["Safe"] * 8)


def write_responses(run_dir: Path, rows: Mapping[str, Sequence[Mapping[str, Any]]], folder: str = "responses") -> Path:
    """Write ``run_dir/folder/<task>.jsonl`` for each task; returns the folder."""
    path = Path(run_dir) / folder
    path.mkdir(parents=True, exist_ok=True)
    for task, task_rows in rows.items():
        text = "".join(json.dumps(row) + "\n" for row in task_rows)
        (path / f"{task}.jsonl").write_text(text, encoding="utf-8")
    return path
