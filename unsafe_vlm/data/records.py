"""The two nouns of the data layer: a ``Sample`` (one row of a data set) and a ``Record`` (one query).

Every source (the benchmark and its safe side, the synthetic stand-in, the image-safety
sets, MME, LLaVABench) reads its rows into ``Sample``s; every task builds its ``Record``s from them.
Records are JSON-friendly through ``dataclasses.asdict`` (their image bytes aside).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch.utils.data
from PIL import Image

from unsafe_vlm.data.files import decode_images, image_owners, load_rgb_image, open_image_bytes
from unsafe_vlm.data.taxonomy import SAFE_CATEGORY

SAFE = "Safe"
UNSAFE = "Unsafe"
LETTERS = ("A", "B", "C", "D")  # perception options, in order


@dataclass(frozen=True)
class Sample:
    """One image of a data set as its metadata row gives it, before any task is built on it."""

    index: int  # row number in its metadata file, from 0 (image i of the benchmark is row i)
    image: str | Path | None  # absolute path, checked to exist; "<tsv>#<index>" for an image held in image_bytes;
    # None for a question asked as text alone (a safety set's text twin)
    concept: str
    category: str  # an unsafe category, "Safe", or a labelled set's own category ("" if none)
    source: str  # "metadata-file:line", for error messages
    options: tuple[str, ...] | None = None  # the four perception options, A to D, where the metadata gives them
    correct_option: str | None = None  # "A".."D"
    gold: str | None = None  # a labelled set's answer: Safe/Unsafe (image-safety sets), Yes/No (MME)
    question: str | None = None  # a set whose rows are questions (MME): the question as written
    caption: str | None = None  # a set that describes its images to a judge (LLaVABench): the description
    key: str | None = None  # the set's own id of the row (a TSV index, an image path); the row number when None
    variant: str | None = None  # a safety set's form of the question (``Record.variant``)
    request: str | None = None  # a safety set's plain request behind the question (``Record.request``)
    image_bytes: bytes | None = field(default=None, repr=False, compare=False)  # a TSV's decoded image

    @classmethod
    def of_tsv_row(
        cls, path: Path, number: int, line: int, row: dict[str, str], image_bytes: bytes, *,
        image_owner: str | None = None, **fields: str,
    ) -> Sample:
        """Data row ``number`` (from 0) of a VLMEvalKit-style TSV, starting on ``line``, keyed by its
        ``index``, its ``category`` (if any) as concept and category; ``fields``: ``gold``, ``question``,
        ``caption``. Its image is named ``<tsv>#<index>``, the index being ``image_owner``'s when given
        (the row that holds an image several rows share: they get one name)."""
        category = row.get("category", "")
        image = f"{path.resolve()}#{image_owner or row['index']}"
        source = f"{path}:{line}"
        return cls(number, image, category, category, source, key=row["index"], image_bytes=image_bytes, **fields)

    @classmethod
    def of_tsv(
        cls, path: Path, rows: Sequence[tuple[int, dict[str, str]]], fields: Callable[[dict[str, str]], dict[str, str]]
    ) -> list[Sample]:
        """Every checked ``(line, row)`` of a TSV as a sample (``of_tsv_row``), its images decoded and rows
        that share an image named alike; ``fields(row)``: the row's ``gold``, ``question``, ``caption``."""
        decoded = decode_images(rows, path)
        owners = image_owners(rows, decoded)
        return [
            cls.of_tsv_row(path, n, line, row, data, image_owner=owner, **fields(row))
            for n, ((line, row), data, owner) in enumerate(zip(rows, decoded, owners, strict=True))
        ]

    @property
    def is_safe(self) -> bool:
        return self.category == SAFE_CATEGORY

    @property
    def id(self) -> str:
        return str(self.index) if self.key is None else self.key


@dataclass(frozen=True)
class Record:
    """One question to a VLM, with what is needed to score or train on its answer.

    ``id`` is stable and unique within a data set, e.g. ``alignment_image/123/q2``.
    """

    id: str
    task: str  # an evaluation task of ``data.tasks.TASKS``, or a training format (sft | dpo | ppo)
    question: str
    image: str | None  # absolute path (or "<tsv>#<index>" for a TSV's base64 image); None for text-only questions
    concept: str
    category: str  # an unsafe category, or "Safe"
    gold: str  # "A".."D" for perception; "Safe"/"Unsafe" for alignment and training; "Yes"/"No" for yes/no
    # sets; the reference answer for sets scored against one (LLaVABench)
    options: tuple[str, ...] | None = None  # perception: the four concept names, A to D
    answer: str | None = None  # sft: the target; dpo: the chosen answer
    rejected: str | None = None  # dpo: the rejected answer
    question_index: int | None = None  # which alignment question (0-based)
    source: str | None = None  # "metadata-file:line" the record came from
    dataset: str | None = None  # a set outside the benchmark: its name (``data.name``), which keys its scores
    yes_no: bool = True  # a yes/no question; False: an open-ended prompt (ppo: data.train_open_ended)
    caption: str | None = None  # what a judge is told the image shows (LLaVABench)
    variant: str | None = None  # a safety set's form of the question: an image type, a jailbreak format, "text"
    request: str | None = None  # a safety set's plain request behind the question, shown to its judge
    image_bytes: bytes | None = field(default=None, repr=False, compare=False)  # the encoded image, if not a file

    def load_image(self) -> Image.Image | None:
        """The RGB image (None for a text-only question); a ``DataError`` naming ``file:line`` if it does not decode."""
        where = self.source or self.id
        if self.image_bytes is not None:
            return open_image_bytes(self.image_bytes, where)
        return None if self.image is None else load_rgb_image(self.image, where)


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


class RecordDataset(torch.utils.data.Dataset):
    """A list of records as a map-style dataset (images are loaded later, in the collate)."""

    def __init__(self, records: Iterable[Record]):
        self.records = list(records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Record:
        return self.records[index]
