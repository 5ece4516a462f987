"""Two DDP processes keep one model: after several updates on different records, every trainable
tensor (LoRA, and PPO's value adapter and head) is bit for bit the same on both ranks.

SFT and DPO rely on Lightning's DDP to average gradients; PPO and GRPO average them themselves
(``OnPolicyModule._backward``), so this is the test of that code. The processes run tests/helpers/ddp_ranks.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).parents[1] / "helpers" / "ddp_ranks.py"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The output folder of one 2-process run per method, run once for the module's tests."""
    outs: dict[str, Path] = {}

    def run(method: str) -> Path:
        if method not in outs:
            out = tmp_path_factory.mktemp(f"ddp-{method}")
            result = subprocess.run(
                [sys.executable, str(SCRIPT), method, str(out)],
                capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"},
            )  # fmt: skip
            assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-4000:]
            assert "GLOBAL_RANK: 1, MEMBER: 2/2" in result.stderr  # a second process really ran
            outs[method] = out
        return outs[method]

    return run


def trainable(out: Path, rank: int, when: str) -> dict[str, torch.Tensor]:
    return torch.load(out / f"rank{rank}.{when}.pt", map_location="cpu")


@pytest.mark.slow
@pytest.mark.parametrize("method", ["sft", "dpo", "ppo", "grpo"])
def test_both_ranks_hold_the_same_trained_weights(method, trained):
    out = trained(method)
    start, end, other_end = trainable(out, 0, "start"), trainable(out, 0, "end"), trainable(out, 1, "end")
    assert start and end.keys() == other_end.keys() == start.keys()
    if method == "ppo":
        assert {"value_head.weight", "value_head.bias"} <= end.keys()
        assert any(".value." in name for name in end)  # the value adapter's LoRA
    if method == "grpo":
        assert not any("value" in name for name in end)  # no value model
    unequal = [name for name in end if not torch.equal(end[name], other_end[name])]
    assert not unequal, f"{len(unequal)} of {len(end)} tensors differ between ranks, e.g. {unequal[:3]}"
    unchanged = [name for name in end if torch.equal(end[name], start[name])]
    assert not unchanged, f"{len(unchanged)} of {len(end)} tensors never trained, e.g. {unchanged[:3]}"


@pytest.mark.slow
def test_ppo_steps_on_the_mean_of_the_ranks_gradients(trained):
    out = trained("ppo")
    first, second = (torch.load(out / f"rank{r}.grads.pt", map_location="cpu") for r in (0, 1))
    assert first["local"].keys() == second["local"].keys() == first["averaged"].keys()
    assert any(not torch.equal(first["local"][n], second["local"][n]) for n in first["local"])  # other records
    for name, local in first["local"].items():
        mean = (local + second["local"][name]) / 2
        torch.testing.assert_close(first["averaged"][name], mean, msg=name)
        assert torch.equal(first["averaged"][name], second["averaged"][name]), name
