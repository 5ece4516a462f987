"""``python -m unsafe_vlm fit +method=NAME``: align a VLM, evaluating it before and after.

1. evaluate the model as it is   -> metrics_before.json, responses_before/
2. train LoRA adapters           -> checkpoints/last.ckpt (resume: ckpt_path=last), adapter/
3. evaluate the trained model    -> metrics.json, responses/ (asked again when a resume trained further)
4. print both side by side; write report.md, report.html, comparison.md and the figures
5. end with what the run folder holds and what to run next
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import lightning as L
from hydra.utils import instantiate
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig

from unsafe_vlm.commands.checks import check_settings
from unsafe_vlm.commands.parts import build_parts, describe_parts, evaluation_trainer
from unsafe_vlm.commands.progress import StageBar
from unsafe_vlm.commands.resume import FINGERPRINT, check_resume, model_identity, training_fingerprint
from unsafe_vlm.commands.stopping import StopAtStep, stop_if_asked
from unsafe_vlm.commands.summary import fit_next_steps, print_summary
from unsafe_vlm.errors import UserError
from unsafe_vlm.evaluation.replay import reference_answers
from unsafe_vlm.evaluation.runner import run_evaluation
from unsafe_vlm.methods.registry import method_class
from unsafe_vlm.metrics.error_rows import check_error_share, rerun_hint
from unsafe_vlm.report.comparison import print_before_after
from unsafe_vlm.report.document import write_report

BEFORE = {"responses": "responses_before", "output": "metrics_before.json"}
AFTER = {"responses": "responses", "output": "metrics.json"}
REPLAY_FILE = "replay_answers.jsonl"  # the model's answers before training to the replayed questions (SFT, DPO)
TRAINED_FILE = "trained.json"  # in the responses folder after training: which training step answered


def fit(cfg: DictConfig) -> None:
    settings = check_settings(cfg)
    run_dir, run, method = settings.run_dir, settings.run, settings.method
    check_resume(cfg, run_dir)
    parts = build_parts(cfg, "fit", settings)
    describe_parts(parts)
    evaluation = settings.evaluation()

    before = None
    if run.evaluate_before:
        trainer = evaluation_trainer(cfg, "before training", parts.datamodule)
        before = run_evaluation(evaluation, parts.backbone, parts.datamodule, parts.judge, trainer, run_dir, **BEFORE)

    module_class = method_class(method.name)
    _answer_replay(parts, settings, module_class.train_format)
    # Training starts from the seed alone: the evaluation before it (how many loaders it made, each
    # drawing a base seed from torch's generator) must not change the training shuffle or its samples.
    L.seed_everything(run.seed, workers=True, verbose=False)
    parts.datamodule.connect(parts.backbone, train_format=module_class.train_format, batch_size=method.batch_size)
    module = module_class.build(parts.backbone, method, settings.model.lora, parts.judge)
    module.hparams["model"] = model_identity(settings.model.to_dict())  # so that a resume onto another base is refused
    module.hparams[FINGERPRINT] = training_fingerprint(cfg)  # and one with other settings of the training
    trainer = instantiate(
        cfg.trainer,
        logger=_logger(cfg),
        callbacks=[
            _checkpoints(run.checkpoint_every, run_dir), StopAtStep(_last_checkpoint(run_dir)), StageBar("training")
        ],
        _convert_="object",
    )
    try:
        trainer.fit(module, datamodule=parts.datamodule, ckpt_path=run.ckpt_path)
    except MisconfigurationException as error:  # Lightning's word on trainer.* (0.01 of 1 batch, ...)
        raise UserError(f"trainer: {error}") from None
    stop_if_asked()  # a signal during the last step: the checkpoint is saved, the adapter is not
    if trainer.is_global_zero:
        module.save_adapter(run_dir / "adapter")

    if run.evaluate_after:
        _forget_stale_responses(trainer, run_dir / AFTER["responses"], method.name)
        trainer = evaluation_trainer(cfg, "after training", parts.datamodule)
        after = run_evaluation(evaluation, parts.backbone, parts.datamodule, parts.judge, trainer, run_dir, **AFTER)
        if after.is_global_zero:
            title = f"{settings.model.name} after {method.name}"
            print_before_after(before.metrics if before else None, after.metrics, title=title, run_dir=run_dir)
            write_report(run_dir, after.metrics, title=title)
    if trainer.is_global_zero:
        print_summary(run_dir, fit_next_steps(run_dir, settings.model.name))
    # An evaluation that kept error rows leaves the run unfinished (its scores were written without them).
    for result in (before, after if run.evaluate_after else None):
        if result is not None and result.is_global_zero:
            check_error_share(result.metrics, run.max_error_share, run_dir, again=rerun_hint(run_dir))


def _answer_replay(parts, settings, train_format: str) -> None:
    """Ask the model, before any adapter is added, the questions replayed in training
    (``data.train_replay``); SFT and DPO train on its answers, written to ``replay_answers.jsonl``.
    PPO and GRPO answer them on-policy and need none."""
    questions = parts.datamodule.replay_questions()
    if not questions:
        return
    print(f"replay: {len(questions)} capability questions about train images mixed into training", flush=True)
    if train_format == "ppo":
        return
    answers = reference_answers(
        parts.backbone, questions, settings.generation, batch_size=settings.data.eval_batch_size
    )
    parts.datamodule.give_replay_answers(answers)
    if settings.run_dir is not None and rank_zero_only.rank == 0:
        rows = [{"id": q.id, "question": q.question, "image": q.image, "answer": answers[q.id]} for q in questions]
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        (settings.run_dir / REPLAY_FILE).write_text(text, encoding="utf-8")


def _forget_stale_responses(trainer, folder: Path, method: str) -> None:
    """Drop the answers of an earlier, shorter training in this run directory (a resume that
    trained further); answers of the model as it is now (a killed evaluation) are kept to resume."""
    marker = folder / TRAINED_FILE
    trained = {"method": method, "global_step": int(trainer.global_step)}
    if trainer.is_global_zero:
        if folder.exists() and (not marker.is_file() or json.loads(marker.read_text()) != trained):
            print(f"{folder} holds answers of the model before this training; asking again", flush=True)
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(trained) + "\n", encoding="utf-8")
    trainer.strategy.barrier("stale-responses")


def _checkpoints(every: int, run_dir: Path) -> ModelCheckpoint:
    return ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        save_last=True,
        save_top_k=0,
        every_n_train_steps=every,
        enable_version_counter=False,  # always checkpoints/last.ckpt, also in a moved run folder
    )


def _logger(cfg: DictConfig):
    if cfg.logger.get("_target_") is None:
        return False
    return instantiate(cfg.logger)



def _last_checkpoint(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / f"{ModelCheckpoint.CHECKPOINT_NAME_LAST}{ModelCheckpoint.FILE_EXTENSION}"
