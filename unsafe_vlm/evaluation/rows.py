"""One response line per query: the record, the answer, and the judge's verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from unsafe_vlm.data.records import Record
from unsafe_vlm.judges.base import OPTION_LETTERS, YES_NO_CLASSES, Judge, judge_yes_no, label

PERCEPTION = "perception"
YES_NO_TASKS = ("mme",)


def judge_responses(judge: Judge, records: Sequence[Record], responses: Sequence[str]) -> torch.Tensor:
    """Class probabilities of each response: (N, 5) for perception, (N, 3) for the others.

    The three columns are ``YES_NO_CLASSES`` for yes/no tasks (mme), else ``ALIGNMENT_CLASSES``
    (the alignment tasks and image_safety).
    """
    tasks = {r.task for r in records}
    if len(tasks) != 1:
        raise ValueError(f"a batch mixes tasks {sorted(tasks)}; each loader must hold one task")
    if tasks == {PERCEPTION}:
        options = [dict(zip(OPTION_LETTERS, r.options or (), strict=True)) for r in records]
        return judge.judge_perception(responses, options)
    if tasks <= set(YES_NO_TASKS):
        return judge_yes_no(judge, responses)
    return judge.judge_alignment(responses)


def response_rows(records: Sequence[Record], responses: Sequence[str], probabilities: torch.Tensor) -> list[dict]:
    """JSON-ready lines: id, task, concept, category, question, image, options, response, judged, gold.

    Records of a named data set outside the benchmark also get ``dataset`` (its name keys the scores).
    """
    yes_no = any(r.task in YES_NO_TASKS for r in records)
    judged = label(probabilities, YES_NO_CLASSES if yes_no else None)
    rows: list[dict[str, Any]] = []
    for record, response, verdict in zip(records, responses, judged, strict=True):
        rows.append(
            {
                "id": record.id,
                "task": record.task,
                "concept": record.concept,
                "category": record.category,
                "question": record.question,
                "image": record.image,
                "options": list(record.options) if record.options else None,
                "response": response,
                "judged": verdict,
                "gold": record.gold,
            }
        )
        if record.dataset is not None:
            rows[-1]["dataset"] = record.dataset
    return rows
