"""A model behind an OpenAI-compatible chat-completions API, asked many queries at once.

The official ``openai`` client makes each request and retries it (429, 5xx, timeouts, dropped
connections; exponential backoff with jitter, honouring ``Retry-After``), on an asyncio loop in
a background thread so that up to ``concurrency`` requests are in flight while the evaluation
loop goes on. Answers come back through ``collect`` as they arrive, for the evaluation to write
down at once.

A reasoning model's thinking (``reasoning_content``) is set aside: the answer is ``content``, and
an empty ``content`` after reasoning is an error answer. Extra body fields and headers come from
the settings; a header's secret value only from an environment variable (``extra_headers_env``).

Two kinds of failure:
- an answer that is not valid (a body that is no chat completion, no text, a 400 about this
  request): an ``Answer`` with ``error`` set, which the evaluation records as an error row;
- anything that is about the server, the key or the model, or retries that ran out: an
  ``ApiFailure`` (one line naming the URL or variable), after which nothing more is asked.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from unsafe_vlm.api.payloads import blank_image, chat_messages, sampling_options
from unsafe_vlm.api.served_model import ServedModelPin
from unsafe_vlm.api.settings import API_FAMILY, ApiModelSettings
from unsafe_vlm.errors import UserError

Messages = list[dict[str, Any]]
_RETRY_WAIT_S = 120  # the longest Retry-After the openai client waits between two tries (two minutes)
_MARGIN_S = 2  # per try: a silent server meets the client's own timeout first, which says so


class ApiFailure(UserError):
    """The server, key or model failed (not one answer); the run stops and keeps what it received."""


class ServedModelChanged(ApiFailure):
    """An answer came from another model than the run's earlier ones (``served_model``): a resume would
    mix them, so the run stops without it."""


@dataclass(frozen=True)
class Answer:
    text: str | None  # None when there is no valid answer (see ``error``)
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None


def _openai():
    try:
        import openai
    except ImportError:
        raise UserError('model=api needs the openai client: pip install -e ".[api]"') from None
    return openai


class ApiModel:
    """``encode`` turns a batch into chat messages (in the DataLoader workers); ``submit`` and
    ``collect`` ask them concurrently; ``answer`` asks a few and waits (for callers that need no
    streaming)."""

    family = API_FAMILY

    def __init__(self, settings: ApiModelSettings, *, prefix: str = "model") -> None:
        self.settings = settings
        self.prefix = prefix  # where the settings live in the config, for the messages
        self.api_key = _api_key(settings, prefix)
        self.headers = {**(settings.extra_headers or {}), **_env_headers(settings, prefix)}  # held here, never written
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._client: Any = None
        self._done: queue.Queue = queue.Queue()
        self._pending = 0
        self._failure: ApiFailure | None = None
        self._pin: ServedModelPin | None = None

    def pin_served_model(self, path: Path) -> None:
        """From now on, refuse an answer from another model than the first (or a resumed run's) named
        (``api.served_model``)."""
        self._pin = ServedModelPin(path, self.settings.model, f"{self.prefix}.model")

    def describe(self) -> str:
        return f"{self.settings.model} at {self.settings.base_url}"

    # ----- building requests (DataLoader workers) ------------------------------------------------

    def encode(
        self, questions: Sequence[str], images: Sequence[Image.Image | None], answers: Sequence[str] | None = None
    ) -> list[Messages]:
        if answers is not None:
            raise UserError(f"{self.prefix}={self.settings.name}: a model behind an API cannot be trained here")
        shown = [self._shown_image(image) for image in images]
        return [chat_messages(q, image) for q, image in zip(questions, shown, strict=True)]

    def _shown_image(self, image: Image.Image | None) -> Image.Image | None:
        if image is None and self.settings.text_only_image == "blank":
            return blank_image(self.settings.blank_image_size)
        return image

    # ----- asking ------------------------------------------------------------------------------

    def submit(self, key: Hashable, messages: Messages, generation: Mapping[str, Any]) -> None:
        """Queue one request; its answer comes out of ``collect`` as ``(key, Answer)``."""
        if self._failure is not None:
            return
        loop = self._started_loop()
        s = self.settings
        options = sampling_options(
            generation, s.seed, max_tokens_key=s.max_tokens_key, reasoning_tokens=s.reasoning_tokens,
            omit_keys=s.omit_keys,
        )  # fmt: skip
        if s.extra_body:
            options["extra_body"] = s.extra_body
        asyncio.run_coroutine_threadsafe(self._ask(key, messages, options), loop)
        self._pending += 1

    def collect(self, max_pending: int = 0) -> tuple[list[tuple[Hashable, Answer]], ApiFailure | None]:
        """The answers that arrived, waiting until at most ``max_pending`` requests are still out
        (0: all of them). After a failure nothing more is sent, the requests in flight are waited
        for (their answers are kept too), and the failure is returned beside the answers."""
        arrived: list[tuple[Hashable, Answer]] = []
        while self._pending > (0 if self._failure else max_pending) or not self._done.empty():
            item = self._done.get()
            self._pending -= 1
            if isinstance(item, ApiFailure):
                self._failure = self._failure or item
            elif item is not None:
                arrived.append(item)
        return arrived, self._failure

    def answer(self, messages: Sequence[Messages], generation: Mapping[str, Any]) -> list[Answer]:
        """Ask every request and wait for all answers, in order; raise the first failure."""
        for index, one in enumerate(messages):
            self.submit(index, one, generation)
        arrived, failure = self.collect(0)
        if failure is not None:
            raise failure
        by_index = dict(arrived)
        return [by_index[index] for index in range(len(messages))]

    def close(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop = None

    def _started_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="api-requests", daemon=True).start()
            asyncio.run_coroutine_threadsafe(self._open(), loop).result()
            self._loop = loop
        return self._loop

    async def _open(self) -> None:
        s = self.settings
        self._semaphore = asyncio.Semaphore(s.concurrency)
        self._client = _openai().AsyncOpenAI(
            base_url=s.base_url, api_key=self.api_key, timeout=s.timeout, max_retries=s.max_retries,
            default_headers=self.headers or None,
        )

    async def _ask(self, key: Hashable, messages: Messages, options: dict[str, Any]) -> None:
        async with self._semaphore:
            if self._failure is not None:  # set by the main thread: queued requests are not sent
                self._done.put(None)
                return
            request = self._client.chat.completions.create(model=self.settings.model, messages=messages, **options)
            try:
                completion = await asyncio.wait_for(request, self.deadline)
            except TimeoutError:
                outcome: Answer | ApiFailure = self._too_slow()
            except Exception as error:  # sorted into error answers and failures
                outcome = self._outcome_of_error(error)
            else:
                outcome = answer_of(completion)
                changed = self._pin.check(getattr(completion, "model", None)) if self._pin else None
                outcome = outcome if changed is None else ServedModelChanged(changed)
            self._done.put((key, outcome) if isinstance(outcome, Answer) else outcome)

    @property
    def deadline(self) -> float:
        """Seconds a request may take in all: ``timeout`` and a margin per try, and between tries the
        longest wait the client grants a server's Retry-After. ``timeout`` bounds the silence between two
        reads, so a server that trickles bytes would pass it for ever."""
        s = self.settings
        return (s.timeout + _MARGIN_S) * (s.max_retries + 1) + _RETRY_WAIT_S * s.max_retries

    def _too_slow(self) -> ApiFailure:
        s, key = self.settings, self.prefix
        return ApiFailure(
            f"{s.base_url}: no complete answer within {self.deadline:g} s ({key}.timeout={s.timeout:g} s per try, "
            f"{s.max_retries + 1} tries with {key}.max_retries={s.max_retries}); the server sends too slowly or "
            "never finishes"
        )

    def _outcome_of_error(self, error: Exception) -> Answer | ApiFailure:
        openai = _openai()
        s, key = self.settings, self.prefix
        where = s.base_url
        tries = f"{s.max_retries + 1} tries ({key}.max_retries={s.max_retries})"
        if isinstance(error, openai.AuthenticationError):
            if s.api_key_env is None:
                return ApiFailure(
                    f"{where}: the server wants a key (401: {_message(error)}); set {key}.api_key_env to the "
                    "name of the environment variable that holds it"
                )
            return ApiFailure(f"{where}: the server refused the key in ${s.api_key_env} (401: {_message(error)})")
        if isinstance(error, openai.PermissionDeniedError):
            return ApiFailure(f"{where}: access denied to model {s.model!r} (403: {_message(error)})")
        if isinstance(error, openai.NotFoundError):
            return ApiFailure(
                f"{where}: no model {s.model!r} there (404: {_message(error)}); set {key}.model to one the server "
                f"lists at /models, and {key}.base_url to the address up to /v1"
            )
        if isinstance(error, openai.RateLimitError):
            return ApiFailure(f"{where}: still rate-limited (429) after {tries}: {_message(error)}")
        if isinstance(error, openai.APITimeoutError):
            return ApiFailure(f"{where}: no answer within {key}.timeout={s.timeout:g} s, {tries}")
        if isinstance(error, openai.APIConnectionError):
            return ApiFailure(f"{where}: cannot reach the server after {tries} ({_cause(error)})")
        if isinstance(error, openai.InternalServerError):
            return ApiFailure(f"{where}: server error {error.status_code} after {tries}: {_message(error)}")
        if isinstance(error, openai.APIStatusError):  # 400, 422, ...: about this request
            return Answer(text=None, error=f"{error.status_code}: {_message(error)}")
        if isinstance(error, openai.APIResponseValidationError | ValueError):  # a body that does not parse
            return Answer(text=None, error=f"invalid response: {error}")
        raise error


def answer_of(completion: Any) -> Answer:
    """The answer a chat completion holds, or an error answer saying what it lacks."""
    if not hasattr(completion, "choices"):
        return Answer(text=None, error=f"invalid response: not a chat completion ({str(completion)[:120]!r})")
    choices = completion.choices or []
    message = getattr(choices[0], "message", None) if choices else None
    content = getattr(message, "content", None)
    usage = getattr(completion, "usage", None)
    reasoning = _reasoning(message, usage)
    finish = getattr(choices[0], "finish_reason", None) if choices else None
    if reasoning and not (content or "").strip():
        hint = " (finish_reason=length: raise reasoning_tokens)" if finish == "length" else ""
        return Answer(text=None, error=f"no answer after the reasoning: content empty, {reasoning}{hint}")
    if not isinstance(content, str):
        return Answer(text=None, error="invalid response: no text content in choices[0].message")
    return Answer(
        text=content.strip(),
        prompt_tokens=_count(getattr(usage, "prompt_tokens", None)),
        completion_tokens=_count(getattr(usage, "completion_tokens", None)),
        finish_reason=finish,
    )


def _reasoning(message: Any, usage: Any) -> str | None:
    """How much a reasoning model thought, in words, or None: the text vLLM and SGLang set aside in
    ``reasoning_content`` (``reasoning`` in later vLLM; the openai client keeps such fields as
    attributes), else the reasoning tokens OpenAI counts in ``usage`` without showing them."""
    for field in ("reasoning_content", "reasoning"):
        value = getattr(message, field, None)
        if isinstance(value, str) and value.strip():
            return f"{len(value)} characters of reasoning"
    tokens = _count(getattr(getattr(usage, "completion_tokens_details", None), "reasoning_tokens", None))
    return f"{tokens} reasoning tokens" if tokens else None


def _api_key(settings: ApiModelSettings, prefix: str) -> str:
    if settings.api_key_env is None:
        return "none"  # local servers take any key; the client needs one
    key = os.environ.get(settings.api_key_env, "")
    if not key:
        raise UserError(
            f"{prefix}.api_key_env: the environment variable {settings.api_key_env} is not set (or empty); "
            f"export {settings.api_key_env}=<your key> (keys never go in a config)"
        )
    return key


def _env_headers(settings: ApiModelSettings, prefix: str) -> dict[str, str]:
    headers = {}
    for header, variable in (settings.extra_headers_env or {}).items():
        value = os.environ.get(variable, "")
        if not value:
            raise UserError(
                f"{prefix}.extra_headers_env.{header}: the environment variable {variable} is not set (or empty); "
                f"export {variable}=<value>"
            )
        headers[header] = value
    return headers


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _message(error: Exception) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
    return getattr(error, "message", None) or str(error)


def _cause(error: Exception) -> str:
    cause = error.__cause__ or error.__context__
    return f"{type(cause).__name__}: {cause}" if cause is not None else str(error)
