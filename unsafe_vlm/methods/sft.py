"""Supervised fine-tuning: cross-entropy on the templated answer tokens only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from unsafe_vlm.methods.base import AlignmentModule, MethodSettings, mean_over_tokens


@dataclass(frozen=True)
class SFTSettings(MethodSettings):
    """conf/method/sft.yaml: the shared optimiser settings, nothing of its own."""


class SFTModule(AlignmentModule):
    train_format = "sft"
    settings_class = SFTSettings

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        outputs = self.backbone(batch["inputs"])
        token_logprobs = outputs.token_logprobs()
        loss = -mean_over_tokens(token_logprobs, outputs.mask)
        self.check_finite(loss=loss)
        self.log_stats({"loss": loss, "answer_tokens": outputs.mask.sum().float()}, batch_size=len(batch["records"]))
        return loss
