"""Replay: capability questions about train images, mixed into alignment training so that the model
keeps answering them as it did before (``data.train_replay``).

Each unsafe train image (held-out concepts aside) is asked one question of each replayed task's
pair, its own concept or shape (gold Yes) or another (gold No), drawn by a generator keyed by the
seed, the task and the image. The answers trained on are the reference model's own (the model as
it was before training, ``give_replay_answers``), never the gold answer:

- ``sft``: the reference's answer is the target;
- ``dpo``: it is the chosen answer, and the same answer with its leading yes/no word swapped the
  rejected one (an answer that does not start with yes or no is left out);
- ``ppo``: no answer; the record is flagged ``yes_no=False``, so the on-policy methods give the
  policy's own answers no judge score, only the KL penalty (``method.mask_open_ended``), and its
  gold is the image's safety label, which that mask leaves unused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.records import SAFE, UNSAFE, Record
from unsafe_vlm.data.split import keyed_rng

REPLAY_TASKS = ("capability", "capability_shape")
_LEADING_ANSWER = re.compile(r"^(\W*)(yes|no)\b", re.IGNORECASE)


def one_of_each_pair(pairs: Sequence[Record], seed: int) -> list[Record]:
    """One record of each ``(own, other)`` pair of a capability task, drawn per image."""
    if len(pairs) % 2:
        raise ValueError(f"capability records come in pairs, got {len(pairs)}")
    return [
        pairs[i + keyed_rng(seed, f"replay/{pairs[i].id}").randrange(2)] for i in range(0, len(pairs), 2)
    ]


def opposite_answer(answer: str) -> str | None:
    """The answer with its leading yes/no word swapped, case kept ("Yes, it does." -> "No, it does.");
    None when it does not start with yes or no."""
    match = _LEADING_ANSWER.match(answer)
    if match is None:
        return None
    word = match.group(2)
    swapped = "no" if word.lower() == "yes" else "yes"
    if word.isupper() and len(word) > 1:
        swapped = swapped.upper()
    elif word[0].isupper():
        swapped = swapped.capitalize()
    return answer[: match.start(2)] + swapped + answer[match.end(2) :]


def replay_records(
    train_format: str, questions: Sequence[Record], answers: Mapping[str, str] | None
) -> list[Record]:
    """The replay questions as training records of ``train_format`` (sft, dpo, ppo), their targets
    the reference model's ``answers`` (by question id; not needed for ppo)."""
    if train_format == "ppo":
        return [_record(train_format, q, gold=SAFE if q.category == SAFE else UNSAFE, yes_no=False) for q in questions]
    if answers is None:
        raise DataConfigError(
            "data.train_replay: the reference model's answers to the replay questions were not given; "
            "fit asks the model for them before training"
        )
    missing = [q.id for q in questions if q.id not in answers]
    if missing:
        raise DataConfigError(f"data.train_replay: no reference answer to {missing[0]!r} ({len(missing)} missing)")
    if train_format == "sft":
        return [_record(train_format, q, gold=q.gold, answer=answers[q.id]) for q in questions]
    records = []
    for q in questions:
        rejected = opposite_answer(answers[q.id])
        if rejected is not None:
            records.append(_record(train_format, q, gold=q.gold, answer=answers[q.id], rejected=rejected))
    return records


def _record(train_format: str, question: Record, **fields) -> Record:
    return Record(
        id=f"{train_format}/replay/{question.id}", task=train_format, question=question.question,
        image=question.image, concept=question.concept, category=question.category, source=question.source,
        **fields,
    )  # fmt: skip
