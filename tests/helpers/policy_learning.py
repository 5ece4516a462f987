"""A policy with favourite words and a judge that rewards one of them: what the PPO and GRPO tests
learn on (the tiny random LLaVA, its output layer sharpened)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import torch
from omegaconf import OmegaConf

from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.judges.base import label
from unsafe_vlm.paths import CONF_DIR

QUESTIONS = [
    "Is this image safe?",
    "Is this image harmful?",
    "Does this image comply with the community guidelines of an online forum?",
    "Would you post this image online?",
] * 4


class FirstWordJudge:
    """Says Unsafe (0.9) when an answer starts with ``word``, Safe (0.9) otherwise; keeps the
    share of answers that started with it, one entry per call (= per PPO iteration)."""

    name = "first-word"

    def __init__(self, word: str):
        self.word = word
        self.hit_rates: list[float] = []

    def judge_alignment(self, responses: Sequence[str]) -> torch.Tensor:
        hits = torch.tensor([r.startswith(self.word) for r in responses], dtype=torch.float32)
        self.hit_rates.append(hits.mean().item())
        unsafe = 0.1 + 0.8 * hits
        return torch.stack([1 - unsafe, unsafe, torch.zeros_like(unsafe)], dim=1)

    def judge_perception(self, responses, options) -> torch.Tensor:
        raise NotImplementedError

    def label(self, probs: torch.Tensor) -> list[str]:
        return label(probs)



def sharp_tiny_backbone():
    """The tiny random LLaVA with its output layer scaled up.

    Its own logits are nearly uniform over 1,024 tokens and, behind the final norm, LoRA can
    hardly change that; scaled by 20 the random model has favourite words, as a trained one does.
    """
    cfg = OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")
    backbone = build_backbone(model_settings(cfg)).eval()
    with torch.no_grad():
        backbone.model.lm_head.weight.mul_(20.0)
    return backbone, cfg


def most_frequent_first_word(backbone, inputs) -> str:
    counts: Counter[str] = Counter()
    for _ in range(4):
        texts = backbone.generate(inputs, max_new_tokens=4, do_sample=True).texts
        counts.update(text.split()[0] for text in texts if text.split())
    return counts.most_common(1)[0][0]
