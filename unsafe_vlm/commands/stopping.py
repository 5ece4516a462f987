"""Ctrl-C and SIGTERM (``scancel``, preemption, ``timeout``) stop every command the same way: what
is saved stays, one line says how to go on, and the exit status is 128 + the signal's number.

Outside training a signal raises ``KeyboardInterrupt`` at once, as Python's Ctrl-C does (an
evaluation saves each answer as it comes). In training, ``StopAtStep`` lets the optimizer step
under way finish, saves ``last.ckpt`` exactly where a checkpoint of that step would be saved, and
stops then: a run resumed with ``ckpt_path=last`` ends as if never stopped. A second signal
stops at once. Lightning's own SIGTERM handling (and its SLURM requeue on SIGUSR1) stays in
place: Lightning calls the handler set here after its own.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import lightning as L

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stop:
    """The signals received so far, and whether training has asked to finish its step first."""

    def __init__(self) -> None:
        self.signals: list[int] = []
        self.deferred = False

    def __call__(self, signum: int, frame) -> None:
        self.signals.append(signum)
        if self.deferred and len(self.signals) == 1:
            return  # StopAtStep stops after the step under way
        raise KeyboardInterrupt

    @property
    def exit_status(self) -> int:
        return 128 + self.signals[0]

    @property
    def name(self) -> str:
        return signal.Signals(self.signals[0]).name


STOP = Stop()


def watch_for_stop() -> Stop:
    """Handle Ctrl-C and SIGTERM in this process (main thread only: a launcher may run a job in another)."""
    STOP.signals.clear()
    STOP.deferred = False
    if threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:
            signal.signal(signum, STOP)
    return STOP


def stop_if_asked() -> None:
    """After training: a signal noted while its last step ran stops the command here."""
    if STOP.signals:
        raise KeyboardInterrupt


class StopAtStep(L.Callback):
    """Stop a signalled training at the end of its next optimizer step, ``last.ckpt`` saved first."""

    def __init__(self, last_checkpoint: Path) -> None:
        self.last_checkpoint = Path(last_checkpoint)
        self._step_before = 0

    def on_train_start(self, trainer, pl_module) -> None:
        STOP.deferred = True

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._step_before = trainer.global_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self._step_before:
            if STOP.signals:
                # Gradients are being accumulated and a checkpoint holds none: go on to the step.
                # Lightning would stop here on SIGTERM, so its flag waits too.
                trainer._signal_connector.received_sigterm = False
            return
        # Every rank steps at the same batches; they stop at the same one if any was signalled.
        if not trainer.strategy.reduce_boolean_decision(bool(STOP.signals), all=False):
            return
        # Here, before Lightning's loop counts the batch complete, is where ModelCheckpoint saves a step.
        trainer.save_checkpoint(self.last_checkpoint)
        STOP.deferred = False
        raise KeyboardInterrupt

    def on_train_end(self, trainer, pl_module) -> None:
        STOP.deferred = False

    def on_exception(self, trainer, pl_module, exception) -> None:
        STOP.deferred = False
