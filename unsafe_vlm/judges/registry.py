"""Judges by name (``judge.name``, conf/judge/*.yaml), their typed settings, and building one.

Each judge class declares its settings class (``settings_class``, a frozen ``Settings``); the
YAML holds the defaults. ``judge.name`` may also be ``package.module:Class`` for a judge of your own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from unsafe_vlm.judges.base import Judge
from unsafe_vlm.judges.errors import JudgeError
from unsafe_vlm.registry import Registry, UnknownChoice
from unsafe_vlm.settings import Settings, SettingsError

JUDGES: Registry[type] = Registry(
    "judge",
    "judge.name",
    {
        "llm": "unsafe_vlm.judges.llm:LLMJudge",
        "roberta": "unsafe_vlm.judges.roberta:RobertaJudge",
        "rule": "unsafe_vlm.judges.rule:RuleJudge",
    },
    open=True,
)


def judge_class(name: str) -> type:
    """The class registered under ``name`` (or named by ``package.module:Class``), with its settings class."""
    try:
        cls = JUDGES.get(name)
    except UnknownChoice as error:
        raise JudgeError(str(error)) from None
    settings_class = getattr(cls, "settings_class", None)
    if not (isinstance(cls, type) and isinstance(settings_class, type) and issubclass(settings_class, Settings)):
        raise JudgeError(f"judge.name: {name!r} does not make a judge (a class with a settings_class of its settings)")
    return cls


def judge_settings(node: Mapping[str, Any]) -> Settings:
    """The checked ``judge`` node as its class's settings (unknown or missing keys: one line naming judge.<key>)."""
    cls = judge_class(node.get("name"))
    try:
        return cls.settings_class.from_config(node, "judge")
    except SettingsError as error:
        raise JudgeError(str(error)) from None


def build_judge(settings: Settings) -> Judge:
    """The judge these settings are of (``settings.name`` names its class)."""
    judge = judge_class(settings.name)(**settings.to_dict())
    if not isinstance(judge, Judge):
        raise JudgeError(f"judge.name: {settings.name} does not make a judge (judge_alignment, label, ...)")
    return judge
