import os

# Tests never reach a model hub: everything is built from configs on the spot.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The tiny models run 10-20x faster on one thread than on two contended ones; subprocesses
# (CLI and DDP tests) inherit this through the environment.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402  (after the environment is set)

torch.set_num_threads(1)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory) -> Path:
    """One synthetic data set for every test of the session that runs the CLI (never ~/.cache)."""
    return tmp_path_factory.getbasetemp() / "unsafe-vlm-cache"
