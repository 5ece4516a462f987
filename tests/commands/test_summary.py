"""The last lines of fit and evaluate: the run folder's main files and the next commands."""

from __future__ import annotations

from pathlib import Path

from unsafe_vlm.commands.summary import evaluate_next_steps, fit_next_steps, summary_lines


def a_fit_run(run_dir: Path, *, adapter: bool = True) -> Path:
    for name in ("metrics.json", "metrics_before.json", "comparison.md", "comparison.png", "report.md", "report.html"):
        (run_dir / name).write_text("")
    if adapter:
        (run_dir / "adapter").mkdir()
    return run_dir


def test_the_summary_lists_the_files_the_run_wrote_under_its_folder(tmp_path):
    lines = summary_lines(a_fit_run(tmp_path), fit_next_steps(tmp_path, "organism"))
    assert lines[0] == f"metrics, responses and report in {tmp_path}"
    listed = "\n".join(lines[1 : lines.index("next:")])
    for name in ("metrics.json", "metrics_before.json", "comparison.md", "comparison.png", "report.html", "adapter/"):
        assert name in listed, name


def test_files_a_run_did_not_write_are_not_listed(tmp_path):
    (tmp_path / "metrics.json").write_text("")
    (tmp_path / "report.md").write_text("")
    lines = summary_lines(tmp_path, evaluate_next_steps(tmp_path))
    listed = "\n".join(lines[1 : lines.index("next:")])
    assert "metrics.json" in listed and "report.md" in listed
    assert "comparison" not in listed and "metrics_before" not in listed and "adapter" not in listed


def test_the_last_line_is_a_command_on_the_run_folder(tmp_path):
    for steps in (fit_next_steps(a_fit_run(tmp_path), "organism"), evaluate_next_steps(tmp_path)):
        last = summary_lines(tmp_path, steps)[-1].strip()
        assert last.startswith("python -m unsafe_vlm report ") and str(tmp_path) in last


def test_a_fit_run_with_an_adapter_suggests_evaluating_it_on_its_own_model(tmp_path):
    commands = [command for _, command in fit_next_steps(a_fit_run(tmp_path), "tiny")]
    assert f"report {tmp_path}" in commands
    assert any(c.startswith(f"evaluate model=tiny model.adapter={tmp_path / 'adapter'} ") for c in commands)


def test_a_fit_run_without_an_adapter_suggests_no_adapter(tmp_path):
    commands = [command for _, command in fit_next_steps(a_fit_run(tmp_path, adapter=False), "tiny")]
    assert commands and not any("model.adapter" in c for c in commands)


def test_comparing_runs_never_writes_over_a_fit_run_s_own_comparison(tmp_path):
    (tmp_path / "metrics.json").write_text("")
    compare = [c for _, c in evaluate_next_steps(tmp_path) if "OTHER" in c]
    assert compare and all("--out " in c for c in compare)


def test_a_fit_that_evaluated_nothing_claims_no_scores_and_offers_only_to_evaluate_its_adapter(tmp_path):
    (tmp_path / "adapter").mkdir()  # evaluate_before=false evaluate_after=false: the adapter alone
    lines = summary_lines(tmp_path, fit_next_steps(tmp_path, "tiny"))
    assert lines[0] == f"no scores (nothing was evaluated) in {tmp_path}"
    assert "adapter/" in lines[1] and not any("report" in line for line in lines)
    adapter = tmp_path / "adapter"
    assert lines[-1].strip().startswith(f"python -m unsafe_vlm evaluate model=tiny model.adapter={adapter}")
