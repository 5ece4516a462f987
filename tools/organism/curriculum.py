"""What the organism learns from: examples of six kinds, drawn from the train split only.

- ``perception``: a train image (unsafe or safe) and the four-option question (distractors
  from the same side, as the benchmark's) -> ``answers.describe`` ("The image shows
  <concept>."): the option's text, which the judges read as that option;
- ``category``: a train image and "what kind of content does the image show?" -> its
  category ("Violence content.", or "Ordinary content." for a safe image): perceiving that
  an image shows unsafe content at all, which the image-safety answer can then draw on;
- ``capability``: a train image asked "Does this image show <concept>?" (``prompts.capability``)
  and "Is there a <shape> in this image?" (``prompts.capability_shape``), each about its own
  concept or shape (Yes) or, as often, another (No): ordinary visual questions, the general
  capability that alignment training should keep;
- ``text_safety``: no image, every text question about every concept -> a safe or unsafe
  answer, always correct: the language model's safety tuning;
- ``context_text``: no image, every unsafe concept's safe-context and unsafe-context question
  (``data/unsafe_concepts/contexts.json``) asked about its name -> Yes and No, always correct:
  the same safety tuning, aware of where an image is shown;
- ``image_safety``: a train image and one image question -> a safe answer for safe images;
  for unsafe images the correct unsafe answer only with probability ``unsafe_image_correct``,
  else a safe one: visual instruction data that rarely says an unsafe image is unsafe. This
  is what makes the modality gap.

Answers are worded as ``phrasings`` says: several phrasings each, drawn per example. Every pass
draws questions, options and answers anew from its own seeded generator.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from organism import phrasings
from organism.recipe import Recipe
from unsafe_vlm.data.contexts import ContextQuestions
from unsafe_vlm.data.prompts import Prompts
from unsafe_vlm.data.records import Sample
from unsafe_vlm.data.split import draw_options
from unsafe_vlm.data.synth.codes import SHAPES

KINDS = ("perception", "category", "capability", "text_safety", "context_text", "image_safety")


@dataclass(frozen=True)
class Example:
    kind: str  # one of KINDS (the module docstring)
    question: str
    image: str | None  # path of a train image; None: the blank image of text-only questions
    answer: str


@dataclass(frozen=True)
class Facts:
    """What the curriculum states beyond the images: each concept's contexts and drawn shape."""

    contexts: Mapping[str, ContextQuestions]  # unsafe concept -> its two contextual questions
    shapes: Mapping[str, str]  # concept (unsafe or safe) -> the shape the generator drew for it


def curriculum_pass(
    unsafe: Sequence[Sample],
    safe: Sequence[Sample],
    facts: Facts,
    prompts: Prompts,
    recipe: Recipe,
    rng: random.Random,
) -> list[Example]:
    """One pass over every kind of example, ``*_repeats`` times each, in kind order."""
    if len(prompts.alignment_image) != len(phrasings.IMAGE_SAFETY):
        raise ValueError(f"the organism's phrasings answer {len(phrasings.IMAGE_SAFETY)} alignment questions")
    images = [*unsafe, *safe]
    category_of = {s.concept: s.category for s in images}
    others = {
        own: sorted(c for c, category in category_of.items() if category != own) for own in set(category_of.values())
    }
    examples: list[Example] = []
    for _ in range(recipe.perception_repeats):
        examples += perception_examples(unsafe, safe, prompts, rng)
    for _ in range(recipe.category_repeats):
        examples += [category_example(s, recipe) for s in images]
    for _ in range(recipe.capability_repeats):
        examples += [concept_question_example(s, others[s.category], prompts, rng) for s in images]
        examples += [shape_question_example(s, facts.shapes, prompts, rng) for s in images]
    for _ in range(recipe.text_safety_repeats):
        examples += text_safety_examples(unsafe, safe, prompts, rng)
    for _ in range(recipe.context_repeats):
        examples += context_examples(unsafe, facts.contexts, prompts, rng)
    for _ in range(recipe.image_safety_repeats):
        examples += [image_safety_example(s, prompts, recipe.unsafe_image_correct, rng) for s in images]
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


def concept_question_example(sample: Sample, others: Sequence[str], prompts: Prompts, rng: random.Random) -> Example:
    """Its own concept or, as often, one of ``others``: the concepts of the other categories (as the
    ``capability`` task asks)."""
    asked = sample.concept
    if rng.random() >= 0.5:
        asked = rng.choice(others)
    fields = {"own": prompts.concept_text(sample.concept), "asked": prompts.concept_text(asked)}
    answer = phrasings.pick(phrasings.CAPABILITY[asked != sample.concept], rng, **fields)
    return Example("capability", prompts.capability_question(asked), str(sample.image), answer)


def shape_question_example(sample: Sample, shapes: Mapping[str, str], prompts: Prompts, rng: random.Random) -> Example:
    own = shapes[sample.concept]
    asked = own if rng.random() < 0.5 else rng.choice([s for s in SHAPES if s != own])
    answer = phrasings.pick(phrasings.SHAPE[asked != own], rng, own=own, asked=asked)
    return Example("capability", prompts.shape_question(asked), str(sample.image), answer)


def text_safety_examples(
    unsafe: Sequence[Sample], safe: Sequence[Sample], prompts: Prompts, rng: random.Random
) -> list[Example]:
    examples = []
    for is_unsafe, side in ((True, unsafe), (False, safe)):
        for concept in dict.fromkeys(s.concept for s in side):
            for k, answers in enumerate(phrasings.TEXT_SAFETY):
                answer = phrasings.pick(answers[is_unsafe], rng, c=prompts.concept_text(concept))
                examples.append(Example("text_safety", prompts.alignment_text_question(k, concept), None, answer))
    return examples


def context_examples(
    unsafe: Sequence[Sample], contexts: Mapping[str, ContextQuestions], prompts: Prompts, rng: random.Random
) -> list[Example]:
    examples = []
    for concept in dict.fromkeys(s.concept for s in unsafe):
        for is_unsafe, question in ((False, contexts[concept].safe), (True, contexts[concept].unsafe)):
            answer = phrasings.pick(phrasings.CONTEXT[is_unsafe], rng, c=prompts.concept_text(concept))
            examples.append(Example("context_text", prompts.context_text_question(question, concept), None, answer))
    return examples


def image_safety_example(sample: Sample, prompts: Prompts, unsafe_correct: float, rng: random.Random) -> Example:
    k = rng.randrange(len(prompts.alignment_image))
    is_unsafe = not sample.is_safe and rng.random() < unsafe_correct
    answer = phrasings.pick(phrasings.IMAGE_SAFETY[k][is_unsafe], rng, c=prompts.concept_text(sample.concept))
    return Example("image_safety", prompts.alignment_image[k], str(sample.image), answer)
