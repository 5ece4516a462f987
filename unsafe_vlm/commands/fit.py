"""``python -m unsafe_vlm fit +method=NAME``: align a VLM, evaluating it before and after.

1. evaluate the model as it is   -> metrics_before.json, responses_before/
2. train LoRA adapters           -> checkpoints/last.ckpt (resume: ckpt_path=last), adapter/
3. evaluate the trained model    -> metrics.json, responses/
4. print both side by side and write report.md with plots
"""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from omegaconf import DictConfig

from unsafe_vlm.commands.parts import build_parts, describe_parts
from unsafe_vlm.errors import UserError
from unsafe_vlm.evaluation.runner import run_evaluation
from unsafe_vlm.evaluation.summary import print_comparison
from unsafe_vlm.methods.registry import method_class
from unsafe_vlm.report.document import write_report

BEFORE = {"responses": "responses_before", "output": "metrics_before.json"}
AFTER = {"responses": "responses", "output": "metrics.json"}


def fit(cfg: DictConfig) -> None:
    if "method" not in cfg:
        raise UserError("fit needs a method: add +method=sft, +method=dpo or +method=ppo")
    module_class = method_class(cfg.method.name)
    parts = build_parts(cfg)
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    describe_parts(cfg, parts)

    before = None
    if cfg.evaluate_before:
        before = run_evaluation(cfg, parts.backbone, parts.datamodule, run_dir, **BEFORE)

    parts.datamodule.connect(parts.backbone, train_format=module_class.train_format)
    parts.datamodule.batch_size = int(cfg.method.batch_size)
    module = module_class.from_config(parts.backbone, cfg)
    trainer = instantiate(
        cfg.trainer,
        logger=_logger(cfg),
        callbacks=[_checkpoints(cfg, run_dir), RichProgressBar()],
        _convert_="object",
    )
    trainer.fit(module, datamodule=parts.datamodule, ckpt_path=cfg.ckpt_path)
    if trainer.is_global_zero:
        module.save_adapter(run_dir / "adapter")

    if cfg.evaluate_after:
        after = run_evaluation(cfg, parts.backbone, parts.datamodule, run_dir, **AFTER)
        if after.is_global_zero:
            title = f"{cfg.model.name} after {cfg.method.name}"
            print_comparison(before.metrics if before else None, after.metrics, title=title)
            write_report(run_dir, after.metrics, title=title)


def _checkpoints(cfg: DictConfig, run_dir: Path) -> ModelCheckpoint:
    return ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        save_last=True,
        save_top_k=0,
        every_n_train_steps=int(cfg.get("checkpoint_every", 1) or 1),
    )


def _logger(cfg: DictConfig):
    if cfg.logger.get("_target_") is None:
        return False
    return instantiate(cfg.logger)

