"""Run an evaluation with a Lightning Trainer and write ``metrics.json`` into the run directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L

from unsafe_vlm.api.settings import TRANSPORT_KEYS, ApiModelSettings
from unsafe_vlm.backbones.registry import ModelSettings
from unsafe_vlm.evaluation.generation import GenerationSettings
from unsafe_vlm.evaluation.module import EvaluationModule
from unsafe_vlm.evaluation.responses import ResponseStore
from unsafe_vlm.judges.base import Judge
from unsafe_vlm.judges.capabilities import check_judge_covers
from unsafe_vlm.judges.identity import IDENTITY_PREFIX, judge_identity
from unsafe_vlm.metrics.metrics_json import write_metrics
from unsafe_vlm.settings import Settings

# Settings that change no response: a resumed run may differ in these.
_IRRELEVANT_DATA_KEYS = (
    "batch_size", "eval_batch_size", "image_cache_mib", "num_workers", "cache_dir", "verify_images", "val_tasks",
)
_TRAINING_ONLY_MODEL_KEYS = ("lora", "gradient_checkpointing")


@dataclass(frozen=True)
class EvaluationSettings:
    """What an evaluation's answers and verdicts depend on, besides its data (checked in ``commands/``)."""

    model: ModelSettings | ApiModelSettings
    generation: GenerationSettings
    judge: Settings  # the judge's own settings class (conf/judge/<name>.yaml)
    seed: int


@dataclass
class EvaluationResult:
    metrics: dict[str, Any]
    is_global_zero: bool  # False in the other DDP processes, which should print and write nothing


def evaluation_settings(settings: EvaluationSettings, datamodule: L.LightningDataModule) -> dict[str, Any]:
    """The flattened settings the responses depend on (model, data, prompts, generation, judge)."""
    data = {k: v for k, v in datamodule.settings.to_dict().items() if k not in _IRRELEVANT_DATA_KEYS}
    model = settings.model.to_dict()
    unused = _TRAINING_ONLY_MODEL_KEYS + (TRANSPORT_KEYS if isinstance(settings.model, ApiModelSettings) else ())
    parts = {
        "model": {k: v for k, v in model.items() if k not in unused},
        "data": data,  # its source by name (data.source); the judge's class is in the judge's identity
        "generation": settings.generation.to_dict(),
        "judge": settings.judge.to_dict(),
        **({"seed": settings.seed} if settings.generation.do_sample else {}),  # sampled answers depend on it
    }
    return _flatten(parts)


def run_evaluation(
    settings: EvaluationSettings,
    backbone,
    datamodule: L.LightningDataModule,
    judge: Judge,
    trainer: L.Trainer,
    run_dir: str | Path,
    *,
    responses: str = "responses",
    output: str = "metrics.json",
) -> EvaluationResult:
    """Answer, judge and score every task of ``data.tasks`` with ``trainer`` (one made for this
    evaluation, without logger or checkpoints); rank 0 writes ``run_dir/output``."""
    store = ResponseStore(run_dir, name=responses)
    check_judge_covers(judge, datamodule.task_names("predict"))
    # Part of what the answers' verdicts depend on: a resume under other rules or weights is refused.
    identity = {IDENTITY_PREFIX + key: value for key, value in judge_identity(judge).items()}
    module = EvaluationModule(
        backbone,
        judge,
        store,
        generation=settings.generation,
        settings={**evaluation_settings(settings, datamodule), **identity},
    )
    trainer.predict(module, datamodule=datamodule, return_predictions=False)
    metrics = module.score(trainer)
    if trainer.is_global_zero:
        write_metrics(Path(run_dir) / output, metrics)
    return EvaluationResult(metrics=metrics, is_global_zero=trainer.is_global_zero)


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat
