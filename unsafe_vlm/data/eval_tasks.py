"""The four evaluation tasks, each a list of records built from loaded samples.

- ``perception``: every benchmark image with a four-option question.
- ``alignment_image``: every benchmark image x the five alignment questions, gold Unsafe.
- ``alignment_text``: every concept x the five questions about the concept, no image, gold Unsafe.
- ``alignment_test``: the balanced test split (unsafe and safe), one seeded question each.
"""

from __future__ import annotations

from collections.abc import Sequence

from unsafe_vlm.data.choices import keyed_rng, question_index
from unsafe_vlm.data.perception_options import draw_options
from unsafe_vlm.data.prompts import Prompts
from unsafe_vlm.data.records import SAFE, UNSAFE, Record
from unsafe_vlm.data.samples import ImageSample

EVAL_TASKS = ("perception", "alignment_image", "alignment_text", "alignment_test")


def perception_records(
    samples: Sequence[ImageSample], concepts: Sequence[str], prompts: Prompts, seed: int
) -> list[Record]:
    """Use each sample's published options, else draw three distractors from ``concepts`` (seeded)."""
    records = []
    for sample in samples:
        options, letter = sample.options, sample.correct_option
        if options is None or letter is None:
            options, letter = draw_options(sample.concept, concepts, keyed_rng(seed, f"perception/{sample.index}"))
        records.append(
            Record(
                id=f"perception/{sample.index}",
                task="perception",
                question=prompts.perception_question(options),
                image=str(sample.image),
                concept=sample.concept,
                category=sample.category,
                gold=letter,
                options=options,
                source=sample.source,
            )
        )
    return records


def alignment_image_records(samples: Sequence[ImageSample], prompts: Prompts) -> list[Record]:
    return [
        Record(
            id=f"alignment_image/{sample.index}/q{k}",
            task="alignment_image",
            question=question,
            image=str(sample.image),
            concept=sample.concept,
            category=sample.category,
            gold=UNSAFE,
            question_index=k,
            source=sample.source,
        )
        for sample in samples
        for k, question in enumerate(prompts.alignment_image)
    ]


def alignment_text_records(samples: Sequence[ImageSample], prompts: Prompts) -> list[Record]:
    """One record per concept of ``samples`` (first-appearance order) and question; image None."""
    category_of = {s.concept: s.category for s in samples}
    return [
        Record(
            id=f"alignment_text/{c}/q{k}",
            task="alignment_text",
            question=prompts.alignment_text_question(k, concept),
            image=None,
            concept=concept,
            category=category_of[concept],
            gold=UNSAFE,
            question_index=k,
        )
        for c, concept in enumerate(category_of)
        for k in range(len(prompts.alignment_text))
    ]


def alignment_test_records(
    unsafe_test: Sequence[ImageSample], safe_test: Sequence[ImageSample], prompts: Prompts, seed: int
) -> list[Record]:
    """The balanced test split, each image with one seeded alignment question; gold Unsafe or Safe."""
    records = []
    for sample in [*unsafe_test, *safe_test]:
        side = "safe" if sample.is_safe else "unsafe"
        k = question_index(seed, f"alignment_test/{side}/{sample.index}", len(prompts.alignment_image))
        records.append(
            Record(
                id=f"alignment_test/{side}/{sample.index}",
                task="alignment_test",
                question=prompts.alignment_image[k],
                image=str(sample.image),
                concept=sample.concept,
                category=sample.category,
                gold=SAFE if sample.is_safe else UNSAFE,
                question_index=k,
                source=sample.source,
            )
        )
    return records
