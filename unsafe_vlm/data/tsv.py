"""Strict reading of a tab-separated table with a header row (how VLMEvalKit-style image sets ship).

Fields follow the ``csv`` module's rules (a field may be quoted to hold tabs, quotes or
newlines, as pandas writes them), so a row may span several lines; errors name the line
the row starts on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from unsafe_vlm.data.errors import DataError

_FIELD_LIMIT = 2**31 - 1  # base64 images are far longer than csv's default 128 KiB field limit


def read_tsv(path: str | Path, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """``(line, row)`` for every data row of ``path``: 1-based line numbers, values stripped.

    The first line is the header; ``required`` columns must be in it. Blank lines are
    skipped. A missing file, a missing column, a row with the wrong number of fields and
    a table without data rows are ``DataError``s naming the file (and line).
    """
    path = Path(path)
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return _rows(path, csv.reader(handle, delimiter="\t"), tuple(required))
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, "is a folder, not a TSV file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read the TSV file: {error}") from error


def _rows(path: Path, reader, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    header = _header(path, reader)
    missing = [name for name in required if name not in header]
    if missing:
        names = ", ".join(map(repr, missing))
        raise DataError(path, f"missing column(s) {names}; the header has {', '.join(header)}", 1)
    rows = []
    start = reader.line_num + 1
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                if len(fields) != len(header):
                    raise DataError(path, f"expected {len(header)} tab-separated fields, got {len(fields)}", start)
                rows.append((start, {name: value.strip() for name, value in zip(header, fields, strict=True)}))
            start = reader.line_num + 1
    except csv.Error as error:
        raise DataError(path, f"not a valid TSV row ({error})", start) from None
    if not rows:
        raise DataError(path, "no rows: the data set is empty")
    return rows


def _header(path: Path, reader) -> list[str]:
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise DataError(path, "empty file (expected a header row, then one row per image)") from None
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError(path, f"column(s) {', '.join(map(repr, repeated))} appear more than once in the header", 1)
    return header
