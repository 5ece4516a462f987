"""The images the organism may learn from: the train split of the default data (``data=synthetic``)."""

from __future__ import annotations

from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate

from unsafe_vlm.data.records import Sample
from unsafe_vlm.data.split import Split
from unsafe_vlm.paths import CONF_DIR


def default_splits(overrides: Sequence[str] = ()) -> tuple[Split, Split]:
    """``(unsafe, safe)`` splits of the data the ``evaluate`` command uses by default (Hydra
    overrides such as ``data.cache_dir=DIR`` apply); the synthetic set is generated if missing."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="evaluate", overrides=list(overrides))
    GlobalHydra.instance().clear()
    datamodule = instantiate(cfg.data, _recursive_=False)
    return datamodule.splits()


def train_images(overrides: Sequence[str] = ()) -> tuple[tuple[Sample, ...], tuple[Sample, ...]]:
    """``(unsafe, safe)`` train images: all the organism ever sees."""
    unsafe, safe = default_splits(overrides)
    return unsafe.train, safe.train
