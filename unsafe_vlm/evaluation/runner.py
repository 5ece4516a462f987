"""Run an evaluation with a Lightning Trainer and write ``metrics.json`` into the run directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from lightning.pytorch.callbacks import RichProgressBar
from omegaconf import DictConfig, OmegaConf

from unsafe_vlm.api.settings import API_FAMILY, TRANSPORT_KEYS
from unsafe_vlm.evaluation.generation import GenerationSettings
from unsafe_vlm.evaluation.module import EvaluationModule
from unsafe_vlm.evaluation.responses import ResponseStore
from unsafe_vlm.judges.capabilities import check_judge_covers
from unsafe_vlm.judges.identity import IDENTITY_PREFIX, judge_identity
from unsafe_vlm.judges.registry import build_judge
from unsafe_vlm.metrics.metrics_json import write_metrics

# Settings that change no response: a resumed run may differ in these.
_IRRELEVANT_DATA_KEYS = ("batch_size", "eval_batch_size", "num_workers", "cache_dir", "verify_images", "val_tasks")


@dataclass
class EvaluationResult:
    metrics: dict[str, Any]
    is_global_zero: bool  # False in the other DDP processes, which should print and write nothing


_TRAINING_ONLY_MODEL_KEYS = ("lora",)


def evaluation_settings(cfg: DictConfig) -> dict[str, Any]:
    """The flattened settings the responses depend on (model, data, prompts, generation, judge)."""
    data = {k: v for k, v in OmegaConf.to_container(cfg.data, resolve=True).items() if k not in _IRRELEVANT_DATA_KEYS}
    model = OmegaConf.to_container(cfg.model, resolve=True)
    unused = _TRAINING_ONLY_MODEL_KEYS + (TRANSPORT_KEYS if model.get("family") == API_FAMILY else ())
    generation = generation_settings(cfg)
    parts = {
        "model": {k: v for k, v in model.items() if k not in unused},
        "data": data,
        "generation": generation.to_dict(),
        "judge": OmegaConf.to_container(cfg.judge, resolve=True),
        **({"seed": cfg.seed} if generation.do_sample else {}),  # sampled answers depend on it; greedy ones do not
    }
    return _flatten(parts)


def generation_settings(cfg: DictConfig) -> GenerationSettings:
    return GenerationSettings.from_config(cfg.generation, "generation")


def run_evaluation(
    cfg: DictConfig,
    backbone,
    datamodule,
    run_dir: str | Path,
    *,
    responses: str = "responses",
    output: str = "metrics.json",
) -> EvaluationResult:
    """Answer, judge and score every task of ``data.tasks``; rank 0 writes ``run_dir/output``."""
    store = ResponseStore(run_dir, name=responses)
    judge = build_judge(cfg.judge)
    check_judge_covers(judge, datamodule.task_names("predict"))
    # Part of what the answers' verdicts depend on: a resume under other rules or weights is refused.
    identity = {IDENTITY_PREFIX + key: value for key, value in judge_identity(judge).items()}
    module = EvaluationModule(
        backbone,
        judge,
        store,
        generation=generation_settings(cfg),
        settings={**evaluation_settings(cfg), **identity},
    )
    trainer = instantiate(
        cfg.trainer, logger=False, callbacks=[RichProgressBar()], enable_checkpointing=False, _convert_="object"
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
