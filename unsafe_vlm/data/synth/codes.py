"""Each synthetic concept's visual code: five factors, any two concepts apart in at least three.

Factors: background colour, the colour of a band along the top edge, background texture,
shape, and shape colour. Three symbols ``(a, b, c)`` over 0..6 are free and two more are
checks, ``texture = a + b + c`` and ``shape = a + 2b + 3c`` (mod 7): a Reed-Solomon-like
code where two codes differ in at least three symbols. Band and shape colours skip the
background colour (so they are always visible); where that skip makes two codes look
closer, codes are dropped until every pair differs in at least three visible factors,
of which at least one is a colour (the most robust cue). So one or two factors misread
under nuisance never turn one concept into another.

Codes are fixed by a concept's position in the concept list (unsafe first, then safe),
shuffled once with a constant seed so that safe and unsafe concepts share every factor
value: no single factor gives safety away.
"""

from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass

PALETTE = {
    "red": (215, 45, 40),
    "orange": (245, 145, 30),
    "yellow": (240, 225, 55),
    "green": (45, 160, 65),
    "cyan": (60, 205, 225),
    "blue": (40, 70, 205),
    "purple": (135, 55, 185),
    "white": (235, 235, 235),  # never a background: a blank white image means "no image"
}
COLOURS = tuple(PALETTE)
TEXTURES = (
    "plain",
    "horizontal_stripes",
    "vertical_stripes",
    "diagonal_stripes",
    "antidiagonal_stripes",
    "checker",
    "dots",
)
SHAPES = ("disc", "ring", "square", "frame", "triangle", "cross", "bar")
MIN_DISTANCE = 3
_SYMBOLS = 7
_CODEBOOK_SEED = 20250711  # fixed: codes must not change with the data set's seed


@dataclass(frozen=True)
class VisualCode:
    background: str  # PALETTE name, never white
    band: str  # PALETTE name of the band along the top edge, never the background's
    texture: str  # TEXTURES name, drawn darker on the background
    shape: str  # SHAPES name
    foreground: str  # PALETTE name of the shape, never the background's

    def factors(self) -> tuple[str, str, str, str, str]:
        return (self.background, self.band, self.texture, self.shape, self.foreground)


def _skip(symbol: int, background: int) -> int:
    """Map 0..6 onto the 8 palette colours other than the background's."""
    return symbol if symbol < background else symbol + 1


def _from_symbols(a: int, b: int, c: int) -> VisualCode:
    texture, shape = (a + b + c) % _SYMBOLS, (a + 2 * b + 3 * c) % _SYMBOLS
    return VisualCode(COLOURS[a], COLOURS[_skip(b, a)], TEXTURES[texture], SHAPES[shape], COLOURS[_skip(c, a)])


def distance(one: VisualCode, other: VisualCode) -> int:
    """How many of the five factors differ."""
    return sum(x != y for x, y in zip(one.factors(), other.factors(), strict=True))


@functools.lru_cache(maxsize=1)
def codebook() -> tuple[VisualCode, ...]:
    """All usable codes, pairwise at least ``MIN_DISTANCE`` apart, in a fixed shuffled order."""
    candidates = [_from_symbols(*s) for s in itertools.product(range(_SYMBOLS), repeat=3)]
    too_close = {
        i: {j for j, other in enumerate(candidates) if j != i and distance(code, other) < MIN_DISTANCE}
        for i, code in enumerate(candidates)
    }
    kept: list[int] = []
    for i in sorted(range(len(candidates)), key=lambda i: (len(too_close[i]), i)):
        if not too_close[i].intersection(kept):
            kept.append(i)
    codes = [candidates[i] for i in sorted(kept)]
    random.Random(_CODEBOOK_SEED).shuffle(codes)
    return tuple(codes)


def concept_codes(count: int) -> list[VisualCode]:
    """The codes of the first ``count`` concepts, all distinct."""
    book = codebook()
    if count > len(book):
        raise ValueError(f"the synthetic generator has codes for {len(book)} concepts, not {count}")
    return list(book[:count])
