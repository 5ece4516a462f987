"""One prefill per group (``group_prefill``), on every tiny family: answers continued from one
prompt cache, repeated for the group, get the logits a full pass gives them; a group sampled that
way equals the group that reads its prompt again, seed for seed; the language model reads each
prompt once; and models whose cache cannot be repeated (sliding window, cross-attention) or whose
generate is their own (InstructBLIP) read it again."""

from __future__ import annotations

import pytest
import torch
from helpers.adapters import LORA
from omegaconf import OmegaConf
from PIL import Image

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.group_prefill import group_prefill, shares_prefill
from unsafe_vlm.backbones.lora import add_lora
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.paths import CONF_DIR

TINY_CONFIGS = sorted(p.stem for p in (CONF_DIR / "model").glob("tiny*.yaml"))
QUESTIONS = ["Is this image safe?", "Is this image harmful to post online at all?", "Would you share it?"]
ANSWERS = ["No, it is unsafe.", "Yes.", "No, not here.", "Yes, it is safe to share.", "No.", "It shows a cat."]
GROUP = 2


def images() -> list[Image.Image | None]:
    return [Image.new("RGB", (32, 32), (200, 30, 30)), None, Image.new("RGB", (56, 40), (20, 90, 200))]


def adapted(name: str) -> VLMBackbone:
    """A tiny backbone with LoRA adapters that change its outputs, as the policy of a GRPO run."""
    torch.manual_seed(0)
    backbone = build_backbone(model_settings(OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml")))
    add_lora(backbone, LORA)
    with torch.no_grad():
        for param_name, param in backbone.model.named_parameters():
            if "lora_B" in param_name:
                param.normal_(0.0, 0.5)
    return backbone.eval()


def decoder_reads(backbone: VLMBackbone) -> list[tuple[int, int]]:
    """(rows, columns) of every pass of the language model's decoder, from now on."""
    reads: list[tuple[int, int]] = []

    def record(_module, args, kwargs):
        embeds = kwargs.get("inputs_embeds")
        reads.append(tuple((embeds if embeds is not None else kwargs["input_ids"]).shape[:2]))

    model = backbone.model.get_base_model()
    decoder = model.language_model if hasattr(model, "language_model") else model.get_decoder()
    decoder.register_forward_pre_hook(record, with_kwargs=True)
    return reads


def continued_logits(backbone: VLMBackbone, prompts: dict, full: dict) -> torch.Tensor:
    """Teacher forcing from one prefill: the answers of ``full`` (GROUP per prompt) read after the
    repeated cache of ``prompts``, positions numbered on as generation numbers them; (B*G, A, V)."""
    prefill = group_prefill(backbone, prompts, GROUP)
    start = prompts["input_ids"].shape[1] - 1  # the prefill stops before the prompt's last column
    inputs = dict(prefill.inputs)
    positions = inputs["position_ids"]
    steps = torch.arange(1, full["input_ids"].shape[1] - start, dtype=positions.dtype)
    inputs["position_ids"] = torch.cat([positions[..., -1:], positions[..., -1:] + steps], dim=-1)
    inputs["input_ids"] = full["input_ids"][:, start:]
    inputs["attention_mask"] = full["attention_mask"]
    for key in [k for k in inputs if k.endswith("token_type_ids")]:
        inputs[key] = backbone.model_kwargs(full)[key][:, start:]
    with torch.no_grad():
        outputs = backbone.language_outputs(backbone.model(**inputs, use_cache=True))
    return outputs.logits[:, :-1]


@pytest.mark.parametrize("name", TINY_CONFIGS)
def test_answers_continued_from_one_prefill_get_the_logits_of_a_full_pass(name):
    backbone = adapted(name)
    if not shares_prefill(backbone):
        pytest.skip(f"{name} reads each prompt again (its generate is its own)")
    prompts = backbone.encode_images(backbone.encode(QUESTIONS, images()))
    rows = torch.arange(len(QUESTIONS)).repeat_interleave(GROUP)
    full = backbone.encode([QUESTIONS[r] for r in rows], [images()[r] for r in rows], ANSWERS)
    full = backbone.encode_images(full)
    assert torch.equal(full["input_ids"][:, : prompts["input_ids"].shape[1]], prompts["input_ids"][rows])
    with torch.no_grad():
        whole = backbone(full)
    shared = continued_logits(backbone, prompts, full)
    assert shared.dtype == torch.float32
    torch.testing.assert_close(shared[whole.mask], whole.logits[whole.mask], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", TINY_CONFIGS)
def test_a_group_from_one_prefill_is_the_group_that_rereads_its_prompt_seed_for_seed(name):
    backbone = adapted(name)
    prompts = backbone.encode(QUESTIONS, images())
    groups, reads = {}, decoder_reads(backbone)
    for share in (True, False):
        torch.manual_seed(1)
        groups[share] = backbone.generate(
            prompts, group_size=GROUP, share_prefill=share, do_sample=True, max_new_tokens=6
        )
    first_reads = [read for read in reads if read[1] > 1]  # the prefill passes; decoding reads one column
    width, count = prompts["input_ids"].shape[1], len(QUESTIONS)
    if shares_prefill(backbone):
        assert first_reads[0] == (count, width - 1)  # each prompt once, but for its last column
    assert first_reads[-1] == (count * GROUP, width)  # share_prefill=False: every answer reads its prompt
    shared, reread = groups[True], groups[False]
    assert shared.texts == reread.texts and len(shared.texts) == count * GROUP
    assert torch.equal(shared.inputs["input_ids"], reread.inputs["input_ids"])
    rows = torch.arange(count).repeat_interleave(GROUP)
    assert torch.equal(shared.inputs["input_ids"][:, :width], prompts["input_ids"][rows])


def test_the_tiny_llava_shares_its_prefill_and_instructblip_does_not():
    assert shares_prefill(adapted("tiny"))
    assert not shares_prefill(adapted("tiny_instructblip"))


@pytest.mark.parametrize(
    "change",
    [
        {"layer_types": ["sliding_attention", "full_attention"], "sliding_window": 8},
        {"cross_attention_layers": [1]},
    ],
    ids=["sliding-window", "cross-attention"],
)
def test_a_cache_that_cannot_be_repeated_makes_each_answer_read_its_prompt(change):
    backbone = adapted("tiny")
    text_config = backbone.model.config.get_text_config(decoder=True)
    for key, value in change.items():
        setattr(text_config, key, value)
    assert not shares_prefill(backbone)
