"""Text handling the rule judges share: rewriting before parsing, and splitting into sentences."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

SENTENCE = re.compile(r"[^.!?;\n]+[.!?;]*")


def normalise(text: str, rewrites: Sequence[tuple[str, str]]) -> str:
    """Lower-case the text and apply the (pattern, replacement) rewrites in order."""
    text = text.lower()
    for pattern, replacement in rewrites:
        text = re.sub(pattern, replacement, text)
    return text


def sentences(text: str) -> Iterator[str]:
    """The non-empty sentences of a text, split at . ! ? ; and line breaks."""
    for match in SENTENCE.finditer(text):
        sentence = match.group().strip()
        if sentence:
            yield sentence
