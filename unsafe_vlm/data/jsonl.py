"""Strict reading of JSON-lines metadata: every line is one JSON object, or an error naming it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from unsafe_vlm.data.errors import DataError


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """Return ``(line_number, object)`` for every line of ``path`` (1-based line numbers).

    Blank lines, lines that are not JSON and lines that are not JSON objects are errors,
    and so is a file without any row.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a leading byte-order mark is not an error
    except FileNotFoundError:
        raise DataError(path, "metadata file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read metadata file: {error}") from error
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            raise DataError(path, "blank line (every line must be one JSON object)", number)
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(path, f"not valid JSON ({error.msg})", number) from None
        if not isinstance(row, dict):
            raise DataError(path, f"expected a JSON object, got {type(row).__name__}", number)
        rows.append((number, row))
    if not rows:
        raise DataError(path, "no rows: the data set is empty")
    return rows


def require_strings(row: dict, fields: Iterable[str], path: Path, line: int) -> None:
    """Fail unless every field is present in ``row`` as a non-empty string."""
    for field in fields:
        if field not in row:
            raise DataError(path, f"missing field {field!r}", line)
        value = row[field]
        if not isinstance(value, str) or not value.strip():
            raise DataError(path, f"field {field!r} must be a non-empty string, got {value!r}", line)


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """Write one compact JSON object a line (UTF-8, names kept unescaped)."""
    with open(path, "w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row, ensure_ascii=False) + "\n")
