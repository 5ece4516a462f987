"""End to end: a Hydra multirun of two tiny fits with replay, over two seeds, read by compare into one
setting of two seeds, its table and its figure."""

from __future__ import annotations

import json

import pytest
from helpers.cli_runner import run_cli


@pytest.mark.slow
def test_two_tiny_fits_over_seeds_become_one_setting_of_the_alignment_tax(tmp_path, data_cache):
    sweep = tmp_path / "sweep"
    fits = run_cli(
        "fit", "-m", "+method=sft", "seed=0,1", "model=tiny", "data=synthetic", f"data.cache_dir={data_cache}",
        "data.limit_per_task=4", "data.tasks=[alignment_test,capability]", "data.eval_batch_size=8",
        "data.train_replay=[capability]", "generation.max_new_tokens=2", "method.batch_size=2",
        f"hydra.sweep.dir={sweep}",
    )  # fmt: skip
    assert fits.returncode == 0, fits.stderr[-2000:]
    replayed = [json.loads(line) for line in (sweep / "0" / "replay_answers.jsonl").read_text().splitlines()]
    assert len(replayed) == 4 and all(row["id"].startswith("capability/") for row in replayed)

    done = run_cli("compare", str(sweep), "--out", str(tmp_path / "tax"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "compare: 2 runs in 1 settings of 1 method(s)" in done.stdout
    table = json.loads((tmp_path / "tax" / "alignment_tax.json").read_text())["rows"]
    assert [(row["method"], row["seeds"]) for row in table] == [("before", []), ("sft", [0, 1])]
    assert (tmp_path / "tax" / "alignment_tax.png").stat().st_size > 10_000
