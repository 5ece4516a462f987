"""``python -m unsafe_vlm evaluate``: perception, image and text alignment, the modality gap."""

from __future__ import annotations

from omegaconf import DictConfig

from unsafe_vlm.commands.parts import build_parts, describe_parts, evaluation_trainer
from unsafe_vlm.commands.summary import evaluate_next_steps, print_summary
from unsafe_vlm.evaluation.runner import run_evaluation
from unsafe_vlm.metrics.error_rows import check_error_share, rerun_hint
from unsafe_vlm.metrics.metrics_json import METRICS_FILE
from unsafe_vlm.report.comparison import print_scores
from unsafe_vlm.report.document import write_report


def evaluate(cfg: DictConfig) -> None:
    parts = build_parts(cfg, "predict")
    settings, run_dir = parts.settings, parts.settings.run_dir
    describe_parts(parts)
    trainer = evaluation_trainer(cfg, "evaluating", parts.datamodule)
    result = run_evaluation(settings.evaluation(), parts.backbone, parts.datamodule, parts.judge, trainer, run_dir)
    if result.is_global_zero:
        title = f"{settings.model.name} on {parts.datamodule.settings.name}"
        print_scores(result.metrics, title=title, source=run_dir / METRICS_FILE)
        write_report(run_dir, result.metrics, title=title)
        print_summary(run_dir, evaluate_next_steps(run_dir))
        check_error_share(result.metrics, settings.run.max_error_share, run_dir, again=rerun_hint(run_dir))
