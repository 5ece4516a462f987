"""Throughput from step timestamps: the median rate over windows of steps after a warm-up."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def window_rates(stamps: Sequence[float], *, samples_per_step: int, warmup: int, window: int) -> list[float]:
    """Samples/s of each window of ``window`` steps after the first ``warmup`` steps.

    ``stamps[i]`` is when step ``i`` ended (``stamps[0]`` may be a start mark, counted as a step
    end). A window of steps i+1..i+window takes ``stamps[i + window] - stamps[i]`` seconds.
    """
    if window < 1:
        raise ValueError("window must be at least 1 step")
    rates = []
    for start in range(warmup, len(stamps) - window, window):
        seconds = stamps[start + window] - stamps[start]
        rates.append(window * samples_per_step / seconds)
    return rates


def median_rate(stamps: Sequence[float], *, samples_per_step: int, warmup: int, window: int) -> float:
    """The median of ``window_rates``; an error when the stamps hold no full window after the warm-up."""
    rates = window_rates(stamps, samples_per_step=samples_per_step, warmup=warmup, window=window)
    if not rates:
        raise ValueError(f"{len(stamps)} step stamps hold no window of {window} after a warm-up of {warmup}")
    return statistics.median(rates)


def steps_needed(*, warmup: int, window: int, repeats: int) -> int:
    """Steps a run must make so that ``median_rate`` sees ``repeats`` windows (one stamp per step end)."""
    return warmup + window * repeats + 1


class StepClock:
    """Collects one timestamp per step end; ``sync`` waits for queued device work first (CUDA)."""

    def __init__(self, sync: Callable[[], None] | None = None):
        self.sync = sync
        self.stamps: list[float] = []

    def tick(self) -> None:
        if self.sync is not None:
            self.sync()
        self.stamps.append(time.perf_counter())
