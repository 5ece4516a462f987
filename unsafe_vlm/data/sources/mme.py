"""The data source ``mme``: general capability on MME (or any set of yes/no questions about images).

Task ``mme`` reads an MME-style TSV (VLMEvalKit's layout, header row)::

    index <tab> image (base64) <tab> question <tab> answer (Yes/No) [<tab> category] [<tab> other columns]

Each row's question is asked as written; the gold label is ``Yes`` or ``No`` (any case).
Responses are judged with the judge's yes/no reading. A row whose image cell is another
row's index shares that row's image (how MME stores its question pairs); rows sharing an
image (by reference or by the same base64 text) get the same ``image`` name, that of the first
row holding it, so that scores can pair them (``accuracy_plus``) and intervals draw them together.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from unsafe_vlm.data.base import ExternalSetDataModule, required
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.files import claim_index, read_tsv
from unsafe_vlm.data.records import Record, Sample
from unsafe_vlm.data.tasks import Headline, Task, register

COLUMNS = ("index", "image", "question", "answer")
ANSWERS = {"yes": "Yes", "no": "No"}


def read_mme(path: Path) -> list[Sample]:
    """One sample per data row of the TSV, in file order; bad rows are ``DataError``s naming file and line."""
    rows = read_tsv(path, COLUMNS)
    first_line: dict[str, int] = {}
    for line, row in rows:
        _check_row(row, path, line, first_line)
    return Sample.of_tsv(
        path, rows, lambda row: {"gold": ANSWERS[row["answer"].casefold()], "question": row["question"]}
    )


class MMEDataModule(ExternalSetDataModule):
    """An MME-style TSV as ``mme`` records (arguments: see ``ExternalSetDataModule``)."""

    source = "mme"
    what = "TSV file"
    reader = staticmethod(read_mme)


def _check_row(row: dict[str, str], path: Path, line: int, first_line: dict[str, int]) -> None:
    claim_index(path, line, row, first_line)
    if not row["question"]:
        raise DataError(path, "empty question", line)
    if row["answer"].casefold() not in ANSWERS:
        raise DataError(path, f"unknown answer {row['answer']!r}; expected Yes or No", line)


def mme_records(samples: Sequence[Sample], dataset: str) -> list[Record]:
    """Each row's question as written (MME's end "Please answer yes or no."); gold Yes or No."""
    return [
        Record(
            id=f"mme/{sample.id}",
            task="mme",
            question=required(sample, "question"),
            image=str(sample.image),
            concept=sample.concept,
            category=sample.category,
            gold=required(sample, "gold"),
            source=sample.source,
            dataset=dataset,
            image_bytes=sample.image_bytes,
        )
        for sample in samples
    ]


register(Task(
    "mme", "mme", lambda data: mme_records(data.samples(), data.name),
    judge="yes_no", metric="yes_no", label="Yes/no questions", group="general",
    headline=(
        Headline("accuracy", "General capability",
                 "answers {name}'s yes/no questions right (N/A counts as wrong): general capability kept"),
        Headline("substring_accuracy", "General capability, substring match",
                 "answers holding the gold Yes or No as written, over all {name} questions (the paper's MME score)"),
        Headline("accuracy_plus", "General capability, accuracy+",
                 "images of {name} whose questions are all answered right (N/A wrong): MME's accuracy+"),
    ),
))  # fmt: skip
