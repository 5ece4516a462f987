"""Peak GPU memory of each training set-up, computed from a model's shapes (no GPU, no weights).

What it counts, in bytes (bf16 = 2, fp32 = 4):

    weights      every parameter in bf16 (the model's ``dtype``); the vision tower and projector too
    adapters     the LoRA parameters on the language model's seven linear layers, fp32 (peft keeps
                 adapters in fp32), each with an fp32 gradient and AdamW's two fp32 moments: 16 bytes
                 each; plus autocast's bf16 copy of them during a pass with gradients (bf16-mixed)
    activations  what a pass with gradients keeps for the backward, per token and layer
                 (``layer_activation_bytes``); with activation checkpointing only each layer's input
                 is kept, plus one layer's full set while it is recomputed
    logits       the answer span's logits (bf16), their float copy, the log-softmax the backward
                 needs and, for PPO and GRPO, the entropy's probabilities and product
    KV cache     keys and values of every layer for prompt + new tokens of every rollout row, during
                 generation; plus the prefill's working set (one layer at a time) and the last
                 position's float logits
    rollout      the passes without gradients over the whole rollout: one layer's working set at a
                 time and the answer span's float log-probabilities

A set-up's peak is the largest phase (generation, rollout passes, update) on top of what stays
(weights, adapters and their optimiser states). Not counted: the CUDA context and the caching
allocator's fragmentation (together often 1-3 GiB), the vision tower's transient work (it runs
without gradients), and Python-side copies. Attention is taken as SDPA's memory-efficient or flash
kernel, which keeps no sequence-by-sequence matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

BF16, FP32 = 2, 4
GIB = 2**30


@dataclass(frozen=True)
class TextShape:
    """The language model (a Llama-style decoder) as its transformers config gives it."""

    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int
    qkv_bias: bool = False

    @property
    def kv_width(self) -> int:
        return self.hidden // self.heads * self.kv_heads

    def parameters(self) -> int:
        h, f, kv = self.hidden, self.intermediate, self.kv_width
        attention = h * (h + 2 * kv) + h * h + ((h + 2 * kv) if self.qkv_bias else 0)
        layer = attention + 3 * h * f + 2 * h  # + two RMSNorm weights
        return self.layers * layer + 2 * self.vocab * h + h  # embeddings, untied output layer, final norm

    def lora_parameters(self, rank: int) -> int:
        """LoRA's A (r x in) and B (out x r) on q, k, v, o, gate, up and down of every layer."""
        h, f, kv = self.hidden, self.intermediate, self.kv_width
        widths = [(h, h), (h, kv), (h, kv), (h, h), (h, f), (h, f), (f, h)]
        return self.layers * rank * sum(i + o for i, o in widths)


@dataclass(frozen=True)
class ModelShape:
    """A VLM: its language model, the vision side's parameter count, and the tokens of one prompt."""

    name: str
    source: str  # where the numbers come from
    text: TextShape
    vision_parameters: int  # vision tower and projector (frozen, bf16)
    image_tokens: int  # language-model tokens one image becomes
    text_tokens: int  # chat template and question around the image (an assumption, see each model)

    @property
    def prompt_tokens(self) -> int:
        return self.image_tokens + self.text_tokens

    def parameters(self) -> int:
        return self.text.parameters() + self.vision_parameters


def clip_vision_parameters(
    hidden: int, intermediate: int, layers: int, *, image: int, patch: int, text_hidden: int
) -> int:
    """CLIP ViT (patch embedding, class and position embeddings, pre/post norms, layers) and
    LLaVA's two-layer projector to the language model's width."""
    positions = (image // patch) ** 2 + 1
    embeddings = 3 * patch * patch * hidden + hidden + positions * hidden
    layer = 4 * (hidden * hidden + hidden) + 2 * hidden * intermediate + intermediate + hidden + 4 * hidden
    projector = hidden * text_hidden + text_hidden + text_hidden * text_hidden + text_hidden
    return embeddings + 4 * hidden + layers * layer + projector


def qwen25_vision_parameters(hidden: int, intermediate: int, layers: int, *, patch: int, merge: int, out: int) -> int:
    """Qwen2.5-VL's windowed ViT (3-D patch embedding over 2 frames, SwiGLU blocks, RMSNorms) and
    its patch merger (merge x merge patches -> one token of the language model's width)."""
    embed = 3 * 2 * patch * patch * hidden
    attention = hidden * 3 * hidden + 3 * hidden + hidden * hidden + hidden  # qkv and proj, with biases
    block = attention + 3 * hidden * intermediate + 2 * intermediate + hidden + 2 * hidden  # MLP biases, norms
    merged = hidden * merge * merge
    merger = hidden + merged * merged + merged + merged * out + out
    return embed + layers * block + merger


LLAVA15_7B = ModelShape(
    name="LLaVA-1.5-7B",
    # llava-hf/llava-1.5-7b-hf config.json: text_config (Llama-2-7B / Vicuna-7B): hidden 4096,
    # intermediate 11008, 32 layers, 32 heads (no GQA), vocabulary 32064; vision_config (CLIP
    # ViT-L/14-336): hidden 1024, intermediate 4096, 24 layers, image 336, patch 14; a 2-layer
    # GELU projector; image_seq_length 576
    source="llava-hf/llava-1.5-7b-hf config.json",
    text=TextShape(hidden=4096, intermediate=11008, layers=32, heads=32, kv_heads=32, vocab=32064),
    vision_parameters=clip_vision_parameters(1024, 4096, 24, image=336, patch=14, text_hidden=4096),
    image_tokens=576,
    text_tokens=40,  # "USER: <image>\n{question} ASSISTANT:" with a question of about 30 tokens
)

QWEN25_VL_7B = ModelShape(
    name="Qwen2.5-VL-7B",
    # Qwen/Qwen2.5-VL-7B-Instruct config.json: hidden 3584, intermediate 18944, 28 layers, 28
    # heads, 4 key-value heads, q/k/v biases, vocabulary 152064, untied output layer;
    # vision_config: depth 32, hidden 1280, intermediate 3420, patch 14, spatial_merge_size 2,
    # out_hidden_size 3584. A 336 x 336 image is 24 x 24 patches, merged 2 x 2: 144 tokens.
    source="Qwen/Qwen2.5-VL-7B-Instruct config.json",
    text=TextShape(hidden=3584, intermediate=18944, layers=28, heads=28, kv_heads=4, vocab=152064, qkv_bias=True),
    vision_parameters=qwen25_vision_parameters(1280, 3420, 32, patch=14, merge=2, out=3584),
    image_tokens=144,
    text_tokens=60,  # the ChatML system turn, vision markers and a question of about 30 tokens
)

MODELS = {"llava15_7b": LLAVA15_7B, "qwen2_5_vl_7b": QWEN25_VL_7B}


@dataclass(frozen=True)
class Sizes:
    """The paper's sizes (conf/method/*.yaml, the LoRA of conf/model/llava15_7b.yaml), 64 new tokens."""

    lora_rank: int = 128
    lora_dropout: bool = True  # 0.05: each LoRA branch keeps a dropout mask
    answer_tokens: int = 64  # new tokens per answer (generation) and answer span (training)
    rollout: int = 32  # PPO: 32 prompts x 1 answer; GRPO: 8 prompts x 4 answers
    minibatch: int = 8  # answers per gradient step of PPO and GRPO
    batch: int = 8  # SFT records, DPO pairs per step


PAPER = Sizes()


@dataclass(frozen=True)
class Setup:
    name: str
    method: str  # sft, dpo, ppo, grpo
    adapters: int = 1  # LoRA adapters that train (PPO's separate value adapter is a second)
    grad_passes: int = 1  # passes with gradients per update step (separate: policy, then value)
    value_head: int = 0  # parameters of the value head (frozen: a two-layer head of the hidden width)


def setups(text: TextShape) -> list[Setup]:
    h = text.hidden
    return [
        Setup("SFT", "sft"),
        Setup("DPO", "dpo"),
        Setup("PPO, separate value adapter", "ppo", adapters=2, grad_passes=2, value_head=h + 1),
        Setup("PPO, shared value adapter", "ppo", value_head=h + 1),
        Setup("PPO, frozen value features", "ppo", value_head=h * h + h + h + 1),
        Setup("GRPO", "grpo"),
    ]


def layer_activation_bytes(text: TextShape, rank: int, dropout: bool) -> int:
    """Bytes one decoder layer keeps per token for the backward, with LoRA on its seven linear layers.

    The frozen base weights keep nothing of their inputs (no weight gradient to compute); each
    LoRA branch keeps its input, its dropout mask and A's output. The two RMSNorms keep their
    inputs; attention keeps q, k, v and its output (rotary positions keep only cos/sin); the
    SwiGLU MLP keeps the gate and up projections and SiLU(gate).
    """
    h, f, kv = text.hidden, text.intermediate, text.kv_width

    def lora(width: int) -> int:
        return BF16 * width + (width if dropout else 0) + BF16 * rank

    norms = 2 * BF16 * h
    attention = BF16 * (h + 2 * kv) + BF16 * h
    mlp = BF16 * 3 * f
    adapters = 6 * lora(h) + lora(f)  # q, k, v, o, gate and up read width h; down reads f
    return norms + attention + mlp + adapters


def layer_working_bytes(text: TextShape) -> int:
    """Bytes per token of one layer's largest transient tensors in a pass without gradients:
    q, k, v, the attention output and the MLP's gate, up and product."""
    return BF16 * (2 * text.hidden + 2 * text.kv_width + 3 * text.intermediate)


def kv_cache_bytes(text: TextShape, rows: int, tokens: int) -> int:
    return 2 * text.layers * text.kv_width * BF16 * rows * tokens


@dataclass(frozen=True)
class Estimate:
    setup: str
    weights: float
    adapters: float  # LoRA + gradients + AdamW (+ the value head's)
    phases: dict[str, float]  # phase -> bytes on top of weights and adapters

    @property
    def peak_phase(self) -> str:
        return max(self.phases, key=self.phases.get)

    @property
    def peak(self) -> float:
        return self.weights + self.adapters + max(self.phases.values())


def estimate(model: ModelShape, setup: Setup, sizes: Sizes = PAPER, *, checkpointing: bool) -> Estimate:
    """The set-up's memory by phase (bytes); see the module docstring for what each term holds."""
    text = model.text
    lora = text.lora_parameters(sizes.lora_rank)
    adapters = (setup.adapters * lora + setup.value_head) * (FP32 * 4)
    tokens = model.prompt_tokens + sizes.answer_tokens
    logits_per_row = (sizes.answer_tokens + 1) * text.vocab
    logit_bytes = BF16 + FP32 + FP32 + (2 * FP32 if setup.method in ("ppo", "grpo") else 0)

    def grad_pass(rows: int, with_logits: bool = True) -> float:
        if checkpointing:
            kept = text.layers * BF16 * text.hidden + layer_activation_bytes(text, sizes.lora_rank, sizes.lora_dropout)
        else:
            kept = text.layers * layer_activation_bytes(text, sizes.lora_rank, sizes.lora_dropout)
        return rows * tokens * kept + (rows * logits_per_row * logit_bytes if with_logits else 0)

    def no_grad_pass(rows: int) -> float:
        return rows * tokens * layer_working_bytes(text) + rows * logits_per_row * (BF16 + 2 * FP32)

    autocast_copies = setup.adapters * lora * BF16
    if setup.method == "sft":
        phases = {"update": autocast_copies + grad_pass(sizes.batch)}
    elif setup.method == "dpo":
        pairs = 2 * sizes.batch  # chosen and rejected rows in one pass
        phases = {"reference pass": no_grad_pass(pairs), "update": autocast_copies + grad_pass(pairs)}
    else:
        rows = sizes.rollout
        generation = (kv_cache_bytes(text, rows, tokens) + rows * model.prompt_tokens * layer_working_bytes(text)
                      + rows * text.vocab * FP32)
        update = autocast_copies + grad_pass(sizes.minibatch)
        if setup.grad_passes == 2:  # the value adapter's pass skips the output layer
            update += grad_pass(sizes.minibatch, with_logits=False)
        phases = {"generation": generation, "rollout passes": no_grad_pass(rows), "update": update}
    return Estimate(setup.name, model.parameters() * BF16, adapters, phases)


def estimates(model: ModelShape, sizes: Sizes = PAPER) -> list[tuple[Estimate, Estimate]]:
    """(without, with activation checkpointing) for every set-up."""
    return [(estimate(model, s, sizes, checkpointing=False), estimate(model, s, sizes, checkpointing=True))
            for s in setups(model.text)]


def gib(value: float) -> str:
    return f"{value / GIB:.1f}"


def fits(value: float, capacity_gib: float) -> str:
    return "yes" if value / GIB <= capacity_gib else "no"
