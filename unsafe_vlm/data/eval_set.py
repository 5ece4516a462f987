"""``EvalSetDataModule``: the shared base of data sets outside the benchmark (one evaluation task each).

It offers what ``EvaluationModule`` uses of ``SafetyDataModule``: ``connect(backbone)``,
``setup(stage)``, ``task_names(stage)``, ``predict_dataloader()`` / ``test_dataloader()``
(a list of one loader), ``skip_answered`` and ``records(task)``. Under DDP each rank gets a
disjoint, unpadded shard (``UnpaddedDistributedSampler``), so every record is scored once.
Subclasses say how to read their items (``read_items``). These sets are never trained on:
``fit`` is refused.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path

import lightning as L
import torch.distributed as dist
from torch.utils.data import DataLoader

from unsafe_vlm.data.choices import limit as seeded_subset
from unsafe_vlm.data.collate import Encoder
from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.items import ImageItem, ItemCollator, ItemDataset
from unsafe_vlm.data.records import Record
from unsafe_vlm.data.samplers import UnpaddedDistributedSampler

STAGES = ("fit", "validate", "test", "predict")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class EvalSetDataModule(L.LightningDataModule):
    """One evaluation task over a data set read by ``read_items``.

    Args:
        path: the data set's file or folder.
        name: the data set's name; its scores are keyed ``<group>/<name>/...`` (letters, digits, ``_.+-``).
        eval_batch_size: records per batch and process.
        num_workers: DataLoader worker processes (images are decoded there).
        seed: seeds question choices and the ``limit`` subset.
        limit: keep a seeded subset of at most this many records (quick runs); all when None.
    """

    task: str = ""  # set by each subclass
    source: str = "file"  # what data.path names, for error messages

    def __init__(
        self,
        path: str | None,
        name: str,
        *,
        eval_batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 2024,
        limit: int | None = None,
    ) -> None:
        super().__init__()
        if path is None or not str(path).strip():
            raise DataConfigError(f"no data: set data.path (the {self.task} {self.source})")
        if not isinstance(name, str) or not _NAME.match(name):
            raise DataConfigError(f"data.name must be a plain name (letters, digits, _.+-), got {name!r}")
        if limit is not None and limit < 1:
            raise DataConfigError(f"data.limit must be at least 1 (or null for all), got {limit}")
        self.path = Path(path).expanduser()
        self.name = name
        self.eval_batch_size, self.num_workers = eval_batch_size, num_workers
        self.seed, self.limit = seed, limit
        self.backbone: Encoder | None = None
        self._items: list[ImageItem] | None = None
        self._answered: frozenset[str] = frozenset()

    def read_items(self) -> list[ImageItem]:
        """Every item of the data set, in file order, checked (``DataError`` on bad input)."""
        raise NotImplementedError

    # ----- the interface of the evaluation --------------------------------------------------

    def connect(self, backbone: Encoder, train_format: str | None = None) -> None:
        """Give the data module the backbone that collates batches."""
        if train_format is not None:
            raise DataConfigError(f"data={self.task} is for evaluation only; it has no {train_format} records")
        self.backbone = backbone

    def setup(self, stage: str | None = None) -> None:
        """Read and check the whole data set (once); fails on the first bad row."""
        if stage is not None and stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
        if stage == "fit":
            raise DataConfigError(f"data={self.task} is for evaluation only; train with data=unsafe_concepts")
        self._answered = frozenset()  # skips belong to one trainer run; its module sets them after this hook
        self.items()

    def task_names(self, stage: str | None = None) -> tuple[str, ...]:
        """The one task of every stage."""
        return (self.task,)

    def skip_answered(self, answered: Mapping[str, Collection[str]]) -> None:
        """Leave these record ids out of the loaders, to resume a run (call after ``setup``)."""
        self._answered = frozenset(answered.get(self.task, ()))

    def records(self, task: str | None = None) -> list[Record]:
        """The records of the task (after ``limit``)."""
        if task not in (None, self.task):
            raise ValueError(f"unknown task {task!r}; this data set has only {self.task!r}")
        return [item.record for item in self.items()]

    def items(self) -> list[ImageItem]:
        """Records with their images, read on first call."""
        if self._items is None:
            self._items = seeded_subset(self.read_items(), self.limit, self.seed, self.task)
        return self._items

    # ----- loaders --------------------------------------------------------------------------

    def predict_dataloader(self) -> list[DataLoader]:
        return [self.eval_dataloader()]

    def test_dataloader(self) -> list[DataLoader]:
        return [self.eval_dataloader()]

    def val_dataloader(self) -> list[DataLoader]:
        return [self.eval_dataloader()]

    def eval_dataloader(self, task: str | None = None) -> DataLoader:
        """In order, no shuffling, an unpadded shard per rank; ids named by ``skip_answered`` left out."""
        if self.backbone is None:
            raise ValueError("no backbone to collate with: call datamodule.connect(backbone) first")
        dataset = ItemDataset(item for item in self.items() if item.record.id not in self._answered)
        world, rank = self._world()
        return DataLoader(
            dataset,
            batch_size=self.eval_batch_size,
            sampler=UnpaddedDistributedSampler(dataset, world, rank) if world > 1 else None,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=ItemCollator(self.backbone),
            persistent_workers=self.num_workers > 0,
        )

    def _world(self) -> tuple[int, int]:
        """(world size, rank): from the trainer when attached, else torch.distributed."""
        if self.trainer is not None:
            return self.trainer.world_size, self.trainer.global_rank
        if dist.is_available() and dist.is_initialized():
            return dist.get_world_size(), dist.get_rank()
        return 1, 0
