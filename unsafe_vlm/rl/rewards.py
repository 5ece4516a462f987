"""From a judge's verdict on each answer to the per-token rewards PPO optimises."""

from __future__ import annotations

import torch

KL_ESTIMATORS = ("k1", "k1_clamped", "k3")
SCORE_POSITIONS = ("last_token", "last_padded")


def judge_scores(
    probabilities: torch.Tensor,
    gold: torch.Tensor,
    *,
    kind: str = "neg_cross_entropy",
    scored: torch.Tensor | None = None,
) -> torch.Tensor:
    """A scalar score per answer from the judge's class probabilities.

    probabilities: (B, C) from the judge; gold: (B,) class index of the right verdict.
    kind: ``neg_cross_entropy`` (the paper: -CE of the judge against the gold label, min-max
    normalised over the batch to [0, 1]) or ``gold_probability`` (the gold class's probability).
    scored: (B,) bool, the answers the judge's verdict counts for (answers to yes/no questions);
    the others score 0 and take no part in the normalisation. None: every answer.
    """
    picked = probabilities.gather(1, gold.unsqueeze(1)).squeeze(1)
    if kind == "gold_probability":
        return picked if scored is None else picked * scored.to(picked.dtype)
    if kind != "neg_cross_entropy":
        raise ValueError(f"method.reward: unknown reward {kind!r}; use neg_cross_entropy or gold_probability")
    return min_max_normalise(torch.log(picked.clamp(min=1e-8)), scored)


def min_max_normalise(scores: torch.Tensor, scored: torch.Tensor | None = None) -> torch.Tensor:
    """Scale to [0, 1] over the batch; a batch of equal scores gives 0.5 everywhere (no signal).

    scored: (B,) bool; the minimum and maximum are those of the scored entries, the others come out 0.
    """
    if scored is None:
        low, high = scores.min(), scores.max()
    else:
        low = scores.masked_fill(~scored, float("inf")).min()
        high = scores.masked_fill(~scored, float("-inf")).max()
    span = high - low
    spread = span > 1e-12  # decided on the device: no host sync (no scored entry: the span is -inf)
    normalised = torch.where(spread, (scores - low) / span.clamp(min=1e-12), torch.full_like(scores, 0.5))
    return normalised if scored is None else normalised.masked_fill(~scored, 0.0)


def kl_estimate(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, *, estimator: str = "k1") -> torch.Tensor:
    """Per-token estimate of KL(policy || reference) from sampled tokens, (B, T).

    k1 = log p - log q (unbiased, can be negative); k1_clamped = max(log p - log q, 0) (the paper's
    code: never a bonus for moving below the reference); k3 = (q/p - 1) - log(q/p) (unbiased, >= 0).
    """
    log_ratio = logprobs - ref_logprobs
    if estimator == "k1":
        return log_ratio
    if estimator == "k1_clamped":
        return log_ratio.clamp(min=0.0)
    if estimator == "k3":
        return torch.expm1(-log_ratio) + log_ratio
    raise ValueError(f"method.kl_estimator: unknown estimator {estimator!r}; use {', '.join(KL_ESTIMATORS)}")


def last_token_index(mask: torch.Tensor) -> torch.Tensor:
    """(B,) index of each row's last real token in a right-padded (B, T) mask (0 if empty)."""
    return (mask.long().sum(dim=1) - 1).clamp(min=0)


def shaped_rewards(
    scores: torch.Tensor, kl: torch.Tensor, mask: torch.Tensor, *, kl_coef: float, score_position: str = "last_token"
) -> torch.Tensor:
    """Per-token rewards: -kl_coef * KL on every answer token, plus the score at ``score_position``.

    scores: (B,); kl, mask: (B, T). Returns (B, T).
    last_token: the score on each row's last real token; 0 on padding.
    last_padded (the paper's code): the score on the last column T - 1 whatever the row's length;
    padding carries no KL, so its reward is 0 except there. The episode then runs over the
    padded width (``episode_mask``).
    """
    if score_position not in SCORE_POSITIONS:
        choices = ", ".join(SCORE_POSITIONS)
        raise ValueError(f"method.score_position: unknown position {score_position!r}; use {choices}")
    rewards = -kl_coef * kl * mask.to(kl.dtype)
    if score_position == "last_padded":
        rewards[:, -1] += scores.to(rewards.dtype)
        return rewards
    rows = torch.arange(scores.shape[0], device=scores.device)
    rewards[rows, last_token_index(mask)] += scores.to(rewards.dtype)
    return rewards * mask.to(rewards.dtype)


def episode_mask(mask: torch.Tensor, score_position: str) -> torch.Tensor:
    """(B, T) bool, the tokens GAE, whitening and the value loss run over: the real answer tokens
    (score on the last token), or every column up to the padded end (score there: the padding
    between an answer's end and the score must carry the score back to the answer)."""
    return torch.ones_like(mask, dtype=torch.bool) if score_position == "last_padded" else mask


def adjusted_scores(
    scores: torch.Tensor,
    lengths: torch.Tensor,
    finished: torch.Tensor,
    *,
    length_bonus: float,
    unfinished_penalty: float,
    max_length: int | None = None,
) -> torch.Tensor:
    """Scores with a length bonus and a penalty for answers that never ended (no stop token).

    scores, lengths, finished: (B,). max_length None: length_bonus per answer token; else the
    paper's bonus, length_bonus * lengths / max_length (a full-length answer gets length_bonus).
    """
    if max_length is None:
        bonus = length_bonus * lengths.to(scores.dtype)
    else:
        bonus = length_bonus * (lengths.to(scores.dtype) / max_length)
    return scores + bonus - unfinished_penalty * (~finished).to(scores.dtype)
