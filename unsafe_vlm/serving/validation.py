"""FastAPI's body validation errors (its 422s) as one clear 400 in the OpenAI shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from unsafe_vlm.serving.api_errors import ApiError, bad_request


def validation_error(errors: Sequence[dict[str, Any]]) -> ApiError:
    """The first problem, naming its field (``messages[0]``) and what was given."""
    first = errors[0]
    loc = [part for part in first.get("loc", ()) if part != "body"]
    if first.get("type") == "json_invalid":
        reason = (first.get("ctx") or {}).get("error", "cannot parse")
        return bad_request(f"the request body is not valid JSON: {reason}")
    if not loc:
        if first.get("type") == "missing":
            return bad_request("the request needs a JSON body: a chat-completions request object")
        return bad_request(f"the request body must be a JSON object, not {type(first.get('input')).__name__}")
    param = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    message = f"{param}: {first.get('msg', 'is not valid')}"
    if first.get("type") != "missing":
        message += f" (got {first.get('input')!r})"
    return bad_request(message, param)
