"""``python -m unsafe_vlm serve``: the model behind an OpenAI-compatible chat-completions endpoint."""

from __future__ import annotations

import os
import signal
import socket

import lightning as L
import torch
from omegaconf import DictConfig

from unsafe_vlm.backbones.preflight import check_model
from unsafe_vlm.backbones.registry import ModelSettings, build_backbone
from unsafe_vlm.commands.checks import CommandKeys
from unsafe_vlm.errors import ConfigValueError, UserError
from unsafe_vlm.evaluation.generation import GenerationSettings
from unsafe_vlm.serving.settings import ServeSettings

STOPPING = (signal.SIGINT, signal.SIGTERM)
_SERVE_EXTRA = "serve needs fastapi and uvicorn: pip install 'unsafe-vlm[serve]'"


def serve(cfg: DictConfig) -> None:
    run = CommandKeys.from_config(cfg, "", partial=True)
    model = ModelSettings.from_config(cfg.model, "model")
    generation = GenerationSettings.from_config(cfg.generation, "generation")
    settings = ServeSettings.from_config(cfg.serve, "serve")
    if generation.max_new_tokens > settings.max_tokens:
        raise ConfigValueError(
            f"generation.max_new_tokens={generation.max_new_tokens} is above serve.max_tokens={settings.max_tokens}"
        )
    api_key = settings.read_api_key()
    check_model(model)
    try:
        import uvicorn

        from unsafe_vlm.serving.app import create_app
    except ModuleNotFoundError as error:
        if error.name and error.name.split(".")[0] in ("fastapi", "uvicorn", "starlette", "pydantic"):
            raise UserError(_SERVE_EXTRA) from None
        raise
    device = _device(settings.device)
    listener = _listen(settings)
    L.seed_everything(run.seed, verbose=False)
    backbone = build_backbone(model).eval()
    if model.device_map is None:
        backbone.to(device)
    app = create_app(backbone, settings, generation, api_key)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="info", timeout_graceful_shutdown=30))
    print(f"serving {settings.model_name!r} at {_url(settings)} (OpenAI chat completions; Ctrl-C stops)", flush=True)
    received = _run_until_signal(server, listener)
    if received is None:
        print("stopped", flush=True)
        return
    how = "interrupted" if received == signal.SIGINT else f"stopped by {signal.Signals(received).name}"
    print(f"{how}: the requests under way were answered", flush=True)
    raise SystemExit(128 + received)  # as every command ends on a signal


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigValueError(f"serve.device: {name!r} is not a torch device; use auto, cpu, cuda or cuda:N") from None


def _listen(settings: ServeSettings) -> socket.socket:
    """The bound socket, so that a port in use is one line before the model is served."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    try:
        return socket.create_server((settings.host, settings.port), family=family)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise UserError(
            f"serve.host={settings.host} serve.port={settings.port}: cannot listen there ({reason})"
        ) from None


def _url(settings: ServeSettings) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"http://{host}:{settings.port}/v1"


def _run_until_signal(server, listener: socket.socket) -> int | None:
    """Serve until Ctrl-C or SIGTERM, finish the requests under way, and return the signal (None when
    the server stopped by itself).

    uvicorn handles both signals while it serves and afterwards raises them again for the handlers
    it found; the ones set here note the signal instead of a traceback or a kill.
    """
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _: received.append(signum)) for sig in STOPPING}
    try:
        server.run(sockets=[listener])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        listener.close()
    return received[0] if received else None
