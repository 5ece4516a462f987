"""The reference model's answers to the replay questions (``data.train_replay``), asked before training."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.data.base import Collator
from unsafe_vlm.data.records import Record
from unsafe_vlm.evaluation.generation import GenerationSettings


@torch.no_grad()
def reference_answers(
    backbone: VLMBackbone, questions: Sequence[Record], generation: GenerationSettings, batch_size: int
) -> dict[str, str]:
    """Each question's answer by ``backbone`` as it is now, by record id, generated as the evaluations
    generate (``generation.*``); call it before training adds adapters, so that the answers are the
    reference model's."""
    collate = Collator(backbone, "eval")
    backbone.eval()
    answers: dict[str, str] = {}
    for start in range(0, len(questions), batch_size):
        chunk = questions[start : start + batch_size]
        inputs = {
            key: value.to(backbone.device) if torch.is_tensor(value) else value
            for key, value in collate(chunk)["inputs"].items()
        }
        texts = backbone.generate(inputs, **generation.to_dict()).texts
        answers.update(zip((r.id for r in chunk), texts, strict=True))
    return answers
