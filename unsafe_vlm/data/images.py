"""Images: paths inside a data root and base64 cells of a TSV, checked at setup; decoding, in the collate.

VLMEvalKit-style files store an image once: a row whose image cell is short (under 64
characters) and equals another row's ``index`` shows that row's image (MME's question
pairs do this).
"""

from __future__ import annotations

import binascii
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from unsafe_vlm.data.errors import DataError


def resolve_image_path(root: Path, relative: str, metadata: Path, line: int) -> Path:
    """Turn a metadata ``image_filename`` into an absolute path under ``root``, or fail.

    Absolute paths and paths that climb out of ``root`` with ``..`` are errors, and so is
    a file that does not exist: a missing image must stop setup, naming the file, rather
    than a run halfway through. The check is on the path as written, so a root whose
    ``images/`` is a symbolic link to shared storage still works.
    """
    if PurePosixPath(relative).is_absolute() or Path(relative).is_absolute() or relative.startswith("\\"):
        raise DataError(metadata, f"image path {relative!r} is absolute; it must be relative to {root}", line)
    root = Path(os.path.abspath(root))
    path = Path(os.path.normpath(root / relative))
    if not path.is_relative_to(root):
        raise DataError(metadata, f"image path {relative!r} escapes the data root {root}", line)
    if not path.is_file():
        raise DataError(metadata, f"image file not found: {path}", line)
    return path


def load_rgb_image(path: str | Path, where: str) -> Image.Image:
    """Decode one image as RGB; ``where`` (``file:line`` of its metadata row) heads any error."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise DataError(where, f"cannot read image {path}: {error}") from error


def verify_image(path: Path, metadata: Path, line: int) -> None:
    """Check that an image file decodes (PIL's header and structure check; no pixel decoding)."""
    try:
        with Image.open(path) as image:
            image.verify()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as error:
        raise DataError(metadata, f"cannot read image {path}: {error}", line) from error


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
