"""``SafetyDataModule``: every evaluation task and the alignment-training records, for any backbone.

The backbone comes late, through ``connect`` (it does the collation); ``setup(stage)``
reads and checks only what the stage needs:

- ``fit``: the train split (unsafe and safe) and the ``val_tasks``;
- ``validate``: the ``val_tasks``; ``test`` and ``predict``: the ``tasks``.

Evaluation loaders come as a list, one per task in the order of ``task_names(stage)``;
under DDP each rank gets a disjoint, unpadded shard, so every record is scored once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch.distributed as dist
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch.utils.data import DataLoader

from unsafe_vlm.data.benchmark import load_benchmark
from unsafe_vlm.data.choices import limit
from unsafe_vlm.data.collate import Collator, Encoder
from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.eval_tasks import (
    EVAL_TASKS,
    alignment_image_records,
    alignment_test_records,
    alignment_text_records,
    perception_records,
)
from unsafe_vlm.data.hub import hub_export
from unsafe_vlm.data.prompts import load_prompts
from unsafe_vlm.data.records import Record, RecordDataset
from unsafe_vlm.data.safe_images import load_safe_images
from unsafe_vlm.data.samplers import ResumableDistributedSampler, UnpaddedDistributedSampler
from unsafe_vlm.data.samples import ImageSample
from unsafe_vlm.data.split import Split, balanced_split, split_unsafe
from unsafe_vlm.data.synth import SAFE_FOLDER, SynthParams, ensure_synthetic
from unsafe_vlm.data.taxonomy import published_taxonomy, read_concept_list, safe_concepts
from unsafe_vlm.data.training_records import TRAIN_FORMATS, training_records

STAGES = ("fit", "validate", "test", "predict")
EVAL_SPLITS = ("all", "test")
NEEDS_SAFE_SIDE = ("alignment_test",)


class SafetyDataModule(L.LightningDataModule):
    """UnsafeConcepts (or its synthetic stand-in) plus safe images, as records and batches.

    Args:
        root: benchmark folder (``metadata.jsonl``, ``images/``, optional ``perception_metadata.jsonl``).
        safe_root: safe images folder (``metadata.jsonl`` naming each image's concept).
        prompts: the ``prompts`` config (question and answer wording); the shipped default when None.
        tasks: evaluation tasks of ``test``/``predict``, from ``EVAL_TASKS``.
        val_tasks: evaluation tasks of ``fit``/``validate``.
        train_format: ``sft``, ``dpo`` or ``ppo``; may also come through ``connect``.
        batch_size: records per training batch and process.
        eval_batch_size: records per evaluation batch and process.
        num_workers: DataLoader worker processes (images are decoded there).
        seed: seeds the split, question choices, drawn perception options and limits
            (2024 reproduces the paper's split membership).
        train_ratio: share of each unsafe concept's images in train (the paper: 0.8).
        limit_per_task: keep a seeded subset of at most this many records per task (quick runs).
        eval_split: which unsafe images ``perception`` and ``alignment_image`` ask about: ``all``
            (the paper's measurement of off-the-shelf models) or ``test`` (only the test split's,
            for a model trained on the train split). ``alignment_text`` has no images and
            ``alignment_test`` is the test split already; neither changes.
        holdout_concepts: concepts left out of alignment training (still in the test split).
        verify_images: decode-check every image at setup, not only that it exists.
        metadata_dir: where the benchmark's metadata files are, when not in ``root``.
        safe_concepts_file: a list of allowed safe concept names (one a line); any when None.
        hub_id / safe_hub_id: a Hugging Face dataset id or ``save_to_disk`` folder instead of
            ``root`` / ``safe_root`` (needs the ``hub`` extra).
        hub_split: the split of the hub datasets to read.
        synthetic: the synthetic generator's parameters (``SynthParams``); when given, the data
            set is generated under ``cache_dir`` on first use and ``root``/``safe_root`` must be unset.
        cache_dir: where generated and exported data sets are kept.
        name: a label for logs and tables.
    """

    def __init__(
        self,
        root: str | None = None,
        safe_root: str | None = None,
        *,
        prompts: Mapping[str, Any] | None = None,
        tasks: Sequence[str] = ("perception", "alignment_image", "alignment_text"),
        val_tasks: Sequence[str] = ("alignment_test",),
        train_format: str | None = None,
        batch_size: int = 8,
        eval_batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 2024,
        train_ratio: float = 0.8,
        limit_per_task: int | None = None,
        eval_split: str = "all",
        holdout_concepts: Sequence[str] = (),
        verify_images: bool = False,
        metadata_dir: str | None = None,
        safe_concepts_file: str | None = None,
        hub_id: str | None = None,
        safe_hub_id: str | None = None,
        hub_split: str = "train",
        synthetic: Mapping[str, Any] | None = None,
        cache_dir: str = "~/.cache/unsafe_vlm",
        name: str | None = None,
    ) -> None:
        super().__init__()
        self.root, self.safe_root, self.metadata_dir = root, safe_root, metadata_dir
        self.prompts = load_prompts(prompts)
        self.tasks = _task_list(tasks, "tasks")
        self.val_tasks = _task_list(val_tasks, "val_tasks")
        self.train_format = _train_format(train_format)
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        self.seed, self.train_ratio, self.limit_per_task = seed, train_ratio, limit_per_task
        self.eval_split = _eval_split(eval_split)
        self.holdout_concepts = tuple(_plain(holdout_concepts) or ())
        self.verify_images = verify_images
        self.safe_concepts_file = safe_concepts_file
        self.hub_id, self.safe_hub_id, self.hub_split = hub_id, safe_hub_id, hub_split
        self.synthetic = None if synthetic is None else SynthParams.from_mapping(_plain(synthetic))
        self.cache_dir = cache_dir
        self.name = name
        self.backbone: Encoder | None = None
        self._check_sources()
        self._unsafe: list[ImageSample] | None = None
        self._safe: list[ImageSample] | None = None
        self._splits: tuple[Split, Split] | None = None
        self._records: dict[str, list[Record]] = {}
        self._answered: dict[str, frozenset[str]] = {}

    # ----- late facts ---------------------------------------------------------------------

    def connect(self, backbone: Encoder, train_format: str | None = None) -> None:
        """Give the data module the backbone that collates batches (and the training format)."""
        self.backbone = backbone
        if train_format is not None:
            self.train_format = _train_format(train_format)

    # ----- Lightning hooks ----------------------------------------------------------------

    def prepare_data(self) -> None:
        """Generate the synthetic set or export hub data once (on local rank 0 under DDP)."""
        self._resolved_roots()

    def setup(self, stage: str | None = None) -> None:
        """Read and check what ``stage`` needs; fails on the first bad input.

        ``None`` builds every task of every stage, leaving out those that need safe images
        when there are none (no ``safe_root``).
        """
        if stage is not None and stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
        self._answered = {}  # skips belong to one trainer run; its module sets them after this hook
        with_split = stage == "fit" or (stage is None and self._has_safe_side())
        for task in self.task_names(stage):
            if with_split or stage is not None or task not in NEEDS_SAFE_SIDE:
                self.records(task)
        if with_split:
            self._train_split()
            if self.train_format is not None:
                self.records(self.train_format)

    def train_dataloader(self) -> DataLoader:
        if self.train_format is None:
            raise DataConfigError("no training format: set data.train_format or connect(backbone, train_format=...)")
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

    def val_dataloader(self) -> list[DataLoader]:
        return [self.eval_dataloader(task) for task in self.val_tasks]

    def test_dataloader(self) -> list[DataLoader]:
        return [self.eval_dataloader(task) for task in self.tasks]

    def predict_dataloader(self) -> list[DataLoader]:
        return self.test_dataloader()

    # ----- public helpers -----------------------------------------------------------------

    def task_names(self, stage: str | None) -> tuple[str, ...]:
        """The evaluation tasks of a stage, in the order of its dataloaders."""
        if stage in ("fit", "validate"):
            return self.val_tasks
        if stage in ("test", "predict"):
            return self.tasks
        return tuple(dict.fromkeys([*self.tasks, *self.val_tasks]))

    def eval_dataloader(self, task: str) -> DataLoader:
        """One evaluation task's loader: in order, no shuffling, an unpadded shard per rank.

        Records named by ``skip_answered`` are left out.
        """
        answered = self._answered.get(task, frozenset())
        dataset = RecordDataset(r for r in self.records(task) if r.id not in answered)
        world, rank = self._world()
        sampler = UnpaddedDistributedSampler(dataset, world, rank) if world > 1 else None
        return self._loader(dataset, self.eval_batch_size, sampler, "eval")

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
            self._records[task] = limit(self._build(task), self.limit_per_task, self.seed, task)
        return self._records[task]

    def splits(self) -> tuple[Split, Split]:
        """``(unsafe, safe)`` train/test splits, the safe parts cut to balance the unsafe ones."""
        return self._train_split()

    # ----- building -----------------------------------------------------------------------

    def _build(self, task: str) -> list[Record]:
        if task == "perception":
            return perception_records(self._eval_images(), published_taxonomy().concepts, self.prompts, self.seed)
        if task == "alignment_image":
            return alignment_image_records(self._eval_images(), self.prompts)
        if task == "alignment_text":
            return alignment_text_records(self._unsafe_samples(), self.prompts)
        if task == "alignment_test":
            unsafe, safe = self._train_split()
            return alignment_test_records(unsafe.test, safe.test, self.prompts, self.seed)
        if task in TRAIN_FORMATS:
            unsafe, safe = self._train_split()
            self._check_holdout()
            return training_records(task, unsafe.train, safe.train, self.prompts, self.seed, self.holdout_concepts)
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join((*EVAL_TASKS, *TRAIN_FORMATS))}")

    def _unsafe_samples(self) -> list[ImageSample]:
        if self._unsafe is None:
            root, _ = self._resolved_roots()
            self._unsafe = load_benchmark(root, metadata_dir=self.metadata_dir, verify_images=self.verify_images)
        return self._unsafe

    def _eval_images(self) -> list[ImageSample]:
        """The unsafe images that perception and alignment_image ask about (``eval_split``)."""
        if self.eval_split == "test":
            return list(split_unsafe(self._unsafe_samples(), self.seed, self.train_ratio).test)
        return self._unsafe_samples()

    def _safe_samples(self) -> list[ImageSample]:
        if self._safe is None:
            _, safe_root = self._resolved_roots()
            if safe_root is None:
                raise DataConfigError("the train/test split needs safe images: set data.safe_root or data.safe_hub_id")
            self._safe = load_safe_images(
                safe_root, vocabulary=self._safe_vocabulary(), verify_images=self.verify_images
            )
        return self._safe

    def _train_split(self) -> tuple[Split, Split]:
        if self._splits is None:
            self._splits = balanced_split(self._unsafe_samples(), self._safe_samples(), self.seed, self.train_ratio)
        return self._splits

    def _safe_vocabulary(self) -> tuple[str, ...] | None:
        if self.safe_concepts_file is not None:
            return read_concept_list(Path(self.safe_concepts_file).expanduser())
        if self.synthetic is not None:
            return safe_concepts()[: self.synthetic.safe_concepts]
        return None

    def _check_holdout(self) -> None:
        known = {s.concept for s in (*self._unsafe_samples(), *self._safe_samples())}
        unknown = [c for c in self.holdout_concepts if c not in known]
        if unknown:
            names = ", ".join(map(repr, unknown))
            raise DataConfigError(f"data.holdout_concepts: no images of {names} in the data set")

    # ----- sources ------------------------------------------------------------------------

    def _has_safe_side(self) -> bool:
        return any(x is not None for x in (self.safe_root, self.safe_hub_id, self.synthetic))

    def _check_sources(self) -> None:
        if self.synthetic is not None and any((self.root, self.safe_root, self.hub_id, self.safe_hub_id)):
            raise DataConfigError("data.synthetic makes its own data set: leave root, safe_root and the hub ids unset")
        if self.root is not None and self.hub_id is not None:
            raise DataConfigError("set data.root or data.hub_id, not both")
        if self.safe_root is not None and self.safe_hub_id is not None:
            raise DataConfigError("set data.safe_root or data.safe_hub_id, not both")
        if self.synthetic is None and self.root is None and self.hub_id is None:
            raise DataConfigError("no data: set data.root (the benchmark folder), data.hub_id, or use data=synthetic")

    def _resolved_roots(self) -> tuple[Path, Path | None]:
        if self.synthetic is not None:
            root = ensure_synthetic(self.synthetic, self.cache_dir)
            return root, root / SAFE_FOLDER
        root = hub_export(self.hub_id, "unsafe", self.cache_dir, self.hub_split) if self.hub_id else Path(self.root)
        safe_root = Path(self.safe_root) if self.safe_root is not None else None
        if self.safe_hub_id:
            safe_root = hub_export(self.safe_hub_id, "safe", self.cache_dir, self.hub_split)
        return root.expanduser(), None if safe_root is None else safe_root.expanduser()

    # ----- loaders ------------------------------------------------------------------------

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


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, (DictConfig, ListConfig)) else value


def _task_list(tasks: Sequence[str], key: str) -> tuple[str, ...]:
    tasks = tuple(_plain(tasks) or ())
    unknown = [t for t in tasks if t not in EVAL_TASKS]
    if unknown:
        raise DataConfigError(f"data.{key}: unknown task(s) {', '.join(unknown)}; choose from {', '.join(EVAL_TASKS)}")
    return tasks


def _eval_split(value: str) -> str:
    if value not in EVAL_SPLITS:
        raise DataConfigError(f"data.eval_split: unknown split {value!r}; choose one of {', '.join(EVAL_SPLITS)}")
    return value


def _train_format(value: str | None) -> str | None:
    if value is not None and value not in TRAIN_FORMATS:
        choices = ", ".join(TRAIN_FORMATS)
        raise DataConfigError(f"data.train_format: unknown training format {value!r}; choose one of {choices}")
    return value
