"""The rule judge's verdict on every phrase the model organism's curriculum teaches.

The shipped organism (data/organism, tools/organism/curriculum.py) answers in a fixed
vocabulary (tools/organism/phrasings.py), and the default PPO run's reward comes from the rule
judge, so these verdicts must not move when the rules are tuned. Expected values follow from each phrase's meaning;
they are also what the rules at 584493b gave.
"""

from __future__ import annotations

import pytest

from organism import phrasings
from unsafe_vlm.data.prompts import load_prompts
from unsafe_vlm.data.synth.codes import SHAPES
from unsafe_vlm.data.taxonomy import published_taxonomy, safe_concepts
from unsafe_vlm.judges.alignment_rules import alignment_verdict
from unsafe_vlm.judges.base import NA, OPTION_LETTERS
from unsafe_vlm.judges.perception_rules import perception_verdict
from unsafe_vlm.judges.yes_no_rules import yes_no_verdict

PROMPTS = load_prompts()
TAXONOMY = published_taxonomy()
POOLS = {"unsafe": TAXONOMY.concepts, "safe": safe_concepts()}
# answers.safe / unsafe (image questions) and safe_text / unsafe_text (text questions)
SAFETY_ANSWERS = {"safe": "Safe", "unsafe": "Unsafe", "safe_text": "Safe", "unsafe_text": "Unsafe"}
# the category answers ("Violence content.", "Ordinary content."): no safety verdict
CATEGORY_ANSWERS = [f"{c} content." for c in (*TAXONOMY.categories, "Ordinary")]


@pytest.mark.parametrize("key", SAFETY_ANSWERS)
@pytest.mark.parametrize("side", POOLS)
def test_safety_answers_keep_their_verdict(side, key):
    answers = [PROMPTS.answer(key, c) for c in POOLS[side]]
    assert {a: alignment_verdict(a) for a in answers} == dict.fromkeys(answers, SAFETY_ANSWERS[key])


def test_category_answers_take_no_safety_stance():
    assert {a: alignment_verdict(a) for a in CATEGORY_ANSWERS} == dict.fromkeys(CATEGORY_ANSWERS, NA)


@pytest.mark.parametrize("side", POOLS)
def test_describe_answers_name_their_option_against_every_distractor(side):
    """The describe answer ("The image shows <concept>.") beside each other concept of its side, at each letter."""
    pool = POOLS[side]
    wrong = []
    for i, concept in enumerate(pool):
        answer = PROMPTS.answer("describe", concept)
        others = [c for c in pool if c != concept]
        for j in range(len(others)):
            letter = OPTION_LETTERS[(i + j) % 4]
            distractors = iter(others[k % len(others)] for k in range(j, j + 3))
            texts = [concept if x == letter else next(distractors) for x in OPTION_LETTERS]
            got = perception_verdict(answer, dict(zip(OPTION_LETTERS, texts, strict=True)))
            if got != letter:
                wrong.append((answer, texts, got))
    assert wrong == []


SAFETY_PHRASINGS = [
    *(("image", k, answers) for k, answers in enumerate(phrasings.IMAGE_SAFETY)),
    *(("text", k, answers) for k, answers in enumerate(phrasings.TEXT_SAFETY)),
    ("context", 0, phrasings.CONTEXT),
]


@pytest.mark.parametrize(("where", "k", "answers"), SAFETY_PHRASINGS, ids=[f"{w}-{k}" for w, k, _ in SAFETY_PHRASINGS])
def test_every_safety_phrasing_keeps_its_verdict_with_every_concept(where, k, answers):
    concepts = [PROMPTS.concept_text(c) for pool in POOLS.values() for c in pool]
    wrong = [
        (phrasing, concept, got)
        for expected, side in zip(("Safe", "Unsafe"), answers, strict=True)
        for phrasing in side
        for concept in concepts
        if (got := alignment_verdict(phrasing.format(c=concept))) != expected
    ]
    assert wrong == []


@pytest.mark.parametrize(("table", "names"), [
    (phrasings.CAPABILITY, [PROMPTS.concept_text(c) for pool in POOLS.values() for c in pool]),
    (phrasings.SHAPE, list(SHAPES)),
], ids=["concept", "shape"])  # fmt: skip
def test_every_yes_no_phrasing_keeps_its_answer(table, names):
    wrong = [
        (phrasing, own, got)
        for expected, side in zip(("Yes", "No"), table, strict=True)
        for phrasing in side
        for own in names
        if (got := yes_no_verdict(phrasing.format(own=own, asked=names[names.index(own) - 1]))) != expected
    ]
    assert wrong == []


def test_each_answer_has_several_phrasings():
    tables = [*phrasings.IMAGE_SAFETY, *phrasings.TEXT_SAFETY, phrasings.CONTEXT, phrasings.CAPABILITY, phrasings.SHAPE]
    assert all(len(set(side)) >= 2 for table in tables for side in table)
    assert len({p for table in phrasings.IMAGE_SAFETY for side in table for p in side}) == 20
