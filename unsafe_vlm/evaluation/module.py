"""The evaluation LightningModule: answer each query, judge the answer, write it down at once."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L

from unsafe_vlm.api.client import Answer, ApiFailure, ApiModel, ServedModelChanged
from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.evaluation.generation import GenerationSettings
from unsafe_vlm.evaluation.image_features import ImageFeatureCache
from unsafe_vlm.evaluation.responses import ResponseStore
from unsafe_vlm.evaluation.rows import api_rows, judged_rows
from unsafe_vlm.judges.base import Judge
from unsafe_vlm.judges.identity import saved_identity
from unsafe_vlm.metrics.api_usage import api_usage
from unsafe_vlm.metrics.error_rows import error_counts
from unsafe_vlm.metrics.intervals import headline_intervals
from unsafe_vlm.metrics.metrics_json import metrics_json
from unsafe_vlm.metrics.scoring import ordered_categories, score_responses

_ANSWER_FIELDS = ("usage", "finish_reason")  # what a row from an API keeps of its answer, beside the verdict


class EvaluationModule(L.LightningModule):
    """Runs under ``Trainer.predict`` over the data module's evaluation loaders (one per task).

    Before the loaders are made, every rank reads which queries the run directory already
    answered and the data module leaves those out (a resumed run asks only the rest); rank 0
    records how many queries each task asks, so a reader can tell an unfinished run. Each
    batch's responses go to this rank's shard at once, so nothing piles up in memory and a
    kill loses at most one batch. ``score`` then has every rank score its slice of the saved
    responses, torchmetrics sums the slices, and rank 0 merges the shards.

    A model behind an API (``ApiModel``) is asked differently: each batch's queries are queued, up
    to the model's ``concurrency`` are in flight, and every answer is judged and written as it
    arrives (``on_predict_end`` waits for the last ones).

    A local model's image features are computed once per image and reused by every later question
    about it (``ImageFeatureCache``, bounded by ``data.image_cache_mib``).

    After ``predict``, ``score(trainer)`` gives the flat metrics dict (on every rank).
    """

    def __init__(
        self,
        backbone: VLMBackbone | ApiModel,
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
        self.image_cache: ImageFeatureCache | None = None

    def setup(self, stage: str) -> None:
        datamodule = self.trainer.datamodule
        if isinstance(self.backbone, VLMBackbone):  # a fresh cache each time: weights may have changed since
            cache_mib = getattr(getattr(datamodule, "settings", None), "image_cache_mib", 0)
            self.image_cache = ImageFeatureCache(self.backbone, cache_mib)
        self.store.rank = self.global_rank
        self.store.check_config(self.settings)
        pin_served_models(self.backbone, self.judge, self.store.folder)
        tasks = datamodule.task_names("predict")
        if self.global_rank == 0:
            self._judge_errored_verdicts_again(tasks)
        answered = {task: self.store.reusable_ids(task, datamodule.records(task)) for task in tasks}
        self.store.write_query_counts({task: len({r.id for r in datamodule.records(task)}) for task in tasks})
        datamodule.skip_answered(answered)
        done = sum(len(ids) for ids in answered.values())
        if done:
            total = sum(len(datamodule.records(task)) for task in tasks)
            self.print(f"resuming {self.store.folder}: {done} of {total} queries answered, asking {total - done}")
        # Nobody writes before every rank has read what was answered: the shards must agree.
        self.trainer.strategy.barrier("answered-ids")

    def _judge_errored_verdicts_again(self, tasks: list[str]) -> None:
        """Judge the saved answers whose verdict was an error again (their model is not asked again)."""
        datamodule = self.trainer.datamodule
        for task in tasks:
            rows = self.store.errored_verdicts(task)
            if not rows:
                continue
            self.print(f"judging {len(rows)} {task} answers again: their verdict was an error")
            by_id = {record.id: record for record in datamodule.records(task)}
            judged = judged_rows(self.judge, [by_id[row["id"]] for row in rows], [row["response"] for row in rows])
            kept = [{key: old[key] for key in _ANSWER_FIELDS if key in old} for old in rows]  # the answer's own
            self.store.append(task, [{**new, **fields} for new, fields in zip(judged, kept, strict=True)])

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> None:
        records = list(batch["records"])
        if isinstance(self.backbone, ApiModel):
            for record, messages in zip(records, batch["inputs"], strict=True):
                self.backbone.submit(record, messages, self.generation.to_dict())
            self._write_arrived(max_pending=self.backbone.settings.concurrency)
            return
        inputs = self.image_cache.encode(batch["inputs"]) if self.image_cache is not None else batch["inputs"]
        answers = self.backbone.generate(inputs, **self.generation.to_dict())
        self.store.append(records[0].task, judged_rows(self.judge, records, answers.texts))

    def on_predict_end(self) -> None:
        if isinstance(self.backbone, ApiModel):
            self._write_arrived(max_pending=0)

    def _write_arrived(self, max_pending: int) -> None:
        """Judge and write the API answers that arrived; after a failure, raise it once they are written."""
        arrived, failure = self.backbone.collect(max_pending)
        by_task: dict[str, list[tuple[Any, Answer]]] = {}
        for record, answer in arrived:
            by_task.setdefault(record.task, []).append((record, answer))
        for task, pairs in by_task.items():
            self.store.append(task, api_rows(self.judge, pairs))
        if isinstance(failure, ServedModelChanged):
            raise failure
        if failure is not None:
            raise ApiFailure(
                f"{failure}; the answers received are kept in {self.store.folder}, and the same command "
                "asks only the rest"
            )

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
        self.metrics = metrics_json(
            results, api_usage(rows), judge=saved_identity(self.settings), intervals=headline_intervals(rows),
            errors=error_counts(rows),
        )
        strategy.barrier("responses-scored")
        if trainer.is_global_zero:
            for task in tasks:
                self.store.merge(task)
        return self.metrics


def pin_served_models(backbone: object, judge: object, folder: Path) -> None:
    """Answers and verdicts from an endpoint must all come from one served model (``api.served_model``)."""
    if isinstance(backbone, ApiModel):
        backbone.pin_served_model(folder / "served_model.json")
    client = getattr(judge, "client", None)
    if isinstance(client, ApiModel):
        client.pin_served_model(folder / "served_judge.json")
