"""model.gradient_checkpointing: the same loss and LoRA gradients, with each layer run again in the backward."""

import pytest
import torch
from omegaconf import OmegaConf

from unsafe_vlm.backbones.lora import add_lora
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.paths import CONF_DIR


def lora_step(checkpointing: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor], int]:
    """One training-mode pass of the tiny model with fresh LoRA adapters: the answer loss, the
    adapters' gradients, and how many times the first decoder layer's MLP started."""
    cfg = OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")
    cfg.gradient_checkpointing = checkpointing
    backbone = build_backbone(model_settings(cfg))
    torch.manual_seed(0)
    add_lora(backbone, cfg.lora)
    for name, param in backbone.model.named_parameters():
        if "lora_B" in name:  # peft starts B at zero, which would leave A's gradient zero too
            torch.nn.init.normal_(param, std=0.1)
    mlp = next(m for name, m in backbone.model.named_modules() if name.endswith("language_model.layers.0.mlp"))
    calls = []
    # a pre-hook: the recomputation stops as soon as it has what the backward needs, before the MLP returns
    mlp.register_forward_pre_hook(lambda *_: calls.append(1))
    inputs = backbone.encode(["What is shown?", "Is it safe?"], [None, None], ["A cat.", "No, it is not."])
    backbone.train()
    torch.manual_seed(1)  # the same LoRA dropout masks in both runs
    outputs = backbone(inputs)
    loss = -(outputs.token_logprobs() * outputs.mask).sum() / outputs.mask.sum()
    loss.backward()
    grads = {n: p.grad.clone() for n, p in backbone.model.named_parameters() if p.requires_grad}
    return loss.detach(), grads, len(calls)


def test_checkpointing_gives_the_same_loss_and_gradients_and_reruns_each_layer_in_the_backward():
    loss_off, grads_off, calls_off = lora_step(checkpointing=False)
    loss_on, grads_on, calls_on = lora_step(checkpointing=True)
    assert calls_off == 1 and calls_on == 2
    assert torch.allclose(loss_on, loss_off, rtol=1e-5, atol=1e-6)
    assert grads_on.keys() == grads_off.keys() and len(grads_on) > 0
    for name, grad in grads_off.items():
        assert grad.abs().sum() > 0, name
        assert torch.allclose(grads_on[name], grad, rtol=1e-4, atol=1e-6), name


def test_checkpointing_leaves_evaluation_passes_alone():
    cfg = OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")
    cfg.gradient_checkpointing = True
    backbone = build_backbone(model_settings(cfg)).eval()
    inputs = backbone.encode(["What is shown?"], [None])
    with torch.no_grad():
        generation = backbone.generate(inputs, max_new_tokens=4)
    assert generation.lengths.item() >= 1


@pytest.mark.parametrize("value", ["yes please", 3])
def test_a_gradient_checkpointing_that_is_not_a_boolean_is_refused(value):
    from unsafe_vlm.backbones.registry import model_settings
    from unsafe_vlm.settings import SettingsError

    cfg = OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")
    cfg.gradient_checkpointing = value
    with pytest.raises(SettingsError, match="gradient_checkpointing"):
        model_settings(cfg)
