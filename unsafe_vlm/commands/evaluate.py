"""``python -m unsafe_vlm evaluate``: perception, image and text alignment, the modality gap."""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from unsafe_vlm.commands.parts import build_parts, describe_parts
from unsafe_vlm.evaluation.runner import run_evaluation
from unsafe_vlm.metrics.metrics_json import METRICS_FILE
from unsafe_vlm.report.comparison import print_scores
from unsafe_vlm.report.document import write_report


def evaluate(cfg: DictConfig) -> None:
    parts = build_parts(cfg, "predict")
    run_dir = HydraConfig.get().runtime.output_dir
    describe_parts(cfg, parts)
    result = run_evaluation(cfg, parts.backbone, parts.datamodule, run_dir)
    if result.is_global_zero:
        title = f"{cfg.model.name} on {cfg.data.name}"
        print_scores(result.metrics, title=title, source=Path(run_dir) / METRICS_FILE)
        write_report(run_dir, result.metrics, title=title)
