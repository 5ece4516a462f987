"""A finished answer as the server-sent events of OpenAI's streamed chat completion."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from unsafe_vlm.serving.answers import Answer


def completion_events(answer: Answer, model: str, *, usage: bool) -> list[str]:
    """``data: <chunk>`` events: the role, the text, the finish reason, the usage if asked, then ``[DONE]``."""
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}  # fmt: skip

    def chunk(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
        return head | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}

    chunks = [chunk({"role": "assistant", "content": ""}, None)]
    if answer.text:
        chunks.append(chunk({"content": answer.text}, None))
    chunks.append(chunk({}, answer.finish_reason))
    if usage:
        counts = {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens,
                  "total_tokens": answer.prompt_tokens + answer.completion_tokens}  # fmt: skip
        chunks.append(head | {"choices": [], "usage": counts})
    return [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
