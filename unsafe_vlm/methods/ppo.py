"""PPO with a value head; the reward is the judge's verdict on the policy's own answers.

The rollout, scoring and update loop are ``unsafe_vlm.methods.on_policy``'s; what is PPO's own is
here: a value head (on its own LoRA adapter by default), KL-shaped per-token rewards, GAE and
whitened advantages, and the clipped value loss beside the policy loss.

Where the value model lives (``method.value_adapter``):
    separate - the paper's: its own LoRA adapter and a linear head; a second pass over every
               rollout and minibatch
    shared   - the policy's adapter and hidden states; one pass, the value loss trains the policy too
    frozen   - a two-layer head on the frozen base's hidden states, which the rollout's reference
               pass gives; no value pass at all, and the value loss trains the head alone
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch
from safetensors.torch import save_file
from torch import nn

from unsafe_vlm.backbones.base import ModelInputs, VLMBackbone
from unsafe_vlm.backbones.lora import LoraSettings, lora_config
from unsafe_vlm.judges.base import Judge
from unsafe_vlm.methods.on_policy import OnPolicyModule, OnPolicySettings
from unsafe_vlm.rl.advantages import generalised_advantages
from unsafe_vlm.rl.losses import clipped_value_loss
from unsafe_vlm.rl.masked import masked_mean, masked_whiten
from unsafe_vlm.rl.rewards import episode_mask, kl_estimate, shaped_rewards
from unsafe_vlm.rl.rollout import Rollout, ScoredAnswers
from unsafe_vlm.settings import limit

if TYPE_CHECKING:
    from peft import PeftModel

VALUE_ADAPTER = "value"
VALUE_HEAD_FILE = "value_head.safetensors"


@dataclass(frozen=True)
class PPOSettings(OnPolicySettings):
    """conf/method/ppo.yaml (what each setting does is written there)."""

    kl_estimator: Literal["k1", "k1_clamped", "k3"]
    score_position: Literal["last_token", "last_padded"]
    gamma: float = limit(ge=0, le=1)
    lam: float = limit(ge=0, le=1)
    whiten_advantages: bool
    clip_value: float = limit(gt=0)
    value_coef: float = limit(ge=0)
    value_adapter: Literal["separate", "shared", "frozen"]


class PPOModule(OnPolicyModule):
    settings_class = PPOSettings
    method: PPOSettings

    def __init__(self, backbone: VLMBackbone, method: PPOSettings, lora: LoraSettings, judge: Judge):
        super().__init__(backbone, method, lora, judge)
        width = backbone.hidden_size
        if method.value_adapter == "frozen":  # features nothing adapts: the head needs a layer of its own
            self.value_head = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, 1))
            output = self.value_head[-1]
        else:
            self.value_head = output = nn.Linear(width, 1)
        nn.init.zeros_(output.weight)
        nn.init.zeros_(output.bias)

    def configure_model(self) -> None:
        super().configure_model()
        model = self.backbone.model
        if self.method.value_adapter == "separate" and VALUE_ADAPTER not in model.peft_config:
            model.add_adapter(VALUE_ADAPTER, lora_config(self.lora, self.backbone))
            _train_all_adapters(model)

    # ----- what PPO adds to the shared iteration --------------------------------------------

    def policy_and_values(self, inputs: ModelInputs) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Answer log-probs (B, A), values (B, A) and every next-token log-probability (B, A, V)
        of the policy (at the sampling temperature), the last for the entropy bonus.

        With a shared adapter one pass gives both; with a separate value adapter the value
        head reads the hidden states of a second pass through that adapter (the paper's set-up),
        which skips the output layer. With frozen value features the values are None here: the
        rollout's reference pass gives their features (``rollout_passes``, ``penalty``).
        """
        shared = self.method.value_adapter == "shared"
        outputs = self._tempered(self.backbone(inputs, hidden=shared))
        log_probabilities = outputs.log_probabilities()
        logprobs = outputs.token_logprobs(log_probabilities)
        if shared:
            return logprobs, self._values(outputs.hidden), log_probabilities
        if self.method.value_adapter == "frozen":
            return logprobs, None, log_probabilities
        with self._adapter(VALUE_ADAPTER):
            hidden = self.backbone(inputs, hidden=True, logits=False).hidden
        return logprobs, self._values(hidden), log_probabilities

    def rollout_passes(
        self, inputs: ModelInputs
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]:
        """With frozen value features the reference pass also returns the last hidden states; the
        values are the head's reading of them, and the rollout keeps them for every update (the
        frozen base gives the same ones each epoch)."""
        if self.method.value_adapter != "frozen":
            return super().rollout_passes(inputs)
        logprobs, _, _ = self.policy_and_values(inputs)
        with self.backbone.reference():
            reference = self._tempered(self.backbone(inputs, hidden=True))
        features = reference.hidden
        return logprobs, reference.token_logprobs(), self._values(features), {"value_features": features}

    def _values(self, hidden: torch.Tensor) -> torch.Tensor:
        dtype = next(self.value_head.parameters()).dtype
        return self.value_head(hidden.to(dtype)).squeeze(-1).float()

    def advantages(self, answers: ScoredAnswers) -> dict[str, torch.Tensor]:
        """KL-shaped per-token rewards, GAE advantages (whitened over every rank) and returns,
        over the tokens of the episode (``episode_mask``: padding too with the score at the padded end)."""
        method, mask = self.method, answers.mask
        kl = kl_estimate(answers.logprobs, answers.ref_logprobs, estimator=method.kl_estimator)
        rewards = shaped_rewards(answers.scores, kl, mask, kl_coef=method.kl_coef, score_position=method.score_position)
        episode = episode_mask(mask, method.score_position)
        advantages, returns = generalised_advantages(
            rewards, answers.values, episode, gamma=method.gamma, lam=method.lam
        )
        if method.whiten_advantages:
            advantages = masked_whiten(advantages, episode, all_reduce=True)
        return {"values": answers.values, "rewards": rewards, "advantages": advantages, "returns": returns}

    def penalty(
        self, rollout: Rollout, rows: torch.Tensor, logprobs: torch.Tensor, values: torch.Tensor | None,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The clipped value loss over the episode's tokens, weighted by value_coef."""
        episode = episode_mask(mask, self.method.score_position)
        if self.method.value_adapter == "frozen":
            values = self._values(rollout.value_features[rows])
        value = clipped_value_loss(
            values, rollout.values[rows], rollout.returns[rows], episode, clip=self.method.clip_value
        )
        return self.method.value_coef * value.loss, {
            "value_loss": value.loss.detach(),
            "value_clip_fraction": value.clip_fraction,
            "value_error": value.error,
        }

    def rollout_stats(self, rollout: Rollout) -> dict[str, torch.Tensor]:
        return {
            **super().rollout_stats(rollout),
            "value_mean": masked_mean(rollout.values, rollout.mask),
            "return_mean": masked_mean(rollout.returns, rollout.mask),
        }

    # ----- plumbing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _adapter(self, name: str) -> Iterator[None]:
        model = self.backbone.model
        model.set_adapter(name)
        _train_all_adapters(model)
        try:
            yield
        finally:
            model.set_adapter("default")
            _train_all_adapters(model)

    def save_adapter(self, folder: str | Path) -> Path:
        folder = super().save_adapter(folder)
        save_file({k: v.detach().cpu().contiguous() for k, v in self.value_head.state_dict().items()},
                  str(folder / VALUE_HEAD_FILE))
        return folder


def _train_all_adapters(model: PeftModel) -> None:
    """peft's set_adapter freezes the inactive adapter; PPO trains policy and value adapters together."""
    for name, param in model.named_parameters():
        if "lora_" in name:
            param.requires_grad_(True)
