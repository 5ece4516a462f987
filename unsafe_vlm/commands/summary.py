"""The last lines of ``fit`` and ``evaluate``: what the run wrote, where, and what to run next."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# The main files of a run, in the order shown; a run lists those it wrote.
FILES = (
    (("metrics.json", "metrics_before.json"), "the scores, with their 95% intervals"),
    (("comparison.md", "comparison.png"), "before and after side by side, with the paired significance of each change"),
    (("report.md", "report.html"), "the report with its figures; report.html also browses every answer"),
    (("adapter",), "the trained LoRA adapter"),
)
COMMAND = "python -m unsafe_vlm"


def print_summary(run_dir: Path, next_steps: Sequence[tuple[str, str]]) -> None:
    """What ``run_dir`` holds, then each next step: what it does, and the command on a line of its own."""
    print("\n".join(summary_lines(run_dir, next_steps)), flush=True)


def summary_lines(run_dir: Path, next_steps: Sequence[tuple[str, str]]) -> list[str]:
    written = []
    for names, holds in FILES:
        present = [name + ("/" if (run_dir / name).is_dir() else "") for name in names if (run_dir / name).exists()]
        if present:
            written.append((", ".join(present), holds))
    width = max((len(names) for names, _ in written), default=0)
    scored = (run_dir / "metrics.json").exists()  # a fit with evaluate_after=false writes none
    head = "metrics, responses and report" if scored else "no scores (nothing was evaluated)"
    lines = [f"{head} in {run_dir}"]
    lines += [f"  {names:<{width}}  {holds}" for names, holds in written]
    if next_steps:
        lines.append("next:")
    for purpose, command in next_steps:
        lines += [f"  {purpose}:", f"    {COMMAND} {command}"]
    return lines


def fit_next_steps(run_dir: Path, model: str) -> list[tuple[str, str]]:
    steps = evaluate_next_steps(run_dir)
    if (run_dir / "adapter").is_dir():
        steps.insert(
            1,
            (
                "check the trained model's general capability on MME (or any data set of conf/data)",
                f"evaluate model={model} model.adapter={run_dir / 'adapter'} data=mme data.path=MME.tsv",
            ),
        )
    return steps


def evaluate_next_steps(run_dir: Path) -> list[tuple[str, str]]:
    if not (run_dir / "metrics.json").exists():
        return []
    return [
        ("re-render the report from the saved answers", f"report {run_dir}"),
        # --out: the default, the first run's folder, would replace a fit run's own comparison.md
        ("compare with another run (the comparison goes into comparison/)", f"report {run_dir} OTHER --out comparison"),
    ]
