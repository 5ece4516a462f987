"""``python -m unsafe_vlm fit +method=sft|dpo|ppo`` end to end on the tiny model, as a user runs it:
every output, adapter-only checkpoints, an adapter peft and ``evaluate`` load, and a resume."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from helpers.cli_runner import run_cli
from omegaconf import OmegaConf
from peft import PeftModel
from safetensors.torch import load_file

from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.paths import CONF_DIR

TASKS = ("perception", "alignment_image", "alignment_text", "alignment_test")
LIMIT = 8  # records per task, and training records: 4 steps of 2 per epoch
METHODS = {
    "sft": [],
    "dpo": [],
    # one optimizer step per PPO iteration, so steps count iterations
    "ppo": ["method.max_new_tokens=4", "method.minibatch_size=2", "method.ppo_epochs=1"],
}



def tiny_overrides(run_dir: Path, cache_dir: Path) -> list[str]:
    return [
        "model=tiny",
        "data=synthetic",
        f"data.limit_per_task={LIMIT}",
        "data.tasks=[perception,alignment_image,alignment_text,alignment_test]",
        f"data.cache_dir={cache_dir}",
        f"hydra.run.dir={run_dir}",
    ]


def fit(method: str, run_dir: Path, cache_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [f"+method={method}", *tiny_overrides(run_dir, cache_dir), "generation.max_new_tokens=4"]
    return run_cli("fit", *args, "method.batch_size=2", *METHODS[method], *extra)


def succeeded(result: subprocess.CompletedProcess) -> bool:
    return result.returncode == 0 and "Traceback" not in result.stderr


@dataclass
class Run:
    method: str
    dir: Path
    stdout: str



@pytest.fixture(scope="module", params=sorted(METHODS))
def first_run(request, tmp_path_factory, data_cache) -> Run:
    """fit stopped after 2 optimizer steps; the tests must not change its folder."""
    run_dir = tmp_path_factory.mktemp(f"fit-{request.param}")
    result = fit(request.param, run_dir, data_cache, "trainer.max_steps=2")
    assert succeeded(result), result.stderr[-4000:]
    return Run(request.param, run_dir, result.stdout)


def checkpoint(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)


def responses(folder: Path, task: str) -> list[dict]:
    return [json.loads(line) for line in (folder / f"{task}.jsonl").read_text().splitlines()]


def logged_steps(run_dir: Path) -> list[int]:
    steps = []
    for path in sorted((run_dir / "logs").glob("version_*/metrics.csv")):
        with path.open() as handle:
            steps += [int(row["step"]) for row in csv.DictReader(handle)]
    return steps


def tiny_backbone():
    return build_backbone(model_settings(OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")))


@pytest.mark.slow
def test_fit_writes_every_output(first_run):
    run = first_run.dir
    for name in ("checkpoints/last.ckpt", "adapter/adapter_config.json", "adapter/adapter_model.safetensors"):
        assert (run / name).is_file(), name
    if first_run.method == "ppo":
        assert (run / "adapter" / "value_head.safetensors").is_file()
        assert (run / "adapter" / "value" / "adapter_config.json").is_file()
    assert (run / "report.md").read_text().strip()
    for name in ("comparison.md", "comparison.png", "report.html"):  # the before/after comparison, the page
        assert (run / name).is_file(), name
    assert "Significant (95%, paired)" in (run / "comparison.md").read_text()
    for metrics_file, folder in (("metrics_before.json", "responses_before"), ("metrics.json", "responses")):
        metrics = json.loads((run / metrics_file).read_text())
        for task in TASKS:
            assert metrics[f"{task}/n"] == LIMIT, (metrics_file, task)
            assert len(responses(run / folder, task)) == LIMIT
    assert f"after {first_run.method}" in first_run.stdout  # the before/after table
    assert logged_steps(run) == [0, 1]


@pytest.mark.slow
def test_checkpoint_holds_only_the_trained_tensors(first_run):
    saved = checkpoint(first_run.dir)
    assert saved["global_step"] == 2
    keys = list(saved["state_dict"])
    assert keys
    assert all(".lora_A." in k or ".lora_B." in k or k.startswith("value_head.") for k in keys), keys
    if first_run.method == "ppo":
        assert {"value_head.weight", "value_head.bias"} <= set(keys)
        assert any(".lora_A.value." in k for k in keys)  # the value head's own adapter
    assert saved["hyper_parameters"]["method"]["name"] == first_run.method


@pytest.mark.slow
def test_adapter_loads_with_peft_and_holds_the_trained_weights(first_run):
    saved = checkpoint(first_run.dir)["state_dict"]
    model = PeftModel.from_pretrained(tiny_backbone().model, str(first_run.dir / "adapter"))
    loaded = {name: p for name, p in model.named_parameters() if "lora_" in name}
    trained = {k.removeprefix("backbone.model."): v for k, v in saved.items() if ".default." in k}
    assert set(loaded) == set(trained)
    for name, value in trained.items():
        torch.testing.assert_close(loaded[name], value, msg=name)
    assert any(v.abs().max() > 0 for k, v in trained.items() if "lora_B" in k)  # training moved B off zero
    if first_run.method == "ppo":
        head = load_file(str(first_run.dir / "adapter" / "value_head.safetensors"))
        torch.testing.assert_close(head["weight"], saved["value_head.weight"])
        torch.testing.assert_close(head["bias"], saved["value_head.bias"])
        model.load_adapter(str(first_run.dir / "adapter" / "value"), adapter_name="value")


@pytest.mark.slow
def test_evaluate_with_the_adapter_answers_as_the_trained_model(first_run, tmp_path, data_cache):
    result = run_cli(
        "evaluate",
        *tiny_overrides(tmp_path, data_cache),
        f"model.adapter={first_run.dir / 'adapter'}",
        "generation.max_new_tokens=4",
    )
    assert succeeded(result), result.stderr[-4000:]
    assert (tmp_path / "metrics.json").is_file()
    for task in TASKS:
        after_fit = {r["id"]: r["response"] for r in responses(first_run.dir / "responses", task)}
        evaluated = {r["id"]: r["response"] for r in responses(tmp_path / "responses", task)}
        assert evaluated == after_fit, task


@pytest.fixture(scope="module")
def resumed_run(first_run, tmp_path_factory, data_cache) -> Run:
    """A copy of the first run, its saved answers marked, resumed with ckpt_path=last to 4 steps."""
    run = tmp_path_factory.mktemp(f"resumed-{first_run.method}") / "run"
    shutil.copytree(first_run.dir, run)
    for folder, mark in (("responses_before", "kept from the first run"), ("responses", "made after 2 steps")):
        rows = responses(run / folder, "perception")
        rows[0]["response"] = mark
        (run / folder / "perception.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = fit(first_run.method, run, data_cache, "trainer.max_steps=4", "ckpt_path=last")
    assert succeeded(result), result.stderr[-4000:]
    return Run(first_run.method, run, result.stdout)


@pytest.mark.slow
def test_resume_continues_from_the_last_checkpoint(resumed_run):
    assert checkpoint(resumed_run.dir)["global_step"] == 4
    assert sorted(p.name for p in (resumed_run.dir / "checkpoints").iterdir()) == ["last.ckpt"]
    assert logged_steps(resumed_run.dir) == [0, 1, 2, 3]  # the second run logs steps 2 and 3, not 0 and 1 again


@pytest.mark.slow
def test_resume_reuses_the_evaluation_before_and_redoes_the_one_after(resumed_run):
    run = resumed_run.dir
    # the evaluation before training is reused as saved, not asked again
    assert responses(run / "responses_before", "perception")[0]["response"] == "kept from the first run"
    # the evaluation after is asked again: the model trained two more steps since it was written
    assert all(r["response"] != "made after 2 steps" for r in responses(run / "responses", "perception"))
    for task in TASKS:
        assert len(responses(run / "responses", task)) == LIMIT
    assert json.loads((run / "metrics.json").read_text())["perception/n"] == LIMIT


def expected_answer_tokens(cache_dir: Path) -> list[int]:
    """Answer tokens of each SFT training batch of the first epoch, in the order an uninterrupted run sees them."""
    from helpers.datamodules import datamodule_of

    from unsafe_vlm.config_check import check_overrides

    cfg = check_overrides("fit", ["+method=sft", *tiny_overrides(cache_dir / "unused", cache_dir)])
    datamodule = datamodule_of(cfg)
    datamodule.connect(tiny_backbone(), train_format="sft")
    datamodule.batch_size = 2
    datamodule.setup("fit")
    return [int(batch["inputs"]["answer_mask"].sum()) for batch in datamodule.train_dataloader()]


@pytest.mark.slow
def test_resume_trains_on_the_batches_the_first_run_had_not_seen(resumed_run, data_cache):
    with (resumed_run.dir / "logs" / "version_1" / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["step"]) for row in rows] == [2, 3]  # only the budget left
    if resumed_run.method != "sft":
        return  # only SFT logs a fingerprint of its batches (their answer tokens)
    expected = expected_answer_tokens(data_cache)
    assert expected[2:] != expected[:2]  # the fingerprint tells the batches apart
    assert [int(float(row["train/answer_tokens"])) for row in rows] == expected[2:4]


@pytest.mark.slow
@pytest.mark.parametrize(("method", "precision"), [("ppo", "bf16-mixed"), ("dpo", "bf16-true")])
def test_fit_trains_in_bfloat16_by_trainer_precision(method, precision, tmp_path, data_cache):
    result = fit(method, tmp_path / "run", data_cache, f"trainer.precision={precision}", "trainer.max_steps=2")
    assert succeeded(result), result.stderr[-3000:]
    assert checkpoint(tmp_path / "run")["global_step"] == 2
    assert all(torch.isfinite(v.float()).all() for v in checkpoint(tmp_path / "run")["state_dict"].values())
