"""Peak GPU memory of SFT, DPO, PPO (each value adapter) and GRPO for a 7B VLM, from its shapes.

Computed, not measured: ``tools/bench/memory_model.py`` says what the formula counts (weights,
LoRA with its gradients and AdamW states, activations, the KV cache while generating, logits).
The paper's sizes: LoRA r 128 on the language model, rollout 32, minibatch 8, batch 8, 64 new
tokens; bf16 weights, bf16-mixed training. ``tools/gpu_check.py`` measures PPO and GRPO on a GPU.

    python tools/memory_estimate.py                       # LLaVA-1.5-7B
    python tools/memory_estimate.py --model qwen2_5_vl_7b --capacity 80
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.memory_model import GIB, MODELS, PAPER, Sizes, estimates, fits, gib  # noqa: E402
from bench.table import markdown_table  # noqa: E402

COLUMNS = ["set-up", "weights", "LoRA + grads + AdamW", "peak phase", "peak", "fits", "peak, checkpointing",
           "peak phase, checkpointing", "fits, checkpointing"]


def table(model_name: str, capacity_gib: float, sizes: Sizes = PAPER) -> str:
    """The Markdown table, in GiB, for one model of ``MODELS``."""
    model = MODELS[model_name]
    rows = []
    for plain, checkpointed in estimates(model, sizes):
        rows.append([plain.setup, gib(plain.weights), gib(plain.adapters), plain.peak_phase, gib(plain.peak),
                     fits(plain.peak, capacity_gib), gib(checkpointed.peak), checkpointed.peak_phase,
                     fits(checkpointed.peak, capacity_gib)])
    columns = [c if c in ("set-up", "peak phase", "peak phase, checkpointing") or c.startswith("fits")
               else f"{c} (GiB)" for c in COLUMNS]
    numeric = [c.endswith("(GiB)") for c in columns]
    return markdown_table(columns, rows, numeric=numeric)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="llava15_7b")
    parser.add_argument("--capacity", type=float, default=80 * 1e9 / GIB,
                        help="GPU memory in GiB for the 'fits' columns (default: 80 GB)")
    args = parser.parse_args()
    model, sizes = MODELS[args.model], PAPER
    print(f"{model.name} ({model.source}): {model.parameters() / 1e9:.2f}B parameters, "
          f"{model.text.lora_parameters(sizes.lora_rank) / 1e6:.1f}M LoRA parameters at r {sizes.lora_rank}; "
          f"prompt {model.prompt_tokens} tokens ({model.image_tokens} image), {sizes.answer_tokens} new tokens; "
          f"rollout {sizes.rollout}, minibatch {sizes.minibatch}, batch {sizes.batch}; bf16; "
          f"'fits': under {args.capacity:.1f} GiB")
    print(table(args.model, args.capacity, sizes))


if __name__ == "__main__":
    main()
