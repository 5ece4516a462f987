"""What identifies a judge, so that a score names the reading behind it: ``metrics.json``'s
``judge/*`` keys, ``report.md``'s judge line, and the settings a resumed run must match.

A judge may define ``identity() -> dict[str, str]``; every judge gets at least its name and class.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

IDENTITY_PREFIX = "judge_identity."
"""How the identity's keys are saved among a run's settings (``responses/config.json``)."""


def judge_identity(judge: Any) -> dict[str, str]:
    cls = type(judge)
    identity = {"name": str(getattr(judge, "name", cls.__name__)), "class": f"{cls.__module__}.{cls.__qualname__}"}
    own = getattr(judge, "identity", None)
    if callable(own):
        identity.update({key: str(value) for key, value in own().items()})
    return identity


def saved_identity(settings: dict[str, Any]) -> dict[str, str]:
    """The identity among a run's saved settings (empty for a run saved before judges had one)."""
    return {key[len(IDENTITY_PREFIX) :]: value for key, value in settings.items() if key.startswith(IDENTITY_PREFIX)}


def files_sha256(paths: Iterable[Path]) -> str:
    """One sha256 over the files' names and bytes, in name order (a folder: its files, recursively)."""
    digest = hashlib.sha256()
    files = []
    for path in paths:
        path = Path(path)
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
