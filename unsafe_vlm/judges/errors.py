"""The one exception the judges raise for bad files or settings."""

from __future__ import annotations

from unsafe_vlm.errors import UserError


class JudgeError(UserError, ValueError):
    """A judge that cannot be built: the message names the file or the ``judge.*`` key at fault."""
