"""``python -m unsafe_vlm rejudge RUN judge=...``: another judge's reading of a run's responses, how far
it agrees with the run's own judge, and every headline score under each."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from unsafe_vlm.commands.checks import RejudgeKeys, judge_settings_of
from unsafe_vlm.data.files import write_atomically
from unsafe_vlm.errors import UserError
from unsafe_vlm.evaluation.rejudge import rejudge_run
from unsafe_vlm.judges.capabilities import CLASSES, check_judge_covers, judge_kind
from unsafe_vlm.judges.registry import build_judge
from unsafe_vlm.metrics.error_rows import check_error_share
from unsafe_vlm.metrics.judge_agreement import Agreement, judge_agreement
from unsafe_vlm.metrics.metrics_json import METRICS_FILE, write_metrics
from unsafe_vlm.report.comparison import Evaluation, print_comparison
from unsafe_vlm.report.rescore import load_task_rows, rescore

FOLDERS = ("responses", "responses_before")


def rejudge(cfg: DictConfig) -> None:
    judge_settings = judge_settings_of(cfg)
    keys = RejudgeKeys.from_config(cfg, "", partial=True)
    run_dir = Path(cfg.run)
    if cfg.responses not in FOLDERS:
        raise UserError(f"responses={cfg.responses}: choose one of {', '.join(FOLDERS)}")
    folder = run_dir / cfg.responses
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder (run= names an evaluate or fit run directory)")
    rows = load_task_rows(folder)
    if not rows:
        raise UserError(f"{folder}: no saved responses to re-judge")
    judge = build_judge(judge_settings)
    check_judge_covers(judge, rows)
    rejudged, out, asked = rejudge_run(judge, run_dir, rows)
    own = rescore(folder, rows)
    other = {**rescore(folder, rejudged), **_identity_keys(out)}
    agreements = [
        judge_agreement(task, [r["judged"] for r in rows[task]], [r["judged"] for r in rejudged[task]],
                        CLASSES[judge_kind(task)])
        for task in rows
        if judge_kind(task) in CLASSES  # scores against a reference have no classes: compared in the scores table
    ]  # fmt: skip
    write_metrics(out / METRICS_FILE, other)
    write_atomically(out / "agreement.json", json.dumps([_plain(a) for a in agreements], indent=2) + "\n")

    console = Console()
    own_name, other_name = f"{own.get('judge/name', 'run')} (the run's)", str(other.get("judge/name"))
    for agreement in agreements:
        console.print(_agreement_table(agreement, own_name, other_name))
    print_comparison(
        [Evaluation(own_name, own, folder), Evaluation(other_name, other, out / METRICS_FILE)],
        console,
        title="Headline scores under each judge",
    )
    reused = "" if asked else " (all verdicts reused from an earlier rejudge with this judge)"
    console.print(f"verdicts, metrics and agreement in {out}{reused}", soft_wrap=True)
    again = "the same rejudge asks only the errored verdicts again (the run's own error rows: resume the run)"
    check_error_share(other, keys.max_error_share, out, again=again)


def _identity_keys(folder: Path) -> dict[str, str]:
    identity = json.loads((folder / "judge.json").read_text(encoding="utf-8"))
    return {f"judge/{key}": value for key, value in identity.items()}


def _agreement_table(agreement: Agreement, first: str, second: str) -> Table:
    kappa = "undefined" if agreement.kappa is None else f"{agreement.kappa:.3f}"
    share = "—" if agreement.agreement is None else f"{agreement.agreement:.1%}"
    table = Table(title=f"{agreement.task}: {agreement.n} responses, agreement {share}, Cohen's kappa {kappa}")
    table.add_column(f"{first} \\ {second}")
    for name in agreement.classes:
        table.add_column(name, justify="right")
    for name, row in zip(agreement.classes, agreement.matrix, strict=True):
        table.add_row(name, *(str(count) for count in row))
    return table


def _plain(agreement: Agreement) -> dict:
    return {
        "task": agreement.task, "n": agreement.n, "agreement": agreement.agreement, "kappa": agreement.kappa,
        "classes": list(agreement.classes), "confusion_matrix": [list(row) for row in agreement.matrix],
    }  # fmt: skip
