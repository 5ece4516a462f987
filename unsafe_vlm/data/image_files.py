"""Image paths inside a data root, checked at setup; image decoding, done in the collate."""

from __future__ import annotations

import os
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
