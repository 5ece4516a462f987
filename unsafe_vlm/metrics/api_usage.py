"""What answers from a model behind an API cost, summed from the saved rows (resumed runs included)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_TOKEN_KEYS = ("prompt_tokens", "completion_tokens")


def api_usage(rows_by_task: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, int]:
    """``api/prompt_tokens`` and ``api/completion_tokens`` as the server counted them, ``api/error_rows``
    (queries with no valid answer) and ``api/rows_without_usage`` (answers whose server gave no
    counts); empty for a model run in-process, whose rows carry neither usage nor errors."""
    rows = [row for task_rows in rows_by_task.values() for row in task_rows]
    answered = [row for row in rows if "usage" in row]
    errors = sum("error" in row for row in rows)
    if not answered and not errors:
        return {}
    counts = [_counts(row["usage"]) for row in answered]
    usage = {f"api/{key}": sum(c[key] for c in counts if c is not None) for key in _TOKEN_KEYS}
    return {**usage, "api/error_rows": errors, "api/rows_without_usage": sum(c is None for c in counts)}


def _counts(usage: Any) -> dict[str, int] | None:
    if not isinstance(usage, Mapping):
        return None
    values = {key: usage.get(key) for key in _TOKEN_KEYS}
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values.values()):
        return values
    return None
