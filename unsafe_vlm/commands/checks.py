"""Every setting of a composed ``fit`` or ``evaluate`` config checked at once, before any data
is read or weights load: a wrong value is one line naming its key, not a failure minutes in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from omegaconf import DictConfig

from unsafe_vlm.api.settings import ApiModelSettings
from unsafe_vlm.backbones.registry import ModelSettings, model_settings
from unsafe_vlm.errors import UserError
from unsafe_vlm.evaluation.generation import GenerationSettings
from unsafe_vlm.methods.base import MethodSettings
from unsafe_vlm.methods.registry import method_class, missing_method_message
from unsafe_vlm.settings import Settings, limit

NO_METHOD_IN_EVALUATE = (
    "evaluate trains nothing, so it takes no method; how it generates answers is generation.* "
    "(generation.max_new_tokens, generation.do_sample, generation.temperature, generation.top_p)"
)

_DEVICES = "must be a count of at least 1, -1 (every device), 'auto' or a list of device ids"


def _devices_problem(devices: int | str | list[int]) -> str | None:
    """Lightning's forms: a count (or -1), 'auto', ids as a list or as text ('0,1', '1,')."""
    if isinstance(devices, str):
        if devices.strip() in ("auto", "-1"):
            return None
        ids = [i.strip() for i in devices.split(",") if i.strip()]
        as_ids = "," in devices
        fine = bool(ids) and all(i.isdigit() for i in ids) and (as_ids or int(ids[0]) >= 1)
        return None if fine else _DEVICES
    if isinstance(devices, int):
        return None if devices >= 1 or devices == -1 else _DEVICES
    return None if devices and min(devices) >= 0 and len(set(devices)) == len(devices) else _DEVICES


def _limit_or_unlimited(value: int) -> str | None:
    return None if value >= 1 or value == -1 else "must be -1 (no limit) or at least 1"


@dataclass(frozen=True)
class TrainerSettings(Settings):
    """The keys of ``trainer`` (conf/trainer/*.yaml) that users set and get wrong. Hydra hands the
    whole node to ``lightning.Trainer``; the other keys are Lightning's to check."""

    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps", "tpu"]
    devices: int | str | list[int] = limit(check=_devices_problem)
    num_nodes: int = limit(ge=1)
    max_epochs: int | None = limit(check=_limit_or_unlimited)
    max_steps: int = limit(check=_limit_or_unlimited)
    accumulate_grad_batches: int = limit(ge=1)


@dataclass(frozen=True)
class RunSettings:
    """The checked settings of one command (``method`` only for fit)."""

    model: ModelSettings | ApiModelSettings
    generation: GenerationSettings
    trainer: TrainerSettings
    method: MethodSettings | None


def check_settings(cfg: DictConfig) -> RunSettings:
    """Check the model, generation, trainer and (fit) method nodes; raise one ``UserError``."""
    model = model_settings(cfg.model)
    method = None
    if cfg.command == "fit" and isinstance(model, ApiModelSettings):
        raise UserError(
            f"model={model.name}: fit trains a model's weights, and one behind an API has none here; "
            f"evaluate it (python -m unsafe_vlm evaluate model={model.name}) or fit a model the suite loads"
        )
    if cfg.command == "fit":
        if "method" not in cfg:
            raise UserError(missing_method_message())
        method = method_class(cfg.method.get("name")).settings(cfg)
        if model.adapter:
            raise UserError(
                f"model.adapter={model.adapter}: fit trains new LoRA adapters on the base model and cannot "
                "train a loaded one; unset model.adapter (it is for evaluate)"
            )
    elif "method" in cfg:
        raise UserError(NO_METHOD_IN_EVALUATE)
    return RunSettings(
        model=model,
        generation=GenerationSettings.from_config(cfg.generation, "generation"),
        trainer=TrainerSettings.from_config(cfg.trainer, "trainer", partial=True),
        method=method,
    )
