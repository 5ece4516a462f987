"""The data layer: UnsafeConcepts and safe images, the paper's split, task records, batches.

Public names (imported lazily, so ``unsafe_vlm.data.synth`` works without Lightning)::

    TASKS, Task, register       the evaluation tasks, one declaration each (``data.tasks``)
    SOURCES                     the data sources (``data.source``), one file each under ``data/sources/``
    data_settings, build_datamodule  a ``data`` node's typed settings; the data module they make
    SafetyDataModule            the LightningDataModule of the benchmark: its tasks and training formats
    ImageSafetyDataModule       another labelled image-safety set (SMID, NSFW, ...): task image_safety
    MMEDataModule               an MME-style TSV of yes/no questions: task mme
    LLaVABenchDataModule        a LLaVABench-style TSV of open questions with reference answers: task llavabench
    Sample, Record, RecordBatch one row of a data set; one query; the records of a batch
    DataError                   bad input, with the file and line at fault
    load_benchmark, load_safe_images, balanced_split, published_taxonomy, load_prompts
    run_synth, ensure_synthetic, SynthParams
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TASKS": "unsafe_vlm.data.tasks",
    "Task": "unsafe_vlm.data.tasks",
    "register": "unsafe_vlm.data.tasks",
    "SOURCES": "unsafe_vlm.data.sources",
    "data_settings": "unsafe_vlm.data.sources",
    "build_datamodule": "unsafe_vlm.data.sources",
    "SafetyDataModule": "unsafe_vlm.data.sources.unsafe_concepts",
    "ImageSafetyDataModule": "unsafe_vlm.data.sources.image_safety",
    "MMEDataModule": "unsafe_vlm.data.sources.mme",
    "LLaVABenchDataModule": "unsafe_vlm.data.sources.llavabench",
    "Sample": "unsafe_vlm.data.records",
    "Record": "unsafe_vlm.data.records",
    "RecordBatch": "unsafe_vlm.data.records",
    "DataError": "unsafe_vlm.data.errors",
    "load_benchmark": "unsafe_vlm.data.benchmark",
    "load_safe_images": "unsafe_vlm.data.benchmark",
    "balanced_split": "unsafe_vlm.data.split",
    "published_taxonomy": "unsafe_vlm.data.taxonomy",
    "load_prompts": "unsafe_vlm.data.prompts",
    "TRAIN_FORMATS": "unsafe_vlm.data.training",
    "run_synth": "unsafe_vlm.data.synth",
    "ensure_synthetic": "unsafe_vlm.data.synth",
    "SynthParams": "unsafe_vlm.data.synth",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'unsafe_vlm.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
