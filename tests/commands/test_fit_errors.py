"""Bad input to ``fit`` and ``evaluate`` ends in one clear line: a method that does not exist or
cannot train, an adapter that is missing or made for another backbone, a loss that is not finite."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch
from helpers.cli_runner import run_cli
from helpers.method_settings import lora_settings
from omegaconf import OmegaConf

from unsafe_vlm.backbones.lora import add_lora
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.paths import CONF_DIR


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    """The ``error:`` lines on stderr; the run must have failed with exit code 2 and no traceback."""
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]



def tiny(run_dir: Path, cache_dir: Path) -> list[str]:
    return ["model=tiny", "data.limit_per_task=8", f"data.cache_dir={cache_dir}", f"hydra.run.dir={run_dir}",
            "data.tasks=[perception,alignment_image,alignment_text,alignment_test]"]


def test_an_unknown_method_is_one_line_listing_the_methods():
    result = run_cli("fit", "+method=nope")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "unknown method 'nope'" in lines[0]
    for name in ("sft", "dpo", "ppo"):
        assert name in lines[0]


@pytest.mark.slow
def test_a_method_that_cannot_train_is_refused_before_any_work(tmp_path, data_cache):
    result = run_cli("fit", "+method=sft", "method.name=eval", *tiny(tmp_path / "run", data_cache))
    expected = "error: method.name: unknown training method 'eval'; choose one of: sft, dpo, ppo, grpo"
    assert error_lines(result) == [expected]
    assert not (tmp_path / "run" / "responses_before").exists()


@pytest.mark.slow
def test_fit_refuses_to_start_from_a_loaded_adapter(tmp_path, data_cache):
    result = run_cli("fit", "+method=sft", *tiny(tmp_path / "run", data_cache), f"model.adapter={tmp_path}")
    lines = error_lines(result)
    assert len(lines) == 1
    assert "fit trains new LoRA adapters on the base model" in lines[0] and "unset model.adapter" in lines[0]


@pytest.mark.slow
def test_an_adapter_folder_without_adapter_config_is_one_line(tmp_path, data_cache):
    empty = tmp_path / "adapter"
    empty.mkdir()
    result = run_cli("evaluate", *tiny(tmp_path / "run", data_cache), f"model.adapter={empty}")
    assert error_lines(result) == [f"error: model.adapter: {empty} holds no adapter_config.json (peft layout)"]


@pytest.mark.slow
def test_an_adapter_made_for_another_backbone_is_refused_clearly(tmp_path, data_cache):
    cfg = OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")
    backbone = build_backbone(model_settings(cfg))
    add_lora(backbone, lora_settings(cfg.lora))
    adapter = tmp_path / "llava-adapter"
    backbone.model.save_pretrained(str(adapter))

    result = run_cli("evaluate", *tiny(tmp_path / "run", data_cache), "model=tiny_qwen2_vl", f"model.adapter={adapter}")
    lines = error_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith(f"error: model.adapter: {adapter} does not fit this qwen2_vl backbone")


@pytest.mark.slow
def test_a_nan_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path, data_cache):
    run = tmp_path / "run"
    # lr 1e30: the first step is finite, the weights it leaves are not usable
    result = run_cli(
        "fit", "+method=sft", *tiny(run, data_cache), "method.batch_size=2", "method.lr=1e30", "evaluate_before=false"
    )
    lines = error_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith("error: step 1: loss is nan;"), lines[0]
    assert "last good checkpoint is kept" in lines[0]
    saved = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert saved["global_step"] == 1
    assert all(torch.isfinite(v).all() for v in saved["state_dict"].values())
    assert not (run / "adapter").exists() and not (run / "metrics.json").exists()
