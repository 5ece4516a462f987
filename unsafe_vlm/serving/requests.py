"""A chat-completions body -> the question, its image and the generation options of one request.

Accepted: one message from the user, after at most one system message. The user's content is the
question as a string, or a list of ``{"type": "text", "text": ...}`` parts (joined by newlines) and at
most one ``{"type": "image_url", "image_url": {"url": "data:image/...;base64,..."}}`` part; the system
message's content is text only. The backbone shows the image before the text, as in the in-process
evaluation; with no image it shows its blank white one. Only data URLs: the server fetches nothing,
and an image above ``serve.max_image_pixels`` is refused before it is decoded.
"""

from __future__ import annotations

import binascii
import io
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from unsafe_vlm.data.errors import DataError
from unsafe_vlm.data.files import open_image_bytes
from unsafe_vlm.evaluation.generation import GenerationSettings
from unsafe_vlm.serving.api_errors import bad_request

ONE_USER_MESSAGE = (
    "this server takes one message from the user (role 'user'), whose content is the question "
    "(a string, or text parts and at most one image_url part), after at most one system message; "
    "no assistant or earlier turns"
)
SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.manual_seed takes

# Fields that would change the answer and are not implemented; refused unless left at their neutral value.
UNSUPPORTED = ("stop", "logprobs", "top_logprobs", "tools", "tool_choice", "functions", "function_call",
               "response_format", "presence_penalty", "frequency_penalty", "logit_bias", "audio")  # fmt: skip
_NEUTRAL = (None, False, 0, [], {}, "none", "auto", {"type": "text"})


class ChatCompletionBody(BaseModel):
    """The fields read; others (``user``, ``metadata``, ...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow", strict=True)

    model: str
    messages: list[Any] = Field(min_length=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    seed: int | None = Field(None, ge=SEED_RANGE[0], le=SEED_RANGE[1])
    n: int | None = None
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None


@dataclass(frozen=True)
class ChatRequest:
    """One request, parsed. ``seed`` is kept only for a sampled request (greedy ignores it)."""

    question: str
    image: Image.Image | None
    options: GenerationSettings
    seed: int | None
    system: str | None = None

    @property
    def batch_key(self) -> GenerationSettings | None:
        """Requests with equal keys share a batch; None: this one runs alone (sampled with a seed)."""
        return None if self.seed is not None else self.options


def parse_request(
    body: ChatCompletionBody, defaults: GenerationSettings, max_tokens: int, max_image_pixels: int
) -> ChatRequest:
    """Raise ``ApiError`` (400) naming the field at fault, or return the request."""
    if body.n not in (None, 1):
        raise bad_request(f"n={body.n} is not supported: this server returns exactly one choice (n=1)", "n")
    if body.stream_options is not None and not body.stream:
        raise bad_request("stream_options is only allowed with stream=true", "stream_options")
    for name in UNSUPPORTED:
        value = (body.model_extra or {}).get(name)
        if value not in _NEUTRAL:
            raise bad_request(f"{name} is not supported by this server; leave it out", name)
    system, user = _system_and_user(body.messages)
    question, image = _question_and_image(user, f"messages[{len(body.messages) - 1}]", max_image_pixels)
    options = _options(body, defaults, max_tokens)
    return ChatRequest(question, image, options, body.seed if options.do_sample else None, system)


def include_usage(body: ChatCompletionBody) -> bool:
    """Whether a streamed answer ends with a chunk giving the token counts (``stream_options.include_usage``)."""
    return bool((body.stream_options or {}).get("include_usage"))


def _options(body: ChatCompletionBody, defaults: GenerationSettings, cap: int) -> GenerationSettings:
    """Absent fields take the config's ``generation.*``; temperature 0 is greedy."""
    param = "max_completion_tokens" if body.max_completion_tokens is not None else "max_tokens"
    requested = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
    max_new_tokens = defaults.max_new_tokens if requested is None else requested
    if max_new_tokens > cap:
        raise bad_request(f"{param}={max_new_tokens} is above this server's cap of {cap} tokens (serve.max_tokens)",
                          param)  # fmt: skip
    do_sample = defaults.do_sample if body.temperature is None else body.temperature > 0
    if not do_sample:  # temperature and top_p are unused: equal options let greedy requests share batches
        return defaults.with_changes(max_new_tokens=max_new_tokens, do_sample=False)
    return defaults.with_changes(
        max_new_tokens=max_new_tokens,
        do_sample=True,
        temperature=defaults.temperature if body.temperature is None else body.temperature,
        top_p=defaults.top_p if body.top_p is None else body.top_p,
    )


def _system_and_user(messages: list[Any]) -> tuple[str | None, dict]:
    """The system message's text (None without one) and the user's message."""
    roles = [m.get("role") if isinstance(m, dict) else type(m).__name__ for m in messages]
    if roles not in (["user"], ["system", "user"]):
        raise bad_request(f"{ONE_USER_MESSAGE}; got {len(messages)} message(s) with roles {roles}", "messages")
    if len(messages) == 1:
        return None, messages[0]
    content = messages[0].get("content")
    if isinstance(content, str):
        return content, messages[1]
    where = "messages[0].content"
    if not isinstance(content, list) or not content:
        raise bad_request("a system message's content must be a string or a non-empty list of text parts", where)
    texts = []
    for index, part in enumerate(content):
        if not (isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)):
            raise bad_request("a system message may hold text parts only", f"{where}[{index}]")
        texts.append(part["text"])
    return "\n".join(texts), messages[1]


def _question_and_image(message: dict, at: str, max_pixels: int) -> tuple[str, Image.Image | None]:
    content = message.get("content")
    if isinstance(content, str):
        return content, None
    if not isinstance(content, list) or not content:
        raise bad_request("the content must be a string or a non-empty list of parts", f"{at}.content")
    texts, images = [], []
    for index, part in enumerate(content):
        where = f"{at}.content[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            images.append(_image(part.get("image_url"), f"{where}.image_url", max_pixels))
        elif kind == "text":
            raise bad_request("a text part needs a string 'text'", f"{where}.text")
        else:
            raise bad_request(
                f"unsupported content part type {kind!r}; parts may be 'text' and 'image_url' (a data: URL)",
                f"{where}.type",
            )
    if len(images) > 1:
        raise bad_request(f"at most one image per request; got {len(images)} image_url parts", f"{at}.content")
    return "\n".join(texts), images[0] if images else None


def _image(image_url: Any, where: str, max_pixels: int) -> Image.Image:
    """A ``data:image/...;base64,`` URL decoded to RGB exactly as ``Record.load_image`` decodes image bytes."""
    url = image_url.get("url") if isinstance(image_url, dict) else None
    if not isinstance(url, str):
        raise bad_request("image_url must be an object with a string 'url'", where)
    header, comma, payload = url.partition(",")
    if not url.startswith("data:"):
        raise bad_request(
            "only data: URLs are accepted (data:image/png;base64,...); this server fetches nothing", f"{where}.url"
        )
    if not comma or not header.startswith("data:image/") or not header.endswith(";base64"):
        raise bad_request("the data URL must read data:image/<type>;base64,<data>", f"{where}.url")
    try:
        data = binascii.a2b_base64(payload, strict_mode=True)
    except (binascii.Error, ValueError) as error:
        raise bad_request(f"the data URL is not valid base64 ({error})", f"{where}.url") from None
    size = image_size(data, where)
    if size is not None and size[0] * size[1] > max_pixels:
        width, height = size
        raise bad_request(
            f"the image is {width}x{height} = {width * height} pixels, above this server's limit of {max_pixels} "
            "(serve.max_image_pixels); send it smaller",
            f"{where}.url",
            "image_too_large",
        )
    try:
        return open_image_bytes(data, where)
    except DataError:
        raise bad_request(f"the data URL's {len(data)} bytes do not decode as an image", f"{where}.url") from None


def image_size(data: bytes, where: str) -> tuple[int, int] | None:
    """Width and height from the image's header, read without decoding its pixels; None if unreadable.
    An image PIL itself takes for a decompression bomb is refused here as too large."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as picture:
                return picture.size
    except Image.DecompressionBombError as error:
        raise bad_request(f"the image is too large: {error}", f"{where}.url", "image_too_large") from None
    except (OSError, UnidentifiedImageError, ValueError):
        return None
