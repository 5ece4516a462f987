"""The data modules' settings (``data.*``), each one typed object checked before any file is read.

The YAML under ``conf/data/`` is the one place their defaults are written; a data module is
built from the settings of a whole ``data`` node (``conf/data/<name>.yaml``), checked as the
settings class of its ``source`` (``data.sources.data_settings``). A wrong value is one
``DataConfigError`` naming its key, e.g. ``data.eval_batch_size: 0 must be at least 1``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from unsafe_vlm.data.replay import REPLAY_TASKS
from unsafe_vlm.data.synth.params import SynthParams
from unsafe_vlm.settings import Refused, Settings, limit

PREFIX = "data"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def _plain_name(value: str) -> str | None:
    return None if _NAME.match(value) else "must be a plain name (letters, digits, _.+-)"


@dataclass(frozen=True)
class EvalLoaderSettings(Settings):
    """What every data module's evaluation loaders need."""

    source: str  # the data source: a name of ``data.sources.SOURCES``, or ``package.module:Name``
    name: str  # a label for logs and tables; a set outside the benchmark keys its scores by it
    eval_batch_size: int = limit(ge=1)  # records per evaluation batch and process
    image_cache_mib: int = limit(ge=0)  # image features an evaluation keeps for later questions (0: none)
    num_workers: int = limit(ge=0)  # DataLoader worker processes (images are decoded there)
    seed: int  # split, question choices, drawn options, limits


@dataclass(frozen=True)
class BenchmarkSettings(EvalLoaderSettings):
    """``conf/data/unsafe_concepts.yaml`` and ``conf/data/synthetic.yaml`` (see ``SafetyDataModule``)."""

    root: str | None
    safe_root: str | None
    metadata_dir: str | None
    prompts: Any  # the prompts group, checked by ``load_prompts``
    tasks: list[str] = limit(check=lambda tasks: None if tasks else "is empty: name at least one task to evaluate")
    val_tasks: list[str]
    train_format: Literal["sft", "dpo", "ppo"] | None
    train_ratio: float = limit(gt=0, lt=1)
    limit_per_task: int | None = limit(ge=1)
    eval_split: Literal["all", "test"]
    holdout_concepts: list[str]
    verify_images: bool
    safe_concepts_file: str | None
    contexts_file: str  # the contextual questions (context_image, context_text)
    train_contexts: bool  # also train each unsafe train image with both contextual questions
    train_open_ended: bool  # PPO, GRPO: also ask each train image one of prompts.open_ended
    train_replay: list[str]  # capability tasks whose questions about the unsafe train images are mixed into
    # training, answered by the model before training (``data.replay``); [] is off
    hub_id: str | None
    safe_hub_id: str | None
    hub_split: str
    synthetic: dict[str, Any] | None
    cache_dir: str

    def check(self) -> None:
        for task in self.train_replay:
            if task not in REPLAY_TASKS:
                choices = ", ".join(REPLAY_TASKS)
                raise Refused("train_replay", f"{task!r} is not a task it can replay; choose from {choices}")
        if self.synthetic is not None:
            try:
                SynthParams.from_mapping(self.synthetic)
            except (TypeError, ValueError) as error:
                raise Refused("synthetic", str(error).removeprefix("synthetic: ")) from None


@dataclass(frozen=True)
class ExternalSetSettings(EvalLoaderSettings):
    """``conf/data/mme.yaml`` (and the common part of the other sets outside the benchmark)."""

    path: str | None  # the set's file or folder (required; null in the YAML so that a user must say it)
    limit: int | None = limit(ge=1)  # keep a seeded subset of at most this many records

    def check(self) -> None:
        problem = _plain_name(self.name)
        if problem:
            raise Refused("name", f"{self.name!r} {problem}")


@dataclass(frozen=True)
class ImageSafetySettings(ExternalSetSettings):
    """``conf/data/image_safety.yaml`` (see ``ImageSafetyDataModule``)."""

    format: Literal["folder", "tsv"] | None
    metadata: str
    prompts: Any
    unsafe_value: int | str
    labels: dict[str, str]
