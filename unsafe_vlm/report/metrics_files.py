"""Reading and writing ``metrics.json``-style files (one flat JSON object, null for undefined)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from unsafe_vlm.errors import UserError

METRICS_FILE = "metrics.json"
BEFORE_FILE = "metrics_before.json"


def read_metrics(path: Path, *, missing_ok: bool = False) -> dict[str, Any] | None:
    """The file as a dict (None if it is absent and ``missing_ok``); a bad file names itself."""
    if not path.is_file():
        if missing_ok:
            return None
        raise UserError(f"{path}: no such file")
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(metrics, dict):
        raise UserError(f"{path}: expected one JSON object of metric names to values")
    return metrics


def write_metrics(path: Path, metrics: Mapping[str, Any]) -> None:
    """Written exactly as the evaluation writes ``metrics.json``."""
    path.write_text(json.dumps(dict(metrics), indent=2, allow_nan=False) + "\n", encoding="utf-8")
