"""The default judge: hand-written rules, no weights (``conf/judge/rule.yaml``).

The rules are documented in ``alignment_rules``, ``perception_rules``, ``yes_no_rules`` and, for the
safety sets' refusal and attack-success readings, ``refusal_rules``; ``reasoning``
sets a think block aside and reads a verdict line or a self-correction's final verdict first. Probabilities are
one-hot on the class the rules pick: the rules have no graded evidence to express. For a
reward that takes a log-probability, ``smoothing`` moves that much mass evenly onto all
classes (0.1 over 3 classes gives 0.9333 / 0.0333 / 0.0333), so the log stays finite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from unsafe_vlm.judges import alignment_rules, perception_rules, reasoning, refusal_rules, text, yes_no_rules
from unsafe_vlm.judges.alignment_rules import alignment_verdict
from unsafe_vlm.judges.base import (
    ALIGNMENT_CLASSES,
    PERCEPTION_CLASSES,
    YES_NO_CLASSES,
    Judge,
    Options,
    one_hot,
    option_map,
)
from unsafe_vlm.judges.errors import JudgeError
from unsafe_vlm.judges.identity import files_sha256
from unsafe_vlm.judges.perception_rules import perception_verdict
from unsafe_vlm.judges.reasoning import final_reading
from unsafe_vlm.judges.refusal_rules import harm_verdict, refusal_verdict
from unsafe_vlm.judges.safety import CLASSES as SAFETY_CLASSES
from unsafe_vlm.judges.safety import SafetyItem, SafetyReading
from unsafe_vlm.judges.yes_no_rules import yes_no_verdict
from unsafe_vlm.settings import Settings, limit

RULE_MODULES = (alignment_rules, perception_rules, yes_no_rules, text, reasoning, refusal_rules)


def rules_sha256() -> str:
    """The rules' identity: a sha256 of the modules that hold them (any change to a rule changes it)."""
    return files_sha256(Path(module.__file__) for module in RULE_MODULES)


@dataclass(frozen=True)
class RuleSettings(Settings):
    """``judge`` of conf/judge/rule.yaml."""

    name: str
    smoothing: float = limit(ge=0, lt=1)  # probability mass spread evenly over all classes


class RuleJudge(Judge):
    settings_class = RuleSettings

    def __init__(self, smoothing: float = 0.0, name: str = "rule"):
        if not 0.0 <= smoothing < 1.0:
            raise JudgeError(f"judge.smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = smoothing
        self.name = name

    def identity(self) -> dict[str, str]:
        return {"rules_sha256": rules_sha256(), "smoothing": str(self.smoothing)}

    def judge_perception(self, responses: Sequence[str], options: Sequence[Options]) -> torch.Tensor:
        if len(options) != len(responses):
            raise ValueError(f"{len(responses)} responses but {len(options)} option sets")
        names = [_perception(r, option_map(o)) for r, o in zip(responses, options, strict=True)]
        return one_hot(names, PERCEPTION_CLASSES, self.smoothing)

    def judge_alignment(self, responses: Sequence[str]) -> torch.Tensor:
        names = [final_reading(r, alignment_verdict) for r in responses]
        return one_hot(names, ALIGNMENT_CLASSES, self.smoothing)

    def judge_yes_no(self, responses: Sequence[str]) -> torch.Tensor:
        """(N, 3) probabilities over ``YES_NO_CLASSES`` (Yes, No, N/A)."""
        names = [final_reading(r, yes_no_verdict) for r in responses]
        return one_hot(names, YES_NO_CLASSES, self.smoothing)

    def judge_safety(self, kind: str, task: str, items: Sequence[SafetyItem]) -> SafetyReading:
        """A safety set's answers by the refusal rules, whatever the set's own judge prompt (``refusal_rules``)."""
        verdict = refusal_verdict if kind == "refusal" else harm_verdict
        names = [verdict(item.response) for item in items]
        return SafetyReading(one_hot(names, SAFETY_CLASSES[kind], self.smoothing), [None] * len(items))


def _perception(response: str, options: dict[str, str]) -> str:
    return final_reading(response, lambda text: perception_verdict(text, options))
