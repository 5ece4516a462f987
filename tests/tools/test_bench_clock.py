"""Throughput from step stamps: windows after a warm-up, and their median."""

from __future__ import annotations

import pytest

from bench.clock import StepClock, median_rate, steps_needed, window_rates


def test_windows_start_after_the_warmup_and_count_samples_per_second():
    # steps end at 0, 1, 2 (warm-up: slow), then every 0.5 s; windows of 2 steps take 1 s
    stamps = [0.0, 5.0, 10.0, 10.5, 11.0, 11.5, 12.0, 12.25, 12.5]
    assert window_rates(stamps, samples_per_step=4, warmup=2, window=2) == [8.0, 8.0, 16.0]


def test_the_median_ignores_one_slow_window():
    stamps = [0.0, 1.0, 2.0, 3.0, 13.0, 14.0]
    assert median_rate(stamps, samples_per_step=1, warmup=0, window=1) == 1.0


def test_steps_needed_give_every_repeat_its_window():
    steps = steps_needed(warmup=3, window=4, repeats=5)
    stamps = [float(i) for i in range(steps)]
    assert len(window_rates(stamps, samples_per_step=1, warmup=3, window=4)) == 5


def test_too_few_stamps_is_an_error():
    with pytest.raises(ValueError, match="no window"):
        median_rate([0.0, 1.0], samples_per_step=1, warmup=1, window=2)
    with pytest.raises(ValueError, match="at least 1"):
        window_rates([0.0, 1.0], samples_per_step=1, warmup=0, window=0)


def test_the_clock_syncs_before_each_stamp():
    synced = []
    clock = StepClock(sync=lambda: synced.append(True))
    clock.tick()
    clock.tick()
    assert len(synced) == 2 and clock.stamps[0] <= clock.stamps[1]
