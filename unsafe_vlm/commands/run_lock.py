"""One run at a time in a run folder: ``run.lock`` names the host, pid and SLURM job that hold it.

A lock file made with ``O_EXCL`` rather than ``filelock``'s ``flock``: a refusal must name the
holder, and the ranks of one run are other processes that must pass without waiting, which a
kernel lock cannot tell from a second run; ``flock`` is also unreliable on the network file
systems that clusters share run folders on. A process killed with SIGKILL leaves the file behind:
on the same host its pid is gone, so the lock is stale and taken over with a note.

The same run, which passes: the ranks of a DDP run other than rank 0 (``RANK``, ``LOCAL_RANK`` or
``SLURM_PROCID`` above 0: Lightning's relaunched workers and ``srun``'s tasks) and a requeue of
the SLURM job that holds it (the same ``SLURM_JOB_ID``; it may run on another host).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from unsafe_vlm.errors import UserError

LOCK_FILE = "run.lock"
LOCKED_COMMANDS = ("fit", "evaluate", "rejudge")  # those that write answers and weights into their folder


class RunFolderBusy(UserError):
    """Another run holds the run folder."""


@contextmanager
def run_folder_lock(cfg) -> Iterator[None]:
    """Hold ``hydra.run.dir`` (this job's output folder) for the command of ``cfg`` while it works."""
    from hydra.core.hydra_config import HydraConfig

    if cfg.command not in LOCKED_COMMANDS or not HydraConfig.initialized() or not is_first_rank():
        yield
        return
    with hold(Path(HydraConfig.get().runtime.output_dir), cfg.command):
        yield


@contextmanager
def hold(folder: Path, command: str) -> Iterator[None]:
    path = folder / LOCK_FILE
    me = holder_of_this_process(command)
    take(path, me)
    try:
        yield
    finally:
        if read_holder(path) == me:
            path.unlink(missing_ok=True)


def is_first_rank() -> bool:
    return all(os.environ.get(name, "0") in ("", "0") for name in ("RANK", "LOCAL_RANK", "SLURM_PROCID"))


def holder_of_this_process(command: str) -> dict:
    return {
        "host": socket.gethostname(), "pid": os.getpid(), "slurm_job": slurm_job(), "command": command,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }  # fmt: skip


def slurm_job() -> str | None:
    array = os.environ.get("SLURM_ARRAY_JOB_ID")
    if array:
        return f"{array}_{os.environ.get('SLURM_ARRAY_TASK_ID', '')}"
    return os.environ.get("SLURM_JOB_ID") or None


def take(path: Path, me: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = read_holder(path, wait=True)
            if holder is not None and not same_run(holder, me) and not stale(holder, me):
                raise RunFolderBusy(busy_message(path, holder)) from None
            if holder is not None and not same_run(holder, me):
                print(f"note: {path} was left by pid {holder.get('pid')} on {holder.get('host')}, which is no longer "
                      "running; taking it over", file=sys.stderr, flush=True)  # fmt: skip
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(json.dumps(me) + "\n")
        return
    raise RunFolderBusy(f"{path}: another run keeps taking this folder; choose another hydra.run.dir")


def read_holder(path: Path, *, wait: bool = False) -> dict | None:
    """The holder written in the lock file; None if there is none or it cannot be read (a process
    killed between creating and writing it). ``wait``: give a lock just created time to be written."""
    for attempt in range(10 if wait else 1):
        try:
            holder = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(holder, dict):
                return holder
        except (OSError, ValueError):
            if not path.exists():
                return None
        if attempt < 9 and wait:
            time.sleep(0.05)
    return None


def same_run(holder: dict, me: dict) -> bool:
    if holder.get("host") == me["host"] and holder.get("pid") == me["pid"]:
        return True
    return me["slurm_job"] is not None and holder.get("slurm_job") == me["slurm_job"]  # a requeue of this job


def stale(holder: dict, me: dict) -> bool:
    """Left by a process of this host that is gone (another host's processes cannot be seen)."""
    if holder.get("host") != me["host"] or not isinstance(holder.get("pid"), int):
        return False
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def busy_message(path: Path, holder: dict) -> str:
    job = f", SLURM job {holder['slurm_job']}" if holder.get("slurm_job") else ""
    return (
        f"{path.parent}: another run is using this folder ({holder.get('command', 'a command')}, pid "
        f"{holder.get('pid')} on host {holder.get('host')}{job}, since {holder.get('started', '?')}); wait for it "
        f"to end or choose another hydra.run.dir (if it no longer runs, delete {path})"
    )
