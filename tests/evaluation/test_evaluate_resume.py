"""`evaluate` through the CLI: outputs, a crash part-way then a resume, and refusing to mix configs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from unsafe_vlm.errors import UserError
from unsafe_vlm.paths import REPO_DIR
from unsafe_vlm.report.rescore import rescore_run

TASKS = ("perception", "alignment_image", "alignment_text", "alignment_test")


def evaluate(
    run_dir: Path, cache: Path, *extra: str, crash_after: int | None = None, judged_log: Path | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR)}
    env.pop("UNSAFE_VLM_TEST_CRASH_AFTER", None)
    env.pop("UNSAFE_VLM_TEST_JUDGED_LOG", None)
    if judged_log is not None:
        env["UNSAFE_VLM_TEST_JUDGED_LOG"] = str(judged_log)
    if crash_after is not None:
        env["UNSAFE_VLM_TEST_CRASH_AFTER"] = str(crash_after)
    command = [
        sys.executable, "-m", "unsafe_vlm", "evaluate", "model=tiny", "data=synthetic",
        f"data.cache_dir={cache}", "data.limit_per_task=6", "data.eval_batch_size=2",
        "generation.max_new_tokens=6", "judge.name=tests.helpers.crashing_judge:CrashingJudge",
        f"data.tasks=[{','.join(TASKS)}]",
        f"hydra.run.dir={run_dir}", *extra,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_DIR, env=env, timeout=600)


def responses(run_dir: Path) -> dict[str, list[dict]]:
    rows = {}
    for task in TASKS:
        lines = []
        for path in sorted((run_dir / "responses").glob(f"{task}*.jsonl")):
            lines += [json.loads(line) for line in path.read_text().splitlines()]
        rows[task] = lines
    return rows


@pytest.mark.slow
def test_a_crashed_evaluation_resumes_and_equals_an_uninterrupted_one(tmp_path, data_cache):
    cache = data_cache
    whole = evaluate(tmp_path / "whole", cache)
    assert whole.returncode == 0, whole.stderr[-3000:]
    for name in ("metrics.json", "report.md"):
        assert (tmp_path / "whole" / name).is_file(), name
    expected = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    assert expected["alignment_test/n"] == 6 and "modality_gap" in expected

    crashed = evaluate(tmp_path / "run", cache, crash_after=3)
    assert crashed.returncode != 0 and "simulated crash" in crashed.stderr
    kept = responses(tmp_path / "run")
    answered_before = {r["id"]: r for rows in kept.values() for r in rows}
    assert 0 < len(answered_before) < 24, "the crash must come part-way"
    assert not (tmp_path / "run" / "metrics.json").exists()
    counts = json.loads((tmp_path / "run" / "responses" / "tasks.json").read_text())
    assert counts == dict.fromkeys(TASKS, 6)
    with pytest.raises(UserError, match=rf"responses: {len(answered_before)} of 24 queries answered \("):
        rescore_run(tmp_path / "run")  # the report refuses the crashed run

    judged_log = tmp_path / "judged.txt"
    resumed = evaluate(tmp_path / "run", cache, judged_log=judged_log)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    done = len(answered_before)
    asked_again = sum(int(n) for n in judged_log.read_text().split())
    assert asked_again == 24 - done, "the resumed run must ask only the unanswered queries"
    assert f"{done} of 24 queries answered, asking {24 - done}" in resumed.stdout + resumed.stderr
    final = responses(tmp_path / "run")
    for task in TASKS:
        ids = [r["id"] for r in final[task]]
        assert len(ids) == len(set(ids)) == 6, task  # every query once, nothing lost or repeated
    for row in (r for rows in final.values() for r in rows):
        if row["id"] in answered_before:
            assert row == answered_before[row["id"]], "an answered query was asked again"
    assert not list((tmp_path / "run" / "responses").glob("*.rank*.jsonl")), "shards are merged once"
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == expected
    assert rescore_run(tmp_path / "run").metrics == expected

    again_log = tmp_path / "judged_again.txt"
    again = evaluate(tmp_path / "run", cache, judged_log=again_log)  # nothing left to ask
    assert again.returncode == 0, again.stderr[-3000:]
    assert not again_log.exists()
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == expected


@pytest.mark.slow
def test_a_resume_with_other_settings_is_refused_naming_the_key(tmp_path, data_cache):
    cache = data_cache
    first = evaluate(tmp_path / "run", cache, crash_after=1)
    assert first.returncode != 0
    other = evaluate(tmp_path / "run", cache, "generation.max_new_tokens=7")
    assert other.returncode == 2
    line = other.stderr.strip().splitlines()[-1]
    assert "generation.max_new_tokens was 6, now 7" in line
