"""What every alignment method shares: the check that stops training on a NaN or infinite statistic."""

from __future__ import annotations

import pytest
import torch
from helpers.method_settings import lora_settings, settings_for
from omegaconf import OmegaConf

from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.methods.base import NonFiniteLossError
from unsafe_vlm.methods.sft import SFTModule
from unsafe_vlm.paths import CONF_DIR


@pytest.fixture(scope="module")
def module() -> SFTModule:
    cfg = OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")
    backbone = build_backbone(model_settings(cfg))
    return SFTModule(backbone, settings_for("sft", lr=1e-3, warmup_ratio=0.0), lora_settings(cfg.lora))


def test_finite_statistics_pass(module):
    module.check_finite(loss=torch.tensor(0.5), values=torch.ones(3, requires_grad=True))


def test_the_first_non_finite_statistic_is_named(module):
    with pytest.raises(NonFiniteLossError, match="value_loss is inf"):
        module.check_finite(loss=torch.tensor(0.5), value_loss=torch.tensor(float("inf")),
                            policy_loss=torch.tensor(float("nan")))
    with pytest.raises(NonFiniteLossError, match="step 0: loss is nan"):
        module.check_finite(loss=torch.tensor([1.0, float("nan")]))
