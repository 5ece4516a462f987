"""``report`` on an unfinished or damaged run: one line naming the file and line or the unfinished
tasks, exit 2, and every file of every run left byte for byte as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.report_rows import before_rows, example_rows, write_responses

from unsafe_vlm.cli import main
from unsafe_vlm.metrics.intervals import headline_intervals
from unsafe_vlm.metrics.metrics_json import metrics_json, write_metrics
from unsafe_vlm.metrics.scoring import ordered_categories, score_responses

COUNTS = {"perception": 8, "alignment_image": 8, "alignment_text": 4, "alignment_test": 8}  # example_rows()
FINISH = "rerun its evaluate or fit with hydra.run.dir={run} to finish"


def finished_run(path: Path, *, counts: dict[str, int] | None = COUNTS) -> Path:
    """A run as a finished ``evaluate`` leaves it (``counts=None``: one made before tasks.json)."""
    rows = example_rows()
    write_responses(path, rows)
    if counts is not None:
        (path / "responses" / "tasks.json").write_text(json.dumps(counts))
    results = score_responses(rows, ordered_categories(rows))
    write_metrics(path / "metrics.json", metrics_json(results, intervals=headline_intervals(rows)))
    (path / "report.md").write_text("# the evaluation's own report\n")
    return path


def interrupt(run: Path, task: str, kept: int) -> Path:
    """Turn ``task``'s merged file back into a rank-0 shard holding its first ``kept`` answers."""
    merged = run / "responses" / f"{task}.jsonl"
    shard = merged.with_name(f"{task}.rank0.jsonl")
    shard.write_text("".join(merged.read_text().splitlines(keepends=True)[:kept]))
    merged.unlink()
    return shard


def snapshot(*runs: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for run in runs for path in sorted(run.rglob("*")) if path.is_file()}


def refused(capsys, *runs: Path) -> str:
    """Run ``report`` on ``runs``: it must exit 2 with one ``error:`` line and change no file."""
    before = snapshot(*runs)
    with pytest.raises(SystemExit) as exit_info:
        main(["report", *map(str, runs)])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert snapshot(*runs) == before, "a refused report must leave every file as it was"
    return lines[0].removeprefix("error: ")


def test_a_shard_cut_short_by_a_kill_names_its_file_and_line(tmp_path, capsys):
    run = finished_run(tmp_path / "run")
    shard = interrupt(run, "alignment_image", kept=3)
    with shard.open("a") as handle:
        handle.write('{"id": "alignment_image/003", "resp')  # the kill came mid-line
    assert refused(capsys, run) == (
        f"{shard}:4: cut short (no newline at its end: the run was killed writing it); {FINISH.format(run=run)}"
    )


def test_a_cut_short_line_is_refused_even_when_it_holds_a_whole_json_object(tmp_path, capsys):
    run = finished_run(tmp_path / "run")
    merged = run / "responses" / "alignment_text.jsonl"
    merged.write_text(merged.read_text().rstrip("\n"))  # every answer there, the last newline lost
    assert refused(capsys, run).startswith(f"{merged}:4: cut short")


def test_an_interrupted_run_says_how_many_queries_are_answered(tmp_path, capsys):
    run = finished_run(tmp_path / "run")
    interrupt(run, "alignment_image", kept=4)
    assert refused(capsys, run) == (
        f"{run / 'responses'}: 24 of 28 queries answered (alignment_image 4 of 8 unfinished); {FINISH.format(run=run)}"
    )


def test_a_task_not_started_counts_as_unfinished(tmp_path, capsys):
    run = finished_run(tmp_path / "run")
    interrupt(run, "alignment_image", kept=4)
    (run / "responses" / "alignment_test.jsonl").unlink()
    assert refused(capsys, run).startswith(
        f"{run / 'responses'}: 16 of 28 queries answered (alignment_image 4 of 8, alignment_test 0 of 8 unfinished); "
    )


def test_an_old_run_with_unmerged_shards_only_is_unfinished(tmp_path, capsys):
    run = finished_run(tmp_path / "run", counts=None)
    interrupt(run, "alignment_image", kept=4)
    assert refused(capsys, run) == (
        f"{run / 'responses'}: alignment_image unfinished (4 answers in shards never merged into <task>.jsonl: "
        f"the evaluation stopped before its end); {FINISH.format(run=run)}"
    )


def test_every_answer_saved_but_not_merged_is_scored(tmp_path):
    run = finished_run(tmp_path / "run")
    saved = (run / "metrics.json").read_bytes()
    interrupt(run, "alignment_image", kept=8)  # killed after the last answer, before the merge
    (run / "metrics.json").write_text("{}")
    main(["report", str(run)])
    assert (run / "metrics.json").read_bytes() == saved


def test_an_unfinished_after_evaluation_of_a_fit_run_changes_nothing(tmp_path, capsys):
    run = finished_run(tmp_path / "fit")
    write_responses(run, before_rows(), folder="responses_before")
    (run / "responses_before" / "tasks.json").write_text(json.dumps(COUNTS))
    (run / "metrics_before.json").write_text("{}")
    interrupt(run, "perception", kept=5)
    assert refused(capsys, run).startswith(f"{run / 'responses'}: 25 of 28 queries answered (perception 5 of 8 ")


def test_an_unfinished_second_run_leaves_the_first_one_unwritten(tmp_path, capsys):
    good, unfinished = finished_run(tmp_path / "good"), finished_run(tmp_path / "unfinished")
    interrupt(unfinished, "alignment_text", kept=1)
    assert refused(capsys, good, unfinished).startswith(f"{unfinished / 'responses'}: 25 of 28 queries answered")


def test_more_answers_than_queries_names_tasks_json(tmp_path, capsys):
    run = finished_run(tmp_path / "run", counts={**COUNTS, "alignment_text": 3})
    assert refused(capsys, run).startswith(
        f"{run / 'responses' / 'tasks.json'}: says alignment_text asks 3 queries, but 4 are answered"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [("{not json", "not valid JSON"), ('{"perception": "8"}', "expected one JSON object of task name -> number")],
)
def test_a_damaged_tasks_json_is_one_line_naming_it(tmp_path, capsys, text, message):
    run = finished_run(tmp_path / "run")
    (run / "responses" / "tasks.json").write_text(text)
    assert refused(capsys, run).startswith(f"{run / 'responses' / 'tasks.json'}: {message}")
