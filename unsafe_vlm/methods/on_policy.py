"""What PPO and GRPO share: the policy answers its prompts, the judge scores the answers, and the
clipped ratio objective learns from them. No learned reward model.

Each training step is one iteration over a batch of prompts:
    1. rollout  - sample answers from the policy (``sample``: PPO one per prompt, GRPO a group)
    2. score    - the judge's class probabilities -> a score per answer (the paper: -CE vs gold)
    3. evaluate - log-probs under policy and reference; advantages (``advantages``: PPO's
                  value head and GAE, GRPO's groups)
    4. update   - ppo_epochs passes over minibatches: the clipped policy loss, what the method
                  adds to it (``penalty``: PPO's value loss, GRPO's KL term), an entropy bonus
The math lives in ``unsafe_vlm.rl``; these modules only orchestrate.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.distributed as dist

from unsafe_vlm.backbones.base import AnswerOutputs, Generation, ModelInputs, VLMBackbone
from unsafe_vlm.backbones.lora import LoraSettings
from unsafe_vlm.errors import UserError
from unsafe_vlm.judges.base import ALIGNMENT_CLASSES, Judge, label
from unsafe_vlm.methods.base import AlignmentModule, MethodSettings
from unsafe_vlm.rl.losses import clipped_policy_loss, entropy_of_log_probabilities
from unsafe_vlm.rl.masked import masked_mean
from unsafe_vlm.rl.rewards import adjusted_scores, judge_scores
from unsafe_vlm.rl.rollout import Rollout, ScoredAnswers
from unsafe_vlm.settings import SettingsError, limit


@dataclass(frozen=True)
class OnPolicySettings(MethodSettings):
    """The settings PPO and GRPO share (conf/method/ppo.yaml, grpo.yaml say what each does)."""

    minibatch_size: int = limit(ge=1)  # answers per gradient step inside an iteration
    ppo_epochs: int = limit(ge=1)  # passes over each rollout
    max_new_tokens: int = limit(ge=1)  # answer length cap while sampling rollouts
    temperature: float = limit(gt=0)  # rollouts are always sampled
    top_p: float = limit(gt=0, le=1)
    reward: Literal["neg_cross_entropy", "gold_probability"]
    length_bonus: float = limit(ge=0)
    length_bonus_per: Literal["token", "max_new_tokens"]  # token: per answer token; max_new_tokens: the paper's
    unfinished_penalty: float = limit(ge=0)  # off the score of answers without a stop token
    mask_open_ended: bool  # open-ended prompts and replayed questions get no judge score (data.train_open_ended,
    # data.train_replay)
    kl_coef: float = limit(ge=0)
    clip_ratio: float = limit(gt=0)
    entropy_coef: float
    max_grad_norm: float = limit(gt=0)


class OnPolicyModule(AlignmentModule):
    """Base of PPO and GRPO: rollout, judge scores, the update loop, DDP-averaged gradients.

    A method says how it samples (``sample``), what its passes return (``policy_and_values``),
    how it turns scores into advantages (``advantages``) and what it adds to the policy loss
    (``penalty``); everything else is here.
    """

    train_format = "ppo"  # prompts with their gold label; the answers are the policy's own
    settings_class = OnPolicySettings
    method: OnPolicySettings

    def __init__(self, backbone: VLMBackbone, method: OnPolicySettings, lora: LoraSettings, judge: Judge):
        super().__init__(backbone, method, lora)
        self.automatic_optimization = False
        self.judge = judge
        if not hasattr(judge, "judge_alignment") or "alignment" not in getattr(judge, "tasks", ("alignment",)):
            raise UserError(
                f"judge {judge.name!r} cannot judge alignment answers, which {method.name.upper()}'s reward needs"
            )

    @classmethod
    def build(cls, backbone: VLMBackbone, method: OnPolicySettings, lora: LoraSettings, judge: Judge) -> OnPolicyModule:
        return cls(backbone, method, lora, judge=judge)

    @classmethod
    def check_data(cls, method: OnPolicySettings, *, train_open_ended: bool, train_replay: bool = False) -> None:
        """The reward mask must have records to mask (open-ended prompts or replayed capability
        questions), and those records a mask (the judge's safety verdict cannot score them)."""
        super().check_data(method, train_open_ended=train_open_ended, train_replay=train_replay)
        if method.mask_open_ended and not (train_open_ended or train_replay):
            raise SettingsError(
                "method.mask_open_ended: true, but no training record has an open-ended prompt to mask; "
                "set data.train_open_ended=true too, or leave method.mask_open_ended false"
            )
        if train_open_ended and not method.mask_open_ended:
            raise SettingsError(
                "method.mask_open_ended: false, but data.train_open_ended=true adds open-ended prompts, whose "
                "answers have no yes/no verdict for the judge to score; set method.mask_open_ended=true"
            )
        if train_replay and not method.mask_open_ended:
            raise SettingsError(
                "method.mask_open_ended: false, but data.train_replay adds capability questions, whose answers have "
                "no safety verdict for the judge to score (only the KL keeps them); set method.mask_open_ended=true"
            )

    def rollout_size(self) -> int:
        """Answers in a full iteration's rollout (per process)."""
        return self.method.batch_size

    def total_optimizer_steps(self) -> int:
        """Iterations, which is what the schedule counts (it steps once per rollout)."""
        trainer = self.trainer
        trainer.estimated_stepping_batches  # noqa: B018  (sets up the training data, so the batch count is known)
        rollout, minibatch = self.rollout_size(), self.method.minibatch_size
        return ppo_iterations(
            batches=trainer.num_training_batches * max(1, trainer.max_epochs or 1),
            max_steps=trainer.max_steps,
            updates_per_iteration=self.method.ppo_epochs * math.ceil(rollout / min(minibatch, rollout)),
        )

    # ----- one iteration --------------------------------------------------------------------

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        records = list(batch["records"])
        rollout = self.collect_rollout(batch["inputs"], [r.gold for r in records], [r.yes_no for r in records])
        update_stats = self.update(rollout)
        scheduler = self.lr_schedulers()
        if scheduler is not None:
            scheduler.step()
        self.log_stats({**self.rollout_stats(rollout), **update_stats}, batch_size=rollout.size)

    @torch.no_grad()
    def collect_rollout(self, prompts: ModelInputs, gold: list[str], yes_no: list[bool] | None = None) -> Rollout:
        """Sample, judge and score answers to ``prompts`` (B prompts, their gold labels and whether
        each is a yes/no question; all are when ``yes_no`` is None)."""
        method = self.method
        self.backbone.eval()
        sampled, rows = self.sample(prompts)
        gold = [gold[row] for row in rows]
        verdicts = self.judge.judge_alignment(sampled.texts)
        correct = torch.tensor([v == g for v, g in zip(label(verdicts), gold, strict=True)], device=self.device)
        probabilities = verdicts.to(self.device)
        gold_index = torch.tensor([ALIGNMENT_CLASSES.index(g) for g in gold], device=self.device)
        scored = None
        if method.mask_open_ended and yes_no is not None:
            scored = torch.tensor([yes_no[row] for row in rows], device=self.device)
        scores = adjusted_scores(
            judge_scores(probabilities, gold_index, kind=method.reward, scored=scored),
            sampled.lengths,
            sampled.finished,
            length_bonus=method.length_bonus,
            unfinished_penalty=method.unfinished_penalty,
            max_length=method.max_new_tokens if method.length_bonus_per == "max_new_tokens" else None,
        )
        inputs = self.backbone.encode_images(sampled.inputs)  # every later pass reuses the image features
        logprobs, ref_logprobs, values, fields = self.rollout_passes(inputs)
        mask = inputs["answer_mask"][:, inputs["prompt_length"] :]
        return Rollout(
            inputs=inputs,
            mask=mask,
            logprobs=logprobs,
            ref_logprobs=ref_logprobs,
            scores=scores,
            lengths=sampled.lengths,
            finished=sampled.finished,
            correct=correct,
            scored=scored,
            **fields,
            **self.advantages(ScoredAnswers(scores, logprobs, ref_logprobs, values, mask)),
        )

    def sample(self, prompts: ModelInputs) -> tuple[Generation, list[int]]:
        """Answers to the prompts and the prompt each answers (its row): one answer per prompt."""
        sampled = self.generate(prompts)
        return sampled, list(range(len(sampled.texts)))

    def generate(self, prompts: ModelInputs, **options: Any) -> Generation:
        """Sampled answers to ``prompts``; ``options`` go to ``VLMBackbone.generate`` (GRPO's group)."""
        method = self.method
        return self.backbone.generate(
            prompts,
            do_sample=True,
            temperature=method.temperature,
            top_p=method.top_p,
            max_new_tokens=method.max_new_tokens,
            **options,
        )

    def rollout_passes(
        self, inputs: ModelInputs
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]:
        """The rollout's passes over its answers: the policy's log-probs (B, A), the reference's
        (B, A), the values (B, A) or None, and any other ``Rollout`` field the method fills there."""
        logprobs, values, _ = self.policy_and_values(inputs)
        with self.backbone.reference():
            ref_logprobs = self._tempered(self.backbone(inputs)).token_logprobs()
        return logprobs, ref_logprobs, values, {}

    def policy_and_values(self, inputs: ModelInputs) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Answer log-probs (B, A), values (B, A) or None without a value model, and every
        next-token log-probability (B, A, V) of the policy at the sampling temperature."""
        outputs = self._tempered(self.backbone(inputs))
        log_probabilities = outputs.log_probabilities()
        return outputs.token_logprobs(log_probabilities), None, log_probabilities

    def advantages(self, answers: ScoredAnswers) -> dict[str, torch.Tensor]:
        """The rollout's ``advantages`` (B, A), and whatever else of ``Rollout`` the method fills."""
        raise NotImplementedError

    def penalty(
        self, rollout: Rollout, rows: torch.Tensor, logprobs: torch.Tensor, values: torch.Tensor | None,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor | float, dict[str, torch.Tensor]]:
        """What the method adds to a minibatch's policy loss, and its statistics (keys ending in
        ``loss`` are checked to be finite)."""
        return 0.0, {}

    def _tempered(self, outputs: AnswerOutputs) -> AnswerOutputs:
        """The outputs of the distribution rollouts sample from: logits / method.temperature
        (ratios, KL and entropy must be those of the policy that drew the answers)."""
        temperature = self.method.temperature
        if temperature == 1.0:
            return outputs
        return dataclasses.replace(outputs, logits=outputs.logits / temperature)

    def update(self, rollout: Rollout) -> dict[str, torch.Tensor]:
        """ppo_epochs passes over shuffled minibatches of the rollout; returns mean statistics."""
        method = self.method
        optimizer = self.optimizers()
        self.backbone.train()
        totals: dict[str, torch.Tensor] = {}
        steps = 0
        for _ in range(method.ppo_epochs):
            for rows in self._minibatches(rollout.size):
                loss, step_stats = self.minibatch_loss(rollout, rows)
                self.check_finite(**{key: stat for key, stat in step_stats.items() if key.endswith("loss")})
                optimizer.zero_grad()
                self._backward(loss)
                self.clip_gradients(optimizer, gradient_clip_val=method.max_grad_norm, gradient_clip_algorithm="norm")
                optimizer.step()
                for key, stat in step_stats.items():
                    totals[key] = totals.get(key, 0.0) + stat
                steps += 1
        self.backbone.eval()
        return {key: total / max(steps, 1) for key, total in totals.items()}

    def minibatch_loss(self, rollout: Rollout, rows: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss of one minibatch (``rows`` of the rollout) and its statistics, detached."""
        method = self.method
        inputs = self.backbone.select_rows(rollout.inputs, rows)
        mask = rollout.mask[rows]
        logprobs, values, log_probabilities = self.policy_and_values(inputs)
        policy = clipped_policy_loss(
            logprobs, rollout.logprobs[rows], rollout.advantages[rows], mask, clip=method.clip_ratio
        )
        penalty, penalty_stats = self.penalty(rollout, rows, logprobs, values, mask)
        entropy = masked_mean(entropy_of_log_probabilities(log_probabilities), mask)
        loss = policy.loss + penalty - method.entropy_coef * entropy
        return loss, {
            "loss": loss.detach(),
            "policy_loss": policy.loss.detach(),
            **penalty_stats,
            "entropy": entropy.detach(),
            "clip_fraction": policy.clip_fraction,
            "approx_kl": policy.approx_kl,
        }

    def rollout_stats(self, rollout: Rollout) -> dict[str, torch.Tensor]:
        kl = ((rollout.logprobs - rollout.ref_logprobs) * rollout.mask).sum(dim=1)
        return {
            "reward_mean": rollout.scores.mean(),
            "judged_correct": rollout.correct.float().mean() if rollout.scored is None
            else masked_mean(rollout.correct.float(), rollout.scored),
            "kl": kl.mean(),
            "answer_length": rollout.lengths.float().mean(),
            "finished": rollout.finished.float().mean(),
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


def ppo_iterations(*, batches: int, max_steps: int, updates_per_iteration: int) -> int:
    """How many iterations a run makes: one per training batch, or fewer when ``max_steps``
    (which counts optimiser steps, ``updates_per_iteration`` of them per iteration) ends it first."""
    iterations = batches
    if max_steps > 0:
        iterations = min(iterations, math.ceil(max_steps / updates_per_iteration))
    return max(1, int(iterations))
