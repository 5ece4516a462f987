"""Errors a request gets back, in the OpenAI shape ``{"error": {message, type, param, code}}``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error"}


@dataclass
class ApiError(Exception):
    """A request that cannot be answered; ``param`` is the body field at fault (``messages[0].content``)."""

    status: int
    message: str
    param: str | None = None
    code: str | None = None

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        kind = _TYPES.get(self.status, "server_error")
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param, code)
