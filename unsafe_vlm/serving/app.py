"""The FastAPI app: ``POST /v1/chat/completions`` and ``GET /v1/models``, errors in the OpenAI shape.

With ``stream=true`` the answer comes as server-sent events in OpenAI's chunk shape (chat front-ends
ask for it): it is generated whole in its batch first, so a request that fails still gets its
error status, then sent as one role chunk, one content chunk, the finishing chunk, the usage chunk
if ``stream_options.include_usage`` asks for it, and ``[DONE]``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.evaluation.generation import GenerationSettings
from unsafe_vlm.serving.answers import Answer, BatchAnswerer, context_length
from unsafe_vlm.serving.api_errors import ApiError
from unsafe_vlm.serving.batcher import Batcher
from unsafe_vlm.serving.requests import ChatCompletionBody, ChatRequest, include_usage, parse_request
from unsafe_vlm.serving.settings import ServeSettings
from unsafe_vlm.serving.streaming import completion_events
from unsafe_vlm.serving.validation import validation_error

log = logging.getLogger(__name__)


def create_app(
    backbone: VLMBackbone, serve: ServeSettings, generation: GenerationSettings, api_key: str | None
) -> FastAPI:
    """The app over ``backbone``; its batcher (``app.state.batcher``) runs while the app does."""
    answerer = BatchAnswerer(backbone, context_length(backbone, serve.context_length))
    batcher = Batcher(answerer, max_size=serve.max_batch_size, wait_s=serve.batch_wait_ms / 1000)
    created = int(time.time())
    takes_system = backbone.takes_system_message()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher.start()
        yield
        batcher.stop(timeout=10)

    app = FastAPI(title="unsafe-vlm serve", lifespan=lifespan)
    app.state.batcher = batcher
    _add_error_handlers(app)

    @app.middleware("http")
    async def check_key(request: Request, call_next):
        if api_key is not None and request.url.path.startswith("/v1"):
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), api_key.encode()):
                problem = "no API key was given" if not given else "the API key is wrong"
                return _error(ApiError(401, f"{problem}; send it as 'Authorization: Bearer KEY'", None,
                                       "invalid_api_key"))  # fmt: skip
        return await call_next(request)

    def model_card() -> dict[str, Any]:
        return {"id": serve.model_name, "object": "model", "created": created, "owned_by": "unsafe-vlm"}

    def check_model(name: str) -> None:
        if name != serve.model_name:
            message = f"the model {name!r} does not exist here; this server serves {serve.model_name!r}"
            raise ApiError(404, message, "model", "model_not_found")

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{name:path}")
    async def model(name: str) -> dict[str, Any]:
        check_model(name)
        return model_card()

    def check_system(request: ChatRequest) -> None:
        if request.system is not None and not takes_system:
            message = (f"the chat template of {serve.model_name!r} has no system turn; leave the system message "
                       "out, or put its text in the user's message")  # fmt: skip
            raise ApiError(400, message, "messages[0]", "system_message_unsupported")

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(body: ChatCompletionBody) -> dict[str, Any] | StreamingResponse:
        check_model(body.model)
        request = await run_in_threadpool(  # images decode here
            parse_request, body, generation, serve.max_tokens, serve.max_image_pixels
        )
        check_system(request)
        try:
            answer = await asyncio.wrap_future(batcher.submit(request, request.batch_key))
        except ApiError:
            raise
        except Exception as error:  # logged by the batcher; the server goes on serving
            raise ApiError(500, f"generation failed: {type(error).__name__}: {error}") from error
        if body.stream:
            events = completion_events(answer, serve.model_name, usage=include_usage(body))
            return StreamingResponse(iter(events), media_type="text/event-stream")
        return completion(answer, serve.model_name)

    return app


def completion(answer: Answer, model: str) -> dict[str, Any]:
    """The ``chat.completion`` object of one answer."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": answer.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens,
        },
    }


def _error(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return _error(error)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, error: RequestValidationError) -> JSONResponse:
        return _error(validation_error(error.errors()))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        message = f"{request.method} {request.url.path}: {error.detail}"
        if error.status_code == 404:
            message += "; this server has POST /v1/chat/completions and GET /v1/models"
        return _error(ApiError(error.status_code, message))

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(ApiError(500, f"internal error: {type(error).__name__}: {error}"))
