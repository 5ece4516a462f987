"""A judge whose verdicts vary with the response, so end-to-end scores of the tiny model are not all N/A."""

from __future__ import annotations

import torch

from unsafe_vlm.judges.base import ALIGNMENT_CLASSES, PERCEPTION_CLASSES, YES_NO_CLASSES, one_hot
from unsafe_vlm.judges.rule import RuleJudge


def parity_class(response: str, classes: tuple[str, ...]) -> str:
    """``classes[len(response) % len(classes)]``: any class, N/A included, depending on the length."""
    return classes[len(response) % len(classes)]


class ParityJudge(RuleJudge):
    def judge_alignment(self, responses) -> torch.Tensor:
        return one_hot([parity_class(r, ALIGNMENT_CLASSES) for r in responses], ALIGNMENT_CLASSES)

    def judge_yes_no(self, responses) -> torch.Tensor:
        return one_hot([parity_class(r, YES_NO_CLASSES) for r in responses], YES_NO_CLASSES)

    def judge_perception(self, responses, options) -> torch.Tensor:
        return one_hot([parity_class(r, PERCEPTION_CLASSES) for r in responses], PERCEPTION_CLASSES)
