"""``SafetyDataModule``: UnsafeConcepts (or its synthetic stand-in) and safe images, for every
benchmark task and the alignment-training records.

``setup(stage)`` reads and checks only what the stage needs:

- ``fit``: the train split (unsafe and safe), the training records and the ``val_tasks``;
- ``validate``: the ``val_tasks``; ``test`` and ``predict``: the ``tasks``.
"""

from __future__ import annotations

import json
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from unsafe_vlm.data.base import RecordDataModule
from unsafe_vlm.data.benchmark import load_benchmark, load_safe_images
from unsafe_vlm.data.contexts import ContextQuestions, read_contexts
from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.hub import hub_export
from unsafe_vlm.data.prompts import load_prompts
from unsafe_vlm.data.records import Record, Sample
from unsafe_vlm.data.settings import BenchmarkSettings, data_settings
from unsafe_vlm.data.split import Split, balanced_split, split_unsafe
from unsafe_vlm.data.synth import DESCRIPTION, SAFE_FOLDER, SynthParams, ensure_synthetic
from unsafe_vlm.data.tasks import TASKS
from unsafe_vlm.data.taxonomy import published_taxonomy, read_concept_list, safe_concepts
from unsafe_vlm.data.training import training_records
from unsafe_vlm.paths import shipped_or_given


class SafetyDataModule(RecordDataModule):
    """UnsafeConcepts (or its synthetic stand-in) plus safe images, as records and batches.

    Built from a whole ``data`` node (every key of ``conf/data/unsafe_concepts.yaml``, checked as
    ``BenchmarkSettings``); ``fit`` sets ``batch_size`` (the method's) and the training format.

    Settings:
        root: benchmark folder (``metadata.jsonl``, ``images/``, optional ``perception_metadata.jsonl``).
        safe_root: safe images folder (``metadata.jsonl`` naming each image's concept).
        prompts: the ``prompts`` config (question and answer wording); the shipped default when None.
        tasks: evaluation tasks of ``test``/``predict`` (benchmark tasks of ``data.tasks.TASKS``).
        val_tasks: evaluation tasks of ``fit``/``validate``.
        train_format: ``sft``, ``dpo`` or ``ppo``; may also come through ``connect``.
        eval_batch_size: records per evaluation batch and process.
        num_workers: DataLoader worker processes (images are decoded there).
        seed: seeds the split, question choices, drawn perception options and limits
            (2024 reproduces the paper's split membership).
        train_ratio: share of each unsafe concept's images in train (the paper: 0.8).
        limit_per_task: keep a seeded subset of at most this many records per task (quick runs); of a
            paired task (capability), of this many images with all their questions.
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

    source = "benchmark"

    def __init__(self, **settings: Any) -> None:
        s: BenchmarkSettings = data_settings(BenchmarkSettings, settings)
        super().__init__(
            tasks=s.tasks, val_tasks=s.val_tasks, eval_batch_size=s.eval_batch_size, num_workers=s.num_workers,
            seed=s.seed, limit=s.limit_per_task,
        )  # fmt: skip
        self.settings = s
        self.root, self.safe_root = s.root, s.safe_root
        self.metadata_dir = None if s.metadata_dir is None else shipped_or_given(s.metadata_dir)
        self.prompts = load_prompts(s.prompts)
        self.train_format = s.train_format
        self.train_ratio, self.eval_split = s.train_ratio, s.eval_split
        self.holdout_concepts = tuple(s.holdout_concepts)
        self.verify_images = s.verify_images
        self.safe_concepts_file = s.safe_concepts_file
        self.contexts_file = shipped_or_given(s.contexts_file)
        self.train_contexts = s.train_contexts
        self.train_open_ended = s.train_open_ended
        if self.train_open_ended and not self.prompts.open_ended:
            raise DataConfigError("data.train_open_ended: true, but prompts.open_ended lists no prompt")
        self.hub_id, self.safe_hub_id, self.hub_split = s.hub_id, s.safe_hub_id, s.hub_split
        self.synthetic = None if s.synthetic is None else SynthParams.from_mapping(s.synthetic)
        self.cache_dir = s.cache_dir
        self.name = s.name
        self._check_sources()
        self._check_holdout_names()
        self._unsafe: list[Sample] | None = None
        self._safe: list[Sample] | None = None
        self._splits: tuple[Split, Split] | None = None
        self._contexts: dict[str, ContextQuestions] | None = None

    # ----- Lightning hooks ----------------------------------------------------------------

    def prepare_data(self) -> None:
        """Generate the synthetic set or export hub data once (on local rank 0 under DDP)."""
        self._resolved_roots()

    def _setup(self, stage: str | None) -> None:
        """``None`` builds every task of every stage, leaving out those that need safe images
        when there are none (no ``safe_root``)."""
        with_split = stage == "fit" or (stage is None and self._has_safe_side())
        for task in self.task_names(stage):
            if with_split or stage is not None or not TASKS[task].needs_safe_side:
                self.records(task)
        if with_split:
            self.splits()
            self._check_holdout()
            if self.train_format is not None:
                self.records(self.train_format)

    # ----- what the tasks read (``data.tasks.TaskInputs``) --------------------------------

    def unsafe_samples(self) -> list[Sample]:
        if self._unsafe is None:
            root, _ = self._resolved_roots()
            self._unsafe = load_benchmark(root, metadata_dir=self.metadata_dir, verify_images=self.verify_images)
        return self._unsafe

    def eval_images(self) -> list[Sample]:
        """The unsafe images that perception and alignment_image ask about (``eval_split``)."""
        if self.eval_split == "test":
            return list(split_unsafe(self.unsafe_samples(), self.seed, self.train_ratio).test)
        return self.unsafe_samples()

    def splits(self) -> tuple[Split, Split]:
        """``(unsafe, safe)`` train/test splits, the safe parts cut to balance the unsafe ones."""
        if self._splits is None:
            self._splits = balanced_split(self.unsafe_samples(), self._safe_samples(), self.seed, self.train_ratio)
        return self._splits

    def contexts(self) -> dict[str, ContextQuestions]:
        """Each concept's safe- and unsafe-context question (``contexts_file``)."""
        if self._contexts is None:
            self._contexts = read_contexts(self.contexts_file, published_taxonomy().concepts)
        return self._contexts

    def drawn_shapes(self) -> dict[str, str]:
        """The shape the synthetic generator drew for each concept, from the generated set's description."""
        root, _ = self._resolved_roots()
        description = root / DESCRIPTION
        if not description.is_file():
            raise DataConfigError(
                f"capability_shape asks about the shapes the synthetic generator drew, and {root} is not a "
                f"generated set (no {DESCRIPTION}): use data=synthetic"
            )
        codes = json.loads(description.read_text(encoding="utf-8"))["codes"]
        return {concept: code["shape"] for concept, code in codes.items()}

    def samples(self) -> list[Sample]:
        raise DataConfigError("the benchmark's tasks read its images through eval_images, unsafe_samples and splits")

    # ----- building -----------------------------------------------------------------------

    def _build_training(self, train_format: str) -> list[Record]:
        unsafe, safe = self.splits()
        self._check_holdout()
        contexts = self.contexts() if self.train_contexts else None
        return training_records(
            train_format, unsafe.train, safe.train, self.prompts, self.seed, self.holdout_concepts, contexts,
            open_ended=self.train_open_ended,
        )

    def _safe_samples(self) -> list[Sample]:
        if self._safe is None:
            _, safe_root = self._resolved_roots()
            if safe_root is None:
                raise DataConfigError("the train/test split needs safe images: set data.safe_root or data.safe_hub_id")
            self._safe = load_safe_images(
                safe_root, vocabulary=self._safe_vocabulary(), verify_images=self.verify_images
            )
        return self._safe

    def _safe_vocabulary(self) -> tuple[str, ...] | None:
        if self.safe_concepts_file is not None:
            return read_concept_list(Path(self.safe_concepts_file).expanduser())
        if self.synthetic is not None:
            return safe_concepts()[: self.synthetic.safe_concepts]
        return None

    def _check_holdout_names(self) -> None:
        """Before any file is read: every held-out concept must be a name the data set can have."""
        safe = self._safe_vocabulary()
        if safe is None:
            return  # any safe name is allowed; the images themselves are checked at setup
        known = {*published_taxonomy().concepts, *safe}
        unknown = [c for c in self.holdout_concepts if c not in known]
        if unknown:
            close = get_close_matches(unknown[0], known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DataConfigError(
                f"data.holdout_concepts: {unknown[0]!r} is neither an unsafe concept of the benchmark nor one of its "
                f"safe concepts{hint}"
            )

    def _check_holdout(self) -> None:
        known = {s.concept for s in (*self.unsafe_samples(), *self._safe_samples())}
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

