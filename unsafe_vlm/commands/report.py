"""``python -m unsafe_vlm report RUN_DIR [RUN_DIR...] [--out DIR] [--labels a,b,...]``.

Re-scores each run from its saved responses and rewrites its ``metrics.json`` (and, for a fit
run, ``metrics_before.json``), ``report.md``, ``report.html`` and plots (a fit run's
``comparison.md`` and ``comparison.png`` too, as ``fit`` writes them: ``report/before_after.py``).
With more than one evaluation (several runs, or a fit run's before and after) it also writes
``comparison.md`` and ``comparison.png`` into ``--out`` (default: the first run dir). Every run
is scored before anything is written, so bad input leaves the run dirs as they were; so does an
unfinished or damaged run, which is refused (``report/finished.py``, docs/reliability.md).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from unsafe_vlm.errors import UserError
from unsafe_vlm.metrics.error_rows import error_summary
from unsafe_vlm.metrics.metrics_json import BEFORE_FILE, METRICS_FILE, write_metrics
from unsafe_vlm.report.before_after import paired_changes
from unsafe_vlm.report.comparison import Evaluation, print_comparison, write_comparison
from unsafe_vlm.report.document import write_report
from unsafe_vlm.report.rescore import RunScores, rescore_run


def report(args: Sequence[str]) -> None:
    run_report(args)


def run_report(args: Sequence[str], console: Console | None = None) -> list[Evaluation]:
    options = _parser().parse_args(list(args))
    runs = [rescore_run(path) for path in options.run_dirs]
    labels = _labels(options.run_dirs, options.labels)
    console = console or Console()
    evaluations: list[Evaluation] = []
    for run, label in zip(runs, labels, strict=True):
        evaluations += _write_run(run, label, alone=len(runs) == 1 and options.labels is None)
        console.print(f"report: {run.run_dir / 'report.md'}")
        for metrics in (run.before, run.metrics):
            errors = error_summary(metrics) if metrics is not None else None
            if errors:
                console.print(f"[yellow]unfinished:[/] {run.run_dir}: {errors}, left out of the scores", soft_wrap=True)
    changes = paired_changes(evaluations) if len(evaluations) == 2 else None
    one_fit = len(runs) == 1 and len(evaluations) == 2  # its report wrote its comparison beside it
    if len(evaluations) > 1 and not (one_fit and options.out is None):
        title = "Before and after training" if one_fit else "Comparison of runs"
        files = write_comparison(evaluations, options.out or runs[0].run_dir, changes, title=title)
        console.print(f"comparison: {files.markdown}")
    elif one_fit:
        console.print(f"comparison: {runs[0].run_dir / 'comparison.md'}")
    console.print(f"page: {runs[0].run_dir / 'report.html'}" if len(runs) == 1 else "pages: report.html in each run")
    print_comparison(evaluations, console, changes=changes)
    return evaluations


def _write_run(run: RunScores, label: str, *, alone: bool) -> list[Evaluation]:
    """Rewrite the run's files; its evaluations, labelled ``before``/``after`` for a fit run."""
    write_metrics(run.run_dir / METRICS_FILE, run.metrics)
    if run.before_rescored:
        write_metrics(run.run_dir / BEFORE_FILE, run.before)
    write_report(run.run_dir, run.metrics, title=f"Evaluation report: {label}", before=run.before)
    after = Evaluation(label, run.metrics, run.run_dir / METRICS_FILE)
    if run.before is None:
        return [after]
    names = ("before", "after") if alone else (f"{label} before", f"{label} after")
    return [
        Evaluation(names[0], run.before, run.run_dir / BEFORE_FILE),
        Evaluation(names[1], after.metrics, after.source),
    ]


def _labels(run_dirs: Sequence[Path], given: str | None) -> list[str]:
    if given is not None:
        labels = [label.strip() for label in given.split(",")]
        if len(labels) != len(run_dirs) or not all(labels):
            raise UserError(f"--labels {given!r}: give {len(run_dirs)} non-empty label(s), one per run dir")
        return labels
    names = [path.resolve().name for path in run_dirs]
    # Two runs with the same folder name (a/run, b/run) are told apart by their parent folder.
    return [f"{p.resolve().parent.name}/{n}" if names.count(n) > 1 else n for p, n in zip(run_dirs, names, strict=True)]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line through the CLI's error path, not argparse's exit
        raise UserError(f"report: {message} (see: python -m unsafe_vlm report --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m unsafe_vlm report",
        description="Re-render metrics.json, report.md and plots from saved responses; compare runs.",
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="an evaluate or fit run directory")
    parser.add_argument("--out", type=Path, help="where comparison.md and comparison.png go (default: first RUN_DIR)")
    parser.add_argument("--labels", help="comma-separated column names, one per RUN_DIR (default: folder names)")
    return parser
