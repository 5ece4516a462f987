"""Images stored in a TSV as base64 text: checked and decoded to bytes at setup, to pixels in the collate.

VLMEvalKit-style files store an image once: a row whose image cell is short (under 64
characters) and equals another row's ``index`` shows that row's image (MME's question
pairs do this).
"""

from __future__ import annotations

import binascii
import io
import re
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from unsafe_vlm.data.errors import DataError

REFERENCE_MAX = 64  # image cells shorter than this may name another row's index
_DATA_URI = re.compile(r"^data:image/[a-z0-9.+-]+;base64,", re.IGNORECASE)


def image_bytes(text: str, path: Path, line: int) -> bytes:
    """Strictly decode one base64 image and check that it starts like an image PIL can open.

    Only the header is read (PIL's lazy ``open``): pixels are decoded later, in the collate.
    A ``data:image/...;base64,`` prefix is allowed.
    """
    try:
        data = binascii.a2b_base64(_DATA_URI.sub("", text), strict_mode=True)
    except (binascii.Error, ValueError) as error:
        raise DataError(path, f"the image is not valid base64 ({error})", line) from None
    try:
        with Image.open(io.BytesIO(data)):
            pass
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        raise DataError(path, f"the base64 text does not decode to an image ({len(data)} bytes)", line) from None
    return data


def decode_images(
    rows: Sequence[tuple[int, dict[str, str]]], path: Path, *, index: str = "index", image: str = "image"
) -> list[bytes]:
    """The image bytes of every row, in order; references to another row's index share its bytes."""
    by_index = {row[index]: (line, row[image]) for line, row in rows}
    cache: dict[str, bytes] = {}
    images = []
    for line, row in rows:
        key, where = row[image], line
        if len(key) < REFERENCE_MAX and key in by_index and key != row[index]:
            where, key = by_index[key]
            if len(key) < REFERENCE_MAX and key in by_index:
                raise DataError(path, f"image cell {row[image]!r} names a row that only references an image", line)
        if not key:
            raise DataError(path, "empty image cell", line)
        if key not in cache:
            cache[key] = image_bytes(key, path, where)
        images.append(cache[key])
    return images


def open_image_bytes(data: bytes, where: str) -> Image.Image:
    """Decode image bytes as RGB; ``where`` (the row's ``file:line``) heads any error."""
    try:
        with Image.open(io.BytesIO(data)) as picture:
            return picture.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise DataError(where, f"cannot decode the image: {error}") from error
