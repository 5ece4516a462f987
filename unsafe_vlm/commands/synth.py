"""``python -m unsafe_vlm synth out=DIR``: write the synthetic stand-in data set."""

from dataclasses import fields

from omegaconf import DictConfig, OmegaConf


def synth(cfg: DictConfig) -> None:
    from unsafe_vlm.data.synth import SynthParams, run_synth

    values = OmegaConf.to_container(cfg, resolve=True)
    params = {f.name: values[f.name] for f in fields(SynthParams) if f.name in values}
    run_synth(values.get("out"), overwrite=values.get("overwrite", False), **params)
