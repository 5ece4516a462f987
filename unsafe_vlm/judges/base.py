"""What every judge does: map free-text responses to class probabilities.

Perception classes are ``PERCEPTION_CLASSES`` (the four option letters and N/A); alignment
classes are ``ALIGNMENT_CLASSES``. Every judge returns probabilities in exactly these
orders, whatever order its own classifier head uses, as float32 tensors on the CPU.

Judging plain yes/no answers (``YES_NO_CLASSES``, for general-capability sets such as MME)
is an optional capability: a judge that has it is a ``YesNoJudge``; ``judge_yes_no`` asks
any judge and fails clearly when it lacks the capability.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import torch

from unsafe_vlm.judges.errors import JudgeError

NA = "N/A"
"""The class of a response that gives no usable answer."""
ERROR_REPLY = "[error] "
"""How a judge behind an endpoint's reply starts when its request failed: no verdict (the response row
gets ``judge_error``, an error row, asked again), never a reading of the response."""

OPTION_LETTERS = ("A", "B", "C", "D")
PERCEPTION_CLASSES = (*OPTION_LETTERS, NA)
ALIGNMENT_CLASSES = ("Safe", "Unsafe", NA)
YES_NO_CLASSES = ("Yes", "No", NA)

Options = Mapping[str, str] | Sequence[str]
"""The four options of one perception question: ``{"A": "Swastika", "B": ..., "C": ..., "D": ...}``,
or the four texts in A-D order (as ``data.perception_options.parse_option_str`` returns them)."""


@runtime_checkable
class Judge(Protocol):
    """Judges responses; a later PPO turns the alignment probabilities into rewards.

    A judge may also judge plain yes/no answers: see ``YesNoJudge`` (not required here, so
    a judge without it still passes ``isinstance(judge, Judge)``).
    """

    name: str

    def judge_perception(self, responses: Sequence[str], options: Sequence[Options]) -> torch.Tensor:
        """(N, 5) probabilities over ``PERCEPTION_CLASSES``, one row per response."""
        ...

    def judge_alignment(self, responses: Sequence[str]) -> torch.Tensor:
        """(N, 3) probabilities over ``ALIGNMENT_CLASSES``, one row per response."""
        ...

    def label(self, probs: torch.Tensor) -> list[str]:
        """The most probable class name of each row."""
        return label(probs)


@runtime_checkable
class YesNoJudge(Protocol):
    """The optional capability of judging answers to plain yes/no questions."""

    def judge_yes_no(self, responses: Sequence[str]) -> torch.Tensor:
        """(N, 3) probabilities over ``YES_NO_CLASSES``, one row per response."""
        ...


def judge_yes_no(judge: Judge, responses: Sequence[str]) -> torch.Tensor:
    """``judge.judge_yes_no(responses)``, or a ``JudgeError`` naming the judge when it cannot."""
    if not isinstance(judge, YesNoJudge):
        name = getattr(judge, "name", type(judge).__name__)
        raise JudgeError(f"judge {name!r} cannot judge yes/no answers (data=mme needs them); use judge=rule")
    return judge.judge_yes_no(responses)


@runtime_checkable
class WordsJudge(Protocol):
    """The optional capability of a judge that replies in words (an LLM): what it said, kept in the rows."""

    def judge_outputs(
        self, kind: str, responses: Sequence[str], options: Sequence[Options] = ()
    ) -> list[str | None]: ...


def judge_replies(judge: Judge, kind: str, responses: Sequence[str], options: Sequence[Options]) -> list | None:
    """What a judge that replies in words said about each response; None for the other judges."""
    return judge.judge_outputs(kind, responses, options) if isinstance(judge, WordsJudge) else None


def reply_fields(reply: str | None) -> dict[str, str]:
    """A response row's ``judge_output`` (what the judge said), or its ``judge_error`` where the judge's
    request failed (``ERROR_REPLY``); nothing for a judge that gave no words."""
    if reply is None:
        return {}
    if reply.startswith(ERROR_REPLY):
        return {"judge_error": reply.removeprefix(ERROR_REPLY)}
    return {"judge_output": reply}


def option_map(options: Options) -> dict[str, str]:
    """``{"A": ..., "B": ..., "C": ..., "D": ...}`` from either form of ``Options``."""
    if isinstance(options, Mapping):
        mapping = {str(k): str(v) for k, v in options.items()}
    elif isinstance(options, Sequence) and not isinstance(options, str) and len(options) == len(OPTION_LETTERS):
        mapping = dict(zip(OPTION_LETTERS, map(str, options), strict=True))
    else:
        raise ValueError(f"perception options must map A-D to texts or list four texts, got {options!r}")
    if set(mapping) != set(OPTION_LETTERS):
        raise ValueError(f"perception options must have exactly the keys A, B, C, D, got {sorted(mapping)}")
    return mapping


def classes_for(width: int) -> tuple[str, ...]:
    """The class names of a probability tensor with ``width`` columns (5: perception, 3: alignment)."""
    for classes in (PERCEPTION_CLASSES, ALIGNMENT_CLASSES):
        if width == len(classes):
            return classes
    raise ValueError(f"cannot tell the classes of {width}-column probabilities; expected 5 (perception) or 3")


def label(probs: torch.Tensor, classes: Sequence[str] | None = None) -> list[str]:
    """Argmax class names of (N, K) probabilities; ``classes`` defaults to the canonical ones for K."""
    if probs.dim() != 2:
        raise ValueError(f"expected (N, K) probabilities, got shape {tuple(probs.shape)}")
    names = tuple(classes) if classes is not None else classes_for(probs.shape[1])
    if len(names) != probs.shape[1]:
        raise ValueError(f"{len(names)} class names for {probs.shape[1]} columns")
    return [names[i] for i in probs.argmax(dim=1).tolist()]


def one_hot(names: Sequence[str], classes: Sequence[str], smoothing: float = 0.0) -> torch.Tensor:
    """(N, K) probabilities putting ``1 - smoothing`` on each named class and spreading ``smoothing`` evenly."""
    index = torch.tensor([classes.index(n) for n in names], dtype=torch.long)
    probs = torch.nn.functional.one_hot(index, len(classes)).float()
    return probs * (1.0 - smoothing) + smoothing / len(classes)
