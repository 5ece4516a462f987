"""Measure the organism through the suite's own commands, in a child process, as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Evaluation on the held-out test images; the model path is added by the caller.
EVALUATE = ("evaluate", "model=organism", "data.eval_split=test")
SAMPLED = ("generation.do_sample=true", "generation.temperature=1.0", "generation.top_p=1.0")
# The README's main command, on the default config.
FIT_PPO = ("fit", "+method=ppo")


@dataclass
class Run:
    command: str  # the command line as a user would type it
    seconds: float
    metrics: dict
    before: dict | None = None  # fit: metrics_before.json


def run_suite(arguments: Sequence[str], run_dir: Path) -> Run:
    """``python -m unsafe_vlm <arguments> hydra.run.dir=<run_dir>``; fails loudly if the command does."""
    command = [sys.executable, "-m", "unsafe_vlm", *arguments, f"hydra.run.dir={run_dir}"]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - started
    before = run_dir / "metrics_before.json"
    return Run(
        command=" ".join(["python -m unsafe_vlm", *arguments]),
        seconds=seconds,
        metrics=json.loads((run_dir / "metrics.json").read_text()),
        before=json.loads(before.read_text()) if before.is_file() else None,
    )
