"""report.md and the per-category plots, from hand-made responses with known scores."""

from __future__ import annotations

import json

import pytest
from helpers.report_rows import EXPECTED, before_rows, example_rows, rows_of, write_responses

from unsafe_vlm.report import rescore_run, write_report
from unsafe_vlm.report.markdown import markdown_table
from unsafe_vlm.report.scores import format_change, format_value

PLOTS = ("alignment_by_category.png", "modality_gap_by_category.png", "perception_by_category.png")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def metrics_of(tmp_path, rows, name="run"):
    write_responses(tmp_path / name, rows)
    return rescore_run(tmp_path / name).metrics


def assert_png(path, min_kb=8):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    assert len(data) > min_kb * 1024, f"{path} is only {len(data)} bytes"


def test_the_hand_made_rows_score_as_worked_out(tmp_path):
    metrics = metrics_of(tmp_path, example_rows())
    for key, value in EXPECTED.items():
        assert metrics[key] == pytest.approx(value), key


def test_report_md_holds_the_right_numbers(tmp_path):
    metrics = metrics_of(tmp_path, example_rows())
    files = write_report(tmp_path / "run", metrics, title="Tiny model on synthetic data")
    text = files.markdown.read_text()
    assert text.startswith("# Tiny model on synthetic data\n")
    for line in [
        "| Perception accuracy | 66.7% [28.6, 100.0] | 6 answered of 8 |",  # with its 95% interval
        "| Alignment on images | 37.5% [12.5, 75.0] | 8 answered of 8 |",
        "| Alignment on text only | 75.0% [50.0, 100.0] | 4 answered of 4 |",
        "| Modality gap (text − image) | +37.5 pts [+25.0, +50.0] |",
        "| Balanced test accuracy | 62.5% | 8 test responses |",
        "| Unsafe recall (test) | 75.0% |",
        "| Safe recall (test) | 50.0% |",
        "| Perception | 8 | 6 | 25.0% | 66.7% | 50.0% |",
        "| Balanced test split | 8 | 7 | 12.5% | 71.4% | 62.5% |",
        "| Hate | 50.0% | 100.0% | +50.0 pts | 75.0% | 4 / 2 / 4 |",
        "| Violence | 25.0% | 50.0% | +25.0 pts | 50.0% | 4 / 2 / 4 |",
    ]:
        assert line in text, line
    assert "## How to read this" in text and "text-only alignment accuracy minus image" in text
    assert "Before and after" not in text
    for name in PLOTS:
        assert f"(plots/{name})" in text


def test_every_plot_is_a_real_png(tmp_path):
    files = write_report(tmp_path / "run", metrics_of(tmp_path, example_rows()))
    assert sorted(p.name for p in files.plots) == sorted(PLOTS)
    assert files.skipped == {}
    for name in PLOTS:
        assert_png(tmp_path / "run" / "plots" / name)


def test_plots_of_tasks_that_did_not_run_are_skipped_and_noted(tmp_path):
    run = tmp_path / "run"
    write_report(run, metrics_of(tmp_path, example_rows()))  # all three plots, then a run with perception only
    metrics = metrics_of(tmp_path, {"perception": example_rows()["perception"]}, name="perception_only")
    files = write_report(run, metrics)
    assert [p.name for p in files.plots] == ["perception_by_category.png"]
    assert set(files.skipped) == {"alignment_by_category.png", "modality_gap_by_category.png"}
    assert sorted(p.name for p in (run / "plots").iterdir()) == ["perception_by_category.png"]
    text = files.markdown.read_text()
    assert "`plots/alignment_by_category.png` not drawn: neither alignment task" in text
    assert "`plots/modality_gap_by_category.png` not drawn: it needs both alignment tasks" in text
    assert "| Alignment on images | not run |" in text
    assert ("Not run: alignment on images, alignment on text only, balanced test split, contexts on images, "
            "contexts on text only, yes/no capability, yes/no shape questions.") in text
    assert "| Hate | not run | not run | not run | 75.0% | 0 / 0 / 4 |" in text


def test_one_alignment_task_still_gets_its_alignment_plot(tmp_path):
    metrics = metrics_of(tmp_path, {"alignment_text": example_rows()["alignment_text"]})
    files = write_report(tmp_path / "run", metrics)
    assert [p.name for p in files.plots] == ["alignment_by_category.png"]
    assert_png(files.plots[0])


def test_a_category_judged_all_na_is_undefined_not_zero(tmp_path):
    rows = example_rows()
    rows["alignment_image"] = rows_of("alignment_image", [("Hate", "N/A", "Unsafe"), ("Violence", "Unsafe", "Unsafe")])
    files = write_report(tmp_path / "run", metrics_of(tmp_path, rows))
    text = files.markdown.read_text()
    assert "| Hate | — | 100.0% | — | 75.0% | 1 / 2 / 4 |" in text
    assert "| Violence | 100.0% | 50.0% | -50.0 pts |" in text
    assert len(files.plots) == 3


def test_metrics_before_json_adds_a_before_after_table(tmp_path):
    before = metrics_of(tmp_path, before_rows(), name="before")
    run = tmp_path / "run"
    metrics = metrics_of(tmp_path, example_rows())
    (run / "metrics_before.json").write_text(json.dumps(before))
    text = write_report(run, metrics).markdown.read_text()
    assert "## Before and after training" in text
    assert "| Alignment on images | 0.0% [0.0, 0.0] | 37.5% [12.5, 75.0] | +37.5 pts |" in text
    assert "| Modality gap (text − image) | +75.0 pts [+50.0, +100.0] | +37.5 pts [+25.0, +50.0] | -37.5 pts |" in text
    assert "| Perception accuracy | 66.7% [28.6, 100.0] | 66.7% [28.6, 100.0] | +0.0 pts |" in text
    assert "![headline scores before and after training](comparison.png)" in text
    assert (run / "comparison.md").is_file() and (run / "comparison.png").is_file()


def test_scores_are_written_as_percentages_and_points():
    assert format_value(0.625) == "62.5%"
    assert format_value(-0.125, signed=True) == "-12.5 pts"
    assert format_value(None) == "—"
    assert format_change({"a": 0.5}, {"a": 0.75}, "a") == "+25.0 pts"
    assert format_change({"a": None}, {"a": 0.75}, "a") == "—"
    assert format_change({}, {"a": 0.75}, "a") == "—"


def test_markdown_table_aligns_and_escapes_pipes():
    table = markdown_table(["name", "value", "note"], [["a|b", "1", "x"]], align="lrl")
    assert table.splitlines() == ["| name | value | note |", "| --- | ---: | --- |", "| a\\|b | 1 | x |"]
    with pytest.raises(ValueError, match="one letter per column"):
        markdown_table(["a", "b"], [], align="l")


def test_headline_lists_generalisation_and_capability_scores_when_present():
    from unsafe_vlm.report.scores import headline_scores
    from unsafe_vlm.report.sections import headline_section

    metrics = {"generalization/smid/balanced_accuracy": 0.75, "generalization/smid/n": 8,
               "general/mme/accuracy": 0.5, "general/mme/n": 4}
    keys = [s.key for s in headline_scores(metrics)]
    assert keys == ["general/mme/accuracy", "generalization/smid/balanced_accuracy"]
    text = headline_section(metrics)
    assert "75.0%" in text and "smid" in text and "50.0%" in text
    assert "Perception accuracy" not in text  # no benchmark task ran
