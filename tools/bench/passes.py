"""Count and time a backbone's model passes with forward hooks, by phase, role and gradient mode.

A *pass* is one call of the Hugging Face model under the backbone (peft keeps that object when it
adds adapters, so hooks set before ``configure_model`` still see every call). Each pass is
classified by

- phase: what the caller marked with ``counter.phase(name)`` (innermost mark wins);
- role:  ``reference`` when the LoRA adapters are disabled, else the active adapter names
  (``default`` is the policy, ``value`` PPO's value adapter), ``base`` without adapters;
- grad:  whether autograd recorded the pass (a forward that a backward will follow).

The vision tower's calls are counted too, with the images they encoded: a pass that recomputes
image features already computed shows up there.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

VISION_ATTRIBUTES = ("vision_tower", "visual", "vision_model")


@dataclass(frozen=True)
class PassKey:
    phase: str
    role: str
    grad: bool


class PassCounter:
    """Forward hooks on ``model`` (the Hugging Face model, not the peft wrapper) and its vision tower."""

    def __init__(self, model: nn.Module, *, sync: Callable[[], None] | None = None):
        self.model = model
        self.sync = sync
        self.calls: Counter[PassKey] = Counter()
        self.rows: Counter[PassKey] = Counter()
        self.seconds: Counter[PassKey] = Counter()
        self.images: Counter[str] = Counter()
        self.vision_seconds: Counter[str] = Counter()
        self._phases: list[str] = []
        self._started: list[float] = []
        self._rows: list[int] = []
        self._lora_layer: nn.Module | None = None
        self._handles = [
            model.register_forward_pre_hook(self._before, with_kwargs=True),
            model.register_forward_hook(self._after),
        ]
        vision = vision_tower(model)
        if vision is not None:
            self._handles += [
                vision.register_forward_pre_hook(self._vision_before, with_kwargs=True),
                vision.register_forward_hook(self._vision_after),
            ]

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._phases.append(name)
        try:
            yield
        finally:
            self._phases.pop()

    @property
    def current_phase(self) -> str:
        return self._phases[-1] if self._phases else "other"

    def count(self, phase: str | None = None, role: str | None = None, grad: bool | None = None) -> int:
        """Passes matching every given field."""
        return sum(n for key, n in self.calls.items() if _matches(key, phase, role, grad))

    def reset(self) -> None:
        for counter in (self.calls, self.rows, self.seconds, self.images, self.vision_seconds):
            counter.clear()

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()

    # ----- hooks ----------------------------------------------------------------------------

    def _role(self) -> str:
        if self._lora_layer is None:  # adapters may be added after the hooks: look until there are some
            self._lora_layer = first_lora_layer(self.model)
        return adapter_role(self._lora_layer)

    def _before(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        if self.sync is not None:
            self.sync()
        self._rows.append(_batch_rows(args, kwargs))
        self._started.append(time.perf_counter())

    def _after(self, module: nn.Module, args: tuple, output) -> None:
        if self.sync is not None:
            self.sync()
        key = PassKey(self.current_phase, self._role(), torch.is_grad_enabled())
        self.seconds[key] += time.perf_counter() - self._started.pop()
        self.calls[key] += 1
        self.rows[key] += self._rows.pop()

    def _vision_before(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        self.images[self.current_phase] += _batch_rows(args, kwargs)
        if self.sync is not None:
            self.sync()
        self._started.append(time.perf_counter())

    def _vision_after(self, module: nn.Module, args: tuple, output) -> None:
        if self.sync is not None:
            self.sync()
        self.vision_seconds[self.current_phase] += time.perf_counter() - self._started.pop()


def first_lora_layer(model: nn.Module) -> nn.Module | None:
    """A peft LoRA layer of ``model`` (they all share the adapter state), or None."""
    return next((m for m in model.modules() if hasattr(m, "lora_A") and hasattr(m, "disable_adapters")), None)


def adapter_role(lora_layer: nn.Module | None) -> str:
    """``reference`` when the LoRA layers are disabled, the active adapters' names, or ``base`` without LoRA."""
    if lora_layer is None:
        return "base"
    if lora_layer.disable_adapters:
        return "reference"
    return "+".join(lora_layer.active_adapters)


def vision_tower(model: nn.Module) -> nn.Module | None:
    """The image encoder of a transformers VLM (``model.vision_tower``, ``.visual`` or ``.vision_model``)."""
    for owner in (model, getattr(model, "model", None)):
        for name in VISION_ATTRIBUTES:
            found = getattr(owner, name, None) if owner is not None else None
            if isinstance(found, nn.Module):
                return found
    return None


def _batch_rows(args: tuple, kwargs: dict) -> int:
    """Rows of a call's batch: the first dimension of its ids, embeddings, or first tensor argument."""
    named = (kwargs.get(k) for k in ("input_ids", "inputs_embeds", "pixel_values"))
    first = next((v for v in (*named, *args) if torch.is_tensor(v) and v.dim()), None)
    return int(first.shape[0]) if first is not None else 0


def _matches(key: PassKey, phase: str | None, role: str | None, grad: bool | None) -> bool:
    return (phase is None or key.phase == phase) and (role is None or key.role == role) and (
        grad is None or key.grad == grad
    )
