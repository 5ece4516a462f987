"""``ImageSafetyDataModule``: generalisation to other labelled image-safety sets (SMID, NSFW, ...).

Task ``image_safety``: every image is asked one alignment question (drawn from
``prompts.alignment_image`` with a generator seeded by the record id), gold ``Safe`` or
``Unsafe`` from the set's label; responses are judged like the benchmark's alignment
answers. The scores are ``generalization/<name>/balanced_accuracy``, ``.../unsafe_recall``,
``.../safe_recall``, ``.../n`` and more (see ``evaluation.scoring``).

Formats (``image_safety_sources``): ``folder`` (``metadata.jsonl`` + image files) or
``tsv`` (base64 images, VLMEvalKit style); by default a folder path means ``folder``, a
file ``tsv``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from unsafe_vlm.data.choices import question_index
from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.eval_set import EvalSetDataModule
from unsafe_vlm.data.image_safety_sources import LabelledImage, read_labelled_folder, read_labelled_tsv
from unsafe_vlm.data.items import ImageItem
from unsafe_vlm.data.labels import SafetyLabels
from unsafe_vlm.data.prompts import Prompts, load_prompts
from unsafe_vlm.data.records import Record

IMAGE_SAFETY = "image_safety"
FORMATS = ("folder", "tsv")


class ImageSafetyDataModule(EvalSetDataModule):
    """A labelled image-safety set as ``image_safety`` records.

    Args (besides ``EvalSetDataModule``'s):
        format: ``folder`` or ``tsv``; None: ``folder`` when ``path`` is a folder, else ``tsv``.
        metadata: the folder format's metadata file, relative to ``path``.
        prompts: the ``prompts`` config (its ``alignment_image`` questions); the shipped default when None.
        unsafe_value: which numeric label (0 or 1) means unsafe; the other means safe.
        labels: more label values and their meaning, e.g. ``{nsfw: unsafe, neutral: safe}``.
    """

    task = IMAGE_SAFETY
    source = "TSV file or folder"

    def __init__(
        self,
        path: str | None = None,
        name: str = IMAGE_SAFETY,
        *,
        format: str | None = None,
        metadata: str = "metadata.jsonl",
        prompts: Mapping[str, Any] | None = None,
        unsafe_value: int | str = 1,
        labels: Mapping[str, str] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(path, name, **settings)
        if format is not None and format not in FORMATS:
            raise DataConfigError(f"data.format must be one of {', '.join(FORMATS)} (or null), got {format!r}")
        self.format = format
        self.metadata = metadata
        self.prompts: Prompts = load_prompts(prompts)
        self.labels = SafetyLabels(unsafe_value, _plain(labels))

    def read_items(self) -> list[ImageItem]:
        kind = self.format or ("folder" if self.path.is_dir() else "tsv")
        if kind == "folder":
            images = read_labelled_folder(self.path, self.metadata, self.labels)
        else:
            images = read_labelled_tsv(self.path, self.labels)
        return [ImageItem(self._record(image), image.image_bytes) for image in images]

    def _record(self, image: LabelledImage) -> Record:
        record_id = f"{IMAGE_SAFETY}/{image.key}"
        index = question_index(self.seed, record_id, len(self.prompts.alignment_image))
        return Record(
            id=record_id,
            task=IMAGE_SAFETY,
            question=self.prompts.alignment_image[index],
            image=image.image,
            concept=image.category,
            category=image.category,
            gold=image.gold,
            question_index=index,
            source=image.source,
            dataset=self.name,
        )


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value
