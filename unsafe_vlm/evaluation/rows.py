"""One response line per query: the record, the answer, and the judge's verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from unsafe_vlm.api.client import Answer
from unsafe_vlm.data.records import Record
from unsafe_vlm.judges.base import NA, Judge, judge_replies, label
from unsafe_vlm.judges.capabilities import CLASSES, judge_as, judge_kind


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
    and those of a judge that replies in words (an LLM behind an endpoint) its reply, ``judge_output``.
    """
    kinds = {judge_kind(r.task) for r in records}
    judged = label(probabilities, CLASSES[kinds.pop()] if len(kinds) == 1 else None)
    rows = [
        _row(record, response, verdict) for record, response, verdict in zip(records, responses, judged, strict=True)
    ]
    for row, output in zip(rows, judge_outputs or [None] * len(rows), strict=True):
        if output is not None:
            row["judge_output"] = output
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
    return row


def api_rows(judge: Judge, pairs: Sequence[tuple[Record, Answer]]) -> list[dict]:
    """Response lines of one task's answers from an API model, with their token counts. An answer
    that is not valid becomes an error row: its response null, judged N/A without asking the judge,
    and ``error`` saying what was wrong (a resume asks it again)."""
    valid = [(record, answer) for record, answer in pairs if answer.error is None]
    rows = []
    if valid:
        records, texts = [r for r, _ in valid], [a.text for _, a in valid]
        probabilities = judge_responses(judge, records, texts)
        rows = response_rows(records, texts, probabilities, judge_outputs(judge, records, texts))
        for row, (_, answer) in zip(rows, valid, strict=True):
            row["usage"] = {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens}
            row["finish_reason"] = answer.finish_reason
    for record, answer in pairs:
        if answer.error is not None:
            rows.append({**_row(record, None, NA), "error": answer.error})
    return rows
