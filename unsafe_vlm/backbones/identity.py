"""Which base model an adapter was made for, so that it never loads silently onto another one.

A checkpoint is named by ``model.path`` (hub id or folder) and ``model.revision``: hashing a 7B
model's 14 GB of weights on every load would cost more than the check is worth. A tiny random
instance (``path: null``) has no name, so it is named by a sha256 over its weights (under 10 ms):
two seeds or two sizes give two names, and so does a change in how transformers draws them.
The name goes into the adapter's ``adapter_config.json`` as peft's ``base_model_name_or_path``
(and the revision as peft's ``revision``), where ``PeftModel.from_pretrained`` ignores it.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from unsafe_vlm.errors import ConfigValueError
from unsafe_vlm.paths import shipped_or_given

log = logging.getLogger(__name__)

TINY_PREFIX = "tiny:sha256:"


class AdapterBaseMismatchError(ConfigValueError):
    """``model.adapter`` was trained on another base model than the one ``model`` loads."""


@dataclass(frozen=True)
class BaseIdentity:
    """name: a hub id, a folder, or ``tiny:sha256:<hex>``; revision: the hub revision, if any."""

    name: str
    revision: str | None = None

    def __str__(self) -> str:
        return f"{self.name}@{self.revision}" if self.revision else self.name

    def matches(self, other: BaseIdentity) -> bool:
        """The same base: same revision, and the same name or the same local folder."""
        if self.revision != other.revision:
            return False
        if self.name == other.name:
            return True
        folder = _folder(self.name)
        return folder is not None and folder == _folder(other.name)


def weights_sha256(model: torch.nn.Module) -> str:
    """sha256 over every tensor of the state dict (name, dtype, shape and bytes), in name order."""
    digest = hashlib.sha256()
    state = model.state_dict()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}|{tensor.dtype}|{tuple(state[name].shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy())
    return digest.hexdigest()


def tiny_identity(model: torch.nn.Module) -> BaseIdentity:
    return BaseIdentity(TINY_PREFIX + weights_sha256(model))


def recorded_identity(config: dict) -> BaseIdentity | None:
    """The base an ``adapter_config.json`` names; None when it names none (another tool's adapter)."""
    name = config.get("base_model_name_or_path")
    return BaseIdentity(str(name), config.get("revision")) if name else None


def check_adapter_base(folder: Path, recorded: BaseIdentity | None, loaded: BaseIdentity | None) -> None:
    """Refuse an adapter made for another base; warn when it does not say which base it was made for."""
    if loaded is None:
        return  # a backbone built by hand, not from a ``model`` config: nothing to compare with
    if recorded is None:
        warning = f"model.adapter: {folder} does not say which base model it was made for; loading it onto {loaded}"
        log.warning(warning)
        sys.stderr.write(f"warning: {warning}\n")  # the log goes to the run folder only; the user must see this
        return
    if not recorded.matches(loaded):
        raise AdapterBaseMismatchError(
            f"model.adapter: {folder} was made for base model {recorded}, but the base loaded is {loaded}"
        )


def _folder(name: str) -> Path | None:
    """The resolved local folder a name points at (as ``model.path`` resolves it), or None."""
    if name.startswith(TINY_PREFIX):
        return None
    folder = Path(shipped_or_given(name)).expanduser()
    return folder.resolve() if folder.is_dir() else None
