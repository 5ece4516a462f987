"""Sweeps through Hydra's submitit launcher: a real two-job sweep on this machine (``submitit_local``), the
SLURM defaults of ``hydra/launcher=slurm`` down to the sbatch script (nothing submitted), and a job's errors."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import cloudpickle
import pytest
import submitit
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn
from hydra.errors import CompactHydraException
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import OmegaConf, open_dict

from unsafe_vlm import cli
from unsafe_vlm.config_check import ConfigError, check_launcher, check_overrides
from unsafe_vlm.errors import UserError
from unsafe_vlm.paths import REPO_DIR
from unsafe_vlm.registry import Registry


def sweep(sweep_dir: Path, cache: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR), "HYDRA_FULL_ERROR": "0"}
    command = [
        sys.executable, "-m", "unsafe_vlm", "evaluate", "-m", "hydra/launcher=submitit_local",
        f"hydra.sweep.dir={sweep_dir}", "model=tiny", "data=synthetic", f"data.cache_dir={cache}",
        "data.tasks=[perception]", "data.limit_per_task=4", "data.eval_batch_size=4", "generation.max_new_tokens=3",
        *overrides,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, cwd=sweep_dir.parent, env=env, timeout=600)


def rows(job_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (job_dir / "responses" / "perception.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_a_sweep_runs_each_point_as_a_submitit_job(tmp_path, data_cache):
    sweep_dir = tmp_path / "sweep"
    done = sweep(sweep_dir, data_cache, "model.tiny.seed=0,1")  # two random tiny models
    assert done.returncode == 0, done.stderr[-3000:]

    for num, seed in enumerate((0, 1)):
        job = sweep_dir / str(num)
        assert (job / "metrics.json").is_file() and (job / "report.md").is_file(), num
        assert json.loads((job / "metrics.json").read_text())["perception/n"] == 4
        assert f"model.tiny.seed={seed}" in (job / ".hydra" / "overrides.yaml").read_text()
    first, second = rows(sweep_dir / "0"), rows(sweep_dir / "1")
    key = ("id", "question", "options", "gold")
    assert [[r[k] for k in key] for r in first] == [[r[k] for k in key] for r in second]  # the same queries
    assert [r["response"] for r in first] != [r["response"] for r in second]  # asked of two different models

    # submitit kept each job's pickles and logs under <sweep dir>/.submitit/<job id>/
    jobs = [p for p in (sweep_dir / ".submitit").iterdir() if p.name.isdigit()]
    assert len(jobs) == 2
    for folder in jobs:
        assert (folder / f"{folder.name}_0_result.pkl").is_file()
        out = (folder / f"{folder.name}_0_log.out").read_text()  # the job's stdout; its stderr is beside it
        assert "metrics, responses and report in" in out and "Job completed successfully" in out
        assert (folder / f"{folder.name}_0_log.err").is_file()


def test_slurm_launcher_defaults_compose_into_an_sbatch_script(tmp_path, monkeypatch):
    sweep_dir = tmp_path / "sweep"
    cfg = check_overrides(
        "fit",
        ["+method=ppo", "-m", "seed=0,1", "hydra/launcher=slurm", "hydra.launcher.partition=gpu",
         "trainer=ddp_multinode", f"hydra.sweep.dir={sweep_dir}"],
    )  # fmt: skip
    launcher_cfg = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert launcher_cfg["_target_"].endswith("submitit_launcher.SlurmLauncher")
    # one task per GPU, as many as Lightning's trainer.devices and num_nodes (ddp_multinode: 8 GPUs, 2 nodes)
    assert (launcher_cfg["gpus_per_node"], launcher_cfg["tasks_per_node"], launcher_cfg["nodes"]) == (8, 8, 2)
    assert launcher_cfg["submitit_folder"] == f"{sweep_dir}/.submitit/%j"
    assert launcher_cfg["account"] is None and launcher_cfg["qos"] is None

    # The plugin's own launch() up to the submission: its parameters must be ones submitit takes.
    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 1))  # "srun is there"
    executors = []
    monkeypatch.setattr(submitit.AutoExecutor, "map_array", lambda self, fn, *args: executors.append(self) or [])
    launcher = instantiate(cfg.hydra.launcher)
    launcher.config = cfg
    assert launcher.launch([["seed=0"], ["seed=1"]], initial_job_idx=0) == []
    script = executors[0]._executor._make_submission_file_text("python -m job", "uid")
    for line in ("--gpus-per-node=8", "--ntasks-per-node=8", "--nodes=2", "--cpus-per-task=8", "--mem=64GB",
                 "--time=240", "--job-name=unsafe-vlm-fit", "--partition=gpu", "--signal=USR2@120"):  # fmt: skip
        assert f"#SBATCH {line}\n" in script, line
    assert "--account" not in script and "--qos" not in script

    evaluate = check_overrides("evaluate", ["-m", "hydra/launcher=slurm"]).hydra.launcher
    assert (evaluate.gpus_per_node, evaluate.tasks_per_node, evaluate.nodes) == (1, 1, 1)
    assert evaluate.name == "unsafe-vlm-evaluate" and evaluate.partition is None


@pytest.mark.parametrize(
    ("overrides", "refused"),
    [
        (["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4"], None),  # tasks follow the devices
        (["hydra/launcher=submitit_slurm", "trainer=ddp", "trainer.devices=4"], "hydra.launcher.tasks_per_node=1 but"),
        (["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "hydra.launcher.tasks_per_node=1"], "=1 but"),
        (["hydra/launcher=submitit_local"], None),
        (["hydra/launcher=submitit_local", "trainer=ddp", "trainer.accelerator=cpu"], "cannot run under"),
        (["trainer=ddp", "trainer.accelerator=cpu"], None),  # Hydra's own launcher runs the job in this process
    ],
)
def test_a_sweep_whose_jobs_cannot_start_ddp_is_refused_in_one_line(overrides, refused):
    cfg = check_overrides("fit", ["+method=sft", "-m", *overrides])
    if refused is None:
        check_launcher(cfg)
    else:
        with pytest.raises(ConfigError, match=refused):
            check_launcher(cfg)


def test_without_the_plugin_the_launcher_is_one_line_naming_the_extra(monkeypatch):
    check_overrides("evaluate", ["-m", "hydra/launcher=slurm"])  # Hydra has registered the plugin's configs
    from hydra.core.config_store import ConfigStore

    launchers = ConfigStore.instance().repo["hydra"]["launcher"]
    for name in ("submitit_slurm.yaml", "submitit_local.yaml"):
        monkeypatch.delitem(launchers, name)
    message = r"submitit launcher, which is not installed: pip install -e \"\.\[cluster\]\""
    for choice in ("slurm", "submitit_local"):
        with pytest.raises(ConfigError, match=message):
            check_overrides("evaluate", ["-m", f"hydra/launcher={choice}"])


def job_config(tmp_path, launcher: str):
    cfg = check_overrides("evaluate", ["-m", f"hydra/launcher={launcher}", f"hydra.sweep.dir={tmp_path}"])
    with open_dict(cfg):
        cfg.hydra.mode = RunMode.MULTIRUN
        cfg.hydra.job.num = 1
        cfg.hydra.runtime.output_dir = str(tmp_path / "1")
    return cfg


@pytest.fixture
def failing_evaluate(monkeypatch):
    def evaluate(cfg):
        raise UserError("data.root=/nowhere: no such folder")

    monkeypatch.setattr(cli, "COMMANDS", Registry("command", "", {"evaluate": SimpleNamespace(load=lambda: evaluate)}))
    yield
    HydraConfig.instance().cfg = None


def test_a_user_error_in_a_launched_job_is_one_line_in_its_log_and_in_the_sweep(tmp_path, failing_evaluate, capsys):
    cfg = job_config(tmp_path, "submitit_local")
    HydraConfig.instance().set_config(cfg)
    with pytest.raises(cli.JobFailed) as raised:
        cli._run_command(cfg)
    assert "error: data.root=/nowhere: no such folder" in capsys.readouterr().err  # the job's log
    line = str(raised.value)
    assert line == f"error: job 1 of the sweep ({tmp_path / '1'}): data.root=/nowhere: no such folder"
    # Hydra hands it back in the job's result; at the top it prints a compact exception as that one line.
    assert isinstance(raised.value, CompactHydraException)
    result = JobReturn(_return_value=raised.value)
    assert str(pickle.loads(cloudpickle.dumps(result))._return_value) == line


def test_in_process_sweeps_keep_the_plain_error_and_exit_code(tmp_path, failing_evaluate, capsys):
    cfg = job_config(tmp_path, "basic")
    HydraConfig.instance().set_config(cfg)
    with pytest.raises(SystemExit) as raised:
        cli._run_command(cfg)
    assert raised.value.code == 2
    assert "error: data.root=/nowhere: no such folder" in capsys.readouterr().err


def test_the_ctrl_c_watch_leaves_a_thread_that_is_not_main_alone():
    errors = []

    def watch():
        try:
            cli._watch_for_ctrl_c()
        except ValueError as error:  # signal only works in main thread of the main interpreter
            errors.append(error)

    thread = threading.Thread(target=watch)
    thread.start()
    thread.join()
    assert errors == []
