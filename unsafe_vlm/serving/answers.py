"""Answer one batch of requests on the backbone: one ``encode`` and one ``generate``, as the evaluation does."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from unsafe_vlm.backbones.base import ModelInputs, VLMBackbone
from unsafe_vlm.serving.api_errors import ApiError, bad_request
from unsafe_vlm.serving.requests import ChatRequest


@dataclass(frozen=True)
class Answer:
    text: str
    finish_reason: str  # "stop" (the turn ended) or "length" (max_tokens reached)
    prompt_tokens: int  # real prompt tokens, image tokens included, padding not
    completion_tokens: int  # the stop token included


def context_length(backbone: VLMBackbone, configured: int | None) -> int | None:
    """``serve.context_length``, else the text model's ``max_position_embeddings`` (None if it has none)."""
    if configured is not None:
        return configured
    return getattr(backbone.model.config.get_text_config(), "max_position_embeddings", None)


class BatchAnswerer:
    """Called by the batcher's worker thread with requests that share their generation options."""

    def __init__(self, backbone: VLMBackbone, context: int | None) -> None:
        self.backbone = backbone
        self.context = context

    def __call__(self, requests: Sequence[ChatRequest]) -> list[Answer | ApiError]:
        inputs = self._encode(requests)
        prompt_tokens = inputs["attention_mask"].sum(dim=1).tolist()
        problems = [self._too_long(tokens, r) for tokens, r in zip(prompt_tokens, requests, strict=True)]
        refused = {row: problem for row, problem in enumerate(problems) if problem is not None}
        if refused:
            kept = [r for row, r in enumerate(requests) if row not in refused]
            answers = iter(self(kept) if kept else [])
            return [refused[row] if row in refused else next(answers) for row in range(len(requests))]
        options = requests[0].options
        with seeded(requests[0].seed, self.backbone.device):
            generation = self.backbone.generate(self._on_device(inputs), **options.to_dict())
        return [
            Answer(
                text=generation.texts[row],
                finish_reason="stop" if bool(generation.finished[row]) else "length",
                prompt_tokens=int(prompt_tokens[row]),
                completion_tokens=int(generation.lengths[row]),
            )
            for row in range(len(requests))
        ]

    def _encode(self, requests: Sequence[ChatRequest]) -> ModelInputs:
        questions, images = [r.question for r in requests], [r.image for r in requests]
        if all(r.system is None for r in requests):
            return self.backbone.encode(questions, images)
        return self.backbone.encode(questions, images, systems=[r.system for r in requests])

    def _too_long(self, prompt_tokens: int, request: ChatRequest) -> ApiError | None:
        wanted = prompt_tokens + request.options.max_new_tokens
        if self.context is None or wanted <= self.context:
            return None
        return bad_request(
            f"this model's context is {self.context} tokens, but the request needs {wanted}: {prompt_tokens} "
            f"in the prompt (image tokens included) and {request.options.max_new_tokens} for the answer "
            "(max_tokens); shorten the question or lower max_tokens",
            "messages",
            "context_length_exceeded",
        )

    def _on_device(self, inputs: ModelInputs) -> ModelInputs:
        device = self.backbone.device
        return {k: v.to(device) if torch.is_tensor(v) else v for k, v in inputs.items()}


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device) -> Iterator[None]:
    """Sample from a torch generator seeded with ``seed`` (the global one restored afterwards); None: as is.

    Only the worker thread generates, so forking the global generator touches nothing else.
    """
    if seed is None:
        yield
        return
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
