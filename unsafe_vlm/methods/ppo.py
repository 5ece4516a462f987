"""PPO with a value head; the reward is the judge's verdict on the policy's own answers.

Each training step is one PPO iteration over a batch of prompts:
    1. rollout  - sample answers from the policy
    2. score    - the judge's class probabilities -> a score per answer (the paper: -CE vs gold)
    3. evaluate - log-probs under policy and reference, values; KL-shaped rewards; GAE
    4. update   - ppo_epochs passes over minibatches: clipped policy and value losses, entropy bonus
The math lives in ``unsafe_vlm.rl``; this module only orchestrates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.distributed as dist
from omegaconf import DictConfig, OmegaConf
from peft import PeftModel
from safetensors.torch import save_file
from torch import nn

from unsafe_vlm.backbones.base import AnswerOutputs, ModelInputs, VLMBackbone
from unsafe_vlm.backbones.lora import lora_config
from unsafe_vlm.errors import UserError
from unsafe_vlm.judges.base import ALIGNMENT_CLASSES, Judge, label
from unsafe_vlm.judges.registry import build_judge
from unsafe_vlm.methods.base import AlignmentModule, MethodSettings
from unsafe_vlm.rl.advantages import generalised_advantages
from unsafe_vlm.rl.losses import clipped_policy_loss, clipped_value_loss, entropy_of_log_probabilities
from unsafe_vlm.rl.masked import masked_mean, masked_whiten
from unsafe_vlm.rl.rewards import adjusted_scores, judge_scores, kl_estimate, shaped_rewards
from unsafe_vlm.rl.rollout import Rollout
from unsafe_vlm.settings import limit

VALUE_ADAPTER = "value"
VALUE_HEAD_FILE = "value_head.safetensors"


@dataclass(frozen=True)
class PPOSettings(MethodSettings):
    """conf/method/ppo.yaml (what each setting does is written there)."""

    minibatch_size: int = limit(ge=1)  # records per gradient step inside an iteration
    ppo_epochs: int = limit(ge=1)  # passes over each rollout
    max_new_tokens: int = limit(ge=1)  # answer length cap while sampling rollouts
    temperature: float = limit(gt=0)  # rollouts are always sampled
    top_p: float = limit(gt=0, le=1)
    reward: Literal["neg_cross_entropy", "gold_probability"]
    length_bonus: float
    unfinished_penalty: float
    kl_coef: float = limit(ge=0)
    kl_estimator: Literal["k1", "k3"]
    gamma: float = limit(ge=0, le=1)
    lam: float = limit(ge=0, le=1)
    whiten_advantages: bool
    clip_ratio: float = limit(gt=0)
    clip_value: float = limit(gt=0)
    value_coef: float = limit(ge=0)
    entropy_coef: float
    max_grad_norm: float = limit(gt=0)
    value_adapter: Literal["separate", "shared"]


class PPOModule(AlignmentModule):
    train_format = "ppo"
    settings_class = PPOSettings
    method: PPOSettings

    def __init__(self, backbone: VLMBackbone, method: PPOSettings, lora: Mapping[str, Any], judge: Judge):
        super().__init__(backbone, method, lora)
        self.automatic_optimization = False
        self.judge = judge
        self.separate_value_adapter = method.value_adapter == "separate"
        self.value_head = nn.Linear(backbone.hidden_size, 1)
        nn.init.zeros_(self.value_head.weight)
        nn.init.zeros_(self.value_head.bias)
        if not hasattr(judge, "judge_alignment") or "alignment" not in getattr(judge, "tasks", ("alignment",)):
            raise UserError(f"judge {judge.name!r} cannot judge alignment answers, which PPO's reward needs")

    @classmethod
    def from_config(cls, backbone: VLMBackbone, cfg: DictConfig) -> PPOModule:
        return cls(backbone, cls.settings(cfg), cfg.model.lora, judge=build_judge(cfg.judge))

    def configure_model(self) -> None:
        super().configure_model()
        model = self.backbone.model
        if self.separate_value_adapter and VALUE_ADAPTER not in model.peft_config:
            model.add_adapter(VALUE_ADAPTER, lora_config(OmegaConf.create(self.lora), self.backbone))
            _train_all_adapters(model)

    def total_optimizer_steps(self) -> int:
        """Iterations, which is what PPO's schedule counts (it steps once per rollout)."""
        trainer = self.trainer
        trainer.estimated_stepping_batches  # noqa: B018  (sets up the training data, so the batch count is known)
        batch, minibatch = self.method.batch_size, self.method.minibatch_size
        return ppo_iterations(
            batches=trainer.num_training_batches * max(1, trainer.max_epochs or 1),
            max_steps=trainer.max_steps,
            updates_per_iteration=self.method.ppo_epochs * math.ceil(batch / min(minibatch, batch)),
        )

    # ----- one PPO iteration ----------------------------------------------------------------

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        records = list(batch["records"])
        rollout = self.collect_rollout(batch["inputs"], [r.gold for r in records])
        update_stats = self.update(rollout)
        scheduler = self.lr_schedulers()
        if scheduler is not None:
            scheduler.step()
        self.log_stats({**self.rollout_stats(rollout), **update_stats}, batch_size=rollout.size)

    @torch.no_grad()
    def collect_rollout(self, prompts: ModelInputs, gold: list[str]) -> Rollout:
        method = self.method
        self.backbone.eval()
        sampled = self.backbone.generate(
            prompts,
            do_sample=True,
            temperature=method.temperature,
            top_p=method.top_p,
            max_new_tokens=method.max_new_tokens,
        )
        verdicts = self.judge.judge_alignment(sampled.texts)
        correct = torch.tensor([v == g for v, g in zip(label(verdicts), gold, strict=True)], device=self.device)
        probabilities = verdicts.to(self.device)
        gold_index = torch.tensor([ALIGNMENT_CLASSES.index(g) for g in gold], device=self.device)
        scores = adjusted_scores(
            judge_scores(probabilities, gold_index, kind=method.reward),
            sampled.lengths,
            sampled.finished,
            length_bonus=method.length_bonus,
            unfinished_penalty=method.unfinished_penalty,
        )
        inputs = self.backbone.encode_images(sampled.inputs)  # every later pass reuses the image features
        logprobs, values, _ = self.policy_and_values(inputs)
        with self.backbone.reference():
            ref_logprobs = self._tempered(self.backbone(inputs)).token_logprobs()
        mask = inputs["answer_mask"][:, inputs["prompt_length"] :]
        kl = kl_estimate(logprobs, ref_logprobs, estimator=method.kl_estimator)
        rewards = shaped_rewards(scores, kl, mask, kl_coef=method.kl_coef)
        advantages, returns = generalised_advantages(
            rewards, values, mask, gamma=method.gamma, lam=method.lam
        )
        if method.whiten_advantages:
            advantages = masked_whiten(advantages, mask, all_reduce=True)
        return Rollout(
            inputs=inputs,
            mask=mask,
            logprobs=logprobs,
            ref_logprobs=ref_logprobs,
            values=values,
            rewards=rewards,
            advantages=advantages,
            returns=returns,
            scores=scores,
            lengths=sampled.lengths,
            finished=sampled.finished,
            correct=correct,
        )

    def policy_and_values(self, inputs: ModelInputs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Answer log-probs (B, A), values (B, A) and every next-token log-probability (B, A, V)
        of the policy (at the sampling temperature), the last for the entropy bonus.

        With a shared adapter one pass gives both; with a separate value adapter the value
        head reads the hidden states of a second pass through that adapter (the paper's set-up),
        which skips the output layer.
        """
        outputs = self._tempered(self.backbone(inputs, hidden=not self.separate_value_adapter))
        log_probabilities = outputs.log_probabilities()
        logprobs = outputs.token_logprobs(log_probabilities)
        if not self.separate_value_adapter:
            return logprobs, self._values(outputs.hidden), log_probabilities
        with self._adapter(VALUE_ADAPTER):
            hidden = self.backbone(inputs, hidden=True, logits=False).hidden
        return logprobs, self._values(hidden), log_probabilities

    def _tempered(self, outputs: AnswerOutputs) -> AnswerOutputs:
        """The outputs of the distribution rollouts sample from: logits / method.temperature
        (ratios, KL and entropy must be those of the policy that drew the answers)."""
        temperature = self.method.temperature
        if temperature == 1.0:
            return outputs
        return dataclasses.replace(outputs, logits=outputs.logits / temperature)

    def _values(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.value_head(hidden.to(self.value_head.weight.dtype)).squeeze(-1).float()

    def update(self, rollout: Rollout) -> dict[str, torch.Tensor]:
        """ppo_epochs passes over shuffled minibatches of the rollout; returns mean statistics."""
        method = self.method
        optimizer = self.optimizers()
        self.backbone.train()
        totals: dict[str, torch.Tensor] = {}
        steps = 0
        for _ in range(method.ppo_epochs):
            for rows in self._minibatches(rollout.size):
                inputs = self.backbone.select_rows(rollout.inputs, rows)
                mask = rollout.mask[rows]
                logprobs, values, log_probabilities = self.policy_and_values(inputs)
                policy = clipped_policy_loss(
                    logprobs, rollout.logprobs[rows], rollout.advantages[rows], mask, clip=method.clip_ratio
                )
                value = clipped_value_loss(
                    values, rollout.values[rows], rollout.returns[rows], mask, clip=method.clip_value
                )
                entropy = masked_mean(entropy_of_log_probabilities(log_probabilities), mask)
                loss = policy.loss + method.value_coef * value.loss - method.entropy_coef * entropy
                self.check_finite(loss=loss, policy_loss=policy.loss, value_loss=value.loss)
                optimizer.zero_grad()
                self._backward(loss)
                self.clip_gradients(optimizer, gradient_clip_val=method.max_grad_norm, gradient_clip_algorithm="norm")
                optimizer.step()
                step_stats = {
                    "loss": loss.detach(),
                    "policy_loss": policy.loss.detach(),
                    "value_loss": value.loss.detach(),
                    "entropy": entropy.detach(),
                    "clip_fraction": policy.clip_fraction,
                    "approx_kl": policy.approx_kl,
                    "value_clip_fraction": value.clip_fraction,
                    "value_error": value.error,
                }
                for key, stat in step_stats.items():
                    totals[key] = totals.get(key, 0.0) + stat
                steps += 1
        self.backbone.eval()
        return {key: total / max(steps, 1) for key, total in totals.items()}

    def rollout_stats(self, rollout: Rollout) -> dict[str, torch.Tensor]:
        kl = ((rollout.logprobs - rollout.ref_logprobs) * rollout.mask).sum(dim=1)
        return {
            "reward_mean": rollout.scores.mean(),
            "judged_correct": rollout.correct.float().mean(),
            "kl": kl.mean(),
            "answer_length": rollout.lengths.float().mean(),
            "finished": rollout.finished.float().mean(),
            "value_mean": masked_mean(rollout.values, rollout.mask),
            "return_mean": masked_mean(rollout.returns, rollout.mask),
        }

    # ----- plumbing -------------------------------------------------------------------------

    def _minibatches(self, size: int) -> Iterator[torch.Tensor]:
        order = torch.randperm(size, device=self.device)
        step = max(1, min(self.method.minibatch_size, size))
        for start in range(0, size, step):
            yield order[start : start + step]

    def _backward(self, loss: torch.Tensor) -> None:
        """Backward without DDP's hooks (they expect one backward per forward of the wrapper),
        then average the trainable gradients over ranks ourselves."""
        wrapper = self.trainer.strategy.model
        no_sync = getattr(wrapper, "no_sync", None)
        with no_sync() if callable(no_sync) else contextlib.nullcontext():
            self.manual_backward(loss)
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            grads = [p.grad for p in self.trainable_parameters() if p.grad is not None]
            flat = torch.cat([g.reshape(-1) for g in grads])
            dist.all_reduce(flat)
            flat /= dist.get_world_size()
            offset = 0
            for grad in grads:
                grad.copy_(flat[offset : offset + grad.numel()].view_as(grad))
                offset += grad.numel()

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

def ppo_iterations(*, batches: int, max_steps: int, updates_per_iteration: int) -> int:
    """How many PPO iterations a run makes: one per training batch, or fewer when ``max_steps``
    (which counts optimiser steps, ``updates_per_iteration`` of them per iteration) ends it first."""
    iterations = batches
    if max_steps > 0:
        iterations = min(iterations, math.ceil(max_steps / updates_per_iteration))
    return max(1, int(iterations))


def _train_all_adapters(model: PeftModel) -> None:
    """peft's set_adapter freezes the inactive adapter; PPO trains policy and value adapters together."""
    for name, param in model.named_parameters():
        if "lora_" in name:
            param.requires_grad_(True)
