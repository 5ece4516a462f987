"""A tiny random InstructBLIP (``model=tiny_instructblip``): a ViT, a Q-Former with a WordPiece
tokenizer reading the instruction, and a small Llama that sees the projected queries in place of
as many ``<image>`` tokens; both tokenizers trained offline. No chat template: the family
(``backbones/instructblip.py``) prompts with the plain question, as the model card does."""

from __future__ import annotations

from dataclasses import dataclass

from tokenizers import processors
from transformers import (
    BlipImageProcessorPil,
    InstructBlipConfig,
    InstructBlipForConditionalGeneration,
    InstructBlipProcessor,
    InstructBlipQFormerConfig,
    InstructBlipVisionConfig,
)

from unsafe_vlm.backbones.tiny import (
    TinyVLMSizes,
    llama_style_tokenizer,
    seeded_model,
    tiny_llama_config,
    vision_tower_sizes,
)
from unsafe_vlm.backbones.tokenizer import train_wordpiece
from unsafe_vlm.backbones.vocabulary import suite_corpus
from unsafe_vlm.settings import limit


@dataclass(frozen=True)
class Sizes(TinyVLMSizes):
    """``model.tiny`` of an InstructBLIP (conf/model/tiny_instructblip.yaml): ViT, Q-Former, Llama text model."""

    qformer_vocab_size: int = limit(ge=1)  # the Q-Former's own WordPiece tokenizer
    qformer_hidden_size: int = limit(ge=1)
    qformer_layers: int = limit(ge=1)
    qformer_heads: int = limit(ge=1)
    num_query_tokens: int = limit(ge=1)  # image tokens the language model sees


def build(sizes: Sizes) -> tuple[InstructBlipForConditionalGeneration, InstructBlipProcessor]:
    tokenizer = llama_style_tokenizer(sizes.vocab_size)
    # Vicuna's tokenizer starts every text with <s>
    bos = (tokenizer.bos_token, tokenizer.bos_token_id)
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[bos]
    )
    qformer_tokenizer = train_wordpiece(suite_corpus(), vocab_size=sizes.qformer_vocab_size)
    processor = InstructBlipProcessor(
        image_processor=BlipImageProcessorPil(size={"height": sizes.image_size, "width": sizes.image_size}),
        tokenizer=tokenizer,
        qformer_tokenizer=qformer_tokenizer,
        num_query_tokens=sizes.num_query_tokens,
    )
    vision_config = InstructBlipVisionConfig(**vision_tower_sizes(sizes))
    qformer_config = InstructBlipQFormerConfig(
        vocab_size=len(qformer_tokenizer),
        hidden_size=sizes.qformer_hidden_size,
        num_hidden_layers=sizes.qformer_layers,
        num_attention_heads=sizes.qformer_heads,
        intermediate_size=sizes.qformer_hidden_size * 2,
        pad_token_id=qformer_tokenizer.pad_token_id,
    )
    text_config = tiny_llama_config(tokenizer, sizes)
    config = InstructBlipConfig(
        vision_config=vision_config,
        qformer_config=qformer_config,
        text_config=text_config,
        num_query_tokens=sizes.num_query_tokens,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
    )
    model = seeded_model(InstructBlipForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer)
    return model, processor
