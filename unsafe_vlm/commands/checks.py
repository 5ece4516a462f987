"""Every setting of a composed ``fit`` or ``evaluate`` config checked at once, before any data
is read or weights load: a wrong value is one line naming its key, not a failure minutes in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from unsafe_vlm.api.settings import ApiModelSettings
from unsafe_vlm.backbones.registry import ModelSettings, model_settings
from unsafe_vlm.data.sources import data_settings
from unsafe_vlm.errors import UserError
from unsafe_vlm.evaluation.generation import GenerationSettings
from unsafe_vlm.evaluation.runner import EvaluationSettings
from unsafe_vlm.judges.registry import judge_settings
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


def _some_batches(value: int | float | None) -> str | None:
    """Lightning's count or share of batches per epoch; 0 would train (or check) nothing."""
    if value is None or (isinstance(value, int) and value >= 1) or (isinstance(value, float) and 0 < value <= 1):
        return None
    return "must be null (every batch), a count of at least 1 or a share in (0, 1]; 0 would train nothing"


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
    limit_train_batches: int | float | None = limit(check=_some_batches)


@dataclass(frozen=True)
class CommandKeys(Settings):
    """The keys at the top of ``conf/evaluate.yaml`` (and of the other commands that seed)."""

    seed: int  # seeds Python, NumPy and torch


@dataclass(frozen=True)
class EvaluateKeys(CommandKeys):
    """The keys at the top of ``conf/evaluate.yaml``; what each does is written there."""

    max_error_share: float = limit(ge=0, le=1)  # the share of error rows a finished run may keep


@dataclass(frozen=True)
class RejudgeKeys(Settings):
    """The keys at the top of ``conf/rejudge.yaml`` checked here (``run`` and ``responses`` by the command)."""

    max_error_share: float = limit(ge=0, le=1)


@dataclass(frozen=True)
class FitKeys(EvaluateKeys):
    """The keys at the top of ``conf/fit.yaml``; what each does is written there."""

    ckpt_path: str | None
    checkpoint_every: int = limit(ge=1)
    evaluate_before: bool
    evaluate_after: bool


@dataclass(frozen=True)
class RunSettings:
    """The checked settings of one ``fit`` or ``evaluate``; below ``commands/`` only these travel.

    ``run`` is ``FitKeys`` for fit, ``EvaluateKeys`` for evaluate; ``method`` is None for evaluate;
    ``run_dir`` is None outside a Hydra run.
    """

    command: str
    run: EvaluateKeys
    run_dir: Path | None
    model: ModelSettings | ApiModelSettings
    data: Settings  # the data source's own settings (conf/data/<name>.yaml)
    generation: GenerationSettings
    trainer: TrainerSettings
    judge: Settings  # the judge class's own settings (conf/judge/<name>.yaml)
    method: MethodSettings | None

    def evaluation(self) -> EvaluationSettings:
        return EvaluationSettings(model=self.model, generation=self.generation, judge=self.judge, seed=self.run.seed)


def check_settings(cfg: DictConfig) -> RunSettings:
    """Check the run, model, data, generation, trainer, judge and (fit) method nodes; raise one ``UserError``."""
    model = model_settings(cfg.model)
    data = data_settings(OmegaConf.to_container(cfg.data, resolve=True))
    method = None
    fit = cfg.command == "fit"
    if fit and isinstance(model, ApiModelSettings):
        raise UserError(
            f"model={model.name}: fit trains a model's weights, and one behind an API has none here; "
            f"evaluate it (python -m unsafe_vlm evaluate model={model.name}) or fit a model the suite loads"
        )
    if fit:
        if "method" not in cfg:
            raise UserError(missing_method_message())
        method = method_settings(
            cfg,
            train_open_ended=getattr(data, "train_open_ended", False),
            train_replay=bool(getattr(data, "train_replay", ())),
        )
        if model.adapter:
            raise UserError(
                f"model.adapter={model.adapter}: fit trains new LoRA adapters on the base model and cannot "
                "train a loaded one; unset model.adapter (it is for evaluate)"
            )
    elif "method" in cfg:
        raise UserError(NO_METHOD_IN_EVALUATE)
    return RunSettings(
        command=str(cfg.command),
        run=(FitKeys if fit else EvaluateKeys).from_config(cfg, "", partial=True),
        run_dir=Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else None,
        model=model,
        data=data,
        generation=GenerationSettings.from_config(cfg.generation, "generation"),
        trainer=TrainerSettings.from_config(cfg.trainer, "trainer", partial=True),
        judge=judge_settings_of(cfg),
        method=method,
    )


def method_settings(cfg: DictConfig, *, train_open_ended: bool, train_replay: bool = False) -> MethodSettings:
    """The checked ``method`` node, and the data it trains on checked against it."""
    module_class = method_class(cfg.method.get("name"))
    method = module_class.settings_class.from_config(cfg.method, "method")
    module_class.check_data(method, train_open_ended=train_open_ended, train_replay=train_replay)
    return method


def judge_settings_of(cfg: DictConfig) -> Settings:
    """The checked ``judge`` node as its class's settings."""
    return judge_settings(OmegaConf.to_container(cfg.judge, resolve=True))
