"""Scoring a free answer against a reference answer (LLaVABench, VLMEvalKit's protocol), as a judge may.

The protocol, in short: for each question the judge is shown a description of the image (its
caption), the question, the reference answer (first) and the model's answer (second), and rates
each for helpfulness, relevance, accuracy and detail on a scale of 1 to 10, both scores on the
first line of its reply. The relative score of a set is the sum of the model's scores over the
sum of the reference's (``metrics.relative_score``).

A judge that can do this is a ``RelativeJudge``; its reading of N answers is (N, 2) scores, the
reference's then the answer's, NaN for a reply it could not read (N/A: counted, never dropped).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from unsafe_vlm.judges.errors import JudgeError

SCORES = tuple(range(1, 11))
REFERENCE, ANSWER = 0, 1  # the columns of a reading
SCORED = "Scored"
"""The ``judged`` field of a response whose two scores were read (N/A otherwise)."""
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class ScoredAnswer:
    """What the judge is shown of one question."""

    caption: str
    question: str
    reference: str
    response: str


@dataclass(frozen=True)
class RelativeReading:
    scores: torch.Tensor  # (N, 2) float: the reference's score, the answer's; NaN where unread
    replies: list[str | None]  # an endpoint's reply to each (None for a local model, which replies in probabilities)


@runtime_checkable
class RelativeJudge(Protocol):
    def judge_relative(self, items: Sequence[ScoredAnswer]) -> RelativeReading: ...


def judge_relative(judge: object, items: Sequence[ScoredAnswer]) -> RelativeReading:
    """``judge.judge_relative(items)``, or a ``JudgeError`` naming the judge when it cannot."""
    if not isinstance(judge, RelativeJudge):
        name = getattr(judge, "name", type(judge).__name__)
        raise JudgeError(f"judge {name!r} cannot score answers against a reference (data=llavabench needs them); "
                         "use judge=llm")  # fmt: skip
    return judge.judge_relative(items)


def read_scores(reply: str) -> tuple[float, float] | None:
    """The two scores on a reply's first line ("8 7", "8, 7", "8.5 7"), each from 1 to 10; None otherwise."""
    lines = reply.strip().splitlines()
    if not lines:
        return None
    words = lines[0].replace(",", " ").split()
    if len(words) != 2 or not all(_NUMBER.match(word) for word in words):
        return None
    first, second = float(words[0]), float(words[1])
    if not all(SCORES[0] <= score <= SCORES[-1] for score in (first, second)):
        return None
    return first, second


def exclusive_probabilities(logprobs: torch.Tensor, label_ids: Sequence[Sequence[int]]) -> torch.Tensor:
    """(N, K) probabilities of each label as the whole continuation, from (N, K) summed label log-probs.

    A label whose tokens begin another label's ("1" and "10" under many tokenizers) has that label's
    probability inside its own: taken out, so that "10" is not also counted as "1". Normalised over K.
    """
    logprobs = logprobs.double()
    probabilities = (logprobs - logprobs.max(-1, keepdim=True).values).exp()  # one factor per row: ratios kept
    exclusive = probabilities.clone()
    for i, ids in enumerate(label_ids):
        for j, other in enumerate(label_ids):
            if j != i and len(other) > len(ids) and list(other[: len(ids)]) == list(ids):
                exclusive[:, i] -= probabilities[:, j]
    exclusive = exclusive.clamp(min=0)
    total = exclusive.sum(-1, keepdim=True)
    return torch.where(total > 0, exclusive / total.clamp(min=1e-300), torch.full_like(exclusive, 1 / len(label_ids)))


def expected_score(probabilities: torch.Tensor) -> torch.Tensor:
    """(N,) expected score of (N, 10) probabilities over the scores 1..10."""
    return (probabilities * torch.tensor(SCORES, dtype=probabilities.dtype)).sum(-1)
