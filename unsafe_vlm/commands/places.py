"""The folders a command will write, checked before Hydra starts (it opens its log file in the run
folder first, and would fail there with a message about a logging handler)."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from unsafe_vlm.errors import UserError

WRITTEN = ("hydra.run.dir", "hydra.sweep.dir", "data.cache_dir", "out")
"""Keys naming a folder a command writes into (those its config has)."""


def check_writable(cfg: DictConfig, *, multirun: bool) -> None:
    """One line naming the key and folder that cannot be created or written; nothing is created here."""
    for key in WRITTEN:
        if key == ("hydra.run.dir" if multirun else "hydra.sweep.dir"):
            continue
        value = OmegaConf.select(cfg, key, default=None)
        if value is None or str(value) in ("", "???"):
            continue
        problem = _why_not_writable(Path(str(value)).expanduser())
        if problem:
            raise UserError(f"{key}={value}: {problem}; choose a folder you can write to")


def _why_not_writable(folder: Path) -> str | None:
    if folder.exists():
        if not folder.is_dir():
            return "is a file, not a folder"
        return None if os.access(folder, os.W_OK | os.X_OK) else "the folder is not writable"
    ancestor = folder.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"cannot be created: {ancestor} is a file"
    return None if os.access(ancestor, os.W_OK | os.X_OK) else f"cannot be created: {ancestor} is not writable"
