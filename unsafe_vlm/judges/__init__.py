"""Judges: turn VLM responses into class probabilities (perception A-D/N-A, alignment Safe/Unsafe/N-A, yes/no)."""

from unsafe_vlm.judges.base import (
    ALIGNMENT_CLASSES,
    NA,
    OPTION_LETTERS,
    PERCEPTION_CLASSES,
    YES_NO_CLASSES,
    Judge,
    Options,
    YesNoJudge,
    classes_for,
    judge_yes_no,
    label,
    option_map,
)
from unsafe_vlm.judges.errors import JudgeError
from unsafe_vlm.judges.registry import JUDGES, build_judge

__all__ = [
    "ALIGNMENT_CLASSES",
    "JUDGES",
    "NA",
    "OPTION_LETTERS",
    "PERCEPTION_CLASSES",
    "YES_NO_CLASSES",
    "Judge",
    "JudgeError",
    "Options",
    "YesNoJudge",
    "build_judge",
    "classes_for",
    "judge_yes_no",
    "label",
    "option_map",
]
