"""What every task yields: one ``Record`` per query, JSON-friendly through ``dataclasses.asdict``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch.utils.data

SAFE = "Safe"
UNSAFE = "Unsafe"


@dataclass(frozen=True)
class Record:
    """One question to a VLM, with what is needed to score or train on its answer.

    ``id`` is stable and unique within a data set, e.g. ``alignment_image/123/q2``.
    """

    id: str
    task: str  # perception | alignment_image | alignment_text | alignment_test | sft | dpo | ppo | image_safety | mme
    question: str
    image: str | None  # absolute path (or "<tsv>#<index>" for a TSV's base64 image); None for text-only questions
    concept: str
    category: str  # an unsafe category, or "Safe"
    gold: str  # "A".."D" for perception; "Safe" or "Unsafe" for alignment and training
    options: tuple[str, ...] | None = None  # perception: the four concept names, A to D
    answer: str | None = None  # sft: the target; dpo: the chosen answer
    rejected: str | None = None  # dpo: the rejected answer
    question_index: int | None = None  # which alignment question (0-based)
    source: str | None = None  # "metadata-file:line" the record came from
    dataset: str | None = None  # image_safety, mme: the data set's name (``data.name``), which prefixes its scores


class RecordBatch:
    """The records of one batch, in order.

    Deliberately not a ``Sequence``: Lightning's device transfer walks sequences and
    dataclasses and cannot rebuild frozen ones, so it must leave this object alone.
    """

    __slots__ = ("_records",)

    def __init__(self, records: Iterable[Record]):
        self._records = tuple(records)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)

    def __getitem__(self, index: int) -> Record:
        return self._records[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecordBatch):
            return self._records == other._records
        if isinstance(other, (list, tuple)):
            return list(self._records) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        ids = [r.id for r in self._records[:3]] + ["..."] * (len(self) > 3)
        return f"RecordBatch({len(self)} records: {', '.join(ids)})"

    def to_list(self) -> list[Record]:
        return list(self._records)


class RecordDataset(torch.utils.data.Dataset):
    """A list of records as a map-style dataset (images are loaded later, in the collate)."""

    def __init__(self, records: Iterable[Record]):
        self.records = list(records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Record:
        return self.records[index]
