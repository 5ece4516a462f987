"""The queries the benchmarks answer: alignment questions with their images, and training records."""

from __future__ import annotations

import tempfile
from pathlib import Path


def synthetic_datamodule(tasks: tuple[str, ...] = ("alignment_image",)):
    """``data=synthetic`` as ``evaluate`` builds it, asking ``tasks`` of every image, its generated
    set kept under the temporary folder."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from unsafe_vlm.data.sources import build_datamodule, data_settings
    from unsafe_vlm.paths import CONF_DIR

    cache = Path(tempfile.gettempdir()) / "unsafe_vlm_bench"
    overrides = ["data=synthetic", f"data.cache_dir={cache}", f"data.tasks=[{','.join(tasks)}]", "data.eval_split=all"]
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="evaluate", overrides=overrides)
    GlobalHydra.instance().clear()
    return build_datamodule(data_settings(OmegaConf.to_container(cfg.data, resolve=True)))


def benchmark_records(count: int) -> list:
    """The first ``count`` alignment_image queries of the default synthetic data set."""
    return synthetic_datamodule().records("alignment_image")[:count]


def questions_per_image(count: int, tasks: tuple[str, ...]) -> list[list]:
    """Per task, in the order of ``tasks``, its queries about the images of the first ``count``
    alignment_image queries: each image asked once per task, as ``evaluate`` asks it."""
    datamodule = synthetic_datamodule(tuple(dict.fromkeys(("alignment_image", *tasks))))
    images = {record.image for record in datamodule.records("alignment_image")[:count]}
    return [[record for record in datamodule.records(task) if record.image in images] for task in tasks]
