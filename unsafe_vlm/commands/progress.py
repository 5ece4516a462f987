"""What the terminal shows while a command runs: each stage named, its bar labelled with the stage."""

from __future__ import annotations

from lightning.pytorch.callbacks import RichProgressBar
from lightning.pytorch.utilities import rank_zero_only


class StageBar(RichProgressBar):
    """Lightning's rich progress bar, labelled with the stage of the command.

    An evaluation's bars read "<stage>: <task>" (Lightning's read "Predicting"). The training bar
    counts epochs from 1 up to ``max_epochs``: Lightning's counts from 0, so the last of two epochs
    read "Epoch 1/1" just before Lightning said ``max_epochs=2`` was reached.
    """

    def __init__(self, stage: str):
        super().__init__()
        self.stage = stage
        self._task = ""

    @property
    def predict_description(self) -> str:
        return f"{self.stage}: {self._task}" if self._task else self.stage

    def on_predict_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        tasks = trainer.datamodule.task_names("predict")  # one loader per task, in this order
        self._task = tasks[dataloader_idx] if dataloader_idx < len(tasks) else ""
        super().on_predict_batch_start(trainer, pl_module, batch, batch_idx, dataloader_idx)

    def on_train_start(self, trainer, pl_module) -> None:
        announce(f"{self.stage}: {training_budget(trainer)}")
        super().on_train_start(trainer, pl_module)

    def _get_train_description(self, current_epoch: int) -> str:
        epochs = self.trainer.max_epochs
        of = f"/{epochs}" if epochs is not None and epochs > 0 else ""  # max_epochs=-1: until max_steps
        return f"epoch {current_epoch + 1}{of}"

    def get_metrics(self, trainer, pl_module) -> dict:
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)  # the logger's version folder, not a measurement
        return metrics


def training_budget(trainer) -> str:
    """How long the training runs: "2 epochs of 32 batches", and where it resumes or stops early."""
    epochs = trainer.max_epochs
    parts = [f"{epochs} epoch{'s' if epochs != 1 else ''} of " if epochs and epochs > 0 else "epochs of "]
    batches = trainer.num_training_batches
    parts[0] += f"{batches:,} batch{'es' if batches != 1 else ''}"
    if trainer.max_steps is not None and trainer.max_steps > 0:
        parts.append(f"stopping at step {trainer.max_steps:,}")
    if trainer.global_step > 0:
        parts.append(f"resuming at step {trainer.global_step:,}")
    return ", ".join(parts)


@rank_zero_only
def announce_evaluation(stage: str, datamodule) -> None:
    """Print "<stage>: N queries", counting every query of ``data.tasks`` after ``data.limit_per_task``.

    The first process only, which has read the data (the other DDP processes read it later, in Lightning's hooks).
    """
    queries = sum(len(datamodule.records(task)) for task in datamodule.task_names("predict"))
    announce(f"{stage}: {queries:,} queries")


@rank_zero_only
def announce(line: str) -> None:
    """A stage's first line, printed by the first process only."""
    print(line, flush=True)
