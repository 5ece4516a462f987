"""Write a folder so that it appears whole or not at all: build it beside, then rename."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def building(final: Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``final``; remove it if the block fails.

    The caller renames it into place (``publish``); a build killed midway leaves at most a
    ``.tmp-*`` folder, never something that looks complete.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:12]}"
    temporary.mkdir()  # not tempfile.mkdtemp: its 0700 mode would stay on the published folder
    try:
        yield temporary
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


def publish(temporary: Path, final: Path) -> bool:
    """Rename ``temporary`` to ``final``; False (and nothing moved) if ``final`` is a non-empty folder."""
    try:
        os.rename(temporary, final)
    except OSError:
        if final.is_dir() and any(final.iterdir()):
            return False
        raise
    return True
