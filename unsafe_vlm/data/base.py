"""What every data module shares: the collate, the samplers, and ``RecordDataModule``.

Batches are dicts::

    eval, sft, ppo:  {"records": RecordBatch, "inputs": backbone.encode(...)}
    dpo:             {"records": RecordBatch, "pairs": encode(questions * 2, images * 2,
                                                          answers=chosen + rejected)}

A DPO batch of B records has 2B rows, the B chosen answers then the B rejected ones after the
same prompts and images, so that DPO scores both in one forward pass.

``encode(questions, images, answers=None)`` returns ``input_ids`` (B, L), ``attention_mask``
(B, L), ``answer_mask`` (B, L) and the backbone's vision tensors; an image of None stands
for a text-only question, which the backbone shows as a blank white image. Images are
decoded in the collate, so in DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import lightning as L
import torch.distributed as dist
from PIL import Image
from torch.utils.data import DataLoader, DistributedSampler

from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.records import Record, RecordBatch, RecordDataset, Sample
from unsafe_vlm.data.settings import EvalLoaderSettings, ExternalSetSettings
from unsafe_vlm.data.split import limit as seeded_subset
from unsafe_vlm.data.tasks import TASKS, get_task, source_tasks
from unsafe_vlm.data.training import TRAIN_FORMATS
from unsafe_vlm.registry import unknown_message

STAGES = ("fit", "validate", "test", "predict")
COLLATE_KINDS = ("eval", *TRAIN_FORMATS)


class Encoder(Protocol):
    def encode(
        self, questions: list[str], images: list[Image.Image | None], answers: list[str] | None = None
    ) -> dict[str, Any]: ...


class Collator:
    """A picklable collate function (DataLoader workers) for one kind of batch."""

    def __init__(self, backbone: Encoder, kind: str):
        if kind not in COLLATE_KINDS:
            raise ValueError(f"unknown collate kind {kind!r}; choose one of {', '.join(COLLATE_KINDS)}")
        self.backbone = backbone
        self.kind = kind

    def __call__(self, records: Sequence[Record]) -> dict[str, Any]:
        questions = [r.question for r in records]
        images = [r.load_image() for r in records]
        batch: dict[str, Any] = {"records": RecordBatch(records)}
        if self.kind == "dpo":
            answers = _field(records, "answer") + _field(records, "rejected")
            batch["pairs"] = self.backbone.encode(questions * 2, images * 2, answers=answers)
        elif self.kind == "sft":
            batch["inputs"] = self.backbone.encode(questions, images, answers=_field(records, "answer"))
        else:
            batch["inputs"] = self.backbone.encode(questions, images, answers=None)
        return batch


def _field(records: Sequence[Record], name: str) -> list[str]:
    values = [getattr(r, name) for r in records]
    missing = [r.id for r, v in zip(records, values, strict=True) if v is None]
    if missing:
        raise ValueError(f"records without {name!r} cannot form this batch: {', '.join(missing[:5])}")
    return values


class UnpaddedDistributedSampler(DistributedSampler):
    """Rank r gets records r, r + world, r + 2 * world, ... in order; shards may differ by one.

    ``DistributedSampler`` pads shards to equal length by repeating records, which would
    count them twice in a score. Being a ``DistributedSampler``, Lightning keeps this one
    instead of putting its own in.
    """

    def __init__(self, dataset, num_replicas: int, rank: int):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False, drop_last=False)
        self.num_samples = len(range(rank, len(dataset), num_replicas))
        self.total_size = len(dataset)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, len(self.dataset), self.num_replicas))

    def __len__(self) -> int:
        return self.num_samples


class ResumableDistributedSampler(DistributedSampler):
    """A seeded, per-epoch shuffle (``DistributedSampler``, also for a single process) that can
    start an epoch part-way through, so a run resumed mid-epoch trains on the batches it had
    not seen instead of repeating the first ones.

    ``offset``: called as each epoch starts, how many indices of this rank's shard to leave
    out (Lightning restores its loop state after the loader is built, so it is asked late).
    """

    def __init__(self, dataset, num_replicas: int, rank: int, *, seed: int, offset: Callable[[], int] | None = None):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)
        self.offset = offset

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        skip = self.offset() if self.offset is not None else 0
        return iter(indices[skip:])


class RecordDataModule(L.LightningDataModule):
    """Evaluation tasks of ``data.tasks.TASKS`` (and, in subclasses, training records) as loaders.

    The backbone comes late, through ``connect`` (it does the collation); ``setup(stage)``
    reads and checks what the stage needs, so bad data fails before any answer is generated.
    Evaluation loaders come as a list, one per task in the order of ``task_names(stage)``;
    under DDP each rank gets a disjoint, unpadded shard, so every record is scored once.
    A resumed evaluation leaves out the records it already answered (``skip_answered``).

    Subclasses set ``source`` (which tasks they can build) and ``settings_class`` (what they are
    built from: ``data.sources.data_settings`` checks a ``data`` node as it), offer the
    ``TaskInputs`` their tasks read, and may add training formats (``_build_training``).
    """

    source: str
    settings_class: type[EvalLoaderSettings]
    settings: EvalLoaderSettings

    def __init__(
        self, *, tasks: Sequence[str], val_tasks: Sequence[str], eval_batch_size: int, num_workers: int, seed: int,
        limit: int | None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.tasks = self._task_list(tasks, "tasks")
        self.val_tasks = self._task_list(val_tasks, "val_tasks")
        self.eval_batch_size, self.num_workers, self.seed = eval_batch_size, num_workers, seed
        self.limit = limit
        self.train_format: str | None = None
        self.batch_size: int | None = None
        self.backbone: Encoder | None = None
        self._records: dict[str, list[Record]] = {}
        self._answered: dict[str, frozenset[str]] = {}

    # ----- late facts -----------------------------------------------------------------------

    def connect(self, backbone: Encoder, train_format: str | None = None, batch_size: int | None = None) -> None:
        """Give the data module the backbone that collates batches (and the training format and the
        method's batch size, which ``fit`` passes)."""
        self.backbone = backbone
        if train_format is not None:
            self.train_format = self._train_format(train_format)
        if batch_size is not None:
            self.batch_size = batch_size

    # ----- Lightning hooks --------------------------------------------------------------------

    def setup(self, stage: str | None = None) -> None:
        """Read and check what ``stage`` needs (every task when None); fails on the first bad input."""
        if stage is not None and stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
        self._answered = {}  # skips belong to one trainer run; its module sets them after this hook
        self._setup(stage)

    def _setup(self, stage: str | None) -> None:
        for task in self.task_names(stage):
            self.records(task)

    def val_dataloader(self) -> list[DataLoader]:
        return [self.eval_dataloader(task) for task in self.val_tasks]

    def test_dataloader(self) -> list[DataLoader]:
        return [self.eval_dataloader(task) for task in self.tasks]

    def predict_dataloader(self) -> list[DataLoader]:
        return self.test_dataloader()

    # ----- the interface of the evaluation ------------------------------------------------------

    def task_names(self, stage: str | None) -> tuple[str, ...]:
        """The evaluation tasks of a stage, in the order of its dataloaders."""
        if stage in ("fit", "validate"):
            return self.val_tasks
        if stage in ("test", "predict"):
            return self.tasks
        return tuple(dict.fromkeys([*self.tasks, *self.val_tasks]))

    def skip_answered(self, answered: Mapping[str, Collection[str]]) -> None:
        """Leave these record ids (per task) out of the evaluation loaders, to resume a run.

        Call it after ``setup`` (e.g. from the LightningModule's ``setup``): ``setup`` clears
        the skips, so one trainer run's skips never leak into the next. Every rank must
        pass the same ids, so that the shards still split the same list.
        """
        self._answered = {task: frozenset(ids) for task, ids in answered.items()}

    def records(self, task: str) -> list[Record]:
        """The records of an evaluation task or training format, built (and cached) on first call."""
        if task not in self._records:
            if task in TRAIN_FORMATS:
                built = self._build_training(self._train_format(task))
            else:
                built = get_task(task).build(self)
            self._records[task] = self._limited(task, built)
        return self._records[task]

    def _limited(self, task: str, built: list[Record]) -> list[Record]:
        """A seeded subset of at most ``limit`` records; of a paired task, every question of at most
        ``limit`` images, so that no image loses half of its pair."""
        if task not in TASKS or not TASKS[task].paired:
            return seeded_subset(built, self.limit, self.seed, task)
        kept = set(seeded_subset(list(dict.fromkeys(r.image for r in built)), self.limit, self.seed, task))
        return [r for r in built if r.image in kept]

    def replay_questions(self) -> list[Record]:
        """Questions whose answers by the model before training are trained on (``data.replay``); none here."""
        return []

    def give_replay_answers(self, answers: Mapping[str, str]) -> None:
        """The model's answers to ``replay_questions`` before training, by id (``fit`` gives them)."""
        if answers:
            raise DataConfigError(f"data={self.source} has no replay questions to answer")

    def _build_training(self, train_format: str) -> list[Record]:
        raise DataConfigError(f"data={self.source} is for evaluation only; it has no {train_format} records")

    # ----- loaders --------------------------------------------------------------------------

    def eval_dataloader(self, task: str) -> DataLoader:
        """One evaluation task's loader: in order, no shuffling, an unpadded shard per rank.

        Records named by ``skip_answered`` are left out.
        """
        answered = self._answered.get(task, frozenset())
        dataset = RecordDataset(r for r in self.records(task) if r.id not in answered)
        world, rank = self._world()
        sampler = UnpaddedDistributedSampler(dataset, world, rank) if world > 1 else None
        return self._loader(dataset, self.eval_batch_size, sampler, "eval")

    def train_dataloader(self) -> DataLoader:
        if self.train_format is None:
            raise DataConfigError("no training format: set data.train_format or connect(backbone, train_format=...)")
        if self.batch_size is None:
            raise DataConfigError("no training batch size: connect(backbone, train_format, batch_size=...)")
        dataset = RecordDataset(self.records(self.train_format))
        world, rank = self._world()
        sampler = ResumableDistributedSampler(
            dataset, num_replicas=world, rank=rank, seed=self.seed, offset=self._records_done_this_epoch
        )
        return self._loader(dataset, self.batch_size, sampler, self.train_format)

    def _records_done_this_epoch(self) -> int:
        """Records of the current epoch (this rank's) a resumed run already trained on; 0 on a fresh
        start. Read when the epoch starts iterating, after Lightning restored its loop state."""
        trainer = getattr(self, "trainer", None)
        if trainer is None or not trainer.fit_loop.restarting:
            return 0
        return int(trainer.fit_loop.epoch_loop.batch_progress.current.completed) * self.batch_size

    def _loader(self, dataset: RecordDataset, batch_size: int, sampler, kind: str) -> DataLoader:
        if self.backbone is None:
            raise ValueError("no backbone to collate with: call datamodule.connect(backbone) first")
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=Collator(self.backbone, kind),
            persistent_workers=self.num_workers > 0,
        )

    def _world(self) -> tuple[int, int]:
        """(world size, rank): from the trainer when attached, else torch.distributed."""
        trainer = self.trainer
        if trainer is not None:
            return trainer.world_size, trainer.global_rank
        if dist.is_available() and dist.is_initialized():
            return dist.get_world_size(), dist.get_rank()
        return 1, 0

    # ----- checks ---------------------------------------------------------------------------

    def _task_list(self, tasks: Sequence[str], key: str) -> tuple[str, ...]:
        tasks = tuple(tasks or ())
        known = source_tasks(self.source)
        unknown = [t for t in tasks if t not in known]
        if unknown:
            raise DataConfigError(unknown_message(f"data.{key}", "task", unknown[0], known))
        return tasks

    def _train_format(self, value: str) -> str:
        if value not in TRAIN_FORMATS:
            choices = ", ".join(TRAIN_FORMATS)
            raise DataConfigError(f"data.train_format: unknown training format {value!r}; choose one of {choices}")
        return value


class ExternalSetDataModule(RecordDataModule):
    """A data set outside the benchmark with one evaluation task, named as its ``source``
    (``image_safety``, ``mme``), read by ``read_samples``. Never trained on: ``fit`` is refused.

    Settings (an instance of ``settings_class``):
        path: the data set's file or folder.
        name: the data set's name; its scores are keyed ``<group>/<name>/...`` (letters, digits, ``_.+-``).
        eval_batch_size: records per batch and process.
        num_workers: DataLoader worker processes (images are decoded there).
        seed: seeds question choices and the ``limit`` subset.
        limit: keep a seeded subset of at most this many records (quick runs); all when None.
    """

    what: str = "file"  # what data.path names, for error messages
    settings_class: type[ExternalSetSettings] = ExternalSetSettings
    reader: Callable[[Path], list[Sample]] | None = None  # data.path -> its rows, when no read_samples of its own

    def __init__(self, settings: ExternalSetSettings) -> None:
        s = settings
        super().__init__(
            tasks=(self.source,), val_tasks=(self.source,), eval_batch_size=s.eval_batch_size,
            num_workers=s.num_workers, seed=s.seed, limit=s.limit,
        )  # fmt: skip
        if s.path is None or not s.path.strip():
            raise DataConfigError(f"no data: set data.path (the {self.source} {self.what})")
        self.settings = s
        self.path = Path(s.path).expanduser()
        self.name = s.name
        self._samples: list[Sample] | None = None

    def read_samples(self) -> list[Sample]:
        """Every row of the data set, in file order, checked (``DataError`` on bad input)."""
        if self.reader is None:
            raise NotImplementedError(f"{type(self).__name__} has neither a reader nor read_samples")
        return type(self).reader(self.path)

    def records(self, task: str | None = None) -> list[Record]:
        """The records of its one task (after ``limit``)."""
        if task not in (None, self.source):
            raise ValueError(f"unknown task {task!r}; this data set has only {self.source!r}")
        return super().records(self.source)

    def eval_dataloader(self, task: str | None = None) -> DataLoader:
        return super().eval_dataloader(self.source if task is None else task)

    def samples(self) -> list[Sample]:
        if self._samples is None:
            self._samples = self.read_samples()
        return self._samples

    def connect(self, backbone: Encoder, train_format: str | None = None, batch_size: int | None = None) -> None:
        if train_format is not None:
            raise DataConfigError(f"data={self.source} is for evaluation only; it has no {train_format} records")
        super().connect(backbone)

    def _setup(self, stage: str | None) -> None:
        if stage == "fit":
            raise DataConfigError(f"data={self.source} is for evaluation only; train with data=unsafe_concepts")
        super()._setup(stage)


def required(sample: Sample, field: str) -> str:
    """A field a set's rows must give for its task (its question, its gold answer, ...)."""
    value = getattr(sample, field)
    if value is None:
        raise ValueError(f"{sample.source}: this task needs the row's {field}, which its source did not give")
    return value
