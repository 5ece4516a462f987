"""The one exception the data layer raises for bad input."""

from __future__ import annotations

from pathlib import Path

from unsafe_vlm.errors import UserError


class DataError(UserError, ValueError):
    """Bad input data: the message starts with where it is, ``file:line: ...`` (or ``file: ...``).

    A ``UserError``, so the command line prints it as one line without a stack trace.

    ``where`` is the file (a metadata file, an image) or a record's ``source`` (already
    ``file:line``); ``line`` is 1-based.
    """

    def __init__(self, where: str | Path, message: str, line: int | None = None):
        self.where = str(where)
        self.line = line
        prefix = self.where if line is None else f"{self.where}:{line}"
        super().__init__(f"{prefix}: {message}")


class DataConfigError(UserError, ValueError):
    """A ``data.*`` setting that cannot work (unknown task, no data source, ...); names the key."""
