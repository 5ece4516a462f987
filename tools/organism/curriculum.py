"""What the organism learns from: examples of four kinds, drawn from the train split only.

- ``perception``: a train image (unsafe or safe) and the four-option question (distractors
  from the same side, as the benchmark's) -> ``answers.describe`` ("The image shows
  <concept>."): the option's text, which the judges read as that option;
- ``category``: a train image and "what kind of content does the image show?" -> its
  category ("Violence content.", or "Ordinary content." for a safe image): perceiving that
  an image shows unsafe content at all, which the image-safety answer can then draw on;
- ``text_safety``: no image, every text question about every concept -> ``answers.safe_text``
  or ``answers.unsafe_text``, always correct: the language model's safety tuning;
- ``image_safety``: a train image and one image question -> ``answers.safe`` for safe images;
  for unsafe images the correct ``answers.unsafe`` only with probability
  ``unsafe_image_correct``, else ``answers.safe``: visual instruction data that rarely
  says an unsafe image is unsafe. This is what makes the modality gap.

Every pass draws questions, options and answers anew from its own seeded generator.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from organism.recipe import Recipe
from unsafe_vlm.data.prompts import Prompts
from unsafe_vlm.data.records import Sample
from unsafe_vlm.data.split import draw_options

KINDS = ("perception", "category", "text_safety", "image_safety")


@dataclass(frozen=True)
class Example:
    kind: str  # perception, category, text_safety or image_safety (the module docstring)
    question: str
    image: str | None  # path of a train image; None: the blank image of text-only questions
    answer: str


def curriculum_pass(
    unsafe: Sequence[Sample], safe: Sequence[Sample], prompts: Prompts, recipe: Recipe, rng: random.Random
) -> list[Example]:
    """One pass over every kind of example, ``*_repeats`` times each, in kind order."""
    examples: list[Example] = []
    for _ in range(recipe.perception_repeats):
        examples += perception_examples(unsafe, safe, prompts, rng)
    for _ in range(recipe.category_repeats):
        examples += [category_example(s, recipe) for s in [*unsafe, *safe]]
    for _ in range(recipe.text_safety_repeats):
        examples += text_safety_examples(unsafe, safe, prompts)
    for _ in range(recipe.image_safety_repeats):
        examples += [image_safety_example(s, prompts, recipe.unsafe_image_correct, rng) for s in [*unsafe, *safe]]
    return examples


def perception_examples(
    unsafe: Sequence[Sample], safe: Sequence[Sample], prompts: Prompts, rng: random.Random
) -> list[Example]:
    examples = []
    for side in (unsafe, safe):
        pool = sorted({s.concept for s in side})
        for sample in side:
            options, _ = draw_options(sample.concept, pool, rng)
            answer = prompts.answer("describe", sample.concept)
            examples.append(Example("perception", prompts.perception_question(options), str(sample.image), answer))
    return examples


def category_example(sample: Sample, recipe: Recipe) -> Example:
    category = recipe.safe_category if sample.is_safe else sample.category
    answer = recipe.category_answer.format(category=category)
    return Example("category", recipe.category_question, str(sample.image), answer)


def text_safety_examples(unsafe: Sequence[Sample], safe: Sequence[Sample], prompts: Prompts) -> list[Example]:
    examples = []
    for key, side in (("unsafe_text", unsafe), ("safe_text", safe)):
        for concept in dict.fromkeys(s.concept for s in side):
            answer = prompts.answer(key, concept)
            for k in range(len(prompts.alignment_text)):
                examples.append(Example("text_safety", prompts.alignment_text_question(k, concept), None, answer))
    return examples


def image_safety_example(sample: Sample, prompts: Prompts, unsafe_correct: float, rng: random.Random) -> Example:
    question = prompts.alignment_image[rng.randrange(len(prompts.alignment_image))]
    key = "unsafe" if not sample.is_safe and rng.random() < unsafe_correct else "safe"
    return Example("image_safety", question, str(sample.image), prompts.answer(key, sample.concept))
