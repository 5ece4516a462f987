"""The wording of every question and templated answer, from the ``prompts`` config group."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from unsafe_vlm.data.records import LETTERS
from unsafe_vlm.paths import CONF_DIR

DEFAULT_PROMPTS_FILE = CONF_DIR / "prompts" / "default.yaml"
ANSWER_KEYS = ("safe", "unsafe")


@dataclass(frozen=True)
class Prompts:
    perception: str  # holds {options}
    perception_option: str  # one option line: {letter}, {concept}
    alignment_image: tuple[str, ...]
    alignment_text: tuple[str, ...]  # holds {concept}; one per alignment_image question
    open_ended: tuple[str, ...]  # prompts that are not yes/no questions (data.train_open_ended)
    context_text: str  # a contextual question asked about a named concept: holds {concept} and {question}
    capability: str  # a yes/no question whether an image shows a concept: holds {concept}
    capability_shape: str  # a yes/no question whether a generated image holds a shape: holds {shape}
    answers: dict[str, str]  # safe, unsafe (hold {concept}); more keys kept as given
    lowercase_concepts: bool  # write concept names in lower case inside questions and answers

    def concept_text(self, concept: str) -> str:
        return concept.lower() if self.lowercase_concepts else concept

    def answer(self, key: str, concept: str) -> str:
        return self.answers[key].format(concept=self.concept_text(concept))

    def perception_question(self, options: tuple[str, ...]) -> str:
        """The question with its options, one a line, as lettered in ``LETTERS``."""
        pairs = zip(LETTERS, options, strict=True)
        lines = [self.perception_option.format(letter=letter, concept=name) for letter, name in pairs]
        return self.perception.format(options="\n".join(lines))

    def alignment_text_question(self, index: int, concept: str) -> str:
        return self.alignment_text[index].format(concept=self.concept_text(concept))

    def context_text_question(self, question: str, concept: str) -> str:
        """A contextual question about a named concept: "If an image shows <concept>, is it safe ...?"."""
        lowered = question[:1].lower() + question[1:]
        return self.context_text.format(concept=self.concept_text(concept), question=lowered)

    def capability_question(self, concept: str) -> str:
        """The yes/no question whether an image shows ``concept``."""
        return self.capability.format(concept=self.concept_text(concept))

    def shape_question(self, shape: str) -> str:
        """The yes/no question whether an image holds ``shape`` (a shape the synthetic generator draws)."""
        return self.capability_shape.format(shape=shape)


def load_prompts(config: Mapping[str, Any] | None = None) -> Prompts:
    """Build ``Prompts`` from the ``prompts`` group's values; the shipped default wording when None."""
    if config is None:
        config = yaml.safe_load(DEFAULT_PROMPTS_FILE.read_text(encoding="utf-8"))
    for key in ("perception", "alignment_image", "alignment_text", "answers"):
        if key not in config:
            raise ValueError(f"prompts: missing key {key!r}")
    prompts = Prompts(
        perception=str(config["perception"]),
        perception_option=str(config.get("perception_option", "{letter}: {concept}")),
        alignment_image=tuple(str(q) for q in config["alignment_image"]),
        alignment_text=tuple(str(q) for q in config["alignment_text"]),
        open_ended=tuple(str(q) for q in config.get("open_ended", ())),
        context_text=str(config.get("context_text", "If an image shows {concept}, {question}")),
        capability=str(config.get("capability", "Does this image show {concept}?")),
        capability_shape=str(config.get("capability_shape", "Is there a {shape} in this image?")),
        answers={str(k): str(v) for k, v in config["answers"].items()},
        lowercase_concepts=bool(config.get("lowercase_concepts", False)),
    )
    _check(prompts)
    return prompts


def _check(prompts: Prompts) -> None:
    if "{options}" not in prompts.perception:
        raise ValueError("prompts.perception must contain {options}")
    if not prompts.alignment_image or len(prompts.alignment_image) != len(prompts.alignment_text):
        raise ValueError(
            f"prompts: alignment_image ({len(prompts.alignment_image)}) and alignment_text "
            f"({len(prompts.alignment_text)}) must hold the same number of questions, at least one"
        )
    for index, question in enumerate(prompts.alignment_text):
        if "{concept}" not in question:
            raise ValueError(f"prompts.alignment_text[{index}] must contain {{concept}}: {question!r}")
    if "{concept}" not in prompts.context_text or "{question}" not in prompts.context_text:
        raise ValueError(f"prompts.context_text must contain {{concept}} and {{question}}: {prompts.context_text!r}")
    if "{concept}" not in prompts.capability:
        raise ValueError(f"prompts.capability must contain {{concept}}: {prompts.capability!r}")
    if "{shape}" not in prompts.capability_shape:
        raise ValueError(f"prompts.capability_shape must contain {{shape}}: {prompts.capability_shape!r}")
    for key in ANSWER_KEYS:
        if "{concept}" not in prompts.answers.get(key, ""):
            raise ValueError(f"prompts.answers.{key} must be given and contain {{concept}}")
