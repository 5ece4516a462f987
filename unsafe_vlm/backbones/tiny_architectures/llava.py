"""A tiny random LLaVA (``model=tiny``): a small Llama language model and a small CLIP vision
tower, with a tokenizer trained offline on the suite's vocabulary and the LLaVA-1.5 chat template."""

from __future__ import annotations

from dataclasses import dataclass

from transformers import (
    CLIPImageProcessorPil,
    CLIPVisionConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
)

from unsafe_vlm.backbones.llava import LLAVA_15_CHAT_TEMPLATE
from unsafe_vlm.backbones.tiny import (
    TinyVLMSizes,
    llama_style_tokenizer,
    seeded_model,
    tiny_llama_config,
    vision_tower_sizes,
)


@dataclass(frozen=True)
class Sizes(TinyVLMSizes):
    """``model.tiny`` of a LLaVA (conf/model/tiny.yaml): a Llama text model and a CLIP vision tower."""


def build(sizes: Sizes) -> tuple[LlavaForConditionalGeneration, LlavaProcessor]:
    tokenizer = llama_style_tokenizer(sizes.vocab_size, chat_template=LLAVA_15_CHAT_TEMPLATE)
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": sizes.image_size},
        crop_size={"height": sizes.image_size, "width": sizes.image_size},
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=sizes.patch_size,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=LLAVA_15_CHAT_TEMPLATE,
        image_token="<image>",
    )
    text_config = tiny_llama_config(tokenizer, sizes)
    vision_config = CLIPVisionConfig(**vision_tower_sizes(sizes))
    config = LlavaConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
        pad_token_id=tokenizer.pad_token_id,
    )
    model = seeded_model(LlavaForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer)
    return model, processor
