"""The evaluation LightningModule: answer each query, judge the answer, write it down at once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.evaluation.generation import GenerationSettings
from unsafe_vlm.evaluation.responses import ResponseStore
from unsafe_vlm.evaluation.rows import judge_responses, response_rows
from unsafe_vlm.judges.base import Judge
from unsafe_vlm.metrics.metrics_json import metrics_json
from unsafe_vlm.metrics.scoring import ordered_categories, score_responses


class EvaluationModule(L.LightningModule):
    """Runs under ``Trainer.predict`` over the data module's evaluation loaders (one per task).

    Before the loaders are made, every rank reads which queries the run directory already
    answered and the data module leaves those out (a resumed run asks only the rest); rank 0
    records how many queries each task asks, so a reader can tell an unfinished run. Each
    batch's responses go to this rank's shard at once, so nothing piles up in memory and a
    kill loses at most one batch. ``score`` then has every rank score its slice of the saved
    responses, torchmetrics sums the slices, and rank 0 merges the shards.

    After ``predict``, ``score(trainer)`` gives the flat metrics dict (on every rank).
    """

    def __init__(
        self,
        backbone: VLMBackbone,
        judge: Judge,
        store: ResponseStore,
        generation: GenerationSettings,
        settings: Mapping[str, Any],
    ):
        super().__init__()
        self.backbone = backbone
        self.judge = judge
        self.store = store
        self.generation = generation
        self.settings = dict(settings)
        self.metrics: dict[str, Any] | None = None

    def setup(self, stage: str) -> None:
        datamodule = self.trainer.datamodule
        self.store.rank = self.global_rank
        self.store.check_config(self.settings)
        tasks = datamodule.task_names("predict")
        answered = {task: self.store.reusable_ids(task, datamodule.records(task)) for task in tasks}
        self.store.write_query_counts({task: len({r.id for r in datamodule.records(task)}) for task in tasks})
        datamodule.skip_answered(answered)
        done = sum(len(ids) for ids in answered.values())
        if done:
            total = sum(len(datamodule.records(task)) for task in tasks)
            rank_zero_info(f"resuming {self.store.folder}: {done} of {total} queries answered, asking {total - done}")
        # Nobody writes before every rank has read what was answered: the shards must agree.
        self.trainer.strategy.barrier("answered-ids")

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> None:
        records = list(batch["records"])
        answers = self.backbone.generate(batch["inputs"], **self.generation.to_dict())
        probabilities = judge_responses(self.judge, records, answers.texts)
        self.store.append(records[0].task, response_rows(records, answers.texts, probabilities))

    def score(self, trainer: L.Trainer) -> dict[str, Any]:
        """Score every saved response once ``predict`` is over (also when nothing was left to ask,
        in which case Lightning runs no predict hooks); rank 0 then merges the shards."""
        strategy = trainer.strategy
        strategy.barrier("responses-written")
        tasks = trainer.datamodule.task_names("predict")
        rows = {task: self.store.load(task) for task in tasks}
        results = score_responses(
            rows,
            ordered_categories(rows),
            rank=trainer.global_rank,
            world_size=trainer.world_size,
            holdout_concepts=getattr(trainer.datamodule, "holdout_concepts", ()),
        )
        self.metrics = metrics_json(results)
        strategy.barrier("responses-scored")
        if trainer.is_global_zero:
            for task in tasks:
                self.store.merge(task)
        return self.metrics
