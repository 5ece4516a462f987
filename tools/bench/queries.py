"""The queries the evaluation benchmarks answer: alignment questions with their images."""

from __future__ import annotations

import tempfile
from pathlib import Path


def benchmark_records(count: int) -> list:
    """The first ``count`` alignment_image queries of the default synthetic data set."""
    from unsafe_vlm.data.settings import shipped_data_config
    from unsafe_vlm.data.unsafe_concepts import SafetyDataModule

    cache = Path(tempfile.gettempdir()) / "unsafe_vlm_bench"
    datamodule = SafetyDataModule(
        **shipped_data_config("synthetic", cache_dir=str(cache), tasks=["alignment_image"], eval_split="all")
    )
    return datamodule.records("alignment_image")[:count]
