"""A run folder holds one run at a time: a second run refuses in one line naming the first one's host
and pid; the ranks of one DDP run and a requeue of the same SLURM job pass; a lock left by a killed
process is stale and taken over with a note; the lock goes when the run ends, however it ends."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from unsafe_vlm.cli import main
from unsafe_vlm.commands.run_lock import LOCK_FILE, RunFolderBusy, hold, is_first_rank

HOST = socket.gethostname()


@pytest.fixture
def other_process():
    """A live process of this host that is not this one."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


@pytest.fixture(autouse=True)
def no_cluster(monkeypatch):
    for name in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "RANK", "LOCAL_RANK", "SLURM_PROCID"):
        monkeypatch.delenv(name, raising=False)


def write_lock(folder, **holder):
    folder.mkdir(parents=True, exist_ok=True)
    entry = {"host": HOST, "command": "evaluate", "started": "2026-01-01 00:00:00", "slurm_job": None, **holder}
    (folder / LOCK_FILE).write_text(json.dumps(entry) + "\n")


def test_a_run_holds_its_folder_while_it_works_and_lets_go_at_the_end(tmp_path):
    with hold(tmp_path, "evaluate"):
        holder = json.loads((tmp_path / LOCK_FILE).read_text())
        assert (holder["host"], holder["command"]) == (HOST, "evaluate")
    assert not (tmp_path / LOCK_FILE).exists()


def test_the_lock_goes_also_when_the_run_fails(tmp_path):
    with pytest.raises(RuntimeError), hold(tmp_path, "fit"):
        raise RuntimeError("a failing run")
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_second_run_refuses_naming_the_first_ones_host_and_pid(tmp_path, other_process):
    write_lock(tmp_path, pid=other_process, slurm_job="77")
    with pytest.raises(RunFolderBusy) as raised, hold(tmp_path, "evaluate"):
        pytest.fail("the second run worked in a held folder")
    message = str(raised.value)
    assert f"pid {other_process} on host {HOST}, SLURM job 77" in message and "\n" not in message
    assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == other_process  # the first run's lock stays


def test_a_second_evaluation_in_a_held_folder_is_one_error_line_before_any_work(tmp_path, other_process, capsys):
    run = tmp_path / "run"
    write_lock(run, pid=other_process)
    with pytest.raises(SystemExit) as raised:
        main(["evaluate", "model=tiny", "data=synthetic", f"data.cache_dir={tmp_path / 'cache'}",
              f"hydra.run.dir={run}"])
    assert raised.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {run}: another run is using this folder (evaluate, pid "
                                                   f"{other_process} on host {HOST}")  # fmt: skip
    assert not (tmp_path / "cache").exists()  # refused before the data were made


def test_a_lock_left_by_a_killed_process_is_taken_over_with_a_note(tmp_path, capsys):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    write_lock(tmp_path, pid=gone.pid)
    with hold(tmp_path, "fit"):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] != gone.pid
    assert capsys.readouterr().err == (f"note: {tmp_path / LOCK_FILE} was left by pid {gone.pid} on {HOST}, which is "
                                       "no longer running; taking it over\n")  # fmt: skip


def test_a_lock_of_another_host_is_never_taken_as_stale(tmp_path):
    write_lock(tmp_path, host="node-elsewhere", pid=1)
    with pytest.raises(RunFolderBusy, match="pid 1 on host node-elsewhere"), hold(tmp_path, "fit"):
        pass


def test_a_requeue_of_the_same_slurm_job_takes_its_lock_from_another_host(tmp_path, monkeypatch):
    write_lock(tmp_path, host="node-before", pid=1, slurm_job="4242")
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    with hold(tmp_path, "fit"):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["host"] == HOST
    monkeypatch.setenv("SLURM_JOB_ID", "4243")  # another job is another run
    write_lock(tmp_path, host="node-before", pid=1, slurm_job="4242")
    with pytest.raises(RunFolderBusy, match="SLURM job 4242"), hold(tmp_path, "fit"):
        pass


@pytest.mark.parametrize("variable", ["RANK", "LOCAL_RANK", "SLURM_PROCID"])
def test_the_other_ranks_of_a_ddp_run_are_the_same_run(variable, monkeypatch):
    assert is_first_rank()
    monkeypatch.setenv(variable, "0")
    assert is_first_rank()
    monkeypatch.setenv(variable, "1")
    assert not is_first_rank()


def test_a_half_written_lock_is_stale(tmp_path):
    (tmp_path / LOCK_FILE).write_text("")  # a process killed between making the file and writing it
    with hold(tmp_path, "fit"):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["host"] == HOST
