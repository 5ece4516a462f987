"""Build the judge a config asks for (``conf/judge/*.yaml``)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from unsafe_vlm.judges.base import Judge
from unsafe_vlm.judges.errors import JudgeError

JUDGES = {
    "rule": "unsafe_vlm.judges.rule.RuleJudge",
    "roberta": "unsafe_vlm.judges.roberta.RobertaJudge",
    "llm": "unsafe_vlm.judges.llm.LLMJudge",
}
"""Judge names and their classes; a config may also name any class with ``_target_``."""


def build_judge(cfg: DictConfig | Mapping[str, Any]) -> Judge:
    """The judge of ``cfg``: its ``_target_`` class, else the class registered under ``cfg.name``.

    Every other key is passed to the class as a keyword argument.
    """
    settings = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    target = settings.pop("_target_", None)
    name = settings.get("name")
    if target is None:
        if name not in JUDGES:
            raise JudgeError(f"unknown judge {name!r}; choose one of: {', '.join(sorted(JUDGES))}")
        target = JUDGES[name]
    try:
        cls = get_class(target)
    except Exception as error:
        raise JudgeError(f"judge._target_: cannot import {target!r}: {error}") from None
    _check_settings(cls, settings)
    judge = cls(**settings)
    if not isinstance(judge, Judge):
        raise JudgeError(f"judge._target_: {target} does not make a judge (judge_perception, judge_alignment, label)")
    return judge


def _check_settings(cls: type, settings: Mapping[str, Any]) -> None:
    """Name the first config key the class does not take, with the ones it does."""
    try:
        accepted = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return
    unknown = sorted(set(settings) - set(accepted))
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        raise JudgeError(f"judge.{unknown[0]} is not a setting of {cls.__name__}; its settings: {', '.join(accepted)}")
