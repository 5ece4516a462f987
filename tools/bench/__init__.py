"""Helpers the benchmark scripts in ``tools/`` share: step clocks, phase timers, pass counters, tables."""
