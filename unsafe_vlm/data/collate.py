"""Turn a list of records into a batch through the backbone's ``encode``, loading images here.

Batches are dicts::

    eval, sft, ppo:  {"records": RecordBatch, "inputs": backbone.encode(...)}
    dpo:             {"records": RecordBatch, "pairs": encode(questions * 2, images * 2,
                                                          answers=chosen + rejected)}

A DPO batch of B records has 2B rows, the B chosen answers then the B rejected ones after the
same prompts and images, so that DPO scores both in one forward pass.

``encode(questions, images, answers=None)`` returns ``input_ids`` (B, L), ``attention_mask``
(B, L), ``answer_mask`` (B, L) and the backbone's vision tensors; an image of None stands
for a text-only question, which the backbone shows as a blank white image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from PIL import Image

from unsafe_vlm.data.image_files import load_rgb_image
from unsafe_vlm.data.records import Record, RecordBatch
from unsafe_vlm.data.training_records import TRAIN_FORMATS

COLLATE_KINDS = ("eval", *TRAIN_FORMATS)


class Encoder(Protocol):
    def encode(
        self, questions: list[str], images: list[Image.Image | None], answers: list[str] | None = None
    ) -> dict[str, Any]: ...


def load_images(records: Sequence[Record]) -> list[Image.Image | None]:
    """RGB images of the records, None where a record has no image."""
    return [None if r.image is None else load_rgb_image(r.image, r.source or r.id) for r in records]


class Collator:
    """A picklable collate function (DataLoader workers) for one kind of batch."""

    def __init__(self, backbone: Encoder, kind: str):
        if kind not in COLLATE_KINDS:
            raise ValueError(f"unknown collate kind {kind!r}; choose one of {', '.join(COLLATE_KINDS)}")
        self.backbone = backbone
        self.kind = kind

    def __call__(self, records: Sequence[Record]) -> dict[str, Any]:
        questions = [r.question for r in records]
        images = load_images(records)
        batch: dict[str, Any] = {"records": RecordBatch(records)}
        if self.kind == "dpo":
            answers = _field(records, "answer") + _field(records, "rejected")
            batch["pairs"] = self.backbone.encode(questions * 2, images * 2, answers=answers)
        elif self.kind == "sft":
            batch["inputs"] = self.backbone.encode(questions, images, answers=_field(records, "answer"))
        else:
            batch["inputs"] = self.backbone.encode(questions, images, answers=None)
        return batch


def _field(records: Sequence[Record], name: str) -> list[str]:
    values = [getattr(r, name) for r in records]
    missing = [r.id for r, v in zip(records, values, strict=True) if v is None]
    if missing:
        raise ValueError(f"records without {name!r} cannot form this batch: {', '.join(missing[:5])}")
    return values
