"""``fit`` with two real CPU processes (``trainer=ddp``, gloo), for every method, through the CLI.

Lightning's ``ddp`` strategy starts the second process as ``python -m unsafe_vlm --config-name=fit
...``; the outputs must come out complete and written once.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from helpers.cli_runner import run_cli
from helpers.datamodules import datamodule_of

from unsafe_vlm.config_check import check_overrides

LIMIT = 8  # records per task and training records: 2 steps of 2 records per process
METHODS = {
    "sft": [],
    "dpo": [],
    "ppo": ["method.max_new_tokens=4", "method.minibatch_size=2", "method.ppo_epochs=1"],
}



def overrides(method: str, run_dir: Path, cache_dir: Path) -> list[str]:
    return [
        f"+method={method}",
        "model=tiny",
        "data=synthetic",
        f"data.limit_per_task={LIMIT}",
        "data.tasks=[perception,alignment_image,alignment_text,alignment_test]",
        f"data.cache_dir={cache_dir}",
        f"hydra.run.dir={run_dir}",
        "generation.max_new_tokens=4",
        "method.batch_size=2",
        *METHODS[method],
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
    ]


def expected_ids(args: list[str]) -> dict[str, list[str]]:
    """Every record id of every evaluation task, from the data module the run composed."""
    cfg = check_overrides("fit", args)
    datamodule = datamodule_of(cfg)
    return {task: sorted(r.id for r in datamodule.records(task)) for task in cfg.data.tasks}


@pytest.mark.slow
@pytest.mark.parametrize("method", sorted(METHODS))
def test_two_process_fit_writes_complete_outputs_once(method, tmp_path, data_cache):
    run = tmp_path / "run"
    args = overrides(method, run, data_cache)
    result = run_cli("fit", *args)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-4000:]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in result.stderr  # a second process really ran

    # 8 training records, 2 per batch, split over 2 processes: 2 steps (one process would take 4)
    saved = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert saved["global_step"] == 2
    assert all(".lora_" in k or k.startswith("value_head.") for k in saved["state_dict"])
    assert (run / "adapter" / "adapter_config.json").is_file()
    with next((run / "logs").glob("version_*/metrics.csv")).open() as handle:
        assert [int(row["step"]) for row in csv.DictReader(handle)] == [0, 1]  # rank 0 logs, once
    assert len(list((run / "logs").glob("version_*"))) == 1

    expected = expected_ids(args)
    for folder, metrics_file in (("responses_before", "metrics_before.json"), ("responses", "metrics.json")):
        assert not list((run / folder).glob("*.rank*.jsonl")), "shards left unmerged"
        metrics = json.loads((run / metrics_file).read_text())
        for task, ids in expected.items():
            lines = (run / folder / f"{task}.jsonl").read_text().splitlines()
            written = [json.loads(line)["id"] for line in lines]
            assert sorted(written) == ids, (folder, task)  # every record once, no duplicates
            assert metrics[f"{task}/n"] == len(ids)
    assert (run / "report.md").is_file()
