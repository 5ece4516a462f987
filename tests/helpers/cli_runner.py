"""Run ``python -m unsafe_vlm`` as a user would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(*args: str, cwd=None, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    environment = {**os.environ, "HYDRA_FULL_ERROR": "0", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "unsafe_vlm", *args],
        capture_output=True, text=True, cwd=cwd, env=environment, timeout=timeout,
    )  # fmt: skip
