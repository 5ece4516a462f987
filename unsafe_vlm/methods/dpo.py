"""Direct preference optimisation: the sigmoid loss on chosen vs rejected answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from unsafe_vlm.backbones.base import ModelInputs
from unsafe_vlm.methods.base import AlignmentModule, MethodSettings
from unsafe_vlm.settings import limit


def dpo_loss(
    chosen: torch.Tensor, rejected: torch.Tensor, ref_chosen: torch.Tensor, ref_rejected: torch.Tensor, *, beta: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sigmoid DPO loss from summed answer log-probs, each (B,).

    Returns the mean loss, the implicit rewards of the chosen answers and of the rejected ones,
    ``beta * (log pi - log pi_ref)``, each (B,).
    """
    chosen_reward = beta * (chosen - ref_chosen)
    rejected_reward = beta * (rejected - ref_rejected)
    loss = -F.logsigmoid(chosen_reward - rejected_reward).mean()
    return loss, chosen_reward.detach(), rejected_reward.detach()


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
        loss, chosen_reward, rejected_reward = dpo_loss(
            chosen, rejected, ref_chosen, ref_rejected, beta=self.method.beta
        )
        self.check_finite(loss=loss)
        margin = chosen_reward - rejected_reward
        stats = {
            "loss": loss,
            "reward_accuracy": (margin > 0).float().mean(),
            "reward_margin": margin.mean(),
            "chosen_reward": chosen_reward.mean(),
            "rejected_reward": rejected_reward.mean(),
        }
        self.log_stats(stats, batch_size=len(batch["records"]))
        return loss
