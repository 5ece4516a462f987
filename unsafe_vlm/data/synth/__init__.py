"""The synthetic stand-in for UnsafeConcepts: procedural visual codes, no unsafe imagery.

``run_synth`` is the ``python -m unsafe_vlm synth out=DIR`` command (config ``conf/synth.yaml``);
``ensure_synthetic`` is what ``data=synthetic`` uses.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from unsafe_vlm.data.atomic import building, publish
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.synth.cache import ensure_synthetic, synthetic_dir
from unsafe_vlm.data.synth.generate import SAFE_FOLDER, write_synthetic
from unsafe_vlm.data.synth.params import SynthParams

__all__ = ["SAFE_FOLDER", "SynthParams", "ensure_synthetic", "run_synth", "synthetic_dir", "write_synthetic"]


def run_synth(cfg: Mapping[str, Any] | DictConfig | None = None, **overrides: Any) -> Path:
    """Write the synthetic data set to ``cfg.out`` (or ``out=``), built aside and renamed into place.

    Keys besides ``out`` and ``overwrite`` that name a ``SynthParams`` field are the
    generator's parameters; others (``command``, ...) are ignored. An existing non-empty
    ``out`` is an error (``DataError``, which the command line prints as one line) unless
    ``overwrite`` is true. Returns the folder; its safe side is
    ``<out>/safe``.
    """
    values = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg or {})
    values.update(overrides)
    if values.get("out") in (None, "", "???"):
        raise DataError("synth", "say where to write the data set: out=DIR")
    out = Path(values["out"]).expanduser().absolute()
    names = {f.name for f in fields(SynthParams)}
    params = SynthParams.from_mapping({k: v for k, v in values.items() if k in names})
    if out.exists() and any(out.iterdir()) and not values.get("overwrite", False):
        raise DataError(out, "exists and is not empty (add overwrite=true to replace it)")
    with building(out) as temporary:
        write_synthetic(params, temporary)
        if out.exists() and any(out.iterdir()):
            shutil.rmtree(out)
        if not publish(temporary, out):
            raise DataError(out, "was filled by something else while generating")
    print(f"wrote the synthetic data set to {out} (safe side: {out / SAFE_FOLDER})")
    return out
