"""``python -m unsafe_vlm synth out=DIR``: write the synthetic stand-in data set."""

from omegaconf import DictConfig


def synth(cfg: DictConfig) -> None:
    from unsafe_vlm.data.synth import run_synth

    run_synth(cfg)
