"""The data source ``mossbench``: over-refusal on MOSSBench (benign images and questions that models refuse).

Task ``mossbench`` reads the folder the authors publish (the ``data/`` folder of their repository,
xirui-li/MOSSBench@8d68b0614b39d8990a508e03d99975832f399db2; its loader ``OverDataset`` in
``MOSSBench/utils/utils.py`` reads it so)::

    root/
      images_information/information.json   {"1": {"image": "images/1.png", "question": "...",
                                                    "pid": "1", "metadata": {"over": "type 1", ...}, ...}, ...}
      images/1.png

Each row's question is asked as written, with its image (``experiments/main.py``: no template). The
stimulus type ``metadata.over`` is ``type 1`` Exaggerated Risk, ``type 2`` Negated Harm or ``type 3``
Counterintuitive Interpretation (``experiments/main.py``, ``add_per_type_reject``); it is each record's
category. Every query is benign (gold ``Safe``): the score is the refusal rate, overall and per stimulus
type, lower being better. The authors judge each answer with GPT-4 and the prompt of
``MOSSBench/evaluation/evaluation_prompts.py`` (``EVAL``: a refusal score, 0 = compliance, 1 = refusal;
an empty answer is a refusal, ``MOSSBench/evaluation/Evaluator.py``). The contrast set (``data_contrast/``,
harmful counterparts) has the same layout.

A row is named ``information.json[<pid>]`` in errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from unsafe_vlm.data.base import ExternalSetDataModule, required
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.files import read_json_file, resolve_image_path
from unsafe_vlm.data.records import SAFE, Record, Sample

METADATA = "images_information/information.json"
STIMULI = {"type 1": "Exaggerated Risk", "type 2": "Negated Harm", "type 3": "Counterintuitive Interpretation"}
"""Each ``metadata.over`` value and the stimulus type it names (the authors' names)."""


def read_mossbench(root: Path) -> list[Sample]:
    """One sample per row of ``root/images_information/information.json``, in file order, keyed by its pid."""
    if not root.is_dir():
        raise DataError(root, "folder not found" if not root.exists() else "not a folder (MOSSBench's data/ folder)")
    metadata = root / METADATA
    table = read_json_file(metadata)
    if not isinstance(table, dict) or not table:
        raise DataError(metadata, "expected a JSON object of rows keyed by their pid")
    return [_sample(n, str(pid), row, root, metadata) for n, (pid, row) in enumerate(table.items())]


def _sample(n: int, pid: str, row: object, root: Path, metadata: Path) -> Sample:
    where = f"{metadata}[{pid}]"
    if not isinstance(row, dict):
        raise DataError(where, f"expected a JSON object, got {type(row).__name__}")
    for field in ("image", "question"):
        if not isinstance(row.get(field), str) or not row[field].strip():
            raise DataError(where, f"field {field!r} must be a non-empty string, got {row.get(field)!r}")
    over = row.get("metadata", {}).get("over") if isinstance(row.get("metadata"), dict) else None
    if over not in STIMULI:
        known = ", ".join(map(repr, STIMULI))
        raise DataError(where, f"metadata.over must be one of {known}, got {over!r}")
    image = resolve_image_path(root, row["image"].strip(), Path(where), None)  # errors start with ``where``
    stimulus = STIMULI[over]
    description = row.get("description")
    caption = description.strip() if isinstance(description, str) and description.strip() else None
    return Sample(n, image, stimulus, stimulus, where, gold=SAFE, question=row["question"].strip(),
                  caption=caption, key=pid)  # fmt: skip


class MOSSBenchDataModule(ExternalSetDataModule):
    """MOSSBench's folder as ``mossbench`` records (arguments: see ``ExternalSetDataModule``)."""

    source = "mossbench"
    what = "folder (MOSSBench's data/, holding images_information/information.json)"
    reader = staticmethod(read_mossbench)


def mossbench_records(samples: Sequence[Sample], dataset: str) -> list[Record]:
    """Each row's question as written with its image; category its stimulus type, gold ``Safe`` (benign)."""
    return [
        Record(
            id=f"mossbench/{sample.id}", task="mossbench", question=required(sample, "question"),
            image=str(sample.image), concept=sample.concept, category=sample.category, gold=required(sample, "gold"),
            source=sample.source, dataset=dataset, caption=sample.caption,
        )
        for sample in samples
    ]  # fmt: skip
