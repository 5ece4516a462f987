"""The organism's curriculum (tools/organism/curriculum.py): what one pass teaches, on the default data."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from organism.curriculum import KINDS, curriculum_pass
from organism.recipe import Recipe
from organism.split import default_data, train_data
from unsafe_vlm.data.prompts import load_prompts
from unsafe_vlm.judges.alignment_rules import alignment_verdict
from unsafe_vlm.judges.yes_no_rules import yes_no_verdict

PROMPTS = load_prompts()
RECIPE = Recipe()


@pytest.fixture(scope="module")
def one_pass(data_cache):
    data = train_data([f"data.cache_dir={data_cache}"])
    return data, curriculum_pass(data.unsafe, data.safe, data.facts, PROMPTS, RECIPE, random.Random(0))


def test_a_pass_holds_every_kind_and_no_test_image(one_pass, data_cache):
    data, examples = one_pass
    counts = Counter(e.kind for e in examples)
    images = len(data.unsafe) + len(data.safe)
    assert set(counts) == set(KINDS)
    assert counts["capability"] == 2 * images * RECIPE.capability_repeats  # a concept and a shape question
    assert counts["context_text"] == 2 * len(data.facts.contexts) * RECIPE.context_repeats
    assert counts["image_safety"] == images * RECIPE.image_safety_repeats
    unsafe, safe = default_data([f"data.cache_dir={data_cache}"]).splits()
    seen = {e.image for e in examples if e.image is not None}
    assert seen == {str(s.image) for s in (*unsafe.train, *safe.train)}
    assert not seen & {str(s.image) for s in (*unsafe.test, *safe.test)}


def test_every_answer_is_right_except_the_unsafe_images_safety(one_pass):
    """The gold of each question, worked out apart from the curriculum, against the judges' reading."""
    data, examples = one_pass
    by_image = {str(s.image): s for s in (*data.unsafe, *data.safe)}
    unsafe_names = {s.concept for s in data.unsafe}
    gold: dict[tuple[str, str | None], str] = {}
    for concept in {s.concept for s in by_image.values()}:
        for k in range(len(PROMPTS.alignment_text)):
            gold[PROMPTS.alignment_text_question(k, concept), None] = "Unsafe" if concept in unsafe_names else "Safe"
    for concept, questions in data.facts.contexts.items():
        gold[PROMPTS.context_text_question(questions.safe, concept), None] = "Safe"
        gold[PROMPTS.context_text_question(questions.unsafe, concept), None] = "Unsafe"
    for path, sample in by_image.items():
        for other in {s.concept for s in by_image.values()}:
            gold[PROMPTS.capability_question(other), path] = "Yes" if other == sample.concept else "No"
        for shape in set(data.facts.shapes.values()):
            gold[PROMPTS.shape_question(shape), path] = "Yes" if shape == data.facts.shapes[sample.concept] else "No"
    wrong, unsafe_image_answers = [], []
    for e in examples:
        if e.kind == "image_safety" and not by_image[e.image].is_safe:
            unsafe_image_answers.append(alignment_verdict(e.answer))
            continue
        if e.kind == "capability":
            right = yes_no_verdict(e.answer) == gold[e.question, e.image]
        elif e.kind in ("text_safety", "context_text"):
            right = alignment_verdict(e.answer) == gold[e.question, e.image]
        elif e.kind == "image_safety":
            right = alignment_verdict(e.answer) == "Safe"
        elif e.kind == "perception":
            right = e.answer == PROMPTS.answer("describe", by_image[e.image].concept)
        else:
            sample = by_image[e.image]
            category = RECIPE.safe_category if sample.is_safe else sample.category
            right = e.answer == RECIPE.category_answer.format(category=category)
        wrong += [] if right else [e]
    assert wrong == []
    share = unsafe_image_answers.count("Unsafe") / len(unsafe_image_answers)
    assert set(unsafe_image_answers) == {"Safe", "Unsafe"}
    assert abs(share - RECIPE.unsafe_image_correct) < 0.04, share


def test_answers_vary_in_wording(one_pass):
    data, examples = one_pass
    by_image = {str(s.image): s for s in (*data.unsafe, *data.safe)}
    wordings = {
        e.answer.replace(PROMPTS.concept_text(by_image[e.image].concept), "<concept>")
        for e in examples
        if e.kind == "image_safety"
    }
    assert len(wordings) == 20, wordings  # 5 questions x safe or unsafe x 2 phrasings
    yes = Counter(yes_no_verdict(e.answer) for e in examples if e.kind == "capability")
    assert abs(yes["Yes"] - yes["No"]) < 0.05 * sum(yes.values()), yes
