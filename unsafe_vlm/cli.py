"""``python -m unsafe_vlm <command> [hydra overrides]``.

Hydra takes every bare word as an override, so the command word becomes
``--config-name=<command>`` before Hydra parses. Lightning's DDP launcher restarts each
worker with the rewritten argv, which therefore must (and does) work as input too.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hydra.errors import CompactHydraException
from rich.console import Console

from unsafe_vlm.errors import UserError
from unsafe_vlm.methods.registry import TRAINING_METHODS
from unsafe_vlm.paths import CONF_DIR
from unsafe_vlm.registry import Registry, load_target


@dataclass(frozen=True)
class Command:
    summary: str
    target: str  # "module:function"; Hydra commands take the composed config
    uses_hydra: bool = True

    def load(self) -> Callable:
        return load_target(self.target)


COMMANDS: Registry[Command] = Registry(
    "command",
    "",
    {
        "fit": Command(
            f"align a VLM with +method={'|'.join(TRAINING_METHODS)}, evaluating before and after",
            "unsafe_vlm.commands.fit:fit",
        ),
        "evaluate": Command(
            "measure perception, image and text alignment, and the modality gap",
            "unsafe_vlm.commands.evaluate:evaluate",
        ),
        "synth": Command("write the synthetic stand-in data set: synth out=DIR", "unsafe_vlm.commands.synth:synth"),
        "serve": Command(
            "answer OpenAI chat-completions requests with the model: serve model.adapter=DIR serve.port=8000",
            "unsafe_vlm.commands.serve:serve",
        ),
        "rejudge": Command(
            "re-judge a run's responses with another judge; agreement and scores side by side: rejudge RUN judge=...",
            "unsafe_vlm.commands.rejudge:rejudge",
        ),
        "report": Command(
            "re-render report and plots from saved responses; compare runs: report RUN_DIR [RUN_DIR...]",
            "unsafe_vlm.commands.report:report",
            uses_hydra=False,
        ),
        "compare": Command(
            "the alignment tax of fit runs: a table over seeds, every method's front: compare SWEEP_DIR [--before RUN]",
            "unsafe_vlm.commands.compare:compare",
            uses_hydra=False,
        ),
    },
)

USAGE = "usage: python -m unsafe_vlm <command> [hydra overrides]"
stderr = Console(stderr=True, highlight=False)


def help_text() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [USAGE, "", "commands:"]
    lines += [f"  {name:<{width}}  {COMMANDS.get(name).summary}" for name in COMMANDS]
    lines += [
        "",
        "Overrides are Hydra's: model=tiny, trainer.max_steps=10, +method=ppo, hydra.run.dir=DIR,",
        "-m for sweeps. `python -m unsafe_vlm <command> --cfg job` prints the composed config.",
        f"Configs live in {CONF_DIR}.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(help_text())
        return
    if args[0].startswith("--config-name"):
        # A DDP worker relaunched by Lightning with the argv we rewrote below.
        _run_hydra(args)
        return
    name, overrides = args[0], args[1:]
    if name not in COMMANDS:
        _fail(f"{COMMANDS.unknown(name)} (see --help)")
    command = COMMANDS.get(name)
    if not command.uses_hydra:
        try:
            command.load()(overrides)
        except UserError as error:
            _fail(str(error))
        return
    from unsafe_vlm.commands.places import check_writable
    from unsafe_vlm.config_check import (
        ConfigError,
        check_launcher,
        check_model_loads,
        check_overrides,
        plain_method_override,
    )

    overrides = plain_method_override(name, overrides)
    if name == "rejudge" and overrides and "=" not in overrides[0] and not overrides[0].startswith("-"):
        overrides = [f"run={overrides[0]}", *overrides[1:]]  # rejudge RUN ...: the run folder comes first
    if name == "rejudge" and not any(a.startswith("run=") for a in overrides):
        _fail("rejudge: name the run folder first: python -m unsafe_vlm rejudge RUN_DIR judge=...")
    try:
        composed = check_overrides(name, overrides)
        multirun = any(a in ("-m", "--multirun") for a in overrides)
        if composed is not None:  # None: a Hydra flag such as --cfg, which writes nothing
            check_writable(composed, multirun=multirun)
        if composed is not None and multirun:
            check_launcher(composed)  # only a sweep runs under hydra/launcher
        if composed is not None and not multirun:
            check_model_loads(name, composed)  # each job of a sweep checks its own model
        if name == "fit" and composed is not None and not multirun:
            _check_resume_before_hydra(composed)  # Hydra rewrites the run folder's .hydra/ as it starts
    except (ConfigError, UserError) as error:
        _fail(str(error))
    _run_hydra([f"--config-name={name}", *overrides])


def _check_resume_before_hydra(composed) -> None:
    from pathlib import Path

    from unsafe_vlm.commands.resume import check_resume

    if composed.get("ckpt_path") is not None:
        check_resume(composed, Path(composed.hydra.run.dir))


def _run_hydra(args: list[str]) -> None:
    import hydra

    _quiet_known_warnings()

    sys.argv = [sys.argv[0], *args]
    entry = hydra.main(config_path=str(CONF_DIR), config_name=None, version_base="1.3")(_run_command)
    entry()


def _run_command(cfg) -> None:
    _quiet_known_warnings()  # again: a launcher may run the job in a process of its own
    _quiet_lightning_notes()
    interrupted = _watch_for_ctrl_c()
    try:
        with _run_folder_lock(cfg):
            COMMANDS.get(cfg.command).load()(cfg)
    except UserError as error:
        if _in_launched_job():
            stderr.print(f"[bold red]error:[/] {error}", soft_wrap=True)  # the job's own log
            raise JobFailed(_job_failure(str(error))) from None
        _fail(str(error))
    except Exception:
        if _in_launched_job():  # Hydra hands the exception back without its traceback: keep it in the job's log
            import traceback

            traceback.print_exc()
        raise
    except (KeyboardInterrupt, SystemExit):
        # Lightning turns Ctrl-C into its own exit(1), and SIGTERM into exit(0); the signals noted tell
        # those exits from any other.
        if not interrupted.signals:
            raise
        how = "interrupted" if interrupted.signals[0] == signal.SIGINT else f"stopped by {interrupted.name}"
        stderr.print(f"[bold yellow]{how}:[/] {_resume_hint(cfg)}", soft_wrap=True)
        raise SystemExit(interrupted.exit_status) from None


def _in_launched_job() -> bool:
    """Whether this job runs under a launcher other than Hydra's in-process one (submitit, for SLURM).

    Such a job runs in a process of its own; a ``SystemExit`` there ends that process before the launcher
    records a result, so the submitting process would wait for one and then print the job's whole log.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return False
    hydra_cfg = HydraConfig.get()
    target = str(hydra_cfg.launcher.get("_target_", ""))
    return hydra_cfg.mode == RunMode.MULTIRUN and not target.endswith(".BasicLauncher")


def _job_failure(message: str) -> str:
    from hydra.core.hydra_config import HydraConfig

    hydra_cfg = HydraConfig.get()
    return f"error: job {hydra_cfg.job.num} of the sweep ({hydra_cfg.runtime.output_dir}): {message}"


class JobFailed(CompactHydraException):
    """A ``UserError`` in a job of a launched sweep; Hydra's top level prints a compact exception as its one line."""


def _watch_for_ctrl_c():
    """Ctrl-C and SIGTERM noted, then raised as ``KeyboardInterrupt`` (``commands/stopping.py``)."""
    from unsafe_vlm.commands.stopping import watch_for_stop

    return watch_for_stop()


def _run_folder_lock(cfg):
    """The run folder held by this run alone while the command works (``commands/run_lock.py``)."""
    from unsafe_vlm.commands.run_lock import run_folder_lock

    return run_folder_lock(cfg)


def _resume_hint(cfg) -> str:
    from hydra.core.hydra_config import HydraConfig

    if cfg.command == "serve":
        return "the server stopped before it started serving"
    run_dir = HydraConfig.get().runtime.output_dir
    if cfg.command == "synth":
        return "the data set is built aside and was not moved into place; run the same command again"
    if cfg.command == "rejudge":
        return "the tasks re-judged to the end are kept; run the same command to re-judge the rest"
    if cfg.command != "fit":
        return f"what was answered is kept; resume with the same command and hydra.run.dir={run_dir}"
    from pathlib import Path

    if (Path(run_dir) / "checkpoints" / "last.ckpt").is_file():
        return f"resume with the same command and hydra.run.dir={run_dir} ckpt_path=last"
    return f"no training step was saved yet; run the same command with hydra.run.dir={run_dir} to go on"


def _quiet_known_warnings() -> None:
    """Warnings that say nothing to a user of the suite (they are about the libraries' internals)."""
    import warnings

    for pattern in (
        r".*predict returned None.*",
        r".*isinstance\(treespec, LeafSpec\).*",
        r".*does not have many workers.*",
        r".*litlogger.*",
        r".*Using ModelCheckpoint with manual optimization.*",
        r".*is_gradient_checkpointing.*",
        r".*You passed in a `val_dataloader` but have no `validation_step`.*",
    ):
        warnings.filterwarnings("ignore", message=pattern)


def _quiet_lightning_notes() -> None:
    """Lightning's notes at INFO level ("GPU available: ...", "💡 Tip: ...", each once per Trainer); its
    warnings and errors still show. Its every ``rank_zero_info`` goes through these loggers."""
    import logging

    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _fail(message: str) -> None:
    stderr.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise SystemExit(2)
