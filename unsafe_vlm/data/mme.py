"""``MMEDataModule``: general capability on MME (or any set of yes/no questions about images).

Task ``mme`` reads an MME-style TSV (VLMEvalKit's layout, header row)::

    index <tab> image (base64) <tab> question <tab> answer (Yes/No) [<tab> category] [<tab> other columns]

Each row's question is asked as written (MME's end "Please answer yes or no."); the gold
label is ``Yes`` or ``No`` (any case). Responses are judged with the judge's yes/no reading
(``judge_yes_no``). Scores: ``general/<name>/accuracy`` and, with a category column,
``general/<name>/accuracy/<category>`` (see ``evaluation.scoring``). A row whose image
cell is another row's index shares that row's image (how MME stores its question pairs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unsafe_vlm.data.base64_images import decode_images
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.eval_set import EvalSetDataModule
from unsafe_vlm.data.items import ImageItem
from unsafe_vlm.data.records import Record
from unsafe_vlm.data.tsv import read_tsv

MME = "mme"
COLUMNS = ("index", "image", "question", "answer")
ANSWERS = {"yes": "Yes", "no": "No"}


class MMEDataModule(EvalSetDataModule):
    """An MME-style TSV as ``mme`` records (arguments: see ``EvalSetDataModule``)."""

    task = MME
    source = "TSV file"

    def __init__(self, path: str | None = None, name: str = MME, **settings: Any) -> None:
        super().__init__(path, name, **settings)

    def read_items(self) -> list[ImageItem]:
        return read_mme(self.path, self.name)


def read_mme(path: Path, name: str) -> list[ImageItem]:
    """One item per data row of the TSV, in file order; bad rows are ``DataError``s naming file and line."""
    rows = read_tsv(path, COLUMNS)
    first_line: dict[str, int] = {}
    for line, row in rows:
        _check_row(row, path, line, first_line)
    absolute = path.resolve()
    items = []
    for (line, row), data in zip(rows, decode_images(rows, path), strict=True):
        category = row.get("category", "")
        record = Record(
            id=f"{MME}/{row['index']}",
            task=MME,
            question=row["question"],
            image=f"{absolute}#{row['index']}",
            concept=category,
            category=category,
            gold=ANSWERS[row["answer"].casefold()],
            source=f"{path}:{line}",
            dataset=name,
        )
        items.append(ImageItem(record, data))
    return items


def _check_row(row: dict[str, str], path: Path, line: int, first_line: dict[str, int]) -> None:
    index = row["index"]
    if not index:
        raise DataError(path, "empty index", line)
    if index in first_line:
        raise DataError(path, f"index {index!r} is already used on line {first_line[index]}", line)
    first_line[index] = line
    if not row["question"]:
        raise DataError(path, "empty question", line)
    if row["answer"].casefold() not in ANSWERS:
        raise DataError(path, f"unknown answer {row['answer']!r}; expected Yes or No", line)
