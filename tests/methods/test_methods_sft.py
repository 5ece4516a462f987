"""SFT: the loss is the mean negative log-probability of the answer tokens, and of nothing else."""

from __future__ import annotations

import pytest
import torch
from helpers.method_settings import lora_settings, settings_for
from omegaconf import OmegaConf

from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.methods.sft import SFTModule
from unsafe_vlm.paths import CONF_DIR

QUESTIONS = ["Is this image safe?", "Does this image comply with the community guidelines of an online forum?"]
ANSWERS = ["No, it is unsafe.", "Yes, it is safe. The image shows a goldfish, which is considered harmless."]



class RecordingSFT(SFTModule):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.history: list[dict[str, float]] = []

    def log_stats(self, stats, *, batch_size):
        self.history.append({k: float(v) for k, v in stats.items()})


@pytest.fixture(scope="module")
def module() -> RecordingSFT:
    torch.manual_seed(0)
    cfg = OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")
    settings = settings_for("sft", lr=1e-3, warmup_ratio=0.0)
    return RecordingSFT(build_backbone(model_settings(cfg)).eval(), settings, lora_settings(cfg.lora))


def sft_loss(module: RecordingSFT, inputs: dict) -> torch.Tensor:
    with torch.no_grad():
        return module.training_step({"records": [None] * inputs["input_ids"].shape[0], "inputs": inputs}, 0)


def answer_logprobs_one_by_one(backbone, question: str, answer: str) -> torch.Tensor:
    """Log-probs of the answer tokens, from the processor and the raw model, one query, no padding."""
    prompt = backbone.prompt_text(question, has_image=True)
    image = [backbone.blank_image()]
    prompt_ids = backbone.processor(text=[prompt], images=image, return_tensors="pt")["input_ids"]
    full = dict(backbone.processor(text=[prompt + " " + answer + "</s>"], images=image, return_tensors="pt"))
    start = prompt_ids.shape[1]
    assert torch.equal(full["input_ids"][:, :start], prompt_ids)
    with torch.no_grad():
        logits = backbone.model(**full).logits[0].float()
    targets = full["input_ids"][0, start:]
    return torch.log_softmax(logits[start - 1 : -1], dim=-1).gather(-1, targets[:, None]).squeeze(-1)


def test_sft_loss_is_the_mean_negative_logprob_of_the_answer_tokens(module):
    backbone = module.backbone
    per_query = [answer_logprobs_one_by_one(backbone, q, a) for q, a in zip(QUESTIONS, ANSWERS, strict=True)]
    expected = -torch.cat(per_query).mean()

    loss = sft_loss(module, backbone.encode(QUESTIONS, [None, None], answers=ANSWERS))

    torch.testing.assert_close(loss, expected, atol=1e-5, rtol=1e-5)
    # every answer token counts, the end-of-turn that closes it included, and nothing else
    assert module.history[-1]["answer_tokens"] == sum(len(p) for p in per_query)


def test_sft_loss_ignores_prompt_targets_and_padding(module):
    backbone = module.backbone
    inputs = backbone.encode(QUESTIONS, [None, None], answers=ANSWERS)
    reference = sft_loss(module, inputs)
    prompt_length = inputs["prompt_length"]
    padding = inputs["attention_mask"] == 0
    answer_padding = padding.clone()
    answer_padding[:, :prompt_length] = False
    assert answer_padding.any() and (padding[:, :prompt_length]).any()  # the batch pads on both sides

    changed = dict(inputs)
    changed["answer_mask"] = inputs["answer_mask"].clone()
    changed["answer_mask"][:, :prompt_length] = True  # prompt tokens marked as targets
    torch.testing.assert_close(sft_loss(module, changed), reference)

    changed = dict(inputs)
    changed["input_ids"] = inputs["input_ids"].masked_fill(padding, 7)  # other ids under every pad
    torch.testing.assert_close(sft_loss(module, changed), reference, atol=1e-5, rtol=1e-5)


def test_sft_loss_of_a_query_does_not_depend_on_its_batch(module):
    backbone = module.backbone
    pairs = list(zip(QUESTIONS, ANSWERS, strict=True))
    alone = [sft_loss(module, backbone.encode([q], [None], answers=[a])) for q, a in pairs]
    counts = [len(backbone.answer_token_ids(backbone.prompt_text(q, True), a)) for q, a in pairs]
    together = sft_loss(module, backbone.encode(QUESTIONS, [None, None], answers=ANSWERS))
    weighted = sum(loss * n for loss, n in zip(alone, counts, strict=True)) / sum(counts)
    torch.testing.assert_close(together, weighted, atol=1e-5, rtol=1e-5)
