"""Which kind of judging each evaluation task needs, checked before any answer is generated."""

from __future__ import annotations

from collections.abc import Iterable

from unsafe_vlm.judges.base import Judge, judge_yes_no
from unsafe_vlm.judges.errors import JudgeError

NEEDS = {
    "perception": "perception",
    "alignment_image": "alignment",
    "alignment_text": "alignment",
    "alignment_test": "alignment",
    "image_safety": "alignment",
    "mme": "yes_no",
}


def check_judge_covers(judge: Judge, tasks: Iterable[str]) -> None:
    """Fail now, not after a long generation, if the judge cannot judge one of the tasks."""
    needs = {NEEDS.get(task, "alignment") for task in tasks}
    if "yes_no" in needs:
        judge_yes_no(judge, [])
    available = getattr(judge, "tasks", None)
    if available is None:
        return
    missing = sorted(needs - {"yes_no"} - set(available))
    if missing:
        name = getattr(judge, "name", type(judge).__name__)
        raise JudgeError(f"judge {name!r} has no classifier for {', '.join(missing)} answers; configure one "
                         f"(judge.{missing[0]}_weights=...) or use judge=rule")
