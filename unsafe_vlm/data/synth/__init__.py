"""The synthetic stand-in for UnsafeConcepts: procedural visual codes, no unsafe imagery.

``run_synth`` does the ``python -m unsafe_vlm synth out=DIR`` command (config ``conf/synth.yaml``);
``ensure_synthetic`` is what ``data=synthetic`` uses.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.files import building, publish
from unsafe_vlm.data.synth.generate import DESCRIPTION, SAFE_FOLDER, write_synthetic
from unsafe_vlm.data.synth.params import SynthParams

DEFAULT_CACHE_DIR = Path("~/.cache/unsafe_vlm")
log = logging.getLogger(__name__)


def synthetic_dir(params: SynthParams, cache_dir: str | Path = DEFAULT_CACHE_DIR) -> Path:
    """Where the data set of these parameters lives: ``<cache_dir>/synthetic/<key>``."""
    return Path(cache_dir).expanduser() / "synthetic" / params.cache_key()


def ensure_synthetic(params: SynthParams, cache_dir: str | Path = DEFAULT_CACHE_DIR) -> Path:
    """Return the cached data set of ``params``, generating it first if it is not there.

    Generation goes to a temporary folder renamed into place at the end, so a folder under
    its key is always complete; when two processes race, the first rename wins and the
    other's copy (identical) is dropped.
    """
    final = synthetic_dir(params, cache_dir)
    if (final / DESCRIPTION).is_file():
        return final
    log.info("generating the synthetic data set in %s", final)
    with building(final) as temporary:
        write_synthetic(params, temporary)
        published = publish(temporary, final)
    if not published and not (final / DESCRIPTION).is_file():
        raise DataError(final, f"holds something other than a synthetic data set (no {DESCRIPTION}); delete it")
    return final


__all__ = [
    "DESCRIPTION",
    "SAFE_FOLDER",
    "SynthParams",
    "ensure_synthetic",
    "run_synth",
    "synthetic_dir",
    "write_synthetic",
]


def run_synth(out: str | Path | None = None, *, overwrite: bool = False, **params: Any) -> Path:
    """Write the synthetic data set to ``out``, built aside and renamed into place.

    ``params`` are the generator's parameters (``SynthParams`` fields). An existing non-empty
    ``out`` is an error (``DataError``, which the command line prints as one line) unless
    ``overwrite`` is true and it holds a synthetic data set (its ``SYNTHETIC.json``): nothing
    else is ever deleted. Returns the folder; its safe side is ``<out>/safe``.
    """
    if out in (None, "", "???"):
        raise DataError("synth", "say where to write the data set: out=DIR")
    out = Path(out).expanduser().absolute()
    params = SynthParams.from_mapping(params)
    if out.exists() and not out.is_dir():
        raise DataError(out, "is a file, not a folder: give out=DIR, a folder to write the data set into")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise DataError(out, "exists and is not empty (add overwrite=true to replace a synthetic data set there)")
        if not (out / DESCRIPTION).is_file():
            raise DataError(
                out, f"holds something other than a synthetic data set (no {DESCRIPTION}), so overwrite=true "
                "will not delete it; choose an empty or new folder"
            )  # fmt: skip
    with building(out) as temporary:
        write_synthetic(params, temporary)
        if out.exists() and any(out.iterdir()):
            shutil.rmtree(out)
        if not publish(temporary, out):
            raise DataError(out, "was filled by something else while generating")
    print(f"wrote the synthetic data set to {out} (safe side: {out / SAFE_FOLDER})")
    return out
