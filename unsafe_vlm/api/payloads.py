"""What one query sends: the chat messages (images as base64 data URLs) and the sampling options."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

from PIL import Image


def image_data_url(image: Image.Image) -> str:
    """The image as a PNG data URL: lossless, so a server decodes the very pixels the suite loaded."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def blank_image(side: int) -> Image.Image:
    return Image.new("RGB", (side, side), (255, 255, 255))


def chat_messages(question: str, image: Image.Image | None) -> list[dict[str, Any]]:
    """One user turn: the image first (if any), then the question, as the suite's backbones order them."""
    content: list[dict[str, Any]] = []
    if image is not None:
        content.append({"type": "image_url", "image_url": {"url": image_data_url(image)}})
    content.append({"type": "text", "text": question})
    return [{"role": "user", "content": content}]


def sampling_options(
    generation: Mapping[str, Any],
    seed: int | None,
    *,
    max_tokens_key: str = "max_tokens",
    reasoning_tokens: int = 0,
    omit_keys: Sequence[str] = (),
) -> dict[str, Any]:
    """The request's sampling keys from ``generation.*``: greedy is temperature 0.

    ``max_tokens_key``: the key of the token limit (reasoning models take ``max_completion_tokens``),
    which is ``max_new_tokens`` plus ``reasoning_tokens``; ``omit_keys``: sampling keys not sent.
    """
    options: dict[str, Any] = {max_tokens_key: generation["max_new_tokens"] + reasoning_tokens, "n": 1}
    if generation["do_sample"]:
        options.update(temperature=generation["temperature"], top_p=generation["top_p"])
    else:
        options["temperature"] = 0.0
    if seed is not None:
        options["seed"] = seed
    return {key: value for key, value in options.items() if key not in omit_keys}
