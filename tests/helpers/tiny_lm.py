"""A tiny random causal language model (Llama) with an offline tokenizer, saved as a Hugging Face folder."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from unsafe_vlm.backbones.tokenizer import train_byte_bpe

CORPUS = ["Safe", "Unsafe", "N/A", "Yes", "No", "A", "B", "C", "D", "Verdict:", "Its answer:", "the image is safe"]


def save_tiny_lm(folder: Path, *, seed: int = 0) -> Path:
    tokenizer = train_byte_bpe(CORPUS, special_tokens=["<pad>", "</s>", "<s>"], vocab_size=320,
                               pad_token="<pad>", eos_token="</s>", bos_token="<s>")  # fmt: skip
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(folder)  # safetensors
    tokenizer.save_pretrained(folder)
    return folder
