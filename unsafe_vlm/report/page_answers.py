"""Every answer of a run as one compact table for ``report.html``: the answers after training (or of
the evaluation), those before training of a fit run, and the verdicts of every re-judge, matched by
query id. Repeated words (task, category, concept, gold, verdict, question) are stored once in a
string table; each image once, as a small thumbnail."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from unsafe_vlm.data.tasks import TASKS
from unsafe_vlm.evaluation.rejudge import REJUDGED_DIR
from unsafe_vlm.report.rescore import AFTER, BEFORE

THUMBNAIL_PIXELS = 96  # the longer side; the page blurs them until clicked
JPEG_QUALITY = 50
RESPONSE_CHARS = 1200  # longer answers are cut here (a model that never stops)
COLUMNS = ("task", "category", "concept", "gold", "judged", "question", "image", "response",
           "before_judged", "before_response")  # fmt: skip
"""Each row's fields, in order, then one verdict per re-judge; task..question and every verdict are
indices into ``strings``, ``image`` an index into ``images`` (-1: none), a missing verdict -1."""


def answer_table(run_dir: Path) -> dict[str, Any]:
    """The JSON the page's script reads: ``strings``, ``images``, ``judges``, ``fit``, ``columns``, ``rows``."""
    after = dict(_answers(run_dir / AFTER))
    before = dict(_answers(run_dir / BEFORE))
    judges = _rejudged(run_dir)
    strings: dict[str, int] = {}
    images: dict[str, int] = {}
    thumbnails: list[str | None] = []

    def text(value: Any) -> int:
        return -1 if value is None else strings.setdefault(str(value), len(strings))

    def image(path: str | None) -> int:
        if not path:
            return -1
        if path not in images:
            images[path] = len(thumbnails)
            thumbnails.append(thumbnail(Path(path)))
        return images[path]

    rows = []
    for row in sorted(after.values(), key=_order):
        earlier = before.get(row["id"], {})
        rows.append([
            text(row["task"]), text(row.get("category")), text(row.get("concept")), text(row.get("gold")),
            text(row.get("judged")), text(row.get("question")), image(row.get("image")), _cut(row.get("response")),
            text(earlier.get("judged")), _cut(earlier.get("response")),
            *(text(verdicts.get(row["id"])) for verdicts in judges.values()),
        ])  # fmt: skip
    return {
        "columns": [*COLUMNS, *(f"judge:{name}" for name in judges)],
        "strings": list(strings),
        "images": thumbnails,
        "judges": list(judges),
        "fit": bool(before),
        "rows": rows,
    }


def thumbnail(path: Path) -> str | None:
    """A data URL of the image at most ``THUMBNAIL_PIXELS`` on a side (JPEG or PNG, whichever is smaller);
    None when the file is gone or not an image."""
    size = (THUMBNAIL_PIXELS, THUMBNAIL_PIXELS)
    try:
        with Image.open(path) as opened:
            opened.draft("RGB", (2 * THUMBNAIL_PIXELS, 2 * THUMBNAIL_PIXELS))  # a JPEG decodes at a fraction
            opened.thumbnail(size)
            picture = opened.convert("RGB")
    except (OSError, UnidentifiedImageError):
        return None
    encoded = []
    for kind, options in (("jpeg", {"quality": JPEG_QUALITY}), ("png", {"optimize": True})):
        buffer = io.BytesIO()
        picture.save(buffer, format=kind.upper(), **options)
        encoded.append((len(buffer.getvalue()), kind, buffer.getvalue()))
    _, kind, data = min(encoded)
    return f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"


def _answers(folder: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, row) of every saved answer of the tasks in ``folder`` (merged files, as a finished run has)."""
    for task in TASKS:
        for row in _read_jsonl(folder / f"{task}.jsonl"):
            yield row["id"], row


def _rejudged(run_dir: Path) -> dict[str, Mapping[str, str]]:
    """Re-judge folder name -> (query id -> that judge's verdict)."""
    found = {}
    for folder in sorted((run_dir / REJUDGED_DIR).glob("*/")):
        verdicts = {row["id"]: row.get("judged") for task in TASKS for row in _read_jsonl(folder / f"{task}.jsonl")}
        if verdicts:
            found[folder.name] = verdicts
    return found


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _order(row: Mapping[str, Any]) -> tuple:
    """The questions about one image together (text-only ones by concept, after them), then task and id."""
    return (row.get("image") is None, str(row.get("image") or ""), str(row.get("concept")), row["task"], row["id"])


def _cut(response: str | None) -> str | None:
    if response is None or len(response) <= RESPONSE_CHARS:
        return response
    return response[:RESPONSE_CHARS] + " […]"
