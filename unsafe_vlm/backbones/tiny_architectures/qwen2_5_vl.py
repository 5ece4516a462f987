"""A tiny random Qwen2.5-VL (``model=tiny_qwen2_5_vl``): Qwen2-VL's text model, tokenizer and
template (``qwen2_vl.py``) with Qwen2.5-VL's windowed ViT."""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedModel, Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

from unsafe_vlm.backbones.qwen2_vl import Qwen2VLImageTextProcessor
from unsafe_vlm.backbones.tiny_architectures import qwen2_vl


@dataclass(frozen=True)
class Sizes(qwen2_vl.Sizes):
    """``model.tiny`` of a Qwen2.5-VL (conf/model/tiny_qwen2_5_vl.yaml): the keys of a Qwen2-VL."""


def build(sizes: Sizes) -> tuple[PreTrainedModel, Qwen2VLImageTextProcessor]:
    hidden, layers = sizes.vision_hidden_size, sizes.vision_layers
    # Qwen2.5-VL attends inside windows except in the listed blocks; keep the last one global.
    vision = {
        "depth": layers,
        "num_heads": sizes.vision_heads,
        "patch_size": sizes.patch_size,
        "spatial_merge_size": 2,
        "hidden_size": hidden,
        "intermediate_size": hidden * 2,
        "window_size": 4 * sizes.patch_size,
        "fullatt_block_indexes": [layers - 1],
        "out_hidden_size": sizes.hidden_size,
    }
    return qwen2_vl.build_qwen(sizes, Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, vision)
