"""``python -m unsafe_vlm report``: re-scoring saved responses, comparing runs, one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from helpers.report_rows import before_rows, example_rows, rows_of, write_responses
from rich.console import Console

from unsafe_vlm.cli import main
from unsafe_vlm.commands.report import run_report
from unsafe_vlm.data.taxonomy import SAFE_CATEGORY, published_taxonomy
from unsafe_vlm.errors import UserError
from unsafe_vlm.metrics.intervals import headline_intervals
from unsafe_vlm.metrics.metrics_json import metrics_json, write_metrics
from unsafe_vlm.metrics.scoring import score_responses

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def quiet() -> Console:
    return Console(quiet=True)


def evaluated_run(path, rows=None):
    """A run dir as ``evaluate`` leaves it: responses plus the metrics.json it computed."""
    rows = rows or example_rows()
    write_responses(path, rows)
    results = score_responses(rows, [*published_taxonomy().categories, SAFE_CATEGORY])
    write_metrics(path / "metrics.json", metrics_json(results, intervals=headline_intervals(rows)))
    return path


def fit_run(path):
    """A run dir as ``fit`` leaves it: an evaluation before training and one after."""
    evaluated_run(path)
    write_responses(path, before_rows(), folder="responses_before")
    (path / "metrics_before.json").write_text("{}")  # stale: the command must recompute it
    return path


def test_report_rewrites_metrics_json_exactly_as_the_evaluation_wrote_it(tmp_path):
    run = evaluated_run(tmp_path / "run")
    saved = (run / "metrics.json").read_text()
    (run / "metrics.json").write_text("{}")
    run_report([str(run)], quiet())
    assert (run / "metrics.json").read_text() == saved
    assert (run / "report.md").is_file()
    assert not (run / "comparison.md").exists()  # one evaluation: nothing to compare


def test_unmerged_shards_score_like_the_merged_file(tmp_path):
    run = evaluated_run(tmp_path / "run")
    saved = json.loads((run / "metrics.json").read_text())
    merged = (run / "responses" / "alignment_image.jsonl").read_text().splitlines(keepends=True)
    (run / "responses" / "alignment_image.jsonl").write_text("".join(merged[:3]))
    (run / "responses" / "alignment_image.rank1.jsonl").write_text("".join(merged[3:]))
    run_report([str(run)], quiet())
    assert json.loads((run / "metrics.json").read_text()) == saved


def test_fit_run_gets_before_and_after_and_a_comparison(tmp_path):
    run = fit_run(tmp_path / "fit")
    evaluations = run_report([str(run)], quiet())
    assert [e.label for e in evaluations] == ["before", "after"]
    before = json.loads((run / "metrics_before.json").read_text())
    assert before["alignment_image/accuracy"] == 0.0 and before["modality_gap"] == 0.75
    report = (run / "report.md").read_text()
    assert "| Alignment on images | 0.0% [0.0, 0.0] | 37.5% [12.5, 75.0] | +37.5 pts | yes [+12.5, +75.0] |" in report
    comparison = (run / "comparison.md").read_text()
    assert "| Score | before | after | Change (after − before) |" in comparison
    gap = "| Modality gap (text − image) | +75.0 pts [+50.0, +100.0] | +37.5 pts [+25.0, +50.0] | -37.5 pts |"
    assert gap in comparison
    assert (run / "comparison.png").read_bytes()[:8] == PNG_SIGNATURE


def test_two_runs_are_compared_under_their_labels_in_out(tmp_path):
    first = evaluated_run(tmp_path / "a" / "run")
    second = evaluated_run(tmp_path / "b" / "run", {"alignment_image": before_rows()["alignment_image"]})
    out = tmp_path / "compare"
    evaluations = run_report([str(first), str(second), "--out", str(out), "--labels", "base, tuned"], quiet())
    assert [e.label for e in evaluations] == ["base", "tuned"]
    comparison = (out / "comparison.md").read_text()
    image = "| Alignment on images | 37.5% [12.5, 75.0] | 0.0% [0.0, 0.0] | -37.5 pts | yes [-75.0, -12.5] |"
    assert image in comparison
    assert "| Perception accuracy | 66.7% [28.6, 100.0] | not run | — | — |" in comparison
    assert "Significant (95%, paired)" in comparison and "paired bootstrap over the queries both runs" in comparison
    png = (out / "comparison.png").read_bytes()
    assert png[:8] == PNG_SIGNATURE and len(png) > 10_000
    assert not (first / "comparison.md").exists()


def test_runs_whose_queries_differ_are_compared_over_the_queries_both_answered(tmp_path):
    common = [("Hate", j, "Unsafe") for j in ["Unsafe", "Unsafe", "Safe", "Safe", "Unsafe", "Safe", "Safe", "Safe"]]
    extra = [("Violence", "Unsafe", "Unsafe")] * 24  # only the first run asked these, and judged all right
    first = evaluated_run(tmp_path / "a", {"alignment_image": rows_of("alignment_image", common + extra)})
    all_right = rows_of("alignment_image", [("Hate", "Unsafe", "Unsafe")] * 8)
    second = evaluated_run(tmp_path / "b", {"alignment_image": all_right})
    console = Console(record=True, width=200)
    run_report([str(first), str(second), "--labels", "base,tuned"], console)
    line = "base has 24 that tuned lacks, tuned has 0 that base lacks; each change is over the 8 queries both answered"
    comparison = (first / "comparison.md").read_text()
    assert line in comparison and line in console.export_text().replace("\n", " ")
    row = next(r for r in comparison.splitlines() if r.startswith("| Alignment on images |"))
    scores = re.fullmatch(r"\| Alignment on images \| 84\.4% .*\| 100\.0% .*\| \+(\S+) pts \| yes \[(\S+), (\S+)\] \|",
                          row)  # fmt: skip
    assert scores, row
    change, low, high = (float(value) for value in scores.groups())
    assert change == 62.5, "the change over the 8 shared queries (37.5% -> 100%), not 84.4% -> 100%"
    assert low <= change <= high


def test_default_labels_are_folder_names_told_apart_by_parent(tmp_path):
    runs = [evaluated_run(tmp_path / "a" / "run"), evaluated_run(tmp_path / "b" / "run"), fit_run(tmp_path / "ft")]
    evaluations = run_report([str(r) for r in runs], quiet())
    assert [e.label for e in evaluations] == ["a/run", "b/run", "ft before", "ft after"]
    assert "| Score | a/run | b/run | ft before | ft after |" in (runs[0] / "comparison.md").read_text()


def test_the_wrong_number_of_labels_is_refused(tmp_path):
    run = evaluated_run(tmp_path / "run")
    with pytest.raises(UserError, match=r"--labels 'x,y': give 1 non-empty label"):
        run_report([str(run), "--labels", "x,y"], quiet())


def test_bad_run_dirs_are_one_line_naming_the_path(tmp_path, capsys):
    (tmp_path / "empty" / "responses").mkdir(parents=True)
    (tmp_path / "file").write_text("not a run")
    for name, message in [
        ("nowhere", "no such directory"),
        ("empty", "no saved responses in responses/<task>.jsonl, task one of perception"),
        ("file", "not a directory"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(["report", str(tmp_path / name)])
        assert exit_info.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / name}: {message}"), lines


def test_a_broken_jsonl_line_names_file_and_line(tmp_path):
    run = evaluated_run(tmp_path / "run")
    with (run / "responses" / "alignment_text.jsonl").open("a") as handle:
        handle.write("{not json\n")
    with pytest.raises(UserError, match=r"alignment_text.jsonl:5: not a JSON line"):
        run_report([str(run)], quiet())


def test_a_row_without_a_verdict_names_file_and_id(tmp_path):
    rows = example_rows()
    del rows["perception"][2]["judged"]
    write_responses(tmp_path / "run", rows)
    with pytest.raises(UserError, match=r"perception.jsonl: response 'perception/002' needs a string 'judged'"):
        run_report([str(tmp_path / "run")], quiet())


def test_a_bad_gold_label_names_the_folder(tmp_path):
    write_responses(tmp_path / "run", {"alignment_test": rows_of("alignment_test", [("Hate", "Safe", "Maybe")])})
    with pytest.raises(UserError, match=r"responses: cannot score the responses: .*Safe or Unsafe"):
        run_report([str(tmp_path / "run")], quiet())


def test_nothing_is_written_when_a_later_run_dir_is_bad(tmp_path):
    run = evaluated_run(tmp_path / "run")
    with pytest.raises(UserError, match="no such directory"):
        run_report([str(run), str(tmp_path / "typo")], quiet())
    assert not (run / "report.md").exists()


def test_unknown_option_is_a_user_error():
    with pytest.raises(UserError, match=r"report: unrecognized arguments: --colour"):
        run_report(["somewhere", "--colour"], quiet())


@pytest.mark.slow
def test_the_command_line_runs_end_to_end(tmp_path):
    run = fit_run(tmp_path / "fit")
    env = {**os.environ, "COLUMNS": "120"}
    done = subprocess.run(
        [sys.executable, "-m", "unsafe_vlm", "report", str(run)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "Comparison" in done.stdout and "+37.5 pts" in done.stdout
    assert (run / "comparison.md").is_file() and (run / "plots" / "perception_by_category.png").is_file()
    missing = subprocess.run(
        [sys.executable, "-m", "unsafe_vlm", "report", str(tmp_path / "nope")], capture_output=True, text=True
    )
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"error: {tmp_path / 'nope'}: no such directory"
