"""Judging the safety sets' answers (``data.safety``): judge kinds ``refusal`` and ``harm``.

A judge that can is a ``SafetyJudge``: given the task (whose ``JudgePrompt`` an LLM judge asks with) and
what it is shown of each answer (``SafetyItem``), it gives (N, 3) probabilities over the kind's
classes and, a judge that replies in words, its reply to each (kept in the response rows).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import torch

from unsafe_vlm.data.safety import COMPLIED, HARMFUL, HARMLESS, REFUSED
from unsafe_vlm.judges.base import NA
from unsafe_vlm.judges.errors import JudgeError

CLASSES = {"refusal": (REFUSED, COMPLIED, NA), "harm": (HARMFUL, HARMLESS, NA)}
"""The columns of each safety judge kind's probabilities."""


@dataclass(frozen=True)
class SafetyItem:
    """What a judge is shown of one answer (the fields a ``JudgePrompt`` may hold)."""

    response: str
    question: str
    request: str
    category: str
    variant: str
    caption: str = ""
    warning: str = ""
    reference: str = ""

    @classmethod
    def of(cls, record: Any, response: str) -> SafetyItem:
        """Of a record, or of a saved row (which keeps the same fields)."""
        get = record.get if isinstance(record, Mapping) else lambda name: getattr(record, name, None)
        question = get("question") or ""
        return cls(response=response, question=question, request=get("request") or question,
                   category=get("category") or "", variant=get("variant") or "", caption=get("caption") or "",
                   warning=get("warning") or "", reference=get("reference") or "")  # fmt: skip

    def fields(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class SafetyReading:
    probabilities: torch.Tensor  # (N, 3) over ``CLASSES[kind]``
    replies: list[str | None]  # an endpoint's reply to each (None: a judge that gives no words)


@runtime_checkable
class SafetyJudge(Protocol):
    def judge_safety(self, kind: str, task: str, items: Sequence[SafetyItem]) -> SafetyReading: ...


def judge_safety(judge: object, kind: str, task: str, items: Sequence[SafetyItem]) -> SafetyReading:
    """``judge.judge_safety(...)``, or a ``JudgeError`` naming the judge when it cannot."""
    if not isinstance(judge, SafetyJudge):
        name = getattr(judge, "name", type(judge).__name__)
        raise JudgeError(f"judge {name!r} cannot judge the safety sets' answers ({task} needs {kind} readings); "
                         "use judge=rule or judge=llm")  # fmt: skip
    return judge.judge_safety(kind, task, items)


def read_reply(reply: str, labels: Mapping[str, str], pattern: str | None = None) -> str:
    """The class a judge's reply names by its first word (``labels``: word -> class), or, with ``pattern``,
    by the first group of the pattern's last match in it (case aside); N/A otherwise."""
    if pattern is not None:
        found = re.findall(pattern, reply, flags=re.IGNORECASE)
        return labels.get(str(found[-1]).strip().lower(), NA) if found else NA
    words = reply.strip().split()
    if not words:
        return NA
    first = words[0].strip(string.punctuation + "“”‘’").lower()
    return labels.get(first, NA)
