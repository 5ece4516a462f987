"""Safety labels of other image sets, mapped to the suite's gold classes ``Safe`` and ``Unsafe``.

Accepted values (compared as text, case and surrounding spaces aside):

- ``safe`` and ``unsafe``;
- ``0`` and ``1`` (numbers in JSON too): ``unsafe_value`` says which one means unsafe
  (default 1: "1 = unsafe", the usual NSFW convention); the other means safe;
- anything named in ``extra``, e.g. ``{"nsfw": "unsafe", "neutral": "safe"}``.

Any other value is an error naming the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from unsafe_vlm.data.errors import DataConfigError, DataError
from unsafe_vlm.data.records import SAFE, UNSAFE

_GOLD = {"safe": SAFE, "unsafe": UNSAFE}


class SafetyLabels:
    """Turns label values into ``Safe``/``Unsafe``, or a ``DataError`` for an unknown value."""

    def __init__(self, unsafe_value: int | str = 1, extra: Mapping[str, str] | None = None):
        unsafe = str(unsafe_value).strip()
        if unsafe not in ("0", "1"):
            raise DataConfigError(f"data.unsafe_value must be 0 or 1 (the number meaning unsafe), got {unsafe!r}")
        self.unsafe_value = unsafe
        self.table = {"safe": SAFE, "unsafe": UNSAFE, unsafe: UNSAFE, "1" if unsafe == "0" else "0": SAFE}
        for value, gold in (extra or {}).items():
            key = str(gold).strip().casefold()
            if key not in _GOLD:
                raise DataConfigError(f"data.labels.{value}: must map to safe or unsafe, got {gold!r}")
            self.table[str(value).strip().casefold()] = _GOLD[key]

    def gold(self, value: Any, path: Path, line: int) -> str:
        """``Safe`` or ``Unsafe`` for one row's label."""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise DataError(path, f"label must be text or 0/1, got {value!r}", line)
        gold = self.table.get(str(value).strip().casefold())
        if gold is None:
            known = ", ".join(sorted(self.table))
            raise DataError(
                path, f"unknown label {value!r}; expected one of {known} ({self.unsafe_value} = unsafe)", line
            )
        return gold
