"""Four-option perception questions: parse the published ``option_str``, or draw options."""

from __future__ import annotations

import random
from collections.abc import Sequence

from unsafe_vlm.data.errors import DataError

LETTERS = ("A", "B", "C", "D")


def parse_option_str(option_str: str, where: str, line: int) -> tuple[str, ...]:
    """``"A: x \\nB: y \\nC: z \\nD: w"`` -> ``("x", "y", "z", "w")`` (letters A-D, in order)."""
    parts = option_str.split("\n")
    if len(parts) != len(LETTERS):
        raise DataError(where, f"option_str must hold 4 options A-D, one a line; got {option_str!r}", line)
    options = []
    for letter, part in zip(LETTERS, parts, strict=True):
        head, sep, name = part.strip().partition(":")
        if head != letter or not sep or not name.strip():
            raise DataError(where, f"option {part.strip()!r} must read '{letter}: <concept>'", line)
        options.append(name.strip())
    return tuple(options)


def format_option_str(options: Sequence[str]) -> str:
    """The published layout: ``"A: x \\nB: y \\nC: z \\nD: w"`` (note the space before each newline)."""
    return " \n".join(f"{letter}: {name}" for letter, name in zip(LETTERS, options, strict=True))


def draw_options(concept: str, pool: Sequence[str], rng: random.Random) -> tuple[tuple[str, ...], str]:
    """Put ``concept`` and three distractors from ``pool`` at random places; return ``(options, letter)``."""
    distractors = rng.sample([c for c in pool if c != concept], len(LETTERS) - 1)
    position = rng.randrange(len(LETTERS))
    options = distractors[:position] + [concept] + distractors[position:]
    return tuple(options), LETTERS[position]
