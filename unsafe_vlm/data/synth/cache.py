"""Generate the synthetic data set once per parameter set, under a cache folder, and reuse it."""

from __future__ import annotations

import logging
from pathlib import Path

from unsafe_vlm.data.atomic import building, publish
from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.synth.generate import DESCRIPTION, write_synthetic
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
