"""Run the CLI in a subprocess and SIGKILL it at a chosen moment, as a crash or a pulled plug would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def kill_when(args: list[str], moment: Callable[[], bool], *, timeout: float = 300) -> None:
    """Start ``python -m unsafe_vlm *args``; SIGKILL its process group once ``moment()`` is true.

    Fails if the run ends (or the timeout passes) before the moment comes: the kill must happen.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "unsafe_vlm", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    try:
        while not moment():
            if process.poll() is not None:
                raise AssertionError(f"the run ended (rc {process.returncode}) before the moment to kill it: "
                                     f"{process.stderr.read().decode()[-2000:]}")  # fmt: skip
            if time.monotonic() > deadline:
                raise AssertionError("the moment to kill the run did not come in time")
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stderr.close()


def lines_in(folder: Path, pattern: str) -> int:
    """Complete lines in the files of ``folder`` matching ``pattern`` (the answers written so far)."""
    return sum(path.read_bytes().count(b"\n") for path in folder.glob(pattern)) if folder.is_dir() else 0
