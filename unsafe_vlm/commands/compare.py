"""``python -m unsafe_vlm compare RUN_OR_SWEEP_DIR... [--before RUN] [--out DIR]``: the alignment tax.

Reads every fit run at or below the folders given (single runs, Hydra multirun folders, or a
study's folder), groups them into settings (runs that differ only in the seed), and writes
``alignment_tax.md``, ``.csv`` and ``.json`` (per setting: the mean over seeds, the interval over
seeds where there are 3 or more, the runs' own intervals, and the targets met) and
``alignment_tax.png`` (every method's front) into ``--out``. Runs evaluated differently are refused.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from unsafe_vlm.report.sweep_runs import find_runs, group_settings, read_before, read_run, shared_before
from unsafe_vlm.report.tradeoff import rows, write_tables
from unsafe_vlm.report.tradeoff_plot import plot_fronts

FIGURE = "alignment_tax.png"


def compare(args: Sequence[str], console: Console | None = None) -> list[Path]:
    options = _parser().parse_args(list(args))
    runs = [read_run(folder) for folder in find_runs(options.paths)]
    settings = group_settings(runs)
    before = shared_before(runs, read_before(options.before) if options.before else None)
    table = rows(settings, before)
    out = options.out or options.paths[0]
    written = [*write_tables(table, out), plot_fronts(table, out / FIGURE)]
    console = console or Console()
    seeds = sum(len(s.runs) for s in settings)
    console.print(f"compare: {seeds} runs in {len(settings)} settings of {len({s.method for s in settings})} method(s)")
    if before is None:
        console.print("[yellow]no evaluation before training[/] (--before RUN, or fit runs with metrics_before.json)")
    for path in written:
        console.print(f"  {path}")
    return written


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m unsafe_vlm compare", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="fit runs, or folders holding them (searched below)")
    parser.add_argument("--before", type=Path, help="the evaluation before training (an evaluate run, or a fit run)")
    parser.add_argument("--out", type=Path, help="where the table and the figure go (default: the first folder)")
    return parser
