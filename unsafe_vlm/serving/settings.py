"""The ``serve`` node (conf/serve.yaml): where the server listens and how it batches."""

from __future__ import annotations

import os
from dataclasses import dataclass

from unsafe_vlm.errors import UserError
from unsafe_vlm.settings import Settings, limit


@dataclass(frozen=True)
class ServeSettings(Settings):
    """What each key means is written in conf/serve.yaml."""

    host: str
    port: int = limit(ge=1, le=65535)
    model_name: str  # the name clients pass as ``model``
    api_key_env: str | None  # environment variable holding the key; null: no key
    device: str  # auto (cuda if there is one), cpu, cuda, cuda:1, ...
    max_batch_size: int = limit(ge=1)
    batch_wait_ms: float = limit(ge=0)
    max_tokens: int = limit(ge=1)  # cap on a request's max_tokens
    max_image_pixels: int = limit(ge=1)  # width x height above which an image is refused (400)
    context_length: int | None = limit(ge=1)  # null: the text model's max_position_embeddings

    def read_api_key(self) -> str | None:
        """The key from ``api_key_env``; a missing or empty variable is refused (never a server without one)."""
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise UserError(
                f"serve.api_key_env={self.api_key_env}: the environment variable {self.api_key_env} is not set "
                "or empty; export the key there, or set serve.api_key_env=null to serve without a key"
            )
        return key
