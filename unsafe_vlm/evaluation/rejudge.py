"""A run's saved responses read again by another judge, the verdicts kept beside the run so a second
re-judge with the same judge asks it nothing.

Layout: ``<run>/rejudged/<judge name>-<identity sha256, 12 hex>/``
    judge.json            the judge's identity (``judges.identity``)
    <task>.jsonl          the run's rows with this judge's ``judged`` (and ``judge_output``)

A verdict that is an error (``judge_error``: the judge's request failed) is never reused: the next
re-judge by the same judge asks those responses again, and only those.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from unsafe_vlm.data.files import write_atomically
from unsafe_vlm.evaluation.rows import scored_answer, scored_fields
from unsafe_vlm.judges.base import NA, Judge, judge_replies, label, reply_fields
from unsafe_vlm.judges.capabilities import CLASSES, SAFETY_KINDS, judge_as, judge_kind
from unsafe_vlm.judges.identity import judge_identity, text_sha256
from unsafe_vlm.judges.relative import judge_relative
from unsafe_vlm.judges.safety import SafetyItem, judge_safety

REJUDGED_DIR = "rejudged"
_CHUNK = 256  # responses per judge call
_JUDGE_FIELDS = ("judge_output", "judge_error")  # the run's own judge's words: not this judge's


def rejudged_folder(run_dir: Path, identity: Mapping[str, str]) -> Path:
    digest = text_sha256(json.dumps(dict(identity), sort_keys=True))[:12]
    return Path(run_dir) / REJUDGED_DIR / f"{identity['name']}-{digest}"


def rejudge_run(
    judge: Judge, run_dir: Path, rows_by_task: Mapping[str, Sequence[Mapping[str, Any]]]
) -> tuple[dict[str, list[dict[str, Any]]], Path, int]:
    """Every task's rows as ``judge`` reads them; the saved verdicts of an earlier re-judge by the same
    judge are reused, its error verdicts asked again. Returns the rows, their folder, and how many
    responses the judge was asked."""
    identity = judge_identity(judge)
    folder = rejudged_folder(run_dir, identity)
    asked = 0
    rejudged = {}
    for task, rows in rows_by_task.items():
        saved = _saved(folder, task, identity, rows)
        again = rows if saved is None else [row for row, old in zip(rows, saved, strict=True) if "judge_error" in old]
        if again:
            fresh = {row["id"]: row for row in rejudge_rows(judge, task, again)}
            saved = [fresh.get(row["id"], row) for row in saved] if saved is not None else list(fresh.values())
            asked += sum(row.get("response") is not None for row in again)
            folder.mkdir(parents=True, exist_ok=True)
            write_atomically(folder / "judge.json", json.dumps(identity, indent=2, sort_keys=True) + "\n")
            lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in saved)
            write_atomically(folder / f"{task}.jsonl", lines)
        rejudged[task] = saved
    return rejudged, folder, asked


def rejudge_rows(judge: Judge, task: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows with ``judged`` as ``judge`` reads each response; error rows of the model (no response)
    stay N/A, and keep their ``error``."""
    kind = judge_kind(task)
    if kind == "relative":
        return _rescored_rows(judge, rows)
    answered = [row for row in rows if row.get("response") is not None]
    verdicts: dict[str, str] = {}
    outputs: dict[str, str | None] = {}
    for start in range(0, len(answered), _CHUNK):
        chunk = answered[start : start + _CHUNK]
        responses, options = [row["response"] for row in chunk], [row.get("options") for row in chunk]
        if kind in SAFETY_KINDS:
            reading = judge_safety(judge, kind, task, [SafetyItem.of(row, row["response"]) for row in chunk])
            labels, replies = label(reading.probabilities, CLASSES[kind]), reading.replies
        else:
            labels = label(judge_as(judge, kind, responses, options), CLASSES[kind])
            replies = judge_replies(judge, kind, responses, options) or [None] * len(responses)
        for row, verdict, reply in zip(chunk, labels, replies, strict=True):
            verdicts[row["id"]], outputs[row["id"]] = verdict, reply
    rejudged = []
    for row in rows:
        new = {key: value for key, value in row.items() if key not in _JUDGE_FIELDS}
        new["judged"] = verdicts.get(row["id"], NA)
        new.update(reply_fields(outputs.get(row["id"])))
        rejudged.append(new)
    return rejudged


def _rescored_rows(judge: Judge, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of answers scored against a reference, with this judge's two scores (error rows stay N/A)."""
    rescored = []
    for start in range(0, len(rows), _CHUNK):
        chunk = [dict(row) for row in rows[start : start + _CHUNK]]
        answered = [row for row in chunk if row.get("response") is not None]
        reading = judge_relative(judge, [scored_answer(row, row["response"]) for row in answered])
        readings = zip(reading.scores.tolist(), reading.replies, strict=True)
        by_id = dict(zip([row["id"] for row in answered], readings, strict=True))
        for row in chunk:
            for field in _JUDGE_FIELDS:
                row.pop(field, None)
            row.update(scored_fields(*by_id.get(row["id"], ((math.nan, math.nan), None))))
            rescored.append(row)
    return rescored


def _saved(folder: Path, task: str, identity: Mapping[str, str], rows: Sequence[Mapping[str, Any]]) -> list | None:
    """An earlier re-judge's rows of this task, if it was by the same judge of the same responses."""
    path, judge_file = folder / f"{task}.jsonl", folder / "judge.json"
    if not (path.is_file() and judge_file.is_file()):
        return None
    try:
        if json.loads(judge_file.read_text(encoding="utf-8")) != dict(identity):
            return None
        saved = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except json.JSONDecodeError:
        return None  # damaged: judged again and rewritten
    same = [(r["id"], r.get("response")) for r in saved] == [(r["id"], r.get("response")) for r in rows]
    return saved if same else None
