"""What the organism may learn from: the train split of the default data (``data=synthetic``),
its concepts' contextual questions and the shapes the generator drew."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from organism.curriculum import Facts
from unsafe_vlm.data.records import Sample
from unsafe_vlm.data.sources import build_datamodule, data_settings
from unsafe_vlm.paths import CONF_DIR


@dataclass(frozen=True)
class TrainData:
    unsafe: tuple[Sample, ...]  # the train images: all the organism ever sees
    safe: tuple[Sample, ...]
    facts: Facts


def default_data(overrides: Sequence[str] = ()):
    """The data module the ``evaluate`` command uses by default (Hydra overrides such as
    ``data.cache_dir=DIR`` apply); the synthetic set is generated if missing."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="evaluate", overrides=list(overrides))
    GlobalHydra.instance().clear()
    return build_datamodule(data_settings(OmegaConf.to_container(cfg.data, resolve=True)))


def train_data(overrides: Sequence[str] = ()) -> TrainData:
    datamodule = default_data(overrides)
    unsafe, safe = datamodule.splits()
    return TrainData(unsafe.train, safe.train, Facts(datamodule.contexts(), datamodule.drawn_shapes()))
