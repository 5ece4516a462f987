"""The ``model`` node of a model behind an API (conf/model/api.yaml); what each key means is written there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from unsafe_vlm.settings import Settings, limit

API_FAMILY = "api"
TRANSPORT_KEYS = ("api_key_env", "concurrency", "timeout", "max_retries")
"""How the answers are fetched, not what they are: a resumed run may change these."""


def _url_problem(url: str) -> str | None:
    return None if url.startswith(("http://", "https://")) else "must start with http:// or https://"


def _variable_problem(name: str | None) -> str | None:
    if name is None or (name.replace("_", "").isalnum() and not name[0].isdigit()):
        return None
    return "must be the name of an environment variable (the key itself never goes in a config)"


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
