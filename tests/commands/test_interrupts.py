"""Ctrl-C (SIGINT to the process group, as a terminal sends it) ends a run with status 130 and
one line saying how to resume it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from helpers.kills import lines_in

COMMON = ["model=tiny", "data=synthetic", "data.limit_per_task=8", "data.eval_batch_size=2",
          "generation.max_new_tokens=4", "data.tasks=[perception,alignment_image,alignment_text,alignment_test]"]


def interrupt_when(args: list[str], moment, timeout: float = 300) -> subprocess.CompletedProcess:
    process = subprocess.Popen([sys.executable, "-m", "unsafe_vlm", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + timeout
    while not moment():
        assert process.poll() is None, f"the run ended before the moment to interrupt it: {process.stderr.read()}"
        assert time.monotonic() < deadline, "the moment to interrupt the run did not come in time"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.mark.slow
def test_ctrl_c_in_an_evaluation_exits_130_and_says_how_to_resume(tmp_path, data_cache):
    run = tmp_path / "run"
    args = ["evaluate", *COMMON, f"data.cache_dir={data_cache}", f"hydra.run.dir={run}"]
    result = interrupt_when(args, lambda: lines_in(run / "responses", "perception.rank0.jsonl") >= 2)
    assert result.returncode == 130, result.stderr[-2000:]
    hints = [line for line in result.stderr.splitlines() if line.startswith("interrupted:")]
    assert hints == [f"interrupted: what was answered is kept; resume with the same command and hydra.run.dir={run}"]


@pytest.mark.slow
def test_ctrl_c_in_training_exits_130_and_names_ckpt_path_last(tmp_path, data_cache):
    run = tmp_path / "run"
    args = ["fit", "+method=sft", "method.batch_size=2", *COMMON, f"data.cache_dir={data_cache}",
            f"hydra.run.dir={run}"]  # fmt: skip
    result = interrupt_when(args, lambda: (run / "checkpoints" / "last.ckpt").is_file())
    assert result.returncode == 130, result.stderr[-2000:]
    hints = [line for line in result.stderr.splitlines() if line.startswith("interrupted:")]
    assert hints == [f"interrupted: resume with the same command and hydra.run.dir={run} ckpt_path=last"]
