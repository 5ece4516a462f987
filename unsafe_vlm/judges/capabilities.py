"""Judging a task's answers the way its ``data.tasks`` entry says, checked before any answer is generated."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from unsafe_vlm.data.tasks import TASKS, JudgeKind
from unsafe_vlm.judges.base import (
    ALIGNMENT_CLASSES,
    OPTION_LETTERS,
    PERCEPTION_CLASSES,
    YES_NO_CLASSES,
    Judge,
    judge_yes_no,
)
from unsafe_vlm.judges.errors import JudgeError
from unsafe_vlm.judges.relative import judge_relative
from unsafe_vlm.judges.safety import CLASSES as SAFETY_CLASSES
from unsafe_vlm.judges.safety import judge_safety

CLASSES: dict[str, tuple[str, ...]] = {
    "perception": PERCEPTION_CLASSES,
    "alignment": ALIGNMENT_CLASSES,
    "yes_no": YES_NO_CLASSES,
    **SAFETY_CLASSES,
}
"""The columns of each judge kind's probabilities (``relative`` has none: its reading is two scores)."""
SAFETY_KINDS = tuple(SAFETY_CLASSES)
"""The kinds a judge reads with the task (its set's own prompt) and more of each answer (``judges.safety``)."""


def judge_kind(task: str) -> JudgeKind:
    """How a task's answers are judged; an unknown task is judged as alignment answers (Safe/Unsafe)."""
    return TASKS[task].judge if task in TASKS else "alignment"


def judge_as(
    judge: Judge, kind: JudgeKind, responses: Sequence[str], options: Sequence[Sequence[str] | None] = ()
) -> torch.Tensor:
    """Class probabilities of each response, in the columns of ``CLASSES[kind]``.

    ``options``: each perception question's four options, A to D (perception only).
    """
    if kind == "perception":
        return judge.judge_perception(responses, [dict(zip(OPTION_LETTERS, o or (), strict=True)) for o in options])
    if kind == "yes_no":
        return judge_yes_no(judge, responses)
    return judge.judge_alignment(responses)


def check_judge_covers(judge: Judge, tasks: Iterable[str]) -> None:
    """Fail now, not after a long generation, if the judge cannot judge one of the tasks."""
    needs = {judge_kind(task) for task in tasks}
    if "yes_no" in needs:
        judge_yes_no(judge, [])
    if "relative" in needs:
        judge_relative(judge, [])
    for task in tasks:
        if judge_kind(task) in SAFETY_KINDS:
            judge_safety(judge, judge_kind(task), task, [])
    available = getattr(judge, "tasks", None)
    if available is None:
        return
    missing = sorted(needs - {"yes_no", "relative", *SAFETY_KINDS} - set(available))
    if missing:
        name = getattr(judge, "name", type(judge).__name__)
        raise JudgeError(f"judge {name!r} has no classifier for {', '.join(missing)} answers; configure one "
                         f"(judge.{missing[0]}_weights=...) or use judge=rule")
