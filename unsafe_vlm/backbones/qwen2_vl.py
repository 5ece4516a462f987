"""Qwen2-VL and Qwen2.5-VL in the transformers format (Qwen/Qwen2-VL-7B-Instruct, Qwen/Qwen2.5-VL-7B-Instruct).

Both speak ChatML and share a processor: an image becomes ``<|vision_start|>``, one
``<|image_pad|>`` per merged patch, ``<|vision_end|>``, and the language model places those
tokens with 3-D (time, height, width) rotary positions.

The tiny instances (``model=tiny_qwen2_vl``, ``model=tiny_qwen2_5_vl``) are the same
architectures at toy sizes, with a tokenizer trained offline on the suite's vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from transformers import (
    ProcessorMixin,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
    Qwen2VLImageProcessorPil,
    Qwen2VLProcessor,
)

from unsafe_vlm.backbones.base import ModelInputs, VLMBackbone
from unsafe_vlm.backbones.tiny import seeded_model
from unsafe_vlm.backbones.tokenizer import train_byte_bpe
from unsafe_vlm.backbones.vocabulary import suite_corpus
from unsafe_vlm.settings import Settings, limit

# The ChatML layout the Qwen2-VL instruct models were trained on, written for this suite:
# "<|im_start|>system\n...<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>
# {question}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>\n". The processor expands the
# single <|image_pad|> into one per merged patch.
QWEN2_VL_CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] != 'system' -%}"
    "{{- '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' -}}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif part['type'] == 'video' -%}{{- '<|vision_start|><|video_pad|><|vision_end|>' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{- '<|im_end|>\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}"
)

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

_ARCHITECTURES = {
    "qwen2_vl": (Qwen2VLConfig, Qwen2VLForConditionalGeneration),
    "qwen2_5_vl": (Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration),
}


class Qwen2VLImageTextProcessor(Qwen2VLProcessor):
    """Qwen2-VL's processor without its video half, for Qwen2-VL and Qwen2.5-VL alike.

    The suite shows images only, and transformers' video processor (which the stock processor
    insists on) needs torchvision; images and text are processed exactly as the stock one does.
    """

    def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: str | None = None, **_: Any):
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)


@dataclass(frozen=True)
class Qwen2VLTiny(Settings):
    """``model.tiny`` of a Qwen2-VL or Qwen2.5-VL (conf/model/tiny_qwen2_vl.yaml, tiny_qwen2_5_vl.yaml)."""

    seed: int  # draws the random weights
    architecture: Literal["qwen2_vl", "qwen2_5_vl"]
    vocab_size: int = limit(ge=1)
    hidden_size: int = limit(ge=1)
    num_layers: int = limit(ge=1)
    num_heads: int = limit(ge=1)
    num_kv_heads: int = limit(ge=1)
    vision_hidden_size: int = limit(ge=1)
    vision_layers: int = limit(ge=1)
    vision_heads: int = limit(ge=1)
    patch_size: int = limit(ge=1)
    min_pixels: int = limit(ge=1)  # images are resized to sides that are multiples of 2 * patch_size,
    max_pixels: int = limit(ge=1)  # with an area between min_pixels and max_pixels


class Qwen2VLBackbone(VLMBackbone):
    family: ClassVar[str] = "qwen2_vl"
    end_of_turn: ClassVar[str] = "<|im_end|>"
    answer_prefix: ClassVar[str] = ""  # the generation prompt already ends with "assistant\n"
    # Only the language model: the vision tower's blocks (attn.qkv, mlp.fc1, and in 2.5 also
    # mlp.gate_proj/up_proj/down_proj) live under model.visual and must not match.
    lora_target_modules: ClassVar[str] = (
        r".*language_model\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|o_proj)|mlp\.(gate_proj|up_proj|down_proj))"
    )
    default_chat_template: ClassVar[str] = QWEN2_VL_CHAT_TEMPLATE
    tiny_settings: ClassVar[type[Settings]] = Qwen2VLTiny

    @classmethod
    def load_processor(cls, path: str, **options: Any) -> Qwen2VLImageTextProcessor:
        """The image-and-text processor: the stock one needs torchvision for its video part."""
        return Qwen2VLImageTextProcessor.from_pretrained(path, **options)

    def model_kwargs(self, inputs: ModelInputs) -> dict[str, Any]:
        """The 3-D rotary positions need each token's modality (``mm_token_type_ids``: 0 text,
        1 image, 2 video). The processor gives it over the prompt columns only, so it is read
        off the token ids instead, which also covers the answer columns appended after them."""
        kwargs = super().model_kwargs(inputs)
        input_ids = kwargs["input_ids"]
        config = self.model.config
        token_types = torch.zeros_like(input_ids)
        token_types[input_ids == config.image_token_id] = 1
        token_types[input_ids == config.video_token_id] = 2
        kwargs["mm_token_type_ids"] = token_types
        return kwargs

    def select_rows(self, inputs: ModelInputs, rows: torch.Tensor) -> ModelInputs:
        """Qwen2-VL packs every image's patches into one (sum of patches, D) tensor; pick by image."""
        selected = super().select_rows({k: v for k, v in inputs.items() if k != "pixel_values"}, rows)
        if "pixel_values" in inputs:
            patches_per_image = inputs["image_grid_thw"].prod(dim=-1).tolist()
            chunks = torch.split(inputs["pixel_values"], patches_per_image, dim=0)
            selected["pixel_values"] = torch.cat([chunks[i] for i in rows.tolist()], dim=0)
        return selected

    def _stop_token_ids(self) -> list[int]:
        # The instruct checkpoints stop on <|im_end|> and also on <|endoftext|>.
        ids = set(super()._stop_token_ids())
        end_of_text = self.tokenizer.convert_tokens_to_ids("<|endoftext|>")
        if isinstance(end_of_text, int) and end_of_text != self.tokenizer.unk_token_id:
            ids.add(end_of_text)
        return sorted(ids)

    @classmethod
    def build_tiny(cls, sizes: Qwen2VLTiny) -> Qwen2VLBackbone:
        config_class, model_class = _ARCHITECTURES[sizes.architecture]
        tokenizer = train_byte_bpe(
            suite_corpus(),
            special_tokens=SPECIAL_TOKENS,
            vocab_size=sizes.vocab_size,
            pad_token="<|endoftext|>",
            eos_token="<|im_end|>",
            extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"},
            chat_template=QWEN2_VL_CHAT_TEMPLATE,
        )
        image_processor = Qwen2VLImageProcessorPil(
            min_pixels=sizes.min_pixels,
            max_pixels=sizes.max_pixels,
            patch_size=sizes.patch_size,
            merge_size=2,
            temporal_patch_size=2,
        )
        processor = Qwen2VLImageTextProcessor(image_processor, tokenizer, chat_template=QWEN2_VL_CHAT_TEMPLATE)
        head_dim = sizes.hidden_size // sizes.num_heads
        text_config = {
            "vocab_size": len(tokenizer),
            "hidden_size": sizes.hidden_size,
            "intermediate_size": sizes.hidden_size * 2,
            "num_hidden_layers": sizes.num_layers,
            "num_attention_heads": sizes.num_heads,
            "num_key_value_heads": sizes.num_kv_heads,
            "max_position_embeddings": 1024,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": _mrope(head_dim)},
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "bos_token_id": None,
        }
        vision_config = _vision_config(sizes)
        vision_config["out_hidden_size" if sizes.architecture == "qwen2_5_vl" else "hidden_size"] = sizes.hidden_size
        ids = tokenizer.convert_tokens_to_ids
        config = config_class(
            text_config=text_config,
            vision_config=vision_config,
            image_token_id=ids("<|image_pad|>"),
            video_token_id=ids("<|video_pad|>"),
            vision_start_token_id=ids("<|vision_start|>"),
            vision_end_token_id=ids("<|vision_end|>"),
        )
        model = seeded_model(model_class, config, seed=sizes.seed, tokenizer=tokenizer)
        model.generation_config.eos_token_id = [tokenizer.eos_token_id, tokenizer.pad_token_id]
        # the smallest square image the processor keeps at its size
        return cls(model, processor, blank_image_size=math.isqrt(sizes.min_pixels))


def _mrope(head_dim: int) -> list[int]:
    """Split the head's rotary frequencies (head_dim / 2) over time, height and width the way
    the real models do (16, 24, 24 of 64): a quarter to time, the rest shared by the other two."""
    half = head_dim // 2
    time = half // 4
    height = (half - time) // 2
    return [time, height, half - time - height]


def _vision_config(sizes: Qwen2VLTiny) -> dict[str, Any]:
    hidden, layers, patch_size = sizes.vision_hidden_size, sizes.vision_layers, sizes.patch_size
    common = {"depth": layers, "num_heads": sizes.vision_heads, "patch_size": patch_size, "spatial_merge_size": 2}
    if sizes.architecture == "qwen2_vl":
        return {**common, "embed_dim": hidden, "mlp_ratio": 2}
    # Qwen2.5-VL attends inside windows except in the listed blocks; keep the last one global.
    return {
        **common,
        "hidden_size": hidden,
        "intermediate_size": hidden * 2,
        "window_size": 4 * patch_size,
        "fullatt_block_indexes": [layers - 1],
    }
