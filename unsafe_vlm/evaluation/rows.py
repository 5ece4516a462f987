"""One response line per query: the record, the answer, and the judge's verdict."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from unsafe_vlm.api.client import Answer
from unsafe_vlm.data.records import Record
from unsafe_vlm.judges.base import NA, Judge, judge_replies, label, reply_fields
from unsafe_vlm.judges.capabilities import CLASSES, SAFETY_KINDS, judge_as, judge_kind
from unsafe_vlm.judges.relative import ANSWER, REFERENCE, SCORED, RelativeReading, ScoredAnswer, judge_relative
from unsafe_vlm.judges.safety import SafetyItem, judge_safety


def judged_rows(judge: Judge, records: Sequence[Record], responses: Sequence[str]) -> list[dict]:
    """The response lines of one task's answers, judged the way the task says."""
    if records and judge_kind(records[0].task) == "relative":
        items = [scored_answer(record, response) for record, response in zip(records, responses, strict=True)]
        return relative_rows(records, responses, judge_relative(judge, items))
    if records and judge_kind(records[0].task) in SAFETY_KINDS:
        task = records[0].task
        items = [SafetyItem.of(record, response) for record, response in zip(records, responses, strict=True)]
        reading = judge_safety(judge, judge_kind(task), task, items)
        return response_rows(records, responses, reading.probabilities, reading.replies)
    probabilities = judge_responses(judge, records, responses)
    return response_rows(records, responses, probabilities, judge_outputs(judge, records, responses))


def scored_answer(record: Record | dict, response: str) -> ScoredAnswer:
    """What the judge is shown of a record (or of a saved row, which keeps the same fields)."""
    get = record.get if isinstance(record, dict) else lambda name: getattr(record, name)
    return ScoredAnswer(caption=get("caption") or "", question=get("question"), reference=get("gold"),
                        response=response)  # fmt: skip


def relative_rows(records: Sequence[Record], responses: Sequence[str], reading: RelativeReading) -> list[dict]:
    """Response lines with the judge's two scores, ``reference_score`` and ``answer_score`` (null and
    judged N/A where its reply held no two scores), and its reply (``judge_output``) if it gave one."""
    readings = zip(reading.scores.tolist(), reading.replies, strict=True)
    return [
        {**_row(record, response, NA), **scored_fields(scores, reply)}
        for record, response, (scores, reply) in zip(records, responses, readings, strict=True)
    ]


def scored_fields(scores: Sequence[float], reply: str | None) -> dict[str, Any]:
    """``judged``, ``reference_score``, ``answer_score`` (and ``judge_output``, or ``judge_error``) of one
    reading."""
    read = not any(math.isnan(score) for score in scores)
    fields = {"judged": SCORED if read else NA, "reference_score": scores[REFERENCE] if read else None,
              "answer_score": scores[ANSWER] if read else None}  # fmt: skip
    return {**fields, **reply_fields(reply)}


def judge_responses(judge: Judge, records: Sequence[Record], responses: Sequence[str]) -> torch.Tensor:
    """Class probabilities of each response, in the columns of its task's judge kind
    (``judges.capabilities.CLASSES``): (N, 5) for perception, (N, 3) for the others."""
    tasks = {r.task for r in records}
    if len(tasks) != 1:
        raise ValueError(f"a batch mixes tasks {sorted(tasks)}; each loader must hold one task")
    return judge_as(judge, judge_kind(tasks.pop()), responses, [r.options for r in records])


def response_rows(
    records: Sequence[Record],
    responses: Sequence[str],
    probabilities: torch.Tensor,
    judge_outputs: Sequence[str | None] | None = None,
) -> list[dict]:
    """JSON-ready lines: id, task, concept, category, question, image, options, response, judged, gold.

    Records of a named data set outside the benchmark also get ``dataset`` (its name keys the scores),
    and those of a judge that replies in words (an LLM behind an endpoint) its reply, ``judge_output``
    (``judge_error`` where its request failed: an error row).
    """
    kinds = {judge_kind(r.task) for r in records}
    judged = label(probabilities, CLASSES[kinds.pop()] if len(kinds) == 1 else None)
    rows = [
        _row(record, response, verdict) for record, response, verdict in zip(records, responses, judged, strict=True)
    ]
    for row, output in zip(rows, judge_outputs or [None] * len(rows), strict=True):
        row.update(reply_fields(output))
    return rows


def judge_outputs(judge: Judge, records: Sequence[Record], responses: Sequence[str]) -> list[str | None] | None:
    """What a judge that replies in words said about each response (None for the other judges)."""
    return judge_replies(judge, judge_kind(records[0].task), responses, [r.options for r in records])


def _row(record: Record, response: str | None, judged: str) -> dict[str, Any]:
    row = {
        "id": record.id,
        "task": record.task,
        "concept": record.concept,
        "category": record.category,
        "question": record.question,
        "image": record.image,
        "options": list(record.options) if record.options else None,
        "response": response,
        "judged": judged,
        "gold": record.gold,
    }
    if record.dataset is not None:
        row["dataset"] = record.dataset
    if record.caption is not None:
        row["caption"] = record.caption
    for name in ("variant", "request"):  # a safety set's (``data.safety``)
        if getattr(record, name) is not None:
            row[name] = getattr(record, name)
    return row


def api_rows(judge: Judge, pairs: Sequence[tuple[Record, Answer]]) -> list[dict]:
    """Response lines of one task's answers from an API model, with their token counts. An answer
    that is not valid becomes an error row: its response null, judged N/A without asking the judge,
    and ``error`` saying what was wrong (a resume asks it again)."""
    valid = [(record, answer) for record, answer in pairs if answer.error is None]
    rows = []
    if valid:
        records, texts = [r for r, _ in valid], [a.text for _, a in valid]
        rows = judged_rows(judge, records, texts)
        for row, (_, answer) in zip(rows, valid, strict=True):
            row["usage"] = {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens}
            row["finish_reason"] = answer.finish_reason
    for record, answer in pairs:
        if answer.error is not None:
            rows.append({**_row(record, None, NA), "error": answer.error})
    return rows
