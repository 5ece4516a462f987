"""Images encoded once (``encode_images``) give every later pass the outputs that pixels give, on every
tiny family; where adapters could change image features, or the architecture's features cannot be
handed back row by row, the pixels stay."""

from __future__ import annotations

import pytest
import torch
from helpers.method_settings import lora_settings
from omegaconf import OmegaConf
from PIL import Image

from unsafe_vlm.backbones.lora import add_lora
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.paths import CONF_DIR

TINY_CONFIGS = sorted(p.stem for p in (CONF_DIR / "model").glob("tiny*.yaml"))
QUESTIONS = ["Is this image safe?", "Is this image harmful to post online?", "Would you share it?"]
ANSWERS = ["No, it is unsafe.", "Yes.", "No."]


def images() -> list[Image.Image | None]:
    return [Image.new("RGB", (32, 32), (200, 30, 30)), None, Image.new("RGB", (32, 32), (20, 90, 200))]


def adapted_backbone(name: str, **lora_changes):
    """A tiny backbone with LoRA adapters that change its outputs (random B matrices)."""
    cfg = OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml")
    torch.manual_seed(0)
    backbone = build_backbone(model_settings(cfg)).eval()
    add_lora(backbone, lora_settings(OmegaConf.merge(cfg.lora, lora_changes)))
    with torch.no_grad():
        for param_name, param in backbone.model.named_parameters():
            if "lora_B" in param_name:
                param.normal_(0.0, 0.5)
    return backbone.eval()  # new LoRA dropout layers start in training mode


# Architectures whose image features cannot be handed back row by row: the pixels stay.
PIXELS_STAY = {
    "tiny_llava_next": "anyres: an image's feature count depends on its size (the blank image is smaller)",
    "tiny_llava_onevision": "anyres, as LLaVA-NeXT",
    "tiny_mistral3": "each image at its own size, so rows have different feature counts",
    "tiny_mllama": "cross-attention to the tiles: no mm_encoder_outputs",
    "tiny_qwen3_vl": "the language model also reads the tower's middle layers (deepstack)",
}


@pytest.mark.parametrize("name", sorted(PIXELS_STAY))
def test_where_features_cannot_be_handed_back_by_row_the_pixels_stay(name):
    backbone = adapted_backbone(name)
    inputs = backbone.encode(QUESTIONS, images(), ANSWERS)
    assert backbone.encode_images(inputs) is inputs


@pytest.mark.parametrize("name", sorted(set(TINY_CONFIGS) - set(PIXELS_STAY)))
def test_encoded_images_give_the_outputs_of_pixels_for_policy_reference_and_row_subsets(name):
    backbone = adapted_backbone(name)
    inputs = backbone.encode(QUESTIONS, images(), ANSWERS)
    encoded = backbone.encode_images(inputs)
    assert "pixel_values" not in encoded and encoded["image_features"].shape[0] == len(QUESTIONS)
    rows = torch.tensor([2, 0])
    with torch.no_grad():
        for context in (torch.enable_grad, backbone.reference):
            with context():
                from_pixels, from_features = backbone(inputs, hidden=True), backbone(encoded, hidden=True)
                torch.testing.assert_close(from_features.logits, from_pixels.logits)
                torch.testing.assert_close(from_features.hidden, from_pixels.hidden)
                subset = backbone(backbone.select_rows(encoded, rows))
                torch.testing.assert_close(subset.logits, from_pixels.logits[rows])


def test_the_vision_tower_runs_once_for_several_passes():
    backbone = adapted_backbone("tiny")
    calls = []
    backbone.model.get_base_model().model.vision_tower.register_forward_hook(lambda *_: calls.append(1))
    encoded = backbone.encode_images(backbone.encode(QUESTIONS, images(), ANSWERS))
    with torch.no_grad():
        backbone(encoded)
        with backbone.reference():
            backbone(encoded)
        backbone(backbone.select_rows(encoded, torch.tensor([1])))
    assert len(calls) == 1


def test_images_are_encoded_in_every_pass_when_lora_reaches_the_vision_tower():
    backbone = adapted_backbone("tiny", target_modules=r".*\.(q_proj|v_proj)")  # CLIP's attention too
    assert any("vision_tower" in n and "lora_A" in n for n, _ in backbone.model.named_parameters())
    inputs = backbone.encode(QUESTIONS, images(), ANSWERS)
    assert not backbone.reuses_image_features()
    assert backbone.encode_images(inputs) is inputs


def test_images_are_encoded_in_every_pass_when_the_projector_trains():
    backbone = adapted_backbone("tiny")
    for param in backbone.model.get_base_model().model.multi_modal_projector.parameters():
        param.requires_grad_(True)
    assert not backbone.reuses_image_features()


def test_a_pass_for_hidden_states_alone_skips_the_logits():
    backbone = adapted_backbone("tiny")
    inputs = backbone.encode(QUESTIONS, images(), ANSWERS)
    with torch.no_grad():
        full, hidden_only = backbone(inputs, hidden=True), backbone(inputs, hidden=True, logits=False)
    assert hidden_only.logits is None
    torch.testing.assert_close(hidden_only.hidden, full.hidden)
