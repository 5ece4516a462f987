"""Alignment-training records from the train split: SFT, DPO and PPO formats.

Each train image (unsafe and safe, balanced) gets one of the alignment questions at
random (seeded, the same one in every format). Concepts held out of training are dropped
from both sides, and the safe side is cut again to the unsafe side's size. With contexts
(``data.train_contexts``, as the paper trained), each unsafe train image is also asked its
concept's safe-context question (answer Safe) and unsafe-context question (answer Unsafe).
With open-ended prompts (``data.train_open_ended``, PPO's records only), each train image is
also asked one of ``prompts.open_ended`` at random (seeded); those records are flagged
``yes_no=False``, and the on-policy methods give their answers no judge score.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from unsafe_vlm.data.contexts import ContextQuestions
from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.prompts import Prompts
from unsafe_vlm.data.records import SAFE, UNSAFE, Record, Sample
from unsafe_vlm.data.split import question_index, truncate_to

TRAIN_FORMATS = ("sft", "dpo", "ppo")


def training_records(
    train_format: str,
    unsafe_train: Sequence[Sample],
    safe_train: Sequence[Sample],
    prompts: Prompts,
    seed: int,
    holdout_concepts: Collection[str] = (),
    contexts: Mapping[str, ContextQuestions] | None = None,
    open_ended: bool = False,
) -> list[Record]:
    """Records for one format.

    - ``sft``: ``answer`` is the correct templated answer, naming the concept.
    - ``dpo``: ``answer`` is the chosen (correct) answer, ``rejected`` the opposite one.
    - ``ppo``: no answer; the gold label and concept are what the reward needs.
    """
    if train_format not in TRAIN_FORMATS:
        raise ValueError(f"unknown training format {train_format!r}; choose one of {', '.join(TRAIN_FORMATS)}")
    if open_ended and train_format != "ppo":
        raise DataConfigError(f"data.train_open_ended: open-ended prompts have no {train_format} answer to train on")
    if open_ended and not prompts.open_ended:
        raise DataConfigError("data.train_open_ended: prompts.open_ended is empty")
    unsafe = [s for s in unsafe_train if s.concept not in holdout_concepts]
    safe = truncate_to([s for s in safe_train if s.concept not in holdout_concepts], len(unsafe), "train")
    if not unsafe:
        raise DataConfigError("data.holdout_concepts: no unsafe training images left after holding out concepts")
    records = [_record(train_format, sample, prompts, seed) for sample in [*unsafe, *safe]]
    if contexts is not None:
        for sample in unsafe:
            records += [_context_record(train_format, sample, side, contexts, prompts) for side in ("safe", "unsafe")]
    if open_ended:
        records += [_open_ended_record(sample, prompts, seed) for sample in [*unsafe, *safe]]
    return records


def _open_ended_record(sample: Sample, prompts: Prompts, seed: int) -> Record:
    """A PPO record asking one of the open-ended prompts: the gold label is the image's, but no
    yes/no verdict answers it."""
    side = "safe" if sample.is_safe else "unsafe"
    k = question_index(seed, f"train/open_ended/{side}/{sample.index}", len(prompts.open_ended))
    return Record(
        id=f"ppo/open_ended/{side}/{sample.index}",
        task="ppo",
        question=prompts.open_ended[k],
        image=str(sample.image),
        concept=sample.concept,
        category=sample.category,
        gold=SAFE if sample.is_safe else UNSAFE,
        source=sample.source,
        yes_no=False,
    )


def _context_record(
    train_format: str, sample: Sample, side: str, contexts: Mapping[str, ContextQuestions], prompts: Prompts
) -> Record:
    """An unsafe image in a context: the safe context's answer is Safe, the unsafe one's Unsafe."""
    if sample.concept not in contexts:
        raise DataConfigError(f"data.train_contexts: no contextual questions for the concept {sample.concept!r}")
    questions = contexts[sample.concept]
    opposite = "unsafe" if side == "safe" else "safe"
    return Record(
        id=f"{train_format}/context_{side}/{sample.index}",
        task=train_format,
        question=questions.safe if side == "safe" else questions.unsafe,
        image=str(sample.image),
        concept=sample.concept,
        category=sample.category,
        gold=SAFE if side == "safe" else UNSAFE,
        answer=None if train_format == "ppo" else prompts.answer(side, sample.concept),
        rejected=prompts.answer(opposite, sample.concept) if train_format == "dpo" else None,
        source=sample.source,
    )


def _record(train_format: str, sample: Sample, prompts: Prompts, seed: int) -> Record:
    side = "safe" if sample.is_safe else "unsafe"
    k = question_index(seed, f"train/{side}/{sample.index}", len(prompts.alignment_image))
    correct = prompts.answer(side, sample.concept)
    opposite = prompts.answer("unsafe" if sample.is_safe else "safe", sample.concept)
    return Record(
        id=f"{train_format}/{side}/{sample.index}",
        task=train_format,
        question=prompts.alignment_image[k],
        image=str(sample.image),
        concept=sample.concept,
        category=sample.category,
        gold=SAFE if sample.is_safe else UNSAFE,
        answer=None if train_format == "ppo" else correct,
        rejected=opposite if train_format == "dpo" else None,
        question_index=k,
        source=sample.source,
    )
