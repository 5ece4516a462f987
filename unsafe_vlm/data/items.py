"""Records that carry their image with them (decoded from a TSV), and the collate that opens them.

An ``ImageItem`` pairs a ``Record`` with the image's bytes, or with None when the image
is a file at ``record.image``. Pixels are decoded in the collate, so in DataLoader workers.
Batches have the evaluation form ``{"records": RecordBatch, "inputs": backbone.encode(...)}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch.utils.data
from PIL import Image

from unsafe_vlm.data.base64_images import open_image_bytes
from unsafe_vlm.data.collate import Encoder
from unsafe_vlm.data.image_files import load_rgb_image
from unsafe_vlm.data.records import Record, RecordBatch


@dataclass(frozen=True)
class ImageItem:
    record: Record
    image_bytes: bytes | None = None  # the encoded image (PNG, JPEG, ...); None: read the file record.image

    def load_image(self) -> Image.Image:
        """The RGB image; a ``DataError`` naming the record's ``file:line`` if it does not decode."""
        where = self.record.source or self.record.id
        if self.image_bytes is not None:
            return open_image_bytes(self.image_bytes, where)
        return load_rgb_image(self.record.image, where)


class ItemDataset(torch.utils.data.Dataset):
    """A list of items as a map-style dataset."""

    def __init__(self, items: Iterable[ImageItem]):
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> ImageItem:
        return self.items[index]


class ItemCollator:
    """A picklable collate function: questions and decoded images through ``backbone.encode``."""

    def __init__(self, backbone: Encoder):
        self.backbone = backbone

    def __call__(self, items: Sequence[ImageItem]) -> dict[str, Any]:
        records = [item.record for item in items]
        images = [item.load_image() for item in items]
        inputs = self.backbone.encode([r.question for r in records], images, answers=None)
        return {"records": RecordBatch(records), "inputs": inputs}
