"""Markdown tables."""

from __future__ import annotations

from collections.abc import Sequence


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, align: str | None = None) -> str:
    """A pipe table. ``align`` has one letter per column, ``l`` or ``r``; by default the first
    column is left-aligned and the rest (numbers) right-aligned."""
    align = align or "l" + "r" * (len(header) - 1)
    if len(align) != len(header):
        raise ValueError(f"align {align!r} needs one letter per column ({len(header)})")
    rule = ["---:" if letter == "r" else "---" for letter in align]
    lines = [_line(header), _line(rule), *(_line(row) for row in rows)]
    return "\n".join(lines) + "\n"


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"
