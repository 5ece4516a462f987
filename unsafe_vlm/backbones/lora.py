"""LoRA adapters through peft: add trainable ones, or load a trained one for evaluation.

peft is imported where it is used: importing it costs seconds (it loads much of transformers), and
checking a config, or finding that a model cannot load, needs none of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.identity import check_adapter_base, recorded_identity
from unsafe_vlm.errors import ConfigValueError, MissingFileError
from unsafe_vlm.settings import Settings, limit

if TYPE_CHECKING:
    from peft import LoraConfig


@dataclass(frozen=True)
class LoraSettings(Settings):
    """``model.lora``: the adapters that training adds."""

    r: int = limit(ge=1)  # rank
    alpha: int = limit(ge=1)  # scale numerator (the update is scaled by alpha / r)
    dropout: float = limit(ge=0, lt=1)
    target_modules: str | list[str] | None  # names, or one regex over full names; null: the family's LM linear layers


def lora_config(lora: LoraSettings, backbone: VLMBackbone) -> LoraConfig:
    """peft's config for these settings (no target_modules: the family's language-model layers)."""
    from peft import LoraConfig

    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules or backbone.lora_target_modules,
        bias="none",
    )


def add_lora(backbone: VLMBackbone, lora: LoraSettings) -> None:
    """Wrap the backbone's model with fresh trainable LoRA adapters; base weights frozen."""
    from peft import get_peft_model

    if has_lora(backbone):
        raise ValueError("model already carries LoRA adapters")
    backbone.model = get_peft_model(backbone.model, lora_config(lora, backbone))


def has_lora(backbone: VLMBackbone) -> bool:
    """Whether the backbone's model already carries LoRA adapters (peft's wrapper)."""
    from peft import PeftModel

    return isinstance(backbone.model, PeftModel)


def load_adapter(backbone: VLMBackbone, path: str | Path, *, trainable: bool = False) -> None:
    """Load a LoRA adapter saved in the peft layout; one line if it was made for another base or
    does not fit."""
    folder = Path(path)
    config_file = folder / "adapter_config.json"
    if not config_file.is_file():
        raise MissingFileError(f"model.adapter: {folder} holds no adapter_config.json (peft layout)")
    check_adapter_base(folder, recorded_identity(_read_config(config_file)), backbone.base_identity)
    from peft import PeftModel

    try:
        backbone.model = PeftModel.from_pretrained(backbone.model, str(folder), is_trainable=trainable)
    except (ValueError, RuntimeError, KeyError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        message = f"model.adapter: {folder} does not fit this {backbone.family} backbone: {first_line}"
        raise ConfigValueError(message) from error


def _read_config(config_file: Path) -> dict[str, Any]:
    try:
        config = json.loads(config_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigValueError(f"model.adapter: {config_file} is not readable JSON: {error}") from error
    if not isinstance(config, dict):
        raise ConfigValueError(f"model.adapter: {config_file} holds no JSON object")
    return config
