"""The data source ``image_safety``: generalisation to other labelled image-safety sets (SMID, NSFW, ...).

Task ``image_safety``: every image is asked one alignment question,
gold ``Safe`` or ``Unsafe`` from the set's label. The set comes in either form it circulates in.

Folder::

    root/
      metadata.jsonl   {"image": "imgs/001.jpg", "label": "unsafe", "category": "violence"}  (category optional)
      imgs/001.jpg

TSV (VLMEvalKit style, header row)::

    index <tab> image (base64) <tab> label [<tab> category] [<tab> any other columns]

Labels (compared as text, case and surrounding spaces aside): ``safe`` and ``unsafe``;
``0`` and ``1`` (numbers in JSON too), ``unsafe_value`` saying which one means unsafe
(default 1: "1 = unsafe", the usual NSFW convention); anything named in ``labels``, e.g.
``{"nsfw": "unsafe", "neutral": "safe"}``. Any other value is an error naming the file and
line. A set without categories gets category "" (no per-category scores). Every image is
checked at setup: a folder's files must exist, a TSV's base64 must decode to an image header.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from unsafe_vlm.data.base import ExternalSetDataModule, required
from unsafe_vlm.data.errors import DataConfigError, DataError
from unsafe_vlm.data.files import decode_images, read_jsonl, read_tsv, require_strings, resolve_image_path
from unsafe_vlm.data.prompts import Prompts, load_prompts
from unsafe_vlm.data.records import SAFE, UNSAFE, Record, Sample
from unsafe_vlm.data.settings import ImageSafetySettings
from unsafe_vlm.data.split import question_index
from unsafe_vlm.data.tasks import TEXT_QUALITY_MEANING, Headline, Task, register

TSV_COLUMNS = ("index", "image", "label")
_GOLD = {"safe": SAFE, "unsafe": UNSAFE}


class ImageSafetyDataModule(ExternalSetDataModule):
    """A labelled image-safety set as ``image_safety`` records.

    Settings (besides ``ExternalSetDataModule``'s; checked as ``ImageSafetySettings``):
        format: ``folder`` or ``tsv``; None: ``folder`` when ``path`` is a folder, else ``tsv``.
        metadata: the folder format's metadata file, relative to ``path``.
        prompts: the ``prompts`` config (its ``alignment_image`` questions); the shipped default when None.
        unsafe_value: which numeric label (0 or 1) means unsafe; the other means safe.
        labels: more label values and their meaning, e.g. ``{nsfw: unsafe, neutral: safe}``.
    """

    source = "image_safety"
    what = "TSV file or folder"

    settings_class = ImageSafetySettings

    def __init__(self, settings: ImageSafetySettings) -> None:
        super().__init__(settings)
        s = settings
        self.format, self.metadata = s.format, s.metadata
        self.prompts: Prompts = load_prompts(s.prompts)
        self.labels = SafetyLabels(s.unsafe_value, s.labels)

    def read_samples(self) -> list[Sample]:
        kind = self.format or ("folder" if self.path.is_dir() else "tsv")
        if kind == "folder":
            return read_labelled_folder(self.path, self.metadata, self.labels)
        return read_labelled_tsv(self.path, self.labels)


class SafetyLabels:
    """Turns label values into ``Safe``/``Unsafe``, or a ``DataError`` for an unknown value."""

    def __init__(self, unsafe_value: int | str = 1, extra: Mapping[str, str] | None = None):
        unsafe = str(unsafe_value).strip()
        if unsafe not in ("0", "1"):
            raise DataConfigError(f"data.unsafe_value must be 0 or 1 (the number meaning unsafe), got {unsafe!r}")
        self.unsafe_value = unsafe
        self.table = {"safe": SAFE, "unsafe": UNSAFE, unsafe: UNSAFE, "1" if unsafe == "0" else "0": SAFE}
        for value, gold in (extra or {}).items():
            key = str(gold).strip().casefold()
            if key not in _GOLD:
                raise DataConfigError(f"data.labels.{value}: must map to safe or unsafe, got {gold!r}")
            self.table[str(value).strip().casefold()] = _GOLD[key]

    def gold(self, value: Any, path: Path, line: int) -> str:
        """``Safe`` or ``Unsafe`` for one row's label."""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise DataError(path, f"label must be text or 0/1, got {value!r}", line)
        gold = self.table.get(str(value).strip().casefold())
        if gold is None:
            known = ", ".join(sorted(self.table))
            raise DataError(
                path, f"unknown label {value!r}; expected one of {known} ({self.unsafe_value} = unsafe)", line
            )
        return gold


def read_labelled_folder(root: Path, metadata_name: str, labels: SafetyLabels) -> list[Sample]:
    """One sample per line of ``root/metadata_name``, in file order, keyed by its image path."""
    if not root.is_dir():
        raise DataError(root, "folder not found" if not root.exists() else "not a folder (format=folder)")
    metadata = root / metadata_name
    first_line: dict[str, int] = {}
    samples = []
    for line, row in read_jsonl(metadata):
        require_strings(row, ("image",), metadata, line)
        if "label" not in row:
            raise DataError(metadata, "missing field 'label'", line)
        category = row.get("category", "")
        if not isinstance(category, str):
            raise DataError(metadata, f"field 'category' must be text, got {category!r}", line)
        key = row["image"].strip()
        if key in first_line:
            raise DataError(metadata, f"image {key!r} is already listed on line {first_line[key]}", line)
        first_line[key] = line
        path = resolve_image_path(root, key, metadata, line)
        gold = labels.gold(row["label"], metadata, line)
        category = category.strip()
        samples.append(Sample(line - 1, str(path), category, category, f"{metadata}:{line}", gold=gold, key=key))
    return samples


def read_labelled_tsv(path: Path, labels: SafetyLabels) -> list[Sample]:
    """One sample per data row of the TSV at ``path``, in file order, keyed by its index."""
    rows = read_tsv(path, TSV_COLUMNS)
    first_line: dict[str, int] = {}
    for line, row in rows:
        labels.gold(row["label"], path, line)  # a bad label fails before the images are decoded
        if not row["index"]:
            raise DataError(path, "empty index", line)
        if row["index"] in first_line:
            raise DataError(path, f"index {row['index']!r} is already used on line {first_line[row['index']]}", line)
        first_line[row["index"]] = line
    decoded = decode_images(rows, path)
    return [
        Sample.of_tsv_row(path, n, line, row, data, gold=labels.gold(row["label"], path, line))
        for n, ((line, row), data) in enumerate(zip(rows, decoded, strict=True))
    ]


def image_safety_records(samples: Sequence[Sample], prompts: Prompts, seed: int, dataset: str) -> list[Record]:
    """Each labelled image with one alignment question (seeded by the record id); gold from its label."""
    ids = [f"image_safety/{sample.id}" for sample in samples]
    questions = [question_index(seed, record_id, len(prompts.alignment_image)) for record_id in ids]
    return [
        Record(
            id=record_id, task="image_safety", question=prompts.alignment_image[k], image=str(sample.image),
            concept=sample.category, category=sample.category, gold=required(sample, "gold"), question_index=k,
            source=sample.source, dataset=dataset, image_bytes=sample.image_bytes,
        )
        for record_id, k, sample in zip(ids, questions, samples, strict=True)
    ]  # fmt: skip


_ALIGNMENT_MEANINGS = {
    "balanced_accuracy": "mean of the unsafe and safe recalls",
    "unsafe_recall": "unsafe images judged Unsafe",
    "safe_recall": "safe images judged Safe",
}
register(Task(
    "image_safety", "image_safety",
    lambda data: image_safety_records(data.samples(), data.prompts, data.seed, data.name),
    judge="alignment", metric="balanced", label="Image-safety set", group="generalization", text_quality=True,
    headline=(
        *(
            Headline(score, f"Generalisation, {score.replace('_', ' ')}",
                     f"{what} on the labelled image-safety set {{name}}: generalisation beyond the benchmark")
            for score, what in _ALIGNMENT_MEANINGS.items()
        ),
        Headline("text_quality", "Generalisation, text quality (1 − self-BLEU)",
                 TEXT_QUALITY_MEANING.format(where="answer on {name}")),
    ),
))  # fmt: skip
