"""Direct preference optimisation: the module scores chosen and rejected answers under the policy and
the reference in one pass each; the loss is ``unsafe_vlm.rl.losses.dpo_loss``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from unsafe_vlm.backbones.base import ModelInputs
from unsafe_vlm.methods.base import AlignmentModule, MethodSettings
from unsafe_vlm.rl.losses import dpo_loss
from unsafe_vlm.settings import limit


@dataclass(frozen=True)
class DPOSettings(MethodSettings):
    """conf/method/dpo.yaml."""

    beta: float = limit(gt=0)  # strength of the implicit KL to the reference


class DPOModule(AlignmentModule):
    train_format = "dpo"
    settings_class = DPOSettings
    method: DPOSettings

    def summed_logprobs(self, inputs: ModelInputs) -> torch.Tensor:
        """(B,) summed log-probs of each row's answer tokens."""
        return self.backbone.answer_logprobs(inputs).sum(dim=-1)

    def pair_logprobs(self, pairs: ModelInputs) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed answer log-probs of the chosen rows (B,) and of the rejected rows (B,) of a pair
        batch (the collator's 2B rows, chosen first), from one forward pass."""
        chosen, rejected = self.summed_logprobs(pairs).chunk(2)
        return chosen, rejected

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        pairs = self.backbone.encode_images(batch["pairs"])  # the reference and policy passes share them
        with torch.no_grad(), self.backbone.reference():
            ref_chosen, ref_rejected = self.pair_logprobs(pairs)
        chosen, rejected = self.pair_logprobs(pairs)
        result = dpo_loss(chosen, rejected, ref_chosen, ref_rejected, beta=self.method.beta)
        self.check_finite(loss=result.loss)
        margin = result.chosen_reward - result.rejected_reward
        stats = {
            "loss": result.loss,
            "reward_accuracy": (margin > 0).float().mean(),
            "reward_margin": margin.mean(),
            "chosen_reward": result.chosen_reward.mean(),
            "rejected_reward": result.rejected_reward.mean(),
        }
        self.log_stats(stats, batch_size=len(batch["records"]))
        return result.loss
