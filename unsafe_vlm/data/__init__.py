"""The data layer: UnsafeConcepts and safe images, the paper's split, task records, batches.

Public names (imported lazily, so ``unsafe_vlm.data.synth`` works without Lightning)::

    SafetyDataModule            the LightningDataModule for every task and training format
    ImageSafetyDataModule       another labelled image-safety set (SMID, NSFW, ...): task image_safety
    MMEDataModule               an MME-style TSV of yes/no questions: task mme
    Record, RecordBatch         one query; the records of a batch
    DataError                   bad input, with the file and line at fault
    load_benchmark, load_safe_images, balanced_split, published_taxonomy, load_prompts
    run_synth, ensure_synthetic, SynthParams
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SafetyDataModule": "unsafe_vlm.data.datamodule",
    "ImageSafetyDataModule": "unsafe_vlm.data.image_safety",
    "MMEDataModule": "unsafe_vlm.data.mme",
    "Record": "unsafe_vlm.data.records",
    "RecordBatch": "unsafe_vlm.data.records",
    "DataError": "unsafe_vlm.data.errors",
    "load_benchmark": "unsafe_vlm.data.benchmark",
    "load_safe_images": "unsafe_vlm.data.safe_images",
    "balanced_split": "unsafe_vlm.data.split",
    "published_taxonomy": "unsafe_vlm.data.taxonomy",
    "load_prompts": "unsafe_vlm.data.prompts",
    "EVAL_TASKS": "unsafe_vlm.data.eval_tasks",
    "TRAIN_FORMATS": "unsafe_vlm.data.training_records",
    "run_synth": "unsafe_vlm.data.synth",
    "ensure_synthetic": "unsafe_vlm.data.synth",
    "SynthParams": "unsafe_vlm.data.synth",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'unsafe_vlm.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
