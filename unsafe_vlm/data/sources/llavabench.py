"""The data source ``llavabench``: general capability on LLaVABench (free answers scored against a reference).

Task ``llavabench`` reads VLMEvalKit's TSV (header row)::

    index <tab> image (base64) <tab> question <tab> gpt4_ans <tab> caption [<tab> category] [<tab> other columns]

Each row's question is asked as written and answered in free text (``generation.*``); ``gpt4_ans``
is the reference answer and ``caption`` describes the image to the judge, which scores both answers
(``judges.relative``). A row whose image cell is another row's index shares that row's image, and rows
sharing an image get one ``image`` name (intervals draw an image's questions together).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from unsafe_vlm.data.base import ExternalSetDataModule, required
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.files import claim_index, read_tsv
from unsafe_vlm.data.records import Record, Sample
from unsafe_vlm.data.tasks import Headline, Task, register

REFERENCE = "gpt4_ans"  # VLMEvalKit's name for the reference answer's column
COLUMNS = ("index", "image", "question", REFERENCE, "caption")


def read_llavabench(path: Path) -> list[Sample]:
    """One sample per data row, in file order; a bad row is a ``DataError`` naming file and line, raised
    before any image is decoded."""
    rows = read_tsv(path, COLUMNS)
    first_line: dict[str, int] = {}
    for line, row in rows:
        claim_index(path, line, row, first_line)
        for column in ("question", REFERENCE, "caption"):
            if not row[column]:
                raise DataError(path, f"empty {column}", line)
    return Sample.of_tsv(
        path, rows, lambda row: {"gold": row[REFERENCE], "question": row["question"], "caption": row["caption"]}
    )


class LLaVABenchDataModule(ExternalSetDataModule):
    """A LLaVABench-style TSV as ``llavabench`` records (arguments: see ``ExternalSetDataModule``)."""

    source = "llavabench"
    what = "TSV file"
    reader = staticmethod(read_llavabench)


def llavabench_records(samples: Sequence[Sample], dataset: str) -> list[Record]:
    """Each row's question as written; gold is its reference answer, ``caption`` its image's description."""
    return [
        Record(
            id=f"llavabench/{sample.id}", task="llavabench", question=required(sample, "question"),
            image=str(sample.image), concept=sample.concept, category=sample.category,
            gold=required(sample, "gold"), source=sample.source, dataset=dataset, image_bytes=sample.image_bytes,
            caption=required(sample, "caption"),
        )
        for sample in samples
    ]  # fmt: skip


register(Task(
    "llavabench", "llavabench", lambda data: llavabench_records(data.samples(), data.name),
    judge="relative", metric="relative", label="Open questions", group="general",
    headline=(Headline("relative_score", "General capability, relative score",
                       "the judge's scores of the answers over its scores of the reference answers on {name}, "
                       "judge replies it could not read left out (LLaVABench's relative score)"),),
))  # fmt: skip
