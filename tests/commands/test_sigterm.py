"""SIGTERM (``scancel``, preemption, ``timeout``) stops a command as Ctrl-C does: what is saved stays, one
line says how to go on, exit status 143. Training finishes the optimizer step under way and saves it, so
a run resumed with ``ckpt_path=last`` ends with the adapter of a run never stopped, byte for byte."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers.cli_runner import run_cli
from helpers.kills import lines_in
from helpers.scripted_server import ScriptedServer

from unsafe_vlm.commands.run_lock import LOCK_FILE
from unsafe_vlm.commands.stopping import Stop

COMMON = ["model=tiny", "data=synthetic", "data.eval_batch_size=2", "generation.max_new_tokens=4",
          "data.tasks=[perception,alignment_image,alignment_text,alignment_test]"]  # fmt: skip
# 16 batches, gradients accumulated over two (8 steps), a checkpoint every fifth step: a signal
# mid-accumulation or between two saved steps must still stop at a step, saved.
SFT = ["fit", "+method=sft", "method.batch_size=2", "data.limit_per_task=32", "trainer.accumulate_grad_batches=2",
       "checkpoint_every=5", "evaluate_before=false", "evaluate_after=false"]  # fmt: skip


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "unsafe_vlm", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "HYDRA_FULL_ERROR": "0", **(env or {})})  # fmt: skip


def wait_for(process: subprocess.Popen, moment, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not moment():
        assert process.poll() is None, f"the run ended before the moment to stop it: {process.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, "the moment to stop the run did not come in time"
        time.sleep(0.02)


def signal_when(process: subprocess.Popen, moment, sent=signal.SIGTERM, timeout: float = 300):
    wait_for(process, moment, timeout)
    os.killpg(process.pid, sent)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def written(checkpoint: Path) -> bool:
    """Whether the checkpoint is there and reads whole."""
    try:
        return checkpoint.is_file() and step_of(checkpoint) > 0
    except Exception:  # cut short while it is written
        return False


def stop_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(("stopped by", "interrupted"))]


def step_of(checkpoint: Path) -> int:
    return int(torch.load(checkpoint, map_location="cpu", weights_only=False)["global_step"])


@pytest.mark.slow
def test_a_second_run_in_the_folder_refuses_and_sigterm_ends_an_evaluation_hung_on_its_endpoint(tmp_path, data_cache):
    run = tmp_path / "run"
    # Four answers, then an endpoint that takes the requests and never answers within model.timeout.
    with ScriptedServer(["ok"] * 4, then="slow", slow_s=120) as server:
        args = ["evaluate", "model=api", f"model.base_url={server.url}", "model.concurrency=2", "model.timeout=100",
                "model.max_retries=0", *COMMON[1:], "data.limit_per_task=6", f"data.cache_dir={data_cache}",
                f"hydra.run.dir={run}"]  # fmt: skip
        first = start(args)
        hung = lambda: lines_in(run / "responses", "*.rank0.jsonl") >= 4 and len(server.requests) >= 6  # noqa: E731
        wait_for(first, hung)
        second = run_cli(*args)  # started while the first one works in the same folder
        assert second.returncode == 2, second.stderr[-2000:]
        errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and f"another run is using this folder (evaluate, pid {first.pid} on host" in errors[0]

        sent = time.monotonic()
        result = signal_when(first, lambda: True)
        assert time.monotonic() - sent < 5, "SIGTERM during a request that is never answered waited for it"
    assert result.returncode == 143, result.stderr[-2000:]
    assert stop_lines(result.stderr) == [
        f"stopped by SIGTERM: what was answered is kept; resume with the same command and hydra.run.dir={run}"
    ]
    assert lines_in(run / "responses", "*.rank0.jsonl") >= 4  # the answers that came are kept
    assert not (run / LOCK_FILE).exists()


@pytest.mark.slow
def test_sigterm_in_training_saves_the_step_it_reached_and_a_resume_equals_a_run_never_stopped(tmp_path, data_cache):
    whole = tmp_path / "whole"
    common = [*SFT, *COMMON, f"data.cache_dir={data_cache}"]
    assert run_cli(*common, f"hydra.run.dir={whole}").returncode == 0
    run = tmp_path / "run"
    last = run / "checkpoints" / "last.ckpt"
    process = start([*common, f"hydra.run.dir={run}"])
    # once step 5's checkpoint is written whole (the file appears while it is written, and a signal
    # then would stop at step 5 itself): in the middle of step 6's two batches
    result = signal_when(process, lambda: written(last))
    assert result.returncode == 143, result.stderr[-2000:]
    assert stop_lines(result.stderr) == [
        f"stopped by SIGTERM: resume with the same command and hydra.run.dir={run} ckpt_path=last"
    ]
    assert 5 < step_of(last) < 8  # the step under way was finished and saved, though checkpoint_every=5
    assert not (run / "adapter").exists() and not (run / LOCK_FILE).exists()

    resumed = run_cli(*common, f"hydra.run.dir={run}", "ckpt_path=last")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    weights = "adapter/adapter_model.safetensors"
    assert (run / weights).read_bytes() == (whole / weights).read_bytes()


@pytest.mark.slow
def test_slurm_auto_requeue_on_sigusr1_saves_lightnings_hpc_checkpoint_and_calls_scontrol(tmp_path, data_cache):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "scontrol.calls"
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    scontrol.chmod(0o755)
    slurm = {"SLURM_NTASKS": "1", "SLURM_NTASKS_PER_NODE": "1", "SLURM_JOB_NAME": "unsafe-vlm", "SLURM_JOB_ID": "4242",
             "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0", "SLURM_NODELIST": "localhost",
             "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip
    run = tmp_path / "run"
    args = [*SFT, *COMMON, f"data.cache_dir={data_cache}", f"hydra.run.dir={run}"]
    process = start(args, env=slurm)
    wait_for(process, lambda: (run / "checkpoints" / "last.ckpt").is_file())
    os.kill(process.pid, signal.SIGUSR1)  # what sbatch --signal=USR1@90 sends before the time limit
    result = signal_when(process, lambda: calls.is_file())  # then SLURM stops the job with SIGTERM
    assert calls.read_text() == "requeue 4242\n"
    assert (run / "hpc_ckpt_1.ckpt").is_file()
    assert result.returncode == 143, result.stderr[-2000:]
    assert not (run / LOCK_FILE).exists()

    requeued = run_cli(*args, env=slurm)  # the same job again: the same run, which Lightning resumes
    assert requeued.returncode == 0, requeued.stderr[-2000:]
    assert (run / "adapter" / "adapter_model.safetensors").is_file()


@pytest.mark.slow
def test_an_endpoint_that_never_answers_ends_the_evaluation_within_model_timeout_and_5_s(tmp_path, data_cache):
    with ScriptedServer(["ok"] * 2, then="slow", slow_s=60) as server:
        args = ["evaluate", "model=api", f"model.base_url={server.url}", "model.concurrency=2", "model.timeout=3",
                "model.max_retries=0", *COMMON[1:], "data.limit_per_task=6", f"data.cache_dir={data_cache}",
                f"hydra.run.dir={tmp_path / 'run'}"]  # fmt: skip
        result = run_cli(*args)
        ended = time.monotonic()
        waited = ended - server.arrivals[-1]
    assert result.returncode == 2, result.stderr[-2000:]
    assert "no answer within model.timeout=3 s, 1 tries (model.max_retries=0)" in result.stderr
    assert waited < 3 + 5, f"the run ended {waited:.1f} s after its last request, model.timeout=3"


def test_a_signal_outside_training_stops_at_once_and_in_training_a_second_one_does():
    stop = Stop()
    with pytest.raises(KeyboardInterrupt):
        stop(signal.SIGTERM, None)
    assert (stop.exit_status, stop.name) == (143, "SIGTERM")
    stop = Stop()
    stop.deferred = True
    stop(signal.SIGINT, None)  # noted: training stops after the step under way
    assert stop.exit_status == 130
    with pytest.raises(KeyboardInterrupt):
        stop(signal.SIGINT, None)
