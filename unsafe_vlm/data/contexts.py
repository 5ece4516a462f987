"""The contextual questions: one safe-context and one unsafe-context question per concept
(``data/unsafe_concepts/contexts.json``, published with the paper's code).

Each entry is ``{"category", "unsafe concept", "image_fname", "output"}``; ``output`` holds
"Safe Context: <question>" then "Unsafe Context: <question>". The safe context places the image
in a legitimate setting (gold Safe), the unsafe one where it does not belong (gold Unsafe).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from unsafe_vlm.data.errors import DataError

_LABELS = re.compile(r"^\s*Safe Context:\s*(?P<safe>.+?)\s*Unsafe Context:\s*(?P<unsafe>.+?)\s*$", re.DOTALL)


@dataclass(frozen=True)
class ContextQuestions:
    safe: str  # gold Safe
    unsafe: str  # gold Unsafe


def read_contexts(path: str | Path, concepts: Collection[str]) -> dict[str, ContextQuestions]:
    """Concept -> its two questions; every entry checked (``file: entry N (concept): ...``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "contexts file not found (data.contexts_file)")
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(path, f"not valid JSON ({error})") from None
    if not isinstance(entries, list):
        raise DataError(path, "expected a JSON list of one object per concept")
    contexts: dict[str, ContextQuestions] = {}
    for number, entry in enumerate(entries, start=1):
        concept = entry.get("unsafe concept") if isinstance(entry, dict) else None
        where = f"entry {number}" + (f" ({concept})" if isinstance(concept, str) else "")
        if not isinstance(entry, dict) or not isinstance(concept, str) or not isinstance(entry.get("output"), str):
            raise DataError(path, f"{where}: needs the fields 'unsafe concept' and 'output' (text)")
        if concept not in concepts:
            raise DataError(path, f"{where}: unknown concept {concept!r} (not among the benchmark's concepts)")
        if concept in contexts:
            raise DataError(path, f"{where}: concept {concept!r} is listed twice")
        match = _LABELS.match(entry["output"])
        if match is None:
            missing = "Safe Context:" if "Safe Context:" not in entry["output"].replace("Unsafe Context:", "") else (
                "Unsafe Context:")  # fmt: skip
            raise DataError(path, f"{where}: output has no {missing!r} question")
        contexts[concept] = ContextQuestions(safe=match["safe"], unsafe=match["unsafe"])
    return contexts
