"""A real server on 127.0.0.1 in a background thread, for the serve tests (and any client's round trip)."""

from __future__ import annotations

import base64
import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from PIL import Image

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.evaluation.generation import GenerationSettings
from unsafe_vlm.serving.app import create_app
from unsafe_vlm.serving.settings import ServeSettings

SERVE_DEFAULTS = {"host": "127.0.0.1", "port": 8000, "model_name": "tiny", "api_key_env": None, "device": "cpu",
                  "max_batch_size": 16, "batch_wait_ms": 5, "max_tokens": 512, "max_image_pixels": 25_000_000,
                  "context_length": None}  # fmt: skip
GREEDY = GenerationSettings(max_new_tokens=12, do_sample=False, temperature=1.0, top_p=0.9)


@dataclass
class Running:
    url: str  # the base URL clients take: http://127.0.0.1:PORT/v1
    app: FastAPI


@contextmanager
def running_server(
    backbone: VLMBackbone, *, generation: GenerationSettings = GREEDY, api_key: str | None = None, **serve
) -> Iterator[Running]:
    """Serve ``backbone`` on a free port until the block ends; ``serve`` overrides ``SERVE_DEFAULTS``."""
    settings = ServeSettings.from_config({**SERVE_DEFAULTS, **serve}, "serve")
    app = create_app(backbone, settings, generation, api_key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield Running(f"http://127.0.0.1:{port}/v1", app)
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()
        assert not thread.is_alive(), "the test server did not stop"


def data_url(image: Image.Image) -> str:
    """The image as a PNG data URL (lossless: the server decodes the same pixels)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
