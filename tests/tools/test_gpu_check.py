"""tools/gpu_check.py: its CPU run on the tiny stand-ins, and the 7B shapes it builds on a GPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.memory_model import LLAVA15_7B, QWEN25_VL_7B

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a 7B model built on the meta device: tens of seconds on a loaded CPU
@pytest.mark.parametrize(("name", "shape"), [("LLaVA-1.5-7B", LLAVA15_7B), ("Qwen2.5-VL-7B", QWEN25_VL_7B)])
def test_the_7b_shaped_models_have_the_parameters_the_memory_estimate_counts(name, shape):
    from bench.shapes import SHAPED

    backbone = SHAPED[name]("meta", torch.bfloat16)  # shapes only: no memory, no initialisation work
    assert sum(p.numel() for p in backbone.model.parameters()) == shape.parameters()
    assert all(p.dtype == torch.bfloat16 for p in backbone.model.parameters())
    inputs = backbone.encode(["What is shown?"], [None])
    assert (inputs["input_ids"] == backbone.model.config.image_token_id).sum() == shape.image_tokens


@pytest.mark.slow
def test_the_tiny_gpu_check_runs_every_check_on_a_cpu_and_skips_fsdp_and_deepspeed(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "tools/gpu_check.py", "--tiny", "--device", "cpu", "--out", str(tmp_path / "check.md")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    table = (tmp_path / "check.md").read_text()
    assert table.startswith("## CPU")
    for check in ("evaluation, batch 4", "decode, batch 1", "decode, batch 4", "GRPO: 1 prompts x 4",
                  "PPO, separate value adapter, checkpointing: 4 prompts"):
        assert check in table, check
    assert table.count("(tiny stand-in)") >= 8  # both models' evaluation and decoding, GRPO and PPO
    assert "fsdp: skipped, no GPU here" in table and "deepspeed: skipped, no GPU here" in table
    assert "FAILED" not in table
