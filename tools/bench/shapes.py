"""7B-shaped VLMs with random weights, built on the device from their configs (nothing downloaded).

The processor and tokenizer are the tiny instance's (a small vocabulary trained offline), at the
real image size, so a prompt has the real number of image tokens; the model has the real
vocabulary, whose ids past the tokenizer's decode to nothing. The shapes are those of
``bench.memory_model`` (which cites each config).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from bench.memory_model import LLAVA15_7B, QWEN25_VL_7B


def tiny_sizes(family, config: str, **changes):
    """The family's typed tiny sizes of ``conf/model/<config>.yaml`` with ``changes`` (the processors of the
    7B-shaped models come from these small models)."""
    import yaml

    from unsafe_vlm.paths import CONF_DIR

    node = yaml.safe_load((CONF_DIR / "model" / f"{config}.yaml").read_text(encoding="utf-8"))["tiny"]
    return family.tiny_settings.from_config({**node, **changes}, "model.tiny")


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def on_device(model_class, config, device: str, dtype: torch.dtype):
    """The model built straight on the device in ``dtype`` (a 7B model initialises in seconds on a GPU)."""
    with torch.device(device), default_dtype(dtype):
        model = model_class(config)
    return model.eval()


def llava_7b_shaped(device: str, dtype: torch.dtype):
    """LLaVA-1.5-7B's shapes: Llama-2-7B text model, CLIP ViT-L/14-336 (576 image tokens)."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    from unsafe_vlm.backbones.llava import LlavaBackbone

    small = LlavaBackbone.build_tiny(tiny_sizes(LlavaBackbone, "tiny", image_size=336, patch_size=14))
    shape, tokenizer = LLAVA15_7B.text, small.tokenizer
    text = LlamaConfig(
        vocab_size=shape.vocab, hidden_size=shape.hidden, intermediate_size=shape.intermediate,
        num_hidden_layers=shape.layers, num_attention_heads=shape.heads, num_key_value_heads=shape.kv_heads,
        max_position_embeddings=4096, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    vision = CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                              image_size=336, patch_size=14, projection_dim=768)
    config = LlavaConfig(text_config=text, vision_config=vision, image_token_id=small.model.config.image_token_id,
                         vision_feature_layer=-2, vision_feature_select_strategy="default",
                         pad_token_id=tokenizer.pad_token_id)
    model = on_device(LlavaForConditionalGeneration, config, device, dtype)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return LlavaBackbone(model, small.processor, blank_image_size=336)


def qwen25_vl_7b_shaped(device: str, dtype: torch.dtype):
    """Qwen2.5-VL-7B's shapes: Qwen2.5-7B text model (GQA, 3-D rotary), windowed ViT; a 336-pixel
    image is 144 tokens."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from unsafe_vlm.backbones.qwen2_vl import Qwen2VLBackbone

    side = 336 * 336
    small = Qwen2VLBackbone.build_tiny(tiny_sizes(Qwen2VLBackbone, "tiny_qwen2_5_vl", min_pixels=side, max_pixels=side))
    shape, tiny_config = QWEN25_VL_7B.text, small.model.config
    text = {
        "vocab_size": shape.vocab, "hidden_size": shape.hidden, "intermediate_size": shape.intermediate,
        "num_hidden_layers": shape.layers, "num_attention_heads": shape.heads, "num_key_value_heads": shape.kv_heads,
        "max_position_embeddings": 128000,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
        "pad_token_id": small.tokenizer.pad_token_id, "eos_token_id": small.tokenizer.eos_token_id,
        "bos_token_id": None,
    }
    vision = {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16, "patch_size": 14,
              "spatial_merge_size": 2, "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31],
              "out_hidden_size": shape.hidden}
    config = Qwen2_5_VLConfig(
        text_config=text, vision_config=vision, image_token_id=tiny_config.image_token_id,
        video_token_id=tiny_config.video_token_id, vision_start_token_id=tiny_config.vision_start_token_id,
        vision_end_token_id=tiny_config.vision_end_token_id,
    )
    model = on_device(Qwen2_5_VLForConditionalGeneration, config, device, dtype)
    model.generation_config.pad_token_id = small.tokenizer.pad_token_id
    model.generation_config.eos_token_id = small.model.generation_config.eos_token_id
    return Qwen2VLBackbone(model, small.processor, blank_image_size=336)


SHAPED = {"LLaVA-1.5-7B": llava_7b_shaped, "Qwen2.5-VL-7B": qwen25_vl_7b_shaped}
TINY = {"LLaVA-1.5-7B": "tiny", "Qwen2.5-VL-7B": "tiny_qwen2_5_vl"}  # the conf/model stand-ins with --tiny
