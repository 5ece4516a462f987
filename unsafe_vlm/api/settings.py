"""The ``model`` node of a model behind an API (conf/model/api.yaml); what each key means is written there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from unsafe_vlm.settings import Refused, Settings, limit

API_FAMILY = "api"
TRANSPORT_KEYS = ("api_key_env", "concurrency", "timeout", "max_retries", "extra_headers", "extra_headers_env")
"""How the answers are fetched, not what they are: a resumed run may change these."""


def _url_problem(url: str) -> str | None:
    return None if url.startswith(("http://", "https://")) else "must start with http:// or https://"


def _is_variable(name: str) -> bool:
    return name.replace("_", "").isalnum() and not name[0].isdigit()


def _variable_problem(name: str | None) -> str | None:
    if name is None or _is_variable(name):
        return None
    return "must be the name of an environment variable (the key itself never goes in a config)"


def _variables_problem(headers: dict[str, str]) -> str | None:
    wrong = [header for header, value in headers.items() if not _is_variable(value)]
    if wrong:  # the value is not shown: it may be the secret itself
        return (f"{wrong[0]!r} must name the environment variable that holds its value (a name such as "
                "GATEWAY_KEY, never the value)")  # fmt: skip
    return None


_SECRET_HEADERS = ("authorization", "api-key", "x-api-key", "proxy-authorization", "cookie")


def _headers_problem(headers: dict[str, str]) -> str | None:
    secret = [name for name in headers if name.lower() in _SECRET_HEADERS]
    if secret:
        return f"must not hold {secret[0]!r}: a secret goes in extra_headers_env (header -> environment variable)"
    return None


@dataclass(frozen=True)
class ApiModelSettings(Settings):
    name: str
    family: Literal["api"]
    base_url: str = limit(check=_url_problem)  # up to /v1
    model: str  # the model name the server knows
    api_key_env: str | None = limit(check=_variable_problem)
    concurrency: int = limit(ge=1)  # requests in flight at once
    timeout: float = limit(gt=0)  # seconds per request
    max_retries: int = limit(ge=0)  # per request, on 429, 5xx, timeouts and dropped connections
    seed: int | None  # sent with every request where the server takes one
    text_only_image: Literal["blank", "none"]  # what a text-only question sends: a blank image, or none
    blank_image_size: int = limit(ge=1)
    max_tokens_key: Literal["max_tokens", "max_completion_tokens"]  # the request key of the token limit
    reasoning_tokens: int = limit(ge=0)  # added to the token limit: what a reasoning model thinks counts against it
    omit_keys: list[Literal["temperature", "top_p", "seed"]]  # sampling keys not sent (reasoning models refuse some)
    # null rather than {}: Hydra lets a command line set a dict in place of null, not keys into an empty one
    extra_body: dict[str, Any] | None  # more fields of every request body (reasoning_effort, chat_template_kwargs, ...)
    extra_headers: dict[str, str] | None  # more headers, written here: never a secret
    extra_headers_env: dict[str, str] | None  # header -> NAME of the environment variable that holds its value

    def check(self) -> None:
        problem = _headers_problem(self.extra_headers or {})
        if problem:
            raise Refused("extra_headers", problem)
        problem = _variables_problem(self.extra_headers_env or {})
        if problem:
            raise Refused("extra_headers_env", problem)
